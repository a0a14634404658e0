"""`podsight eval`: run extraction configurations over an evaluation set and measure them side by side.

Each configuration is a set of settings (model or endpoint, chunk size, insights per chunk, quote match
threshold...). Extraction goes through the same cached LLM layer as the daily run, so a second eval of an
unchanged configuration costs no model tokens (the table shows it).

Per episode: precision@5 and reference recall@10 in the extractor's order, negatives among the top 5,
faithfulness, grounding, insights and minutes of extraction per audio hour, tokens (definitions in
`podsight.eval.hits` and `podsight.eval.metrics`). Over the set: the same pooled, plus the duplicates of
the digest built from all insights, the judge's score and the tuned near-duplicate threshold.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from podsight.config import Settings
from podsight.embed import Embedder
from podsight.eval.dataset import EvalSet, EvalTranscript, duplicate_labels
from podsight.eval.faithfulness import faithfulness_check, faithfulness_rate, judged_faithful
from podsight.eval.hits import (PRECISION_AT, QUOTE_SCORE, RECALL_AT, RUN_WORDS, extractor_order, negatives_hit,
                                place, precision_at, recall_at)
from podsight.eval.judge import JUDGE_VERSION, excerpt_for, judge
from podsight.eval.metrics import (DEFAULT_RECALL_THRESHOLD, Rate, ThresholdChoice, duplicate_rate, grounding_rate,
                                   reference_recall, tune_duplicate_threshold)
from podsight.insights.passages import PASSAGE_PROMPT_VERSION
from podsight.insights.prompts import PROMPT_VERSION
from podsight.insights.registry import extract_episode as extract_with
from podsight.llm import open_llm
from podsight.llm.base import LLM
from podsight.rank import Candidate, rank_day
from podsight.records import ExtractionReport

WORDS_TO_TOKENS = 1.33  # English words -> BPE tokens, when the endpoint cannot count (stated in the output)


def extract_episode(transcript: EvalTranscript, llm: LLM, settings: Settings,
                    embedder: Embedder | None = None) -> ExtractionReport:
    """The extraction under test, on one episode: the method `settings.extraction` names, exactly as the
    daily run calls it."""
    return extract_with(settings, list(transcript.segments), llm, speakers=transcript.speakers,
                        embed=embedder.embed if embedder else None)


def rate_json(rate: Rate | None) -> dict | None:
    """A Rate as JSON: counts and the value (null when there is nothing to count, or no measure)."""
    if rate is None:
        return None
    return {"hits": rate.hits, "total": rate.total, "value": None if math.isnan(rate.value) else round(rate.value, 4)}


def per_audio_hour(amount: float, audio_s: float) -> float | None:
    return round(amount * 3600.0 / audio_s, 2) if audio_s > 0 else None


@dataclass
class EpisodeResult:
    """What one configuration did on one episode."""

    slug: str
    audio_s: float
    references: int
    insights: int = 0
    precision: Rate = field(default_factory=Rate)  # precision@5
    recall: Rate = field(default_factory=Rate)  # reference recall@10
    negatives_hit: int = 0  # top-5 insights hitting a negative
    negatives: int = 0  # negatives the episode lists
    faithful: Rate | None = None  # None: no faithfulness check in this tree
    grounding: Rate = field(default_factory=Rate)
    extract_seconds: float = 0.0
    tokens_in: int = 0
    tokens_out: int = 0

    def row(self) -> dict:
        return {
            "episode": self.slug, "audio_minutes": round(self.audio_s / 60, 1), "references": self.references,
            "insights": self.insights, "precision_at_5": rate_json(self.precision),
            "reference_recall_at_10": rate_json(self.recall), "negatives_hit_in_top_5": self.negatives_hit,
            "negatives": self.negatives, "faithfulness": rate_json(self.faithful),
            "grounding_rate": rate_json(self.grounding),
            "insights_per_audio_hour": per_audio_hour(self.insights, self.audio_s),
            "minutes_per_audio_hour": per_audio_hour(self.extract_seconds / 60, self.audio_s),
            "extract_seconds": round(self.extract_seconds, 1),
            "tokens_in": self.tokens_in, "tokens_out": self.tokens_out,
        }


def _pooled(rates: list[Rate | None]) -> Rate | None:
    """The micro-average of the episodes' rates; None when no episode could be measured."""
    known = [rate for rate in rates if rate is not None]
    return sum(known, Rate()) if known else None


