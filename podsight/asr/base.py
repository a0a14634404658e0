"""The speech-to-text interface every backend implements, its result record and its errors."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from podsight.errors import PodsightError
from podsight.records import Person, Segment

# progress(audio seconds done, audio seconds in all); called from the transcribing thread.
Progress = Callable[[float, float], None]


class AudioError(PodsightError):
    """An audio file cannot be used: empty, not audio, no audio stream, or cut short."""


class TranscriptionError(PodsightError):
    """Speech-to-text could not run: backend or model missing, bad option, decoder failure."""


@dataclass(frozen=True)
class TranscriptionResult:
    """What one transcription produced, with the model and options that produced it (to explain and
    reproduce it later)."""

    segments: list[Segment]  # in time order; speaker: a name, Host/Guest, "Speaker N", or None when voices do not separate
    language: str  # ISO 639-1 code, detected or as configured
    duration_s: float  # length of the audio
    model: str  # e.g. "whisper-base"
    options: dict[str, Any] = field(default_factory=dict)  # device, compute type, beam size, VAD, ...

    @property
    def text(self) -> str:
        """All segment texts joined by spaces."""
        return " ".join(segment.text for segment in self.segments)


class Transcriber(Protocol):
    """Turns an audio file into timed transcript segments."""

    name: str  # model identity, stored with the transcript

    def transcribe(
        self, path: Path, *, language: str | None = None, progress: Progress | None = None,
        persons: Sequence[Person] = (),
    ) -> TranscriptionResult:
        """Transcribe the audio file at `path`. `language` (ISO 639-1, e.g. "en") skips detection.
        `persons` (the feed's hosts and guests) help name the voices a backend tells apart.
        Raises AudioError for unusable audio, TranscriptionError when the backend cannot run."""
        ...
