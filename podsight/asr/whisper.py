"""Speech-to-text with faster-whisper (CTranslate2): int8 on CPU, float16 on a CUDA GPU.

The audio is decoded a window at a time (`audio.pcm_windows`, in a background thread, one window ahead) and
each window transcribed on its own, so memory stays bounded on long episodes; the language found in the
first window is kept for the rest. On CPU, `workers` windows are transcribed at once (each with
`cpu_threads` CTranslate2 threads), so feature extraction, VAD and the decoder of one window overlap with
another's and every core stays busy; the compute type, workers and threads default to what
`podsight.asr.cpu.choose` picks for this CPU.
Silero VAD (shipped inside faster-whisper, no download) skips music and silence, and each 30-second
piece is decoded without the previous text as prompt, which stops Whisper's repetition loops.
With `speakers` on, each segment's voice features are taken from its window's samples while they are in
memory, and the voices are clustered and named at the end (`podsight.asr.speakers`).
"""

from __future__ import annotations

import logging
import math
import threading
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from podsight.asr import cpu
from podsight.asr.audio import SAMPLE_RATE, pcm_windows, prefetched, probe_duration
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


def pick_device(device: str, compute_type: str | None, cpu_choice: cpu.AsrCpuChoice) -> tuple[str, str]:
    """Resolve "auto" to cuda when CTranslate2 sees a GPU, else cpu; default compute type per device (on
    CPU: `cpu_choice`'s)."""
    if device not in DEVICES:
        raise TranscriptionError(f"unknown speech device {device!r}; valid: {', '.join(DEVICES)}")
    if device == "auto":
        _faster_whisper()  # the clear "install it" error, rather than ctranslate2's ImportError
        import ctranslate2

        device = "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"
    if compute_type:
        return device, compute_type
    return device, "float16" if device == "cuda" else cpu_choice.compute_type


def _available_cores() -> int:
    return cpu.available_cores()


