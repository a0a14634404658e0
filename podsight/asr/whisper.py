"""Speech-to-text with faster-whisper (CTranslate2): int8 on CPU, float16 on a CUDA GPU.

The audio is decoded a window at a time (`audio.pcm_windows`) and each window transcribed on its own, so
memory stays bounded on long episodes; the language found in the first window is kept for the rest.
Silero VAD (shipped inside faster-whisper, no download) skips music and silence, and each 30-second
piece is decoded without the previous text as prompt, which stops Whisper's repetition loops.
With `speakers` on, each segment's voice features are taken from its window's samples while they are in
memory, and the voices are clustered and named at the end (`podsight.asr.speakers`).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from podsight.asr.audio import SAMPLE_RATE, pcm_windows, probe_duration
from podsight.asr.base import Progress, TranscriptionError, TranscriptionResult
from podsight.records import Person, Segment

logger = logging.getLogger("podsight.asr")

DEVICES = ("auto", "cpu", "cuda")
VAD_PAD_MS = 800


def _faster_whisper() -> Any:
    try:
        import faster_whisper
    except ImportError:
        raise TranscriptionError(
            "speech-to-text needs faster-whisper: install it with: pip install 'podsight[asr]'"
        ) from None
    return faster_whisper


def pick_device(device: str, compute_type: str | None) -> tuple[str, str]:
    """Resolve "auto" to cuda when CTranslate2 sees a GPU, else cpu; default compute type per device."""
    if device not in DEVICES:
        raise TranscriptionError(f"unknown speech device {device!r}; valid: {', '.join(DEVICES)}")
    if device == "auto":
        _faster_whisper()  # the clear "install it" error, rather than ctranslate2's ImportError
        import ctranslate2

        device = "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"
    return device, compute_type or ("float16" if device == "cuda" else "int8")


def _available_cores() -> int:
    if hasattr(os, "sched_getaffinity"):  # Linux: honours taskset and container CPU sets
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


class WhisperTranscriber:
    """A `Transcriber` backed by faster-whisper. The model loads on first use and is then reused."""

    def __init__(self, model_dir: str | Path, *, name: str | None = None, device: str = "auto",
                 compute_type: str | None = None, cpu_threads: int = 0, vad: bool = True,
                 beam_size: int = 1, batch_size: int = 0, window_s: float = 300.0, speakers: bool = True,
                 max_speakers: int = 2):
        """`model_dir`: a CTranslate2 model directory (see `weights.resolve_whisper_model`), or a
        faster-whisper model name it may download. `beam_size` 1 (greedy) measured about 25% faster than
        5 on 2 CPU cores, with word error 11.5% against 10%. `batch_size` > 0 uses faster-whisper's batched
        pipeline: on 2 cores only ~20% faster, and its segments are whole VAD chunks (up to 30 s), too
        coarse for quote timestamps; meant for GPUs. `cpu_threads` 0 means every core this process may use.
        `window_s`: seconds of audio decoded and transcribed at a time: peak memory follows the window, not
        the episode (tiny.en, 1-hour file: 1.77 GB with 20-minute windows, 0.65 GB with 5-minute ones, same
        speed). `speakers`: tell up to `max_speakers` voices apart and name them (measured: about 25 s of CPU per hour of audio on
        2 cores, a few % of the transcription); speakers stay None when voices do not separate clearly."""
        if beam_size < 1 or batch_size < 0 or cpu_threads < 0 or window_s < 5 or max_speakers < 2:
            raise TranscriptionError("beam_size must be >= 1, batch_size and cpu_threads >= 0, window_s >= 5, "
                                     "max_speakers >= 2")
        self.model_dir = str(model_dir)
        self.name = name or Path(self.model_dir).name
        self.device, self.compute_type = pick_device(device, compute_type)
        self._may_fall_back = device == "auto" and compute_type is None
        self.cpu_threads = cpu_threads or _available_cores()  # CTranslate2's own default is 4
        self.vad, self.beam_size = vad, beam_size
        self.batch_size, self.window_s = batch_size, window_s
        self.speakers, self.max_speakers = speakers, max_speakers
        self._model: Any = None
        self._lock = threading.Lock()

    @property
    def options(self) -> dict[str, Any]:
        """The options in force, recorded with every result."""
        return {"device": self.device, "compute_type": self.compute_type, "cpu_threads": self.cpu_threads,
                "beam_size": self.beam_size, "batch_size": self.batch_size, "vad": self.vad,
                "condition_on_previous_text": False, "window_s": self.window_s,
                "speakers": self.max_speakers if self.speakers else 0}

    def transcribe(self, path: Path, *, language: str | None = None, progress: Progress | None = None,
                   persons: Sequence[Person] = ()) -> TranscriptionResult:
        """Transcribe `path`; see `podsight.asr.base.Transcriber`. `persons` (the episode's
        `podcast:person`s, or the show's author as host) help name the speakers."""
        from podsight.asr import speakers

        total = probe_duration(path)  # fails fast on unusable audio, before the model loads
        model = self._load()
        language = self._check_language(model, language)
        segments: list[Segment] = []
        voices = []  # one feature row per segment, taken while its window's samples are in memory
        for offset, samples in pcm_windows(Path(path), window_s=self.window_s):
            first = len(segments)
            found, language = self._transcribe_window(model, samples, language)
            window_end = offset + len(samples) / SAMPLE_RATE
            for piece in found:  # Whisper may stamp past the end of the audio it was given: clamp
                start, end = min(offset + piece.start, window_end), min(offset + piece.end, window_end)
                if piece.text.strip():
                    segments.append(Segment(start=round(start, 2), end=round(end, 2), text=piece.text.strip()))
                if progress:
                    progress(min(end, total), total)
            if self.speakers:
                voices.append(speakers.voice_features(samples, segments[first:], offset))
            if progress:
                progress(min(window_end, total), total)
        if self.speakers and segments:
            segments = speakers.label_speakers(segments, speakers.stack(voices), persons,
                                               max_speakers=self.max_speakers)
        if progress:
            progress(total, total)
        return TranscriptionResult(segments=segments, language=language or "en", duration_s=total,
                                   model=self.name, options=self.options)

    def _transcribe_window(self, model: Any, samples: Any, language: str | None) -> tuple[Any, str]:
        """Segments of one window (a generator: they stream out as decoded) and the language used."""
        runner = model
        kwargs: dict[str, Any] = {"language": language, "beam_size": self.beam_size, "vad_filter": self.vad,
                                  "condition_on_previous_text": False}
        if self.vad:  # 0.8 s of padding around speech, not 0.4: fewer clipped first and last words
            kwargs["vad_parameters"] = {"speech_pad_ms": VAD_PAD_MS}
        if self.batch_size:
            runner = _faster_whisper().BatchedInferencePipeline(model=model)
            kwargs["batch_size"] = self.batch_size
            kwargs["vad_filter"] = True  # the batched pipeline cuts audio at VAD pauses
        try:
            found, info = runner.transcribe(samples, **kwargs)
        except (RuntimeError, ValueError) as exc:
            raise TranscriptionError(f"speech model {self.name} failed: {exc}") from exc
        if language is None:
            logger.info("detected language %s (p=%.2f)", info.language, info.language_probability)
        return self._guarded(found), info.language

    def _guarded(self, found: Iterator[Any]) -> Iterator[Any]:
        """The segments as they decode; a decoder failure on the way (out of memory, a CUDA library that
        loads late) becomes a TranscriptionError too."""
        try:
            yield from found
        except (RuntimeError, ValueError) as exc:
            raise TranscriptionError(f"speech model {self.name} failed while decoding: {exc}") from exc

    def _load(self) -> Any:
        with self._lock:  # one load even when several threads start at once
            if self._model is None:
                try:
                    self._model = self._new_model()
                except TranscriptionError as exc:
                    if not (self._may_fall_back and self.device == "cuda"):
                        raise
                    # A GPU is visible but its CUDA libraries (cuBLAS, cuDNN) are not installed: use the CPU.
                    logger.warning("%s; falling back to the CPU", exc)
                    self.device, self.compute_type = "cpu", "int8"
                    self._model = self._new_model()
            return self._model

    def _new_model(self) -> Any:
        whisper = _faster_whisper()
        logger.info("loading speech model %s on %s (%s)", self.model_dir, self.device, self.compute_type)
        try:
            return whisper.WhisperModel(self.model_dir, device=self.device, compute_type=self.compute_type,
                                        cpu_threads=self.cpu_threads)
        except (RuntimeError, ValueError, OSError) as exc:
            raise TranscriptionError(f"could not load speech model {self.model_dir}: {exc}") from exc

    def _check_language(self, model: Any, language: str | None) -> str | None:
        """Normalise a feed's language ("en-US" -> "en"). A code Whisper does not know (feeds carry odd
        tags) is detected instead; a known language an English-only model cannot transcribe is refused."""
        if not language:
            return None
        code = language.strip().lower().replace("_", "-").split("-")[0]
        supported = model.supported_languages
        if code in supported:
            return code
        if supported == ["en"] and len(code) == 2 and code.isalpha():  # an ISO 639-1 code, not English
            raise TranscriptionError(
                f"speech model {self.name} transcribes English only, and this episode is in {language!r}: "
                "set the speech model to whisper-base (99 languages)"
            )
        logger.warning("language %r is not one Whisper knows; detecting the language instead", language)
        return None
