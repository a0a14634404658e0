"""`podsight eval`: run extraction configurations over the evaluation set and measure them side by side.

Each configuration is a set of settings (model or endpoint, chunk size, insights per chunk, quote match
threshold...). Extraction goes through the same cached LLM layer as the daily run, so a second eval of an
unchanged configuration costs no model tokens (the table shows it).
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
from podsight.eval.dataset import EvalSet, duplicate_labels
from podsight.eval.judge import JUDGE_VERSION, excerpt_for, judge
from podsight.eval.metrics import (DEFAULT_RECALL_THRESHOLD, Rate, ThresholdChoice, duplicate_rate, grounding_rate,
                                   insights_per_hour, reference_recall, tune_duplicate_threshold)
from podsight.insights import extract_insights
from podsight.insights.prompts import PROMPT_VERSION
from podsight.llm import open_llm
from podsight.rank import Candidate, rank_day

WORDS_TO_TOKENS = 1.33  # English words -> BPE tokens, when the endpoint cannot count (stated in the output)


@dataclass
class ConfigResult:
    """Everything measured for one configuration over the whole set."""

    name: str
    model: str = ""
    knobs: dict = field(default_factory=dict)
    grounding: Rate = field(default_factory=Rate)
    insights: int = 0
    audio_s: float = 0.0
    recall: Rate = field(default_factory=Rate)
    digest_duplicates: Rate = field(default_factory=Rate)
    judge_scores: list[float] = field(default_factory=list)
    judge_failures: int = 0
    tokens_in: int = 0  # spent by this run (a rerun answered from the cache spends none)
    tokens_out: int = 0
    prompt_tokens: int = 0  # what the extraction costs, cached or not
    reused_prompt_tokens: int = 0
    completion_tokens: int = 0
    transcript_tokens: float = 0.0
    tokens_estimated: bool = False  # transcript tokens from a word count: the endpoint cannot tokenize
    seconds: float = 0.0

    def summary(self) -> dict:
        """The row of the table, as plain values (also the JSON output)."""
        mean = sum(self.judge_scores) / len(self.judge_scores) if self.judge_scores else math.nan
        return {
            "config": self.name, "model": self.model, **self.knobs,
            "grounding_rate": str(self.grounding), "insights": self.insights,
            "insights_per_hour": round(insights_per_hour(self.insights, self.audio_s), 1) if self.audio_s else None,
            "reference_recall": str(self.recall), "digest_duplicate_rate": str(self.digest_duplicates),
            "judge_mean": None if math.isnan(mean) else round(mean, 2), "judge_failures": self.judge_failures,
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
    return {"chunk_words": settings.chunk_words, "insights_per_chunk": settings.insights_per_chunk,
            "min_quote_score": settings.min_quote_score, "prompt": PROMPT_VERSION}


def evaluate(name: str, settings: Settings, eval_set: EvalSet, embedder: Embedder, *, judge_settings: Settings | None,
             progress: Callable[[str], None] | None = None) -> ConfigResult:
    """Extract from every transcript of the set with `settings`, then score (see `ConfigResult`)."""
    result = ConfigResult(name, knobs=knobs(settings))
    started = time.perf_counter()
    extracted = []
    with open_llm(settings, settings.cache_dir / "llm-cache.sqlite") as llm:
        result.model = llm.name
        for transcript in eval_set.transcripts:
            if progress:
                progress(f"{name}: {transcript.slug}")
            report = extract_insights(list(transcript.segments), llm, words=settings.chunk_words,
                                      overlap_words=settings.chunk_overlap_words, per_chunk=settings.insights_per_chunk,
                                      min_quote_score=settings.min_quote_score, speakers_hint=transcript.speakers)
            extracted.append((transcript, report))
            _add_extraction(result, transcript, report, embedder)
            _add_tokens(result, transcript, report, llm)
    result.seconds = time.perf_counter() - started
    result.digest_duplicates = _digest_duplicates(extracted, embedder, settings)
    if judge_settings is not None:
        _judge_all(result, extracted, judge_settings, progress)
    return result


def _add_extraction(result: ConfigResult, transcript, report, embedder: Embedder) -> None:
    result.grounding += grounding_rate(report, transcript.segments)
    result.insights += len(report.insights)
    result.audio_s += transcript.duration_s
    result.recall += reference_recall([i.claim for i in report.insights], [r.claim for r in transcript.references],
                                      embedder.embed)


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


def tuned_novelty(eval_set: EvalSet, embedder: Embedder) -> tuple[ThresholdChoice, ThresholdChoice]:
    """The near-duplicate threshold with the best F1 on the set's labelled pairs, without and with the
    contradiction pairs counted as must-not-merge (the second is what cosine alone can do)."""
    plain = tune_duplicate_threshold(duplicate_labels(eval_set, include_contradictions=False), embed=embedder.embed)
    strict = tune_duplicate_threshold(duplicate_labels(eval_set, include_contradictions=True), embed=embedder.embed)
    return plain, strict


def _token_source(results: list[ConfigResult]) -> str:
    if any(r.tokens_estimated for r in results):
        return f"words x {WORDS_TO_TOKENS} (an estimate: the endpoint has no /tokenize)"
    return "the model's tokenizer (the endpoint's /tokenize)"


def report_json(results: list[ConfigResult], tuned: tuple[ThresholdChoice, ThresholdChoice], eval_dir: Path) -> dict:
    plain, strict = tuned
    return {
        "evaluation_set": str(eval_dir), "recall_threshold_cosine": DEFAULT_RECALL_THRESHOLD,
        "judge_rubric": JUDGE_VERSION, "transcript_tokens": _token_source(results),
        "configs": [r.summary() for r in results],
        "novelty_threshold": {
            "best_f1_without_contradictions": asdict(plain), "best_f1_with_contradictions_as_negatives": asdict(strict),
        },
    }
