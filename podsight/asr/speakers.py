"""Who speaks when, in a speech-to-text transcript: voices told apart by their sound, then named.

No neural diarization (that needs PyTorch and downloaded weights). Each Whisper segment gets a small voice
vector: mean MFCCs (timbre) and median pitch, computed with numpy from the segment's samples
while its window is still decoded (`voice_features`, so memory stays bounded). `cluster_voices` groups the
segments with k-means and keeps the grouping only when the clusters are clearly apart (silhouette score
>= `MIN_SILHOUETTE`, measured: see tests/test_asr_speakers.py); otherwise every speaker stays None, because
a wrong name is worse than none. `label_speakers` then names the clusters from the text and the feed's
`podcast:person`s (`podsight.asr.speaker_names`).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from podsight.asr.audio import SAMPLE_RATE
from podsight.asr.speaker_names import name_speakers
from podsight.llm.base import LLM
from podsight.records import Person, Segment

logger = logging.getLogger("podsight.asr")

FRAME, HOP, N_FFT, N_MELS, N_MFCC = 400, 160, 512, 40, 20  # 25 ms frames every 10 ms, like Whisper
FEATURES = N_MFCC  # MFCC 1..19 means, then log pitch (MFCC spreads were tried: noisier, worse separation)
PITCH_FRAME, MIN_F0, MAX_F0 = 640, 60.0, 400.0  # 40 ms: room for two periods of a 60 Hz voice
MIN_VOICED_FRAMES = 30  # 0.3 s of speech-level frames, or the segment gets no vector (NaN row)
MIN_SEGMENT_S = 1.0  # shorter segments are too noisy to cluster; they take their neighbours' label
MIN_SEGMENTS = 4  # fewer clusterable segments than this: nothing is labelled
# Measured on espeak-ng dialogues transcribed by tiny.en: two distinct voices score 0.30-0.45, one voice
# 0.15-0.18, and two voices that differ only in accent 0.19 (clustered, they were only 61% right).
MIN_SILHOUETTE = 0.25
MIN_SHARE = 0.05  # a cluster with under 5% of the speech time is noise, not a speaker
MAX_SILHOUETTE_POINTS = 1500  # the silhouette needs all pairwise distances: sample long episodes


def voice_features(samples: np.ndarray, segments: Sequence[Segment], offset_s: float = 0.0) -> np.ndarray:
    """One voice vector per segment (rows in segment order) from `samples`, 16 kHz mono float32 audio that
    starts at `offset_s` seconds. A segment without enough audible speech gets a row of NaN."""
    rows = []
    for segment in segments:
        first = max(0, int((segment.start - offset_s) * SAMPLE_RATE))
        last = min(len(samples), int((segment.end - offset_s) * SAMPLE_RATE))
        rows.append(_segment_vector(np.asarray(samples[first:last], dtype=np.float32)))
    return np.array(rows, dtype=np.float64).reshape(len(segments), FEATURES)


def stack(rows: Sequence[np.ndarray]) -> np.ndarray:
    """The per-window feature arrays of `voice_features` as one array (no rows: shape (0, FEATURES))."""
    return np.vstack(rows) if rows else np.empty((0, FEATURES))


def _segment_vector(audio: np.ndarray) -> np.ndarray:
    """MFCC 1..19 means over the loud frames, then log median pitch (NaN when no frame is periodic)."""
    empty = np.full(FEATURES, np.nan)
    if len(audio) < PITCH_FRAME:
        return empty
    frames = np.lib.stride_tricks.sliding_window_view(audio, FRAME)[::HOP]
    loudness = np.sqrt((frames**2).mean(axis=1))
    loud = loudness > 0.1 * np.percentile(loudness, 95)  # within 20 dB of the peaks: speech, not pauses
    if loud.sum() < MIN_VOICED_FRAMES or loudness.max() < 1e-4:
        return empty
    cepstra = _mfcc(frames[loud])[:, 1:]  # c0 is loudness: a property of the mix, not of the voice
    pitch = _median_log_pitch(audio)
    return np.concatenate([cepstra.mean(axis=0), [pitch]])


def _mfcc(frames: np.ndarray) -> np.ndarray:
    spectrum = np.abs(np.fft.rfft(frames * np.hanning(FRAME), N_FFT)) ** 2
    log_mel = np.log(spectrum @ _mel_filters().T + 1e-10)
    return log_mel @ _dct_matrix().T


@functools.cache
def _mel_filters() -> np.ndarray:
    """Whisper's own mel filter bank (faster-whisper ships it; numpy only)."""
    from faster_whisper.feature_extractor import FeatureExtractor

    return FeatureExtractor.get_mel_filters(SAMPLE_RATE, N_FFT, n_mels=N_MELS)


