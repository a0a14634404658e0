"""The demo feeds, transcripts and audio, checked over real HTTP with independent parsers (lxml, json, srt,
webvtt, PyAV).

Deliberately does not use podsight.feeds / podsight.transcripts: this is the ground truth they are
tested against.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import socket
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path

import av
import pytest
import srt
import webvtt
from lxml import etree, html

from podsight.demo import DemoServer, DemoServerError
from podsight.demo.audio import AUDIO_DIR, stale_audio
from podsight.demo.build_content import stale_files

NS = {
    "itunes": "http://www.itunes.com/dtds/podcast-1.0.dtd",
    "podcast": "https://podcastindex.org/namespace/1.0",
}
EXPECTED_ITEMS = {"Tokens and Tradeoffs": 3, "The Rested Mind": 3, "Ledger Lines": 2}
CLAIMS_FILE = Path(__file__).parent.parent / "podsight" / "demo" / "content" / "claims.json"
AUDIO_ONLY = {"productivity-paradox", "pricing-power"}  # Ledger Lines publishes no transcripts
FIXED_NOW = datetime(2025, 3, 14, 9, 26, tzinfo=timezone.utc)


def fetch(url: str, headers: dict[str, str] | None = None, method: str = "GET") -> tuple[int, dict, bytes]:
    """(status, headers, body) without raising on 304/404."""
    request = urllib.request.Request(url, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


@pytest.fixture(scope="module")
def server():
    with DemoServer() as running:
        yield running


@pytest.fixture(scope="module")
def feeds(server) -> dict[str, etree._Element]:
    """Feed title -> parsed channel element."""
    channels = {}
    for url in server.feed_urls:
        status, headers, body = fetch(url)
        assert status == 200, url
        assert headers["Content-Type"].startswith("application/rss+xml")
        channel = etree.fromstring(body).find("channel")
        channels[channel.findtext("title")] = channel
    return channels


def items(feeds) -> list[etree._Element]:
    return [item for channel in feeds.values() for item in channel.findall("item")]


def transcript_links(feeds) -> list[tuple[str, str, str]]:
    """(episode title, url, declared type) for every podcast:transcript."""
    return [
        (item.findtext("title"), link.get("url"), link.get("type"))
        for item in items(feeds)
        for link in item.findall("podcast:transcript", NS)
    ]


def spoken_text(mime: str, body: bytes) -> str:
    """The words of a transcript, speakers and timings removed, whitespace normalized."""
    text = body.decode("utf-8")
    if mime == "text/vtt":
        parts = [caption.text for caption in webvtt.from_buffer(io.StringIO(text)).captions]
    elif mime == "application/x-subrip":
        parts = [subtitle.content.split(": ", 1)[1] for subtitle in srt.parse(text)]
    elif mime == "application/json":
        parts = [segment["body"] for segment in json.loads(text)["segments"]]
    elif mime == "text/html":
        parts = [p.text_content() for p in html.fromstring(body).iter("p")]
    else:
        parts = [paragraph.split(": ", 1)[1] for paragraph in text.split("\n\n") if paragraph.strip()]
    return " ".join(" ".join(parts).split())


@pytest.fixture(scope="module")
def transcripts(server, feeds) -> dict[str, list[tuple[str, str]]]:
    """Episode title -> [(mime, spoken text)] for every transcript it links."""
    texts: dict[str, list[tuple[str, str]]] = {}
    for title, url, mime in transcript_links(feeds):
        status, _headers, body = fetch(url)
        assert status == 200, url
        texts.setdefault(title, []).append((mime, spoken_text(mime, body)))
    return texts


def test_every_feed_is_rss_with_the_expected_items(feeds):
    assert {title: len(channel.findall("item")) for title, channel in feeds.items()} == EXPECTED_ITEMS
    for channel in feeds.values():
        assert channel.findtext("description")
        assert channel.findtext("itunes:author", namespaces=NS)
        assert channel.find("podcast:person[@role='host']", NS) is not None


def test_every_item_has_identity_dates_audio_and_a_guest(server, feeds):
    guids = set()
    for item in items(feeds):
        guids.add(item.findtext("guid"))
        published = parsedate_to_datetime(item.findtext("pubDate"))
        assert datetime.now(timezone.utc) - timedelta(days=3) < published < datetime.now(timezone.utc)
        enclosure = item.find("enclosure")
        assert enclosure.get("url").startswith(server.base_url + "/audio/")
        assert int(enclosure.get("length")) > 0 and enclosure.get("type") == "audio/mpeg"
        assert re.fullmatch(r"\d\d:\d\d:\d\d", item.findtext("itunes:duration", namespaces=NS))
        assert item.find("podcast:person[@role='guest']", NS).text
    assert len(guids) == 8


def test_six_episodes_have_transcripts_and_ledger_lines_is_audio_only(feeds):
    with_links = [item for item in items(feeds) if item.findall("podcast:transcript", NS)]
    assert len(with_links) == 6
    assert not feeds["Ledger Lines"].findall("item/podcast:transcript", NS)
    declared = {mime for _title, _url, mime in transcript_links(feeds)}
    assert declared == {"text/vtt", "application/x-subrip", "application/json", "text/html", "text/plain"}


def test_every_transcript_link_resolves_with_its_content_type(feeds):
    for _title, url, mime in transcript_links(feeds):
        status, headers, body = fetch(url)
        assert status == 200 and body, url
        assert headers["Content-Type"].split(";")[0] == mime
        assert headers["ETag"] and headers["Last-Modified"]


def test_formats_carry_speakers_the_way_publishers_write_them(server):
    vtt = fetch(server.base_url + "/transcripts/ai-assistants-productivity.vtt")[2].decode()
    assert all(caption.voice for caption in webvtt.from_buffer(io.StringIO(vtt)).captions)
    srt_text = fetch(server.base_url + "/transcripts/ai-assistants-productivity.srt")[2].decode()
    assert all(re.match(r"^[^:]+: ", subtitle.content) for subtitle in srt.parse(srt_text))
    page = html.fromstring(fetch(server.base_url + "/transcripts/on-call-hangover.html")[2])
    assert len(page.findall(".//cite")) == len(page.findall(".//time")) == len(page.findall(".//p")) > 10
    segments = json.loads(fetch(server.base_url + "/transcripts/small-models-laptop.json")[2])["segments"]
    assert {"speaker", "startTime", "endTime", "body"} <= set(segments[0])


def test_timings_are_ordered_and_about_150_words_a_minute(server, feeds):
    durations = {item.findtext("title"): item.findtext("itunes:duration", namespaces=NS) for item in items(feeds)}
    for title, url, mime in transcript_links(feeds):
        if mime != "application/json":
            continue
        segments = json.loads(fetch(url)[2])["segments"]
        starts = [segment["startTime"] for segment in segments]
        assert starts == sorted(starts) and all(s["endTime"] > s["startTime"] for s in segments)
        words = sum(len(segment["body"].split()) for segment in segments)
        minutes = (segments[-1]["endTime"] - segments[0]["startTime"]) / 60
        assert 130 <= words / minutes <= 160
        hours, mins, secs = map(int, durations[title].split(":"))
        assert 0 <= hours * 3600 + mins * 60 + secs - segments[-1]["endTime"] <= 10


def test_word_counts_fit_the_demo_time_budget(transcripts):
    counts = {title: len(texts[0][1].split()) for title, texts in transcripts.items()}
    assert all(450 <= count <= 650 for count in counts.values()), counts
    assert sum(counts.values()) < 5000
    for texts in transcripts.values():  # two formats of one episode say the same words
        assert len({text for _mime, text in texts}) == 1


def test_most_episodes_have_an_intro_bio_and_a_sponsor_read(transcripts):
    spoken = [texts[0][1] for texts in transcripts.values()]
    assert sum("brought to you by" in text and "20% off" in text for text in spoken) >= 6
    assert all("welcome" in text[:600].lower() for text in spoken)


def test_planted_claims_appear_verbatim_in_every_transcript_of_their_episode(feeds, transcripts):
    claims = json.loads(CLAIMS_FILE.read_text(encoding="utf-8"))["claims"]
    assert {claim["relation"] for claim in claims} == {"corroborates", "contradicts"}
    titles = {item.findtext("guid"): item.findtext("title") for item in items(feeds)}
    for claim in claims:
        shows = {mention["show"] for mention in claim["mentions"]}
        assert len(shows) == 2, claim["topic"]  # the point is recurrence across shows
        for mention in claim["mentions"]:
            if mention["episode"] in AUDIO_ONLY:  # no transcript: the sentence must be spoken in its audio
                assert mention["audio"] == f"audio/{mention['episode']}.mp3" and not mention["transcripts"]
                assert mention["sentence"] in rendered_text(mention["episode"]), mention["sentence"]
                continue
            texts = transcripts[titles[mention["guid"]]]
            assert all(mention["sentence"] in text for _mime, text in texts), mention["sentence"]


def test_etag_and_last_modified_give_304(server):
    url = server.feed_urls[0]
    status, headers, _body = fetch(url)
    etag = headers["ETag"]
    for validator in (etag, f"W/{etag}", f'"nope", {etag}', "*"):
        status, _headers, body = fetch(url, {"If-None-Match": validator})
        assert (status, body) == (304, b""), validator
    assert fetch(url, {"If-None-Match": '"stale"'})[0] == 200
    assert fetch(url, {"If-Modified-Since": headers["Last-Modified"]})[0] == 304
    assert fetch(url, {"If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"})[0] == 200
    assert fetch(url, {"If-Modified-Since": "not a date"})[0] == 200


def test_head_sends_headers_only_and_missing_things_are_404(server):
    status, headers, body = fetch(server.feed_urls[1], method="HEAD")
    assert status == 200 and int(headers["Content-Length"]) > 1000 and body == b""
    status, _headers, body = fetch(server.base_url + "/audio/small-models-laptop.mp3")
    assert status == 404 and b"transcript" in body  # episodes with a transcript have no audio
    assert fetch(server.base_url + "/transcripts/nothing.vtt")[0] == 404
    assert fetch(server.feed_urls[0] + "?utm_source=test")[0] == 200


def test_opml_and_artwork(server):
    status, headers, body = fetch(server.opml_url)
    assert status == 200
    assert [o.get("xmlUrl") for o in etree.fromstring(body).iter("outline")] == server.feed_urls
    status, headers, body = fetch(server.base_url + "/art/the-rested-mind.png")
    assert headers["Content-Type"] == "image/png" and body.startswith(b"\x89PNG\r\n\x1a\n")


def test_same_day_restarts_serve_identical_bytes():
    def snapshot(now: datetime) -> dict[str, bytes]:
        with DemoServer(now=now) as running:
            return {url.replace(running.base_url, ""): fetch(url)[2].replace(running.base_url.encode(), b"BASE")
                    for url in running.feed_urls}

    assert snapshot(FIXED_NOW) == snapshot(FIXED_NOW.replace(hour=23, minute=59))
    assert snapshot(FIXED_NOW) != snapshot(FIXED_NOW + timedelta(days=1))


def test_pub_dates_spread_over_the_two_days_before_the_anchor():
    with DemoServer(now=FIXED_NOW) as running:
        dates = [
            parsedate_to_datetime(item.findtext("pubDate"))
            for url in running.feed_urls
            for item in etree.fromstring(fetch(url)[2]).iter("item")
        ]
    midnight = FIXED_NOW.replace(hour=0, minute=0)
    assert all(midnight - timedelta(hours=48) <= date < midnight for date in dates)
    assert len(set(dates)) == 8 and max(dates) - min(dates) > timedelta(hours=30)


def test_a_taken_port_is_a_clear_error():
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        with pytest.raises(DemoServerError, match="choose another port"):
            DemoServer(port=blocker.getsockname()[1]).start()


def test_committed_transcripts_match_their_scripts():
    assert stale_files() == [], "run: python -m podsight.demo.build_content"


# --- the audio-only episodes: real speech, served like a podcast host serves it ---


def rendered_record(slug: str) -> dict:
    """What build_audio says it spoke into `<slug>.mp3`: per-turn times, voices, size, duration."""
    return json.loads((AUDIO_DIR / f"{slug}.json").read_text(encoding="utf-8"))


def rendered_text(slug: str) -> str:
    return " ".join(turn["text"] for turn in rendered_record(slug)["turns"])


def decoded_seconds(body: bytes) -> float:
    """Length of an MP3 as a player decodes it, and a check that it is mono 16 kHz."""
    with av.open(io.BytesIO(body)) as container:
        stream = container.streams.audio[0]
        assert (container.format.name, stream.rate, stream.channels) == ("mp3", 16_000, 1)
        return sum(frame.samples for frame in container.decode(stream)) / stream.rate


@pytest.fixture(scope="module")
def audio(server, feeds) -> dict[str, tuple[etree._Element, dict, bytes]]:
    """Episode slug -> (feed item, response headers, MP3 bytes) for the audio-only episodes."""
    found = {}
    for item in feeds["Ledger Lines"].findall("item"):
        url = item.find("enclosure").get("url")
        status, headers, body = fetch(url)
        assert status == 200, url
        found[url.rsplit("/", 1)[1].removesuffix(".mp3")] = (item, headers, body)
    assert set(found) == AUDIO_ONLY
    return found


def test_audio_only_episodes_serve_their_mp3_with_the_feed_s_length(audio):
    for slug, (item, headers, body) in audio.items():
        assert headers["Content-Type"] == "audio/mpeg" and headers["Accept-Ranges"] == "bytes"
        assert int(headers["Content-Length"]) == len(body) == int(item.find("enclosure").get("length"))
        assert 300_000 < len(body) < 1_000_000, slug  # 24 kbit/s keeps the repository small
        status, head_headers, head_body = fetch(item.find("enclosure").get("url"), method="HEAD")
        assert (status, head_body, head_headers["Content-Length"]) == (200, b"", headers["Content-Length"])


def test_audio_lasts_as_long_as_its_script_takes_to_say(audio):
    for slug, (item, _headers, body) in audio.items():
        seconds = decoded_seconds(body)
        hours, minutes, secs = map(int, item.findtext("itunes:duration", namespaces=NS).split(":"))
        assert 0 <= hours * 3600 + minutes * 60 + secs - seconds < 1, slug  # whole seconds, rounded up
        words = len(rendered_text(slug).split())
        assert 450 <= words <= 600 and 135 <= words / (seconds / 60) <= 165, (slug, words, seconds)
        assert abs(rendered_record(slug)["duration_s"] - seconds) < 0.05


def test_rendered_turns_follow_the_script_with_a_voice_per_speaker(audio):
    host_voices = set()
    for slug, (_item, _headers, body) in audio.items():
        record = rendered_record(slug)
        turns = record["turns"]
        assert turns[0]["speaker"] == "Daniel Reyes" and "welcome" in turns[0]["text"].lower()
        voices = {turn["speaker"]: turn["voice"] for turn in turns}
        assert len(voices) == 2 and len(set(voices.values())) == 2  # one voice each, never shared
        assert all(turn["start_s"] < turn["end_s"] for turn in turns)
        gaps = [later["start_s"] - earlier["end_s"] for earlier, later in zip(turns, turns[1:])]
        assert all(0.4 <= gap <= 1.0 for gap in gaps), slug  # a short pause between turns
        assert turns[-1]["end_s"] < decoded_seconds(body) <= turns[-1]["end_s"] + 2
        host_voices.add(voices["Daniel Reyes"])
    assert len(host_voices) == 1  # the host sounds the same in both episodes


def test_range_requests_resume_a_download(server, audio):
    url = server.base_url + "/audio/pricing-power.mp3"
    whole = audio["pricing-power"][2]
    size = len(whole)
    status, headers, first = fetch(url, {"Range": "bytes=0-99999"})
    assert (status, headers["Content-Range"], len(first)) == (206, f"bytes 0-99999/{size}", 100_000)
    status, headers, rest = fetch(url, {"Range": "bytes=100000-"})
    assert (status, headers["Content-Range"]) == (206, f"bytes 100000-{size - 1}/{size}")
    assert int(headers["Content-Length"]) == len(rest) and first + rest == whole
    status, headers, tail = fetch(url, {"Range": "bytes=-10"})
    assert (status, tail) == (206, whole[-10:])
    assert fetch(url, {"Range": f"bytes=0-{size * 2}"})[2] == whole  # clipped to the end


def test_range_edge_cases_follow_rfc_9110(server, audio):
    url = server.base_url + "/audio/pricing-power.mp3"
    whole = audio["pricing-power"][2]
    size, etag = len(whole), audio["pricing-power"][1]["ETag"]
    status, headers, body = fetch(url, {"Range": f"bytes={size}-"})
    assert (status, headers["Content-Range"], body) == (416, f"bytes */{size}", b"")
    assert fetch(url, {"Range": "bytes=0-1,5-9"})[0:3:2] == (200, whole)  # several ranges: the whole file
    assert fetch(url, {"Range": "bytes=9-1"})[0] == 200  # malformed: ignored
    assert fetch(url, {"Range": "bytes=10-19", "If-Range": etag})[0] == 206
    assert fetch(url, {"Range": "bytes=10-19", "If-Range": '"changed"'})[0:3:2] == (200, whole)
    status, headers, body = fetch(url, {"Range": "bytes=0-9"}, method="HEAD")
    assert (status, headers["Content-Length"], body) == (206, "10", b"")


def test_check_catches_audio_that_no_longer_matches_its_record_or_script(tmp_path):
    copy = tmp_path / "audio"
    shutil.copytree(AUDIO_DIR, copy)
    assert stale_audio(copy) == []
    mp3 = copy / "pricing-power.mp3"
    mp3.write_bytes(mp3.read_bytes()[:-1000])
    record = json.loads((copy / "productivity-paradox.json").read_text(encoding="utf-8"))
    record["turns"][1]["text"] = "Something the script never said."
    (copy / "productivity-paradox.json").write_text(json.dumps(record), encoding="utf-8")
    assert stale_audio(copy) == [
        "audio/productivity-paradox.mp3 (source/productivity-paradox.txt changed since its audio was rendered)",
        "audio/pricing-power.mp3 (pricing-power.mp3 is not the file its record describes)",
    ]
    mp3.unlink()
    assert "audio/pricing-power.mp3 (missing)" in stale_audio(copy)
