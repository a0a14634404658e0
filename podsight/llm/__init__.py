"""Language models: one `LLM` protocol, an OpenAI-compatible client, an embedded llama.cpp model, a cache.

    with open_llm(settings, settings.cache_dir / "llm.sqlite") as llm:
        answer, usage = llm.complete(messages, MySchema)
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from podsight.config import Settings
from podsight.llm.base import LLM, InFlightLimit, Usage
from podsight.llm.cache import CachedLLM, ResponseCache
from podsight.llm.embedded import EmbeddedServer
from podsight.llm.openai_compat import OpenAICompatible
from podsight.llm.weights import EMBEDDED_MODELS, resolve_model

__all__ = [
    "LLM", "Usage", "OpenAICompatible", "CachedLLM", "ResponseCache", "resolve_model", "EmbeddedServer",
    "EMBEDDED_MODELS", "open_llm",
]


@contextmanager
def open_llm(settings: Settings, cache_path: Path) -> Iterator[LLM]:
    """The configured LLM, cached: an endpoint if `llm_base_url` is set, else the embedded model (started
    here and stopped on exit)."""
    with ExitStack() as stack:
        cache = ResponseCache(cache_path)
        stack.callback(cache.close)
        client = _open_client(settings, stack)
        stack.callback(client.close)
        # a cached answer takes no slot: the limit wraps the model, the cache wraps the limit
        yield CachedLLM(InFlightLimit(client, settings.llm_requests_at_once()), cache)


def _open_client(settings: Settings, stack: ExitStack) -> OpenAICompatible:
    if settings.llm_base_url:
        api_key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
        return OpenAICompatible(settings.llm_base_url, settings.llm_model, api_key, timeout_s=settings.llm_timeout_s)
    gguf = resolve_model(settings.llm_model, settings.cache_dir)
    server = stack.enter_context(EmbeddedServer(gguf, n_ctx=settings.llm_context, threads=settings.llm_threads))
    name = settings.llm_model if settings.llm_model in EMBEDDED_MODELS else gguf.stem
    return OpenAICompatible(server.base_url, name, server.api_key, timeout_s=settings.llm_timeout_s, name=name)
