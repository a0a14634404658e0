"""The whole daily run against real servers on 127.0.0.1: feeds over HTTP, a scripted OpenAI-compatible
endpoint (tests/fake_llm_server.py, a fake named as such, for exact model answers), mail into aiosmtpd."""

from __future__ import annotations

import importlib
import json
import re
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest
from fake_llm_server import FakeLLMServer
from servers import Static, serve
from sqlalchemy import select

from podsight.pipeline import run
from podsight.store.models import Delivery, DigestRow, Episode, Feedback, InsightLink, InsightRow
from podsight.store.queries import add_feed, add_subscriber

pytestmark = pytest.mark.both_backends  # SQLite and a real PostgreSQL (tests/conftest.py)

# the module, not the function of the same name that podsight.pipeline exports
deliver_module = importlib.import_module("podsight.pipeline.deliver")

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=timezone.utc)
TRANSCRIPT = """WEBVTT

00:00:00.000 --> 00:00:05.000
<v Ada Host>Welcome back. My guest today is Bo, who runs a battery startup.

00:00:05.000 --> 00:00:12.000
<v Bo Guest>Battery pack prices fell by about ninety percent in ten years, and that is why electric buses now beat diesel on total cost.

00:00:12.000 --> 00:00:20.000
<v Bo Guest>My advice to city planners is simple: buy the chargers before you buy the buses.
"""
GROUNDED = {
    "quote": "Battery pack prices fell by about ninety percent in ten years",
    "line": 1, "speaker": "Bo Guest", "kind": "data_point", "importance": 5,
    "claim": "Falling battery pack prices have made electric city buses cheaper to own than diesel buses.",
    "why": "Cities can electrify fleets on cost alone.",
}
INVENTED = {
    "quote": "Hydrogen trucks will replace all diesel trucks by next year",
    "line": 2, "speaker": "Bo Guest", "kind": "prediction", "importance": 4,
    "claim": "Hydrogen trucks are about to replace diesel trucks across the whole freight industry.",
    "why": "It would reshape freight.",
}


def feed(base: str, episodes: int) -> str:
    items = "".join(
        f"<item><title>Buses {n}</title><guid>bus-{n}</guid><pubDate>{format_datetime(NOW - timedelta(hours=n + 1))}</pubDate>"
        f'<enclosure url="{base}/a{n}.mp3" type="audio/mpeg" length="1"/>'
        f'<podcast:transcript url="{base}/t{n}.vtt" type="text/vtt"/></item>'
        for n in range(episodes)
    )
    return ('<rss version="2.0" xmlns:podcast="https://podcastindex.org/namespace/1.0"><channel>'
            f"<title>Transit Talk</title>{items}</channel></rss>")


def answer(*drafts: dict) -> str:
    return json.dumps({"insights": list(drafts)})


@pytest.fixture
def world(settings, store, mail_sink):
    """A feed with two episodes, a subscriber in Paris, SMTP configured."""
    sink, port = mail_sink
    settings.smtp_host, settings.smtp_port, settings.smtp_security = "127.0.0.1", port, "none"
    table: dict = {}
    with serve(table) as base:
        table["/feed.xml"] = Static(body=feed(base, 2), headers={"Content-Type": "application/rss+xml"})
        for n in range(2):
            table[f"/t{n}.vtt"] = Static(body=TRANSCRIPT, headers={"Content-Type": "text/vtt"})
        with store.session() as session:
            feed_row, _ = add_feed(session, base + "/feed.xml")
            add_subscriber(session, "reader@example.com", "Europe/Paris", 7, "", [feed_row])
        yield settings, store, sink


def test_daily_run_end_to_end_and_rerun_sends_nothing_twice(world):
    settings, store, sink = world
    # episode 1: invalid JSON twice (chunk skipped, reason stored); episode 2: one grounded, one invented quote
    script = ["not json at all", "{still not json", answer(GROUNDED, INVENTED)]
    with FakeLLMServer(script) as llm:
        settings.llm_base_url = llm.base_url
        summary = run(store, settings, now=NOW)
        rerun = run(store, settings, now=NOW + timedelta(hours=1))
        calls = len(llm.requests)

    assert summary["insights"] == {"episodes": 2, "insights": 1, "dropped": 1, "errors": 0}
    assert calls == 3 and rerun["insights"]["episodes"] == 0
    with store.session() as session:
        insight = session.scalar(select(InsightRow))
        notes = [e.extraction for e in session.scalars(select(Episode).order_by(Episode.id))]
        assert session.scalar(select(DigestRow.day)) == "2026-11-30"
    assert insight.quote.startswith("Battery pack prices fell by about ninety percent in ten years")
    assert (insight.start_s, insight.speaker, insight.kind) == (5.0, "Bo Guest", "data_point")
    assert any("not valid JSON" in reason for note in notes for reason in note["chunks_skipped"])
    assert any("quote not found" in reason for note in notes for reason in note["dropped"])

    assert len(sink.messages) == 1
    mail = sink.messages[0]
    assert mail["To"] == "reader@example.com" and mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    html = next(p for p in mail.walk() if p.get_content_type() == "text/html").get_payload(decode=True).decode()
    assert "Falling battery pack prices" in html and "#t=5" in html
    assert (settings.digests_dir / "reader_example.com" / "2026-11-30.html").exists()


