"""Links between insights of different episodes: related, corroborating, contradicting.

    pairs = close_pairs(new, stored, min_similarity=RELATED)       # numpy cosine, no model
    links = classify(pairs, judge=PairJudge(llm), budget=40)      # the LLM decides the close ones

Embedding similarity finds pairs about the same thing; it cannot tell "X raised Y" from "X did not raise
Y" (both score ~0.9), so the language model judges the closest pairs. A small model reads the shared
topic and calls nearly everything "corroborating", so code checks the directions the two claims state
(direction.py): one saying up and the other down makes a link "contradicting" whatever the verdict.
"""

from podsight.links.find import CORROBORATING, JUDGE_FROM, RELATED, Link, Pair, Ref, classify, close_pairs
from podsight.links.judge import PairJudge, Verdict

__all__ = ["CORROBORATING", "JUDGE_FROM", "RELATED", "Link", "Pair", "PairJudge", "Ref", "Verdict",
           "classify", "close_pairs"]
