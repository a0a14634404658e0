"""Benchmark: the web app's digest and search pages with a year of data.

    .venv/bin/python bench/web.py                          # 100,000 insights, 365 daily digests
    .venv/bin/python bench/web.py --insights 20000 --seconds 5

Builds a real SQLite database (podsight's schema, FTS5 triggers and all) holding `--insights` insights over
a year, ten transcript segments per episode, links between insights, and one subscriber with a 5-item
digest every day. Then serves `podsight serve`'s app with uvicorn in a child process and loads it from
this process over loopback (httpx, `--concurrency` requests in flight), and prints requests per second and
p50 / p99 latency for the digest page (`/`) and for search (`/search?q=...`). Goal: p99 under 100 ms for
the digest page.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import random
import re
import socket
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx

ADMIN, PASSWORD = "bench", "bench-password-1"
from sqlalchemy import insert, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from podsight.config import Settings  # noqa: E402
from podsight.store.db import Store  # noqa: E402
from podsight.web.auth import SESSION_COOKIE, create_admin  # noqa: E402
from podsight.store.models import (DigestItemRow, DigestRow, Episode, Feed, InsightLink, InsightRow,  # noqa: E402
                                   Subscriber, TranscriptSegment)

NOW = datetime.now(timezone.utc)
SUBJECTS = ("Battery prices", "Remote teams", "Sleep debt", "Interest rates", "Open models", "Coral reefs",
            "Vinyl sales", "City buses", "Home prices", "Coffee yields", "Chip exports", "Heat pumps")
VERBS = ("fell", "rose", "doubled", "stalled", "recovered", "collapsed", "held steady", "beat forecasts")
TAILS = ("after two cool years", "in the third quarter", "as demand shifted to Asia", "despite new tariffs",
         "for small firms", "in most European cities", "once subsidies ended", "among first-time buyers")
KINDS = ("claim", "prediction", "advice", "data_point", "story")
SEARCHES = ("battery prices", "coral", "tariffs asia", "sleep debt small firms", "vinyl")
INSIGHTS_PER_EPISODE, SEGMENTS_PER_EPISODE, SHOWS = 10, 10, 200


def sentence(rng: random.Random, n: int) -> str:
    return f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} by {rng.randint(2, 60)} percent {rng.choice(TAILS)} (note {n})."


def build(store: Store, insights: int) -> int:
    """Fill the database with Core bulk inserts (the ORM would take minutes); returns the subscriber id."""
    rng = random.Random(7)
    episodes = insights // INSIGHTS_PER_EPISODE
    with store.session() as session:
        session.execute(insert(Feed), [{"url": f"https://show{n}.example/feed.xml", "title": f"Show {n}",
                                        "last_ok_at": NOW, "last_checked_at": NOW} for n in range(SHOWS)])
        feed_ids = list(session.scalars(select(Feed.id)))
        session.execute(insert(Episode), [
            {"feed_id": feed_ids[n % SHOWS], "key": f"e{n}", "title": f"Episode {n}", "state": "extracted",
             "audio_url": f"https://cdn.example/{n}.mp3", "duration_s": 3600,
             "published_at": NOW - timedelta(days=365 * n / episodes)} for n in range(episodes)])
        episode_ids = list(session.scalars(select(Episode.id).order_by(Episode.id)))
        session.execute(insert(TranscriptSegment), [
            {"episode_id": e, "idx": k, "start_s": k * 360.0, "end_s": k * 360.0 + 30, "speaker": "Host",
             "text": sentence(rng, k) + " " + sentence(rng, k + 1), "kind": "ad" if k == 0 else None}
            for e in episode_ids for k in range(SEGMENTS_PER_EPISODE)])
        session.execute(insert(InsightRow), [_insight(rng, n, episode_ids[n // INSIGHTS_PER_EPISODE], episodes)
                                             for n in range(episodes * INSIGHTS_PER_EPISODE)])
        return _digests_and_links(session, rng, episodes * INSIGHTS_PER_EPISODE)


def _insight(rng: random.Random, n: int, episode_id: int, episodes: int) -> dict:
    text = sentence(rng, n)
    return {"episode_id": episode_id, "claim": text, "why": "It changes what people pay.", "speaker": "Guest",
            "quote": text.lower(), "kind": KINDS[n % len(KINDS)], "importance": rng.random(),
            "start_s": (n % INSIGHTS_PER_EPISODE) * 300.0, "end_s": (n % INSIGHTS_PER_EPISODE) * 300.0 + 20,
            "match_score": 99.0, "model": "bench", "prompt_version": "bench",
            "created_at": NOW - timedelta(days=365 * (n // INSIGHTS_PER_EPISODE) / episodes)}


def _digests_and_links(session, rng: random.Random, insights: int) -> int:
    """One subscriber, a 5-item digest each of the last 365 days (today included), and 3 links per item."""
    session.add(sub := Subscriber(email="reader@example.com", timezone="UTC", interests="battery prices"))
    session.flush()
    today = NOW.date()
    session.execute(insert(DigestRow), [{"subscriber_id": sub.id, "day": (today - timedelta(days=d)).isoformat(),
                                         "created_at": NOW} for d in range(365)])
    digest_ids = list(session.scalars(select(DigestRow.id).order_by(DigestRow.id)))
    items, links = [], []
    for d, digest_id in enumerate(digest_ids):
        for k in range(5):
            insight_id = 1 + (d * 5 + k) * (insights // 2000) % insights
            items.append({"digest_id": digest_id, "insight_id": insight_id, "position": k, "score": 1.0 - k / 10,
                          "reasons": ["bench"]})
            for kind in ("corroborating", "contradicting", "related"):
                other = rng.randrange(1, insights + 1)
                if other != insight_id:
                    links.append({"insight_id": min(insight_id, other), "other_id": max(insight_id, other),
                                  "kind": kind, "similarity": rng.random(), "reason": "bench pair"})
    session.execute(insert(DigestItemRow), items)
    unique = {(link["insight_id"], link["other_id"]): link for link in links}
    session.execute(insert(InsightLink), list(unique.values()))
    create_admin(session, ADMIN, PASSWORD)  # the pages are the admin's: the load signs in first
    return sub.id


def serve(db_url: str, home: str, port: int) -> None:
    """The child process: `podsight serve`'s app, as `podsight serve` runs it."""
    import uvicorn

    from podsight.web import create_app

    settings = Settings(home=Path(home), database_url=db_url, secret_key="bench")
    uvicorn.run(create_app(settings, Store(db_url)), host="127.0.0.1", port=port, log_level="warning")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def load(base: str, paths: list[str], seconds: float, concurrency: int) -> tuple[list[float], int]:
    """Latencies (s) of every request made by `concurrency` workers cycling through `paths` for `seconds`."""
    latencies: list[float] = []
    failures = 0
    deadline = time.perf_counter() + seconds
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        await sign_in(client)
        async def worker(offset: int) -> None:
            nonlocal failures
            n = offset
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                response = await client.get(paths[n % len(paths)])
                latencies.append(time.perf_counter() - started)
                failures += response.status_code != 200
                n += 1
        await asyncio.gather(*(worker(k) for k in range(concurrency)))
    return latencies, failures


