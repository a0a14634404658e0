"""Faithfulness: the share of kept insights whose claim says only what the transcript says, by the rules
(`faithfulness_rate`) and, where the judge is an endpoint, by a model (`judged_faithful`).

The check itself is `podsight.insights.faithful.faithfulness_problems(claim, passage, quote,
known_names)` (a list of problems; empty means faithful). It is imported when needed, so an eval runs,
reporting faithfulness as n/a, on a tree where that module does not exist yet.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from podsight.eval.judge import excerpt_for
from podsight.eval.metrics import Rate
from podsight.insights.check import model_objection
from podsight.llm.base import LLM
from podsight.records import Insight, Segment

# Seconds of transcript on each side of the quote given to the check: a claim may rightly use context
# from neighbouring cues (a name, what "it" refers to).
PASSAGE_CONTEXT_S = 60.0

Check = Callable[..., list]


def faithfulness_check() -> Check | None:
    """The project's faithfulness check, or None when podsight.insights.faithful is not there."""
    try:
        from podsight.insights.faithful import faithfulness_problems
    except ImportError:
        return None
    return faithfulness_problems


def passage_around(segments: Sequence[Segment], insight: Insight, context_s: float = PASSAGE_CONTEXT_S) -> str:
    """The transcript's text from context_s before the insight's quote to context_s after it."""
    start, end = insight.start_s - context_s, insight.end_s + context_s
    return "\n".join(s.text for s in segments if s.end > start and s.start < end)


def faithfulness_rate(insights: Sequence[Insight], segments: Sequence[Segment], known_names: Sequence[str],
                      check: Check | None) -> Rate | None:
    """Insights whose claim passes `check`, out of all kept insights; None when there is no check."""
    if check is None:
        return None
    faithful = sum(1 for insight in insights
                   if not check(insight.claim, passage_around(segments, insight), insight.quote,
                                known_names=tuple(known_names)))
    return Rate(faithful, len(insights))


def judged_faithful(llm: LLM, insights: Sequence[Insight], segments: Sequence[Segment]) -> Rate:
    """Insights a judge model finds faithful to the transcript around their quote (`judge.excerpt_for`'s lines,
    each with its speaker, so that who says what can be checked), asked as `llm_checks_claims` asks. Unlike
    `faithfulness_rate`, this is a reader other than the rules; it means something only from a capable model
    (the embedded 1.5B finds fault with nearly every claim: README, the thirteenth read)."""
    faithful = 0
    for insight in insights:
        around = excerpt_for(segments, [(insight.start_s, insight.end_s)], margin_s=PASSAGE_CONTEXT_S)
        objection, _ = model_objection(llm, insight.claim, around)
        faithful += objection is None
    return Rate(faithful, len(insights))
