"""A capable model re-orders the code's candidate passages (`llm_chooses_passages`; on by default when
`llm_base_url` is set).

The embedded 1.5B model cannot judge (it answers "A" to most either-or questions), so by default the code's
salience order stands. A larger model behind an OpenAI-compatible endpoint can: it is shown the code's
candidates, numbered, and names the ones worth an insight, best first. Only the order changes: every
passage it may pick was chosen by code (no ad, intro or small talk it could add), and every claim written
afterwards passes the same checks in code.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from pydantic import BaseModel, Field

from podsight.errors import LLMOutputError
from podsight.insights.select import Passage
from podsight.llm.base import LLM, Usage

log = logging.getLogger("podsight.insights")

CANDIDATE_WORDS = 90  # each candidate as shown to the model: its first words are enough to judge it

_SYSTEM = """You are the editor of a daily newsletter of podcast insights. Below are numbered passages from one \
episode. Pick the passages that each state a specific, non-obvious idea (an argument, a finding, a data \
point or advice) that a reader would forward; skip small talk, thanks, biography, anecdotes without a point \
and ads. Answer with their numbers, best first, at most {limit}."""


class Picks(BaseModel):
    picks: list[int] = Field(default_factory=list, max_length=40)


def model_order(llm: LLM, candidates: Sequence[Passage], limit: int) -> tuple[list[Passage], Usage]:
    """The candidates the model picked, best first, then the rest in the code's order (so a passage whose
    claim fails the checks still gives way to the next). The code's order when the answer is unusable."""
    if len(candidates) < 2:
        return list(candidates), Usage()
    try:
        answer, usage = llm.complete(_messages(candidates, limit), Picks, max_tokens=16 + 4 * limit)
    except LLMOutputError as error:
        log.warning("the model's choice of passages was not usable (%s); keeping the code's order", error)
        return list(candidates), Usage()
    picked = list(dict.fromkeys(n - 1 for n in answer.picks if 1 <= n <= len(candidates)))[:limit]
    rest = [i for i in range(len(candidates)) if i not in picked]
    return [candidates[i] for i in picked + rest], usage


def _messages(candidates: Sequence[Passage], limit: int) -> list[dict]:
    lines = []
    for number, passage in enumerate(candidates, 1):
        words = passage.text.split()
        shown = " ".join(words[:CANDIDATE_WORDS]) + (" ..." if len(words) > CANDIDATE_WORDS else "")
        lines.append(f"[{number}] {passage.speaker or 'Unknown'}: {shown}")
    return [{"role": "system", "content": _SYSTEM.format(limit=limit)}, {"role": "user", "content": "\n\n".join(lines)}]
