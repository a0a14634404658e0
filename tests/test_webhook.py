"""Webhook delivery: Slack- and Discord-shaped JSON within the services' limits, posted to a real HTTP
server on 127.0.0.1 (tests/servers.py), retried with the outbox's backoff, refused for good on a 4xx."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from seeding import seed_insights, subscriber
from servers import Request, Static, hang, serve
from sqlalchemy import select
from typer.testing import CliRunner

from podsight.cli import app
from podsight.digest.webhook import (WebhookRejected, WebhookUnavailable, discord_payload, post_digest,
                                     slack_payload, webhook_kind)
from podsight.pipeline import run
from podsight.records import Digest, DigestItem
from podsight.store.models import Delivery

pytestmark = pytest.mark.both_backends  # SQLite and a real PostgreSQL (tests/conftest.py)

NOW = datetime(2026, 6, 3, 6, 0, tzinfo=timezone.utc)  # 08:00 in Paris, after the 07:00 send hour
STAGES = ("digests", "deliver")


def item(n: int, quote: str = "Battery pack prices fell by about ninety percent",
         claim: str | None = None) -> DigestItem:
    return DigestItem(
        insight_id=n, claim=claim or f"Electric buses now beat diesel on cost ({n}).", why="Cities can switch.",
        quote=quote, speaker="Bo Guest", kind="data_point", start_s=65.0, show_title="Transit Talk",
        episode_title=f"Buses {n}", episode_url=f"https://shows.example/{n}.mp3#t=65", score=1.0,
    )


def digest(*items: DigestItem) -> Digest:
    return Digest(subscriber_email="reader@example.com", day="2026-06-03", items=items)


@pytest.mark.parametrize("url, kind", [
    ("https://discord.com/api/webhooks/123/abc", "discord"),
    ("https://ptb.discordapp.com/api/webhooks/123/abc", "discord"),
    ("https://discord.com/channels/123", "slack"),  # not a webhook path
    ("https://hooks.slack.com/services/T0/B0/xyz", "slack"),
    ("https://notdiscord.com/api/webhooks/1/a", "slack"),
    ("http://127.0.0.1:9999/hook", "slack"),
])
def test_discord_is_told_apart_by_host_and_path(url, kind):
    assert webhook_kind(url) == kind


def test_payloads_stay_within_slack_and_discord_limits():
    huge = "@everyone <script>& " + "word " * 3000
    big = digest(*(item(n, quote=huge, claim="A very long claim " * 40) for n in range(60)))

    slack = slack_payload(big)
    assert len(slack["text"]) <= 40_000 and len(slack["blocks"]) <= 50
    sections = [b for b in slack["blocks"] if b["type"] == "section"]
    assert sections and all(len(b["text"]["text"]) <= 3000 for b in sections)
    assert len(slack["blocks"][0]["text"]["text"]) <= 150
    assert "<script>" not in json.dumps(slack) and "&lt;script&gt;" in sections[0]["text"]["text"]

    discord = discord_payload(big)
    assert len(discord["content"]) <= 2000 and len(discord["embeds"]) == 10
    assert all(len(e["title"]) <= 256 and len(e["description"]) <= 4096 for e in discord["embeds"])
    assert sum(len(e["title"]) + len(e["description"]) for e in discord["embeds"]) <= 6000
    assert discord["allowed_mentions"] == {"parse": []}  # "@everyone" in a quote pings nobody


def test_short_digest_payloads_carry_claim_quote_and_link():
    small = digest(item(1))
    section = slack_payload(small)["blocks"][2]["text"]["text"]
    assert "*Electric buses now beat diesel on cost (1).*" in section
    assert "> Battery pack prices" in section and "<https://shows.example/1.mp3#t=65|Bo Guest, Transit Talk" in section
    [embed] = discord_payload(small)["embeds"]
    assert embed["url"] == "https://shows.example/1.mp3#t=65" and "Battery pack prices" in embed["description"]
    assert "1:05" in embed["description"]


def test_discord_shaped_post_reaches_a_real_server():
    log: list[Request] = []
    with serve({"/api/webhooks/1/tok": Static(status=204)}, log=log) as base:
        post_digest(base + "/api/webhooks/1/tok", digest(item(1), item(2)), kind="discord", timeout_s=2, allow_private=True)
    [request] = log
    body = json.loads(request.body)
    assert request.method == "POST" and request.headers["Content-Type"] == "application/json"
    assert body["content"].startswith("Your podsight digest for 3 Jun 2026") and len(body["embeds"]) == 2


@pytest.mark.parametrize("answer, error", [
    (Static(status=404, body=b"no_service"), WebhookRejected),
    (Static(status=429, headers={"Retry-After": "30"}), WebhookUnavailable),
    (Static(status=503), WebhookUnavailable),
])
def test_http_errors_are_told_apart(answer, error):
    with serve({"/hook": answer}) as base:
        with pytest.raises(error) as caught:
            post_digest(base + "/hook", digest(item(1)), timeout_s=2, allow_private=True)
    assert str(answer.status) in str(caught.value)
    assert "/hook" not in str(caught.value)  # the secret part of the URL is never in a message


@pytest.fixture
def reader(settings, store):
    """A Paris reader with email off and a webhook to fill in; insights waiting."""
    settings.max_episode_age_days = 30
    seed_insights(store, 6, first_seen=NOW - timedelta(days=1))

    def make(url: str) -> None:
        subscriber(store, "reader@example.com", "Europe/Paris", 7, webhook_url=url, email_enabled=False)

    return make


def deliveries(store) -> dict[str, Delivery]:
    with store.session() as session:
        return {d.channel: d for d in session.scalars(select(Delivery))}


def test_slack_shaped_digest_is_posted_once_and_its_url_never_stored(settings, store, reader):
    log: list[Request] = []
    with serve({"/services/T0/B0/secret": Static(body=b"ok")}, log=log) as base:
        reader(base + "/services/T0/B0/secret")
        run(store, settings, now=NOW, stages=STAGES)
        run(store, settings, now=NOW + timedelta(hours=1), stages=STAGES)
    [request] = log
    body = json.loads(request.body)
    assert body["text"].startswith("Your podsight digest for 3 Jun 2026: 5 insights")
    assert body["blocks"][0]["type"] == "header" and "Claim number" in body["blocks"][2]["text"]["text"]
    rows = deliveries(store)
    assert set(rows) == {"file", "webhook"}  # email off for this reader
    assert rows["webhook"].status == "sent" and "secret" not in rows["webhook"].target


def test_a_webhook_answering_500_then_200_is_retried_and_sent_once(settings, store, reader):
    answers = [Static(status=500, body=b"oops"), Static(body=b"ok")]
    log: list[Request] = []
    with serve({"/hook": lambda request: answers.pop(0) if len(answers) > 1 else answers[0]}, log=log) as base:
        reader(base + "/hook")
        run(store, settings, now=NOW, stages=STAGES)
        row = deliveries(store)["webhook"]
        assert (row.status, row.attempts) == ("pending", 1) and "500" in row.last_error
        assert row.next_attempt_at == NOW + timedelta(minutes=5)
        run(store, settings, now=NOW + timedelta(minutes=2), stages=STAGES)  # backoff: not due yet
        assert len(log) == 1
        for minutes in (6, 30, 90):
            run(store, settings, now=NOW + timedelta(minutes=minutes), stages=STAGES)
    assert len(log) == 2
    row = deliveries(store)["webhook"]
    assert (row.status, row.attempts, row.last_error) == ("sent", 2, None)


def test_429_waits_as_long_as_the_service_asks(settings, store, reader):
    with serve({"/hook": Static(status=429, headers={"Retry-After": "3600"})}) as base:
        reader(base + "/hook")
        run(store, settings, now=NOW, stages=STAGES)
    assert deliveries(store)["webhook"].next_attempt_at == NOW + timedelta(hours=1)


def test_a_silent_webhook_times_out_and_stays_pending(settings, store, reader):
    settings.fetch_timeout_s = 0.3
    with serve({"/hook": hang(1.0)}) as base:
        reader(base + "/hook")
        run(store, settings, now=NOW, stages=STAGES)
    row = deliveries(store)["webhook"]
    assert row.status == "pending" and "could not be reached" in row.last_error


def test_a_404_webhook_fails_at_once_and_podsight_status_shows_why(settings, store, reader, monkeypatch):
    monkeypatch.chdir(settings.home.parent)  # no stray podsight.toml
    with serve({}) as base:  # every path is 404
        reader(base + "/services/revoked")
        run(store, settings, now=NOW, stages=STAGES)
        run(store, settings, now=NOW + timedelta(hours=2), stages=STAGES)
    row = deliveries(store)["webhook"]
    assert (row.status, row.attempts) == ("failed", 1) and "404" in row.last_error

    shown = CliRunner().invoke(app, ["--home", str(settings.home), "status", "--json"])
    report = json.loads(shown.output)["deliveries"]
    assert report["counts"]["failed"] == 1 and report["counts"]["sent"] == 1  # the file went out
    [failed] = report["failed"]
    assert failed["channel"] == "webhook" and "404" in failed["error"] and "check the subscriber" in failed["error"]
    text = CliRunner().invoke(app, ["--home", str(settings.home), "status"], terminal_width=200)
    assert "failed after 1 tries" in text.output and "404 Not Found" in text.output


def test_channels_follow_each_subscribers_choices(settings, store, mail_sink):
    sink, port = mail_sink
    settings.smtp_host, settings.smtp_port, settings.smtp_security = "127.0.0.1", port, "none"
    settings.max_episode_age_days = 30
    seed_insights(store, 4, first_seen=NOW - timedelta(days=1))
    with serve({"/hook": Static(body=b"ok")}) as base:
        subscriber(store, "mail@example.com", "Europe/Paris", 7)
        subscriber(store, "chat@example.com", "Europe/Paris", 7, webhook_url=base + "/hook", email_enabled=False)
        run(store, settings, now=NOW, stages=STAGES)
    with store.session() as session:
        rows = sorted((d.digest.subscriber.email, d.channel, d.status) for d in session.scalars(select(Delivery)))
    assert rows == [("chat@example.com", "file", "sent"), ("chat@example.com", "webhook", "sent"),
                    ("mail@example.com", "email", "sent"), ("mail@example.com", "file", "sent")]
    assert [m["To"] for m in sink.messages] == ["mail@example.com"]
