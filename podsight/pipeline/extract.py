"""Insight stage, runner side: run extraction on transcribed episodes and store the verified insights,
each with its claim's embedding (a few milliseconds per claim, next to seconds of the language model's time),
so the daily links stage only links."""

from __future__ import annotations

from dataclasses import asdict

from sqlalchemy import delete, select

from podsight.config import Settings
from podsight.embed import Embedder, load_embedder, pack_vector
from podsight.errors import LLMError
from podsight.insights import extract_insights
from podsight.llm import open_llm
from podsight.records import ExtractionReport
from podsight.store.db import Store
from podsight.store.models import Episode, InsightRow

from .transcribe import load_segments


def extract(store: Store, settings: Settings, progress=None, embedder: Embedder | None = None) -> dict[str, int]:
    """Extract insights from every `transcribed` episode. The models start only when there is work."""
    with store.session() as session:
        todo = list(session.scalars(select(Episode.id).where(Episode.state == "transcribed").order_by(Episode.id)))
    counts = {"episodes": 0, "insights": 0, "dropped": 0, "errors": 0}
    if not todo:
        return counts
    if progress:
        progress.start("Extracting insights", len(todo))
    embedder = embedder or load_embedder(settings.embed_model)
    with open_llm(settings, settings.cache_dir / "llm-cache.sqlite") as llm:
        for episode_id in todo:
            report = _extract_one(store, settings, llm, embedder, episode_id, progress)
            if report is None:
                counts["errors"] += 1
                break  # the endpoint is down: the other episodes wait for the next run
            counts["episodes"] += 1
            counts["insights"] += len(report.insights)
            counts["dropped"] += len(report.dropped)
            if progress:
                progress.advance(note="")
    return counts


def _extract_one(store: Store, settings: Settings, llm, embedder: Embedder, episode_id: int,
                 progress) -> ExtractionReport | None:
    with store.session() as session:
        episode = session.get(Episode, episode_id)
        segments = load_segments(session, episode_id)
        speakers = [p["name"] for p in episode.persons or []]
    on_chunk = (lambda done, total: progress.note(f"chunk {done}/{total}")) if progress else None
    try:
        report = extract_insights(
            segments, llm, words=settings.chunk_words, overlap_words=settings.chunk_overlap_words,
            per_chunk=settings.insights_per_chunk, min_quote_score=settings.min_quote_score,
            speakers_hint=speakers, progress=on_chunk,
        )
    except LLMError as exc:
        with store.session() as session:
            episode = session.get(Episode, episode_id)
            episode.attempts += 1
            episode.last_error = f"insights: {exc}"
        return None
    with store.session() as session:
        _save_report(session, session.get(Episode, episode_id), report, embedder)
    return report


def _save_report(session, episode: Episode, report: ExtractionReport, embedder: Embedder) -> None:
    """Replace the episode's insights with this run's (idempotent) and keep the report for `status`."""
    session.execute(delete(InsightRow).where(InsightRow.episode_id == episode.id))
    vectors = embedder.embed([insight.claim for insight in report.insights])
    session.add_all(
        InsightRow(episode_id=episode.id, **asdict(insight), embedding=pack_vector(vector, "float16"),
                   embed_model=embedder.name)
        for insight, vector in zip(report.insights, vectors)
    )
    episode.state, episode.last_error, episode.attempts = "extracted", None, 0
    episode.extraction = {
        "chunks": report.chunks,
        "insights": len(report.insights),
        "chunks_skipped": list(report.chunks_skipped),
        "dropped": list(report.dropped),
        "tokens_in": report.tokens_in,
        "tokens_out": report.tokens_out,
    }
