"""What one bad episode or one crashing stage may cost: only itself. Real servers on 127.0.0.1 (feeds and
transcripts over HTTP, tests/fake_llm_server.py as a named fake of the model endpoint, aiosmtpd for mail).

A transcript link httpx refuses, JSON nested past Python's recursion limit, a request the model endpoint
refuses with 400: each is stored on its episode, counts an attempt and ends in `failed` after
max_attempts, while the healthy episode beside it goes on to a digest that is delivered in the same run."""

from __future__ import annotations

import importlib
import json
from datetime import timedelta
from email.utils import format_datetime

import pytest
from fake_llm_server import FakeLLMServer
from seeding import seed_insights, subscriber
from servers import Static, serve
from sqlalchemy import select
from test_pipeline_full import GROUNDED, NOW, TRANSCRIPT, answer

from podsight.errors import StagesFailed
from podsight.pipeline import run
from podsight.scheduler import Scheduler
from podsight.store.models import Delivery, Episode, InsightRow
from podsight.store.queries import add_feed, add_subscriber

pytestmark = pytest.mark.both_backends  # SQLite and a real PostgreSQL (tests/conftest.py)

# the module, not the function of the same name that podsight.pipeline exports
pipeline_module = importlib.import_module("podsight.pipeline")

BAD_URL = "http://[::1/x.vtt"  # the feed parser checks only the prefix; httpx raises InvalidURL
DEEP_JSON = "[" * 200_000  # json.loads raises RecursionError, not ValueError
REFUSED = "Zeppelin"  # a word only the refused episode's transcript has
CONTEXT_OVERFLOW = (400, {"error": {"message": "the request exceeds the available context size"}})


def feed(items: list[tuple[str, str, str]]) -> str:
    """One item per (guid, transcript url, transcript type), newest last (the scan stores it first)."""
    xml = "".join(
        f"<item><title>{guid}</title><guid>{guid}</guid>"
        f"<pubDate>{format_datetime(NOW - timedelta(hours=len(items) - n))}</pubDate>"
        f'<podcast:transcript url="{url}" type="{kind}"/></item>'
        for n, (guid, url, kind) in enumerate(items)
    )
    return ('<rss version="2.0" xmlns:podcast="https://podcastindex.org/namespace/1.0"><channel>'
            f"<title>Transit Talk</title>{xml}</channel></rss>")


@pytest.fixture
def show(settings, store, mail_sink):
    """A feed server with a healthy transcript at /good.vtt, a subscriber in Paris, SMTP on loopback.
    Yields (routes, base url, sink); the test writes /feed.xml and its other routes."""
    sink, port = mail_sink
    settings.smtp_host, settings.smtp_port, settings.smtp_security = "127.0.0.1", port, "none"
    settings.max_attempts = 2
    routes: dict = {"/good.vtt": Static(body=TRANSCRIPT, headers={"Content-Type": "text/vtt"})}
    with serve(routes) as base:
        with store.session() as session:
            feed_row, _ = add_feed(session, base + "/feed.xml")
            add_subscriber(session, "reader@example.com", "Europe/Paris", 7, "", [feed_row])
        yield routes, base, sink


def episodes(store) -> dict[str, Episode]:
    with store.session() as session:
        return {e.key: e for e in session.scalars(select(Episode))}


def run_with_model(store, settings, script, times: int = 1) -> list[dict]:
    """`times` daily runs an hour apart against the fake endpoint; their summaries."""
    with FakeLLMServer(script) as llm:
        settings.llm_base_url = llm.base_url
        return [run(store, settings, now=NOW + timedelta(hours=n)) for n in range(times)]


@pytest.mark.parametrize("route, kind, body, reason", [
    (None, "text/vtt", None, ""),  # the URL alone is the fault
    ("/deep.json", "application/json", DEEP_JSON, "RecursionError"),
], ids=["invalid-url", "json-nested-200k-deep"])
def test_a_transcript_that_breaks_fetching_or_parsing_costs_only_its_episode(settings, store, show, route, kind,
                                                                             body, reason):
    routes, base, sink = show
    url = base + route if route else BAD_URL
    if route:
        routes[route] = Static(body=body, headers={"Content-Type": kind})
    routes["/feed.xml"] = Static(body=feed([("bad", url, kind), ("good", base + "/good.vtt", "text/vtt")]),
                                 headers={"Content-Type": "application/rss+xml"})

    first, second = run_with_model(store, settings, [answer(GROUNDED)] * 4, times=2)

    assert first["transcripts"] == {"transcribed": 1, "needs_asr": 0, "errors": 1}
    assert first["insights"]["insights"] == 1
    assert first["digests"]["digests"] == 1 and first["deliver"]["sent"] >= 1, first
    assert len(sink.messages) == 1 and "Falling battery pack prices" in sink.messages[0].as_string()
    assert second["transcripts"]["errors"] == 1
    bad = episodes(store)["bad"]
    assert (bad.state, bad.attempts) == ("failed", 2)
    assert bad.last_error.startswith(f"transcript: {url}: ") and reason in bad.last_error
    assert episodes(store)["good"].state == "extracted"


