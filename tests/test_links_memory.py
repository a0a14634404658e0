"""The links stage holds the stored vectors once: one float32 matrix allocated at its final size (stored +
new) and filled page by page, never a list of every BLOB joined and converted, nor a doubled copy made
while the old one lives (issue 11, finding 10: about 5 GB at a million stored insights)."""

from __future__ import annotations

import tracemalloc

import numpy as np
from sqlalchemy import func, insert, select

from podsight.embed import pack_vector
from podsight.pipeline.links import link_insights
from podsight.store.models import Episode, Feed, InsightLink, InsightRow

DIM = 384
STORED = 40_000
NEW = 20


class FixedEmbedder:
    """Every insight here already has its vector; embedding anything would be a bug in this test."""

    name, dim = "fixed-384", DIM

    def embed(self, texts):
        raise AssertionError(f"asked to embed {len(texts)} texts; all have stored vectors")


def fill(store, rng: np.random.Generator) -> np.ndarray:
    vectors = rng.normal(size=(STORED + NEW, DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    vectors[STORED:] = vectors[:NEW]  # each new insight repeats a stored one: exactly NEW links expected
    with store.session() as session:
        feed = Feed(url="http://x/feed.xml")
        session.add_all([Episode(feed=feed, key=f"e{n}", title=f"E{n}") for n in range(101)])
        session.flush()
        common = dict(why="", quote="q", kind="claim", importance=0.5, start_s=0.0, end_s=1.0, match_score=100.0,
                      model="m", prompt_version="v", embed_model=FixedEmbedder.name)
        for start in range(0, STORED + NEW, 10_000):
            session.execute(insert(InsightRow), [
                {**common, "episode_id": 1 + n % 100 if n < STORED else 101, "claim": f"c{n}",
                 "embedding": pack_vector(vectors[n], "float16"),
                 "linked_model": FixedEmbedder.name if n < STORED else None}
                for n in range(start, min(start + 10_000, STORED + NEW))])
    return vectors


def test_stored_vectors_are_allocated_once_at_their_final_size(settings, store):
    settings.link_judge_pairs = 0
    fill(store, np.random.default_rng(3))
    final_bytes = (STORED + NEW) * DIM * 4  # the float32 matrix the stage needs: 61 MB here
    tracemalloc.start()
    try:
        counts = link_insights(store, settings, embedder=FixedEmbedder())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert counts["linked"] == NEW
    assert peak < 1.3 * final_bytes, f"peak {peak / 1e6:.0f} MB for a {final_bytes / 1e6:.0f} MB matrix"
    with store.session() as session:  # and it still links: each new insight to the stored one it repeats
        assert session.scalar(select(func.count()).select_from(InsightLink).where(InsightLink.similarity > 0.99)) == NEW


def test_tiled_scores_find_the_same_pairs_as_one_product():
    from podsight.links import Ref, close_pairs

    rng = np.random.default_rng(5)
    centres = rng.normal(size=(20, 16)).astype(np.float32)
    vectors = centres[rng.integers(0, 20, 600)] + 0.3 * rng.normal(size=(600, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    pool = [Ref(n + 1, n // 3, "", "") for n in range(600)]
    new, new_vectors = pool[500:], vectors[500:]
    whole = close_pairs(new, new_vectors, pool, vectors, block_bytes=1 << 30)
    tiled = close_pairs(new, new_vectors, pool, vectors, block=7, block_bytes=4 * 7 * 50)  # 7 x 50 tiles
    assert whole and tiled == whole
    assert len({(p.first.insight_id, p.second.insight_id) for p in whole}) == len(whole)
