"""Finding and classifying pairs of close insights from different episodes (the pure part of linking)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from podsight.links.direction import opposite

log = logging.getLogger("podsight.links")

# Cosine similarity of all-MiniLM-L6-v2 claim embeddings. Measured: paraphrases of one claim score
# 0.75-0.85, a claim and its negation ~0.6 (embeddings barely see "not"), other topics under 0.2.
RELATED = 0.45  # same topic
CORROBORATING = 0.72  # same claim, when no judge has looked at the pair
JUDGE_FROM = 0.5  # pairs this close go to the language model, which can say "contradicting"


@dataclass(frozen=True)
class Ref:
    """What linking needs to know of one insight."""

    insight_id: int
    episode_id: int
    claim: str
    quote: str


@dataclass(frozen=True)
class Pair:
    """Two close insights; `first` has the lower id, so a pair has one spelling."""

    first: Ref
    second: Ref
    similarity: float

    @classmethod
    def of(cls, a: Ref, b: Ref, similarity: float) -> Pair:
        """The pair of `a` and `b` in its one spelling, the similarity rounded to 4 places."""
        first, second = sorted((a, b), key=lambda r: r.insight_id)
        return cls(first, second, round(float(similarity), 4))


@dataclass(frozen=True)
class Link:
    pair: Pair
    kind: str  # related | corroborating | contradicting
    reason: str
    judged_by: str | None = None


def close_pairs(new: Sequence[Ref], new_vectors: np.ndarray, pool: Sequence[Ref], pool_vectors: np.ndarray,
                *, min_similarity: float = RELATED, per_insight: int = 10, block: int = 1024,
                pool_episodes: np.ndarray | None = None, block_bytes: int = 64 * 1024 * 1024) -> list[Pair]:
    """Pairs of a new insight and any insight in `pool` (stored ones, and the new ones too when they were
    added to it) from different episodes with cosine >= `min_similarity`: the closest `per_insight` per
    new insight, closest first. Vectors are unit rows.

    A threshold join, not a top-k search: the scores are computed in tiles of up to `block` new rows by as
    many pool rows as fit in `block_bytes`, and only the scores above the threshold (a few per row) are
    kept. The tiles bound memory however large the pool grows (128 new rows against a million stored at
    once would be 512 MB of scores), and the pool is read once per `block` new rows, not once per few rows,
    which at a million stored is what the time goes to. `pool_episodes` (the pool's episode ids as an
    array) saves reading them from a million refs on every call."""
    if pool_episodes is None:
        pool_episodes = np.fromiter((ref.episode_id for ref in pool), dtype=np.int64, count=len(pool))
    new_episodes = np.fromiter((ref.episode_id for ref in new), dtype=np.int64, count=len(new))
    rows_per = max(1, min(block, len(new)))
    cols_per = max(1, block_bytes // (4 * rows_per))
    found_rows, found_cols, found_scores = [], [], []
    for col_start in range(0, len(pool), cols_per):
        tile = pool_vectors[col_start:col_start + cols_per]
        for row_start in range(0, len(new), rows_per):
            scores = new_vectors[row_start:row_start + rows_per] @ tile.T
            rows, cols = np.nonzero(scores >= min_similarity)
            found = scores[rows, cols]
            rows, cols = rows + row_start, cols + col_start
            keep = new_episodes[rows] != pool_episodes[cols]  # never within one episode
            found_rows.append(rows[keep])
            found_cols.append(cols[keep])
            found_scores.append(found[keep])
    if not found_rows:
        return []
    rows, cols, found = np.concatenate(found_rows), np.concatenate(found_cols), np.concatenate(found_scores)
    order = np.lexsort((cols, -found, rows))  # by row, closest first within a row
    rows, cols, found = rows[order], cols[order], found[order]
    top = (np.arange(len(rows)) - np.searchsorted(rows, rows)) < per_insight  # position within its row
    pairs: dict[tuple[int, int], Pair] = {}
    for row, col, score in zip(rows[top], cols[top], found[top]):
        pair = Pair.of(new[row], pool[col], score)
        pairs[(pair.first.insight_id, pair.second.insight_id)] = pair
    return sorted(pairs.values(), key=lambda p: (-p.similarity, p.first.insight_id, p.second.insight_id))


def classify(pairs: Sequence[Pair], judge=None, *, budget: int = 40,
             corroborating: float = CORROBORATING, judge_from: float = JUDGE_FROM) -> list[Link]:
    """A link per pair. The closest `budget` pairs at or above `judge_from` are judged by `judge` (which
    returns a `Verdict` or None when it could not decide); the rest are classified by similarity alone,
    which never says "contradicting". A judge's "unrelated" drops the pair. Either way a "corroborating" pair
    whose claims move in opposite directions (one up, one down: direction.py) becomes "contradicting"."""
    links, judged = [], 0
    for pair in pairs:  # closest first, so the budget goes to the pairs most likely to matter
        verdict = None
        if judge is not None and pair.similarity >= judge_from and judged < budget:
            judged += 1
            verdict = judge(pair)
        if verdict is not None:
            if verdict.relation != "unrelated":
                links.append(_directions_checked(Link(pair, verdict.relation, verdict.reason, verdict.model)))
            continue
        kind = "corroborating" if pair.similarity >= corroborating else "related"
        links.append(_directions_checked(Link(pair, kind, f"similar claims (cosine {pair.similarity:.2f})")))
    if judge is not None and judged == budget:
        log.info("judged the %d closest pairs; the rest are linked by similarity only", budget)
    return links


def _directions_checked(link: Link) -> Link:
    """A "corroborating" pair whose claims move in opposite directions contradicts (direction.py). A judge's
    "contradicting" for such a pair gets the same reason: the small judge's own words for it can be wrong (the
    demo's dispute was shown with "Both claims state that experienced developers are slower ..."), while the
    words that disagree can be checked by the reader."""
    if link.kind not in ("corroborating", "contradicting"):
        return link
    why = opposite(link.pair.first.claim, link.pair.second.claim)
    if why is None:
        return link
    return Link(link.pair, "contradicting", why, f"{link.judged_by} + direction check" if link.judged_by
                else "direction check")
