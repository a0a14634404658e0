"""Finding and classifying pairs of close insights from different episodes (the pure part of linking)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from podsight.embed import VectorIndex

log = logging.getLogger("podsight.links")

# Cosine similarity of all-MiniLM-L6-v2 claim embeddings. Measured: paraphrases of one claim score
# 0.75-0.85, a claim and its negation ~0.6 (embeddings barely see "not"), other topics under 0.2.
RELATED = 0.45  # same topic
CORROBORATING = 0.72  # same claim, when no judge has looked at the pair
JUDGE_FROM = 0.5  # pairs this close go to the language model, which alone can say "contradicting"
SAME_EPISODE_ALLOWANCE = 8


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


@dataclass(frozen=True)
class Link:
    pair: Pair
    kind: str  # related | corroborating | contradicting
    reason: str
    judged_by: str | None = None


def close_pairs(new: Sequence[Ref], new_vectors: np.ndarray, stored: Sequence[Ref], stored_vectors: np.ndarray,
                *, min_similarity: float = RELATED, per_insight: int = 10) -> list[Pair]:
    """Pairs (new, stored) and (new, new) from different episodes with cosine >= `min_similarity`, about
    `per_insight` per new insight, closest first. Vectors are L2-normalised rows."""
    pool = list(stored) + list(new)
    index = VectorIndex(new_vectors.shape[1])
    index.add(range(len(pool)), np.vstack([stored_vectors, new_vectors]) if len(stored) else new_vectors)
    # A few extra neighbours, because those from the insight's own episode are skipped.
    positions, scores = index.search(new_vectors, per_insight + SAME_EPISODE_ALLOWANCE)
    pairs: dict[tuple[int, int], Pair] = {}
    for ref, row_positions, row_scores in zip(new, positions, scores):
        for j, score in zip(row_positions, row_scores):
            other = pool[int(j)]
            if score < min_similarity:
                break  # best first: the rest are further still
            if other.episode_id == ref.episode_id:
                continue
            first, second = sorted((ref, other), key=lambda r: r.insight_id)
            pairs[(first.insight_id, second.insight_id)] = Pair(first, second, round(float(score), 4))
    return sorted(pairs.values(), key=lambda p: (-p.similarity, p.first.insight_id, p.second.insight_id))


def classify(pairs: Sequence[Pair], judge=None, *, budget: int = 40,
             corroborating: float = CORROBORATING, judge_from: float = JUDGE_FROM) -> list[Link]:
    """A link per pair. The closest `budget` pairs at or above `judge_from` are judged by `judge` (which
    returns a `Verdict` or None when it could not decide); the rest are classified by similarity alone,
    which never says "contradicting". A judge's "unrelated" drops the pair."""
    links, judged = [], 0
    for pair in pairs:  # closest first, so the budget goes to the pairs most likely to matter
        verdict = None
        if judge is not None and pair.similarity >= judge_from and judged < budget:
            judged += 1
            verdict = judge(pair)
        if verdict is not None:
            if verdict.relation != "unrelated":
                links.append(Link(pair, verdict.relation, verdict.reason, verdict.model))
            continue
        kind = "corroborating" if pair.similarity >= corroborating else "related"
        links.append(Link(pair, kind, f"similar claims (cosine {pair.similarity:.2f})"))
    if judge is not None and judged == budget:
        log.info("judged the %d closest pairs; the rest are linked by similarity only", budget)
    return links
