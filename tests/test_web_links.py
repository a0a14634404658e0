"""The endpoints behind digest links, served by real uvicorn on 127.0.0.1 and called over HTTP: a GET
only asks, a POST records; forged tokens and insights never sent are refused; RFC 8058 one-click works."""

from __future__ import annotations

import threading
import time

import httpx
import pytest
import uvicorn
from conftest import free_port
from sqlalchemy import select

from podsight.pipeline.digest_view import unsubscribe_url, vote_url
from podsight.store.models import DigestItemRow, DigestRow, Episode, Feed, Feedback, InsightRow, Subscriber
from podsight.store.queries import add_subscriber
from podsight.web import create_app

pytestmark = pytest.mark.both_backends  # SQLite and a real PostgreSQL (tests/conftest.py)


@pytest.fixture
def site(settings, store):
    port = free_port()
    settings.base_url = f"http://127.0.0.1:{port}"
    with store.session() as session:
        sub, _ = add_subscriber(session, "reader@example.com", "UTC", 7, "", [])
        episode = Episode(feed=Feed(url="http://x/f.xml"), key="k", title="T")
        sent = InsightRow(episode=episode, claim="Buses beat diesel on cost.", quote="q", kind="claim", importance=0.5,
                          start_s=0, end_s=1, match_score=100, model="m", prompt_version="v")
        unsent = InsightRow(episode=episode, claim="Never sent.", quote="q", kind="claim", importance=0.5,
                            start_s=0, end_s=1, match_score=100, model="m", prompt_version="v")
        session.add_all([sent, unsent])
        session.flush()
        session.add(DigestRow(subscriber_id=sub.id, day="2026-11-30", items=[DigestItemRow(insight_id=sent.id, position=0, score=1)]))
        ids = (sub.id, sent.id, unsent.id)
    server = uvicorn.Server(uvicorn.Config(create_app(settings, store), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    yield settings, store, ids
    server.should_exit = True
    thread.join(5)


def votes(store) -> list[tuple[int, int]]:
    with store.session() as session:
        return [(f.insight_id, f.vote) for f in session.scalars(select(Feedback))]


def test_vote_link_asks_on_get_and_records_on_post(site):
    settings, store, (sub, sent, _) = site
    url = vote_url(settings, sub, sent, -1)
    page = httpx.get(url)
    assert page.status_code == 200 and "Buses beat diesel" in page.text and "<form method=\"post\"" in page.text
    assert votes(store) == []  # a mail scanner opening the link records nothing
    assert httpx.post(url).status_code == 200
    assert httpx.post(vote_url(settings, sub, sent, 1)).status_code == 200  # changing one's mind replaces
    assert votes(store) == [(sent, 1)]


def test_forged_or_unsent_vote_links_are_refused(site):
    settings, store, (sub, sent, unsent) = site
    good = vote_url(settings, sub, sent, 1)
    assert httpx.post(good[:-2] + ("AA" if not good.endswith("AA") else "BB")).status_code == 404
    assert httpx.post(vote_url(settings, sub, unsent, 1)).status_code == 404
    assert httpx.get(f"{settings.base_url}/feedback/garbage").status_code == 404
    assert votes(store) == []


def test_one_click_unsubscribe_per_rfc_8058(site):
    settings, store, _ = site
    url = unsubscribe_url(settings, "reader@example.com")
    assert "Unsubscribe" in httpx.get(url).text
    with store.session() as session:
        assert session.scalar(select(Subscriber.status)) == "active"
    answer = httpx.post(url, content="List-Unsubscribe=One-Click",
                        headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert answer.status_code == 200 and "no more digests" in answer.text
    assert httpx.post(url).status_code == 200  # twice is fine
    with store.session() as session:
        assert session.scalar(select(Subscriber.status)) == "unsubscribed"
    assert httpx.post(url.replace("/unsubscribe/", "/unsubscribe/x")).status_code == 404
