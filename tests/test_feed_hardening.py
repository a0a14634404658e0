"""Feeds that used to hurt a whole scan (issue 11, findings 8, 11, 14, 15 and 18), served by real HTTP
servers on 127.0.0.1: a flood of new GUIDs is capped, bad dates and durations cost only their field, a
malformed stored URL costs only its feed, feeds are stored as they arrive and in batches, and the older
RSS and Atom dialects parse."""

from __future__ import annotations

import importlib
import sqlite3
import time
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest
from fastapi.testclient import TestClient
from servers import Static, serve
from sqlalchemy import event, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from podsight.cli import app
from podsight.feeds import poll
from podsight.feeds.opml import parse_opml
from podsight.feeds.parse import parse_date, parse_duration, parse_feed
from podsight.pipeline.scan import scan
from podsight.store.models import Episode, Feed
from podsight.store.queries import add_feed
from podsight.store.report import status_report
from podsight.store.scans import due_feeds

scan_module = importlib.import_module("podsight.pipeline.scan")  # `podsight.pipeline.scan` is also a function
NOW = datetime.now(timezone.utc).replace(microsecond=0)
RSS = {"Content-Type": "application/rss+xml"}


def item(guid: str, hours_ago: float | None, extra: str = "") -> str:
    date = f"<pubDate>{format_datetime(NOW - timedelta(hours=hours_ago))}</pubDate>" if hours_ago is not None else ""
    return (f"<item><title>Episode {guid}</title><guid>{guid}</guid>{date}"
            f'<enclosure url="https://cdn.example/{guid}.mp3" type="audio/mpeg" length="1"/>{extra}</item>')


def rss(*items: str, title: str = "Show") -> str:
    return (f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" '
            f'xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"><channel><title>{title}</title>'
            + "".join(items) + "</channel></rss>")


@pytest.fixture
def local(settings):
    """Settings for feeds on 127.0.0.1 (private addresses are refused by default)."""
    settings.allow_private_addresses = True
    settings.fetch_timeout_s = 10.0
    return settings


def episodes_of(store, feed_id: int) -> list[Episode]:
    with store.session() as session:
        return list(session.scalars(select(Episode).where(Episode.feed_id == feed_id).order_by(Episode.id)))


def run_cli(settings, monkeypatch, *args: str):
    monkeypatch.chdir(settings.home.parent)  # no stray podsight.toml
    for name in ("PODSIGHT_CONFIG", "PODSIGHT_HOME"):
        monkeypatch.delenv(name, raising=False)
    result = CliRunner().invoke(app, ["--home", str(settings.home), *args], terminal_width=250)
    result.text = " ".join(result.output.split())
    return result


# ---------------------------------------------------------------- finding 8: a cap on new episodes per scan


def test_a_flood_of_new_guids_queues_only_the_newest_and_status_says_so(local, store, monkeypatch):
    assert local.max_new_episodes_per_scan == 20  # the default
    table: dict = {}
    with serve(table) as base:
        table["/f.xml"] = Static(body=rss(item("old-1", 30), item("old-2", 40)), headers=RSS)
        with store.session() as session:
            feed_id = add_feed(session, base + "/f.xml")[0].id
        scan(store, local, NOW)  # the first scan: the feed's back catalogue is known from here on
        fresh = [item(f"rotated-{n}", 1 + n / 60) for n in range(60)]  # 60 new GUIDs, all within 2 hours
        undated = [item(f"undated-{n}", None) for n in range(5)]
        table["/f.xml"] = Static(body=rss(*undated, *reversed(fresh), item("old-1", 30), item("old-2", 40)), headers=RSS)
        counts = scan(store, local, NOW + timedelta(hours=2))
    assert counts["new_episodes"] == 20
    by_key = {e.key: e for e in episodes_of(store, feed_id)}
    assert len(by_key) == 2 + 60 + 5
    queued = sorted(key for key, e in by_key.items() if key.startswith("rotated-") and e.state == "new")
    assert queued == sorted(f"rotated-{n}" for n in range(20))  # the newest 20
    assert all(by_key[f"rotated-{n}"].state == "skipped" for n in range(20, 60))
    assert all(by_key[f"undated-{n}"].state == "skipped" for n in range(5))  # undated after the first scan
    assert by_key["rotated-30"].description == ""  # back catalogue: no show notes kept

    with store.session() as session:
        (health,) = status_report(session)["feeds"]
    assert health["held_back"]["episodes"] == 40 and health["held_back"]["at"] == NOW + timedelta(hours=2)
    shown = run_cli(local, monkeypatch, "status")
    assert shown.exit_code == 0, shown.output
    assert "hit the cap of new episodes per scan" in shown.text and "40 held back as back catalogue" in shown.text


