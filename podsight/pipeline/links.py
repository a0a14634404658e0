"""Links stage, runner side: embed new insights and link them to close insights of other episodes.

An insight counts as new until its embedding is stored; the embedding and the insight's links are written
in one transaction, so a crash leaves it new and the next run links it (links are unique per pair, so a
rerun adds nothing twice). The language model starts only when some pair is close enough to judge.
"""

from __future__ import annotations

import logging
from contextlib import ExitStack

import numpy as np
from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from podsight.config import Settings
from podsight.embed import Embedder, load_embedder, pack_vector, unpack_vectors
from podsight.links import Link, PairJudge, Ref, classify, close_pairs
from podsight.llm import open_llm
from podsight.store.db import Store
from podsight.store.models import InsightLink, InsightRow

log = logging.getLogger("podsight.pipeline")

BATCH = 512  # new insights embedded and linked per transaction


def link_insights(store: Store, settings: Settings, progress=None, embedder: Embedder | None = None) -> dict[str, int]:
    """Embed every insight without a vector of the current model, then store its links."""
    embedder = embedder or load_embedder(settings.embed_model)
    with store.session() as session:
        todo = list(session.scalars(select(InsightRow.id).where(_needs_vector(embedder)).order_by(InsightRow.id)))
    counts = {"embedded": 0, "links": 0, "judged": 0}
    if not todo:
        return counts
    if progress:
        progress.start("Linking insights", len(todo))
    with ExitStack() as stack:
        judge = _LazyJudge(settings, stack) if settings.link_judge_pairs else None
        for start in range(0, len(todo), BATCH):
            batch = todo[start:start + BATCH]
            with store.session() as session:
                counts["links"] += _link_batch(session, settings, embedder, batch, judge)
            counts["embedded"] += len(batch)
            if progress:
                progress.advance(len(batch))
        counts["judged"] = judge.calls if judge else 0
    return counts


def _needs_vector(embedder: Embedder):
    return (InsightRow.embedding.is_(None)) | (InsightRow.embed_model != embedder.name)


def _link_batch(session: Session, settings: Settings, embedder: Embedder, ids: list[int], judge) -> int:
    rows = list(session.scalars(select(InsightRow).where(InsightRow.id.in_(ids)).order_by(InsightRow.id)))
    vectors = embedder.embed([row.claim for row in rows])
    stored_refs, stored_vectors = _stored(session, embedder, exclude=set(ids))
    pairs = close_pairs([_ref(row) for row in rows], vectors, stored_refs, stored_vectors)
    links = classify(pairs, judge, budget=settings.link_judge_pairs - (judge.calls if judge else 0))
    for row, vector in zip(rows, vectors):
        row.embedding, row.embed_model = pack_vector(vector, "float16"), embedder.name
    return _save_links(session, links)


def _stored(session: Session, embedder: Embedder, exclude: set[int]) -> tuple[list[Ref], np.ndarray]:
    """Every insight that already has a vector of this model: refs and one float32 matrix."""
    rows = session.execute(
        select(InsightRow.id, InsightRow.episode_id, InsightRow.claim, InsightRow.quote, InsightRow.embedding)
        .where(InsightRow.embed_model == embedder.name, InsightRow.embedding.is_not(None))
    ).all()
    rows = [r for r in rows if r.id not in exclude]
    refs = [Ref(r.id, r.episode_id, r.claim, r.quote) for r in rows]
    return refs, unpack_vectors([r.embedding for r in rows], embedder.dim)


def _ref(row: InsightRow) -> Ref:
    return Ref(row.id, row.episode_id, row.claim, row.quote)


def _save_links(session: Session, links: list[Link]) -> int:
    keys = [(link.pair.first.insight_id, link.pair.second.insight_id) for link in links]
    existing = set(session.execute(
        select(InsightLink.insight_id, InsightLink.other_id).where(tuple_(InsightLink.insight_id, InsightLink.other_id).in_(keys))
    ).all()) if keys else set()
    added = 0
    for link, key in zip(links, keys):
        if key in existing:
            continue
        session.add(InsightLink(insight_id=key[0], other_id=key[1], kind=link.kind, similarity=link.pair.similarity,
                                reason=link.reason, judged_by=link.judged_by))
        added += 1
    return added


class _LazyJudge:
    """A PairJudge whose language model starts on the first pair that needs it (most runs have none)."""

    def __init__(self, settings: Settings, stack: ExitStack):
        self.settings, self.stack = settings, stack
        self._judge: PairJudge | None = None

    @property
    def calls(self) -> int:
        return self._judge.calls if self._judge else 0

    def __call__(self, pair):
        if self._judge is None:
            llm = self.stack.enter_context(open_llm(self.settings, self.settings.cache_dir / "llm-cache.sqlite"))
            self._judge = PairJudge(llm)
        return self._judge(pair)
