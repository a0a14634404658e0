"""A bad day, end to end: ONE daily run meets every kind of broken input at once, and the healthy show's
digest is still built and delivered in that run; every bad item keeps a reason `podsight status --json`
shows; a second run does nothing twice (no email, no digest, no model call, no fetch of a bad link again).

Real servers throughout: feeds and transcripts over HTTP, a byte-trickling raw socket server,
tests/fake_llm_server.py (a scripted fake of an OpenAI-compatible endpoint, named as such) and aiosmtpd.

The private-address check stays ON here (allow_private_addresses=False), so the redirect to a private
address is refused by the real check. To have servers that count as public on one machine, this test uses
tests/test_ssrf.py's TEST SEAM: `podsight.http.address_problem` is monkeypatched so that 127.0.0.2, and only
it, passes as public; every other address (the redirect's target, 127.0.0.1) is judged by the real
classifier. The model endpoint and the SMTP server stay on 127.0.0.1: podsight does not apply the check to
llm_base_url or smtp_host, which the admin sets (podsight/config.py).
"""

from __future__ import annotations

import json
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from email.utils import format_datetime

import pytest
from fake_llm_server import FakeLLMServer
from servers import Request, Static, redirect, serve, serve_raw, trickle
from sqlalchemy import select
from test_pipeline_full import GROUNDED, NOW, TRANSCRIPT, answer
from test_ssrf import PUBLIC_STAND_IN, serve_on
from typer.testing import CliRunner

import podsight.http as http
from podsight.cli import app
from podsight.pipeline import run
from podsight.store.models import Delivery, DigestRow, Episode, Feed, InsightRow
from podsight.store.queries import add_feed, add_subscriber

pytestmark = pytest.mark.both_backends  # SQLite and a real PostgreSQL (tests/conftest.py)

DEADLINE_S = 1.5
RSS = {"Content-Type": "application/rss+xml"}
VTT = {"Content-Type": "text/vtt"}
REFUSED = "Zeppelin"  # a word only the transcript the model refuses has
MALFORMED_FEED_URL = "http://[::1/feed.xml"  # stored as it was before `feeds add` checked URLs
BAD_LINK = "http://[::1/x.vtt"  # the feed parser checks only the prefix; httpx raises InvalidURL


