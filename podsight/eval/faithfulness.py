"""Faithfulness: the share of kept insights whose claim says only what the transcript says.

The check itself is `podsight.insights.faithful.faithfulness_problems(claim, passage, quote,
known_names)` (a list of problems; empty means faithful). It is imported when needed, so an eval runs,
reporting faithfulness as n/a, on a tree where that module does not exist yet.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from podsight.eval.metrics import Rate
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
