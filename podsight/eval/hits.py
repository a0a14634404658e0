"""Does a produced insight hit a reference (or a negative)? And the ranked metrics built on that.

A produced insight HITS a target passage (a reference insight or a negative) when either
- their quotes overlap: after `normalise`, they share a run of `RUN_WORDS` words, or rapidfuzz's
  `partial_ratio` of the two is >= `QUOTE_SCORE` with the shorter quote at least `RUN_WORDS` words
  long (a few common words would otherwise align with almost anything); or
- they stand in the same place: the insight's quote lies in a cue (VTT segment) that holds the target's
  quote. When either side cannot be placed in a cue, their times decide instead: the insight's
  [start_s, end_s] overlaps the target's cue span [start, end]. Spans that only touch do not overlap.

Why cues and not only times: in the dev set's Changelog transcripts a timestamp comes every 2-5 minutes
and up to a hundred cues share one [start, end], so by time alone any insight of those minutes would hit
every reference in them (scoring the dev set's own negatives as output gave precision@5 = 4/5 on
practical-ai-204). Where cues have their own times the two rules agree.

Ranked metrics look at the extractor's own order (`extractor_order`): the top of the list is what a
digest would show. Each returns a `Rate`, so episodes pool as a micro-average.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from rapidfuzz import fuzz

from podsight.eval.metrics import Rate
from podsight.insights.ground import QuoteFinder, normalise
from podsight.records import Insight, Segment

RUN_WORDS = 6  # a shared run this long is one passage, not a coincidence of common words
QUOTE_SCORE = 80.0  # rapidfuzz partial_ratio on normalised quotes
PRECISION_AT = 5  # the digest shows about five items: what the top five are matters most
RECALL_AT = 10


# A produced quote is looked up in the episode's cues at this fuzzy score: extractors store the
# transcript's own words, but may have joined pieces or dropped fillers.
PLACE_SCORE = 90.0
# Cues either side of the insight's own time searched first: few, so a line said twice (a cold-open
# teaser) is placed where the extractor found it; the whole transcript is searched next.
PLACE_WINDOW = 2


class Located(Protocol):
    """Anything with a quote and a time span (a produced `Insight`, a reference, a negative), and
    perhaps `cues`: the (first, last) segment index holding the quote."""

    quote: str
    start_s: float
    end_s: float


@dataclass(frozen=True)
class Placed:
    """A produced insight with the cues its quote lies in (None when the quote was not found)."""

    insight: Insight
    cues: tuple[int, int] | None

    @property
    def quote(self) -> str:
        return self.insight.quote

    @property
    def start_s(self) -> float:
        return self.insight.start_s

    @property
    def end_s(self) -> float:
        return self.insight.end_s


def cue_locator(segments: Sequence[Segment]) -> Callable[[str, float], tuple[int, int] | None]:
    """A function giving the (first, last) cue that holds a quote said near a time, or None when the quote is
    not found. Looks near that time first, so a line said twice (a cold-open teaser) is placed where the
    extractor found it. The benchmarks place their stand-in insights with it too, so that they score with the
    same rule as `podsight eval`."""
    finder = QuoteFinder(segments, window=PLACE_WINDOW)
    starts = [segment.start for segment in segments]

    def cues(quote: str, start_s: float) -> tuple[int, int] | None:
        near = max(bisect.bisect_right(starts, start_s) - 1, 0)
        match = finder.find(quote, near=near, min_score=PLACE_SCORE)
        return (match.first_segment, match.last_segment) if match else None

    return cues


def place(insights: Sequence[Insight], segments: Sequence[Segment]) -> list[Placed]:
    """Each insight with the cues holding its quote, in the same order."""
    cues = cue_locator(segments)
    return [Placed(insight, cues(insight.quote, insight.start_s)) for insight in insights]


def extractor_order(insights: Sequence[Insight]) -> list[Insight]:
    """The extractor's ranking: importance descending, earlier first among equals (a stable rule, so
    reruns compare). One function so the ranking under test can change in one place."""
    return sorted(insights, key=lambda insight: (-insight.importance, insight.start_s))


def quotes_overlap(a: str, b: str) -> bool:
    """True when two quotes share a run of RUN_WORDS normalised words, or align with partial_ratio >=
    QUOTE_SCORE while the shorter has at least RUN_WORDS words."""
    words_a, words_b = normalise(a).split(), normalise(b).split()
    if _runs(words_a) & _runs(words_b):
        return True
    if min(len(words_a), len(words_b)) < RUN_WORDS:
        return False
    return fuzz.partial_ratio(" ".join(words_a), " ".join(words_b)) >= QUOTE_SCORE


def _runs(words: Sequence[str]) -> set[tuple[str, ...]]:
    return {tuple(words[i : i + RUN_WORDS]) for i in range(len(words) - RUN_WORDS + 1)}


def spans_overlap(a_start: float, a_end: float, b_start: float, b_end: float) -> bool:
    """True when two time spans share some time. A zero-length span (a point) overlaps a span that
    holds it, its end excluded: cue ends are the next cue's start, which belongs to the next cue."""
    if a_start == a_end:
        return b_start <= a_start < b_end or a_start == b_start == b_end
    if b_start == b_end:
        return a_start <= b_start < a_end
    return max(a_start, b_start) < min(a_end, b_end)


def same_place(a: Located, b: Located) -> bool:
    """Their quotes share a cue; when either has no cues, their time spans overlap."""
    a_cues, b_cues = getattr(a, "cues", None), getattr(b, "cues", None)
    if a_cues is not None and b_cues is not None:
        return max(a_cues[0], b_cues[0]) <= min(a_cues[1], b_cues[1])
    return spans_overlap(a.start_s, a.end_s, b.start_s, b.end_s)


def hits(produced: Located, target: Located) -> bool:
    """The hit rule (module docstring): quotes overlap, or they stand in the same place."""
    return same_place(produced, target) or quotes_overlap(produced.quote, target.quote)


def hits_any(produced: Located, targets: Sequence[Located]) -> bool:
    return any(hits(produced, target) for target in targets)


def precision_at(ranked: Sequence[Located], references: Sequence[Located], k: int = PRECISION_AT) -> Rate:
    """Of the top k produced insights (fewer when fewer were produced), those that hit some reference.
    Nothing produced: n/a (0/0); recall shows what was missed."""
    top = ranked[:k]
    return Rate(sum(1 for produced in top if hits_any(produced, references)), len(top))


def recall_at(ranked: Sequence[Located], references: Sequence[Located], k: int = RECALL_AT) -> Rate:
    """Of the references, those hit by any of the top k produced insights. No references: n/a (0/0)."""
    top = ranked[:k]
    return Rate(sum(1 for reference in references if hits_any_of(top, reference)), len(references))


def hits_any_of(produced: Sequence[Located], target: Located) -> bool:
    return any(hits(insight, target) for insight in produced)


def negatives_hit(ranked: Sequence[Located], negatives: Sequence[Located], k: int = PRECISION_AT) -> int:
    """How many of the top k produced insights hit some negative (an ad, a pleasantry, a biography...)."""
    return sum(1 for produced in ranked[:k] if hits_any(produced, negatives))
