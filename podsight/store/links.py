"""The links stage's questions and answers, in records: which insights wait to be linked, the stored vectors
page by page, the texts of the pairs a judge reads, and one batch's vectors, marks and links committed together.

An insight counts as new until `linked_model` names the current embedding model. `commit_batch` writes the
batch's new vectors, its marks and its links in one transaction, so a crash leaves the batch new and the next
run links it again (links are unique per pair, so a rerun adds nothing twice).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from sqlalchemy import func, insert, or_, select, text, update

from .db import Store
from .models import InsightLink, InsightRow, utcnow


@dataclass(frozen=True)
class ToLink:
    """An insight to link, with its stored vector when it has one of the current model (else None)."""

    id: int
    episode_id: int
    claim: str
    quote: str
    embedding: bytes | None


@dataclass(frozen=True)
class NewLink:
    """A link to store: the lower insight id first."""

    insight_id: int
    other_id: int
    kind: str
    similarity: float
    reason: str
    judged_by: str | None


class StoredVector(NamedTuple):
    """A stored claim vector, as `linked_vectors` yields it (SQLAlchemy's rows have the same fields)."""

    id: int
    episode_id: int
    embedding: bytes


def unlinked_ids(store: Store, model: str) -> list[int]:
    """Insights not yet linked with `model`, oldest first."""
    with store.session() as session:
        return list(session.scalars(select(InsightRow.id).where(_not_linked(model)).order_by(InsightRow.id)))


def linked_count(store: Store, model: str) -> int:
    """How many insights are linked with `model` and carry its vector."""
    with store.session() as session:
        return session.scalar(select(func.count()).select_from(InsightRow).where(*_linked(model))) or 0


def linked_vectors(store: Store, model: str, page: int, *, unindexed: bool = False) -> Iterator[Sequence[StoredVector]]:
    """The vectors of the insights linked with `model`, `page` rows at a time (the database streams them, so a
    million vectors are never all in flight as rows). `unindexed`: only those not in the pgvector column yet
    (`store.vectors`; linked before the server had the extension)."""
    where = (*_linked(model), text("claim_vector IS NULL")) if unindexed else _linked(model)
    with store.session() as session:
        rows = session.execute(select(InsightRow.id, InsightRow.episode_id, InsightRow.embedding)
                               .where(*where).execution_options(yield_per=page))
        # rows as named tuples (id, episode_id, embedding): a record made per row cost 0.3 s per 100,000
        yield from rows.partitions(page)


def insights_to_link(store: Store, ids: Sequence[int], model: str) -> list[ToLink]:
    """The insights `ids`, in id order, with their vectors of `model`."""
    with store.session() as session:
        rows = session.execute(select(InsightRow.id, InsightRow.episode_id, InsightRow.claim, InsightRow.quote,
                                      InsightRow.embedding, InsightRow.embed_model)
                               .where(InsightRow.id.in_(ids)).order_by(InsightRow.id))
        return [ToLink(r.id, r.episode_id, r.claim, r.quote, r.embedding if r.embed_model == model else None)
                for r in rows]


def claims_and_quotes(store: Store, ids: Sequence[int]) -> dict[int, tuple[str, str]]:
    """Each insight's (claim, quote), for the pairs a judge reads."""
    if not ids:
        return {}
    with store.session() as session:
        rows = session.execute(select(InsightRow.id, InsightRow.claim, InsightRow.quote).where(InsightRow.id.in_(ids)))
        return {r.id: (r.claim, r.quote) for r in rows}


def commit_batch(store: Store, ids: Sequence[int], model: str, vectors: Mapping[int, bytes],
                 links: Sequence[NewLink]) -> int:
    """In one transaction: the new `vectors` (of `model`), the batch marked as linked with `model`, and the
    links not stored yet (a rerun after a model change finds some there); returns how many links were added.
    One bulk insert: thousands of ORM objects would cost more than finding the links did."""
    with store.session() as session:
        for insight_id, blob in vectors.items():
            session.execute(update(InsightRow).where(InsightRow.id == insight_id)
                            .values(embedding=blob, embed_model=model))
        session.execute(update(InsightRow).where(InsightRow.id.in_(ids)).values(linked_model=model))
        existing = set(session.execute(
            select(InsightLink.insight_id, InsightLink.other_id)
            .where(or_(InsightLink.insight_id.in_(ids), InsightLink.other_id.in_(ids)))).all())
        rows = []
        for link in links:
            key = (link.insight_id, link.other_id)
            if key not in existing:
                existing.add(key)
                rows.append({"insight_id": link.insight_id, "other_id": link.other_id, "kind": link.kind,
                             "similarity": link.similarity, "reason": link.reason, "judged_by": link.judged_by,
                             "created_at": utcnow()})
        if rows:
            session.execute(insert(InsightLink), rows)
        return len(rows)


def _not_linked(model: str):
    return InsightRow.linked_model.is_(None) | (InsightRow.linked_model != model)


def _linked(model: str) -> tuple:
    return (InsightRow.embedding.is_not(None), InsightRow.embed_model == model, InsightRow.linked_model == model)
