"""The web app's pages through FastAPI's TestClient on a real SQLite store filled by hand: each page shows
what it should, unknown ids are 404, search survives hostile queries, the settings form validates, and
text from podcasts (a claim with <script>) is escaped everywhere."""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, select

from podsight.store.models import (Delivery, DigestItemRow, DigestRow, Episode, Feed, InsightLink, InsightRow, Subscriber,
                                   Subscription, TranscriptSegment)
from podsight.store.pages import InsightLine, SegmentLine
from podsight.store.search import MARK_START, search_insights, search_segments
from podsight.web import create_app
from podsight.web.auth import admin_gate, csrf_protect, require_admin
from podsight.web.charts import Mark, timeline_svg, weekly_bars_svg
from podsight.web.passages import mark_transcript

pytestmark = pytest.mark.both_backends  # SQLite and a real PostgreSQL (tests/conftest.py)

TODAY = datetime.now(timezone.utc).date()
HOSTILE = '<script>alert("x")</script> Diesel fleets cost more'
SEGMENTS = [  # (start, end, speaker, text, kind)
    (0, 20, "Ana", "This episode is brought to you by Mattress Co, use code SLEEP.", "ad"),
    (20, 40, "Ana", "Welcome back. Today we talk about city buses and their batteries.", "intro"),
    (40, 60, "Bo", "Battery pack prices fell by ninety percent in a decade, which changes", None),
    (60, 80, "Bo", "everything for transit agencies buying electric buses.", None),
    (80, 100, "Ana", "And the zebra crossings near depots were repainted last spring.", None),
]


def hidden(html: str, name: str) -> str:
    return re.search(f'name="{name}" value="([^"]*)"', html).group(1)


def admin_client(settings, store) -> TestClient:
    """The app as a signed-in admin sees it. Sign-in and CSRF (podsight.web.auth) have tests of their own;
    here their FastAPI dependencies are overridden, FastAPI's way for tests, so these tests see the pages."""
    app = create_app(settings, store)
    for gate in (require_admin, csrf_protect, admin_gate):
        app.dependency_overrides[gate] = lambda: None
    return TestClient(app)


def _insight(episode: Episode, claim: str, quote: str, start: float, end: float, kind: str = "data_point") -> InsightRow:
    return InsightRow(episode=episode, claim=claim, why="Cities can electrify on cost alone.", speaker="Bo", quote=quote,
                      kind=kind, importance=0.8, start_s=start, end_s=end, match_score=99, model="m", prompt_version="v")


@pytest.fixture
def site(settings, store):
    """Two shows, an episode with a transcript (an ad, an intro), linked insights, a digest today and one
    a week ago; returns (client, store, ids)."""
    with store.session() as session:
        transit = Feed(url="https://transit.example/feed.xml", title="Transit Talk", last_ok_at=datetime.now(timezone.utc),
                       last_checked_at=datetime.now(timezone.utc))
        broken = Feed(url="https://broken.example/feed.xml", title="Broken Show", consecutive_errors=3,
                      last_error="HTTP 500 from broken.example", last_checked_at=datetime.now(timezone.utc))
        episode = Episode(feed=transit, key="e1", title="Buses and batteries", state="extracted", duration_s=120,
                          audio_url="https://transit.example/e1.mp3", transcript_source="https://transit.example/e1.vtt")
        other = Episode(feed=broken, key="e2", title="Diesel forever", state="extracted", audio_url="javascript:alert(1)")
        waiting = Episode(feed=broken, key="e3", title="Not yet", state="needs_asr")
        session.add_all([transit, broken, episode, other, waiting])
        session.flush()
        session.add_all(TranscriptSegment(episode_id=episode.id, idx=n, start_s=s, end_s=e, speaker=sp, text=t, kind=k)
                        for n, (s, e, sp, t, k) in enumerate(SEGMENTS))
        main = _insight(episode, "Battery packs got ninety percent cheaper in ten years.",
                        "Battery pack prices fell by ninety percent in a decade, which changes everything", 40, 70)
        hostile = _insight(other, HOSTILE, "diesel fleets cost more to run", 300, 310, kind="claim")
        same = _insight(other, "Batteries are now a tenth of their old price.", "batteries cost a tenth", 12, 15)
        session.add_all([main, hostile, same])
        session.flush()
        session.add_all([InsightLink(insight_id=main.id, other_id=hostile.id, kind="contradicting", similarity=0.8,
                                     reason="one says electric is cheaper, the other diesel", judged_by="judge-llm"),
                         InsightLink(insight_id=main.id, other_id=same.id, kind="corroborating", similarity=0.9)])
        sub = Subscriber(email="reader@example.com", timezone="UTC", send_hour=7)
        session.add(sub)
        session.flush()
        session.add_all([
            DigestRow(subscriber_id=sub.id, day=TODAY.isoformat(), items=[
                DigestItemRow(insight_id=main.id, position=0, score=1.0),
                DigestItemRow(insight_id=hostile.id, position=1, score=0.5)]),
            DigestRow(subscriber_id=sub.id, day=(TODAY - timedelta(days=7)).isoformat(), items=[
                DigestItemRow(insight_id=same.id, position=0, score=0.7)]),
        ])
        ids = {"sub": sub.id, "episode": episode.id, "other": other.id, "main": main.id, "hostile": hostile.id,
               "same": same.id, "transit": transit.id, "broken": broken.id}
    return admin_client(settings, store), store, ids