def test_the_cap_is_a_setting_and_holds_on_a_first_scan_too(local, store):
    local.max_new_episodes_per_scan, local.backfill_episodes = 2, 3
    with serve({"/f.xml": Static(body=rss(item("a", 1), item("b", 2), item("c", 3)), headers=RSS)}) as base:
        with store.session() as session:
            feed_id = add_feed(session, base + "/f.xml")[0].id
            never_id = add_feed(session, "https://never.example/feed.xml")[0].id
            session.get(Feed, never_id).next_check_at = NOW + timedelta(days=1)  # not due
        counts = scan(store, local, NOW)
    assert counts["new_episodes"] == 2
    assert {e.key: e.state for e in episodes_of(store, feed_id)} == {"a": "new", "b": "new", "c": "skipped"}
    with store.session() as session:
        health = {f["id"]: f for f in status_report(session)["feeds"]}
    assert health[feed_id]["held_back"]["episodes"] == 1
    assert health[never_id]["held_back"] is None


# ---------------------------------------------------------------- finding 11: bad dates and durations


@pytest.mark.parametrize("value", ["01 Jan 0001 00:00 +0100", "Mon, 01 Jan 0001 00:00:00 +0100",
                                   "0001-01-01T00:00:00+01:00", "31 Dec 9999 23:30 -0100", "9999-12-31T23:30:00-01:00"])
def test_a_date_that_overflows_is_dropped(value):
    assert parse_date(value) is None


@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "Infinity", "1e400", "1:inf", "99999999999999999999:00"])
def test_a_duration_that_is_not_finite_or_absurd_is_dropped(value):
    assert parse_duration(value) is None


def test_an_item_with_a_bad_date_and_an_infinite_duration_keeps_its_other_fields(local, store, settings):
    bad = item("bad", None, "<pubDate>01 Jan 0001 00:00 +0100</pubDate><itunes:duration>inf</itunes:duration>")
    body = rss(item("good", 1, "<itunes:duration>30:00</itunes:duration>"), bad)
    with serve({"/f.xml": Static(body=body, headers=RSS)}) as base:
        with store.session() as session:
            feed_id = add_feed(session, base + "/f.xml")[0].id
        scan(store, local, NOW)
    with store.session() as session:
        assert session.get(Feed, feed_id).last_error is None
    good, bad_row = sorted(episodes_of(store, feed_id), key=lambda e: e.key, reverse=True)
    assert (good.key, good.duration_s) == ("good", 1800)
    assert (bad_row.key, bad_row.title, bad_row.published_at, bad_row.duration_s) == ("bad", "Episode bad", None, None)
    assert bad_row.audio_url == "https://cdn.example/bad.mp3"

    from podsight.web import create_app
    from podsight.web.auth import admin_gate, csrf_protect, require_admin

    web = create_app(settings, store)
    for gate in (require_admin, csrf_protect, admin_gate):
        web.dependency_overrides[gate] = lambda: None
    assert TestClient(web).get(f"/episodes/{bad_row.id}").status_code == 200


# ---------------------------------------------------------------- finding 14: malformed feed URLs


def test_feeds_add_refuses_a_malformed_url_and_adds_nothing(local, store, monkeypatch):
    result = run_cli(local, monkeypatch, "feeds", "add", "https://fine.example/feed", "http://[::1/feed")
    assert result.exit_code != 0
    assert "http://[::1/feed is not a valid http(s) URL" in str(result.exception)
    with store.session() as session:
        assert session.scalars(select(Feed.url)).all() == []
    assert run_cli(local, monkeypatch, "feeds", "add", "https://fine.example:99999/feed").exit_code != 0
    assert run_cli(local, monkeypatch, "feeds", "add", "https://fine.example/feed").exit_code == 0


def test_an_opml_import_skips_a_malformed_url():
    opml = b"""<opml version="2.0"><body><outline type="rss" text="Bad" xmlUrl="http://[::1/feed"/>
      <outline type="rss" text="Good" xmlUrl="https://good.example/feed"/></body></opml>"""
    assert [f.url for f in parse_opml(opml)] == ["https://good.example/feed"]


@pytest.mark.parametrize("worker_processes", [False, True])
def test_a_stored_malformed_url_is_one_feed_error_and_the_others_are_scanned(local, store, monkeypatch,
                                                                              worker_processes):
    if worker_processes:  # a big scan splits feeds by host: that grouping must survive a URL without one
        monkeypatch.setattr(poll, "PROCESS_POOL_MIN_FEEDS", 2)
        monkeypatch.setattr(poll, "_usable_cores", lambda: 2)
    with serve({"/f.xml": Static(body=rss(item("a", 1)), headers=RSS)}) as base:
        with store.session() as session:
            session.add(Feed(url="http://[::1/feed"))  # stored before validation existed, or by hand
            good_ids = [add_feed(session, f"{base}/f.xml?{n}")[0].id for n in range(3)]
        counts = scan(store, local, NOW)
    assert counts["feeds"] == 4 and counts["errors"] == 1
    with store.session() as session:
        bad = session.scalar(select(Feed).where(Feed.url == "http://[::1/feed"))
        assert "not a valid http(s) URL" in bad.last_error and bad.consecutive_errors == 1
        for feed_id in good_ids:
            assert session.get(Feed, feed_id).last_error is None
    assert all(len(episodes_of(store, feed_id)) == 1 for feed_id in good_ids)


