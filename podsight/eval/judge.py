"""A model as judge: how insightful is each insight, on the written 1-5 rubric in `RUBRIC.md`.

Any `LLM` works (an OpenAI-compatible endpoint or the embedded model). The answer is a list of exactly
one {reason, score} item per insight, in order: the schema fixes the count and the order decides which
insight an item scores. (judge-v1 had the model number its items; the 1.5B default wrote the score in
the number, and 16 of 17 insights went unscored.) Scores outside 1-5 are clamped, unreadable ones and
missing items skipped, and every problem is counted and described. A whole answer that is not JSON fails
that batch only.
"""

from __future__ import annotations

from functools import cache

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel, Field, create_model, field_validator

from podsight.errors import LLMOutputError
from podsight.insights.prompts import clock
from podsight.llm.base import LLM, Usage
from podsight.records import Segment

log = logging.getLogger("podsight.eval")

RUBRIC = (Path(__file__).parent / "RUBRIC.md").read_text(encoding="utf-8")
JUDGE_VERSION = "judge-v2"  # bump when the rubric or the prompt changes: scores of versions do not compare
BATCH = 6  # insights per call: a small judge loses count in longer lists
EXCERPT_WORDS = 700  # cap on the transcript excerpt sent with each batch
REASON_CHARS = 200

_INSTRUCTIONS = """You are grading insights extracted from a podcast. Use this rubric.

{rubric}
Answer with JSON: {{"scores": [{{"reason": "...", "score": 1-5}}, ...]}}: exactly one item per numbered
insight, in the same order. Give the reason (under 25 words) before the score."""


class JudgedItem(BaseModel):
    """One scored insight as the judge answers it. Loose on purpose: the code clamps and checks."""

    # The schema caps the reason, so constrained decoding cannot ramble past max_tokens; a longer one from
    # an unconstrained endpoint is cut, not refused.
    reason: str = Field("", json_schema_extra={"maxLength": 200})
    score: float

    @field_validator("score", mode="before")
    @classmethod
    def _unreadable_score_is_nan(cls, value: Any) -> Any:
        """"four" or null sinks only this item (skipped later as not a number), not the whole answer."""
        return value if _is_number(value) else math.nan

    @field_validator("reason", mode="before")
    @classmethod
    def _reason_as_text(cls, value: Any) -> str:
        return "" if value is None else str(value)[:200]


def _is_number(value: Any) -> bool:
    """True for numbers and numeric strings ("4", " 4.5 "), as pydantic's lax mode reads them."""
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return True
    try:
        float(str(value))
    except (TypeError, ValueError):
        return False
    return isinstance(value, str)


class JudgeAnswer(BaseModel):
    scores: list[JudgedItem] = Field(default_factory=list)


@cache
def answer_schema(count: int) -> type[JudgeAnswer]:
    """JudgeAnswer with exactly `count` items in the JSON schema (a small model left free keeps inventing
    more until the token limit cuts it off). Validation itself accepts any length, so an endpoint that
    ignores the schema loses only the items it got wrong, not the batch."""
    return create_model(f"JudgeAnswer{count}", __base__=JudgeAnswer,
                        scores=(list[JudgedItem], Field(default_factory=list,
                                                        json_schema_extra={"minItems": count, "maxItems": count})))


class Judgeable(Protocol):
    """What the judge reads: an `Insight` or an eval `ReferenceInsight` both fit."""

    claim: str
    quote: str


@dataclass(frozen=True)
class Judgement:
    """Scores aligned with the judged insights: None where the judge gave no usable score."""

    scores: tuple[float | None, ...]
    reasons: tuple[str, ...]
    problems: tuple[str, ...]  # one readable line per clamped, skipped or failed item
    model: str
    tokens_in: int = 0
    tokens_out: int = 0
    version: str = JUDGE_VERSION

    @property
    def failures(self) -> int:
        """Insights left without a score."""
        return sum(1 for score in self.scores if score is None)

    @property
    def mean(self) -> float:
        """Mean of the usable scores; NaN when there are none."""
        usable = [score for score in self.scores if score is not None]
        return sum(usable) / len(usable) if usable else math.nan