def test_digest_page_shows_todays_digest_with_links_and_disputes(site):
    client, _, ids = site
    page = client.get("/")
    assert page.status_code == 200
    assert "Battery packs got ninety percent cheaper" in page.text
    assert f'href="/episodes/{ids["episode"]}?t=40#player"' in page.text and "at 0:40" in page.text
    assert "Disputed" in page.text and "one says electric is cheaper" in page.text
    assert "Also said on" in page.text and "Diesel forever" in page.text
    assert "nothing yet today" not in page.text
    assert client.get("/?subscriber=reader@example.com").text == page.text
    assert client.get("/?subscriber=999").status_code == 404


def test_digest_page_falls_back_to_the_newest_digest(site):
    client, store, ids = site
    with store.session() as session:
        session.get(DigestRow, 1).day = (TODAY - timedelta(days=1)).isoformat()
    page = client.get(f"/?subscriber={ids['sub']}")
    assert page.status_code == 200 and "nothing yet today" in page.text and "Battery packs" in page.text


def test_pages_with_an_empty_store(settings, store):
    client = admin_client(settings, store)
    assert "No subscribers yet" in client.get("/").text
    for path in ("/archive", "/shows", "/search?q=buses"):
        assert client.get(path).status_code == 200


def test_archive_lists_days_and_draws_kinds_per_week(site):
    client, _, ids = site
    page = client.get("/archive")
    assert page.status_code == 200
    week_ago = TODAY - timedelta(days=7)
    assert f'href="/archive/{week_ago.isoformat()}?subscriber={ids["sub"]}"' in page.text
    assert "Batteries are now a tenth" in page.text  # the top claim of that day
    assert "<svg" in page.text and "data_point</title>" in page.text
    day = client.get(f"/archive/{week_ago.isoformat()}")
    assert day.status_code == 200 and "Batteries are now a tenth" in day.text and "Battery packs" not in day.text
    assert client.get("/archive/2001-01-01").status_code == 404
    assert client.get("/archive/not-a-day").status_code == 404


def test_episode_page_player_timeline_and_marked_transcript(site):
    client, _, ids = site
    page = client.get(f"/episodes/{ids['episode']}?t=42")
    assert page.status_code == 200
    assert '<audio controls preload="none" src="https://transit.example/e1.mp3#t=42">' in page.text
    assert f'<a href="/episodes/{ids["episode"]}?t=40#player" data-seek="40">' in page.text  # timeline mark
    assert 'data-seek="40" href="?t=40#player"' in page.text  # the insight's seek link
    assert (f'<mark><a href="/insights/{ids["main"]}">Battery pack prices fell by ninety percent in a decade, '
            f'which changes</a></mark>') in page.text
    assert f'<mark><a href="/insights/{ids["main"]}">everything</a></mark>' in page.text  # across the boundary
    assert 'class="seg ad"' in page.text and 'class="seg intro' in page.text
    assert "zebra crossings" in page.text and "zebra crossings</a></mark>" not in page.text
    assert client.get("/episodes/999").status_code == 404


def test_episode_page_refuses_a_javascript_audio_url(site):
    client, _, ids = site
    page = client.get(f"/episodes/{ids['other']}")
    assert page.status_code == 200 and "javascript:" not in page.text and "No playable audio" in page.text


def test_insight_page_quote_speaker_timestamp_and_links(site):
    client, _, ids = site
    page = client.get(f"/insights/{ids['main']}")
    assert page.status_code == 200
    assert "Battery pack prices fell by ninety percent" in page.text and "Bo, at 0:40" in page.text
    assert 'href="https://transit.example/e1.mp3#t=40"' in page.text
    assert "The same claim elsewhere" in page.text and f'href="/insights/{ids["same"]}"' in page.text
    assert "Disputed elsewhere" in page.text and "one says electric is cheaper" in page.text and "judge-llm" in page.text
    assert client.get("/insights/999").status_code == 404


