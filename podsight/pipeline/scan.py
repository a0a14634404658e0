"""Scan stage, runner side: pick due feeds, poll them, store what changed.

Each feed is stored as soon as its result arrives (`iter_poll_results`), so a scan holds only the feeds
waiting to be stored, never all of them, and its episodes go in `EPISODE_BATCH` at a time, one
transaction each, so no single write holds the database for long (a 50,000-item feed would otherwise
be one transaction of seconds, near SQLite's busy timeout for every other writer).
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from datetime import datetime, timedelta

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from podsight.config import Settings
from podsight.feeds.poll import PollRequest, PollResult, iter_poll_results, next_retry_delay
from podsight.records import ParsedEpisode, ParsedFeed
from podsight.store.db import Store
from podsight.store.models import Episode, Feed
from podsight.store.queries import due_feeds

logger = logging.getLogger("podsight.scan")

EPISODE_BATCH = 500  # episodes inserted per transaction
# Marks an episode held back by `max_new_episodes_per_scan` (in Episode.extraction, which a skipped
# episode never otherwise has); `podsight status` counts them per feed and scan.
HELD_BACK = "held_back"


def scan(store: Store, settings: Settings, now: datetime, progress=None) -> dict[str, int]:
    """Poll every due feed once. One feed's failure is stored on that feed and never stops the others."""
    with store.session() as session:
        requests = [PollRequest(f.id, f.url, f.etag, f.last_modified) for f in due_feeds(session, now)]
    if progress:
        progress.start("Scanning feeds", len(requests))
    results = iter_poll_results(
        requests,
        user_agent=settings.user_agent,
        timeout_s=settings.fetch_timeout_s,
        max_bytes=settings.max_feed_bytes,
        per_host_limit=settings.per_host_limit,
        max_concurrency=settings.max_concurrency,
        max_redirects=settings.max_redirects,
        deadline_s=settings.fetch_deadline_s,
        allow_private=settings.allow_private_addresses,
    )
    counts = {"feeds": len(requests), "errors": 0, "new_episodes": 0}
    for result in results:  # in the order feeds finish: a slow feed never holds back a fast one's episodes
        counts["new_episodes"] += store_result(store, settings, result, now)
        counts["errors"] += result.outcome == "error"
        if progress:
            progress.advance()
        del result  # the parsed feed may be big: let it go before waiting for the next
    return counts


def store_result(store: Store, settings: Settings, result: PollResult, now: datetime) -> int:
    """Save one feed's poll result; returns how many episodes were queued for processing.

    The feed's health, schedule and details are saved first; then its new episodes, `EPISODE_BATCH` per
    transaction; the validators (ETag, Last-Modified) last, so a scan stopped half-way refetches the
    whole feed next time instead of getting a 304 and never seeing the episodes it did not store."""
    with store.session() as session:
        feed = session.get(Feed, result.feed_id)
        if feed is None:  # removed while we were polling
            return 0
        parsed = _update_feed(session, settings, feed, result, now)
        if parsed is None:
            return 0
        plan = _plan_episodes(session, settings, feed, parsed.episodes, now)
    queued = 0
    for start in range(0, len(plan), EPISODE_BATCH):
        with store.session() as session:
            if session.get(Feed, result.feed_id) is None:
                return queued
            rows = plan[start:start + EPISODE_BATCH]
            session.execute(insert(Episode), rows)
            queued += sum(row["state"] != "skipped" for row in rows)
    with store.session() as session:
        feed = session.get(Feed, result.feed_id)
        if feed is not None:
            feed.etag, feed.last_modified = result.etag, result.last_modified
    return queued


def _update_feed(session: Session, settings: Settings, feed: Feed, result: PollResult,
                 now: datetime) -> ParsedFeed | None:
    """Health, schedule, new address and details; the parsed feed when there are episodes to store."""
    feed.last_checked_at = now
    if result.outcome == "error":
        feed.consecutive_errors += 1
        feed.last_error = result.error
        feed.next_check_at = now + next_retry_delay(feed.consecutive_errors, settings.backoff_max_hours)
        return None
    feed.consecutive_errors, feed.last_error, feed.last_ok_at = 0, None, now
    feed.next_check_at = now + _poll_interval(settings, result)
    if result.new_url and not _url_taken(session, result.new_url, feed.id):
        feed.url = result.new_url  # 301/308: the publisher moved the feed for good
    if result.outcome == "gone":
        feed.status, feed.last_error = "gone", "the server says this feed is gone for good (HTTP 410)"
        return None
    if result.feed is None:  # 304 Not Modified
        return None
    _update_feed_info(feed, result.feed)
    return result.feed


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


def _plan_episodes(session: Session, settings: Settings, feed: Feed, episodes, now: datetime) -> list[dict]:
    """Rows for the episodes not seen before, newest first. A re-published GUID matches its stored row and
    adds nothing.

    What is queued for processing ('new'): on a feed's first scan its newest `backfill_episodes`; later,
    every new dated episode. Either way, episodes older than `max_episode_age_days`, and after the first
    scan undated ones (a feed that rotates its GUIDs looks like all-new undated items), are recorded as
    back catalogue ('skipped'), and at most `max_new_episodes_per_scan` are queued: the rest are held
    back as back catalogue too, marked so `podsight status` can say the feed hit the cap."""
    known = set(session.scalars(select(Episode.key).where(Episode.feed_id == feed.id)))
    first_scan = not known
    newest_first = sorted(episodes, key=lambda e: e.published.timestamp() if e.published else float("-inf"),
                          reverse=True)
    cap = settings.max_new_episodes_per_scan
    rows, queued, held_back = [], 0, 0
    for rank, parsed in enumerate(newest_first):
        if parsed.key in known:
            continue
        known.add(parsed.key)
        back_catalogue = (rank >= settings.backfill_episodes) if first_scan else parsed.published is None
        state = _initial_state(settings, parsed, now, back_catalogue)
        row = _episode_row(feed, parsed, state)
        if state == "new":
            if queued >= cap:
                row = _episode_row(feed, parsed, "skipped")
                row.update(extraction={HELD_BACK: "max_new_episodes_per_scan"}, first_seen_at=now)
                held_back += 1
            else:
                queued += 1
        rows.append(row)
    if held_back:
        logger.warning("%s: %d new episodes in one scan; queued the newest %d and recorded %d as back catalogue "
                       "(max_new_episodes_per_scan)", feed.url, queued + held_back, queued, held_back)
    return rows


def _initial_state(settings: Settings, parsed: ParsedEpisode, now: datetime, back_catalogue: bool) -> str:
    too_old = parsed.published and now - parsed.published > timedelta(days=settings.max_episode_age_days)
    return "skipped" if back_catalogue or too_old else "new"


def _episode_row(feed: Feed, parsed: ParsedEpisode, state: str) -> dict:
    return dict(
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
