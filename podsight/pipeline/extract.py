"""Insight stage, runner side: run extraction on transcribed episodes and store the verified insights,
each with its claim's embedding (a few milliseconds per claim, next to seconds of the language model's time),
so the daily links stage only links."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import numpy as np

from podsight.config import Settings
from podsight.embed import Embedder, load_embedder, pack_vector, unpack_vectors
from podsight.errors import LLMError, LLMStatusError
from podsight.insights.exemplars import EXEMPLARS
from podsight.insights.registry import extract_episode, passage_vectors, uses_echo
from podsight.llm import open_llm
from podsight.records import ExtractionReport
from podsight.store import episodes, jobs
from podsight.store.db import Store
from podsight.store.jobs import Lease, LeaseLost
from podsight.store.queries import recent_claim_vectors

from .transcribe import describe
from .work import claims

log = logging.getLogger("podsight.pipeline")

# Answers that say the endpoint itself is unusable right now (wrong key, unknown model, busy, down): every
# episode would get the same, so none of them is charged an attempt and the stage stops until the next run.
# Any other 4xx (400: the chunk overflows the context, 413, 422) is about this episode's own request.
ENDPOINT_STATUS = {401, 403, 404, 408, 429}
QUEUED_ECHO_EPISODES = 200  # queued episodes whose passages feed the echo: ~300 vectors each, 0.5 MB


def extract(store: Store, settings: Settings, progress=None, embedder: Embedder | None = None) -> dict[str, int]:
    """Extract insights from the `transcribed` episodes, each claimed with a lease (other workers may take
    some). The models start only when there is work. With an endpoint, `llm_concurrency` episodes run side
    by side (the embedded model: one), and the LLM client keeps that many requests in flight in all."""
    with claims(store, settings, "transcribed") as queue:
        waiting = queue.waiting()
        if not waiting:
            return dict(_Counts())
        if progress:
            progress.start("Extracting insights", waiting)
        embedder = embedder or load_embedder(settings.embed_model)
        recent = RecentClaims.for_stage(store, settings, embedder)
        counts, stop = _Counts(), threading.Event()
        with open_llm(settings, settings.cache_dir / "llm-cache.sqlite") as llm:
            def work() -> None:
                for lease in queue.each(until=stop):
                    try:
                        report = _extract_one(store, settings, llm, embedder, recent, lease, progress)
                    except EndpointDown:
                        counts.add(None)
                        stop.set()  # the other episodes wait for the next run, their attempts untouched
                        return
                    counts.add(report)
                    if progress:
                        progress.advance(note="")

            workers = min(settings.llm_requests_at_once(), waiting)
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="podsight-episode") as pool:
                for done in [pool.submit(work) for _ in range(workers)]:
                    done.result()
    return dict(counts)


class _Counts(dict):
    """The stage's counts, added to from the episode threads."""

    def __init__(self) -> None:
        super().__init__(episodes=0, insights=0, dropped=0, errors=0)
        self._lock = threading.Lock()

    def add(self, report: ExtractionReport | None) -> None:
        with self._lock:
            if report is None:
                self["errors"] += 1
                return
            self["episodes"] += 1
            self["insights"] += len(report.insights)
            self["dropped"] += len(report.dropped)