def test_insight_page_reads_a_fixed_number_of_queries_however_many_links(site):
    client, store, ids = site

    def queries_for(path: str) -> int:
        statements = []
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        event.listen(store.engine, "before_cursor_execute", listener)
        try:
            assert client.get(path).status_code == 200
        finally:
            event.remove(store.engine, "before_cursor_execute", listener)
        return len(statements)

    before = (queries_for(f"/insights/{ids['main']}"), queries_for("/"))
    with store.session() as session:
        for n in range(8):  # eight more linked insights, each in an episode of its own
            feed = Feed(url=f"https://more{n}.example/feed.xml", title=f"More {n}")
            row = _insight(Episode(feed=feed, key=f"m{n}", title=f"More {n}"), f"Related {n}", "q", 1, 2)
            session.add(row)
            session.flush()
            session.add(InsightLink(insight_id=ids["main"], other_id=row.id, kind="related", similarity=0.5))
    assert (queries_for(f"/insights/{ids['main']}"), queries_for("/")) == before


def test_shows_page_health_last_error_and_waiting_work(site):
    client, _, _ = site
    page = client.get("/shows")
    assert page.status_code == 200
    assert "Transit Talk" in page.text and ">ok<" in page.text
    assert "failing: 3 errors in a row" in page.text and "HTTP 500 from broken.example" in page.text
    assert "needs_asr 1" in page.text and "extracted 1" in page.text


def test_search_finds_claims_and_transcript_only_words(site):
    client, _, ids = site
    page = client.get("/search?q=cheaper")
    assert page.status_code == 200 and f'href="/insights/{ids["main"]}"' in page.text and "<mark>cheaper</mark>" in page.text
    page = client.get("/search?q=zebra crossings")
    assert "No insight matches" in page.text and "<mark>zebra</mark> <mark>crossings</mark>" in page.text
    assert f'href="/episodes/{ids["episode"]}?t=80#seg-' in page.text
    assert "<mark>batter" in client.get("/search?q=batter").text.lower()  # the last word is a prefix


@pytest.mark.parametrize("query", ['"', "AND (", "NEAR(", "*", "buses OR", "-x", "^", "'; DROP TABLE insights; --",
                                   "col:umn", "\x00", "ü" * 5000, "a " * 400])
def test_search_survives_hostile_queries(site, query):
    client, _, _ = site
    assert client.get("/search", params={"q": query}).status_code == 200


def test_search_pages_and_the_like_fallback(site):
    _, store, ids = site
    with store.session() as session:
        first = search_insights(session, "batter", per_page=1)
        second = search_insights(session, "batter", page=2, per_page=1)
        like = search_insights(session, "batteries", fts=False)
        like_segments = search_segments(session, "zebra 100%", fts=False)
    assert first.has_next and len(first.hits) == 1 and first.hits[0].id != second.hits[0].id
    assert [hit.id for hit in like.hits] == [ids["same"]] and MARK_START + "batteries" in like.hits[0].snippet
    assert like_segments.hits == ()  # "100%" is a word "100", which the transcript does not say


def test_search_answers_from_the_databases_own_index(site):
    """FTS5 on SQLite, the tsvector GIN index on PostgreSQL: words and word prefixes match, the middle of a
    word does not (the LIKE scan would find "atteries" inside "batteries")."""
    _, store, ids = site
    with store.session() as session:
        assert search_insights(session, "atteries").hits == ()
        assert ids["same"] in [hit.id for hit in search_insights(session, "atteries", fts=False).hits]
        assert ids["same"] in [hit.id for hit in search_insights(session, "batteries").hits]


def test_hostile_text_is_escaped_on_every_page(site):
    client, _, ids = site
    for path in ("/", f"/insights/{ids['hostile']}", f"/episodes/{ids['other']}", f"/insights/{ids['main']}",
                 "/search?q=diesel+fleets"):
        page = client.get(path)
        assert page.status_code == 200 and "<script>alert" not in page.text, path
        assert "&lt;script&gt;alert" in page.text, path


def test_settings_form_shows_and_saves(site):
    client, store, ids = site
    form = client.get(f"/subscribers/{ids['sub']}/settings")
    assert form.status_code == 200 and 'value="UTC"' in form.text and "Broken Show" in form.text
    saved = client.post(f"/subscribers/{ids['sub']}/settings", follow_redirects=False, data={
        "csrf_token": hidden(form.text, "csrf_token"), "timezone": "Europe/Paris", "send_hour": "6", "interests": "buses, sleep", "feeds": [str(ids["transit"])],
        "webhook_url": "https://hooks.slack.com/services/T/B/x"})
    assert saved.status_code == 303 and saved.headers["location"].endswith("settings?saved=1")
    with store.session() as session:
        sub = session.get(Subscriber, ids["sub"])
        assert (sub.timezone, sub.send_hour, sub.interests, sub.follows_all, sub.email_enabled, sub.webhook_url) == (
            "Europe/Paris", 6, "buses, sleep", False, False, "https://hooks.slack.com/services/T/B/x")
        assert list(session.scalars(select(Subscription.feed_id))) == [ids["transit"]]
    assert "Saved." in client.get(saved.headers["location"]).text


