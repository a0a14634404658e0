"""`kill -9` during speech-to-text leaves cache/audio/asr-* (up to 600 MB each): the stage sweeps them at
its start (issue 11, finding 16)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from podsight.pipeline.asr import IN_USE, STALE_AFTER_S, speech_to_text, sweep_stale_audio


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


def test_alone_in_the_folder_the_stage_removes_every_leftover(settings, store, audio_dir):
    old = leftover(audio_dir, "asr-k1ll3d", age_s=STALE_AFTER_S + 60, size=2_000_000)
    pieces = leftover(audio_dir, "podsight-asr-x9", age_s=2 * STALE_AFTER_S)
    recent = leftover(audio_dir, "asr-b", age_s=30)  # killed a minute ago, rerun at once
    assert speech_to_text(store, settings) == {"transcribed": 0, "errors": 0}  # no episode waits: still swept
    assert not old.exists() and not pieces.exists() and not recent.exists()
    assert (audio_dir / "notes.txt").exists()


def test_while_another_worker_transcribes_its_fresh_files_are_spared(settings, store, audio_dir):
    holder = subprocess.Popen([sys.executable, "-c", (  # a worker in another process, mid-episode
        "import fcntl, sys, time\n"
        f"handle = open({str(audio_dir / IN_USE)!r}, 'w')\n"
        "fcntl.flock(handle, fcntl.LOCK_SH)\n"
        "print('working', flush=True)\n"
        "time.sleep(30)\n")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "working"
        theirs = leftover(audio_dir, "asr-theirs", age_s=5)
        dead = leftover(audio_dir, "asr-dead", age_s=STALE_AFTER_S + 5)
        speech_to_text(store, settings)
        assert theirs.exists() and not dead.exists()
    finally:
        holder.kill()
        holder.wait()


def test_nothing_to_sweep_is_fine(tmp_path):
    assert sweep_stale_audio(tmp_path / "missing", everything=True) == 0