@dataclass
class ConfigResult:
    """Everything measured for one configuration over the whole set."""

    name: str
    model: str = ""
    knobs: dict = field(default_factory=dict)
    episodes: list[EpisodeResult] = field(default_factory=list)
    claim_recall: Rate = field(default_factory=Rate)  # references whose claim an insight restates (cosine)
    digest_duplicates: Rate = field(default_factory=Rate)
    judge_scores: list[float] = field(default_factory=list)
    judge_failures: int = 0
    judge_faithful: Rate | None = None  # only from an endpoint: the embedded model cannot judge it
    tokens_in: int = 0  # spent by this run (a rerun answered from the cache spends none)
    tokens_out: int = 0
    prompt_tokens: int = 0  # what the extraction costs, cached or not
    reused_prompt_tokens: int = 0
    completion_tokens: int = 0
    transcript_tokens: float = 0.0
    tokens_estimated: bool = False  # transcript tokens from a word count: the endpoint cannot tokenize
    seconds: float = 0.0

    @property
    def audio_s(self) -> float:
        return sum(e.audio_s for e in self.episodes)

    @property
    def insights(self) -> int:
        return sum(e.insights for e in self.episodes)

    def overall(self) -> dict:
        """The episodes pooled: the "overall" row of the per-episode table."""
        extract_seconds = sum(e.extract_seconds for e in self.episodes)
        return {
            "episode": "overall", "audio_minutes": round(self.audio_s / 60, 1),
            "references": sum(e.references for e in self.episodes), "insights": self.insights,
            "precision_at_5": rate_json(_pooled([e.precision for e in self.episodes])),
            "reference_recall_at_10": rate_json(_pooled([e.recall for e in self.episodes])),
            "negatives_hit_in_top_5": sum(e.negatives_hit for e in self.episodes),
            "negatives": sum(e.negatives for e in self.episodes),
            "faithfulness": rate_json(_pooled([e.faithful for e in self.episodes])),
            "grounding_rate": rate_json(_pooled([e.grounding for e in self.episodes])),
            "insights_per_audio_hour": per_audio_hour(self.insights, self.audio_s),
            "minutes_per_audio_hour": per_audio_hour(extract_seconds / 60, self.audio_s),
            "extract_seconds": round(extract_seconds, 1), "tokens_in": self.tokens_in, "tokens_out": self.tokens_out,
        }

    def summary(self) -> dict:
        """The configuration's column of the side-by-side table, and its JSON (with the episodes)."""
        mean = sum(self.judge_scores) / len(self.judge_scores) if self.judge_scores else math.nan
        overall = self.overall()
        return {
            "config": self.name, "model": self.model, **self.knobs, "episodes": len(self.episodes),
            **{key: overall[key] for key in ("precision_at_5", "reference_recall_at_10", "negatives_hit_in_top_5",
                                             "faithfulness", "grounding_rate", "insights", "insights_per_audio_hour",
                                             "minutes_per_audio_hour")},
            "claim_recall_cosine": rate_json(self.claim_recall),
            "digest_duplicate_rate": rate_json(self.digest_duplicates),
            "judge_mean": None if math.isnan(mean) else round(mean, 2), "judge_failures": self.judge_failures,
            "judge_faithful": rate_json(self.judge_faithful),
            "tokens_in": self.tokens_in, "tokens_out": self.tokens_out,
            "transcript_tokens": round(self.transcript_tokens), "prompt_tokens": self.prompt_tokens,
            "prompt_tokens_per_transcript_token": self._per_transcript_token(self.prompt_tokens),
            "computed_prompt_tokens_per_transcript_token":
                self._per_transcript_token(self.prompt_tokens - self.reused_prompt_tokens),
            "answer_tokens_per_transcript_token": self._per_transcript_token(self.completion_tokens),
            "seconds": round(self.seconds, 1),
        }

    def _per_transcript_token(self, tokens: int) -> float | None:
        return round(tokens / self.transcript_tokens, 3) if self.transcript_tokens and tokens else None


