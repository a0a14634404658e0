"""Every LLM call cached by the hash of model, schema, messages and max_tokens.

The cache is its own small SQLite file, separate from podsight's database: models never write the main
store, the cache can be deleted at any time, and a re-run of a day costs no model time.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import logging
import threading
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from podsight.errors import LLMError
from podsight.llm.base import LLM, Usage

T = TypeVar("T", bound=BaseModel)

logger = logging.getLogger("podsight.llm")


class ResponseCache:
    """A key -> text store in one SQLite file; safe to share between threads (one connection, one lock)."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # check_same_thread=False: the lock below serialises use across threads.
            self._db = sqlite3.connect(self.path, check_same_thread=False, timeout=30)
            self._db.execute("PRAGMA journal_mode=WAL")  # readers in other processes do not block writers
            self._db.execute("CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            self._db.commit()
        except (OSError, sqlite3.Error) as exc:
            raise LLMError(f"cannot open the LLM response cache {self.path}: {exc}; it is only a cache, delete it") from exc

    def get(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM responses WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def put(self, key: str, value: str) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO responses (key, value) VALUES (?, ?)", (key, value))
            self._db.commit()

    def __len__(self) -> int:
        with self._lock:
            return self._db.execute("SELECT count(*) FROM responses").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._db.close()


class CachedLLM:
    """Wraps any LLM: an identical request is answered from the cache with Usage(cached=True)."""

    def __init__(self, inner: LLM, cache: ResponseCache):
        self.inner = inner
        self.cache = cache
        self.name = inner.name

    def complete(self, messages: list[dict], schema: type[T], *, max_tokens: int = 512) -> tuple[T, Usage]:
        key = cache_key(self.inner.name, messages, schema, max_tokens)
        hit = self.cache.get(key)
        if hit is not None:
            try:
                return schema.model_validate_json(hit), Usage(cached=True)
            except ValidationError:
                pass  # stored under an older version of the schema's code: ask the model again
        answer, usage = self.inner.complete(messages, schema, max_tokens=max_tokens)
        try:
            self.cache.put(key, answer.model_dump_json())  # only validated answers reach this line
        except sqlite3.Error as exc:  # a full disk or a locked cache must not lose a paid-for answer
            logger.warning("could not store an LLM answer in %s: %s", self.cache.path, exc)
        return answer, usage


def cache_key(model_name: str, messages: list[dict], schema: type[BaseModel], max_tokens: int) -> str:
    """SHA-256 of everything that decides the answer (temperature is 0 by design, so not included)."""
    request = {
        "model": model_name,
        "schema": [schema.__name__, schema.model_json_schema()],
        "messages": messages,
        "max_tokens": max_tokens,
    }
    canonical = json.dumps(request, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
