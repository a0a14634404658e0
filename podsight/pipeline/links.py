"""Links stage, runner side: link new insights to close insights of other episodes.

The insights stage stores each claim's embedding; this stage embeds only what is missing (insights from
before, or of another embedding model). An insight counts as new until `linked_model` names the current
model; the mark and the insight's links are written in one transaction, so a crash leaves it new and the
next run links it (links are unique per pair, so a rerun adds nothing twice). Stored vectors are read
once per run and kept in memory (a year of insights is about 150 MB as float32) in one matrix allocated
at its final size (stored + new) and filled page by page, so a million stored insights cost their 1.5 GB
once, not twice over while a grown copy is made; texts are read only for the pairs the language model
judges. The model starts only when some pair is close enough to judge.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import replace

import numpy as np

from podsight.config import Settings
from podsight.embed import Embedder, load_embedder, pack_vector, unpack_vectors
from podsight.embed.index import unpack_into
from podsight.links import CORROBORATING, JUDGE_FROM, RELATED, Link, Pair, PairJudge, Ref, classify, close_pairs
from podsight.llm import open_llm
from podsight.store import links as stored
from podsight.store.db import Store
from podsight.store.vectors import PgVectorSearch, search_for

log = logging.getLogger("podsight.pipeline")

BATCH = 512  # new insights embedded and linked per transaction
PAGE = 5_000  # stored vectors read per page: ~4 MB of float16 BLOBs in flight while the matrix fills
PER_INSIGHT = 10  # the closest pairs kept per new insight


def link_insights(store: Store, settings: Settings, progress=None, embedder: Embedder | None = None) -> dict[str, int]:
    """Link every insight not yet linked with the current embedding model, embedding those without a vector."""
    embedder = embedder or load_embedder(settings.embed_model)
    todo = stored.unlinked_ids(store, embedder.name)
    search = _search(store, embedder, len(todo)) if todo else None
    counts = {"linked": 0, "links": 0, "judged": 0}
    if not todo:
        return counts
    if progress:
        progress.start("Linking insights", len(todo))
    with ExitStack() as stack:
        judge = _LazyJudge(settings, stack) if settings.link_judge_pairs else None
        for start in range(0, len(todo), BATCH):
            batch = todo[start:start + BATCH]
            counts["links"] += _link_batch(store, settings, embedder, batch, search, judge)
            counts["linked"] += len(batch)
            if progress:
                progress.advance(len(batch))
        counts["judged"] = judge.calls if judge else 0
    return counts


class _Refs(Sequence):
    """The pool's insights as Refs (ids only, texts are read when needed), made on access from two int64
    arrays: a million Ref objects would cost ~200 MB more than the 16 MB of arrays."""

    def __init__(self, pool: _Pool):
        self.pool = pool

    def __len__(self) -> int:
        return self.pool.size

    def __getitem__(self, position):
        if isinstance(position, slice):
            return [self[i] for i in range(*position.indices(len(self)))]
        if not -len(self) <= position < len(self):
            raise IndexError(position)
        position %= len(self)
        return Ref(int(self.pool.ids[position]), int(self.pool.episodes[position]), "", "")


class _Pool:
    """Every insight linked with this model: ids, episode ids and one float32 matrix of their vectors,
    allocated once with room for the run's new insights, so adding a batch copies nothing."""

    def __init__(self, capacity: int, dim: int):
        self._vectors = np.empty((capacity, dim), np.float32)
        self._ids = np.empty(capacity, np.int64)
        self._episodes = np.empty(capacity, np.int64)
        self.size = 0

    @property
    def vectors(self) -> np.ndarray:
        return self._vectors[:self.size]

    @property
    def ids(self) -> np.ndarray:
        return self._ids[:self.size]

    @property
    def episodes(self) -> np.ndarray:
        return self._episodes[:self.size]

    @property
    def refs(self) -> _Refs:
        return _Refs(self)

    @classmethod
    def load(cls, store: Store, embedder: Embedder, extra: int = 0) -> _Pool:
        """The stored vectors, read `PAGE` rows at a time into a matrix sized for them and `extra` more."""
        pool = cls(stored.linked_count(store, embedder.name) + extra, embedder.dim)
        for page in stored.linked_vectors(store, embedder.name, PAGE):
            pool._reserve(pool.size + len(page))  # only if rows were linked between the count and the read
            end = pool.size + len(page)
            unpack_into(pool._vectors[pool.size:end], [v.embedding for v in page], embedder.dim)
            pool._ids[pool.size:end] = [v.id for v in page]
            pool._episodes[pool.size:end] = [v.episode_id for v in page]
            pool.size = end
        return pool

    def add(self, ids: list[int], episodes: list[int], vectors: np.ndarray) -> None:
        self._reserve(self.size + len(vectors))
        end = self.size + len(vectors)
        self._vectors[self.size:end] = vectors
        self._ids[self.size:end] = ids
        self._episodes[self.size:end] = episodes
        self.size = end

    def _reserve(self, size: int) -> None:
        """Room for `size` rows; the load sized the matrix for the whole run, so this copies only when
        insights were linked by someone else meanwhile."""
        if size <= len(self._vectors):
            return
        capacity = max(size, len(self._vectors) + len(self._vectors) // 4)
        for name in ("_vectors", "_ids", "_episodes"):
            old = getattr(self, name)
            grown = np.empty((capacity, *old.shape[1:]), old.dtype)
            grown[:self.size] = old[:self.size]
            setattr(self, name, grown)


def _link_batch(store: Store, settings: Settings, embedder: Embedder, ids: list[int], search, judge) -> int:
    """Read the batch, pair it with the stored insights (and itself), judge the closest pairs, commit links
    and marks."""
    batch = stored.insights_to_link(store, ids, embedder.name)
    vectors, new = _vectors_of(batch, embedder)
    refs = [Ref(item.id, item.episode_id, item.claim, item.quote) for item in batch]
    pairs = search.pairs(refs, vectors)
    budget = settings.link_judge_pairs - (judge.calls if judge else 0)
    links = classify(_with_texts(store, pairs, budget), judge, budget=budget)
    search.keep(refs, vectors)  # before the commit marks them linked, so a later batch finds them
    return stored.commit_batch(store, [item.id for item in batch], embedder.name, new, [_new_link(x) for x in links])


def _search(store: Store, embedder: Embedder, new: int):
    """Where the neighbours are found: the database's vector index when it has one (pgvector), else an exact
    search in numpy over every stored vector, read into one matrix with room for the `new` ones."""
    indexed = search_for(store)
    if indexed is None:
        return _ExactSearch(_Pool.load(store, embedder, extra=new))
    return _IndexedSearch(indexed, store, embedder)


class _ExactSearch:
    """Every stored vector in memory; a new batch joins the pool before it is paired, so new insights pair
    with each other too."""

    def __init__(self, pool: _Pool):
        self.pool = pool

    def pairs(self, refs: list[Ref], vectors: np.ndarray) -> list[Pair]:
        self.pool.add([r.insight_id for r in refs], [r.episode_id for r in refs], vectors)
        return close_pairs(refs, vectors, self.pool.refs, self.pool.vectors, pool_episodes=self.pool.episodes,
                           per_insight=PER_INSIGHT)

    def keep(self, refs: list[Ref], vectors: np.ndarray) -> None:
        pass  # already in the pool


class _IndexedSearch:
    """The database finds each new claim's stored neighbours (pgvector's HNSW index: approximate, and no
    process holds every vector); the batch is paired with itself in numpy, as it is not stored yet."""

    def __init__(self, index: PgVectorSearch, store: Store, embedder: Embedder):
        self.index, self.model = index, embedder.name
        for page in stored.linked_vectors(store, self.model, PAGE, unindexed=True):  # linked before pgvector
            self.index.index(dict(zip([v.id for v in page], unpack_vectors([v.embedding for v in page], embedder.dim))))

    def pairs(self, refs: list[Ref], vectors: np.ndarray) -> list[Pair]:
        near = self.index.nearest(vectors, [r.episode_id for r in refs], self.model, min_similarity=RELATED,
                                  per_row=PER_INSIGHT)
        stored_pairs = [Pair.of(refs[n.row], Ref(n.insight_id, n.episode_id, "", ""), n.similarity) for n in near]
        return _closest(stored_pairs + close_pairs(refs, vectors, refs, vectors, per_insight=PER_INSIGHT), refs)

    def keep(self, refs: list[Ref], vectors: np.ndarray) -> None:
        self.index.index({r.insight_id: v for r, v in zip(refs, vectors)})


def _closest(pairs: list[Pair], new: list[Ref]) -> list[Pair]:
    """Each pair once, and for each new insight only its PER_INSIGHT closest, closest first (as close_pairs)."""
    mine = {r.insight_id for r in new}
    kept: dict[tuple[int, int], Pair] = {}
    counts: dict[int, int] = {}
    for pair in sorted(pairs, key=lambda p: (-p.similarity, p.first.insight_id, p.second.insight_id)):
        key = (pair.first.insight_id, pair.second.insight_id)
        ends = [i for i in key if i in mine]
        if key in kept or all(counts.get(i, 0) >= PER_INSIGHT for i in ends):
            continue
        kept[key] = pair
        for i in ends:
            counts[i] = counts.get(i, 0) + 1
    return list(kept.values())


def _vectors_of(batch: list[stored.ToLink], embedder: Embedder) -> tuple[np.ndarray, dict[int, bytes]]:
    """The batch's claim vectors (float32, row for row): the stored ones, and for insights without a vector
    of this model a new one, also returned packed by insight id, to be stored."""
    vectors = np.zeros((len(batch), embedder.dim), dtype=np.float32)
    missing = [n for n, item in enumerate(batch) if item.embedding is None]
    if missing:
        vectors[missing] = embedder.embed([batch[n].claim for n in missing])
    stored_at = [n for n, item in enumerate(batch) if item.embedding is not None]
    if stored_at:
        vectors[stored_at] = unpack_vectors([batch[n].embedding for n in stored_at], embedder.dim)
    return vectors, {batch[n].id: pack_vector(vectors[n], "float16") for n in missing}


def _with_texts(store: Store, pairs: list[Pair], budget: int) -> list[Pair]:
    """The pairs, with claim and quote filled in for those that are read: the judge's (the closest `budget`)
    and every pair close enough to corroborate, whose directions are compared (`links.classify`)."""
    judged = [p for p in pairs if p.similarity >= JUDGE_FROM][:max(budget, 0)]
    read = judged + [p for p in pairs if p.similarity >= CORROBORATING]
    missing = {ref.insight_id for p in read for ref in (p.first, p.second) if not ref.claim}
    if not missing:
        return pairs
    texts = stored.claims_and_quotes(store, sorted(missing))

    def filled(ref: Ref) -> Ref:
        return replace(ref, claim=texts[ref.insight_id][0], quote=texts[ref.insight_id][1]) if ref.insight_id in texts else ref

    return [replace(p, first=filled(p.first), second=filled(p.second)) for p in pairs]


def _new_link(link: Link) -> stored.NewLink:
    return stored.NewLink(link.pair.first.insight_id, link.pair.second.insight_id, link.kind, link.pair.similarity,
                          link.reason, link.judged_by)


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
