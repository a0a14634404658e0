"""An `LLM` backed by any OpenAI-compatible chat endpoint: OpenAI, Ollama, vLLM, llama.cpp, LM Studio.

The answer is constrained with `response_format: json_schema` and validated with pydantic. Endpoints that
refuse json_schema (older Ollama, some proxies) get `json_object` plus the schema in the system prompt.
"""

from __future__ import annotations

import json
import logging
import re
import time
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from podsight.errors import LLMError, LLMOutputError, LLMStatusError
from podsight.http import error_detail, retry_delay
from podsight.llm.base import Usage

logger = logging.getLogger("podsight.llm")

T = TypeVar("T", bound=BaseModel)

_FENCE = re.compile(r"^\s*```[a-zA-Z]*\s*\n?(.*?)\n?\s*```\s*$", re.DOTALL)
_THINK = re.compile(r"^\s*<think>.*?</think>", re.DOTALL)
RETRYABLE_STATUS = {408, 429, 500, 502, 503, 504}
EXCERPT_CHARS = 200


@dataclass(frozen=True)
class RetryPolicy:
    """Retries for busy or failing endpoints (429, 5xx): bounded in count and in total wait."""

    attempts: int = 3
    base_delay_s: float = 1.0
    max_total_wait_s: float = 60.0


class OpenAICompatible:
    """Chat completions over HTTP with schema-constrained JSON answers."""

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None = None,
        timeout_s: float = 300.0,
        temperature: float = 0.0,
        name: str | None = None,
        retry: RetryPolicy = RetryPolicy(),
    ):
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.name = name or model
        self.temperature = temperature
        self.timeout_s = timeout_s
        self.retry = retry
        self.json_schema_supported = True  # set False for good after the endpoint refuses it once
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(headers=headers, timeout=httpx.Timeout(timeout_s, connect=10.0))

    def count_tokens(self, text: str) -> int | None:
        """`text`'s length in the model's tokens, from the server's /tokenize (llama.cpp, vLLM), or None where
        the endpoint has no such route (OpenAI's API)."""
        root = self.base_url.removesuffix("/v1")
        try:
            response = self._client.post(f"{root}/tokenize", json={"content": text, "prompt": text, "model": self.model})
            return len(response.json()["tokens"]) if response.status_code == 200 else None
        except (httpx.HTTPError, ValueError, KeyError, TypeError):
            return None

    def complete(self, messages: list[dict], schema: type[T], *, max_tokens: int = 512) -> tuple[T, Usage]:
        """Return the validated answer; on a bad answer, show the model its mistake and ask once more."""
        conversation = list(messages)
        total = Usage()
        for attempt in (1, 2):
            content, usage, finish = self._chat(conversation, schema, max_tokens)
            total += usage
            try:
                return parse_answer(content, schema), total
            except (ValueError, ValidationError) as exc:
                problem = _describe_problem(exc, finish, max_tokens)
                logger.info("%s answer %d did not fit %s: %s", self.name, attempt, schema.__name__, problem)
            conversation += [  # show the model its own mistake: small models fix it more often than not
                {"role": "assistant", "content": content},
                {"role": "user", "content": f"That answer was not valid: {problem}. Reply with only the JSON object."},
            ]
        raise LLMOutputError(
            f"{self.name} did not answer with JSON matching {schema.__name__} after a retry: {problem}; "
            f"the answer began: {content[:EXCERPT_CHARS]!r}"
        )

    def close(self) -> None:
        self._client.close()

    def _chat(self, messages: list[dict], schema: type[BaseModel], max_tokens: int) -> tuple[str, Usage, str]:
        """One chat completion: (content, usage, finish_reason)."""
        response = self._post(self._payload(messages, schema, max_tokens))
        if response.status_code == 400 and self.json_schema_supported and "response_format" in response.text:
            logger.warning("%s refuses json_schema; falling back to json_object for this endpoint", self.base_url)
            self.json_schema_supported = False
            response = self._post(self._payload(messages, schema, max_tokens))
        _raise_for_status(response, self.base_url)
        return _read_completion(response, self.base_url)

    def _payload(self, messages: list[dict], schema: type[BaseModel], max_tokens: int) -> dict[str, Any]:
        json_schema = schema.model_json_schema()
        payload: dict[str, Any] = {"model": self.model, "max_tokens": max_tokens, "temperature": self.temperature}
        if self.json_schema_supported:
            payload["messages"] = messages
            payload["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": schema.__name__, "schema": json_schema},
            }
        else:
            payload["messages"] = _with_schema_instruction(messages, json_schema)
            payload["response_format"] = {"type": "json_object"}
        return payload

    def _post(self, payload: dict[str, Any]) -> httpx.Response:
        """POST with retries on 429/5xx, honouring Retry-After, within the policy's total wait."""
        url = f"{self.base_url}/chat/completions"
        waited, attempt = 0.0, 1
        while True:
            response = self._send(url, payload)
            if response.status_code not in RETRYABLE_STATUS or attempt >= self.retry.attempts:
                return response
            delay = retry_delay(response, self.retry.base_delay_s * 2 ** (attempt - 1))
            if waited + delay > self.retry.max_total_wait_s:
                return response
            logger.info("%s answered %d; retrying in %.1f s", url, response.status_code, delay)
            time.sleep(delay)
            waited, attempt = waited + delay, attempt + 1

    def _send(self, url: str, payload: dict[str, Any]) -> httpx.Response:
        try:
            return self._client.post(url, json=payload)
        except httpx.ConnectError as exc:
            raise LLMError(
                f"cannot connect to the LLM endpoint {url} ({exc}); is the server running? "
                "Check PODSIGHT_LLM_BASE_URL, or unset it to use the embedded model"
            ) from exc
        except httpx.TimeoutException as exc:
            raise LLMError(
                f"the LLM endpoint {url} did not answer within {self.timeout_s:.0f} s; "
                "raise PODSIGHT_LLM_TIMEOUT_S or use a smaller model"
            ) from exc
        except httpx.HTTPError as exc:
            raise LLMError(f"request to the LLM endpoint {url} failed: {exc}") from exc


