"""A subscriber's signal for ranking, as vectors: interest phrases, insights voted up or down, and
everything already sent (for novelty)."""

from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np

from podsight.embed import Embedder, unpack_vectors
from podsight.rank import Preferences
from podsight.store import ranking
from podsight.store.db import Store
from podsight.store.subscribers import SubscriberView

_SEPARATORS = re.compile(r"[,;\n]+")
MAX_INTERESTS = 20


def interest_phrases(text: str) -> list[str]:
    """'sleep, AI coding tools; interest rates' -> three phrases (blank and repeated ones dropped)."""
    phrases = (" ".join(p.split()) for p in _SEPARATORS.split(text or ""))
    return list(dict.fromkeys(p for p in phrases if p))[:MAX_INTERESTS]


def insight_vectors(store: Store, insight_ids: Iterable[int], embedder: Embedder) -> tuple[list[int], np.ndarray]:
    """The ids that have a stored embedding of this model, and those embeddings, row for row."""
    rows = ranking.stored_vectors(store, insight_ids, embedder.name)
    if not rows:
        return [], np.zeros((0, embedder.dim), dtype=np.float32)
    return [i for i, _ in rows], unpack_vectors([blob for _, blob in rows], embedder.dim)


def preferences(store: Store, sub: SubscriberView, embedder: Embedder) -> Preferences:
    phrases = interest_phrases(sub.interests)
    vectors = embedder.embed(phrases) if phrases else []
    votes = ranking.votes(store, sub.id)
    return Preferences(
        interests=tuple(zip(phrases, vectors)),
        liked=insight_vectors(store, [i for i, v in votes if v > 0], embedder)[1],
        disliked=insight_vectors(store, [i for i, v in votes if v < 0], embedder)[1],
    )
