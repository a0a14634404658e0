"""`kill -9` during speech-to-text leaves cache/audio/asr-* (up to 600 MB each): the stage sweeps them at
its start (issue 11, finding 16)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from podsight.pipeline import run_lock
from podsight.pipeline.asr import STALE_AFTER_S, speech_to_text, sweep_stale_audio


def leftover(folder, name: str, age_s: float = 0.0, size: int = 1000):
    """A work folder as a killed run leaves it: the downloaded audio inside, `age_s` old."""
    path = folder / name
    path.mkdir(parents=True)
    audio = path / "episode.mp3"
    audio.write_bytes(b"\0" * size)
    then = time.time() - age_s
    for item in (audio, path):
        os.utime(item, (then, then))
    return path


@pytest.fixture
def audio_dir(settings):
    folder = settings.cache_dir / "audio"
    folder.mkdir(parents=True)
    (folder / "notes.txt").write_text("not ours to remove")
    return folder


def test_the_stage_removes_old_leftovers_and_keeps_fresh_ones_outside_a_run(settings, store, audio_dir):
    old = leftover(audio_dir, "asr-k1ll3d", age_s=STALE_AFTER_S + 60, size=2_000_000)
    pieces = leftover(audio_dir, "podsight-asr-x9", age_s=2 * STALE_AFTER_S)
    fresh = leftover(audio_dir, "asr-l1ve")  # a run elsewhere may be writing it
    assert speech_to_text(store, settings) == {"transcribed": 0, "errors": 0}  # no episode waits: still swept
    assert not old.exists() and not pieces.exists()
    assert fresh.exists() and (audio_dir / "notes.txt").exists()


def test_under_our_run_lock_every_leftover_goes(settings, store, audio_dir):
    old = leftover(audio_dir, "asr-a", age_s=STALE_AFTER_S + 60)
    recent = leftover(audio_dir, "asr-b", age_s=30)  # killed a minute ago, rerun at once
    with run_lock(settings):  # as `podsight run` and the scheduler call the stage
        speech_to_text(store, settings)
    assert not old.exists() and not recent.exists()
    assert (audio_dir / "notes.txt").exists()


def test_a_run_lock_held_by_another_process_spares_its_fresh_files(settings, audio_dir):
    settings.home.mkdir(parents=True, exist_ok=True)
    holder = subprocess.Popen([sys.executable, "-c", (
        "import fcntl, sys, time\n"
        f"handle = open({str(settings.home / 'run.lock')!r}, 'w')\n"
        "fcntl.flock(handle, fcntl.LOCK_EX)\n"
        "print('locked', flush=True)\n"
        "time.sleep(30)\n")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        theirs = leftover(audio_dir, "asr-theirs", age_s=5)
        dead = leftover(audio_dir, "asr-dead", age_s=STALE_AFTER_S + 5)
        assert sweep_stale_audio(audio_dir, settings.home / "run.lock") == 1
        assert theirs.exists() and not dead.exists()
    finally:
        holder.kill()
        holder.wait()


def test_nothing_to_sweep_is_fine(settings, tmp_path):
    assert sweep_stale_audio(tmp_path / "missing", tmp_path / "run.lock") == 0
