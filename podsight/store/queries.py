"""Small query functions shared by the CLI and the pipeline runner."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from podsight.errors import PodsightError
from podsight.store.models import (DigestItemRow, DigestRow, Episode, Feed, Feedback, InsightLink, InsightRow, Subscriber,
                                   Subscription)

EPISODE_STATES = ("new", "needs_asr", "transcribed", "extracted", "failed", "skipped")


def add_feed(session: Session, url: str, title: str | None = None) -> tuple[Feed, bool]:
    """Follow `url`; returns (feed, created). Adding a feed twice is not an error."""
    url = url.strip()
    if not url.lower().startswith(("http://", "https://")):
        raise PodsightError(f"{url!r} is not an http(s) URL: give the address of the RSS or Atom feed")
    feed = session.scalar(select(Feed).where(Feed.url == url))
    if feed is not None:
        return feed, False
    feed = Feed(url=url, title=title)
    session.add(feed)
    session.flush()
    return feed, True


def get_feed(session: Session, url_or_id: str) -> Feed:
    feed = session.get(Feed, int(url_or_id)) if url_or_id.isdigit() else None
    feed = feed or session.scalar(select(Feed).where(Feed.url == url_or_id))
    if feed is None:
        raise PodsightError(f"no feed {url_or_id!r}; see `podsight feeds list`")
    return feed


def due_feeds(session: Session, now: datetime) -> list[Feed]:
    """Active feeds whose next check time has come (or that were never checked)."""
    query = select(Feed).where(
        Feed.status == "active", or_(Feed.next_check_at.is_(None), Feed.next_check_at <= now)
    )
    return list(session.scalars(query.order_by(Feed.id)))


def check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise PodsightError(f"unknown timezone {name!r}; use an IANA name such as Europe/Paris") from None
    return name


def add_subscriber(
    session: Session, email: str, tz: str, send_hour: int, interests: str, feeds: list[Feed]
) -> tuple[Subscriber, bool]:
    """Add or update a subscriber. No feeds given: they follow every feed, present and future."""
    email = email.strip().lower()
    if "@" not in email or email.startswith("@") or email.endswith("@"):
        raise PodsightError(f"{email!r} is not an email address")
    if not 0 <= send_hour <= 23:
        raise PodsightError(f"send hour must be 0-23, not {send_hour}")
    sub = subscriber_by_email(session, email)
    created = sub is None
    sub = sub or Subscriber(email=email)
    sub.timezone, sub.send_hour, sub.interests = check_timezone(tz), send_hour, interests
    sub.follows_all, sub.status = not feeds, "active"
    session.add(sub)
    session.flush()
    for feed in feeds:
        session.merge(Subscription(subscriber_id=sub.id, feed_id=feed.id))
    return sub, created


def followed_feed_ids(session: Session, sub: Subscriber) -> list[int]:
    if sub.follows_all:
        return list(session.scalars(select(Feed.id)))
    return subscribed_feed_ids(session, sub.id)


def episode_counts(session: Session) -> dict[int, dict[str, int]]:
    """Per feed id: how many episodes wait in each state."""
    rows = session.execute(select(Episode.feed_id, Episode.state, func.count()).group_by(Episode.feed_id, Episode.state))
    counts: dict[int, dict[str, int]] = {}
    for feed_id, state, n in rows:
        counts.setdefault(feed_id, {})[state] = n
    return counts


def sent_insight_ids(session: Session, subscriber_id: int) -> set[int]:
    """Every insight that already went into one of this subscriber's digests."""
    query = select(DigestItemRow.insight_id).join(DigestRow).where(DigestRow.subscriber_id == subscriber_id)
    return set(session.scalars(query))


def find_digest(session: Session, sub: Subscriber, day: str | None) -> DigestRow | None:
    query = select(DigestRow).where(DigestRow.subscriber_id == sub.id)
    query = query.where(DigestRow.day == day) if day else query.order_by(DigestRow.day.desc())
    return session.scalars(query.limit(1)).first()


def get_subscriber(session: Session, email: str | None) -> Subscriber:
    """The named subscriber, or the only one when there is exactly one."""
    if email:
        sub = subscriber_by_email(session, email)
        if sub is None:
            raise PodsightError(f"no subscriber {email!r}; see `podsight subscribers list`")
        return sub
    subs = list(session.scalars(select(Subscriber).limit(2)))
    if len(subs) != 1:
        raise PodsightError("there is not exactly one subscriber: name one with --subscriber EMAIL")
    return subs[0]


def linked_ids(session: Session, insight_ids: list[int], kind: str) -> dict[int, set[int]]:
    """For each insight, the insights linked to it with `kind` (corroborating: the same claim;
    contradicting: a dispute), in either direction."""
    if not insight_ids:
        return {}
    wanted = set(insight_ids)
    rows = session.execute(
        select(InsightLink.insight_id, InsightLink.other_id).where(
            InsightLink.kind == kind,
            or_(InsightLink.insight_id.in_(wanted), InsightLink.other_id.in_(wanted)),
        )
    )
    same: dict[int, set[int]] = {}
    for a, b in rows:
        same.setdefault(a, set()).add(b)
        same.setdefault(b, set()).add(a)
    return same


