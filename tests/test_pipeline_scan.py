"""The scan and transcript stages against real HTTP servers on 127.0.0.1: every failure is stored on its
feed or episode, the others go on, and a rerun completes what was left."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

from servers import Static, hang, redirect, serve
import pytest
from sqlalchemy import select

from podsight.store.report import status_report
from podsight.pipeline import run
from podsight.store.models import Episode, Feed, TranscriptSegment
from podsight.store.queries import add_feed

pytestmark = pytest.mark.both_backends  # SQLite and a real PostgreSQL (tests/conftest.py)

NOW = datetime.now(timezone.utc)
RSS = "application/rss+xml"
VTT = """WEBVTT

00:00:00.000 --> 00:00:04.000
<v Ada Host>Welcome back to the show.

00:00:04.000 --> 00:00:09.000
<v Bo Guest>Battery prices fell by ninety percent in a decade, and that changes everything.
"""


def item(n: int, transcript: str | None = None, ttype: str = "text/vtt", guid: str | None = None) -> str:
    published = format_datetime(NOW - timedelta(hours=n))
    tr = f'<podcast:transcript url="{transcript}" type="{ttype}"/>' if transcript else ""
    return (
        f"<item><title>Episode {n}</title><guid>{guid or f'ep-{n}'}</guid><pubDate>{published}</pubDate>"
        f'<enclosure url="http://127.0.0.1:1/audio{n}.mp3" type="audio/mpeg" length="1"/>{tr}</item>'
    )


def rss(*items: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" '
        'xmlns:podcast="https://podcastindex.org/namespace/1.0"><channel><title>Good Show</title>'
        + "".join(items) + "</channel></rss>"
    )


def routes(base: str) -> dict:
    good = rss(
        item(1, f"{base}/t1.vtt"),
        item(2, f"{base}/t2.ass", "text/x-ssa"),
        item(3),
    )
    return {
        "/good.xml": Static(body=good, headers={"Content-Type": RSS}, etag='"g1"'),
        "/t1.vtt": Static(body=VTT, headers={"Content-Type": "text/vtt"}),
        "/t2.ass": Static(body="[Script Info]\nTitle: x\n[Events]\nDialogue: 0,0:00:01.00,0:00:03.00,Default,,0,0,0,,Hi", headers={"Content-Type": "text/x-ssa"}),
        "/malformed.xml": Static(body=b"<?xml version=\"1.0\"?>\n{\"this is\": not xml <<", headers={"Content-Type": RSS}),
        "/page.html": Static(body="<!doctype html><html><body><h1>Hi</h1></body></html>", headers={"Content-Type": "text/html"}),
        "/huge.xml": Static(body=rss(*[item(i) for i in range(3000)]), headers={"Content-Type": RSS}),
        "/hang.xml": hang(5),
        "/loop1.xml": redirect("/loop2.xml", 302),
        "/loop2.xml": redirect("/loop1.xml", 302),
        "/gone.xml": Static(status=410),
        "/error.xml": Static(status=500),
    }


BAD = ["/malformed.xml", "/page.html", "/huge.xml", "/hang.xml", "/loop1.xml", "/gone.xml", "/error.xml", "/missing.xml"]


def test_bad_feeds_are_stored_and_good_ones_go_on(settings, store):
    settings.max_feed_bytes = 64 * 1024
    settings.fetch_timeout_s = 1.0
    table: dict = {}
    with serve(table) as base:
        table.update(routes(base))
        with store.session() as session:
            for path in ["/good.xml", *BAD]:
                add_feed(session, base + path)
        summary = run(store, settings, stages=("scan", "transcripts"), now=NOW)
        with store.session() as session:
            feeds = {f.url.removeprefix(base): f for f in session.scalars(select(Feed))}
            states = {e.title: (e.state, e.last_error) for e in session.scalars(select(Episode))}
            status = status_report(session)

    assert summary["scan"]["errors"] == 7  # every bad feed but the 410, which is "gone", not an error
    assert feeds["/good.xml"].last_error is None and feeds["/good.xml"].title == "Good Show"
    assert feeds["/gone.xml"].status == "gone"
    for path in set(BAD) - {"/gone.xml"}:
        assert feeds[path].consecutive_errors == 1, path
        assert feeds[path].last_error, path
        assert feeds[path].next_check_at > NOW
    assert "HTML" in feeds["/page.html"].last_error
    assert "404" in feeds["/missing.xml"].last_error
    assert "500" in feeds["/error.xml"].last_error
    assert "redirect" in feeds["/loop1.xml"].last_error.lower()
    assert "cap" in feeds["/huge.xml"].last_error.lower() or "larger" in feeds["/huge.xml"].last_error.lower()

    assert states["Episode 1"][0] == "transcribed"
    assert states["Episode 2"][0] == "new" and "unknown format" in states["Episode 2"][1]
    assert states["Episode 3"] == ("needs_asr", None)
    assert any(p["title"] == "Episode 2" for p in status["episode_errors"])


def test_rescan_is_conditional_and_never_duplicates(settings, store):
    table: dict = {}
    log: list = []
    with serve(table, log) as base:
        table.update(routes(base))
        with store.session() as session:
            add_feed(session, base + "/good.xml")
        run(store, settings, stages=("scan", "transcripts"), now=NOW)
        later = NOW + timedelta(hours=2)
        run(store, settings, stages=("scan", "transcripts"), now=later)  # 304: nothing stored
        # the publisher re-publishes episode 1 with the same GUID and a new date, and moves the feed
        table["/good.xml"] = Static(body=rss(item(0, guid="ep-1"), item(4)), headers={"Content-Type": RSS}, etag='"g2"')
        run(store, settings, stages=("scan",), now=later + timedelta(hours=2))
        with store.session() as session:
            titles = sorted(session.scalars(select(Episode.title)))
            segments = session.scalar(select(TranscriptSegment.id).limit(1))
    feed_requests = [r for r in log if r.path == "/good.xml"]
    assert feed_requests[1].headers.get("If-None-Match") == '"g1"'
    assert titles == ["Episode 1", "Episode 2", "Episode 3", "Episode 4"]
    assert segments is not None


def test_permanent_redirect_updates_the_stored_url(settings, store):
    table: dict = {}
    with serve(table) as base:
        table.update(routes(base))
        table["/old.xml"] = redirect("/good.xml", 301)
        with store.session() as session:
            add_feed(session, base + "/old.xml")
        run(store, settings, stages=("scan",), now=NOW)
        with store.session() as session:
            urls = list(session.scalars(select(Feed.url)))
    assert urls == [base + "/good.xml"]


def test_a_failing_feed_recovers_on_a_later_run(settings, store):
    table: dict = {}
    with serve(table) as base:
        table.update(routes(base))
        with store.session() as session:
            add_feed(session, base + "/error.xml")
        run(store, settings, stages=("scan",), now=NOW)
        table["/error.xml"] = table["/good.xml"]
        run(store, settings, stages=("scan",), now=NOW)  # backoff: not due yet
        with store.session() as session:
            assert session.scalar(select(Feed.consecutive_errors)) == 1
        run(store, settings, stages=("scan",), now=NOW + timedelta(days=3))
        with store.session() as session:
            feed = session.scalar(select(Feed))
            assert (feed.consecutive_errors, feed.last_error, feed.title) == (0, None, "Good Show")
            assert session.scalar(select(Episode.id).limit(1)) is not None


def test_a_first_scan_keeps_show_notes_only_for_the_episodes_it_will_process(settings, store):
    settings.backfill_episodes = 2
    notes = "<description><![CDATA[<p>Notes for this one &amp; more.</p>]]></description></item>"
    body = rss(*(item(n).replace("</item>", notes) for n in range(1, 6)))
    with serve({"/feed.xml": Static(body=body, headers={"Content-Type": RSS})}) as base:
        with store.session() as session:
            add_feed(session, base + "/feed.xml")
        run(store, settings, stages=("scan",), now=NOW)
    with store.session() as session:
        rows = {e.title: (e.state, e.description) for e in session.scalars(select(Episode))}
    assert rows["Episode 1"] == ("new", "Notes for this one & more.")
    assert rows["Episode 2"] == ("new", "Notes for this one & more.")
    assert rows["Episode 5"] == ("skipped", "")
