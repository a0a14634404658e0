"""Speech-to-text stage, runner side: episodes without a publisher transcript get one from their audio.

It runs after the transcript stage and before the insight stage, never beside the language model:
on a 2-core machine the two would starve each other (measured: llama.cpp slows to a crawl).
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from podsight.asr import (AudioError, OpenAITranscriber, Transcriber, TranscriptionError, load_transcriber,
                          transcribe_episode)
from podsight.config import Settings
from podsight.errors import PodsightError
from podsight.store import episodes, jobs
from podsight.store.db import Store
from podsight.store.jobs import Lease, LeaseLost

from .transcribe import describe, store_transcript
from .work import claims

log = logging.getLogger("podsight.pipeline")

# What transcribing leaves under cache/audio while it works: the downloaded episode (up to
# max_audio_bytes, 600 MB) in asr-*, the API backend's pieces in podsight-asr-*. Both are removed on the
# way out, except after kill -9 or a power cut; the stage sweeps them at its start.
WORK_PREFIXES = ("asr-", "podsight-asr-")
STALE_AFTER_S = 3600  # while another worker transcribes: older than this cannot be its current file
# Every worker transcribing holds a shared flock on this file in the work folder: a worker that gets it
# exclusively at its start knows no one else is working there, so every leftover is a dead worker's.
IN_USE = ".workers.lock"


def speech_to_text(store: Store, settings: Settings, progress=None) -> dict[str, int]:
    """Transcribe the episodes waiting in `needs_asr`, each claimed with a lease (other workers may take
    some). The model loads only when there is work."""
    counts = {"transcribed": 0, "errors": 0}
    if not settings.asr_enabled:
        return counts
    with audio_work_folder(settings.cache_dir / "audio"), claims(store, settings, "needs_asr") as queue:
        waiting = queue.waiting()
        if not waiting:
            return counts
        try:
            transcriber = transcriber_for(settings)
        except TranscriptionError as exc:  # a bad model setting: no episode's fault, none is claimed
            log.error("speech-to-text skipped: %s", exc)
            if progress:
                progress.log(f"[red]speech-to-text skipped:[/] {exc}")
            return {**counts, "model_errors": 1}
        try:
            for number, lease in enumerate(queue.each(), start=1):
                on_audio = _AudioMeter(progress, f"Speech to text {number}/{max(number, waiting)}")
                ok = _transcribe_one(store, settings, transcriber, lease, on_audio)
                counts["transcribed" if ok else "errors"] += 1
        finally:
            if hasattr(transcriber, "close"):  # the API backend holds an HTTP connection pool
                transcriber.close()
    return counts


@contextmanager
def audio_work_folder(work_dir: Path) -> Iterator[None]:
    """Sweep what dead workers left in `work_dir`, then hold the folder's shared lock while the stage works."""
    work_dir.mkdir(parents=True, exist_ok=True)
    with open(work_dir / IN_USE, "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            alone = True
        except BlockingIOError:
            alone = False
        sweep_stale_audio(work_dir, everything=alone)
        fcntl.flock(handle, fcntl.LOCK_SH)  # from exclusive to shared: other workers may start now
        yield


def sweep_stale_audio(work_dir: Path, *, everything: bool, max_age_s: float = STALE_AFTER_S,
                      now: float | None = None) -> int:
    """Remove the audio that killed workers left in `work_dir`; returns how many entries went: all of them
    when `everything` (no other worker is using the folder), else those untouched for `max_age_s`."""
    try:
        entries = [e for e in os.scandir(work_dir) if e.name.startswith(WORK_PREFIXES)]
    except FileNotFoundError:
        return 0
    now = time.time() if now is None else now
    removed, freed = 0, 0
    for entry in entries:
        size, newest = _size_and_newest_mtime(entry)
        if not everything and now - newest < max_age_s:
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


def _transcribe_one(store: Store, settings: Settings, transcriber, lease: Lease, on_audio: _AudioMeter) -> bool:
    """Whether the episode got its transcript. Any failure (audio, model, storing) is this episode's,
    stored for `podsight status` (its claim counted the attempt): one episode must not hold back the others."""
    try:
        _transcribe_and_store(store, settings, transcriber, lease, on_audio)
    except LeaseLost as exc:
        log.warning("%s; its transcript is dropped", exc)
        return False
    except Exception as exc:
        if not isinstance(exc, PodsightError):
            log.exception("speech-to-text for episode %d failed", lease.episode_id)  # unexpected: keep the traceback
        jobs.fail(store, lease, f"speech-to-text: {describe(exc)}", settings.max_attempts)
        return False
    return True


def _transcribe_and_store(store: Store, settings: Settings, transcriber, lease: Lease,
                          on_audio: _AudioMeter) -> None:
    audio_url, persons = episodes.audio_of(store, lease.episode_id)
    if not audio_url:
        raise AudioError("the feed gives no audio enclosure for this episode")
    result = transcribe_episode(
        audio_url, transcriber, work_dir=settings.cache_dir / "audio", max_bytes=settings.max_audio_bytes,
        timeout_s=settings.fetch_timeout_s, user_agent=settings.user_agent, language=settings.asr_language,
        progress=on_audio, persons=persons, deadline_s=settings.asr_download_deadline_s,
        allow_private=settings.allow_private_addresses,
    )
    on_audio.finished(lease.episode_id)
    store_transcript(store, lease, result.segments, source=f"asr:{result.model}")
