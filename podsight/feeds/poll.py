"""Poll many feeds at once: conditional GET, per-host limits, one result per feed whatever happens.

`poll_each` and its synchronous callers compute and return; they never touch the store. The runner takes each
`PollResult` as it arrives from `iter_poll_results` and saves it (new validators, a moved URL, a gone feed,
the error shown to the user, the episodes) before the next one, so a scan holds only the feeds waiting to be
stored, never all of them; it schedules the next poll, using `next_retry_delay` after errors.
"""

from __future__ import annotations

import asyncio
import logging
import os
import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

import httpx

from podsight.errors import FetchError, PodsightError
from podsight.feeds.parse import parse_feed
from podsight.feeds.shards import poll_in_processes
from podsight.http import (FETCH_DEADLINE_S, FetchResult, FetchStatusError, HostClients, HostLimiter, _valid_url,
                           fetch)
from podsight.records import ParsedFeed

logger = logging.getLogger("podsight.feeds")

FEED_ACCEPT = "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
Outcome = Literal["updated", "not_modified", "moved", "gone", "error"]
PROCESS_POOL_MIN_FEEDS = 50  # below this, starting worker processes costs more than it saves
MAX_WORKERS = 4


def check_feed_url(url: str) -> str:
    """`url` stripped when it can be polled; a PodsightError naming the problem otherwise (no scheme, not
    http(s), no host, an unclosed IPv6 bracket such as http://[::1/feed, a port out of range)."""
    url = url.strip()
    if not url.lower().startswith(("http://", "https://")):
        raise PodsightError(f"{url!r} is not an http(s) URL: give the address of the RSS or Atom feed")
    try:
        return _valid_url(url)
    except FetchError as exc:
        raise PodsightError(f"{exc}: check the address of the RSS or Atom feed") from None


@dataclass(frozen=True)
class PollRequest:
    """A feed to poll, with the validators saved from its last successful fetch."""

    feed_id: int
    url: str
    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True)
class PollResult:
    """What polling one feed found.

    outcome: 'updated' (feed parsed), 'not_modified' (304), 'gone' (410: retire the feed) or 'error'.
    A permanent redirect (301/308) still gives 'updated' / 'not_modified', with `new_url` set: store it.
    ('moved' is reserved for a move without content and is not produced today.)
    """

    feed_id: int
    url: str
    outcome: Outcome
    feed: ParsedFeed | None = None
    new_url: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    error: str | None = None
    http_status: int | None = None
    bytes_received: int = 0
    retry_after: float | None = None


async def poll_each(
    requests: Sequence[PollRequest],
    deliver: Callable[[int, PollResult], None],
    *,
    user_agent: str,
    timeout_s: float,
    max_bytes: int,
    per_host_limit: int,
    max_concurrency: int,
    max_redirects: int,
    deadline_s: float = FETCH_DEADLINE_S,
    allow_private: bool = False,
) -> None:
    """Poll every feed concurrently: `deliver(position, result)` gets each result as its feed finishes, and
    nothing is kept here, so a result is freed as soon as the receiver is done with it.

    Each feed's fetch, redirects included, must finish within `deadline_s` seconds (time queued for a
    host or concurrency slot does not count). Unless `allow_private` (the `allow_private_addresses`
    setting), no fetch may connect to a loopback, private or link-local address. A failing feed never
    stops the others.
    """
    limiter = HostLimiter(per_host_limit)
    gate = asyncio.Semaphore(max_concurrency)

    async def poll_one(position: int, request: PollRequest, clients: HostClients) -> None:
        async with limiter.slot(request.url), gate:  # host slot first: a queued host must not hold a global slot
            fetched = await _fetch_safely(clients.for_url(request.url), request, max_bytes, max_redirects, deadline_s)
        result = fetched if isinstance(fetched, PollResult) else await _parse_safely(request, fetched)
        deliver(position, result)

    async with HostClients(user_agent, timeout_s, per_host_limit, allow_private=allow_private) as clients:
        await asyncio.gather(*(poll_one(position, request, clients) for position, request in enumerate(requests)))


def poll_feeds_sync(requests: Iterable[PollRequest], *, on_result: Callable[[PollResult], None] | None = None,
                    **options) -> list[PollResult]:
    """Every feed's result, in the order of `requests` (`on_result` is called as each feed finishes, for
    progress bars); takes `poll_each`'s keyword options. A big scan on a machine with
    several cores is split by host across worker processes (`podsight.feeds.shards`)."""
    requests = list(requests)
    results: list = [None] * len(requests)

    def keep(position: int, result: PollResult) -> None:
        results[position] = result
        _report(on_result, result)

    _poll_each_sync(requests, keep, options)
    return results