def links_of(session: Session, insight_id: int) -> list[tuple[InsightLink, InsightRow]]:
    """Every link of one insight with the insight at its other end, closest first."""
    rows = session.execute(
        select(InsightLink, InsightRow)
        .join(InsightRow, or_(
            (InsightLink.insight_id == insight_id) & (InsightRow.id == InsightLink.other_id),
            (InsightLink.other_id == insight_id) & (InsightRow.id == InsightLink.insight_id),
        ))
        .order_by(InsightLink.similarity.desc())
    )
    return [(link, other) for link, other in rows]


def record_vote(session: Session, subscriber_id: int, insight_id: int, vote: int) -> Feedback:
    """Store a thumbs up (+1) or down (-1); voting again replaces the earlier vote."""
    if vote not in (1, -1):
        raise ValueError(f"a vote is +1 or -1, got {vote}")
    row = session.scalar(select(Feedback).where(Feedback.subscriber_id == subscriber_id,
                                                Feedback.insight_id == insight_id))
    if row is None:
        row = Feedback(subscriber_id=subscriber_id, insight_id=insight_id, vote=vote)
        session.add(row)
    else:
        row.vote = vote
    return row


def recent_claim_vectors(session: Session, since: datetime, embed_model: str) -> list[tuple[int, bytes]]:
    """(episode id, claim embedding BLOB) of every insight embedded with `embed_model` whose episode was
    first seen at or after `since`: the claims a new episode's passages may echo."""
    rows = session.execute(
        select(InsightRow.episode_id, InsightRow.embedding).join(Episode)
        .where(Episode.first_seen_at >= since, InsightRow.embed_model == embed_model,
               InsightRow.embedding.is_not(None))
        .order_by(InsightRow.id)
    )
    return [(episode_id, blob) for episode_id, blob in rows]


# --- questions the web and the CLI ask -------------------------------------------------------------


def claim_of(session: Session, insight_id: int) -> str | None:
    return session.scalar(select(InsightRow.claim).where(InsightRow.id == insight_id))


def subscriber_by_email(session: Session, email: str) -> Subscriber | None:
    return session.scalar(select(Subscriber).where(Subscriber.email == email.strip().lower()))


def subscriber_by_id(session: Session, subscriber_id: int | None) -> Subscriber | None:
    return session.get(Subscriber, subscriber_id) if subscriber_id is not None else None


def all_subscribers(session: Session) -> list[Subscriber]:
    return list(session.scalars(select(Subscriber).order_by(Subscriber.id)))


def subscriber_choices(session: Session, limit: int) -> list[tuple[int, str]]:
    """(id, email) of the first `limit` subscribers by email, for a picker."""
    return [tuple(row) for row in session.execute(select(Subscriber.id, Subscriber.email)
                                                  .order_by(Subscriber.email).limit(limit))]


def default_subscriber(session: Session) -> Subscriber | None:
    """Whoever has the newest digest, else the first subscriber."""
    newest = session.scalar(select(DigestRow.subscriber_id).order_by(DigestRow.day.desc(), DigestRow.id.desc()).limit(1))
    return session.get(Subscriber, newest) if newest else session.scalar(select(Subscriber).order_by(Subscriber.id).limit(1))


def latest_digests(session: Session, subscriber_id: int, limit: int) -> list[DigestRow]:
    """The subscriber's newest `limit` digests, newest first."""
    return list(session.scalars(select(DigestRow).where(DigestRow.subscriber_id == subscriber_id)
                                .order_by(DigestRow.day.desc()).limit(limit)))


def all_feeds(session: Session) -> list[Feed]:
    return list(session.scalars(select(Feed).order_by(Feed.id)))


def feed_choices(session: Session) -> list[tuple[int, str | None, str]]:
    """(id, title, url) of every feed, by title, for a picker."""
    return [tuple(row) for row in session.execute(select(Feed.id, Feed.title, Feed.url).order_by(Feed.title, Feed.id))]


def existing_feed_ids(session: Session, feed_ids: set[int]) -> set[int]:
    """Those of `feed_ids` that name a feed."""
    return set(session.scalars(select(Feed.id).where(Feed.id.in_(feed_ids)))) if feed_ids else set()


def remove_feed(session: Session, feed: Feed) -> None:
    """The feed and (by cascade) its episodes, transcripts and insights."""
    session.delete(feed)


def set_subscriptions(session: Session, subscriber_id: int, feed_ids: list[int]) -> None:
    """The subscriber follows exactly `feed_ids` (when they do not follow every feed)."""
    session.execute(delete(Subscription).where(Subscription.subscriber_id == subscriber_id))
    session.add_all(Subscription(subscriber_id=subscriber_id, feed_id=feed_id) for feed_id in feed_ids)


def subscribed_feed_ids(session: Session, subscriber_id: int) -> list[int]:
    """The feeds the subscriber chose one by one (kept while they follow every feed, for when they stop)."""
    return list(session.scalars(select(Subscription.feed_id).where(Subscription.subscriber_id == subscriber_id)))
