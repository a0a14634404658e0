"""The overall deadlines reach every fetch the pipeline makes: a server that trickles one byte every 0.2 s
(never idle long enough for the read timeout) costs one feed, one episode or one delivery the deadline's
worth of time, stored as that item's error, and everything else goes on. Real servers on 127.0.0.1:
`serve` (tests/servers.py) for healthy answers, a raw socket server here for the trickles."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import pytest
from seeding import seed_insights, subscriber
from servers import Static, serve, serve_raw
from servers import trickle as trickle_for
from sqlalchemy import select
from typer.testing import CliRunner

from podsight.cli import app
from podsight.errors import FetchError
from podsight.digest.webhook import WebhookUnavailable, post_digest
from podsight.feeds import poll
from podsight.pipeline import run
from podsight.pipeline import asr as asr_stage
from podsight.records import Digest, DigestItem
from podsight.store.models import Delivery, Episode, Feed
from podsight.store.queries import add_feed

NOW = datetime.now(timezone.utc)
DEADLINE_S = 1.5
RSS = "application/rss+xml"
TRICKLE_FOR_S = 8.0  # long past the deadline, short enough that the code without deadlines fails quickly


# --- a trickling server ---------------------------------------------------------------------------

def trickle(head: bytes, drip: bytes, every_s: float = 0.2) -> Callable[[socket.socket], None]:
    """The suite's trickling answer, for TRICKLE_FOR_S."""
    return trickle_for(head, drip, every_s, TRICKLE_FOR_S)


SLOW_FEED = trickle(b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nContent-Length: 100000\r\n\r\n",
                    b"<rss><channel><title>slow</title>")
SLOW_HEADERS = trickle(b"HTTP/1.1 200 OK\r\n", b"X-Padding: aaaaaaaaaaaaaaaaaaaaaaaa\r\n")
SLOW_AUDIO = trickle(b"HTTP/1.1 200 OK\r\nContent-Type: audio/mpeg\r\nContent-Length: 1000000\r\n\r\n", b"\xff")


@pytest.fixture
def quick(settings):
    """Settings whose read timeout a byte every 0.2 s never trips, with a short overall deadline."""
    settings.fetch_timeout_s = 1.0
    settings.fetch_deadline_s = DEADLINE_S
    settings.asr_download_deadline_s = DEADLINE_S
    return settings


def item(n: int, transcript: str | None = None, audio: str = "http://127.0.0.1:1/a.mp3") -> str:
    published = (NOW - timedelta(hours=n)).strftime("%a, %d %b %Y %H:%M:%S +0000")
    tr = f'<podcast:transcript url="{transcript}" type="text/vtt"/>' if transcript else ""
    return (f"<item><title>Episode {n}</title><guid>ep-{n}</guid><pubDate>{published}</pubDate>"
            f'<enclosure url="{audio}" type="audio/mpeg" length="1"/>{tr}</item>')


def rss(title: str, *items: str) -> str:
    return ('<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" '
            f'xmlns:podcast="https://podcastindex.org/namespace/1.0"><channel><title>{title}</title>'
            + "".join(items) + "</channel></rss>")


def assert_deadline(message: str | None) -> None:
    assert message and f"passed its {DEADLINE_S:g} s deadline" in message, message


# --- feeds ----------------------------------------------------------------------------------------

def test_a_trickling_feed_fails_at_the_deadline_and_the_healthy_one_is_stored(quick, store):
    with serve({"/good.xml": Static(body=rss("Good Show", item(1)), headers={"Content-Type": RSS})}) as good, \
            serve_raw(SLOW_FEED) as slow:
        with store.session() as session:
            add_feed(session, good + "/good.xml")
            add_feed(session, slow + "/feed.xml")
        started = time.monotonic()
        summary = run(store, quick, stages=("scan",), now=NOW)
        took = time.monotonic() - started
    with store.session() as session:
        feeds = {f.url: f for f in session.scalars(select(Feed))}
        episodes = list(session.scalars(select(Episode.title)))
    assert took < DEADLINE_S + 3
    assert summary["scan"]["errors"] == 1
    stalled = feeds[slow + "/feed.xml"]
    assert_deadline(stalled.last_error)
    assert stalled.consecutive_errors == 1 and stalled.next_check_at > NOW
    healthy = feeds[good + "/good.xml"]
    assert healthy.last_error is None and healthy.title == "Good Show"
    assert episodes == ["Episode 1"]


