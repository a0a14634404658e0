"""Run a GGUF model in-process with llama.cpp (xllamacpp), served on 127.0.0.1 for `OpenAICompatible`.

Going through llama.cpp's own OpenAI-compatible server means the embedded model and a remote endpoint
share one client, one JSON-schema path (llama.cpp turns the schema into a grammar) and one set of tests.
`xllamacpp` is imported only when an embedded model is started.
"""

from __future__ import annotations

import logging
import os
import secrets
import time
from pathlib import Path
from types import TracebackType

import httpx

from podsight.errors import LLMError

logger = logging.getLogger("podsight.llm")

GGUF_MAGIC = b"GGUF"
# Prompt tokens per compute step. A podsight prompt (instructions + one ~450-word chunk) is 700-900
# tokens; 512 processes it in two steps and measured as fast as larger values on 2 CPU cores.
MICRO_BATCH = 512


class EmbeddedServer:
    """Context manager: starts llama.cpp on a free local port; `.base_url` and `.api_key` while inside."""

    def __init__(self, gguf_path: Path | str, n_ctx: int = 4096, threads: int = 0, startup_timeout_s: float = 60.0):
        self.gguf_path = Path(gguf_path)
        self.n_ctx = n_ctx
        self.threads = threads or available_cores()
        self.startup_timeout_s = startup_timeout_s
        # A random key: the port is reachable by every local user while we run.
        self.api_key = secrets.token_urlsafe(16)
        self.base_url = ""
        self._server = None

    def __enter__(self) -> EmbeddedServer:
        check_gguf(self.gguf_path)
        xllamacpp = _import_xllamacpp()
        params = self._params(xllamacpp)
        started = time.monotonic()
        try:
            self._server = xllamacpp.Server(params)
        except RuntimeError as exc:
            raise LLMError(
                f"could not start the embedded model {self.gguf_path}: {exc}. Is there enough memory for it "
                f"and a {self.n_ctx}-token context (PODSIGHT_LLM_CONTEXT)?"
            ) from exc
        root = self._server.listening_address.rstrip("/")
        self.base_url = root + "/v1"
        self._wait_until_healthy(root)
        logger.info("embedded model %s ready in %.1f s at %s", self.gguf_path.name, time.monotonic() - started, root)
        return self

    def __exit__(self, exc_type: type | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Stop the server (xllamacpp stops it when the object is released)."""
        self._server = None
        self.base_url = ""

    def _params(self, xllamacpp):  # noqa: ANN001, ANN202 - the module is imported lazily
        params = xllamacpp.CommonParams()
        params.model.path = str(self.gguf_path)
        params.n_ctx = self.n_ctx
        params.port = 0  # the OS picks a free port; read back from listening_address, so no race
        params.hostnames = ["127.0.0.1"]
        params.api_keys = [self.api_key]
        params.n_parallel = 1  # one slot: a CPU gains nothing from parallel slots, and the prompt cache stays whole
        params.cache_prompt = True  # reuse the KV cache of the shared instruction prefix across chunks
        params.n_batch = max(2048, MICRO_BATCH)
        params.n_ubatch = MICRO_BATCH
        params.cpuparams.n_threads = self.threads
        params.cpuparams_batch.n_threads = self.threads
        params.verbosity = 0  # llama.cpp logs only errors; users see podsight's progress, not load logs
        params.ui = False
        return params

    def _wait_until_healthy(self, root: str) -> None:
        deadline = time.monotonic() + self.startup_timeout_s
        while True:
            try:
                if httpx.get(f"{root}/health", timeout=5).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                self.close()
                raise LLMError(f"embedded model {self.gguf_path} did not become ready within {self.startup_timeout_s:.0f} s")
            time.sleep(0.1)


def available_cores() -> int:
    """CPU cores this process may use (respects taskset / container CPU sets)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def check_gguf(path: Path) -> None:
    """Fail with a clear message before llama.cpp does with a vague one."""
    try:
        with path.open("rb") as f:
            magic = f.read(4)
    except OSError as exc:
        raise LLMError(f"cannot read model file {path}: {exc}") from exc
    if magic != GGUF_MAGIC:
        raise LLMError(f"{path} is not a GGUF model file (it starts with {magic!r}, not {GGUF_MAGIC!r})")


def _import_xllamacpp():  # noqa: ANN202
    try:
        import xllamacpp
    except ImportError as exc:
        raise LLMError(
            "the embedded model needs xllamacpp: pip install xllamacpp "
            "(or set PODSIGHT_LLM_BASE_URL to use a model server instead)"
        ) from exc
    return xllamacpp