def iter_poll_results(requests: Iterable[PollRequest], **options) -> Iterator[PollResult]:
    """Each feed's result as soon as it is polled (in no particular order), for a caller that stores each
    before taking the next: the scan. Polling runs in a background thread (and worker processes for a
    big scan), so storing a big feed never stalls the fetches in flight. Takes `poll_each`'s options."""
    requests = list(requests)
    arrived: queue.SimpleQueue = queue.SimpleQueue()
    finished = object()
    failure: list[BaseException] = []

    def work() -> None:
        try:
            _poll_each_sync(requests, lambda _position, result: arrived.put(result), options)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread below
            failure.append(exc)
        finally:
            arrived.put(finished)

    threading.Thread(target=work, name="podsight-poll", daemon=True).start()
    while True:
        result = arrived.get()
        if result is finished:
            break
        yield result
        del result  # not held while waiting for the next: the caller has stored it
    if failure:
        raise failure[0]


def _poll_each_sync(requests: list[PollRequest], deliver: Callable[[int, PollResult], None], options: dict) -> None:
    workers = min(_usable_cores(), MAX_WORKERS)
    if len(requests) < PROCESS_POOL_MIN_FEEDS or workers < 2:
        asyncio.run(poll_each(requests, deliver, **options))
    else:
        poll_in_processes(requests, workers, options, deliver, _worker_lost)


def _usable_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _worker_lost(request: PollRequest, message: str) -> PollResult:
    return PollResult(request.feed_id, request.url, "error", error=message)


def next_retry_delay(consecutive_errors: int, max_hours: float = 48) -> timedelta:
    """How long to wait after `consecutive_errors` failures in a row: 15 min, 30 min, 1 h, ... capped."""
    if consecutive_errors <= 0:
        return timedelta(0)
    minutes = 15 * 2 ** min(consecutive_errors - 1, 20)  # the min() keeps huge counts from overflowing
    return min(timedelta(minutes=minutes), timedelta(hours=max_hours))


async def _fetch_safely(client: httpx.AsyncClient, request: PollRequest, max_bytes: int,
                        max_redirects: int, deadline_s: float = FETCH_DEADLINE_S) -> FetchResult | PollResult:
    """Fetch one feed; every exception becomes an 'error' (or 'gone') result with a readable message."""
    try:
        return await fetch(client, request.url, max_bytes=max_bytes, etag=request.etag,
                           last_modified=request.last_modified, max_redirects=max_redirects, accept=FEED_ACCEPT,
                           deadline_s=deadline_s)
    except FetchError as exc:
        outcome: Outcome = "gone" if exc.status == 410 else "error"
        message = f"{exc}: the feed was removed; unsubscribe or find its new address" if outcome == "gone" else str(exc)
        return PollResult(request.feed_id, request.url, outcome, error=message, http_status=exc.status,
                          retry_after=exc.retry_after if isinstance(exc, FetchStatusError) else None)
    except Exception as exc:  # noqa: BLE001 - one feed's surprise must not end the whole scan
        logger.exception("unexpected error polling %s", request.url)
        return PollResult(request.feed_id, request.url, "error", error=f"unexpected {type(exc).__name__}: {exc}")


async def _parse_safely(request: PollRequest, fetched: FetchResult) -> PollResult:
    """Parse a fetched feed; a document that is no feed becomes an 'error' result."""
    try:
        return await _result_from_fetch(request, fetched)
    except PodsightError as exc:  # FeedParseError: the fetch worked, the document is no feed
        return PollResult(request.feed_id, request.url, "error", error=str(exc), http_status=fetched.status)
    except Exception as exc:  # noqa: BLE001 - one feed's surprise must not end the whole scan
        logger.exception("unexpected error parsing %s", request.url)
        return PollResult(request.feed_id, request.url, "error", error=f"unexpected {type(exc).__name__}: {exc}")


async def _result_from_fetch(request: PollRequest, fetched: FetchResult) -> PollResult:
    """Turn a successful fetch into a result, parsing the feed off the event loop."""
    common = dict(feed_id=request.feed_id, url=request.url, new_url=fetched.permanent_url,
                  http_status=fetched.status, bytes_received=fetched.bytes_received, retry_after=fetched.retry_after)
    if fetched.not_modified:
        # A 304 may omit validators; keep the ones we sent so the next poll stays conditional.
        return PollResult(outcome="not_modified", etag=fetched.etag or request.etag,
                          last_modified=fetched.last_modified or request.last_modified, **common)
    loop = asyncio.get_running_loop()
    feed = await loop.run_in_executor(None, parse_feed, fetched.content, fetched.final_url)
    return PollResult(outcome="updated", feed=feed, etag=fetched.etag, last_modified=fetched.last_modified, **common)


def _report(on_result: Callable[[PollResult], None] | None, result: PollResult) -> None:
    """Call the progress callback; a bug there is logged, not allowed to stop the scan."""
    if on_result is None:
        return
    try:
        on_result(result)
    except Exception:  # noqa: BLE001
        logger.exception("on_result callback failed for %s", result.url)
