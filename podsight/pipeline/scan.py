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

from podsight.config import Settings
from podsight.feeds.poll import PollRequest, PollResult, iter_poll_results, next_retry_delay
from podsight.records import ParsedEpisode, ParsedFeed
from podsight.store import scans
from podsight.store.db import Store
from podsight.store.scans import FeedState

logger = logging.getLogger("podsight.scan")

EPISODE_BATCH = 500  # episodes inserted per transaction
# Marks an episode held back by `max_new_episodes_per_scan` (in Episode.extraction, which a skipped
# episode never otherwise has); `podsight status` counts them per feed and scan.
HELD_BACK = "held_back"


def scan(store: Store, settings: Settings, now: datetime, progress=None) -> dict[str, int]:
    """Poll every due feed once. One feed's failure is stored on that feed and never stops the others."""
    requests = [PollRequest(f.id, f.url, f.etag, f.last_modified) for f in scans.due_feeds(store, now)]
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

    The feed's health and details are saved first; then its new episodes, `EPISODE_BATCH` per transaction;
    the validators (ETag, Last-Modified) and the next check time last. So a scan stopped half-way leaves the
    feed due: the next run refetches the whole feed at once, instead of waiting out the poll interval (a
    subscriber who follows only that feed got no digest that day) and then getting a 304 and never seeing the
    episodes it did not store."""
    feed = scans.feed_state(store, result.feed_id)
    if feed is None:  # removed while we were polling
        return 0
    moved_to = result.new_url if result.new_url and not scans.url_taken(store, result.new_url, feed.id) else None
    changes, parsed = _feed_changes(settings, feed, result, now, moved_to)
    done = {"etag": result.etag, "last_modified": result.last_modified}
    if parsed is not None:
        done["next_check_at"] = changes.pop("next_check_at")
    if not scans.update_feed(store, feed.id, changes) or parsed is None:
        return 0
    plan = _plan_episodes(scans.episode_keys(store, feed.id), settings, feed, parsed.episodes, now)
    queued = 0
    for start in range(0, len(plan), EPISODE_BATCH):
        rows = plan[start:start + EPISODE_BATCH]
        if not scans.add_episodes(store, feed.id, rows):
            return queued
        queued += sum(row["state"] != "skipped" for row in rows)
    scans.update_feed(store, feed.id, done)
    return queued


def _feed_changes(settings: Settings, feed: FeedState, result: PollResult, now: datetime,
                  moved_to: str | None) -> tuple[dict, ParsedFeed | None]:
    """What the poll changes on the feed (health, schedule, new address, details), and the parsed feed when
    there are episodes to store. `moved_to`: the permanent redirect's target, when no other feed has it."""
    changes: dict = {"last_checked_at": now}
    if result.outcome == "error":
        errors = feed.consecutive_errors + 1
        changes.update(consecutive_errors=errors, last_error=result.error,
                       next_check_at=now + next_retry_delay(errors, settings.backoff_max_hours))
        return changes, None
    changes.update(consecutive_errors=0, last_error=None, last_ok_at=now, next_check_at=now + _poll_interval(settings, result))
    if moved_to:
        changes["url"] = moved_to  # 301/308: the publisher moved the feed for good
    if result.outcome == "gone":
        changes.update(status="gone", last_error="the server says this feed is gone for good (HTTP 410)")
        return changes, None
    if result.feed is None:  # 304 Not Modified
        return changes, None
    changes.update(title=result.feed.title or feed.title, link=result.feed.link, author=result.feed.author,
                   image_url=result.feed.image_url)
    return changes, result.feed


def _poll_interval(settings: Settings, result: PollResult) -> timedelta:
    interval = timedelta(minutes=settings.poll_interval_minutes)
    if result.retry_after:
        interval = max(interval, timedelta(seconds=result.retry_after))
    return interval


def _plan_episodes(known: set[str], settings: Settings, feed: FeedState, episodes, now: datetime) -> list[dict]:
    """Rows for the episodes not seen before (`known`: the keys stored for the feed), newest first. A
    re-published GUID matches its stored row and adds nothing.

    What is queued for processing ('new'): on a feed's first scan its newest `backfill_episodes`; later,
    every new dated episode. Either way, episodes older than `max_episode_age_days`, and after the first
    scan undated ones (a feed that rotates its GUIDs looks like all-new undated items), are recorded as
    back catalogue ('skipped'), and at most `max_new_episodes_per_scan` are queued: the rest are held
    back as back catalogue too, marked so `podsight status` can say the feed hit the cap."""
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


def _episode_row(feed: FeedState, parsed: ParsedEpisode, state: str) -> dict:
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
