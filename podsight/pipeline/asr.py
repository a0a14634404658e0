"""Speech-to-text stage, runner side: episodes without a publisher transcript get one from their audio.

It runs after the transcript stage and before the insight stage, never beside the language model:
on a 2-core machine the two would starve each other (measured: llama.cpp slows to a crawl).
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from pathlib import Path

from sqlalchemy import select

from podsight.asr import (AudioError, OpenAITranscriber, Transcriber, TranscriptionError, load_transcriber,
                          transcribe_episode)
from podsight.config import Settings
from podsight.errors import PodsightError
from podsight.records import Person
from podsight.store.db import Store
from podsight.store.models import Episode

from .transcribe import describe, record_failure, store_transcript

log = logging.getLogger("podsight.pipeline")

# What transcribing leaves under cache/audio while it works: the downloaded episode (up to
# max_audio_bytes, 600 MB) in asr-*, the API backend's pieces in podsight-asr-*. Both are removed on the
# way out, except after kill -9 or a power cut; the stage sweeps them at its start.
WORK_PREFIXES = ("asr-", "podsight-asr-")
STALE_AFTER_S = 3600  # when another process holds the run lock: older than this cannot be its current file


def speech_to_text(store: Store, settings: Settings, progress=None) -> dict[str, int]:
    """Transcribe every episode waiting in `needs_asr`. The model loads only when there is work."""
    sweep_stale_audio(settings.cache_dir / "audio", settings.home / "run.lock")
    with store.session() as session:
        todo = [(e.id, e.audio_url, episode_persons(e)) for e in session.scalars(select(Episode).where(Episode.state == "needs_asr"))]
    counts = {"transcribed": 0, "errors": 0}
    if not todo or not settings.asr_enabled:
        return counts
    try:
        transcriber = transcriber_for(settings)
    except TranscriptionError as exc:  # a bad model setting: no episode's fault, so no attempt is spent
        log.error("speech-to-text skipped: %s", exc)
        if progress:
            progress.log(f"[red]speech-to-text skipped:[/] {exc}")
        return {**counts, "model_errors": 1}
    try:
        for number, (episode_id, audio_url, persons) in enumerate(todo, start=1):
            on_audio = _AudioMeter(progress, f"Speech to text {number}/{len(todo)}")
            ok = _transcribe_one(store, settings, transcriber, (episode_id, audio_url, persons), on_audio)
            counts["transcribed" if ok else "errors"] += 1
    finally:
        if hasattr(transcriber, "close"):  # the API backend holds an HTTP connection pool
            transcriber.close()
    return counts


def sweep_stale_audio(work_dir: Path, lock_path: Path, *, max_age_s: float = STALE_AFTER_S,
                      now: float | None = None) -> int:
    """Remove the audio that a killed run left in `work_dir`; returns how many entries went.

    Only one run holds the run lock, and this stage runs under it: when this process holds the lock,
    every asr-* entry is a dead run's, and all go. Otherwise (the stage called outside a run, or no way to
    tell) only entries untouched for `max_age_s` go, since a live run may be writing the others."""
    try:
        entries = [e for e in os.scandir(work_dir) if e.name.startswith(WORK_PREFIXES)]
    except FileNotFoundError:
        return 0
    if not entries:
        return 0
    ours = _lock_held_by_this_process(lock_path)
    now = time.time() if now is None else now
    removed, freed = 0, 0
    for entry in entries:
        size, newest = _size_and_newest_mtime(entry)
        if not ours and now - newest < max_age_s:
            continue
        try:
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path)
            else:
                os.unlink(entry.path)
        except OSError as exc:  # a file we may not remove must not stop the stage
            log.warning("could not remove stale speech-to-text file %s: %s", entry.path, exc)
            continue
        removed, freed = removed + 1, freed + size
    if removed:
        log.info("removed %d speech-to-text work folder(s) left by a stopped run (%.0f MB)", removed, freed / 1e6)
    return removed


def _size_and_newest_mtime(entry: os.DirEntry) -> tuple[int, float]:
    """Bytes under the entry (one level deep, as the stage writes them) and its newest modification time."""
    stat = entry.stat(follow_symlinks=False)
    size, newest = stat.st_size, stat.st_mtime
    if entry.is_dir(follow_symlinks=False):
        try:
            for child in os.scandir(entry.path):
                child_stat = child.stat(follow_symlinks=False)
                size, newest = size + child_stat.st_size, max(newest, child_stat.st_mtime)
        except OSError:
            pass
    return size, newest


def _lock_held_by_this_process(lock_path: Path) -> bool:
    """Whether this process holds the flock on `lock_path`, from /proc/locks (Linux); False when it cannot
    tell, which only makes the sweep more careful."""
    try:
        stat = os.stat(lock_path)
        table = Path("/proc/locks").read_text()
    except OSError:
        return False
    device = f"{os.major(stat.st_dev):02x}:{os.minor(stat.st_dev):02x}:{stat.st_ino}"
    for line in table.splitlines():
        fields = line.split()
        if len(fields) >= 6 and fields[1] == "FLOCK" and fields[5] == device and fields[4] == str(os.getpid()):
            return True
    return False


def transcriber_for(settings: Settings) -> Transcriber:
    """The configured backend: an OpenAI-compatible endpoint when `asr_base_url` is set, else local Whisper."""
    if settings.asr_base_url:
        key = settings.asr_api_key.get_secret_value() if settings.asr_api_key else None
        return OpenAITranscriber(settings.asr_base_url, api_key=key, model=settings.asr_api_model,
                                 max_upload_bytes=int(settings.asr_max_upload_mb * 1_000_000),
                                 user_agent=settings.user_agent, work_dir=settings.cache_dir / "audio")
    compute_type = None if settings.asr_compute_type == "auto" else settings.asr_compute_type
    return load_transcriber(settings.asr_model, settings.cache_dir, device=settings.asr_device,
                            compute_type=compute_type, beam_size=settings.asr_beam_size, speakers=settings.asr_speakers)


class _AudioMeter:
    """The `progress(done_s, total_s)` callback for one episode: drives an audio bar when a person
    watches, and logs the speed when the episode is done (what a cron log should say)."""

    def __init__(self, progress, label: str):
        self.progress, self.label = progress, label
        self.started = time.monotonic()
        self.total_s: float | None = None
        self.done_s = 0.0

    def __call__(self, done_s: float, total_s: float) -> None:
        if self.total_s is None and self.progress:
            self.progress.start_audio(self.label, total_s)
        self.total_s, self.done_s = total_s, done_s
        if self.progress:
            self.progress.audio(done_s)

    def finished(self, episode_id: int) -> None:
        elapsed = time.monotonic() - self.started
        if self.done_s and elapsed > 0:
            log.info("episode %d: %.1f min of audio in %.1f min (%.1fx real time)", episode_id,
                     self.done_s / 60, elapsed / 60, self.done_s / elapsed)


def episode_persons(episode: Episode) -> tuple[Person, ...]:
    """Who speaks: the episode's `podcast:person`s, plus the feed's author as the host when they list no
    host (feeds often list only the guest; the author is usually the host)."""
    persons = tuple(Person(p["name"], p.get("role") or "host") for p in episode.persons or [] if p.get("name"))
    if episode.feed.author and not any(p.role.strip().lower() == "host" for p in persons):
        persons += (Person(episode.feed.author, "host"),)
    return persons


def _transcribe_one(store: Store, settings: Settings, transcriber, episode: tuple, on_audio: _AudioMeter) -> bool:
    """Whether the episode got its transcript. Any failure (audio, model, storing) is this episode's,
    stored with an attempt counted: one episode must not hold back the others."""
    episode_id = episode[0]
    try:
        _transcribe_and_store(store, settings, transcriber, episode, on_audio)
    except Exception as exc:
        if not isinstance(exc, PodsightError):
            log.exception("speech-to-text for episode %d failed", episode_id)  # unexpected: keep the traceback
        with store.session() as session:
            record_failure(session.get(Episode, episode_id), settings, f"speech-to-text: {describe(exc)}")
        return False
    return True


def _transcribe_and_store(store: Store, settings: Settings, transcriber, episode: tuple,
                          on_audio: _AudioMeter) -> None:
    episode_id, audio_url, persons = episode
    if not audio_url:
        raise AudioError("the feed gives no audio enclosure for this episode")
    result = transcribe_episode(
        audio_url, transcriber, work_dir=settings.cache_dir / "audio", max_bytes=settings.max_audio_bytes,
        timeout_s=settings.fetch_timeout_s, user_agent=settings.user_agent, language=settings.asr_language,
        progress=on_audio, persons=persons, deadline_s=settings.asr_download_deadline_s,
        allow_private=settings.allow_private_addresses,
    )
    on_audio.finished(episode_id)
    with store.session() as session:
        store_transcript(session, session.get(Episode, episode_id), result.segments, source=f"asr:{result.model}")
