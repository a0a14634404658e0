"""Benchmark: pgvector's neighbour search for the links stage, against the exact numpy search.

    .venv/bin/python bench/vectors.py                    # 20,000 stored, 200 queries
    .venv/bin/python bench/vectors.py --stored 100000

Starts a PostgreSQL 16 with pgvector (the `pgserver` wheel, in a temporary folder), stores `--stored` linked
insights whose vectors are random directions around topic centres (as `bench/rank.py` makes them, so that
neighbours exist), indexes them as the links stage does (`store.vectors.PgVectorSearch`: the vector column,
then the HNSW index), and asks for the 10 nearest of `--queries` new claims. Prints the time to store the
vectors, to build the index, the query latency (median and 99th percentile) and the recall of the index's top
10 against the exact top 10 among the stored claims at cosine >= 0.45 (`links.RELATED`).
"""

from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np
import sqlalchemy
from sqlalchemy import insert, select, text

from podsight.links import RELATED
from podsight.store.db import Store
from podsight.store.models import Episode, Feed, InsightRow
from podsight.store.vectors import PgVectorSearch, search_for

DIM, TOPICS, SPREAD = 384, 2_000, 0.55


def unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def vectors_around(centres: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    picked = centres[rng.integers(0, len(centres), count)]
    return unit(picked + SPREAD * rng.standard_normal((count, DIM)) / np.sqrt(DIM))


def fill(store: Store, count: int) -> None:
    """One feed, 1,000 episodes, `count` insights already linked with the model 'bench'."""
    with store.session() as session:
        feed = Feed(url="http://bench/feed.xml")
        session.add(feed)
        session.flush()
        session.execute(insert(Episode), [{"feed_id": feed.id, "key": f"e{n}", "title": f"E{n}"} for n in range(1000)])
        first = session.scalar(select(Episode.id).order_by(Episode.id).limit(1))
        session.execute(insert(InsightRow), [
            {"episode_id": first + n % 1000, "claim": f"claim {n}", "quote": "quote", "kind": "claim", "importance": 0.5,
             "start_s": 0, "end_s": 1, "match_score": 100, "model": "m", "prompt_version": "v", "embed_model": "bench",
             "linked_model": "bench"} for n in range(count)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stored", type=int, default=20_000)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    import pgserver  # the test extra

    rng = np.random.default_rng(0)
    centres = unit(rng.standard_normal((TOPICS, DIM)))
    stored, queries = vectors_around(centres, args.stored, rng), vectors_around(centres, args.queries, rng)
    folder = tempfile.mkdtemp(prefix="podsight-bench-pgvector-")
    server = pgserver.get_server(folder, cleanup_mode="delete")
    try:
        admin = sqlalchemy.create_engine(f"postgresql+psycopg://postgres@/postgres?host={folder}",
                                         isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text("CREATE DATABASE bench"))
        admin.dispose()
        store = Store(f"postgresql+psycopg://postgres@/bench?host={folder}")
        search = search_for(store)
        assert isinstance(search, PgVectorSearch), "this PostgreSQL has no pgvector"
        fill(store, args.stored)
        with store.session() as session:
            first_id = session.scalar(select(InsightRow.id).order_by(InsightRow.id).limit(1))
        started = time.perf_counter()
        search._indexed.add(DIM)  # store the vectors first, then build the index once, as a backfill would
        for start in range(0, args.stored, 5_000):
            search.index({first_id + i: stored[i] for i in range(start, min(start + 5_000, args.stored))})
        stored_s = time.perf_counter() - started
        started = time.perf_counter()
        search._indexed.discard(DIM)
        search._ensure_index(DIM)
        index_s = time.perf_counter() - started
        episodes = [-1] * args.queries  # a new episode: every stored claim may be a neighbour
        took = []
        found = []
        for vector, episode in zip(queries, episodes):
            started = time.perf_counter()
            found.append(search.nearest(vector[None, :], [episode], "bench", min_similarity=RELATED, per_row=10))
            took.append(time.perf_counter() - started)
        scores = queries @ stored.T
        hits = wanted = 0
        for row, near in enumerate(found):
            exact = [first_id + i for i in np.argsort(-scores[row])[:10] if scores[row, i] >= RELATED]
            wanted += len(exact)
            hits += len(set(exact) & {n.insight_id for n in near})
        store.close()
    finally:
        server.cleanup()
    ms = np.array(took) * 1000
    print(f"pgvector, {args.stored:,} stored claims of {DIM} dims, {args.queries} queries (10 nearest, cosine >= {RELATED})")
    print(f"  store the vectors      {stored_s:8.1f} s")
    print(f"  build the HNSW index   {index_s:8.1f} s")
    print(f"  query, median          {np.median(ms):8.1f} ms")
    print(f"  query, 99th percentile {np.percentile(ms, 99):8.1f} ms")
    print(f"  recall of the exact top 10 at cosine >= {RELATED}: {hits}/{wanted} = {hits / max(wanted, 1):.3f}")


if __name__ == "__main__":
    main()
