"""A subscriber's signal for ranking, as vectors: interest phrases, insights voted up or down, and
everything already sent (for novelty)."""

from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from podsight.embed import Embedder, unpack_vectors
from podsight.rank import Preferences
from podsight.store.models import Feedback, InsightRow, Subscriber

_SEPARATORS = re.compile(r"[,;\n]+")
MAX_INTERESTS = 20


def interest_phrases(text: str) -> list[str]:
    """'sleep, AI coding tools; interest rates' -> three phrases (blank and repeated ones dropped)."""
    phrases = (" ".join(p.split()) for p in _SEPARATORS.split(text or ""))
    return list(dict.fromkeys(p for p in phrases if p))[:MAX_INTERESTS]


def insight_vectors(session: Session, insight_ids: Iterable[int], embedder: Embedder) -> tuple[list[int], np.ndarray]:
    """The ids that have a stored embedding of this model, and those embeddings, row for row."""
    ids = list(insight_ids)
    if not ids:
        return [], np.zeros((0, embedder.dim), dtype=np.float32)
    rows = session.execute(select(InsightRow.id, InsightRow.embedding).where(
        InsightRow.id.in_(ids), InsightRow.embed_model == embedder.name, InsightRow.embedding.is_not(None))).all()
    return [r.id for r in rows], unpack_vectors([r.embedding for r in rows], embedder.dim)


def preferences(session: Session, sub: Subscriber, embedder: Embedder) -> Preferences:
    phrases = interest_phrases(sub.interests)
    vectors = embedder.embed(phrases) if phrases else []
    votes = session.execute(select(Feedback.insight_id, Feedback.vote).where(Feedback.subscriber_id == sub.id)).all()
    return Preferences(
        interests=tuple(zip(phrases, vectors)),
        liked=insight_vectors(session, [i for i, v in votes if v > 0], embedder)[1],
        disliked=insight_vectors(session, [i for i, v in votes if v < 0], embedder)[1],
    )