def test_a_request_the_model_refuses_fails_its_episode_and_the_next_one_gets_insights(settings, store, show):
    routes, base, sink = show
    routes["/refused.vtt"] = Static(body=TRANSCRIPT.replace("city planners", f"{REFUSED} planners"),
                                    headers={"Content-Type": "text/vtt"})
    routes["/feed.xml"] = Static(body=feed([("good", base + "/good.vtt", "text/vtt"),
                                            ("refused", base + "/refused.vtt", "text/vtt")]),
                                 headers={"Content-Type": "application/rss+xml"})

    def model(request: dict):
        return CONTEXT_OVERFLOW if REFUSED in json.dumps(request) else answer(GROUNDED)

    first, second = run_with_model(store, settings, [model] * 10, times=2)

    refused, good = episodes(store)["refused"], episodes(store)["good"]
    assert refused.id < good.id, "the refused episode comes first, so it must not block the other"
    assert first["insights"] == {"episodes": 1, "insights": 1, "dropped": 0, "errors": 1}
    assert good.state == "extracted" and len(sink.messages) == 1
    assert second["insights"]["errors"] == 1
    assert (refused.state, refused.attempts) == ("failed", 2)
    assert "HTTP 400" in refused.last_error and "context" in refused.last_error
    with store.session() as session:
        assert session.scalars(select(InsightRow.episode_id)).all() == [good.id]


def test_an_endpoint_answering_503_stops_the_stage_and_charges_no_attempt(settings, store, show):
    routes, base, sink = show
    routes["/feed.xml"] = Static(body=feed([("one", base + "/good.vtt", "text/vtt"),
                                            ("two", base + "/good.vtt", "text/vtt")]),
                                 headers={"Content-Type": "application/rss+xml"})
    busy = (503, {"error": {"message": "loading model"}}, {"Retry-After": "0"})

    [summary] = run_with_model(store, settings, [busy] * 10)

    assert summary["insights"]["errors"] == 1 and summary["insights"]["episodes"] == 0
    waiting = episodes(store)
    assert [(e.state, e.attempts) for e in waiting.values()] == [("transcribed", 0)] * 2
    assert any("503" in (e.last_error or "") for e in waiting.values())


def test_a_crashing_stage_is_recorded_the_later_ones_run_and_the_run_reports_it(settings, store, show,
                                                                              monkeypatch):
    routes, base, sink = show
    routes["/feed.xml"] = Static(body=feed([("good", base + "/good.vtt", "text/vtt")]),
                                 headers={"Content-Type": "application/rss+xml"})

    def crash(*args, **kwargs):
        raise RuntimeError("links stage bug")

    monkeypatch.setattr(pipeline_module, "link_insights", crash)
    with pytest.raises(StagesFailed, match="stage links crashed: RuntimeError: links stage bug") as raised:
        run_with_model(store, settings, [answer(GROUNDED)] * 2)

    summary = raised.value.summary
    assert summary["links"] == {"error": "RuntimeError: links stage bug"}
    assert summary["digests"]["digests"] == 1 and summary["deliver"]["sent"] >= 1
    assert len(sink.messages) == 1


def test_the_scheduler_delivers_despite_a_crashing_stage_and_does_not_rerun_it_every_tick(settings, store,
                                                                                       mail_sink, monkeypatch):
    sink, port = mail_sink
    settings.smtp_host, settings.smtp_port, settings.smtp_security = "127.0.0.1", port, "none"
    seed_insights(store, 4, first_seen=NOW - timedelta(days=1))
    subscriber(store, "reader@example.com", "Europe/Paris", 7)
    calls = []

    def crash(*args, **kwargs):
        calls.append(args)
        raise ZeroDivisionError("links stage bug")

    monkeypatch.setattr(pipeline_module, "link_insights", crash)
    scheduler = Scheduler(store, settings, stages=("links", "digests", "deliver"))

    with pytest.raises(StagesFailed, match="ZeroDivisionError"):
        scheduler.tick(NOW)
    assert len(sink.messages) == 1 and scheduler.last_processing == NOW
    assert scheduler.due_stages(NOW + timedelta(minutes=1)) == ()  # links waits for its interval
    assert len(calls) == 1
    with store.session() as session:
        assert session.scalar(select(Delivery.status)) == "sent"
