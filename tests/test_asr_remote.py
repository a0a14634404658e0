"""Speech-to-text through an OpenAI-compatible endpoint: a real server on loopback (tests/
transcription_server.py) that transcribes uploads with the embedded Whisper tiny.en, fed the real spoken
clip whole and cut into pieces under a tiny upload limit."""

from __future__ import annotations

import contextlib
import re
import shutil
import time
import wave
from pathlib import Path

import numpy as np
import pytest
from conftest import free_port
from transcription_server import TranscriptionServer

from podsight.asr import TranscriptionError, load_transcriber, probe_duration
from podsight.asr.metrics import word_error_rate
from podsight.asr.remote import OpenAITranscriber
from podsight.asr.split import split_on_silence

AUDIO_DIR = Path(__file__).parent / "data" / "audio"
CLIP = AUDIO_DIR / "clip.mp3"
SCRIPT = (AUDIO_DIR / "clip.txt").read_text(encoding="utf-8")
KEY = "sk-test-123"
TINY_LIMIT = 28_000  # bytes: the 47 kB clip must go up in pieces of about 3 s

pytestmark = pytest.mark.slow  # a real Whisper model transcribes every upload


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return load_transcriber("whisper-tiny.en", tmp_path_factory.mktemp("cache"), device="cpu")


def client(server: TranscriptionServer, work_dir: Path, **options) -> OpenAITranscriber:
    defaults = {"api_key": KEY, "backoff_s": 0.01, "timeout_s": 30.0, "work_dir": work_dir}
    return OpenAITranscriber(server.base_url, **(defaults | options))


@pytest.fixture(scope="module")
def whole(tiny, tmp_path_factory):
    """The clip uploaded as it is, and what the server saw."""
    with TranscriptionServer(tiny, api_key=KEY) as server:
        result = client(server, tmp_path_factory.mktemp("work")).transcribe(CLIP)
    return result, server.requests


def segment_with(result, word: str):
    return next(segment for segment in result.segments if word in segment.text.lower())


def test_a_small_file_goes_up_as_it_is(whole):
    result, requests = whole
    assert word_error_rate(SCRIPT, result.text) <= 0.2
    assert len(requests) == 1 and requests[0].file_name == "clip.mp3"
    assert requests[0].file_size == CLIP.stat().st_size
    assert requests[0].fields["model"] == ["whisper-1"]
    assert requests[0].fields["response_format"] == ["verbose_json"]
    assert requests[0].fields["timestamp_granularities[]"] == ["segment"]
    assert requests[0].headers["authorization"] == f"Bearer {KEY}"
    assert result.language == "en"  # the server said "english"
    assert result.model == "openai:whisper-1" and result.options["pieces"] == 1
    assert result.duration_s == pytest.approx(11.6, abs=0.1)


def test_a_file_over_the_limit_is_cut_in_pauses_and_stitched(tiny, whole, tmp_path):
    calls: list[tuple[float, float]] = []
    with TranscriptionServer(tiny, api_key=KEY, max_upload_bytes=TINY_LIMIT) as server:
        transcriber = client(server, tmp_path, max_upload_bytes=TINY_LIMIT)
        result = transcriber.transcribe(CLIP, language="en-US", progress=lambda *p: calls.append(p))
    assert len(server.requests) >= 3 and result.options["pieces"] == len(server.requests)
    assert all(request.size < TINY_LIMIT for request in server.requests)
    assert all(request.fields["language"] == ["en"] for request in server.requests)
    assert word_error_rate(SCRIPT, result.text) <= 0.25  # no word was cut in two
    times = [t for segment in result.segments for t in (segment.start, segment.end)]
    assert times == sorted(times) and all(s.start < s.end for s in result.segments)
    assert 0 <= times[0] and times[-1] <= result.duration_s
    # the pieces' times were shifted back into place: each phrase's segment overlaps the one the whole-file
    # run put it in, and a late phrase ends where it did there (without the shift it would be near 0 s)
    for word in ("city", "rooftop", "family"):
        piece, reference = segment_with(result, word), segment_with(whole[0], word)
        assert piece.start < reference.end and reference.start < piece.end, (piece, reference)
    late, reference = segment_with(result, "family"), segment_with(whole[0], "family")
    assert late.start > 5.0 and late.end == pytest.approx(reference.end, abs=2.0)
    assert len(calls) == len(server.requests) + 1 and calls[-1] == (result.duration_s, result.duration_s)
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)
    assert list(tmp_path.iterdir()) == []  # pieces deleted


