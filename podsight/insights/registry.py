"""Extraction methods by name (`settings.extraction`): one call shape for the pipeline and `podsight eval`."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from podsight.insights.extract import extract_insights
from podsight.insights.passages import extract_passages, passage_vectors
from podsight.insights.select import Echo, Embed
from podsight.llm.base import LLM
from podsight.records import ExtractionReport, Segment

Extract = Callable[..., ExtractionReport]


def _by_chunks(settings, segments: list[Segment], llm: LLM, *, speakers: Sequence[str], embed: Embed | None,
               echo: Echo | None, progress) -> ExtractionReport:
    return extract_insights(segments, llm, words=settings.chunk_words, overlap_words=settings.chunk_overlap_words,
                            per_chunk=settings.insights_per_chunk, min_quote_score=settings.min_quote_score,
                            speakers_hint=speakers, progress=progress)


def _by_passages(settings, segments: list[Segment], llm: LLM, *, speakers: Sequence[str], embed: Embed | None,
                 echo: Echo | None, progress) -> ExtractionReport:
    return extract_passages(segments, llm, speakers_hint=speakers, embed=embed, echo=echo, progress=progress,
                            model_chooses=settings.model_chooses_passages(),
                            model_checks=settings.model_checks_claims(),
                            concurrency=settings.llm_requests_at_once())


EXTRACTORS: dict[str, Extract] = {"passages": _by_passages, "chunks": _by_chunks}
ECHOING = frozenset({"passages"})  # the methods that read `echo` (and need other episodes' vectors for it)


def uses_echo(settings) -> bool:
    return settings.extraction in ECHOING


__all__ = ["EXTRACTORS", "extract_episode", "passage_vectors", "uses_echo"]


def extract_episode(settings, segments: list[Segment], llm: LLM, *, speakers: Sequence[str] = (),
                    embed: Embed | None = None, echo: Echo | None = None, progress=None) -> ExtractionReport:
    """One episode's extraction by the method `settings.extraction` names (chunks ignore `echo`)."""
    return EXTRACTORS[settings.extraction](settings, segments, llm, speakers=speakers, embed=embed, echo=echo,
                                           progress=progress)
