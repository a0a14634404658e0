"""The speech-to-text stage for one episode: download its audio, check it, transcribe it, clean up.

The runner builds one transcriber per run (`load_transcriber`, so the model loads once) and calls
`transcribe_episode` for each episode in state `needs_asr`.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path

from podsight.asr.audio import DOWNLOAD_DEADLINE_S, download_audio, probe_duration
from podsight.asr.base import AudioError, Progress, Transcriber, TranscriptionResult
from podsight.asr.weights import EMBEDDED_WHISPER, resolve_whisper_model
from podsight.asr.whisper import WhisperTranscriber
from podsight.records import Person


def load_transcriber(model: str, cache_dir: Path, *, device: str = "auto", compute_type: str | None = None,
                     cpu_threads: int = 0, beam_size: int = 1, batch_size: int = 0,
                     speakers: bool = True) -> WhisperTranscriber:
    """A Whisper transcriber for `model`: an embedded name (`EMBEDDED_WHISPER`: whisper-base,
    whisper-tiny.en), a local CTranslate2 model directory, or a faster-whisper model name (downloaded
    by faster-whisper). Embedded weights are located, joined and hash-checked here; the model itself
    loads on the first transcription."""
    model_dir = resolve_whisper_model(model, Path(cache_dir))
    name = model if model in EMBEDDED_WHISPER else Path(model).name
    return WhisperTranscriber(model_dir, name=name, device=device, compute_type=compute_type,
                              cpu_threads=cpu_threads, beam_size=beam_size, batch_size=batch_size, speakers=speakers)


def transcribe_episode(audio_url: str, transcriber: Transcriber, *, work_dir: Path, max_bytes: int,
                       timeout_s: float, user_agent: str, language: str | None = None,
                       progress: Progress | None = None, persons: Sequence[Person] = (),
                       deadline_s: float = DOWNLOAD_DEADLINE_S, allow_private: bool = False) -> TranscriptionResult:
    """Download `audio_url` into a temporary folder under `work_dir` (within `deadline_s` seconds, retries
    included), transcribe it and delete the audio, whatever happens. Raises FetchError (download),
    AudioError (unusable file) or TranscriptionError."""
    work_dir = Path(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=work_dir, prefix="asr-") as tmp:
        path = download_audio(audio_url, Path(tmp), max_bytes=max_bytes, timeout_s=timeout_s,
                              user_agent=user_agent, deadline_s=deadline_s, allow_private=allow_private)
        try:
            probe_duration(path)  # a broken file fails here, before a model is loaded
        except AudioError as exc:  # its message names the temporary file; the user knows the URL
            raise AudioError(f"{audio_url}: {exc}") from None
        return transcriber.transcribe(path, language=language, progress=progress, persons=persons)
