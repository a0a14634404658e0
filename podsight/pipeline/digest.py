"""Ranking + digest stage, runner side: one digest per subscriber and local day, with its outbox rows.

Per subscriber: read the candidates, what was sent and the votes (`store.ranking`), rank in memory
(`podsight.rank`), commit the digest and its outbox rows in one transaction.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from podsight.config import Settings
from podsight.digest.webhook import redact_url
from podsight.embed import Embedder, load_embedder, unpack_vector
from podsight.rank import Candidate, Ranked, rank_day
from podsight.store import ranking
from podsight.store.db import Store
from podsight.store.subscribers import SubscriberView, active_subscribers, has_digest

from .preferences import insight_vectors, preferences


def due_time(sub: SubscriberView, now: datetime) -> tuple[str, datetime]:
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
    subscribers = active_subscribers(store)
    counts = {"digests": 0, "items": 0}
    if not subscribers:
        return counts
    embedder = embedder or load_embedder(settings.embed_model)
    for sub in subscribers:
        items = _build_one(store, settings, sub, now, ignore_send_hour, embedder)
        if items:
            counts["digests"] += 1
            counts["items"] += items
    return counts


def _build_one(store: Store, settings: Settings, sub: SubscriberView, now: datetime, ignore_send_hour: bool,
               embedder: Embedder) -> int:
    """How many items the subscriber's new digest holds; 0 when none was made (not due, made already, or
    nothing to send)."""
    day, due = due_time(sub, now)
    if now < due and not ignore_send_hour:
        return 0
    if has_digest(store, sub.id, day):
        return 0  # today's digest exists: a rerun never makes a second one
    picked = _rank_for(store, settings, sub, now, embedder)
    if not picked:
        return 0
    picks = [ranking.Pick(r.candidate.insight_id, r.score, tuple(r.reasons)) for r in picked]
    return len(picks) if ranking.save_digest(store, sub.id, day, now, picks, _channels(settings, sub)) else 0


def _channels(settings: Settings, sub: SubscriberView) -> list[tuple[str, str | None]]:
    """The outbox rows (channel, target) a new digest gets: the file always, email when SMTP is set up and
    the subscriber wants it, the webhook when they gave one (its secret path is never stored)."""
    channels: list[tuple[str, str | None]] = [("file", None)]
    if settings.smtp_host and sub.email_enabled:
        channels.append(("email", sub.email))
    if sub.webhook_url:
        channels.append(("webhook", redact_url(sub.webhook_url)))
    return channels


def _rank_for(store: Store, settings: Settings, sub: SubscriberView, now: datetime, embedder: Embedder) -> list[Ranked]:
    since = now - timedelta(days=settings.max_episode_age_days)
    found, sent = ranking.candidates(store, sub.id, since, embedder.name)
    candidates = [
        Candidate(
            insight_id=c.insight_id, episode_id=c.episode_id, show_id=c.feed_id, claim=c.claim, kind=c.kind,
            importance=c.importance, published_ts=c.published_at.timestamp() if c.published_at else None,
            vector=_vector(c, embedder), same_as=c.same_as, disputes=c.disputes,
        )
        for c in found
    ]
    sent_ids, sent_vectors = insight_vectors(store, sent, embedder)
    return rank_day(
        candidates, sent_vectors, sent_ids=sent_ids,
        preferences=preferences(store, sub, embedder), size=settings.digest_size,
        max_per_episode=settings.max_per_episode, novelty_threshold=settings.novelty_threshold,
    )


def _vector(candidate: ranking.Candidate, embedder: Embedder):
    """The stored embedding; None (left out, with a warning) for an insight without one of this model."""
    return None if candidate.embedding is None else unpack_vector(candidate.embedding, embedder.dim)