def test_refusing_smtp_server_keeps_the_digest_and_a_rerun_sends_it_once(world):
    settings, store, sink = world
    sink.refuse = True
    with FakeLLMServer([answer(GROUNDED)] * 2) as llm:
        settings.llm_base_url = llm.base_url
        run(store, settings, now=NOW)
    with store.session() as session:
        email = session.scalar(select(Delivery).where(Delivery.channel == "email"))
        assert email.status == "pending" and "550" in email.last_error
    sink.refuse = False
    run(store, settings, now=NOW + timedelta(minutes=2))  # backoff: not due yet
    assert sink.messages == []
    run(store, settings, now=NOW + timedelta(hours=1))
    run(store, settings, now=NOW + timedelta(hours=2))
    assert len(sink.messages) == 1


def test_crash_after_smtp_accepted_never_sends_a_second_email(world, monkeypatch):
    settings, store, sink = world
    real_send = deliver_module.send_message

    def send_then_crash(*args, **kwargs):
        real_send(*args, **kwargs)
        raise KeyboardInterrupt("power cut right after the server accepted the mail")

    monkeypatch.setattr(deliver_module, "send_message", send_then_crash)
    with FakeLLMServer([answer(GROUNDED)] * 2) as llm:
        settings.llm_base_url = llm.base_url
        with pytest.raises(KeyboardInterrupt):
            run(store, settings, now=NOW)
    monkeypatch.setattr(deliver_module, "send_message", real_send)
    run(store, settings, now=NOW + timedelta(hours=1))
    with store.session() as session:
        email = session.scalar(select(Delivery).where(Delivery.channel == "email"))
    assert len(sink.messages) == 1
    assert email.status == "unknown" and "may have arrived" in email.last_error


def test_send_hour_and_timezone_decide_the_day(world):
    settings, store, sink = world
    early = datetime(2026, 11, 30, 5, 0, tzinfo=timezone.utc)  # 06:00 in Paris, before the 07:00 send hour
    with FakeLLMServer([answer(GROUNDED)] * 2) as llm:
        settings.llm_base_url = llm.base_url
        first = run(store, settings, now=early)
    assert first["digests"]["digests"] == 0 and sink.messages == []
    assert run(store, settings, now=early + timedelta(hours=1))["digests"]["digests"] == 1
    assert len(sink.messages) == 1


def test_llm_endpoint_down_leaves_episodes_waiting(world):
    settings, store, sink = world
    settings.llm_base_url = "http://127.0.0.1:9/v1"
    summary = run(store, settings, now=NOW)
    assert summary["insights"]["errors"] == 1
    with store.session() as session:
        states = sorted(session.scalars(select(Episode.state)))
        errors = [e for e in session.scalars(select(Episode.last_error)) if e]
    assert states == ["transcribed", "transcribed"]
    assert errors and "127.0.0.1:9" in errors[0]


def test_same_claim_in_two_episodes_is_linked_sent_once_with_both_sources_and_votes_count(world, monkeypatch):
    settings, store, sink = world
    judge = json.dumps({"relation": "corroborating", "reason": "both report battery prices falling ninety percent"})
    with FakeLLMServer([answer(GROUNDED), answer(GROUNDED), judge]) as llm:
        settings.llm_base_url = llm.base_url
        summary = run(store, settings, now=NOW)
    assert summary["links"] == {"linked": 2, "links": 1, "judged": 1}
    with store.session() as session:
        stored = session.execute(select(InsightRow.embed_model, InsightRow.linked_model)).all()
        assert stored == [("all-minilm-l6-v2", "all-minilm-l6-v2")] * 2, "embedded when extracted, then linked"
        link = session.scalar(select(InsightLink))
        assert (link.kind, link.judged_by is not None) == ("corroborating", True)
    html = next(p for p in sink.messages[0].walk() if p.get_content_type() == "text/html").get_payload(decode=True).decode()
    assert html.count("Falling battery pack prices") == 1  # the same claim appears once...
    assert "Also said on" in html and "Buses 0" in html and "Buses 1" in html  # ...with both episodes
    token = re.search(r"/feedback/([\w.-]+)", html)  # the first vote link is the thumbs up

    from typer.testing import CliRunner

    from podsight.cli import app

    monkeypatch.setenv("PODSIGHT_SECRET_KEY", "test-secret")
    result = CliRunner().invoke(app, ["--home", str(settings.home), "feedback", "--token", token.group(1)])
    assert result.exit_code == 0, result.output
    forged = CliRunner().invoke(app, ["--home", str(settings.home), "feedback", "--token", token.group(1) + "x"])
    assert forged.exit_code == 1 and "not valid" in str(forged.exception)
    with store.session() as session:
        assert [(f.vote, f.subscriber_id) for f in session.scalars(select(Feedback))] == [(1, 1)]

    shown = CliRunner().invoke(app, ["--home", str(settings.home), "insight", str(link.insight_id), "--json"])
    page = json.loads(shown.output)
    [other] = page["links"]["corroborating"]
    assert other["insight"]["id"] == link.other_id and other["reason"].startswith("both report")
    episode = json.loads(CliRunner().invoke(app, ["--home", str(settings.home), "episode", "1", "--json"]).output)
    assert [i["start_s"] for i in episode["insights"]] == [5.0] and episode["state"] == "extracted"
