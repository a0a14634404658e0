"""Delivery stage, runner side: the outbox. Each (digest, channel) row is sent at most once.

An email or webhook row goes pending -> sending (committed before the SMTP call or POST) -> sent. A run
that finds a row still `sending` crashed mid-send: the message may have left, so it is marked `unknown`
and shown by `podsight status` instead of being sent a second time; `podsight digest resend` (`resend` here)
sends it on purpose, after the user has agreed that the subscriber may get it twice. A webhook that answers 4xx (other than 429) is `failed` at once: its URL is wrong or revoked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import or_, select, update

from podsight.config import Settings
from podsight.digest.email import build_message, send_message
from podsight.digest.render import render_atom, render_html, render_text
from podsight.digest.webhook import WebhookRejected, WebhookUnavailable, post_digest, redact_url
from podsight.errors import DeliveryError, PodsightError
from podsight.store.db import Store
from podsight.store.models import Delivery, DigestRow, Subscriber

from .digest_view import digest_record

IN_FLIGHT_NOTE = "the run stopped while this message was being sent: it may have arrived; not resent automatically"
# channels whose message may have left before a crash: never sent again automatically
AT_MOST_ONCE = ("email", "webhook")


def deliver(store: Store, settings: Settings, now: datetime, progress=None) -> dict[str, int]:
    """Send every pending delivery that is due. Failures stay pending with a backoff, then `failed`."""
    with store.session() as session:
        in_flight = update(Delivery).where(Delivery.status == "sending")
        # an email or webhook post may have left before the crash; a file is simply written again
        session.execute(in_flight.where(Delivery.channel.in_(AT_MOST_ONCE))
                        .values(status="unknown", last_error=IN_FLIGHT_NOTE))
        session.execute(in_flight.where(Delivery.channel.not_in(AT_MOST_ONCE)).values(status="pending"))
        due = list(session.scalars(
            select(Delivery.id).where(
                Delivery.status == "pending", or_(Delivery.next_attempt_at.is_(None), Delivery.next_attempt_at <= now)
            ).order_by(Delivery.id)
        ))
    if progress:
        progress.start("Delivering digests", len(due))
    counts = {"sent": 0, "failed": 0}
    for delivery_id in due:
        ok = _deliver_one(store, settings, delivery_id, now)
        counts["sent" if ok else "failed"] += 1
        if progress:
            progress.advance()
    return counts


@dataclass(frozen=True)
class UnknownDelivery:
    """A delivery whose run stopped mid-send: it may or may not have arrived."""

    id: int
    channel: str
    email: str
    day: str
    last_error: str | None


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


def resend(store: Store, settings: Settings, delivery_id: int, now: datetime) -> bool:
    """Send an `unknown` delivery again, on purpose: the subscriber may get the digest twice, so the caller
    asks first (`podsight digest resend`) and holds the run lock. The row is claimed with one conditional
    UPDATE (unknown -> sending), so two resends never both send it, and a crash during this send leaves it
    `unknown` again. Returns whether it was sent; a failure leaves it pending with the usual backoff."""
    with store.session() as session:
        claimed = session.execute(update(Delivery).where(Delivery.id == delivery_id, Delivery.status == "unknown")
                                  .values(status="sending", next_attempt_at=None)).rowcount
    if not claimed:
        raise PodsightError(f"delivery {delivery_id} is not of unknown fate (any more): nothing resent")
    return _deliver_one(store, settings, delivery_id, now)


def _deliver_one(store: Store, settings: Settings, delivery_id: int, now: datetime) -> bool:
    with store.session() as session:
        delivery = session.get(Delivery, delivery_id)
        delivery.status, delivery.attempts = "sending", delivery.attempts + 1
        digest = digest_record(session, settings, delivery.digest)
        sub = delivery.digest.subscriber
        channel, sub_email, webhook_url = delivery.channel, sub.email, sub.webhook_url
        history = _recent_digests(session, settings, sub) if channel == "file" else []
    try:
        target = _send(settings, channel, digest, history, webhook_url)
    except (DeliveryError, OSError) as exc:  # OSError: the digest folder cannot be written
        _mark_failed(store, settings, delivery_id, exc, now)
        return False
    with store.session() as session:
        delivery = session.get(Delivery, delivery_id)
        delivery.status, delivery.sent_at, delivery.last_error = "sent", now, None
        delivery.target = target or sub_email
    return True


def _send(settings: Settings, channel: str, digest, history, webhook_url: str | None) -> str | None:
    """Send on one channel; returns where it went (a path, a redacted URL) or None for the address."""
    if channel == "webhook":
        return _send_webhook(settings, digest, webhook_url)
    html, text = render_html(digest), render_text(digest)
    if channel == "file":
        return str(write_files(settings, digest, html, text, history))
    message = build_message(
        digest, html, text, from_addr=settings.smtp_from, unsubscribe_url=digest.unsubscribe_url or ""
    )
    send_message(
        message, host=settings.smtp_host, port=settings.smtp_port, security=settings.smtp_security,
        username=settings.smtp_username,
        password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
        timeout_s=settings.smtp_timeout_s,
    )
    return None


def _send_webhook(settings: Settings, digest, url: str | None) -> str:
    # the URL is read at send time, so a subscriber who fixes a revoked URL gets the retry there
    if not url:
        raise WebhookRejected("the subscriber has no webhook URL any more; the next digest goes to a new one once set")
    post_digest(url, digest, timeout_s=settings.fetch_timeout_s, user_agent=settings.user_agent,
                allow_private=settings.allow_private_addresses)
    return redact_url(url)  # the URL's path is its secret: never stored or shown


def _mark_failed(store: Store, settings: Settings, delivery_id: int, error: Exception, now: datetime) -> None:
    with store.session() as session:
        delivery = session.get(Delivery, delivery_id)
        delivery.last_error = str(error)
        if delivery.attempts >= settings.max_attempts or isinstance(error, WebhookRejected):
            delivery.status = "failed"
            return
        delivery.status = "pending"
        wait = timedelta(minutes=5 * 2 ** (delivery.attempts - 1))
        if isinstance(error, WebhookUnavailable) and error.retry_after_s:  # 429: the service says how long
            wait = max(wait, timedelta(seconds=error.retry_after_s))
        delivery.next_attempt_at = now + wait


def subscriber_dir(settings: Settings, email: str) -> Path:
    return settings.digests_dir / re.sub(r"[^a-z0-9._-]+", "_", email.lower())


def write_files(settings: Settings, digest, html: str, text: str, history) -> Path:
    """Write the day's HTML and text, and refresh the subscriber's Atom feed. Returns the HTML path."""
    folder = subscriber_dir(settings, digest.subscriber_email)
    folder.mkdir(parents=True, exist_ok=True)
    html_path = folder / f"{digest.day}.html"
    _atomic_write(html_path, html)
    _atomic_write(folder / f"{digest.day}.txt", text)
    atom = render_atom(history, feed_id=f"urn:podsight:{digest.subscriber_email}", title="podsight digest", self_url=None)
    _atomic_write(folder / "digest.atom", atom)
    return html_path


def _atomic_write(path: Path, content: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(content, encoding="utf-8")
    tmp.replace(path)


def _recent_digests(session, settings: Settings, sub: Subscriber, limit: int = 30):
    rows = session.scalars(
        select(DigestRow).where(DigestRow.subscriber_id == sub.id).order_by(DigestRow.day.desc()).limit(limit)
    )
    return [digest_record(session, settings, row) for row in rows]