class RecentClaims:
    """The claim vectors of recent episodes (first seen within `max_episode_age_days`, the digest's window),
    for the echo signal: a passage that restates or answers a claim another episode made is worth an
    insight, since that is what a link is made of. Read once per stage run; each episode's new claims are
    added as it is saved, so an episode extracted later in the run can echo one extracted earlier."""

    def __init__(self, episodes: np.ndarray, vectors: np.ndarray, embedder: Embedder):
        self.episodes, self.vectors, self._embedder = episodes, vectors, embedder
        # the candidate passages of the episodes queued with this run's, kept all run long: an idea two
        # new episodes share is worth an insight in both, whichever of them is extracted first
        self.passage_episodes, self.passage_vectors = episodes[:0], vectors[:0]
        self._lock = threading.Lock()
        self._seen: dict[str, np.ndarray] = {}

    def embed(self, texts) -> np.ndarray:
        """The embedder, reusing the queued episodes' passage vectors: choosing an episode's passages embeds
        the same texts its echo was computed from (a third of the stage's CPU at 200 episodes, measured)."""
        self._embed_exemplars()
        missing = [text for text in dict.fromkeys(texts) if text not in self._seen]
        found = dict(zip(missing, self._embedder.embed(missing))) if missing else {}
        return np.stack([self._seen.get(text, found.get(text)) for text in texts]) if texts else \
            self._embedder.embed([])

    def _embed_exemplars(self) -> None:
        """`select.embedded` embeds the exemplars beside every episode's passages: embedded here once per run,
        by the first episode while the others wait, not once per episode (0.2 s each, which tripled the insight
        stage of `bench/scale.py`)."""
        with self._lock:
            if EXEMPLARS[0] not in self._seen:
                self._seen.update(zip(EXEMPLARS, self._embedder.embed(list(EXEMPLARS))))

    @classmethod
    def for_stage(cls, store: Store, settings: Settings, embedder: Embedder) -> RecentClaims:
        """Recent claims and the queued episodes' passages when the extraction method reads echo, else none."""
        if not uses_echo(settings):
            return cls.none(embedder)
        recent = cls.load(store, settings, embedder)
        recent.add_queued_passages(store)
        return recent

    @classmethod
    def none(cls, embedder: Embedder) -> RecentClaims:
        """For a method that reads no echo."""
        return cls(np.zeros(0, dtype=np.int64), np.zeros((0, embedder.dim), dtype=np.float32), embedder)

    @classmethod
    def load(cls, store: Store, settings: Settings, embedder: Embedder) -> RecentClaims:
        since = datetime.now(timezone.utc) - timedelta(days=settings.max_episode_age_days)
        with store.session() as session:
            rows = recent_claim_vectors(session, since, embedder.name)
        episodes = np.fromiter((episode for episode, _ in rows), dtype=np.int64, count=len(rows))
        return cls(episodes, unpack_vectors([blob for _, blob in rows], embedder.dim), embedder)

    def add_queued_passages(self, store: Store, limit: int = QUEUED_ECHO_EPISODES) -> None:
        """The candidate passages of up to `limit` queued episodes (a few seconds of embedding each)."""
        found = [(episode_id, passage_vectors(segments, self._remembered))
                 for episode_id, segments in episodes.queued_transcripts(store, "transcribed", limit)]
        found = [(episode_id, vectors) for episode_id, vectors in found if len(vectors)]
        if found:
            self.passage_episodes = np.concatenate([np.full(len(v), e, dtype=np.int64) for e, v in found])
            self.passage_vectors = np.vstack([v for _, v in found]).astype(np.float32)

    def _remembered(self, texts) -> np.ndarray:
        vectors = self._embedder.embed(texts)
        self._seen.update(zip(texts, vectors))
        return vectors

    def add(self, episode_id: int, vectors: np.ndarray) -> None:
        """The episode's claims as just saved (replacing any it had: extraction replaces them too)."""
        with self._lock:  # episodes may be extracted side by side
            keep = self.episodes != episode_id
            episodes = np.concatenate([self.episodes[keep], np.full(len(vectors), episode_id, dtype=np.int64)])
            added = np.asarray(vectors, dtype=np.float32).reshape(-1, self.vectors.shape[1])
            self.episodes, self.vectors = episodes, np.vstack([self.vectors[keep], added])

    def echo_for(self, episode_id: int):
        """The `select.Echo` of one episode: each passage's highest cosine to another episode's claim."""
        with self._lock:
            others = np.vstack([self.vectors[self.episodes != episode_id],
                                self.passage_vectors[self.passage_episodes != episode_id]])

        def echo(passages: np.ndarray) -> np.ndarray:
            if not len(others) or not len(passages):
                return np.zeros(len(passages))
            return (passages @ others.T).max(axis=1)
        return echo


class EndpointDown(Exception):
    """The language model cannot serve anyone now: stop the stage (the reason is stored on the episode)."""


def is_endpoint_down(exc: LLMError) -> bool:
    """Unreachable, busy or misconfigured, as opposed to refusing this one episode's request (a 4xx)."""
    if not isinstance(exc, LLMStatusError):
        return True  # connection refused, timeout, not an OpenAI endpoint, unusable cache
    return exc.status >= 500 or exc.status in ENDPOINT_STATUS


def _extract_one(store: Store, settings: Settings, llm, embedder: Embedder, recent: RecentClaims, lease: Lease,
                 progress) -> ExtractionReport | None:
    """The episode's report, or None when this episode failed (the claim counted the attempt). Raises
    EndpointDown when no episode could get an answer now."""
    try:
        return _extract_and_save(store, settings, llm, embedder, recent, lease, progress)
    except LeaseLost as exc:
        log.warning("%s; its result is dropped", exc)
    except LLMError as exc:
        if is_endpoint_down(exc):
            jobs.release(store, [lease], f"insights: {exc}")  # the endpoint failed, not the episode
            raise EndpointDown(str(exc)) from exc
        jobs.fail(store, lease, f"insights: {exc}", settings.max_attempts)
    except Exception as exc:  # a bug tripped by one transcript must not hold back the episodes after it
        log.exception("insights for episode %d failed", lease.episode_id)
        jobs.fail(store, lease, f"insights: {describe(exc)}", settings.max_attempts)
    return None


def _extract_and_save(store: Store, settings: Settings, llm, embedder: Embedder, recent: RecentClaims,
                      lease: Lease, progress) -> ExtractionReport:
    segments, speakers = episodes.transcript_of(store, lease.episode_id)
    on_call = (lambda done, total: progress.note(f"call {done}/{total}")) if progress else None
    report = extract_episode(settings, segments, llm, speakers=speakers, embed=recent.embed,
                             echo=recent.echo_for(lease.episode_id), progress=on_call)
    vectors = embedder.embed([insight.claim for insight in report.insights])
    episodes.save_extraction(store, lease, report, [pack_vector(v, "float16") for v in vectors], embedder.name)
    recent.add(lease.episode_id, vectors)
    return report