def test_pieces_fall_in_the_pauses_and_cover_the_audio_once(tmp_path):
    total = probe_duration(CLIP)
    with contextlib.closing(split_on_silence(CLIP, tmp_path, total_s=total, max_piece_s=4.0)) as pieces:
        found = [(piece.start_s, piece.duration_s, probe_duration(piece.path)) for piece in pieces]
    assert len(found) >= 3 and list(tmp_path.iterdir()) == []
    assert sum(duration for _, duration, _ in found) == pytest.approx(total, abs=0.15)  # probe counts padding
    assert all(encoded == pytest.approx(duration, abs=0.15) and duration <= 4.0 for _, duration, encoded in found)
    # Silero hears two pauses between sentences (1.63-2.02 s and 5.82-6.11 s); a cut near one lands in it
    cuts = [start for start, _, _ in found[1:]]
    pauses = ((1.63, 2.02), (5.82, 6.11))
    for low, high in pauses:
        near = [cut for cut in cuts if low - 1.0 < cut < high + 1.0]
        assert all(low <= cut <= high for cut in near), cuts
    assert any(low <= cut <= high for cut in cuts for low, high in pauses), cuts


def test_long_audio_is_shared_evenly_and_every_cut_is_in_a_pause(tmp_path):
    """40 s of 0.8 s noise bursts, each followed by 0.2 s of silence."""
    source = tmp_path / "bursts.wav"
    burst = (np.random.default_rng(0).standard_normal(12_800) * 3000).astype(np.int16)
    with wave.open(str(source), "wb") as out:
        out.setnchannels(1), out.setsampwidth(2), out.setframerate(16_000)
        out.writeframes(np.concatenate([burst, np.zeros(3_200, np.int16)] * 40).tobytes())
    work = tmp_path / "work"
    work.mkdir()
    with contextlib.closing(split_on_silence(source, work, total_s=40.0, max_piece_s=9.0)) as pieces:
        found = [(piece.start_s, piece.duration_s) for piece in pieces]
    assert len(found) == 5  # the fewest that fit, of about equal length
    assert all(6.5 <= duration <= 9.0 for _, duration in found), found
    assert all(0.8 <= start % 1.0 <= 1.0 for start, _ in found[1:]), found


@pytest.mark.parametrize("options", [{"max_upload_bytes": 10_000}, {"max_piece_s": 1.0}])
def test_limits_too_small_for_any_audio_are_refused(options):
    with pytest.raises(TranscriptionError, match="under 2 s of audio per upload; raise PODSIGHT_ASR_MAX_UPLOAD_MB"):
        OpenAITranscriber("http://127.0.0.1:9/v1", api_key=KEY, **options)


def test_a_base_url_without_a_scheme_says_so():
    transcriber = OpenAITranscriber("localhost:8000/v1", api_key=KEY, backoff_s=0.01)
    with pytest.raises(TranscriptionError, match="not usable .*check the base URL"):
        transcriber.transcribe(CLIP)


def test_a_server_too_slow_to_answer_is_a_timeout(tiny, tmp_path):
    def stall():
        time.sleep(1.0)
        return 200, {"text": "too late"}

    with TranscriptionServer(tiny, api_key=KEY, script=[stall]) as server:
        with pytest.raises(TranscriptionError, match="did not answer within 0.2 s"):
            client(server, tmp_path, timeout_s=0.2).transcribe(CLIP)


def test_a_wrong_key_says_so(tiny, tmp_path):
    with TranscriptionServer(tiny, api_key=KEY) as server:
        with pytest.raises(TranscriptionError, match="refused the API key.*Incorrect API key"):
            client(server, tmp_path, api_key="sk-wrong").transcribe(CLIP)


