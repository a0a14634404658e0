"""Delivery stage, runner side: the outbox. Each (digest, channel) row is sent at most once.

An email or webhook row goes pending -> sending (committed before the SMTP call or POST) -> sent. A run
that finds a row still `sending` crashed mid-send: the message may have left, so it is marked `unknown`
and shown by `podsight status` instead of being sent a second time; `podsight digest resend` (`resend` here)
sends it on purpose, after the user has agreed that the subscriber may get it twice. A webhook that answers 4xx (other than 429) is `failed` at once: its URL is wrong or revoked.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path

from podsight.config import Settings
from podsight.digest.email import build_message, send_message
from podsight.digest.render import render_atom, render_html, render_text
from podsight.digest.webhook import WebhookRejected, WebhookUnavailable, post_digest, redact_url
from podsight.errors import DeliveryError, PodsightError
from podsight.store import deliveries as outbox
from podsight.store.db import Store
from podsight.store.deliveries import UnknownDelivery, unknown_deliveries

from .digest_view import signed

__all__ = ["IN_FLIGHT_NOTE", "UnknownDelivery", "deliver", "resend", "subscriber_dir", "unknown_deliveries",
           "write_files"]

IN_FLIGHT_NOTE = "the run stopped while this message was being sent: it may have arrived; not resent automatically"
# channels whose message may have left before a crash: never sent again automatically
AT_MOST_ONCE = ("email", "webhook")


def deliver(store: Store, settings: Settings, now: datetime, progress=None) -> dict[str, int]:
    """Send every pending delivery that is due. Failures stay pending with a backoff, then `failed`."""
    # an email or webhook post may have left before the crash; a file is simply written again
    outbox.recover_in_flight(store, AT_MOST_ONCE, IN_FLIGHT_NOTE)
    due = outbox.due_ids(store, now)
    if progress:
        progress.start("Delivering digests", len(due))
    counts = {"sent": 0, "failed": 0}
    for delivery_id in due:
        ok = _deliver_one(store, settings, delivery_id, now)
        counts["sent" if ok else "failed"] += 1
        if progress:
            progress.advance()
    return counts


def resend(store: Store, settings: Settings, delivery_id: int, now: datetime) -> bool:
    """Send an `unknown` delivery again, on purpose: the subscriber may get the digest twice, so the caller
    asks first (`podsight digest resend`) and holds the run lock. The row is claimed with one conditional
    UPDATE (unknown -> sending), so two resends never both send it, and a crash during this send leaves it
    `unknown` again. Returns whether it was sent; a failure leaves it pending with the usual backoff."""
    if not outbox.claim_unknown(store, delivery_id):
        raise PodsightError(f"delivery {delivery_id} is not of unknown fate (any more): nothing resent")
    return _deliver_one(store, settings, delivery_id, now)


def _deliver_one(store: Store, settings: Settings, delivery_id: int, now: datetime) -> bool:
    outgoing = outbox.start_sending(store, delivery_id)  # committed before anything leaves
    digest = signed(settings, outgoing.digest, outgoing.subscriber_id)
    history = _recent_digests(store, settings, outgoing) if outgoing.channel == "file" else []
    try:
        target = _send(settings, outgoing.channel, digest, history, outgoing.webhook_url)
    except (DeliveryError, OSError) as exc:  # OSError: the digest folder cannot be written
        _mark_failed(store, settings, outgoing, exc, now)
        return False
    outbox.mark_sent(store, delivery_id, target or outgoing.email, now)
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


def _mark_failed(store: Store, settings: Settings, outgoing: outbox.Outgoing, error: Exception, now: datetime) -> None:
    attempts, delivery_id = outgoing.attempts, outgoing.id
    if attempts >= settings.max_attempts or isinstance(error, WebhookRejected):
        outbox.mark_failed(store, delivery_id, str(error))
        return
    wait = timedelta(minutes=5 * 2 ** (attempts - 1))
    if isinstance(error, WebhookUnavailable) and error.retry_after_s:  # 429: the service says how long
        wait = max(wait, timedelta(seconds=error.retry_after_s))
    outbox.retry_later(store, delivery_id, str(error), now + wait)


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


def _recent_digests(store: Store, settings: Settings, outgoing: outbox.Outgoing, limit: int = 30):
    return [signed(settings, digest, outgoing.subscriber_id)
            for digest in outbox.recent_digests(store, outgoing.subscriber_id, limit)]