def parse_answer(content: str, schema: type[T]) -> T:
    """Validate a model's text as `schema`, tolerating code fences, a leading <think> block and chatter
    around the JSON object (common when an endpoint only honours json_object, or nothing at all)."""
    text = _THINK.sub("", content, count=1).strip()
    fenced = _FENCE.match(text)
    if fenced:
        text = fenced.group(1).strip()
    if not text:
        raise ValueError("the answer was empty")
    try:
        return schema.model_validate_json(text)
    except ValidationError:
        start, end = text.find("{"), text.rfind("}")
        if start < 0 or end < start or (start == 0 and end == len(text) - 1):
            raise  # no object, or already a bare one: the first error is the useful one
        return schema.model_validate_json(text[start : end + 1])


def _describe_problem(exc: Exception, finish_reason: str, max_tokens: int) -> str:
    if finish_reason == "length":
        return f"it was cut off at max_tokens={max_tokens}"
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        return (f"{where}: " if where else "") + first["msg"] + (f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else "")
    return str(exc)


def _with_schema_instruction(messages: list[dict], json_schema: dict) -> list[dict]:
    instruction = "Answer with one JSON object that matches this JSON schema:\n" + json.dumps(json_schema)
    if messages and messages[0].get("role") == "system":
        first = {**messages[0], "content": f"{messages[0]['content']}\n\n{instruction}"}
        return [first, *messages[1:]]
    return [{"role": "system", "content": instruction}, *messages]


def _raise_for_status(response: httpx.Response, base_url: str) -> None:
    status = response.status_code
    if status < 400:
        return
    detail = error_detail(response, EXCERPT_CHARS)
    if status in (401, 403):
        raise LLMStatusError(
            f"the LLM endpoint {base_url} refused the API key (HTTP {status}: {detail}); set PODSIGHT_LLM_API_KEY", status
        )
    if status == 404:
        raise LLMStatusError(
            f"the LLM endpoint {base_url} answered 404 ({detail}); check PODSIGHT_LLM_MODEL names a model it serves "
            "and that PODSIGHT_LLM_BASE_URL ends with /v1", status
        )
    hint = ""
    if "context" in detail.lower():
        hint = "; use shorter chunks (PODSIGHT_CHUNK_WORDS) or a larger PODSIGHT_LLM_CONTEXT"
    raise LLMStatusError(f"the LLM endpoint {base_url} answered HTTP {status}: {detail}{hint}", status)


def _read_completion(response: httpx.Response, base_url: str) -> tuple[str, Usage, str]:
    try:
        body = response.json()
        choice = body["choices"][0]
        content = choice["message"].get("content") or ""
    except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
        raise LLMError(
            f"the LLM endpoint {base_url} did not return a chat completion (got {response.text[:EXCERPT_CHARS]!r}); "
            "is PODSIGHT_LLM_BASE_URL an OpenAI-compatible /v1 URL?"
        ) from exc
    usage = _mapping(body.get("usage"))
    details = _mapping(usage.get("prompt_tokens_details"))
    tokens = Usage(_count(usage.get("prompt_tokens")), _count(usage.get("completion_tokens")),
                   _count(details.get("cached_tokens")))
    return content, tokens, choice.get("finish_reason") or ""


def _mapping(value: object) -> dict:
    return value if isinstance(value, dict) else {}


def _count(value: object) -> int:
    """A token count from an endpoint's `usage`; endpoints that omit or garble it count as 0."""
    try:
        return max(int(value or 0), 0)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return 0
