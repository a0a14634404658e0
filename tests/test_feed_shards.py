"""Big scans split by host across worker processes: every host stays in one process, results come back
in request order and as they finish, and a worker that dies leaves readable errors, not holes."""

from __future__ import annotations

import multiprocessing
import os

from servers import Static, serve

import podsight.feeds.poll as poll
from podsight.feeds.poll import PollRequest, poll_feeds_sync
from podsight.feeds.shards import _collect, group_by_host

RSS = '<rss version="2.0"><channel><title>Show {n}</title><item><title>Ep {n}</title><guid>g{n}</guid></item></channel></rss>'


def test_hosts_are_never_split_and_shards_are_balanced():
    requests = [PollRequest(n, f"http://h{n % 5}.example/{n}.xml") for n in range(50)]
    requests += [PollRequest(100 + n, f"http://big.example/{n}.xml") for n in range(30)]
    shards = group_by_host(requests, 2)
    hosts = [{requests[p].url.split("/")[2] for p in shard} for shard in shards]
    assert hosts[0].isdisjoint(hosts[1])
    assert sorted(p for shard in shards for p in shard) == list(range(80))
    assert abs(len(shards[0]) - len(shards[1])) <= 10


def test_a_big_scan_in_worker_processes_returns_every_feed_in_order(monkeypatch):
    monkeypatch.setattr(poll, "PROCESS_POOL_MIN_FEEDS", 10)
    monkeypatch.setattr(poll, "_usable_cores", lambda: 2)
    routes = {f"/{n}.xml": Static(body=RSS.format(n=n), headers={"Content-Type": "application/rss+xml"})
              for n in range(40)}
    seen = []
    with serve(routes) as a, serve(routes) as b, serve(routes) as c:  # three hosts (host:port) to the poller
        requests = [PollRequest(n, f"{(a, b, c)[n % 3]}/{n}.xml") for n in range(40)]
        requests.append(PollRequest(99, f"{a}/missing.xml"))
        results = poll_feeds_sync(requests, on_result=seen.append, user_agent="t", timeout_s=5,
                                  max_bytes=1_000_000, per_host_limit=2, max_concurrency=8, max_redirects=3,
                                  allow_private=True)
    assert [r.feed_id for r in results] == [r.feed_id for r in requests]
    assert [r.feed.title for r in results[:40]] == [f"Show {n}" for n in range(40)]
    assert results[40].outcome == "error" and "404" in results[40].error
    assert sorted(r.feed_id for r in seen) == sorted(r.feed_id for r in requests)


def test_a_worker_that_dies_is_noticed_and_its_feeds_stay_unfinished():
    context = multiprocessing.get_context("forkserver")
    channel = context.Queue()
    dead = context.Process(target=os._exit, args=(3,))
    dead.start()
    results = [None, None]
    _collect(channel, [dead], results.__setitem__)
    assert results == [None, None]  # the caller turns these into "the scan worker ... stopped" errors
