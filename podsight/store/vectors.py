"""Nearest claims in the database, with pgvector where the PostgreSQL server has it (migration 0008).

The links stage asks `search_for(store)`: `None` means the exact search in numpy over the stored vectors
(read in pages, `store.links.linked_vectors`), the only one on SQLite and on a PostgreSQL without the
extension; a `PgVectorSearch` lets the server's HNSW index find each new claim's neighbours, so no process
holds every vector. Vectors are unit length (the embedder normalises), so cosine similarity is 1 - distance.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy import text

from .db import Store

HNSW_OPTIONS = "m = 16, ef_construction = 64"  # pgvector's defaults, written out
EF_SEARCH = 100  # candidates the index scan keeps (pgvector's default is 40)


@dataclass(frozen=True)
class Neighbour:
    """A stored claim near a new one: which new one (`row`), and the stored claim's ids and similarity."""

    row: int
    insight_id: int
    episode_id: int
    similarity: float


def search_for(store: Store) -> PgVectorSearch | None:
    """The database's own vector search when it has one, else None (search in numpy)."""
    if store.engine.dialect.name != "postgresql":
        return None
    with store.session() as session:  # (SQLAlchemy's inspector does not know pgvector's type and warns)
        found = session.scalar(text("SELECT 1 FROM information_schema.columns WHERE table_name = 'insights' "
                                    "AND column_name = 'claim_vector' AND table_schema = current_schema()"))
    return PgVectorSearch(store) if found else None


class PgVectorSearch:
    """Claim vectors in an untyped pgvector column, an HNSW index per dimension on the cast to it."""

    name = "pgvector"

    def __init__(self, store: Store):
        self.store = store
        self._indexed: set[int] = set()

    def index(self, vectors: Mapping[int, np.ndarray]) -> None:
        """Store the claims' vectors in the searched column (the links stage calls this as it links them)."""
        if not vectors:
            return
        dim = len(next(iter(vectors.values())))
        self._ensure_index(dim)
        with self.store.session() as session:
            session.execute(text("UPDATE insights SET claim_vector = CAST(:vector AS vector) WHERE id = :id"),
                            [{"id": insight_id, "vector": _literal(v)} for insight_id, v in vectors.items()])

    def nearest(self, vectors: np.ndarray, episodes: Sequence[int], model: str, *, min_similarity: float,
                per_row: int) -> list[Neighbour]:
        """For each row of `vectors`, up to `per_row` claims linked with `model`, of other episodes than the
        row's, at cosine >= `min_similarity`, closest first (the HNSW index, so approximate)."""
        if not len(vectors):
            return []
        dim = int(vectors.shape[1])
        self._ensure_index(dim)
        cast = f"claim_vector::vector({dim})"
        query = text(f"SELECT id, episode_id, 1 - ({cast} <=> CAST(:vector AS vector({dim}))) AS similarity "
                     f"FROM insights WHERE vector_dims(claim_vector) = {dim} AND linked_model = :model "
                     f"AND episode_id <> :episode ORDER BY {cast} <=> CAST(:vector AS vector({dim})) LIMIT :k")
        found = []
        with self.store.session() as session:
            # The episode filter applies after the index scan (pgvector before 0.8 has no iterative scan): a
            # wider candidate list than the default 40 leaves room for a claim's own episode's neighbours.
            session.execute(text(f"SET LOCAL hnsw.ef_search = {EF_SEARCH}"))
            for row, (vector, episode) in enumerate(zip(vectors, episodes)):
                for r in session.execute(query, {"vector": _literal(vector), "model": model, "episode": episode,
                                                 "k": per_row}):
                    if r.similarity >= min_similarity:
                        found.append(Neighbour(row, r.id, r.episode_id, float(r.similarity)))
        return found

    def _ensure_index(self, dim: int) -> None:
        if dim in self._indexed:
            return
        with self.store.session() as session:
            session.execute(text(
                f"CREATE INDEX IF NOT EXISTS ix_insights_claim_vector_{dim} ON insights USING hnsw "
                f"((claim_vector::vector({dim})) vector_cosine_ops) WITH ({HNSW_OPTIONS}) "
                f"WHERE vector_dims(claim_vector) = {dim}"))
        self._indexed.add(dim)


def _literal(vector: np.ndarray) -> str:
    """pgvector's text form, '[0.1,0.2,...]' (float32 keeps 9 significant digits)."""
    return "[" + ",".join(f"{x:.9g}" for x in np.asarray(vector, dtype=np.float32)) + "]"
