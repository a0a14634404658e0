"""`podsight demo` for real: the demo shows over HTTP, the embedded Qwen2.5-Coder-1.5B model, a digest.

Slow (minutes on 2 cores): it is the README's first command, so it is worth the time. Every quote in the
digest must stand verbatim in the stored transcript, and a second run must cost no model tokens.
"""

from __future__ import annotations

import re

import pytest
from conftest import free_port
from sqlalchemy import select
from typer.testing import CliRunner

from podsight.cli import app
from podsight.config import Settings
from podsight.store.db import Store
from podsight.store.models import DigestRow, Episode, InsightRow, TranscriptSegment

pytestmark = pytest.mark.slow


def normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def test_demo_produces_a_verified_digest_and_reruns_for_free(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    home = tmp_path / "home"
    port = str(free_port())  # the same port both times: feed URLs, and so feeds, stay the same
    first = CliRunner().invoke(app, ["--home", str(home), "demo", "--port", port])
    assert first.exit_code == 0, first.output
    assert "HTML digest:" in first.output

    store = Store(Settings(home=home).db_url)
    with store.session() as session:
        digest = session.scalar(select(DigestRow))
        items = [item.insight for item in digest.items]
        assert 3 <= len(items) <= 5
        for insight in items:
            transcript = " ".join(session.scalars(
                select(TranscriptSegment.text).where(TranscriptSegment.episode_id == insight.episode_id)
                .order_by(TranscriptSegment.idx)
            ))
            assert normalise(insight.quote) in normalise(transcript)
            assert insight.model == "qwen2.5-coder-1.5b" and insight.prompt_version
        per_episode = {}
        for insight in items:
            per_episode[insight.episode_id] = per_episode.get(insight.episode_id, 0) + 1
        assert max(per_episode.values()) <= 2
        states = sorted(session.scalars(select(Episode.state)))
        assert states.count("extracted") == 7 and states.count("needs_asr") == 1
        insights_before = len(list(session.scalars(select(InsightRow.id))))

    second = CliRunner().invoke(app, ["--home", str(home), "demo", "--port", port])
    assert second.exit_code == 0, second.output
    with store.session() as session:
        assert len(list(session.scalars(select(InsightRow.id)))) == insights_before
        assert len(list(session.scalars(select(DigestRow.id)))) == 1
    assert "insights     episodes 0" in second.output