@pytest.mark.parametrize("field, value, message", [
    ("timezone", "Mars/Olympus", "unknown timezone"),
    ("send_hour", "24", "send hour must be 0-23"),
    ("send_hour", "seven", "is not a number"),
    ("webhook_url", "javascript:alert(1)", "is not an http(s) address"),
    ("webhook_url", "https://hooks.example:99999/x", "is not an http(s) address"),
    ("feeds", "424242", "do not exist"),
])
def test_settings_form_refuses_bad_values_and_keeps_what_was_typed(site, field, value, message):
    client, store, ids = site
    token = hidden(client.get(f"/subscribers/{ids['sub']}/settings").text, "csrf_token")
    data = {"timezone": "UTC", "send_hour": "7", "follows_all": "1", "email_enabled": "1", "interests": "trains",
            "csrf_token": token}
    answer = client.post(f"/subscribers/{ids['sub']}/settings", data={**data, field: value})
    assert answer.status_code == 400 and message in answer.text
    assert "trains</textarea>" in answer.text  # the form comes back as typed
    with store.session() as session:
        assert session.get(Subscriber, ids["sub"]).interests == ""  # nothing saved
    assert client.post("/subscribers/999/settings", data=data).status_code == 404
    assert client.get("/subscribers/999/settings").status_code == 404


def test_settings_need_a_show_unless_all_are_followed(site):
    client, _, ids = site
    token = hidden(client.get(f"/subscribers/{ids['sub']}/settings").text, "csrf_token")
    answer = client.post(f"/subscribers/{ids['sub']}/settings", data={"timezone": "UTC", "send_hour": "7",
                                                                       "csrf_token": token})
    assert answer.status_code == 400 and "choose at least one show" in answer.text


def test_timeline_svg_marks_greys_and_escapes():
    svg = timeline_svg(600, [Mark(60, 'a <b> & "c"', "/episodes/1?t=60#player", "advice"), Mark(900, "late", "/x")],
                       [(0, 30, "ad")])
    assert svg.count('class="mark"') == 2 and "&lt;b&gt; &amp; &#34;c&#34;" in svg and "<b>" not in svg
    assert 'fill="#10b981"' in svg and "ad 0:00-0:30</title>" in svg
    assert "15:00</text>" in svg  # a mark past the stated duration stretches the strip


def test_weekly_bars_stack_kinds_per_week():
    svg = weekly_bars_svg([("2026-W01", Counter(claim=3, advice=1)), ("2026-W02", Counter()),
                           ("2026-W03", Counter({"odd <kind>": 2}))])
    assert "2026-W01: 3 claim</title>" in svg and "2026-W01: 1 advice</title>" in svg
    assert "W02</text>" in svg and "odd &lt;kind&gt;" in svg and "6 in 3 weeks" in svg


def test_quotes_are_marked_within_and_across_segments():
    segments = tuple(SegmentLine(n, s, e, sp, t, k) for n, (s, e, sp, t, k) in enumerate(SEGMENTS))
    quote = InsightLine(7, 40, 70, "Bo", "data_point", "c", "PRICES fell by ninety percent in a decade, which changes "
                        "everything", "show", "ep", 1)
    lines = mark_transcript(segments, (quote,))
    assert [p.text for p in lines[2].pieces if p.insight_id] == ["prices fell by ninety percent in a decade, which changes"]
    assert [p.text for p in lines[3].pieces if p.insight_id] == ["everything"]
    assert "".join(p.text for p in lines[2].pieces) == SEGMENTS[2][3]  # nothing lost or doubled
    assert lines[4].insight_ids == () and all(p.insight_id is None for p in lines[4].pieces)


def test_shows_page_lists_deliveries_not_sent_with_their_reasons(site):
    client, store, _ = site
    with store.session() as session:
        digest_id = session.scalar(select(DigestRow.id).order_by(DigestRow.id))
        session.add(Delivery(digest_id=digest_id, channel="webhook", status="failed", attempts=1,
                             last_error="webhook refused (HTTP 404): no such webhook <b>x</b>"))
    page = client.get("/shows")
    assert "Deliveries not sent" in page.text and "webhook" in page.text
    assert "HTTP 404" in page.text and "&lt;b&gt;x&lt;/b&gt;" in page.text
