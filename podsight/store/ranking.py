"""The digest stage's questions and answers, in records: the insights a subscriber may get today (with
their links and vectors), what they were sent and how they voted, and the day's digest with its outbox rows
committed in one transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .db import Store
from .models import Delivery, DigestItemRow, DigestRow, Episode, Feedback, InsightRow, Subscriber
from .queries import followed_feed_ids, linked_ids, sent_insight_ids
from .subscribers import digest_made


@dataclass(frozen=True)
class Candidate:
    """An insight a subscriber may get today: from a feed they follow, first seen recently, never sent to
    them. `embedding` is None unless it is of the asked model."""

    insight_id: int
    episode_id: int
    feed_id: int
    claim: str
    kind: str
    importance: float
    published_at: datetime | None
    embedding: bytes | None
    same_as: frozenset[int]
    disputes: frozenset[int]


@dataclass(frozen=True)
class Pick:
    insight_id: int
    score: float
    reasons: tuple[str, ...]


def candidates(store: Store, subscriber_id: int, since: datetime, model: str) -> tuple[list[Candidate], set[int]]:
    """The subscriber's candidates (`Candidate`) and the ids of every insight already sent to them."""
    with store.session() as session:
        sub = session.get(Subscriber, subscriber_id)
        sent = sent_insight_ids(session, subscriber_id)
        rows = [row for row in session.execute(
            select(InsightRow.id, InsightRow.episode_id, Episode.feed_id, InsightRow.claim, InsightRow.kind,
                   InsightRow.importance, Episode.published_at, InsightRow.embedding, InsightRow.embed_model)
            .join(Episode).where(Episode.feed_id.in_(followed_feed_ids(session, sub)), Episode.first_seen_at >= since)
        ) if row.id not in sent]
        ids = [row.id for row in rows]
        same, disputes = linked_ids(session, ids, "corroborating"), linked_ids(session, ids, "contradicting")
    return [Candidate(row.id, row.episode_id, row.feed_id, row.claim, row.kind, row.importance, row.published_at,
                      row.embedding if row.embed_model == model else None, frozenset(same.get(row.id, ())),
                      frozenset(disputes.get(row.id, ()))) for row in rows], sent


def stored_vectors(store: Store, insight_ids: Iterable[int], model: str) -> list[tuple[int, bytes]]:
    """(id, embedding) of the insights that have a stored embedding of `model`."""
    ids = list(insight_ids)
    if not ids:
        return []
    with store.session() as session:
        return [(r.id, r.embedding) for r in session.execute(select(InsightRow.id, InsightRow.embedding).where(
            InsightRow.id.in_(ids), InsightRow.embed_model == model, InsightRow.embedding.is_not(None)))]


def votes(store: Store, subscriber_id: int) -> list[tuple[int, int]]:
    """(insight id, +1 or -1) for each vote the subscriber cast."""
    with store.session() as session:
        return [tuple(row) for row in session.execute(
            select(Feedback.insight_id, Feedback.vote).where(Feedback.subscriber_id == subscriber_id))]


def save_digest(store: Store, subscriber_id: int, day: str, now: datetime, picks: Sequence[Pick],
                channels: Sequence[tuple[str, str | None]]) -> bool:
    """The day's digest, its items in order and one outbox row per (channel, target), in one transaction.
    False when the digest for that day exists (made by another run meanwhile: theirs stands)."""
    try:
        with store.session() as session:
            if digest_made(session, subscriber_id, day):
                return False
            digest = DigestRow(subscriber_id=subscriber_id, day=day, created_at=now)
            digest.items = [DigestItemRow(insight_id=p.insight_id, position=i, score=p.score, reasons=list(p.reasons))
                            for i, p in enumerate(picks)]
            session.add(digest)
            session.flush()
            session.add_all(Delivery(digest_id=digest.id, channel=channel, target=target) for channel, target in channels)
    except IntegrityError:  # the unique (subscriber, day) caught a run that made it at the same moment
        return False
    return True
