"""The scan stage's questions and answers, in records: which feeds are due, what a poll changed on a feed,
which episodes a feed already has, and its new episodes in batches.

Scan runs under the run lock (one scanner at a time), so reading a feed and writing its poll result may be
separate transactions; a feed removed meanwhile makes every write here a no-op that says so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select

from .db import Store
from .models import Episode, Feed
from .queries import due_feeds as _due_feeds

# What a poll may change on a feed (its health, schedule, address and details).
FEED_FIELDS = frozenset({"last_checked_at", "consecutive_errors", "last_error", "last_ok_at", "next_check_at", "url",
                         "status", "title", "link", "author", "image_url", "etag", "last_modified"})


@dataclass(frozen=True)
class DueFeed:
    """A feed to poll, with the validators of its last fetch."""

    id: int
    url: str
    etag: str | None
    last_modified: str | None


@dataclass(frozen=True)
class FeedState:
    """What storing a poll result needs to know of the feed."""

    id: int
    url: str
    title: str | None
    consecutive_errors: int


def due_feeds(store: Store, now: datetime) -> list[DueFeed]:
    """Active feeds whose next check time has come (or that were never checked)."""
    with store.session() as session:
        return [DueFeed(f.id, f.url, f.etag, f.last_modified) for f in _due_feeds(session, now)]


def feed_state(store: Store, feed_id: int) -> FeedState | None:
    """None when the feed was removed."""
    with store.session() as session:
        feed = session.get(Feed, feed_id)
        return FeedState(feed.id, feed.url, feed.title, feed.consecutive_errors) if feed else None


def update_feed(store: Store, feed_id: int, changes: Mapping[str, object]) -> bool:
    """Set `changes` (names from FEED_FIELDS) on the feed; False when it was removed."""
    unknown = set(changes) - FEED_FIELDS
    if unknown:
        raise ValueError(f"not a field a poll may change: {sorted(unknown)}")
    with store.session() as session:
        feed = session.get(Feed, feed_id)
        if feed is None:
            return False
        for name, value in changes.items():
            setattr(feed, name, value)
        return True


def url_taken(store: Store, url: str, feed_id: int) -> bool:
    """Whether another feed already has `url` (a redirect must not make two feeds one)."""
    with store.session() as session:
        return session.scalar(select(Feed.id).where(Feed.url == url, Feed.id != feed_id)) is not None


def episode_keys(store: Store, feed_id: int) -> set[str]:
    """The keys of every episode stored for the feed."""
    with store.session() as session:
        return set(session.scalars(select(Episode.key).where(Episode.feed_id == feed_id)))


def add_episodes(store: Store, feed_id: int, rows: Sequence[dict]) -> bool:
    """Insert episode rows (column -> value) in one transaction; False, inserting nothing, when the feed
    was removed."""
    with store.session() as session:
        if session.get(Feed, feed_id) is None:
            return False
        if rows:
            session.execute(insert(Episode), list(rows))
        return True
