"""The outbox's questions and answers, in records: which deliveries are due, which are of unknown fate, and
each step of one send (started, sent, failed) committed on its own, before and after the send itself.

A row goes pending -> sending (committed before the SMTP call or POST) -> sent. `recover_in_flight` is asked
first in every delivery run: a row still `sending` belongs to a run that stopped mid-send.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select, update

from podsight.records import Digest

from .db import Store
from .digests import read_digest
from .models import Delivery, DigestRow, Subscriber
from .queries import latest_digests


@dataclass(frozen=True)
class UnknownDelivery:
    """A delivery whose run stopped mid-send: it may or may not have arrived."""

    id: int
    channel: str
    email: str
    day: str
    last_error: str | None


@dataclass(frozen=True)
class Outgoing:
    """One delivery being sent: its channel, the digest, and the subscriber's addresses as they are now (a
    subscriber who fixes a revoked webhook URL gets the retry there)."""

    id: int
    channel: str
    digest: Digest
    subscriber_id: int
    email: str
    webhook_url: str | None
    attempts: int  # this one included


def recover_in_flight(store: Store, at_most_once: Sequence[str], note: str) -> None:
    """Rows left `sending` by a run that stopped: on an `at_most_once` channel the message may have left, so
    the row becomes `unknown` (with `note`) and is never sent again by itself; on others it is pending again."""
    with store.session() as session:
        in_flight = update(Delivery).where(Delivery.status == "sending")
        session.execute(in_flight.where(Delivery.channel.in_(at_most_once)).values(status="unknown", last_error=note))
        session.execute(in_flight.where(Delivery.channel.not_in(at_most_once)).values(status="pending"))


def due_ids(store: Store, now: datetime) -> list[int]:
    """Pending deliveries whose next attempt has come, oldest first."""
    with store.session() as session:
        return list(session.scalars(select(Delivery.id).where(_due(now)).order_by(Delivery.id)))


def any_due(store: Store, now: datetime) -> bool:
    """Whether some pending delivery's next attempt has come."""
    with store.session() as session:
        return session.scalar(select(Delivery.id).where(_due(now)).limit(1)) is not None


def unknown_deliveries(store: Store, *, subscriber: str | None = None, day: str | None = None) -> list[UnknownDelivery]:
    """The deliveries of unknown fate, oldest first; only a subscriber's (by email) or a day's when given."""
    query = (select(Delivery.id, Delivery.channel, Subscriber.email, DigestRow.day, Delivery.last_error)
             .join(DigestRow, Delivery.digest_id == DigestRow.id).join(Subscriber, DigestRow.subscriber_id == Subscriber.id)
             .where(Delivery.status == "unknown").order_by(DigestRow.day, Delivery.id))
    if subscriber:
        query = query.where(Subscriber.email == subscriber.strip().lower())
    if day:
        query = query.where(DigestRow.day == day)
    with store.session() as session:
        return [UnknownDelivery(*row) for row in session.execute(query)]


def claim_unknown(store: Store, delivery_id: int) -> bool:
    """unknown -> sending in one conditional UPDATE, so two resends never both send; False when the row is
    not of unknown fate (any more)."""
    with store.session() as session:
        return bool(session.execute(update(Delivery).where(Delivery.id == delivery_id, Delivery.status == "unknown")
                                    .values(status="sending", next_attempt_at=None)).rowcount)


def start_sending(store: Store, delivery_id: int) -> Outgoing:
    """Mark the delivery `sending` and count the attempt (committed before anything leaves); what to send."""
    with store.session() as session:
        delivery = session.get(Delivery, delivery_id)
        delivery.status, delivery.attempts = "sending", delivery.attempts + 1
        sub = delivery.digest.subscriber
        digest, _ = read_digest(session, delivery.digest, sub.email)
        return Outgoing(delivery.id, delivery.channel, digest, sub.id, sub.email, sub.webhook_url, delivery.attempts)


def recent_digests(store: Store, subscriber_id: int, limit: int) -> list[Digest]:
    """The subscriber's latest `limit` digests, newest first (for their Atom feed)."""
    with store.session() as session:
        return [read_digest(session, row, row.subscriber.email)[0]
                for row in latest_digests(session, subscriber_id, limit)]


def mark_sent(store: Store, delivery_id: int, target: str, now: datetime) -> None:
    with store.session() as session:
        delivery = session.get(Delivery, delivery_id)
        delivery.status, delivery.sent_at, delivery.last_error, delivery.target = "sent", now, None, target


def mark_failed(store: Store, delivery_id: int, error: str) -> None:
    """Failed for good: no more attempts."""
    with store.session() as session:
        delivery = session.get(Delivery, delivery_id)
        delivery.status, delivery.last_error = "failed", error


def retry_later(store: Store, delivery_id: int, error: str, at: datetime) -> None:
    with store.session() as session:
        delivery = session.get(Delivery, delivery_id)
        delivery.status, delivery.last_error, delivery.next_attempt_at = "pending", error, at


def _due(now: datetime):
    return (Delivery.status == "pending") & or_(Delivery.next_attempt_at.is_(None), Delivery.next_attempt_at <= now)
