"""A capable model reads each claim against its passage (`llm_checks_claims`; on by default when
`llm_base_url` is set) and the claims it finds unfaithful are dropped like any other failed claim.

The rules in `faithful/` check what words can show: numbers, names, negations, directions, invented reasons.
What they cannot show is the embedded 1.5B model's commonest failure, a claim in the passage's own words
that says something else: the subject swapped, a list turned into a relation, two points blended. A blind read
of every kept claim found 14% of the dev set's and 23% of six unseen episodes' so (README, the thirteenth read).
The 1.5B model cannot tell them apart either: asked this check, it found fault with 132 of those 137 claims,
78 of the 82 faithful ones among them, and its P("yes") to "does the passage say everything the claim says?"
ranks them with an AUC of 0.61. So by default only an endpoint is asked. The check runs after the code's, on
claims that would otherwise be kept: one short call each.
"""

from __future__ import annotations

import logging

from pydantic import BaseModel, Field

from podsight.errors import LLMOutputError
from podsight.llm.base import LLM, Usage

log = logging.getLogger("podsight.insights")

_SYSTEM = """You check a newsletter's one-line summaries of podcast passages before they are sent. A claim is \
faithful when the passage says everything the claim says: the same subject doing the same thing, the meaning \
not reversed, no reason, number or consequence the speaker did not give, no separate points blended into one, \
no guess turned into a certainty. Leaving details out is fine. First name what is wrong in one short sentence \
(empty if nothing is), then answer whether the claim is faithful."""


class Verdict(BaseModel):
    """The model's reading of one claim; the problem comes first, so that the model says what is wrong before
    it decides."""

    problem: str = Field("", max_length=300)
    faithful: bool


def model_objection(llm: LLM, claim: str, passage: str, speaker: str | None = None) -> tuple[str | None, Usage]:
    """What the model finds wrong with `claim` against `passage` (`speaker`'s words, or a labelled stretch of
    transcript), or None when it finds the claim faithful. An unusable answer is None too: the claim has passed
    the code's checks, and a checker that fails must not cost it."""
    who = f" ({speaker})" if speaker else ""
    messages = [{"role": "system", "content": _SYSTEM},
                {"role": "user", "content": f"Passage{who}: {passage}\n\nClaim: {claim}"}]
    try:
        verdict, usage = llm.complete(messages, Verdict, max_tokens=120)
    except LLMOutputError as error:
        log.warning("the model's check of a claim was not usable (%s); keeping the claim", error)
        return None, Usage()
    if verdict.faithful:
        return None, usage
    return " ".join(verdict.problem.split()) or "no reason given", usage