def knobs(settings: Settings) -> dict:
    """The settings that shape extraction, shown in the table."""
    if settings.extraction == "passages":
        return {"extraction": "passages", "prompt": PASSAGE_PROMPT_VERSION}
    return {"extraction": "chunks", "chunk_words": settings.chunk_words,
            "insights_per_chunk": settings.insights_per_chunk, "min_quote_score": settings.min_quote_score,
            "prompt": PROMPT_VERSION}


def evaluate(name: str, settings: Settings, eval_set: EvalSet, embedder: Embedder, *, judge_settings: Settings | None,
             progress: Callable[[str], None] | None = None) -> ConfigResult:
    """Extract from every transcript of the set with `settings`, then score (see `ConfigResult`)."""
    result = ConfigResult(name, knobs=knobs(settings))
    started = time.perf_counter()
    extracted = []
    check = faithfulness_check()
    with open_llm(settings, settings.cache_dir / "llm-cache.sqlite") as llm:
        result.model = llm.name
        for transcript in eval_set.transcripts:
            if progress:
                progress(f"{name}: {transcript.slug}")
            began = time.perf_counter()
            report = extract_episode(transcript, llm, settings, embedder)
            episode = score_episode(transcript, report, check)
            episode.extract_seconds = time.perf_counter() - began
            result.episodes.append(episode)
            extracted.append((transcript, report))
            result.claim_recall += reference_recall([i.claim for i in report.insights],
                                                    [r.claim for r in transcript.references], embedder.embed)
            _add_tokens(result, transcript, report, llm)
    result.seconds = time.perf_counter() - started
    result.digest_duplicates = _digest_duplicates(extracted, embedder, settings)
    if judge_settings is not None:
        _judge_all(result, extracted, judge_settings, progress)
    return result


def score_episode(transcript: EvalTranscript, report: ExtractionReport, check=None) -> EpisodeResult:
    """The per-episode measures of one extraction report (no model involved, so tests call it directly)."""
    ranked = place(extractor_order(report.insights), transcript.segments)
    return EpisodeResult(
        slug=transcript.slug, audio_s=transcript.duration_s, references=len(transcript.references),
        insights=len(report.insights), precision=precision_at(ranked, transcript.references),
        recall=recall_at(ranked, transcript.references), negatives_hit=negatives_hit(ranked, transcript.negatives),
        negatives=len(transcript.negatives),
        faithful=faithfulness_rate(report.insights, transcript.segments, (*transcript.speakers, transcript.show),
                                   check),
        grounding=grounding_rate(report, transcript.segments),
        tokens_in=report.tokens_in, tokens_out=report.tokens_out,
    )


def _add_tokens(result: ConfigResult, transcript, report, llm) -> None:
    """The extraction's tokens, and the transcript's own in the model's tokenizer: its spoken words, one
    line per segment, without speaker names or times (so every label and line number counts as overhead)."""
    result.tokens_in += report.tokens_in
    result.tokens_out += report.tokens_out
    result.prompt_tokens += report.prompt_tokens
    result.reused_prompt_tokens += report.reused_prompt_tokens
    result.completion_tokens += report.completion_tokens
    counted = llm.count_tokens("\n".join(segment.text for segment in transcript.segments))
    result.tokens_estimated |= counted is None
    result.transcript_tokens += counted if counted is not None else transcript.words * WORDS_TO_TOKENS


