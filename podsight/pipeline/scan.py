"""Scan stage, runner side: pick due feeds, poll them, store what changed."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from podsight.config import Settings
from podsight.feeds.poll import PollRequest, PollResult, next_retry_delay, poll_feeds_sync
from podsight.records import ParsedEpisode, ParsedFeed
from podsight.store.db import Store
from podsight.store.models import Episode, Feed
from podsight.store.queries import due_feeds


def scan(store: Store, settings: Settings, now: datetime, progress=None) -> dict[str, int]:
    """Poll every due feed once. One feed's failure is stored on that feed and never stops the others."""
    with store.session() as session:
        requests = [PollRequest(f.id, f.url, f.etag, f.last_modified) for f in due_feeds(session, now)]
    if progress:
        progress.start("Scanning feeds", len(requests))
    results = poll_feeds_sync(
        requests,
        user_agent=settings.user_agent,
        timeout_s=settings.fetch_timeout_s,
        max_bytes=settings.max_feed_bytes,
        per_host_limit=settings.per_host_limit,
        max_concurrency=settings.max_concurrency,
        max_redirects=settings.max_redirects,
        deadline_s=settings.fetch_deadline_s,
        allow_private=settings.allow_private_addresses,
        on_result=(lambda _r: progress.advance()) if progress else None,
    )
    counts = {"feeds": len(results), "errors": 0, "new_episodes": 0}
    for result in results:
        with store.session() as session:
            new = _store_result(session, settings, result, now)
        counts["new_episodes"] += new
        counts["errors"] += result.outcome == "error"
    return counts


def _store_result(session: Session, settings: Settings, result: PollResult, now: datetime) -> int:
    feed = session.get(Feed, result.feed_id)
    if feed is None:  # removed while we were polling
        return 0
    feed.last_checked_at = now
    if result.outcome == "error":
        feed.consecutive_errors += 1
        feed.last_error = result.error
        feed.next_check_at = now + next_retry_delay(feed.consecutive_errors, settings.backoff_max_hours)
        return 0
    feed.consecutive_errors, feed.last_error, feed.last_ok_at = 0, None, now
    feed.next_check_at = now + _poll_interval(settings, result)
    if result.new_url and not _url_taken(session, result.new_url, feed.id):
        feed.url = result.new_url  # 301/308: the publisher moved the feed for good
    if result.outcome == "gone":
        feed.status, feed.last_error = "gone", "the server says this feed is gone for good (HTTP 410)"
        return 0
    if result.feed is None:  # 304 Not Modified
        return 0
    feed.etag, feed.last_modified = result.etag, result.last_modified
    _update_feed_info(feed, result.feed)
    return _store_episodes(session, settings, feed, result.feed.episodes, now)


def _poll_interval(settings: Settings, result: PollResult) -> timedelta:
    interval = timedelta(minutes=settings.poll_interval_minutes)
    if result.retry_after:
        interval = max(interval, timedelta(seconds=result.retry_after))
    return interval


def _url_taken(session: Session, url: str, feed_id: int) -> bool:
    return session.scalar(select(Feed.id).where(Feed.url == url, Feed.id != feed_id)) is not None


def _update_feed_info(feed: Feed, parsed: ParsedFeed) -> None:
    feed.title = parsed.title or feed.title
    feed.link, feed.author, feed.image_url = parsed.link, parsed.author, parsed.image_url


def _store_episodes(session: Session, settings: Settings, feed: Feed, episodes, now: datetime) -> int:
    """Insert episodes not seen before. A re-published GUID matches its stored row and adds nothing."""
    known = set(session.scalars(select(Episode.key).where(Episode.feed_id == feed.id)))
    first_scan = not known
    newest_first = sorted(episodes, key=lambda e: e.published.timestamp() if e.published else 0, reverse=True)
    added = 0
    for rank, parsed in enumerate(newest_first):
        if parsed.key in known:
            continue
        known.add(parsed.key)
        state = _initial_state(settings, parsed, now, first_scan and rank >= settings.backfill_episodes)
        session.add(_episode_row(feed, parsed, state))
        added += state != "skipped"
    return added


def _initial_state(settings: Settings, parsed: ParsedEpisode, now: datetime, beyond_backfill: bool) -> str:
    too_old = parsed.published and now - parsed.published > timedelta(days=settings.max_episode_age_days)
    return "skipped" if beyond_backfill or too_old else "new"


def _episode_row(feed: Feed, parsed: ParsedEpisode, state: str) -> Episode:
    return Episode(
        feed_id=feed.id,
        key=parsed.key,
        guid=parsed.guid,
        title=parsed.title or "(untitled episode)",
        link=parsed.link,
        published_at=parsed.published,
        audio_url=parsed.audio_url,
        audio_type=parsed.audio_type,
        duration_s=parsed.duration_s,
        # Show notes only for episodes that will be processed: a back catalogue of hundreds would fill
        # the database with text nobody reads (and converting it is a third of the parse time).
        description=parsed.description if state != "skipped" else "",
        transcript_links=[asdict(t) for t in parsed.transcripts],
        persons=[asdict(p) for p in parsed.persons],
        state=state,
    )
