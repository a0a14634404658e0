"""Who speaks when, in a speech-to-text transcript: voices told apart by their pitch, then named.

No neural diarization (that needs PyTorch and downloaded weights). Each Whisper segment gets a small voice
vector: mean MFCCs (timbre) and median pitch, computed with numpy from the segment's samples
while its window is still decoded (`voice_features`, so memory stays bounded). `cluster_voices` splits the
segments into pitch ranges and keeps the split only when the voices' typical pitches lie at least
`MIN_PITCH_GAP` semitones apart; otherwise every speaker stays None, because a wrong name is worse than
none. The rule is in absolute units on purpose: the k-means silhouette on standardised features used
before scaled any within-voice variation up to unit spread, and one voice scored 0.00-0.46 against a
threshold of 0.25 (on tiny.en and base, with Whisper's segment boundaries moved a little, as another CPU
moves them). Timbre (MFCC means) did not separate voices reliably either: it follows what is said more
than who says it. So two voices within about two semitones of each other (two men, two women) stay
unlabelled; timbre only places the segments that have no clear pitch. Measured with bench/speakers.py.
`label_speakers` then names the voices from the text and the feed's `podcast:person`s
(`podsight.asr.speaker_names`).
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
YIN_DIP = 0.2  # a frame is periodic when its normalised difference dips under this (YIN's 0.1-0.2)
MIN_VOICED_FRAMES = 30  # 0.3 s of speech-level frames, or the segment gets no vector (NaN row)
MIN_SEGMENT_S = 1.0  # shorter segments are too noisy to cluster; they take their neighbours' label
MIN_SEGMENTS = 4  # fewer clusterable segments than this: nothing is labelled
SEMITONES = 12 / np.log(2)  # a difference of log pitches, in semitones
# Measured with bench/speakers.py (espeak-ng voices, tiny.en and base, beam 1 and 5, segment boundaries
# perturbed as another CPU's Whisper might cut them, 1,144 one-voice cuts): one voice 0.00-2.29
# semitones, two voices of different pitch 4.42-13.69; two voices within 2.5 semitones stay unlabelled.
MIN_PITCH_GAP = 3.5
MIN_SHARE = 0.15  # a group with under 15% of the speech time: stray segments of one voice, not a speaker


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
    """Median log F0 over the clearly periodic 40 ms frames, NaN when fewer than 5 are. The period is YIN's
    (de Cheveigné & Kawahara 2002): the first lag whose normalised difference dips under `YIN_DIP`. The
    autocorrelation peak used before jumped to a harmonic on low voices (364 Hz for an 85 Hz man), and one
    such segment was enough to split a single voice in two."""
    frames = np.lib.stride_tricks.sliding_window_view(audio.astype(np.float64), PITCH_FRAME)[::2 * HOP]
    frames = frames - frames.mean(axis=1, keepdims=True)
    shortest, longest = int(SAMPLE_RATE / MAX_F0), int(SAMPLE_RATE / MIN_F0)
    width = PITCH_FRAME - longest  # the stretch compared with itself `lag` samples later
    cross = np.fft.irfft(np.conj(np.fft.rfft(frames[:, :width], 2 * PITCH_FRAME))
                         * np.fft.rfft(frames, 2 * PITCH_FRAME))[:, :longest + 1]
    energy = np.cumsum(np.pad(frames**2, ((0, 0), (1, 0))), axis=1)
    lags = np.arange(longest + 1)
    difference = energy[:, [width]] + energy[:, lags + width] - energy[:, lags] - 2 * cross
    difference = np.maximum(difference[:, 1:], 0.0)  # lags 1..longest
    normalised = difference * lags[1:] / np.maximum(np.cumsum(difference, axis=1), 1e-12)
    dips = _first_dips(normalised[:, shortest - 1:])  # from lag `shortest` on
    periodic = (dips >= 0) & (energy[:, -1] > 0.05 * energy[:, -1].max())
    if periodic.sum() < 5:
        return float("nan")
    return float(np.median(np.log(SAMPLE_RATE / (dips[periodic] + shortest))))


def _first_dips(normalised: np.ndarray) -> np.ndarray:
    """Per row, the first local minimum under `YIN_DIP` (the period, not a multiple of it), -1 if none."""
    below = normalised < YIN_DIP
    first = np.where(below.any(axis=1), below.argmax(axis=1), -1)
    columns = np.arange(normalised.shape[1])
    rising = np.append(normalised[:, 1:] >= normalised[:, :-1], np.ones((len(normalised), 1), bool), axis=1)
    bottom = (rising & (columns >= first[:, None])).argmax(axis=1)  # walk down to the dip's bottom
    return np.where(first >= 0, bottom, -1)


def cluster_voices(features: np.ndarray, durations: Sequence[float], *, max_speakers: int = 2,
                   min_gap: float = MIN_PITCH_GAP) -> tuple[list[int | None], float]:
    """A voice number per segment (0 = the voice heard first) and the score of the chosen grouping: the
    gap in semitones between neighbouring groups' typical pitches (the narrowest, with 3+ groups).
    Everything is None when too few segments can be grouped or no grouping into 2 to `max_speakers`
    voices, each with `MIN_SHARE` of the speech, has a gap of `min_gap`; short segments and segments
    without a clear pitch take their neighbours' voice, or the one whose timbre they share."""
    features, durations = np.asarray(features, dtype=float), np.asarray(durations, dtype=float)
    usable = np.isfinite(features).all(axis=1) & (durations >= MIN_SEGMENT_S)
    if usable.sum() < MIN_SEGMENTS or max_speakers < 2:
        return [None] * len(features), 0.0
    pitch, weights = features[usable, -1] * SEMITONES, durations[usable]
    chosen, chosen_score, best_score = None, 0.0, 0.0
    for k in range(2, min(max_speakers, int(usable.sum())) + 1):
        groups = _pitch_groups(pitch, weights, k)
        score = _narrowest_gap(pitch, weights, groups) if groups is not None else 0.0
        best_score = max(best_score, score)
        if score >= min_gap:  # the most voices that all stand apart (a third group would split a voice)
            chosen, chosen_score = groups, score
    score = chosen_score if chosen is not None else best_score
    logger.info("speaker groups: pitch gap %.1f semitones (labelled from %.1f)", score, min_gap)
    if chosen is None:
        return [None] * len(features), score
    return _fill_unusable(features, durations, usable, chosen), score