def compressed_zeros(n: int) -> bytes:
    """`n` zero bytes, gzip-compressed without ever holding them: a compression bomb (~1/1000 the size)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = bytes(1 << 20)
    return b"".join([packer.compress(block) for _ in range(n >> 20)] + [packer.flush()])


@contextmanager
def serve_trickle(host: str) -> Iterator[str]:
    """A raw TCP server on `host` that answers with a status line, then one header byte every 0.2 s for
    8 s: never idle long enough for the read timeout, far longer than the deadline."""
    with serve_raw(trickle(b"HTTP/1.1 200 OK\r\n", b"X", 0.2, 8.0), host) as base:
        yield base


def rss(title: str, items: list[tuple[str, str]]) -> str:
    """One item per (guid, transcript url), all published in the hour before NOW."""
    xml = "".join(
        f"<item><title>{guid}</title><guid>{guid}</guid>"
        f"<pubDate>{format_datetime(NOW - timedelta(minutes=5 * (n + 1)))}</pubDate>"
        f'<podcast:transcript url="{url}" type="text/vtt"/></item>'
        for n, (guid, url) in enumerate(items)
    )
    return ('<rss version="2.0" xmlns:podcast="https://podcastindex.org/namespace/1.0"><channel>'
            f"<title>{title}</title>{xml}</channel></rss>")


@pytest.fixture
def public_stand_in(monkeypatch):
    """TEST SEAM (as in tests/test_ssrf.py): 127.0.0.2 counts as public; every other address is judged by
    the real classifier, so 127.0.0.1 and ::1 are refused as loopback."""
    real = http.address_problem
    monkeypatch.setattr(http, "address_problem", lambda address: None if address == PUBLIC_STAND_IN else real(address))


def test_one_run_on_a_bad_day_delivers_the_healthy_show_and_stores_every_reason(settings, store, mail_sink,
                                                                               public_stand_in, monkeypatch):
    sink, port = mail_sink
    settings.smtp_host, settings.smtp_port, settings.smtp_security = "127.0.0.1", port, "none"
    settings.allow_private_addresses = False  # the real check runs; only the stand-in passes as public
    settings.fetch_timeout_s, settings.fetch_deadline_s = 1.0, DEADLINE_S
    settings.max_feed_bytes = 1 << 20  # feeds and transcripts: 1 MiB
    settings.backfill_episodes = 10  # a first scan takes all five of the rough show's episodes
    settings.max_attempts = 1  # every bad episode is `failed` after this run, so the rerun has nothing to retry

    log: list[Request] = []
    private_log: list[Request] = []
    table: dict = {}
    with serve({"/secret.vtt": Static(body=TRANSCRIPT, headers=VTT)}, private_log) as private, \
            serve_on(PUBLIC_STAND_IN, table, log) as public, serve_trickle(PUBLIC_STAND_IN) as slow:
        table.update({
            "/healthy.xml": Static(body=rss("Healthy Show", [("good", public + "/good.vtt")]), headers=RSS,
                                   etag='"h1"'),
            # broken past what the recovering parser reads (a truncated document it does recover)
            "/broken.xml": Static(body='<?xml version="1.0"?><<rss version="2.0"><channel><title>Broken</title>',
                                  headers=RSS),
            "/rough.xml": Static(body=rss("Rough Show", [
                ("bad-link", BAD_LINK),
                ("bomb", public + "/bomb.vtt"),
                ("trickle", slow + "/t.vtt"),
                ("to-private", public + "/moved.vtt"),
                ("refused", public + "/refused.vtt"),
            ]), headers=RSS, etag='"r1"'),
            "/good.vtt": Static(body=TRANSCRIPT, headers=VTT),
            "/bomb.vtt": Static(body=compressed_zeros(64 << 20), headers={**VTT, "Content-Encoding": "gzip"}),
            "/moved.vtt": redirect(private + "/secret.vtt", 302),
            "/refused.vtt": Static(body=TRANSCRIPT.replace("city planners", f"{REFUSED} planners"), headers=VTT),
        })
        with store.session() as session:
            feeds = [add_feed(session, url)[0] for url in (public + "/healthy.xml", public + "/broken.xml",
                                                           public + "/rough.xml", MALFORMED_FEED_URL)]
            add_subscriber(session, "reader@example.com", "UTC", 7, "", feeds)

        def model(request: dict):
            if REFUSED in json.dumps(request):
                return 400, {"error": {"message": "the request exceeds the available context size"}}
            return answer(GROUNDED)

        with FakeLLMServer([model] * 20) as llm:
            settings.llm_base_url = llm.base_url
            started = time.monotonic()
            first = run(store, settings, now=NOW)
            took = time.monotonic() - started
            calls_first = len(llm.requests)
            fetched_first = len(log)
            second = run(store, settings, now=NOW + timedelta(hours=1))
            calls_second = len(llm.requests) - calls_first
        refetched = [r.path for r in log[fetched_first:]]

    # the healthy show went all the way, in the same run
    assert first["digests"]["digests"] == 1, first
    assert first["deliver"] == {"sent": 2, "failed": 0}, first  # the file and the email
    assert len(sink.messages) == 1 and sink.messages[0]["To"] == "reader@example.com"
    assert "Falling battery pack prices" in sink.messages[0].as_string()
    assert took < 30, f"the bad items cost {took:.1f} s"  # the trickle costs its deadline, nothing hangs
    assert private_log == [], "the redirect to a private address was followed"

    # every bad item has its reason where `podsight status --json` shows it
    monkeypatch.chdir(settings.home.parent)  # no stray podsight.toml
    monkeypatch.setenv("PODSIGHT_SECRET_KEY", "test-secret")
    shown = CliRunner().invoke(app, ["--home", str(settings.home), "status", "--json"])
    assert shown.exit_code == 0, shown.output
    status = json.loads(shown.output)
    feed_errors = {f["url"]: f["last_error"] for f in status["feeds"]}
    assert feed_errors[public + "/healthy.xml"] is None and feed_errors[public + "/rough.xml"] is None
    assert "is not an RSS or Atom feed: it is not XML" in feed_errors[public + "/broken.xml"], feed_errors
    assert feed_errors[MALFORMED_FEED_URL] and "URL" in feed_errors[MALFORMED_FEED_URL], feed_errors
    episode_errors = {e["title"]: e for e in status["episode_errors"]}
    assert set(episode_errors) == {"bad-link", "bomb", "trickle", "to-private", "refused"}, episode_errors
    assert {e["state"] for e in episode_errors.values()} == {"failed"}
    reasons = {title: e["error"] for title, e in episode_errors.items()}
    assert reasons["bad-link"].startswith(f"transcript: {BAD_LINK}: ") and "URL" in reasons["bad-link"]
    assert "larger than the 1 MiB cap" in reasons["bomb"], reasons["bomb"]
    assert f"passed its {DEADLINE_S:g} s deadline" in reasons["trickle"], reasons["trickle"]
    assert "127.0.0.1 is a loopback address" in reasons["to-private"], reasons["to-private"]
    assert "allow_private_addresses" in reasons["to-private"]
    assert reasons["refused"].startswith("insights: ") and "HTTP 400" in reasons["refused"], reasons["refused"]
    assert status["episodes"]["extracted"] == 1 and status["digests"] == 1
    assert status["deliveries"]["counts"]["sent"] == 2

    # the second run does nothing twice
    assert calls_second == 0, "the model was asked again"
    assert second["digests"]["digests"] == 0 and second["deliver"] == {"sent": 0, "failed": 0}, second
    assert second["transcripts"] == {"transcribed": 0, "needs_asr": 0, "errors": 0}, second
    assert len(sink.messages) == 1
    assert not any(path.endswith(".vtt") for path in refetched), refetched
    with store.session() as session:
        assert session.scalar(select(DigestRow.day)) == NOW.date().isoformat()
        assert len(session.scalars(select(DigestRow)).all()) == 1
        assert [d.status for d in session.scalars(select(Delivery))] == ["sent", "sent"]
        good = session.scalars(select(Episode).where(Episode.key == "good")).one()
        assert session.scalars(select(InsightRow.episode_id)).all() == [good.id]
        assert session.scalars(select(Feed).where(Feed.url == MALFORMED_FEED_URL)).one().consecutive_errors >= 1
    assert calls_first >= 2  # the healthy episode's answer and the refused episode's request