def test_the_deadline_reaches_feeds_polled_in_a_worker_process(monkeypatch):
    monkeypatch.setattr(poll, "PROCESS_POOL_MIN_FEEDS", 2)
    monkeypatch.setattr(poll, "_usable_cores", lambda: 2)
    with serve({"/good.xml": Static(body=rss("Good Show", item(1)), headers={"Content-Type": RSS})}) as good, \
            serve_raw(SLOW_HEADERS) as slow:
        # two feeds on the good host, so this process polls them and the worker gets the slow one
        requests = [poll.PollRequest(1, good + "/good.xml"), poll.PollRequest(2, good + "/good.xml?again"),
                    poll.PollRequest(3, slow + "/feed.xml")]
        results = poll.poll_feeds_sync(requests, user_agent="podsight-test", timeout_s=1.0, max_bytes=1_000_000,
                                       per_host_limit=2, max_concurrency=8, max_redirects=5, deadline_s=DEADLINE_S,
                                       allow_private=True)
    assert [r.outcome for r in results] == ["updated", "updated", "error"]
    assert_deadline(results[2].error)


def test_importing_opml_from_a_trickling_url_stops_at_the_deadline(settings, monkeypatch):
    monkeypatch.chdir(settings.home.parent)  # no stray podsight.toml
    monkeypatch.setenv("PODSIGHT_FETCH_TIMEOUT_S", "1")
    monkeypatch.setenv("PODSIGHT_FETCH_DEADLINE_S", str(DEADLINE_S))
    monkeypatch.setenv("PODSIGHT_SECRET_KEY", "test-secret")
    monkeypatch.setenv("PODSIGHT_ALLOW_PRIVATE_ADDRESSES", "true")  # served on 127.0.0.1
    with serve_raw(SLOW_HEADERS) as slow:
        started = time.monotonic()
        result = CliRunner().invoke(app, ["--home", str(settings.home), "feeds", "import-opml", slow + "/subs.opml"],
                                    terminal_width=200)
        took = time.monotonic() - started
    assert result.exit_code != 0
    assert isinstance(result.exception, FetchError)  # `podsight` prints it as one "error:" line
    assert_deadline(str(result.exception))
    assert took < DEADLINE_S + 3


# --- transcripts and audio ------------------------------------------------------------------------

def test_a_trickling_transcript_link_fails_its_episode_at_the_deadline(quick, store):
    table: dict = {}
    with serve(table) as good, serve_raw(SLOW_HEADERS) as slow:
        table["/good.xml"] = Static(body=rss("Good Show", item(1, slow + "/t1.vtt"), item(2, good + "/t2.vtt")),
                                    headers={"Content-Type": RSS})
        table["/t2.vtt"] = Static(body="WEBVTT\n\n00:00:00.000 --> 00:00:04.000\nHello there.\n",
                                  headers={"Content-Type": "text/vtt"})
        with store.session() as session:
            add_feed(session, good + "/good.xml")
        run(store, quick, stages=("scan",), now=NOW)
        started = time.monotonic()
        summary = run(store, quick, stages=("transcripts",), now=NOW)
        took = time.monotonic() - started
    with store.session() as session:
        episodes = {e.title: e for e in session.scalars(select(Episode))}
    assert took < DEADLINE_S + 3
    assert summary["transcripts"]["errors"] == 1
    stalled = episodes["Episode 1"]
    assert stalled.state == "new" and stalled.attempts == 1
    assert stalled.last_error.startswith(f"transcript: {slow}/t1.vtt: ")
    assert_deadline(stalled.last_error)
    assert episodes["Episode 2"].state == "transcribed"