def _pitch_groups(pitch: np.ndarray, weights: np.ndarray, k: int) -> np.ndarray | None:
    """Group numbers (0 = lowest) for `k` pitch ranges, each with `MIN_SHARE` of the weight, that leave
    the least weighted spread around their means (1-D k-means, solved exactly over the sorted pitches);
    None when no such grouping exists."""
    order = np.argsort(pitch)
    value, weight = pitch[order], weights[order]
    total = np.concatenate([[0.0], np.cumsum(weight)])
    first = np.concatenate([[0.0], np.cumsum(weight * value)])
    second = np.concatenate([[0.0], np.cumsum(weight * value**2)])
    n = len(value)
    cost = np.full((k + 1, n + 1), np.inf)  # cost[m, j]: the first j pitches in m groups
    cost[0, 0] = 0.0
    back = np.zeros((k + 1, n + 1), dtype=int)
    for m in range(1, k + 1):
        for j in range(1, n + 1):
            starts = np.arange(j)
            mass = total[j] - total[starts]
            spread = second[j] - second[starts] - (first[j] - first[starts]) ** 2 / np.maximum(mass, 1e-12)
            spread[mass < MIN_SHARE * total[-1]] = np.inf  # a voice this rare is noise, not a speaker
            candidates = cost[m - 1, starts] + spread
            back[m, j] = int(candidates.argmin())
            cost[m, j] = candidates[back[m, j]]
    if not np.isfinite(cost[k, n]):
        return None
    groups, end = np.empty(n, dtype=int), n
    for m in range(k, 0, -1):
        groups[back[m, end]:end], end = m - 1, back[m, end]
    labels = np.empty(n, dtype=int)
    labels[order] = groups
    return labels


def _narrowest_gap(pitch: np.ndarray, weights: np.ndarray, groups: np.ndarray) -> float:
    """Semitones between the typical pitches (time-weighted medians: a stray octave error does not move
    them) of neighbouring groups, the narrowest such gap."""
    typical = [_weighted_median(pitch[groups == g], weights[groups == g]) for g in range(groups.max() + 1)]
    return float(np.diff(typical).min())


def _weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    order = np.argsort(values)
    cumulative = np.cumsum(weights[order])
    return float(values[order][np.searchsorted(cumulative, cumulative[-1] / 2)])


def _fill_unusable(features: np.ndarray, durations: np.ndarray, usable: np.ndarray,
                   groups: np.ndarray) -> list[int | None]:
    """Voices renumbered in order of first appearance. A segment left out of the grouping takes the voice
    its neighbours share when it is short; when it is long (heard, but no clear pitch) or its neighbours
    differ, the voice whose mean timbre and pitch are nearest its own (when it has sound), else None."""
    first_seen = list(dict.fromkeys(groups.tolist()))
    full: list[int | None] = [None] * len(features)
    for index, group in zip(np.flatnonzero(usable), groups):
        full[index] = first_seen.index(int(group))
    spread = features[usable].std(axis=0)
    spread = np.where(spread > 1e-9, spread, 1.0)
    centres = np.array([features[usable][groups == old].mean(axis=0) for old in first_seen])
    for index in np.flatnonzero(~usable):
        known = np.isfinite(features[index])
        own = None
        if known[:-1].all():  # timbre at least; pitch too when there is one
            gaps = np.abs((features[index, known] - centres[:, known]) / spread[known]).sum(axis=1)
            own = int(gaps.argmin())
        before = next((full[i] for i in range(index - 1, -1, -1) if usable[i]), None)
        after = next((full[i] for i in range(index + 1, len(full)) if usable[i]), None)
        heard_but_unpitched = durations[index] >= MIN_SEGMENT_S and own is not None
        between_two_voices = before != after and None not in (before, after)
        if heard_but_unpitched or between_two_voices:
            full[index] = own
        else:
            full[index] = before if before is not None else after
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