# ---------------------------------------------------------------- finding 15: stored as they arrive, in batches


@pytest.mark.sqlite_only  # watches the SQLite file from a second connection
def test_each_feed_is_stored_as_it_arrives(local, store):
    """The slow feed's server answers only once it has seen the fast feed's episodes committed (through a
    connection of its own), or after 5 s; a scan that stores everything at the end never lets it see them."""
    db_path = local.db_url.removeprefix("sqlite:///")
    seen_before_answering: list[bool] = []

    def slow(_request):
        deadline = time.monotonic() + 5
        seen = False
        while time.monotonic() < deadline and not seen:
            with sqlite3.connect(db_path) as other:
                seen = other.execute("SELECT count(*) FROM episodes WHERE key = 'fast-1'").fetchone()[0] == 1
            time.sleep(0.05)
        seen_before_answering.append(seen)
        return Static(body=rss(item("slow-1", 1)), headers=RSS)

    with serve({"/fast.xml": Static(body=rss(item("fast-1", 1)), headers=RSS), "/slow.xml": slow}) as base:
        with store.session() as session:
            slow_id = add_feed(session, base + "/slow.xml")[0].id  # first in line
            fast_id = add_feed(session, base + "/fast.xml")[0].id
        started = time.monotonic()
        counts = scan(store, local, NOW)
    assert seen_before_answering == [True]
    assert time.monotonic() - started < 4
    assert counts["new_episodes"] == 2 and len(episodes_of(store, slow_id)) == len(episodes_of(store, fast_id)) == 1


@pytest.mark.sqlite_only  # watches the SQLite file from a second connection
def test_a_big_feed_is_stored_in_several_transactions(local, store, monkeypatch):
    db_path = local.db_url.removeprefix("sqlite:///")
    committed: list[int] = []

    def count_after_commit(_session):
        with sqlite3.connect(db_path) as other:
            committed.append(other.execute("SELECT count(*) FROM episodes").fetchone()[0])

    body = rss(*(item(f"ep-{n}", 1 + n / 100) for n in range(1_200)))
    with serve({"/big.xml": Static(body=body, headers=RSS)}) as base:
        with store.session() as session:
            feed_id = add_feed(session, base + "/big.xml")[0].id
        event.listen(Session, "after_commit", count_after_commit)
        try:
            scan(store, local, NOW)
        finally:
            event.remove(Session, "after_commit", count_after_commit)
    assert len(episodes_of(store, feed_id)) == 1_200
    steps = [b - a for a, b in zip([0, *committed], committed) if b != a]
    assert sum(steps) == 1_200 and max(steps) <= 500 and len(steps) >= 3
    with store.session() as session:  # validators saved after the episodes: a stopped scan refetches
        assert session.get(Feed, feed_id).last_ok_at is not None


def test_a_scan_stopped_between_batches_refetches_and_completes(local, store, monkeypatch):
    monkeypatch.setattr(scan_module, "EPISODE_BATCH", 10)
    body = rss(*(item(f"ep-{n}", 1 + n / 100) for n in range(25)))
    calls = {"n": 0}
    real_execute = Session.execute

    def failing_third_batch(self, statement, *args, **kwargs):
        if getattr(statement, "is_insert", False) and getattr(getattr(statement, "table", None), "name", None) == "episodes":
            calls["n"] += 1
            if calls["n"] == 3:
                raise RuntimeError("killed mid-scan")
        return real_execute(self, statement, *args, **kwargs)

    with serve({"/f.xml": Static(body=body, headers=RSS, etag='"v1"')}) as base:
        with store.session() as session:
            feed_id = add_feed(session, base + "/f.xml")[0].id
        monkeypatch.setattr(Session, "execute", failing_third_batch)
        with pytest.raises(RuntimeError):
            scan(store, local, NOW)
        monkeypatch.setattr(Session, "execute", real_execute)
        assert len(episodes_of(store, feed_id)) == 20
        with store.session() as session:
            assert session.get(Feed, feed_id).etag is None  # not saved: the next poll is not answered 304
        # nor the next check time: the next run refetches at once instead of waiting out the poll interval
        assert feed_id in [feed.id for feed in due_feeds(store, NOW)]
        scan(store, local, NOW)
    assert len(episodes_of(store, feed_id)) == 25
    with store.session() as session:
        assert session.get(Feed, feed_id).etag == '"v1"'


