"""A big scan split across worker processes, one group of hosts per process.

Polling is CPU work on loopback-fast networks: httpx's per-request bookkeeping and building the feed
records both hold the GIL, so one process tops out near one core. Each worker runs the whole poll
(fetch and parse) for its hosts, so no feed body crosses a process boundary, and every host stays in one
worker, so the per-host limit holds as before. Results stream back one feed at a time (progress bars
move, memory stays flat). bench/feeds.py on 2 cores, 1,000 feeds: 3.6-3.9 s in one process with
parsing in a process pool, 2.8-3.1 s split in two.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import queue as queue_module
import threading
from collections.abc import Callable, Sequence
from urllib.parse import urlsplit

logger = logging.getLogger("podsight.feeds")

_DONE = "done"
_WAIT_S = 1.0  # how often the parent checks that its workers are alive while it waits for results


def group_by_host(requests: Sequence, groups: int) -> list[list[int]]:
    """Request positions split into `groups` lists, each host wholly in one, balanced by feed count. A URL
    too broken to have a host (http://[::1/feed) goes with the others like it: its fetch says why."""
    by_host: dict[str, list[int]] = {}
    for position, request in enumerate(requests):
        by_host.setdefault(_netloc(request.url), []).append(position)
    shards: list[list[int]] = [[] for _ in range(groups)]
    for positions in sorted(by_host.values(), key=len, reverse=True):  # biggest hosts first: even shards
        min(shards, key=len).extend(positions)
    return [shard for shard in shards if shard]


def _netloc(url: str) -> str:
    try:
        return urlsplit(url).netloc.lower()
    except ValueError:
        return ""


def poll_in_processes(requests: Sequence, workers: int, options: dict, deliver: Callable,
                      error_result: Callable) -> None:
    """`poll_each` over `requests` split `workers` ways: this process polls one share itself while
    `workers - 1` worker processes poll the others (so the scan starts at once, while they boot).
    `deliver(position, result)` gets each result as it arrives, from this thread or a collector thread
    (never two at once); nothing is kept here. A worker that dies leaves `error_result(request, message)`
    for each of its feeds not yet done."""
    from podsight.feeds.poll import poll_each

    context = multiprocessing.get_context("forkserver")  # not fork: the caller may have threads running
    # Workers fork from a server that has already imported the poller (httpx, lxml): each starts in
    # milliseconds instead of re-importing for a third of a second.
    context.set_forkserver_preload(["podsight.feeds.poll"])
    done: list = [None] * len(requests)  # True once delivered
    lock = threading.Lock()

    def deliver_once(position: int, result) -> None:
        with lock:
            done[position] = True
            deliver(position, result)

    channel = context.Queue()
    options = {**options, "max_concurrency": max(1, options["max_concurrency"] // workers)}
    own, *others = group_by_host(requests, workers)
    processes = []
    for positions in others:
        work = [(position, requests[position]) for position in positions]
        process = context.Process(target=_worker, args=(work, options, channel), daemon=True)
        process.start()
        processes.append(process)
    # A thread drains the workers' results while this process polls: a full pipe would stall them.
    collector = threading.Thread(target=_collect, args=(channel, processes, deliver_once), daemon=True)
    collector.start()
    asyncio.run(poll_each([requests[p] for p in own], lambda i, result: deliver_once(own[i], result), **options))
    collector.join()
    for position, finished in enumerate(done):
        if not finished:  # its worker died (killed, out of memory) before finishing this feed
            deliver_once(position, error_result(requests[position], "the scan worker for this host stopped unexpectedly"))


def _collect(channel, processes, deliver: Callable) -> None:
    """Hand each worker's results to `deliver(position, result)` until every worker has said it is done or
    has died; a feed whose worker died before sending it is never delivered (the caller fills the hole)."""
    running = len(processes)
    while running:
        try:
            message = channel.get(timeout=_WAIT_S)
        except queue_module.Empty:
            if not any(process.is_alive() for process in processes) and channel.empty():
                break  # every worker is gone without its last word: leave the holes to the caller
            continue
        if message == _DONE:
            running -= 1
            continue
        deliver(*message)
    for process in processes:
        process.join(timeout=5)


def _worker(work: list, options: dict, channel) -> None:
    """One process: poll its hosts' feeds (parsing in threads), send each result as it comes."""
    from podsight.feeds.poll import poll_each

    def send(index: int, result) -> None:
        channel.put((work[index][0], result))

    try:
        asyncio.run(poll_each([request for _, request in work], send, **options))
    finally:
        channel.put(_DONE)