@functools.cache
def _dct_matrix() -> np.ndarray:
    """Orthonormal DCT-II rows 0..N_MFCC-1 (what scipy.fft.dct computes; scipy is not a dependency)."""
    k, n = np.arange(N_MFCC)[:, None], np.arange(N_MELS)[None, :]
    matrix = np.cos(np.pi * k * (2 * n + 1) / (2 * N_MELS)) * np.sqrt(2 / N_MELS)
    matrix[0] /= np.sqrt(2)
    return matrix


def _median_log_pitch(audio: np.ndarray) -> float:
    """Median log F0 over the clearly periodic 40 ms frames (autocorrelation peak), NaN when none is."""
    frames = np.lib.stride_tricks.sliding_window_view(audio, PITCH_FRAME)[::2 * HOP]
    frames = frames - frames.mean(axis=1, keepdims=True)
    power = np.abs(np.fft.rfft(frames * np.hanning(PITCH_FRAME), 2 * PITCH_FRAME)) ** 2
    autocorr = np.fft.irfft(power)[:, :PITCH_FRAME]
    shortest, longest = int(SAMPLE_RATE / MAX_F0), int(SAMPLE_RATE / MIN_F0)
    energy = autocorr[:, 0] + 1e-12
    lags = autocorr[:, shortest:longest].argmax(axis=1) + shortest
    strength = autocorr[np.arange(len(frames)), lags] / energy
    voiced = (strength > 0.5) & (energy > 0.05 * energy.max())
    if voiced.sum() < 5:
        return float("nan")
    return float(np.median(np.log(SAMPLE_RATE / lags[voiced])))


def cluster_voices(features: np.ndarray, durations: Sequence[float], *, max_speakers: int = 2,
                   min_silhouette: float = MIN_SILHOUETTE) -> tuple[list[int | None], float]:
    """A cluster number per segment (0 = the voice heard first) and the silhouette score of the chosen
    grouping. Everything is None when too few segments can be clustered or no grouping into 2 to
    `max_speakers` voices scores `min_silhouette`; short or silent segments take their neighbours'."""
    durations = np.asarray(durations, dtype=float)
    features = _pitch_filled(np.asarray(features, dtype=float))
    usable = np.isfinite(features).all(axis=1) & (durations >= MIN_SEGMENT_S)
    if usable.sum() < MIN_SEGMENTS or max_speakers < 2:
        return [None] * len(features), 0.0
    points = _standardised(features[usable])
    best_labels, best_score = None, -1.0
    for k in range(2, min(max_speakers, int(usable.sum()) - 1) + 1):
        labels = _kmeans(points, k)
        shares = np.bincount(labels, weights=durations[usable], minlength=k) / durations[usable].sum()
        score = silhouette(points, labels) if shares.min() >= MIN_SHARE else -1.0
        if score > best_score:
            best_labels, best_score = labels, score
    logger.info("speaker clusters: silhouette %.2f (labelled from %.2f)", best_score, min_silhouette)
    if best_labels is None or best_score < min_silhouette:
        return [None] * len(features), max(best_score, 0.0)
    return _fill_short(features, usable, best_labels, points), best_score


def _pitch_filled(features: np.ndarray) -> np.ndarray:
    """A segment with timbre but no clear pitch (whispered, noisy) takes the median pitch of the rest."""
    pitch = features[:, -1]
    known = np.isfinite(pitch) & np.isfinite(features[:, :-1]).all(axis=1)
    if known.all():
        return features
    features = features.copy()
    # No pitch anywhere (noisy audio): a constant column, so timbre alone decides.
    fill = np.median(pitch[known]) if known.any() else 0.0
    features[~known & np.isfinite(features[:, :-1]).all(axis=1), -1] = fill
    return features


def _standardised(points: np.ndarray) -> np.ndarray:
    """Each feature to zero mean and unit spread, so pitch (one number) and timbre weigh alike per value."""
    spread = points.std(axis=0)
    return (points - points.mean(axis=0)) / np.where(spread > 1e-9, spread, 1.0)


