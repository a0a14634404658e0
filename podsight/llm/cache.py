"""Every LLM call cached by the hash of model, schema, messages and max_tokens.

The cache is its own small SQLite file, separate from podsight's database: models never write the main
store, the cache can be deleted at any time, and a re-run of a day costs no model time.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import threading
import time
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from podsight.errors import LLMError
from podsight.llm.base import LLM, Usage

T = TypeVar("T", bound=BaseModel)

logger = logging.getLogger("podsight.llm")

_USAGE_COLUMNS = ("prompt_tokens", "completion_tokens", "reused_prompt_tokens")  # the order of Usage's fields


class ResponseCache:
    """A key -> (text, usage) store in one SQLite file; safe to share between threads (one connection, one
    lock). The usage is what the answer cost when it was made, so an evaluation of cached answers still
    shows what the prompts cost."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # check_same_thread=False: the lock below serialises use across threads.
            self._db = sqlite3.connect(self.path, check_same_thread=False, timeout=30)
            self._set_up()
        except (OSError, sqlite3.Error) as exc:
            raise LLMError(f"cannot open the LLM response cache {self.path}: {exc}; it is only a cache, delete it") from exc

    def _set_up(self, tries: int = 20) -> None:
        """WAL mode and the table. Workers starting together (Ray actors, two runs) race for the lock that
        switching to WAL takes, which SQLite's busy timeout does not cover: the loser waits and tries again."""
        for attempt in range(tries):
            try:
                if self._db.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                    self._db.execute("PRAGMA journal_mode=WAL")  # readers in other processes do not block writers
                usage = ", ".join(f"{column} INTEGER NOT NULL DEFAULT 0" for column in _USAGE_COLUMNS)
                self._db.execute(f"CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, value TEXT NOT NULL, "
                                 f"{usage})")
                self._add_usage_columns()
                self._db.commit()
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or attempt == tries - 1:
                    raise
                self._db.rollback()
                time.sleep(0.05 * (attempt + 1))

    def _add_usage_columns(self) -> None:
        """Caches written before usage was kept get the columns; their old rows read as 0 tokens."""
        have = {row[1] for row in self._db.execute("PRAGMA table_info(responses)")}
        for column in _USAGE_COLUMNS:
            if column not in have:
                try:
                    self._db.execute(f"ALTER TABLE responses ADD COLUMN {column} INTEGER NOT NULL DEFAULT 0")
                except sqlite3.OperationalError as exc:  # another process added it just now
                    if "duplicate column" not in str(exc):
                        raise

    def get(self, key: str) -> tuple[str, Usage] | None:
        """The stored answer and its original usage (marked cached), or None."""
        with self._lock:
            row = self._db.execute(f"SELECT value, {', '.join(_USAGE_COLUMNS)} FROM responses WHERE key = ?",
                                   (key,)).fetchone()
        if row is None:
            return None
        return row[0], Usage(*row[1:], cached=True)

    def put(self, key: str, value: str, usage: Usage = Usage()) -> None:
        with self._lock:
            self._db.execute(
                f"INSERT OR REPLACE INTO responses (key, value, {', '.join(_USAGE_COLUMNS)}) VALUES (?, ?, ?, ?, ?)",
                (key, value, usage.prompt_tokens, usage.completion_tokens, usage.reused_prompt_tokens),
            )
            self._db.commit()

    def __len__(self) -> int:
        with self._lock:
            return self._db.execute("SELECT count(*) FROM responses").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._db.close()


class CachedLLM:
    """Wraps any LLM: an identical request is answered from the cache, its Usage marked cached (what it
    cost once; `usage.spent` is zero)."""

    def __init__(self, inner: LLM, cache: ResponseCache):
        self.inner = inner
        self.cache = cache
        self.name = inner.name

    def count_tokens(self, text: str) -> int | None:
        """The wrapped model's token count of `text`, where its backend can tell (see OpenAICompatible)."""
        count = getattr(self.inner, "count_tokens", None)
        return count(text) if count else None

    def complete(self, messages: list[dict], schema: type[T], *, max_tokens: int = 512) -> tuple[T, Usage]:
        key = cache_key(self.inner.name, messages, schema, max_tokens)
        hit = self.cache.get(key)
        if hit is not None:
            text, usage = hit
            try:
                return schema.model_validate_json(text), usage
            except ValidationError:
                pass  # stored under an older version of the schema's code: ask the model again
        answer, usage = self.inner.complete(messages, schema, max_tokens=max_tokens)
        try:
            self.cache.put(key, answer.model_dump_json(), usage)  # only validated answers reach this line
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
