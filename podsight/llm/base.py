"""The LLM interface every backend implements."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Protocol, TypeVar

from pydantic import BaseModel

T = TypeVar("T", bound=BaseModel)


@dataclass(frozen=True)
class Usage:
    """The tokens of one call.

    `reused_prompt_tokens` is the part of the prompt the server took from its own prompt cache instead of
    computing it again (llama.cpp and OpenAI report it as `prompt_tokens_details.cached_tokens`): a shared
    instruction prefix is paid for once per run, not once per chunk. `cached` means podsight answered from
    its response cache: the counts are what the call cost when it was made, and nothing was spent now.
    """

    prompt_tokens: int = 0
    completion_tokens: int = 0
    reused_prompt_tokens: int = 0
    cached: bool = False

    def __add__(self, other: Usage) -> Usage:
        return Usage(self.prompt_tokens + other.prompt_tokens, self.completion_tokens + other.completion_tokens,
                     self.reused_prompt_tokens + other.reused_prompt_tokens, self.cached and other.cached)

    @property
    def spent(self) -> Usage:
        """What this call cost now: nothing when it was answered from podsight's cache."""
        return Usage() if self.cached else self


class LLM(Protocol):
    """A chat model that answers with JSON matching a pydantic schema."""

    name: str  # model identity, stored with every insight

    def complete(self, messages: list[dict], schema: type[T], *, max_tokens: int = 512) -> tuple[T, Usage]:
        """Return the validated answer. Raises LLMOutputError when the answer does not fit the schema
        after one retry, LLMError when the endpoint cannot be reached."""
        ...


class InFlightLimit:
    """At most `limit` requests to the wrapped model at once, however many threads ask: the extraction
    stage runs episodes side by side and each asks about several passages, and `llm_concurrency` bounds
    the sum (a model server's queue, a provider's rate limit)."""

    def __init__(self, inner: LLM, limit: int):
        self.inner, self.name = inner, inner.name
        self._slots = threading.BoundedSemaphore(limit)

    def count_tokens(self, text: str) -> int | None:
        count = getattr(self.inner, "count_tokens", None)
        return count(text) if count else None

    def complete(self, messages: list[dict], schema: type[T], *, max_tokens: int = 512) -> tuple[T, Usage]:
        with self._slots:
            return self.inner.complete(messages, schema, max_tokens=max_tokens)