# ---------------------------------------------------------------- finding 18: older RSS and Atom dialects

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
DIALECTS = {
    "rss2-default-namespace": """<?xml version="1.0"?>
<rss xmlns="http://backend.userland.com/rss2" version="2.0"><channel><title>Userland</title>
<link>https://userland.example/</link>
<item><title>First</title><guid>u-1</guid><pubDate>Tue, 05 Mar 2024 10:00:00 GMT</pubDate>
<enclosure url="https://userland.example/1.mp3" type="audio/mpeg" length="10"/></item></channel></rss>""",
    "rss1.0": f"""<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="{RDF}" xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel rdf:about="https://rdf.example/"><title>RDF Show</title><link>https://rdf.example/</link>
<items><rdf:Seq><rdf:li rdf:resource="https://rdf.example/1"/></rdf:Seq></items></channel>
<item rdf:about="https://rdf.example/1"><title>First</title><link>https://rdf.example/1</link>
<dc:date>2024-03-05T10:00:00Z</dc:date></item></rdf:RDF>""",
    "rss0.90": f"""<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="{RDF}" xmlns="http://my.netscape.com/rdf/simple/0.9/">
<channel><title>Netscape Show</title><link>https://netscape.example/</link><description>old</description></channel>
<item><title>First</title><link>https://netscape.example/1</link></item>
<item><title>Second</title><link>https://netscape.example/2</link></item></rdf:RDF>""",
    "atom0.3": """<?xml version="1.0"?>
<feed version="0.3" xmlns="http://purl.org/atom/ns#"><title>Atom Zero</title><tagline>the old one</tagline>
<link rel="alternate" type="text/html" href="https://atom03.example/"/>
<entry><title>First</title><id>tag:atom03.example,2004:1</id><issued>2004-03-05T10:00:00Z</issued>
<modified>2004-03-06T10:00:00Z</modified><link rel="alternate" type="text/html" href="https://atom03.example/1"/>
<link rel="enclosure" type="audio/mpeg" href="https://atom03.example/1.mp3" length="10"/>
<summary>Notes</summary></entry></feed>""",
}


def test_older_dialects_parse():
    userland = parse_feed(DIALECTS["rss2-default-namespace"].encode(), "https://userland.example/feed")
    assert userland.title == "Userland" and userland.link == "https://userland.example/"
    (first,) = userland.episodes
    assert (first.guid, first.audio_url) == ("u-1", "https://userland.example/1.mp3")
    assert first.published == datetime(2024, 3, 5, 10, tzinfo=timezone.utc)

    rdf = parse_feed(DIALECTS["rss1.0"].encode(), "https://rdf.example/feed")
    (first,) = rdf.episodes
    assert (rdf.title, first.guid, first.link) == ("RDF Show", "https://rdf.example/1", "https://rdf.example/1")
    assert first.published == datetime(2024, 3, 5, 10, tzinfo=timezone.utc)

    netscape = parse_feed(DIALECTS["rss0.90"].encode(), "https://netscape.example/feed")
    assert netscape.title == "Netscape Show" and netscape.description == "old"
    assert [e.title for e in netscape.episodes] == ["First", "Second"]
    assert len({e.key for e in netscape.episodes}) == 2

    atom = parse_feed(DIALECTS["atom0.3"].encode(), "https://atom03.example/feed")
    (first,) = atom.episodes
    assert (atom.title, atom.description, atom.link) == ("Atom Zero", "the old one", "https://atom03.example/")
    assert (first.guid, first.link, first.audio_url) == ("tag:atom03.example,2004:1", "https://atom03.example/1",
                                                         "https://atom03.example/1.mp3")
    assert first.published == datetime(2004, 3, 5, 10, tzinfo=timezone.utc)  # issued, not modified


def test_older_dialects_are_scanned_like_any_feed(local, store):
    routes = {f"/{name}.xml": Static(body=body, headers={"Content-Type": "application/xml"})
              for name, body in DIALECTS.items()}
    local.max_episode_age_days = 365 * 30
    with serve(routes) as base:
        with store.session() as session:
            ids = {name: add_feed(session, f"{base}/{name}.xml")[0].id for name in DIALECTS}
        counts = scan(store, local, NOW)
    assert counts["errors"] == 0
    with store.session() as session:
        for name, feed_id in ids.items():
            feed = session.get(Feed, feed_id)
            assert feed.last_error is None and feed.title, name
    assert {name: len(episodes_of(store, feed_id)) for name, feed_id in ids.items()} == {
        "rss2-default-namespace": 1, "rss1.0": 1, "rss0.90": 2, "atom0.3": 1}