def build_messages(transcript_excerpt: str, insights: Sequence[Judgeable]) -> list[dict]:
    """The system prompt (instructions + rubric) and the excerpt with numbered insights."""
    words = transcript_excerpt.split()
    excerpt = " ".join(words[:EXCERPT_WORDS]) + (" [...]" if len(words) > EXCERPT_WORDS else "")
    numbered = "\n".join(
        f'{n}. Claim: {item.claim}\n   Quote: "{item.quote}"' for n, item in enumerate(insights, start=1)
    )
    user = f"Transcript excerpt:\n{excerpt}\n\nInsights to grade:\n{numbered}"
    return [{"role": "system", "content": _INSTRUCTIONS.format(rubric=RUBRIC)}, {"role": "user", "content": user}]


def judge(llm: LLM, transcript_excerpt: str, insights: Sequence[Judgeable], *, batch: int = BATCH) -> Judgement:
    """Score each insight 1-5 on the rubric, `batch` insights per model call.

    An answer that is not valid JSON after the client's retry (LLMOutputError) leaves its batch
    unscored and is recorded; an unreachable model (LLMError) propagates."""
    scores: list[float | None] = []
    reasons: list[str] = []
    problems: list[str] = []
    tokens = Usage()
    for first in range(0, len(insights), batch):
        group = insights[first : first + batch]
        batch_scores, batch_reasons, usage = _judge_batch(llm, transcript_excerpt, group, first, problems)
        scores += batch_scores
        reasons += batch_reasons
        tokens += usage.spent  # a rerun answered from the cache costs nothing
    return Judgement(
        tuple(scores), tuple(reasons), tuple(problems), llm.name, tokens.prompt_tokens, tokens.completion_tokens
    )


def _judge_batch(
    llm: LLM, excerpt: str, group: Sequence[Judgeable], offset: int, problems: list[str]
) -> tuple[list[float | None], list[str], Usage]:
    """One model call for insights offset+1 .. offset+len(group)."""
    messages = build_messages(excerpt, group)
    try:
        answer, usage = llm.complete(messages, answer_schema(len(group)), max_tokens=60 + 100 * (len(group) + 2))
    except LLMOutputError as error:
        last = offset + len(group)
        problems.append(f"insights {offset + 1}-{last} unscored: the judge's answer was not valid JSON ({error})")
        log.warning("%s", problems[-1])
        return [None] * len(group), [""] * len(group), Usage()
    scores, reasons = read_scores(answer, len(group), offset=offset, problems=problems)
    return scores, reasons, usage


def read_scores(
    answer: JudgeAnswer, count: int, *, offset: int = 0, problems: list[str] | None = None
) -> tuple[list[float | None], list[str]]:
    """Scores for insights 1..count from the judge's items, in order: items past `count` are ignored,
    non-finite scores dropped, others clamped to 1-5; each problem is appended to `problems`."""
    problems = problems if problems is not None else []
    scores: list[float | None] = [None] * count
    reasons = [""] * count
    if len(answer.scores) > count:
        problems.append(f"the judge gave {len(answer.scores)} items for {count} insights; the extra are ignored")
    for index, item in enumerate(answer.scores[:count]):
        where = f"insight {offset + index + 1}"
        if not math.isfinite(item.score):
            problems.append(f"{where}: the score {item.score} is not a number; skipped")
            continue
        clamped = min(5.0, max(1.0, item.score))
        if clamped != item.score:
            problems.append(f"{where}: score {item.score:g} is outside 1-5; clamped to {clamped:g}")
        scores[index] = clamped
        reasons[index] = " ".join(item.reason.split())[:REASON_CHARS]
    problems += [f"insight {offset + i + 1}: the judge gave no score" for i, s in enumerate(scores) if s is None]
    return scores, reasons


def excerpt_for(segments: Sequence[Segment], spans: Sequence[tuple[float, float]], margin_s: float = 45.0) -> str:
    """The transcript around the given (start_s, end_s) spans, `margin_s` either side, as
    "[m:ss] Speaker: text" lines; gaps between distant spans are marked "[...]". Feed it to `judge`
    for long episodes."""
    windows = [(start - margin_s, end + margin_s) for start, end in spans]
    lines: list[str] = []
    last_kept = -2
    for index, segment in enumerate(segments):
        if not any(start <= segment.end and segment.start <= end for start, end in windows):
            continue
        if lines and index != last_kept + 1:
            lines.append("[...]")
        speaker = f"{segment.speaker}: " if segment.speaker else ""
        lines.append(f"[{clock(segment.start)}] {speaker}{segment.text}")
        last_kept = index
    return "\n".join(lines)