def _kmeans(points: np.ndarray, k: int, *, restarts: int = 8, rounds: int = 50) -> np.ndarray:
    """Lloyd's k-means with k-means++ seeding, the best of `restarts` (seeded: runs repeat exactly)."""
    rng = np.random.default_rng(0)
    best, best_inertia = np.zeros(len(points), dtype=int), np.inf
    for _ in range(restarts):
        centres = _seed_centres(points, k, rng)
        for _ in range(rounds):
            labels = ((points[:, None, :] - centres[None]) ** 2).sum(axis=2).argmin(axis=1)
            moved = np.array([points[labels == j].mean(axis=0) if (labels == j).any() else centres[j]
                              for j in range(k)])
            if np.allclose(moved, centres):
                break
            centres = moved
        inertia = ((points - centres[labels]) ** 2).sum()
        if inertia < best_inertia:
            best, best_inertia = labels, inertia
    return best


def _seed_centres(points: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    centres = [points[rng.integers(len(points))]]
    for _ in range(1, k):
        distance = ((points[:, None, :] - np.array(centres)[None]) ** 2).sum(axis=2).min(axis=1)
        total = distance.sum()
        pick = rng.choice(len(points), p=distance / total) if total > 0 else rng.integers(len(points))
        centres.append(points[pick])
    return np.array(centres)


def silhouette(points: np.ndarray, labels: np.ndarray) -> float:
    """Mean silhouette (-1..1): how much nearer each point is to its own cluster than to the next one.
    Long episodes are sampled (evenly, so the result repeats) to keep the distance matrix small."""
    if len(points) > MAX_SILHOUETTE_POINTS:
        keep = np.linspace(0, len(points) - 1, MAX_SILHOUETTE_POINTS).astype(int)
        points, labels = points[keep], labels[keep]
    distances = np.sqrt(((points[:, None, :] - points[None]) ** 2).sum(axis=2))
    clusters = np.unique(labels)
    if len(clusters) < 2:
        return 0.0
    mean_to = np.stack([distances[:, labels == c].sum(axis=1) for c in clusters], axis=1)
    sizes = np.array([(labels == c).sum() for c in clusters], dtype=float)
    own = np.searchsorted(clusters, labels)
    rows = np.arange(len(points))
    a = mean_to[rows, own] / np.maximum(sizes[own] - 1, 1)
    others = mean_to / sizes
    others[rows, own] = np.inf
    b = others.min(axis=1)
    scores = np.where(sizes[own] > 1, (b - a) / np.maximum(np.maximum(a, b), 1e-12), 0.0)
    return float(scores.mean())


def _fill_short(features: np.ndarray, usable: np.ndarray, labels: np.ndarray,
                points: np.ndarray) -> list[int | None]:
    """Clusters renumbered in order of first appearance; a short segment takes the label its neighbours
    share, else the nearest cluster centre of its own voice (when it has one), else None."""
    first_seen = list(dict.fromkeys(labels.tolist()))
    full: list[int | None] = [None] * len(features)
    for index, label in zip(np.flatnonzero(usable), labels):
        full[index] = first_seen.index(int(label))
    spread = features[usable].std(axis=0)
    centres = [features[usable][labels == old].mean(axis=0) for old in first_seen]
    for index in np.flatnonzero(~usable):
        before = next((full[i] for i in range(index - 1, -1, -1) if usable[i]), None)
        after = next((full[i] for i in range(index + 1, len(full)) if usable[i]), None)
        if before == after or before is None or after is None:
            full[index] = before if before is not None else after
        elif np.isfinite(features[index]).all():
            gaps = [np.abs((features[index] - c) / np.where(spread > 1e-9, spread, 1.0)).sum() for c in centres]
            full[index] = int(np.argmin(gaps))
    return full


def label_speakers(segments: Sequence[Segment], features: np.ndarray, persons: Sequence[Person] = (),
                   llm: LLM | None = None, *, max_speakers: int = 2) -> list[Segment]:
    """`segments` with `speaker` set: voices clustered from `features` (one row per segment, from
    `voice_features`), then named from the text, the episode's `persons` and, optionally, `llm`.
    When the voices do not separate clearly, the segments come back with speaker None."""
    if len(features) != len(segments):
        raise ValueError(f"{len(features)} feature rows for {len(segments)} segments")
    clusters, _ = cluster_voices(features, [s.end - s.start for s in segments], max_speakers=max_speakers)
    if all(cluster is None for cluster in clusters):
        return [replace(segment, speaker=None) for segment in segments]
    anonymous = [replace(segment, speaker=None if cluster is None else f"Speaker {cluster + 1}")
                 for segment, cluster in zip(segments, clusters)]
    return name_speakers(anonymous, persons, llm)
