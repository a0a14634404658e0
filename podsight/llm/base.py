"""The LLM interface every backend implements."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, TypeVar

from pydantic import BaseModel

T = TypeVar("T", bound=BaseModel)


@dataclass(frozen=True)
class Usage:
    """Tokens spent by one call (0 when the answer came from the cache)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached: bool = False


class LLM(Protocol):
    """A chat model that answers with JSON matching a pydantic schema."""

    name: str  # model identity, stored with every insight

    def complete(self, messages: list[dict], schema: type[T], *, max_tokens: int = 512) -> tuple[T, Usage]:
        """Return the validated answer. Raises LLMOutputError when the answer does not fit the schema
        after one retry, LLMError when the endpoint cannot be reached."""
        ...
