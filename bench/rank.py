"""Benchmark: linking and ranking one day of new insights against a year of stored ones.

    .venv/bin/python bench/rank.py                      # 2,000 new against 100,000 stored
    .venv/bin/python bench/rank.py --new 500 --stored 20000
    .venv/bin/python bench/rank.py --stored 1000000     # the links stage's memory at a million stored

Builds a real SQLite database (podsight's schema) holding `--stored` insights with float16 embeddings, as
the links stage stores them, plus a subscriber who has been sent 5 a day for a year; then times, in one
process, the stages as `podsight run` calls them:

1. links: link the new claims against everything stored (no language-model judging: `link_judge_pairs = 0`,
   its cost is per pair and shown by `podsight run`);
2. digests: rank the day's candidates for the subscriber (novelty against all 1,825 sent, interests,
   diversity) and store the digest.

The new claims arrive as the insights stage stores them, with their embeddings; making those embeddings
(all-MiniLM-L6-v2 in numpy) is timed on its own first, as the insights stage's share of the work.

Stored vectors are random directions around 2,000 topic centres, so that nearest neighbours exist as in
real data; new claims are generated sentences (real text: the embedder's cost is real).
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import resource
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
from sqlalchemy import insert, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from podsight.config import Settings  # noqa: E402
from podsight.embed import load_embedder, pack_vector  # noqa: E402
from podsight.pipeline.digest import build_digests  # noqa: E402
from podsight.pipeline.links import link_insights  # noqa: E402
from podsight.store.db import Store  # noqa: E402
from podsight.store.models import DigestItemRow, DigestRow, Episode, Feed, InsightRow, Subscriber  # noqa: E402

NOW = datetime(2026, 11, 30, 12, tzinfo=timezone.utc)
SUBJECTS = ("Battery prices", "Remote teams", "Sleep debt", "Interest rates", "Open models", "Coral reefs",
            "Vinyl sales", "City buses", "Home prices", "Coffee yields", "Chip exports", "Heat pumps")
VERBS = ("fell", "rose", "doubled", "stalled", "recovered", "collapsed", "held steady", "beat forecasts")
TAILS = ("after two cool years", "in the third quarter", "as demand shifted to Asia", "despite new tariffs",
         "for small firms", "in most European cities", "once subsidies ended", "among first-time buyers")


TOPICS = [f"{a} {b}" for a in ("Battery", "Housing", "Coffee", "Chip", "Freight", "Wheat", "Solar", "Insurance",
                                "Tuition", "Streaming", "Airline", "Copper", "Rental", "Vaccine", "Ad", "Water")
          for b in ("prices", "demand", "exports", "startups", "subsidies", "wages", "margins", "imports")]


def claim(rng: random.Random, n: int) -> str:
    """A day's claims cover many topics (128 here), as a few hundred episodes' would."""
    return (f"{rng.choice(TOPICS)} {rng.choice(VERBS)} by {rng.randint(2, 60)} percent {rng.choice(TAILS)}, "
            f"says {rng.choice(SUBJECTS).lower()} analyst number {n % 97}.")


PAGE = 50_000  # stored insights inserted per statement


def stored_vectors(count: int, dim: int, rng: np.random.Generator) -> np.ndarray:
    centres = np.random.default_rng(11).normal(size=(2000, dim)).astype(np.float32)  # the same 2,000 every page
    vectors = centres[rng.integers(0, len(centres), count)] + 0.6 * rng.normal(size=(count, dim)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def build(store: Store, stored: int, new_vectors: np.ndarray, model: str) -> None:
    """The database: ORM bulk inserts in pages, so a million stored insights build in minutes and in
    little memory (run in a child process anyway: the parent's peak RSS must be the stages' alone)."""
    rng, nrng = random.Random(7), np.random.default_rng(7)
    new = len(new_vectors)
    with store.session() as session:
        feeds = [Feed(url=f"https://show{n}.example/feed.xml", title=f"Show {n}") for n in range(200)]
        session.add_all(feeds)
        session.flush()
        feed_ids = [feed.id for feed in feeds]
        old_count, fresh_count = max(stored // 10, 1), max(new // 10, 1)
        session.execute(insert(Episode), [
            {"feed_id": feed_ids[n % 200], "key": f"old{n}", "title": f"Old {n}", "state": "extracted",
             "first_seen_at": NOW - timedelta(days=30 + n % 330)} for n in range(old_count)])
        session.execute(insert(Episode), [
            {"feed_id": feed_ids[n % 200], "key": f"new{n}", "title": f"New {n}", "state": "extracted",
             "first_seen_at": NOW - timedelta(hours=n % 20), "published_at": NOW - timedelta(hours=n % 20)}
            for n in range(fresh_count)])
        first_old = session.scalar(select(Episode.id).where(Episode.key == "old0"))
        first_fresh = session.scalar(select(Episode.id).where(Episode.key == "new0"))
        for start in range(0, stored, PAGE):  # vectors made a page at a time: 1M x 384 float32 is 1.5 GB
            vectors = stored_vectors(min(PAGE, stored - start), new_vectors.shape[1], nrng)
            session.execute(insert(InsightRow), [
                _insight(first_old + n // 10, claim(rng, n), pack_vector(vectors[n - start], "float16"), model, linked=True)
                for n in range(start, start + len(vectors))])
        session.execute(insert(InsightRow), [
            _insight(first_fresh + n // 10, new_claim(n), pack_vector(new_vectors[n], "float16"), model)
            for n in range(new)])
        sub = Subscriber(email="reader@example.com", interests="interest rates, battery prices")
        session.add(sub)
        session.flush()
        for day in range(365):  # a year of digests, 5 items each
            session.add(DigestRow(subscriber_id=sub.id, day=(NOW - timedelta(days=day + 1)).date().isoformat(),
                                  items=[DigestItemRow(insight_id=1 + day * 5 + k, position=k, score=1) for k in range(5)]))


def new_claim(n: int) -> str:
    return claim(random.Random(n), n)


def _insight(episode_id: int, text: str, blob: bytes, model: str, linked: bool = False) -> dict:
    return dict(episode_id=episode_id, claim=text, quote=text, kind="claim", importance=random.random(),
                start_s=0, end_s=5, match_score=100, model="bench", prompt_version="bench", embedding=blob,
                embed_model=model, linked_model=model if linked else None, created_at=NOW)


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--new", type=int, default=2000)
    parser.add_argument("--stored", type=int, default=100_000)
    args = parser.parse_args()
    embedder = load_embedder()
    claims = [new_claim(n) for n in range(args.new)]
    started = time.perf_counter()
    new_vectors = embedder.embed(claims)  # the insights stage's share: it stores each claim with its vector
    embed_s = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as home:
        settings = Settings(home=Path(home), link_judge_pairs=0, max_episode_age_days=1)
        started = time.perf_counter()
        # Built in a child process (forked: it shares the loaded model), so that building a million rows
        # does not set this process's peak RSS, which must be the stages' own.
        child = multiprocessing.get_context("fork").Process(
            target=_build_in_child, args=(settings.db_url, args.stored, new_vectors, embedder.name))
        child.start()
        child.join()
        if child.exitcode:
            raise SystemExit(f"building the database failed (exit {child.exitcode})")
        print(f"built {args.stored:,} stored + {args.new:,} new insights, 365 digests in "
              f"{time.perf_counter() - started:.1f} s (not part of the timings)", flush=True)
        store = Store(settings.db_url)
        before = peak_mb()
        started = time.perf_counter()
        links = link_insights(store, settings, embedder=embedder)
        link_s = time.perf_counter() - started
        after_links = peak_mb()
        started = time.perf_counter()
        digests = build_digests(store, settings, NOW, ignore_send_hour=True, embedder=embedder)
        rank_s = time.perf_counter() - started
        store.close()
    print(f"embedding     {embed_s:6.2f} s   the {args.new:,} new claims, in the insights stage "
          f"({1000 * embed_s / max(args.new, 1):.1f} ms a claim)")
    print(f"links stage   {link_s:6.2f} s   linked {links['linked']:,}, stored {links['links']:,} links")
    print(f"digest stage  {rank_s:6.2f} s   {digests['items']} items for 1 subscriber (1,825 sent before)")
    print(f"linking + ranking: {link_s + rank_s:.2f} s (goal: under 5 s); with the embedding: {embed_s + link_s + rank_s:.2f} s")
    print(f"peak RSS      {peak_mb():6.0f} MB  ({before:.0f} MB before the two stages, {after_links:.0f} MB after "
          f"the links stage; the stored vectors alone are {args.stored * embedder.dim * 4 / 1e6:,.0f} MB as float32)")


def _build_in_child(db_url: str, stored: int, new_vectors: np.ndarray, model: str) -> None:
    store = Store(db_url)
    build(store, stored, new_vectors, model)
    store.close()


if __name__ == "__main__":
    main()
