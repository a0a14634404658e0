"""`podsight eval`: a fixed evaluation set, the metrics computed on it, and a model-as-judge rubric.

- `podsight.eval.dataset`: the shipped transcripts, their reference insights and labelled pairs.
- `podsight.eval.metrics`: grounding rate, insights per hour, duplicate rate, reference recall,
  threshold tuning (pure functions; each docstring states its definition).
- `podsight.eval.judge`: the insightfulness rubric (`RUBRIC.md`) and `judge(llm, excerpt, insights)`.
"""

from podsight.errors import PodsightError


class EvalError(PodsightError):
    """The evaluation set is broken, or a metric was given input it cannot score."""
