"""Speech-to-text stage, runner side: episodes without a publisher transcript get one from their audio.

It runs after the transcript stage and before the insight stage, never beside the language model:
on a 2-core machine the two would starve each other (measured: llama.cpp slows to a crawl).
"""

from __future__ import annotations

import logging

from sqlalchemy import select

from podsight.asr import AudioError, TranscriptionError, load_transcriber, transcribe_episode
from podsight.config import Settings
from podsight.errors import FetchError
from podsight.store.db import Store
from podsight.store.models import Episode

from .transcribe import record_failure, store_transcript

log = logging.getLogger("podsight.pipeline")


def speech_to_text(store: Store, settings: Settings, progress=None) -> dict[str, int]:
    """Transcribe every episode waiting in `needs_asr`. The model loads only when there is work."""
    with store.session() as session:
        todo = [(e.id, e.audio_url) for e in session.scalars(select(Episode).where(Episode.state == "needs_asr"))]
    counts = {"transcribed": 0, "errors": 0}
    if not todo or not settings.asr_enabled:
        return counts
    try:
        transcriber = load_transcriber(settings.asr_model, settings.cache_dir, device=settings.asr_device)
    except TranscriptionError as exc:  # a bad model setting: no episode's fault, so no attempt is spent
        log.error("speech-to-text skipped: %s", exc)
        if progress:
            progress.log(f"[red]speech-to-text skipped:[/] {exc}")
        return {**counts, "model_errors": 1}
    if progress:
        progress.start("Speech to text", len(todo))
    for episode_id, audio_url in todo:
        ok = _transcribe_one(store, settings, transcriber, episode_id, audio_url, progress)
        counts["transcribed" if ok else "errors"] += 1
        if progress:
            progress.advance(note="")
    return counts


def _transcribe_one(store: Store, settings: Settings, transcriber, episode_id: int, audio_url: str | None,
                    progress) -> bool:
    on_audio = (lambda done, total: progress.note(f"{done / 60:.0f}/{total / 60:.0f} min of audio")) if progress else None
    try:
        if not audio_url:
            raise AudioError("the feed gives no audio enclosure for this episode")
        result = transcribe_episode(
            audio_url, transcriber, work_dir=settings.cache_dir / "audio", max_bytes=settings.max_audio_bytes,
            timeout_s=settings.fetch_timeout_s, user_agent=settings.user_agent, language=settings.asr_language,
            progress=on_audio,
        )
    except (FetchError, AudioError, TranscriptionError) as exc:
        with store.session() as session:
            record_failure(session.get(Episode, episode_id), settings, f"speech-to-text: {exc}")
        return False
    with store.session() as session:
        store_transcript(session, session.get(Episode, episode_id), result.segments, source=f"asr:{result.model}")
    return True
