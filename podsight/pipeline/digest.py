"""Ranking + digest stage, runner side: one digest per subscriber and local day, with its outbox rows."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from podsight.config import Settings
from podsight.rank import Candidate, Ranked, rank_day
from podsight.store.db import Store
from podsight.store.models import Delivery, DigestItemRow, DigestRow, Episode, InsightRow, Subscriber
from podsight.store.queries import followed_feed_ids, sent_insight_ids


def local_day(sub: Subscriber, now: datetime) -> tuple[str, int]:
    """The subscriber's local date (ISO) and hour at `now`."""
    local = now.astimezone(ZoneInfo(sub.timezone))
    return local.date().isoformat(), local.hour


def build_digests(store: Store, settings: Settings, now: datetime, *, ignore_send_hour: bool = False) -> dict[str, int]:
    """For each active subscriber whose send hour has come: rank the new insights, store the digest."""
    with store.session() as session:
        subscriber_ids = list(session.scalars(select(Subscriber.id).where(Subscriber.status == "active")))
    counts = {"digests": 0, "items": 0}
    for sub_id in subscriber_ids:
        try:
            with store.session() as session:
                digest = _build_one(session, settings, session.get(Subscriber, sub_id), now, ignore_send_hour)
        except IntegrityError:  # another run made this digest at the same moment: theirs stands
            digest = None
        if digest is not None:
            counts["digests"] += 1
            counts["items"] += len(digest.items)
    return counts


def _build_one(session: Session, settings: Settings, sub: Subscriber, now: datetime, ignore_send_hour: bool):
    day, hour = local_day(sub, now)
    if hour < sub.send_hour and not ignore_send_hour:
        return None
    if session.scalar(select(DigestRow.id).where(DigestRow.subscriber_id == sub.id, DigestRow.day == day)):
        return None  # today's digest exists: a rerun never makes a second one
    picked = _rank_for(session, settings, sub, now)
    if not picked:
        return None
    digest = DigestRow(subscriber_id=sub.id, day=day, created_at=now)
    digest.items = [
        DigestItemRow(insight_id=r.candidate.insight_id, position=i, score=r.score, reasons=list(r.reasons))
        for i, r in enumerate(picked)
    ]
    session.add(digest)
    session.flush()
    for channel in _channels(settings):
        session.add(Delivery(digest_id=digest.id, channel=channel, target=sub.email if channel == "email" else None))
    return digest


def _channels(settings: Settings) -> list[str]:
    return ["file", "email"] if settings.smtp_host else ["file"]


def _rank_for(session: Session, settings: Settings, sub: Subscriber, now: datetime) -> list[Ranked]:
    sent = sent_insight_ids(session, sub.id)
    since = now - timedelta(days=settings.max_episode_age_days)
    rows = session.execute(
        select(InsightRow, Episode.feed_id, Episode.published_at)
        .join(Episode)
        .where(Episode.feed_id.in_(followed_feed_ids(session, sub)), Episode.first_seen_at >= since)
    ).all()
    candidates = [
        Candidate(
            insight_id=row.id, episode_id=row.episode_id, show_id=feed_id, claim=row.claim, kind=row.kind,
            importance=row.importance, published_ts=published.timestamp() if published else None,
        )
        for row, feed_id, published in rows
        if row.id not in sent
    ]
    already_sent = list(session.scalars(select(InsightRow.claim).where(InsightRow.id.in_(sent)))) if sent else []
    return rank_day(
        candidates, already_sent, size=settings.digest_size, max_per_episode=settings.max_per_episode,
        novelty_threshold=settings.novelty_threshold,
    )
