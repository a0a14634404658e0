"""ScriptedLLM: an in-process fake standing in for a model, for tests that need exact answers. A fake, not a
model: the embedded model is exercised by `podsight eval`, the demo and tests/test_llm.py."""

from __future__ import annotations

from collections.abc import Callable

from pydantic import BaseModel, ValidationError

from podsight.errors import LLMOutputError
from podsight.llm.base import Usage


class ScriptedLLM:
    """`respond(user_message)` returns the answer as a dict (validated against the schema the caller
    passes, as a real backend does) or an exception to raise. Every call is recorded in `calls`."""

    name = "scripted-model"

    def __init__(self, respond: Callable[[str], dict | Exception]):
        self.respond = respond
        self.calls: list[list[dict]] = []

    def complete(self, messages: list[dict], schema: type[BaseModel], *, max_tokens: int = 512):
        self.calls.append(messages)
        answer = self.respond(messages[-1]["content"])
        if isinstance(answer, Exception):
            raise answer
        try:
            validated = schema.model_validate(answer)
        except ValidationError as error:
            raise LLMOutputError(f"answer does not match the schema: {error}") from error
        return validated, Usage(prompt_tokens=sum(len(m["content"]) for m in messages) // 4, completion_tokens=60)
