"""`podsight demo` for real: the demo shows over HTTP, the embedded Qwen2.5-Coder-1.5B model, a digest.

Slow (minutes on 2 cores): it is the README's first command, so it is worth the time. Every quote in the
digest must stand verbatim in the stored transcript, and a second run must cost no model tokens. Ledger
Lines publishes audio only, so its episodes go through speech-to-text (Whisper base), and a subscriber
who follows only that show gets a digest quoting what the speech model heard.
"""

from __future__ import annotations

import re

import pytest
from conftest import free_port
from sqlalchemy import select
from typer.testing import CliRunner

from podsight.cli import app
from podsight.config import Settings
from podsight.eval.faithfulness import passage_around
from podsight.insights.chunk import split_long_segments
from podsight.insights.extract import PIECE_WORDS
from podsight.insights.faithful import faithfulness_problems, speaker_as_subject
from podsight.insights.sponsor import skip_mask
from podsight.pipeline import run as run_pipeline
from podsight.store.episodes import load_segments
from podsight.store.db import Store
from podsight.store.models import DigestRow, Episode, Feed, InsightRow, Subscriber, TranscriptSegment
from podsight.store.queries import add_subscriber, find_digest

# Slow: about 6 minutes on an idle 2-core machine (two real models); the limit leaves room for a busy one.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]
LEDGER_LINES = "/feeds/ledger-lines.xml"  # the audio-only show


def normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def plain_words(text: str) -> str:
    """Lower case, punctuation gone: how a quote is compared with what speech-to-text wrote."""
    return " ".join(re.findall(r"[\w%]+", text.lower()))


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
        _what_a_reader_sees_holds_up(session, items)
        per_episode = {}
        for insight in items:
            per_episode[insight.episode_id] = per_episode.get(insight.episode_id, 0) + 1
        assert max(per_episode.values()) <= 2
        states = sorted(session.scalars(select(Episode.state)))
        assert states == ["extracted"] * 8, states
        audio_only = list(session.scalars(select(Episode).join(Feed).where(Feed.url.endswith(LEDGER_LINES))))
        assert len(audio_only) == 2
        assert all(episode.transcript_source.startswith("asr:") for episode in audio_only)
        insights_before = len(list(session.scalars(select(InsightRow.id))))

    second = CliRunner().invoke(app, ["--home", str(home), "demo", "--port", port])
    assert second.exit_code == 0, second.output
    with store.session() as session:
        assert len(list(session.scalars(select(InsightRow.id)))) == insights_before
        assert len(list(session.scalars(select(DigestRow.id)))) == 1
    assert "insights     episodes 0" in second.output

    _ledger_lines_subscriber_gets_a_digest_from_speech_to_text(store, Settings(home=home))


def _what_a_reader_sees_holds_up(session, items) -> None:
    """Every digest item: the quote lies outside the intro and the sponsor read, the claim passes the
    faithfulness check against the transcript around its quote, the speaker is a named person, and the
    claim is about the idea, not about the speaker or the passage."""
    for insight in items:
        segments = load_segments(session, insight.episode_id)
        pieces = split_long_segments(segments, max_words=PIECE_WORDS)
        skipped = [p for p, skip in zip(pieces, skip_mask(pieces)) if skip]
        assert not any(p.end > insight.start_s and p.start < insight.end_s for p in skipped), insight.quote
        names = [person["name"] for person in insight.episode.persons or []]
        problems = faithfulness_problems(insight.claim, passage_around(segments, insight), insight.quote,
                                         known_names=tuple(names))
        assert not problems, (insight.claim, problems)
        assert insight.speaker and not re.fullmatch(r"(?:Speaker \d+|Host|Guest|unknown.*)", insight.speaker), insight
        assert not speaker_as_subject(insight.claim), insight.claim
        assert not re.match(r"(?i)the (?:passage|speaker|main idea)", insight.claim), insight.claim


def _ledger_lines_subscriber_gets_a_digest_from_speech_to_text(store: Store, settings: Settings) -> None:
    with store.session() as session:
        ledger = session.scalar(select(Feed).where(Feed.url.endswith(LEDGER_LINES)))
        add_subscriber(session, "ledger@example.com", "UTC", 7, "economics", [ledger])
        ledger_id = ledger.id
    run_pipeline(store, settings, stages=("digests",), ignore_send_hour=True)
    with store.session() as session:
        sub = session.scalar(select(Subscriber).where(Subscriber.email == "ledger@example.com"))
        digest = find_digest(session, sub, None)
        assert digest is not None and digest.items
        for item in digest.items:
            insight = item.insight
            assert insight.episode.feed_id == ledger_id
            assert insight.episode.transcript_source.startswith("asr:")
            heard = plain_words(" ".join(segment.text for segment in load_segments(session, insight.episode_id)))
            assert plain_words(insight.quote) in heard, insight.quote
