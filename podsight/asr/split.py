"""Cut long audio into pieces small enough for a speech API's upload limit, each cut in a pause.

`split_on_silence` decodes to 16 kHz mono a few seconds at a time and encodes straight into the current
piece (MP3, constant bit rate, so a piece's size follows from its length). Only the last few seconds
before a possible cut are held back undecided, so memory stays small however long the episode is. Each
cut goes where Silero VAD (shipped inside faster-whisper, no download) hears no speech, at the quietest
100 ms there; where a search window is all speech, at its quietest 100 ms (usually a gap between words).
Pieces come out one at a time and each file is deleted as soon as the caller asks for the next.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from podsight.asr.audio import SAMPLE_RATE, decode_pcm, import_av

logger = logging.getLogger("podsight.asr")

PIECE_BIT_RATE = 32_000  # mono speech at 16 kHz: plenty for Whisper, 4 kB a second
_CONTAINER_BYTES = 4_096  # ID3 tag, Xing header and encoder padding, with room to spare
_HOP = SAMPLE_RATE // 50  # 20 ms: where a cut may fall
_QUIET_HOPS = 5  # a cut sits in the middle of the quietest 100 ms


@dataclass(frozen=True)
class Piece:
    """One encoded piece: its file and where it sits in the original audio."""

    path: Path
    start_s: float
    duration_s: float


MIN_PIECE_S = 2.0  # shorter pieces would cut nearly every sentence


def max_piece_seconds(max_bytes: int, bit_rate: int = PIECE_BIT_RATE) -> float:
    """The longest piece whose encoded file stays under `max_bytes` (may be under MIN_PIECE_S)."""
    return (max_bytes - _CONTAINER_BYTES) * 8 / bit_rate


def split_on_silence(path: Path, dest_dir: Path, *, total_s: float, max_piece_s: float,
                     search_s: float = 10.0, bit_rate: int = PIECE_BIT_RATE) -> Iterator[Piece]:
    """Yield pieces of at most `max_piece_s` covering the audio at `path` (`total_s` long, from
    `probe_duration`), each a file in `dest_dir`. Pieces are about equal in length; each cut is searched
    for within `search_s` seconds around its target. Use it in a `with contextlib.closing(...)` block so
    the last file goes even when the caller stops early."""
    import numpy as np

    if max_piece_s < MIN_PIECE_S:
        raise ValueError(f"pieces of {max_piece_s:.1f} s are too short to transcribe")
    search = int(min(search_s, max_piece_s / 2) * SAMPLE_RATE)
    plan = _PiecePlan(total_s, max_piece_s, search)
    piece = _PieceWriter(dest_dir / "piece-0000.mp3", bit_rate)
    pending: list[Any] = []  # decoded samples not yet written: the cut may still fall among them
    try:
        for chunk in decode_pcm(path):
            pending.append(chunk)
            audio = np.concatenate(pending)
            while piece.samples + len(audio) >= plan.window_end():
                audio = _cut(piece, audio, plan)
                yield piece.finish(plan.consumed)
                piece.discard()  # the caller is done with it
                plan.consumed += piece.samples
                piece = _PieceWriter(dest_dir / f"piece-{plan.pieces:04d}.mp3", bit_rate)
                plan.pieces += 1
            keep = max(0, plan.window_start(piece.samples))
            piece.write(audio[:keep])
            pending = [audio[keep:]]
        piece.write(np.concatenate(pending))
        if piece.samples:
            yield piece.finish(plan.consumed)
    finally:
        piece.discard()


class _PiecePlan:
    """Where the next cut should go: the audio left is shared evenly among the fewest pieces that fit,
    so no piece is a sliver, and the target is recomputed after every cut."""

    def __init__(self, total_s: float, max_piece_s: float, search: int):
        self.total = int(total_s * SAMPLE_RATE)
        self.max_piece = int(max_piece_s * SAMPLE_RATE)
        self.search = search
        self.consumed = 0  # samples in finished pieces
        self.pieces = 1

    def window(self) -> tuple[int, int, int]:
        """Where in the current piece (in samples from its start) its cut may fall: (first, ideal, last)."""
        remaining = self.total - self.consumed
        pieces_left = math.ceil(remaining / self.max_piece)
        if pieces_left <= 1:  # the last piece: cut only if the audio runs past what the container declared
            return self.max_piece - self.search, self.max_piece, self.max_piece
        target = remaining // pieces_left
        return target - self.search // 2, target, min(target + self.search // 2, self.max_piece)

    def window_start(self, written: int) -> int:
        """How many of the pending samples can be written now (they are before any possible cut)."""
        return self.window()[0] - written

    def window_end(self) -> int:
        """Once the current piece could hold this many samples, its cut can be chosen."""
        return self.window()[2]


def _cut(piece: _PieceWriter, audio: Any, plan: _PiecePlan) -> Any:
    """Write `audio` up to the best cut in the search window to `piece`; return what follows the cut."""
    first, ideal, last = (max(0, at - piece.samples) for at in plan.window())
    cut = first + quiet_spot(audio[first:last], prefer=ideal - first)
    piece.write(audio[:cut])
    return audio[cut:]


def quiet_spot(region: Any, prefer: int | None = None) -> int:
    """Index in `region` (16 kHz mono samples) of the best place to cut: the middle of its quietest
    100 ms, preferring stretches where Silero VAD hears no speech, and of equally quiet spots the one
    nearest `prefer` (default: the middle)."""
    import numpy as np

    hops = len(region) // _HOP
    if hops < _QUIET_HOPS:
        return len(region) // 2
    energy = (region[: hops * _HOP].reshape(hops, _HOP).astype(np.float64) ** 2).sum(axis=1)
    window = np.ones(_QUIET_HOPS)
    loudness = np.convolve(energy, window, mode="valid")
    speech = np.convolve(_speech_hops(region, hops), window, mode="valid")
    if (speech == 0).any():  # somewhere in the window nobody is talking: cut there
        loudness = np.where(speech == 0, loudness, np.inf)
    # Of spots as quiet as the quietest (a long pause), take the one nearest the ideal cut: always taking
    # the first would pull every cut early, and the drift could add a piece at the end.
    quiet = np.flatnonzero(loudness <= loudness.min() * 1.05 + 1e-9)  # ties, not quiet consonants
    ideal = (len(region) // 2 if prefer is None else prefer) / _HOP - _QUIET_HOPS / 2
    best = quiet[np.abs(quiet - ideal).argmin()]
    return int((int(best) + _QUIET_HOPS / 2) * _HOP)


def _speech_hops(region: Any, hops: int) -> Any:
    """1 for each 20 ms hop Silero VAD counts as speech, else 0 (all 0 when the VAD is unavailable)."""
    import numpy as np

    mask = np.zeros(hops)
    try:
        from faster_whisper.vad import VadOptions, get_speech_timestamps
    except ImportError:
        return mask
    options = VadOptions(min_silence_duration_ms=100, speech_pad_ms=30)
    for span in get_speech_timestamps(region, options, sampling_rate=SAMPLE_RATE):
        mask[span["start"] // _HOP: -(-span["end"] // _HOP)] = 1
    return mask


class _PieceWriter:
    """An MP3 file being encoded (libmp3lame, mono, constant bit rate), fed float32 samples."""

    def __init__(self, path: Path, bit_rate: int):
        av = import_av()
        self.path = path
        self.samples = 0
        self._av = av
        self._container = av.open(str(path), "w", format="mp3")
        self._stream = self._container.add_stream("libmp3lame", rate=SAMPLE_RATE, layout="mono")
        self._stream.bit_rate = bit_rate
        # LAME's quality 7 encodes about twice as fast as its default; speech recognition hears no difference
        self._stream.codec_context.options = {"compression_level": "7"}

    def write(self, samples: Any) -> None:
        if not len(samples):
            return
        frame = self._av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="fltp", layout="mono")
        frame.sample_rate = SAMPLE_RATE
        frame.pts, frame.time_base = self.samples, Fraction(1, SAMPLE_RATE)
        self._container.mux(self._stream.encode(frame))
        self.samples += len(samples)

    def finish(self, start_sample: int) -> Piece:
        """Flush and close the file; describe it as the piece starting at `start_sample`."""
        self._container.mux(self._stream.encode(None))
        self._container.close()
        self._container = None
        return Piece(self.path, start_sample / SAMPLE_RATE, self.samples / SAMPLE_RATE)

    def discard(self) -> None:
        """Close (if still open) and delete the file."""
        if self._container is not None:
            self._container.close()
            self._container = None
        self.path.unlink(missing_ok=True)
