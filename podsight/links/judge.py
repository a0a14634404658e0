"""The language model's verdict on two close claims: do they agree, contradict, or only share a topic?"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, Field

from podsight.errors import LLMError, LLMOutputError
from podsight.llm.base import LLM
from podsight.links.find import Pair

log = logging.getLogger("podsight.links")

PROMPT_VERSION = "pair-v1"
SYSTEM = (
    "You compare two claims taken from different podcast episodes. Answer with one relation:\n"
    "- corroborating: both state the same fact or conclusion (wording may differ);\n"
    "- contradicting: they cannot both be true, or one says the opposite of the other (a number going up vs "
    "not going up, helps vs does not help);\n"
    "- related: same topic, but neither confirms nor denies the other;\n"
    "- unrelated: different topics.\n"
    "Give a one-line reason that names the point they agree or disagree on."
)


class _Answer(BaseModel):
    relation: Literal["corroborating", "contradicting", "related", "unrelated"]
    reason: str = Field(max_length=300)


@dataclass(frozen=True)
class Verdict:
    relation: str
    reason: str
    model: str


class PairJudge:
    """Calls the LLM once per pair (answers are cached by the LLM layer, so a rerun costs nothing).
    A failed call is logged and returns None: the pair is then linked by similarity alone."""

    def __init__(self, llm: LLM):
        self.llm = llm
        self.calls = self.failures = 0

    def __call__(self, pair: Pair) -> Verdict | None:
        self.calls += 1
        messages = [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": f"Claim A: {pair.first.claim}\nQuote A: \"{pair.first.quote}\"\n\n"
                                        f"Claim B: {pair.second.claim}\nQuote B: \"{pair.second.quote}\""},
        ]
        try:
            answer, _ = self.llm.complete(messages, _Answer, max_tokens=120)
        except (LLMOutputError, LLMError) as exc:
            self.failures += 1
            log.warning("could not judge insights %d and %d: %s", pair.first.insight_id, pair.second.insight_id, exc)
            return None
        reason = " ".join(answer.reason.split()) or answer.relation
        return Verdict(answer.relation, reason, f"{self.llm.name} {PROMPT_VERSION}")
