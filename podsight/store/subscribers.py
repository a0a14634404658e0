"""Subscribers as the digest stage and the scheduler see them: records, not ORM rows."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from .db import Store
from .models import DigestRow, Subscriber


@dataclass(frozen=True)
class SubscriberView:
    """What ranking, scheduling and the outbox need of one subscriber."""

    id: int
    email: str
    timezone: str
    send_hour: int
    interests: str
    follows_all: bool
    email_enabled: bool
    webhook_url: str | None


def active_subscribers(store: Store) -> list[SubscriberView]:
    """Every subscriber who has not unsubscribed, in id order."""
    with store.session() as session:
        rows = session.scalars(select(Subscriber).where(Subscriber.status == "active").order_by(Subscriber.id))
        return [view_of(row) for row in rows]


def view_of(row: Subscriber) -> SubscriberView:
    return SubscriberView(row.id, row.email, row.timezone, row.send_hour, row.interests, row.follows_all,
                          row.email_enabled, row.webhook_url)


def has_digest(store: Store, subscriber_id: int, day: str) -> bool:
    """Whether the subscriber's digest for `day` (their local date) is made."""
    with store.session() as session:
        return digest_made(session, subscriber_id, day)


def digest_made(session: Session, subscriber_id: int, day: str) -> bool:
    return bool(session.scalar(select(exists().where(DigestRow.subscriber_id == subscriber_id, DigestRow.day == day))))