class NeverCalled:
    """A transcriber the download never reaches."""

    def transcribe(self, path, **options):
        raise AssertionError("the audio download should have failed")


def test_a_trickling_audio_download_fails_its_episode_at_the_deadline(quick, store, monkeypatch):
    monkeypatch.setattr(asr_stage, "transcriber_for", lambda settings: NeverCalled())
    with serve_raw(SLOW_AUDIO) as slow:
        with store.session() as session:
            feed = Feed(url="https://shows.example/feed.xml", title="Show")
            session.add(feed)
            session.flush()
            session.add(Episode(feed_id=feed.id, key="ep-1", title="Episode 1", state="needs_asr",
                                audio_url=slow + "/ep1.mp3"))
        started = time.monotonic()
        summary = run(store, quick, stages=("asr",), now=NOW)
        took = time.monotonic() - started
    with store.session() as session:
        episode = session.scalar(select(Episode))
    assert took < DEADLINE_S + 3
    assert summary["asr"]["errors"] == 1
    assert episode.state == "needs_asr" and episode.attempts == 1
    assert episode.last_error.startswith("speech-to-text: ")
    assert_deadline(episode.last_error)


# --- webhooks -------------------------------------------------------------------------------------

WEBHOOK_NOW = datetime(2026, 6, 3, 6, 0, tzinfo=timezone.utc)  # 08:00 in Paris, after the 07:00 send hour
SLOW_ANSWER = trickle(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 100000\r\n\r\n", b"o")


def digest() -> Digest:
    one = DigestItem(insight_id=1, claim="Electric buses now beat diesel on cost.", why="Cities can switch.",
                     quote="Battery pack prices fell by about ninety percent", speaker="Bo Guest", kind="data_point",
                     start_s=65.0, show_title="Transit Talk", episode_title="Buses", episode_url=None, score=1.0)
    return Digest(subscriber_email="reader@example.com", day="2026-06-03", items=(one,))


@pytest.mark.parametrize("talk", [SLOW_HEADERS, SLOW_ANSWER], ids=["headers", "body"])
def test_a_trickling_webhook_is_given_up_on_at_the_deadline(talk):
    with serve_raw(talk) as slow:
        started = time.monotonic()
        with pytest.raises(WebhookUnavailable, match=f"passed its {DEADLINE_S:g} s deadline") as caught:
            post_digest(slow + "/services/T0/B0/secret", digest(), timeout_s=1.0, deadline_s=DEADLINE_S,
                        allow_private=True)
        took = time.monotonic() - started
    assert 1.4 < took < DEADLINE_S + 1.5
    assert "secret" not in str(caught.value)  # the URL's secret path never reaches an error message


def test_a_trickling_webhook_fails_the_delivery_with_a_readable_error(settings, store, monkeypatch):
    monkeypatch.setattr("podsight.digest.webhook.POST_DEADLINE_S", DEADLINE_S, raising=False)
    settings.fetch_timeout_s = 1.0
    settings.max_episode_age_days = 30
    seed_insights(store, 6, first_seen=WEBHOOK_NOW - timedelta(days=1))
    with serve_raw(SLOW_ANSWER) as slow:
        subscriber(store, "reader@example.com", "Europe/Paris", 7, webhook_url=slow + "/hook", email_enabled=False)
        started = time.monotonic()
        run(store, settings, now=WEBHOOK_NOW, stages=("digests", "deliver"))
        took = time.monotonic() - started
    with store.session() as session:
        rows = {d.channel: d for d in session.scalars(select(Delivery))}
    assert took < DEADLINE_S + 5
    webhook = rows["webhook"]
    assert webhook.status == "pending" and webhook.attempts == 1  # worth a retry, with backoff
    assert_deadline(webhook.last_error)
    assert webhook.last_error.startswith("webhook http://127.0.0.1/… gave up: ")  # no secret path shown
    assert rows["file"].status == "sent"
