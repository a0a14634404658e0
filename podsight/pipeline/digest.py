"""Ranking + digest stage, runner side: one digest per subscriber and local day, with its outbox rows."""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from podsight.config import Settings
from podsight.digest.webhook import redact_url
from podsight.embed import Embedder, load_embedder, unpack_vector
from podsight.rank import Candidate, Ranked, rank_day
from podsight.store.db import Store
from podsight.store.models import Delivery, DigestItemRow, DigestRow, Episode, InsightRow, Subscriber
from podsight.store.queries import followed_feed_ids, linked_ids, sent_insight_ids

from .preferences import insight_vectors, preferences


def local_day(sub: Subscriber, now: datetime) -> tuple[str, int]:
    """The subscriber's local date (ISO) and hour at `now`."""
    local = now.astimezone(ZoneInfo(sub.timezone))
    return local.date().isoformat(), local.hour


def due_time(sub: Subscriber, now: datetime) -> tuple[str, datetime]:
    """The subscriber's local day at `now` and the moment (UTC) that day's digest falls due.

    Due means `send_hour`:00 local time has passed. On a spring-forward day that time may not exist
    (02:00 in Europe/Paris on the last Sunday of March): fold=0 reads it with the offset from before the
    jump, which lands just after it (03:00 CEST), so the digest still goes that day. On a fall-back day
    the hour happens twice: fold=0 picks the first, and the second finds the day's digest already made.
    """
    zone = ZoneInfo(sub.timezone)
    local_date = now.astimezone(zone).date()
    due = datetime.combine(local_date, time(sub.send_hour), tzinfo=zone)  # fold=0, see above
    return local_date.isoformat(), due.astimezone(timezone.utc)


def build_digests(store: Store, settings: Settings, now: datetime, *, ignore_send_hour: bool = False,
                  embedder: Embedder | None = None) -> dict[str, int]:
    """For each active subscriber whose send hour has come: rank the new insights, store the digest."""
    with store.session() as session:
        subscriber_ids = list(session.scalars(select(Subscriber.id).where(Subscriber.status == "active")))
    counts = {"digests": 0, "items": 0}
    if not subscriber_ids:
        return counts
    embedder = embedder or load_embedder(settings.embed_model)
    for sub_id in subscriber_ids:
        try:
            with store.session() as session:
                sub = session.get(Subscriber, sub_id)
                digest = _build_one(session, settings, sub, now, ignore_send_hour, embedder)
        except IntegrityError:  # another run made this digest at the same moment: theirs stands
            digest = None
        if digest is not None:
            counts["digests"] += 1
            counts["items"] += len(digest.items)
    return counts


def _build_one(session: Session, settings: Settings, sub: Subscriber, now: datetime, ignore_send_hour: bool,
               embedder: Embedder):
    day, due = due_time(sub, now)
    if now < due and not ignore_send_hour:
        return None
    if session.scalar(select(DigestRow.id).where(DigestRow.subscriber_id == sub.id, DigestRow.day == day)):
        return None  # today's digest exists: a rerun never makes a second one
    picked = _rank_for(session, settings, sub, now, embedder)
    if not picked:
        return None
    digest = DigestRow(subscriber_id=sub.id, day=day, created_at=now)
    digest.items = [
        DigestItemRow(insight_id=r.candidate.insight_id, position=i, score=r.score, reasons=list(r.reasons))
        for i, r in enumerate(picked)
    ]
    session.add(digest)
    session.flush()
    for channel, target in _channels(settings, sub):
        session.add(Delivery(digest_id=digest.id, channel=channel, target=target))
    return digest


def _channels(settings: Settings, sub: Subscriber) -> list[tuple[str, str | None]]:
    """The outbox rows (channel, target) a new digest gets: the file always, email when SMTP is set up and
    the subscriber wants it, the webhook when they gave one (its secret path is never stored)."""
    channels: list[tuple[str, str | None]] = [("file", None)]
    if settings.smtp_host and sub.email_enabled:
        channels.append(("email", sub.email))
    if sub.webhook_url:
        channels.append(("webhook", redact_url(sub.webhook_url)))
    return channels


def _rank_for(session: Session, settings: Settings, sub: Subscriber, now: datetime, embedder: Embedder) -> list[Ranked]:
    sent = sent_insight_ids(session, sub.id)
    since = now - timedelta(days=settings.max_episode_age_days)
    rows = session.execute(
        select(InsightRow, Episode.feed_id, Episode.published_at)
        .join(Episode)
        .where(Episode.feed_id.in_(followed_feed_ids(session, sub)), Episode.first_seen_at >= since)
    ).all()
    rows = [(row, feed_id, published) for row, feed_id, published in rows if row.id not in sent]
    same = linked_ids(session, [row.id for row, _, _ in rows], "corroborating")
    disputes = linked_ids(session, [row.id for row, _, _ in rows], "contradicting")
    candidates = [
        Candidate(
            insight_id=row.id, episode_id=row.episode_id, show_id=feed_id, claim=row.claim, kind=row.kind,
            importance=row.importance, published_ts=published.timestamp() if published else None,
            vector=_vector(row, embedder), same_as=frozenset(same.get(row.id, ())),
            disputes=frozenset(disputes.get(row.id, ())),
        )
        for row, feed_id, published in rows
    ]
    sent_ids, sent_vectors = insight_vectors(session, sent, embedder)
    return rank_day(
        candidates, sent_vectors, sent_ids=sent_ids,
        preferences=preferences(session, sub, embedder), size=settings.digest_size,
        max_per_episode=settings.max_per_episode, novelty_threshold=settings.novelty_threshold,
    )


def _vector(row: InsightRow, embedder: Embedder):
    """The stored embedding; None (left out, with a warning) for an insight without one of this model."""
    if row.embedding is None or row.embed_model != embedder.name:
        return None
    return unpack_vector(row.embedding, embedder.dim)
