"""The extraction prompt and the answer schema.

The prompt is short on purpose: it is sent once per chunk, and the budget is about 1.3 prompt tokens
computed per transcript token (`bench/prompt_tokens.py`, `podsight eval`). The model is asked for the part it is good at (saying what an idea is, in its
own words); choosing the passages, checking the quote and dropping copies is done in code.
Bump PROMPT_VERSION whenever the prompt or the schema changes: it is stored with every insight and
is part of the LLM cache key, so old answers are not reused for a new prompt.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Literal

from pydantic import BaseModel, Field, create_model

from podsight.timecode import clock

PROMPT_VERSION = "extract-v7"

KINDS = ("claim", "prediction", "advice", "data_point", "story")
Kind = Literal["claim", "prediction", "advice", "data_point", "story"]

# Sent with every chunk, but llama.cpp keeps this prefix in its prompt cache, so it is computed once per
# run. A bulleted list of fields, with the kinds spelt out, is what the 1.5B model follows: on the evaluation
# set a one-paragraph version 40 tokens shorter (extract-v6) kept 16 insights and found 5 of the 56
# reference ones; this list (extract-v7) keeps 17 and finds 8.
_SYSTEM = """Find the key ideas in this podcast excerpt. Each line is `[n] text`, under its speaker's name.
Skip greetings, small talk, guest biographies and ads.
For each idea:
- line: the number n of the line that states the idea
- quote: the text of line n, copied exactly
- claim: the idea in your own words with its specifics (numbers, names, reasons), 1-3 sentences \
that a stranger to the show understands. Name the subject; never start with he, she, they, we or this.
- why: why it matters, under 20 words
- kind: claim, prediction, advice, data_point or story
- importance: 1 (minor) to 5 (major)
At most {limit} ideas, the most important first; none if nothing is substantive."""


class Draft(BaseModel):
    """One insight as the model proposes it, before the code checks it."""

    line: int = Field(ge=0)  # first: picking a line, then copying it, keeps the quote verbatim
    quote: str = Field(min_length=10, max_length=240)
    speaker: str | None = Field(default=None, max_length=60)
    claim: str = Field(min_length=20, max_length=300)
    why: str = Field(max_length=200)
    kind: Kind
    importance: int = Field(ge=1, le=5)


class ExtractionAnswer(BaseModel):
    """The model's answer for one chunk."""

    insights: list[Draft] = Field(default_factory=list, max_length=2)


@cache
def answer_schema(limit: int) -> type[ExtractionAnswer]:
    """ExtractionAnswer with at most `limit` insights, so constrained decoding stops early."""
    return create_model(
        f"ExtractionAnswer{limit}",
        __base__=ExtractionAnswer,
        insights=(list[Draft], Field(default_factory=list, max_length=limit)),
    )


def max_answer_tokens(limit: int) -> int:
    """A ceiling for one answer: the string caps bound an insight to about 150 tokens."""
    return 30 + 160 * limit


def build_messages(
    chunk_text: str, *, limit: int, start_s: float, end_s: float, speakers: Sequence[str] = ()
) -> list[dict]:
    """The chat messages for one chunk: the fixed system prompt, then the numbered lines."""
    header = f"Excerpt {clock(start_s)}-{clock(end_s)}"
    if speakers:
        header += ". Speakers: " + ", ".join(speakers)
    return [
        {"role": "system", "content": _SYSTEM.format(limit=limit)},
        {"role": "user", "content": f"{header}\n\n{chunk_text}"},
    ]

