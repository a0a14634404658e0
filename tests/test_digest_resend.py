"""`podsight digest resend`: a delivery of unknown fate (the run stopped mid-send) is sent again only when
the user agrees that the subscriber may get it twice; `--yes` agrees in advance (issue 11, finding 12)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from seeding import seed_insights, subscriber
from sqlalchemy import select
from typer.testing import CliRunner

from podsight.cli import app
from podsight.config import Settings
from podsight.pipeline.deliver import IN_FLIGHT_NOTE
from podsight.store.db import Store
from podsight.store.models import Delivery, DigestItemRow, DigestRow

pytestmark = pytest.mark.both_backends  # SQLite and a real PostgreSQL (tests/conftest.py)

runner = CliRunner()
NOW = datetime(2026, 11, 30, 12, tzinfo=timezone.utc)


@pytest.fixture
def unsure(tmp_path, monkeypatch, mail_sink):
    """A digest whose email delivery is `unknown`, SMTP pointing at the suite's aiosmtpd server."""
    sink, port = mail_sink
    monkeypatch.chdir(tmp_path)  # no stray podsight.toml
    for name, value in {"PODSIGHT_SMTP_HOST": "127.0.0.1", "PODSIGHT_SMTP_PORT": str(port),
                        "PODSIGHT_SMTP_SECURITY": "none", "PODSIGHT_SECRET_KEY": "test-secret"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("PODSIGHT_CONFIG", raising=False)
    home = tmp_path / "home"
    store = Store(Settings(home=home).db_url)
    ids = seed_insights(store, 4, NOW)
    sub_id = subscriber(store, "reader@example.com", "Europe/Paris", 7)
    with store.session() as session:
        digest = DigestRow(subscriber_id=sub_id, day="2026-11-30",
                           items=[DigestItemRow(insight_id=i, position=n, score=1.0) for n, i in enumerate(ids[:3])])
        session.add(digest)
        session.flush()
        session.add(Delivery(digest_id=digest.id, channel="email", status="unknown", attempts=1, last_error=IN_FLIGHT_NOTE))
    yield home, store, sink
    store.close()


def invoke(home, *args, input=None):
    result = runner.invoke(app, ["--home", str(home), "digest", "resend", *args], input=input)
    result.text = " ".join(result.output.split())
    return result


def status(store) -> str:
    with store.session() as session:
        return session.scalar(select(Delivery.status))


def test_declining_sends_nothing_and_keeps_the_delivery_unknown(unsure):
    home, store, sink = unsure
    result = invoke(home, input="n\n")
    assert result.exit_code == 1, result.output
    assert "may get the digest twice" in result.text and "reader@example.com" in result.text
    assert "Nothing resent" in result.text
    assert sink.messages == [] and status(store) == "unknown"
    assert invoke(home, input="\n").exit_code == 1 and sink.messages == []  # the default is no


def test_confirming_resends_once(unsure):
    home, store, sink = unsure
    result = invoke(home, input="y\n")
    assert result.exit_code == 0, result.output
    assert "may get the digest twice" in result.text and "resent" in result.text
    assert len(sink.messages) == 1 and sink.messages[0]["To"] == "reader@example.com"
    assert status(store) == "sent"
    again = invoke(home, input="y\n")  # it is sent now: not of unknown fate any more
    assert again.exit_code == 0 and "nothing to resend" in again.text
    assert len(sink.messages) == 1


def test_yes_skips_the_question_and_filters_apply(unsure):
    home, store, sink = unsure
    assert "nothing to resend" in invoke(home, "--subscriber", "other@example.com", "--yes").text
    assert "nothing to resend" in invoke(home, "--date", "2026-11-29", "--yes").text
    assert sink.messages == []
    result = invoke(home, "--yes", "--subscriber", "Reader@Example.com", "--date", "2026-11-30")
    assert result.exit_code == 0 and "Resend 1 digest?" not in result.output, result.output
    assert len(sink.messages) == 1 and status(store) == "sent"


def test_a_failed_resend_is_pending_for_the_next_run(unsure):
    home, store, sink = unsure
    sink.refuse = True
    result = invoke(home, "--yes")
    assert result.exit_code == 1 and "not sent" in result.text
    assert status(store) == "pending" and sink.messages == []
