"""`podsight eval`: evaluation sets, the metrics computed on them, and a model-as-judge rubric.

- `podsight.eval.dataset`: one loader for sets in the devset format (VTT transcripts, reference insights,
  negatives, optional labelled pairs): the shipped set in `data/` and the real-episode dev set.
- `podsight.eval.hits`: when a produced insight hits a reference or a negative; precision@5, recall@10.
- `podsight.eval.faithfulness`: the share of insights passing `podsight.insights.faithful` (n/a without it).
- `podsight.eval.metrics`: grounding rate, insights per hour, duplicate rate, claim recall by cosine,
  threshold tuning (pure functions; each docstring states its definition).
- `podsight.eval.judge`: the insightfulness rubric (`RUBRIC.md`) and `judge(llm, excerpt, insights)`.
"""

from podsight.errors import PodsightError


class EvalError(PodsightError):
    """The evaluation set is broken, or a metric was given input it cannot score."""