def test_a_server_that_is_gone_is_reported_and_leaves_no_files(tmp_path):
    transcriber = OpenAITranscriber(f"http://127.0.0.1:{free_port()}/v1", api_key=KEY, backoff_s=0.01,
                                    max_upload_bytes=TINY_LIMIT, work_dir=tmp_path)
    with pytest.raises(TranscriptionError, match="cannot reach the speech endpoint .*is the server running"):
        transcriber.transcribe(CLIP)
    assert list(tmp_path.iterdir()) == []


def test_a_busy_server_is_retried(tiny, tmp_path):
    busy = (503, {"error": {"message": "The server is overloaded", "type": "server_error"}})
    with TranscriptionServer(tiny, api_key=KEY, script=[busy]) as server:
        result = client(server, tmp_path).transcribe(CLIP)
    assert len(server.requests) == 2 and server.requests[1].file_size == CLIP.stat().st_size
    assert word_error_rate(SCRIPT, result.text) <= 0.2


def test_a_server_that_stays_busy_gives_up_with_its_message(tiny, tmp_path):
    busy = (503, {"error": {"message": "The server is overloaded", "type": "server_error"}})
    with TranscriptionServer(tiny, api_key=KEY, script=[busy] * 3) as server:
        with pytest.raises(TranscriptionError, match="HTTP 503: The server is overloaded"):
            client(server, tmp_path, retries=2).transcribe(CLIP)
    assert len(server.requests) == 3


@pytest.mark.parametrize("answer", [(200, b'{"text": "Welcome back'), (200, b"[]"), (200, "Welcome back")])
def test_an_answer_that_is_not_a_transcription_is_an_error(tiny, tmp_path, answer):
    with TranscriptionServer(tiny, api_key=KEY, script=[answer]) as server:
        with pytest.raises(TranscriptionError, match="did not return a transcription .*OpenAI-compatible /v1"):
            client(server, tmp_path).transcribe(CLIP)


def test_a_server_that_sends_only_text_gives_one_segment_per_piece(tiny, tmp_path):
    with TranscriptionServer(tiny, api_key=KEY, verbose=False) as server:  # pieces for a model's length limit
        result = client(server, tmp_path, max_piece_s=7.0).transcribe(CLIP)
    assert len(result.segments) == len(server.requests) == 2
    assert result.segments[0].start == 0 and result.segments[-1].end == pytest.approx(result.duration_s, abs=0.15)
    assert all(a.end == b.start for a, b in zip(result.segments, result.segments[1:]))
    assert word_error_rate(SCRIPT, result.text) <= 0.25
    assert result.language == "en"  # nothing detected: the default


def test_a_format_the_api_does_not_take_is_re_encoded(tiny, tmp_path):
    odd = tmp_path / "episode.audio"  # what download_audio names an enclosure with no known suffix
    shutil.copy(CLIP, odd)
    work = tmp_path / "work"
    with TranscriptionServer(tiny, api_key=KEY) as server:
        result = client(server, work).transcribe(odd)
    assert [request.file_name for request in server.requests] == ["piece-0000.mp3"]
    assert word_error_rate(SCRIPT, result.text) <= 0.2
    assert list(work.iterdir()) == []


@pytest.mark.parametrize("status, message", [(404, "check the base URL"), (413, "too large")])
def test_http_errors_name_the_fix(tiny, tmp_path, status, message):
    answer = (status, {"error": {"message": "nope", "type": "invalid_request_error"}})
    with TranscriptionServer(tiny, api_key=KEY, script=[answer]) as server:
        with pytest.raises(TranscriptionError, match=re.escape(message)):
            client(server, tmp_path).transcribe(CLIP)


def test_a_limit_larger_than_the_servers_gives_the_413_fix(tiny, tmp_path):
    with TranscriptionServer(tiny, api_key=KEY, max_upload_bytes=TINY_LIMIT) as server:
        with pytest.raises(TranscriptionError, match="too large.*Maximum content size limit"):
            client(server, tmp_path).transcribe(CLIP)  # the client believes 25 MB is fine