class WhisperTranscriber:
    """A `Transcriber` backed by faster-whisper. The model loads on first use and is then reused."""

    def __init__(self, model_dir: str | Path, *, name: str | None = None, device: str = "auto",
                 compute_type: str | None = None, cpu_threads: int = 0, vad: bool = True,
                 beam_size: int = 1, batch_size: int = 0, window_s: float = 300.0, speakers: bool = True,
                 max_speakers: int = 2, workers: int = 0):
        """`model_dir`: a CTranslate2 model directory (see `weights.resolve_whisper_model`), or a
        faster-whisper model name it may download. `beam_size` 1 (greedy) measured about 25% faster than
        5 on 2 CPU cores, with word error 11.5% against 10%. `batch_size` > 0 uses faster-whisper's batched
        pipeline: on 2 cores only ~20% faster, and its segments are whole VAD chunks (up to 30 s), too
        coarse for quote timestamps; meant for GPUs. `workers`: windows transcribed at once on CPU, each with
        `cpu_threads` threads; 0 (both) means `podsight.asr.cpu.choose`'s choice for this CPU (2 cores:
        2 windows x 1 thread). With several workers, windows shrink so each worker gets one (a 10-minute
        episode on 2 workers: two 5-minute windows).
        `window_s`: seconds of audio decoded and transcribed at a time: peak memory follows the window, not
        the episode (tiny.en, 1-hour file: 1.77 GB with 20-minute windows, 0.65 GB with 5-minute ones, same
        speed). `speakers`: tell up to `max_speakers` voices apart and name them (measured: about 25 s of CPU per hour of audio on
        2 cores, a few % of the transcription); speakers stay None when voices do not separate clearly."""
        if beam_size < 1 or batch_size < 0 or cpu_threads < 0 or workers < 0 or window_s < 5 or max_speakers < 2:
            raise TranscriptionError("beam_size must be >= 1, batch_size, cpu_threads and workers >= 0, "
                                     "window_s >= 5, max_speakers >= 2")
        self.model_dir = str(model_dir)
        self.name = name or Path(self.model_dir).name
        self.cpu_choice = cpu.choice_for_this_cpu()[1]  # reads /proc/cpuinfo: once per transcriber
        self.device, self.compute_type = pick_device(device, compute_type, self.cpu_choice)
        self._may_fall_back = device == "auto" and compute_type is None
        if self.device == "cuda" or batch_size:
            self.workers = workers or 1
            self.cpu_threads = cpu_threads or _available_cores()  # CTranslate2's own default is 4
        else:
            self.workers = workers or (1 if cpu_threads else self.cpu_choice.workers)
            self.cpu_threads = cpu_threads or max(1, _available_cores() // self.workers)
        self.vad, self.beam_size = vad, beam_size
        self.batch_size, self.window_s = batch_size, window_s
        self.speakers, self.max_speakers = speakers, max_speakers
        self._model: Any = None
        self._lock = threading.Lock()

    @property
    def options(self) -> dict[str, Any]:
        """The options in force, recorded with every result."""
        return {"device": self.device, "compute_type": self.compute_type, "cpu_threads": self.cpu_threads,
                "workers": self.workers,
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
        for window_end, found, rows, language in self._windows(model, Path(path), total, language):
            if self.speakers:
                voices.append(rows)
            for segment in found:
                segments.append(segment)
                if progress:
                    progress(min(segment.end, total), total)
            if progress:
                progress(min(window_end, total), total)
        if self.speakers and segments:
            segments = speakers.label_speakers(segments, speakers.stack(voices), persons,
                                               max_speakers=self.max_speakers)
        if progress:
            progress(total, total)
        return TranscriptionResult(segments=segments, language=language or "en",
                                   duration_s=total, model=self.name, options=self.options)

    def window_seconds(self, total: float) -> float:
        """The window for an episode of `total` seconds: `window_s`, shortened so that every worker gets
        a window (windows of equal length, a few seconds over so the last one is not a sliver)."""
        if self.workers <= 1:
            return self.window_s
        count = max(1, math.ceil(total / self.window_s))
        count = math.ceil(count / self.workers) * self.workers
        return max(30.0, total / count + 5.0)  # total / count <= window_s

    def _windows(self, model: Any, path: Path, total: float, language: str | None
                 ) -> Iterator[tuple[float, list[Segment], Any, str | None]]:
        """(window end s, its segments, its voice features, the language) for each window, in order. The
        audio decodes one window ahead in a thread; up to `workers` windows transcribe at once."""
        windows = prefetched(pcm_windows(path, window_s=self.window_seconds(total)), depth=1)
        pending: deque[Future] = deque()
        pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="podsight-asr")
        try:
            for offset, samples in windows:
                if language is None:
                    # Language detection runs inside transcribe() (eagerly), so the first window's call
                    # settles the language before any other window starts.
                    found, language = self._transcribe_window(model, samples, None)
                    pending.append(pool.submit(self._finish_window, found, samples, offset))
                else:
                    pending.append(pool.submit(self._whole_window, model, samples, offset, language))
                del samples
                while len(pending) >= self.workers:
                    yield (*pending.popleft().result(), language)
            while pending:
                yield (*pending.popleft().result(), language)
        finally:
            for future in pending:
                future.cancel()
            windows.close()
            pool.shutdown(wait=True, cancel_futures=True)

    def _whole_window(self, model: Any, samples: Any, offset: float, language: str
                      ) -> tuple[float, list[Segment], Any]:
        found, _language = self._transcribe_window(model, samples, language)
        return self._finish_window(found, samples, offset)

    def _finish_window(self, found: Iterator[Any], samples: Any, offset: float) -> tuple[float, list[Segment], Any]:
        """Decode a window's segments (absolute times) and take their voice features."""
        from podsight.asr import speakers

        window_end = offset + len(samples) / SAMPLE_RATE
        segments = []
        for piece in found:  # Whisper may stamp past the end of the audio it was given: clamp
            start, end = min(offset + piece.start, window_end), min(offset + piece.end, window_end)
            if piece.text.strip():
                segments.append(Segment(start=round(start, 2), end=round(end, 2), text=piece.text.strip()))
        rows = speakers.voice_features(samples, segments, offset) if self.speakers else None
        return window_end, segments, rows

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
                    self.device, self.compute_type = "cpu", self.cpu_choice.compute_type
                    self._model = self._new_model()
            return self._model

    def _new_model(self) -> Any:
        whisper = _faster_whisper()
        logger.info("loading speech model %s on %s (%s)", self.model_dir, self.device, self.compute_type)
        try:
            return whisper.WhisperModel(self.model_dir, device=self.device, compute_type=self.compute_type,
                                        cpu_threads=self.cpu_threads, num_workers=self.workers)
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