def _digest_duplicates(extracted, embedder: Embedder, settings: Settings) -> Rate:
    """Duplicate pairs within the digest that ranking builds from all the set's insights as one day's."""
    insights = [(n, t.slug, i) for n, (t, report) in enumerate(extracted) for i in report.insights]
    if not insights:
        return Rate()
    vectors = embedder.embed([i.claim for _, _, i in insights])
    candidates = [Candidate(k, n, n, i.claim, i.kind, i.importance, vector=vectors[k])
                  for k, (n, _, i) in enumerate(insights)]
    picked = rank_day(candidates, size=settings.digest_size, max_per_episode=settings.max_per_episode,
                      novelty_threshold=settings.novelty_threshold)
    return duplicate_rate(np.vstack([vectors[r.candidate.insight_id] for r in picked]), settings.novelty_threshold)


def _judge_all(result: ConfigResult, extracted, judge_settings: Settings, progress) -> None:
    with open_llm(judge_settings, judge_settings.cache_dir / "llm-cache.sqlite") as judge_llm:
        for transcript, report in extracted:
            if not report.insights:
                continue
            if progress:
                progress(f"{result.name}: judging {transcript.slug}")
            spans = [(i.start_s, i.end_s) for i in report.insights]
            verdict = judge(judge_llm, excerpt_for(transcript.segments, spans), report.insights)
            result.judge_scores += [s for s in verdict.scores if s is not None]
            result.judge_failures += verdict.failures
            if judge_settings.llm_base_url:
                faithful = judged_faithful(judge_llm, report.insights, transcript.segments)
                result.judge_faithful = faithful + (result.judge_faithful or Rate())


Tuned = tuple[ThresholdChoice, ThresholdChoice]


def tuned_novelty(eval_set: EvalSet, embedder: Embedder) -> Tuned | None:
    """The near-duplicate threshold with the best F1 on the set's labelled pairs, without and with the
    contradiction pairs counted as must-not-merge (the second is what cosine alone can do). None for a
    set without near-duplicate pairs (the real-episode dev set has no pairs.json)."""
    if not eval_set.pairs_of("near_duplicate"):
        return None
    plain = tune_duplicate_threshold(duplicate_labels(eval_set, include_contradictions=False), embed=embedder.embed)
    strict = tune_duplicate_threshold(duplicate_labels(eval_set, include_contradictions=True), embed=embedder.embed)
    return plain, strict


def _token_source(results: list[ConfigResult]) -> str:
    if any(r.tokens_estimated for r in results):
        return f"words x {WORDS_TO_TOKENS} (an estimate: the endpoint has no /tokenize)"
    return "the model's tokenizer (the endpoint's /tokenize)"


def hit_rule() -> str:
    """The hit rule in words, for the report."""
    return (f"a produced insight hits a reference (or negative) when their normalised quotes share a "
            f"{RUN_WORDS}-word run or score partial_ratio >= {QUOTE_SCORE:g}, or its quote lies in a cue holding "
            f"the reference quote (times overlap, when a quote is not found in the cues); insights ranked by "
            f"importance, then time; "
            f"precision@{PRECISION_AT}, recall@{RECALL_AT}")


def report_json(results: list[ConfigResult], tuned: Tuned | None, eval_dir: Path) -> dict:
    """The whole report: per configuration its summary and per-episode rows, and the tuned threshold."""
    configs = [{**r.summary(), "per_episode": [e.row() for e in r.episodes] + [r.overall()]} for r in results]
    threshold = None
    if tuned is not None:
        threshold = {"best_f1_without_contradictions": asdict(tuned[0]),
                     "best_f1_with_contradictions_as_negatives": asdict(tuned[1])}
    return {
        "evaluation_set": str(eval_dir), "hit_rule": hit_rule(), "recall_threshold_cosine": DEFAULT_RECALL_THRESHOLD,
        "judge_rubric": JUDGE_VERSION, "transcript_tokens": _token_source(results),
        "faithfulness_check": "podsight.insights.faithful" if faithfulness_check() else "not available (n/a)",
        "configs": configs, "novelty_threshold": threshold,
    }
