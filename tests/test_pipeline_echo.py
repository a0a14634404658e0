"""The echo signal's runner side: recent episodes' claim vectors read from a real SQLite store, kept up to
date as episodes are extracted, and never an episode's echo of itself."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from podsight.embed import pack_vector
from podsight.pipeline.extract import RecentClaims
from podsight.store.episodes import replace_segments
from podsight.records import Segment
from podsight.store.models import Episode, InsightRow
from podsight.store.queries import add_feed

pytestmark = pytest.mark.both_backends  # SQLite and a real PostgreSQL (tests/conftest.py)

DIM = 4


class AxisEmbedder:
    """Stands in for MiniLM in this test: only its name and dimension are read."""

    name, dim = "axis-embedder", DIM


def axis(n: int) -> np.ndarray:
    return np.eye(DIM, dtype=np.float32)[n]


def add_episode(session, feed, key: str, seen: datetime, claim_axes: list[int], model: str = AxisEmbedder.name) -> int:
    episode = Episode(feed_id=feed.id, key=key, title=key, first_seen_at=seen, state="extracted")
    session.add(episode)
    session.flush()
    for n in claim_axes:
        session.add(InsightRow(episode_id=episode.id, claim=f"claim {n}", quote="q", kind="claim", importance=1.0,
                               start_s=0, end_s=1, match_score=100, model="m", prompt_version="p",
                               embedding=pack_vector(axis(n), "float16"), embed_model=model))
    return episode.id


def test_recent_claims_come_from_other_recent_episodes_and_follow_extraction(store, settings):
    now = datetime.now(timezone.utc)
    with store.session() as session:
        feed, _ = add_feed(session, "https://example.com/feed.xml")
        first = add_episode(session, feed, "a", now - timedelta(days=1), [0])
        add_episode(session, feed, "old", now - timedelta(days=settings.max_episode_age_days + 1), [1])
        add_episode(session, feed, "other-model", now, [2], model="another-embedder")
        second = add_episode(session, feed, "b", now, [])

    recent = RecentClaims.load(store, settings, AxisEmbedder())
    passages = np.stack([axis(0), axis(1), axis(2), axis(3)])
    assert recent.echo_for(second)(passages).round(3).tolist() == [1.0, 0.0, 0.0, 0.0]  # old and other-model unread
    assert recent.echo_for(first)(passages).tolist() == [0.0, 0.0, 0.0, 0.0]  # never its own claims

    recent.add(second, np.stack([axis(3)]))  # the second episode extracted in this run: the first now echoes it
    assert recent.echo_for(first)(passages).round(3).tolist() == [0.0, 0.0, 0.0, 1.0]
    recent.add(first, np.stack([axis(1)]))  # re-extracted: its claims are replaced, not added to
    assert recent.echo_for(second)(passages).round(3).tolist() == [0.0, 1.0, 0.0, 0.0]
    assert recent.echo_for(second)(np.zeros((0, DIM))).shape == (0,)


def test_no_recent_claims_means_no_echo(store, settings):
    recent = RecentClaims.load(store, settings, AxisEmbedder())
    assert recent.echo_for(1)(np.stack([axis(0)])).tolist() == [0.0]


class TopicEmbedder:
    """Stands in for MiniLM: a passage about sleep points one way, anything else another."""

    name, dim = "topic-embedder", DIM

    def embed(self, texts):
        return np.stack([axis(0) if "sleep" in text else axis(1) for text in texts]) if texts else np.zeros((0, DIM))


def queued_episode(session, feed, key: str, topic: str) -> int:
    episode = Episode(feed_id=feed.id, key=key, title=key, state="transcribed")
    session.add(episode)
    session.flush()
    answer = (f"The evidence on {topic} is clearer than most people think, because the same result shows up in "
              f"every careful study of {topic} we have run over the last ten years, across many countries.")
    replace_segments(session, episode.id, [
        Segment(start=300.0, end=304.0, text=f"What does the research say about {topic}?", speaker="Host"),
        Segment(start=304.5, end=320.0, text=answer, speaker="Guest"),
    ], [None, None])
    return episode.id


def test_queued_episodes_echo_each_other_before_either_is_extracted(store, settings):
    with store.session() as session:
        feed, _ = add_feed(session, "https://example.com/feed.xml")
        first, second = queued_episode(session, feed, "a", "sleep"), queued_episode(session, feed, "b", "sleep")
        pricing = queued_episode(session, feed, "c", "pricing")

    recent = RecentClaims.none(TopicEmbedder())
    recent.add_queued_passages(store)
    sleep_passage, pricing_passage = np.stack([axis(0)]), np.stack([axis(1)])
    assert recent.echo_for(first)(sleep_passage).round(3).tolist() == [1.0]  # the second's passage
    assert recent.echo_for(pricing)(pricing_passage).round(3).tolist() == [0.0]  # its own passage does not count
    recent.add(first, np.stack([axis(2)]))  # the first extracted: its passages still echo for the second
    assert recent.echo_for(second)(sleep_passage).round(3).tolist() == [1.0]