async def sign_in(client: httpx.AsyncClient) -> None:
    """Log in as the bench's admin through the login form (its CSRF token included); the client keeps the
    session cookie for every request after."""
    form = await client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
    await client.post("/login", data={"username": ADMIN, "password": PASSWORD, "csrf_token": token})
    if SESSION_COOKIE not in client.cookies:
        raise SystemExit("could not sign in to the bench server")


async def check_digest_page(base: str) -> None:
    """Signed in, `/` must show the digest: otherwise the timings would measure an error page."""
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        await sign_in(client)
        page = await client.get("/")
    if page.status_code != 200 or not re.search(r"Digest for", page.text):
        raise SystemExit(f"/ answered {page.status_code}, not the digest: {page.text[:200]}")


def wait_until_up(base: str, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            httpx.get(base + "/static/podsight.css", timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise SystemExit("the server did not start")


def report(name: str, latencies: list[float], failures: int, seconds: float) -> None:
    ordered = sorted(latencies)
    p99 = ordered[min(int(len(ordered) * 0.99), len(ordered) - 1)]
    print(f"{name:24} {len(ordered) / seconds:7.1f} req/s   p50 {statistics.median(ordered) * 1000:6.1f} ms   "
          f"p99 {p99 * 1000:6.1f} ms   ({len(ordered)} requests, {failures} not 200)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--insights", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=10.0, help="Load time per page.")
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        db_url = f"sqlite:///{home}/podsight.db"
        started = time.perf_counter()
        store = Store(db_url)
        build(store, args.insights)
        store.close()
        print(f"built {args.insights:,} insights, {args.insights:,} transcript segments, 365 digests in "
              f"{time.perf_counter() - started:.1f} s (not part of the timings)", flush=True)
        port = free_port()
        server = multiprocessing.get_context("spawn").Process(target=serve, args=(db_url, home, port), daemon=True)
        server.start()
        try:
            base = f"http://127.0.0.1:{port}"
            wait_until_up(base)
            asyncio.run(check_digest_page(base))
            asyncio.run(load(base, ["/"], 1.0, args.concurrency))  # warm up: imports, caches, first queries
            print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (other work skews the numbers)")
            for name, paths in (("digest page /", ["/"]),
                                ("search /search?q=...", [f"/search?q={q}" for q in SEARCHES])):
                latencies, failures = asyncio.run(load(base, paths, args.seconds, args.concurrency))
                report(name, latencies, failures, args.seconds)
        finally:
            server.terminate()
            server.join(10)
    print("goal: digest page p99 under 100 ms")


if __name__ == "__main__":
    main()
