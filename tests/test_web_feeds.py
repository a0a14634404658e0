"""The private Atom feed per subscriber, `GET /feeds/{token}.atom`, through the real app (TestClient)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit
from xml.etree import ElementTree

import pytest
from fastapi.testclient import TestClient
from seeding import seed_insights, subscriber
from sqlalchemy import select

from podsight.digest.tokens import sign
from podsight.pipeline import run
from podsight.store.models import Subscriber
from podsight.web import create_app
from podsight.web.feeds import atom_feed_url

pytestmark = pytest.mark.both_backends  # SQLite and a real PostgreSQL (tests/conftest.py)

ATOM = "{http://www.w3.org/2005/Atom}"
NOW = datetime(2026, 6, 3, 6, 0, tzinfo=timezone.utc)


@pytest.fixture
def client(settings, store):
    settings.max_episode_age_days, settings.digest_size = 30, 2
    seed_insights(store, 6, first_seen=NOW - timedelta(days=1))
    sub_id = subscriber(store, "reader@example.com", "Europe/Paris", 7)
    for day in range(2):
        run(store, settings, now=NOW + timedelta(days=day), stages=("digests",))
    with TestClient(create_app(settings, store)) as client:
        yield client, urlsplit(atom_feed_url(settings, sub_id)).path


def test_feed_lists_the_readers_digests_newest_first(client):
    client, path = client
    response = client.get(path)
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/atom+xml")
    feed = ElementTree.fromstring(response.content)
    entries = feed.findall(f"{ATOM}entry")
    assert len(entries) == 2
    assert [e.find(f"{ATOM}id").text.rsplit("/", 1)[1] for e in entries] == ["2026-06-04", "2026-06-03"]
    assert "Claim number" in response.text
    self_link = [link.get("href") for link in feed.findall(f"{ATOM}link") if link.get("rel") == "self"]
    assert self_link and self_link[0].endswith(path)


def test_unchanged_feed_answers_304(client):
    client, path = client
    first = client.get(path)
    again = client.get(path, headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b""


def test_forged_or_foreign_tokens_are_404(client, settings):
    client, path = client
    assert client.get(path.replace(".atom", "x.atom")).status_code == 404
    other_purpose = sign(settings.secret_key.get_secret_value(), "unsubscribe", "1")  # a token for something else
    assert client.get(f"/feeds/{other_purpose}.atom").status_code == 404
    unknown = sign(settings.secret_key.get_secret_value(), "atom", "999")
    assert client.get(f"/feeds/{unknown}.atom").status_code == 404


def test_unsubscribed_feed_is_gone(client, store):
    client, path = client
    with store.session() as session:
        session.scalar(select(Subscriber)).status = "unsubscribed"
    assert client.get(path).status_code == 410
