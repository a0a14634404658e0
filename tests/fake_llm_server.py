"""FakeLLMServer: a scripted stand-in for an OpenAI-compatible endpoint. It is a fake, not a model.

Use it only where a test needs exact, deterministic model output (invalid JSON, HTTP errors, a given
insight); the real embedded model is tested elsewhere. It is a real HTTP server on 127.0.0.1.

    with FakeLLMServer(['{"answer": "42"}', (500, "busy"), '{"answer": "43"}']) as fake:
        llm = OpenAICompatible(fake.base_url, "fake-model")
        ...
        assert len(fake.requests) == 3

Each scripted response is one of:
- a string: returned as the assistant message content of a 200 chat completion;
- (status, body) or (status, body, headers): sent as is (a dict body is sent as JSON);
- a callable taking the request's JSON and returning either of the above (to answer from the input).
When the script runs out, the server answers 500 "no scripted response left".
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Union

Scripted = Union[str, tuple, Callable[[dict], Any]]

PROMPT_TOKENS = 11  # usage reported for every scripted completion, so tests can check token sums
COMPLETION_TOKENS = 7


class FakeLLMServer:
    """Context manager serving scripted answers at `.base_url` (ends in /v1) and recording `.requests`."""

    def __init__(self, responses: Iterable[Scripted]):
        self.script = list(responses)
        self.requests: list[dict] = []  # {"path", "headers", "json"} for each request, in order
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        self.base_url = f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"
        # A short poll interval: shutdown() waits for it, and tests start many of these servers.
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.02,), daemon=True)

    def __enter__(self) -> FakeLLMServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def next_response(self, request_json: dict) -> tuple[int, bytes, dict[str, str]]:
        """Pop the next scripted response and turn it into (status, body, headers)."""
        with self._lock:
            item = self.script.pop(0) if self.script else (500, {"error": {"message": "no scripted response left"}})
        if callable(item):
            item = item(request_json)
        if isinstance(item, str):
            return 200, json.dumps(chat_completion(item)).encode(), {"Content-Type": "application/json"}
        status, body, *rest = item
        headers = dict(rest[0]) if rest else {}
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
            headers.setdefault("Content-Type", "application/json")
        return status, body.encode() if isinstance(body, str) else body, headers


def chat_completion(content: str, finish_reason: str = "stop") -> dict:
    """The body of an OpenAI chat completion whose answer is `content`."""
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "model": "fake",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": finish_reason}],
        "usage": {"prompt_tokens": PROMPT_TOKENS, "completion_tokens": COMPLETION_TOKENS,
                  "total_tokens": PROMPT_TOKENS + COMPLETION_TOKENS},
    }


def _make_handler(server: FakeLLMServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if not self.path.endswith("/chat/completions"):  # e.g. llama.cpp's /tokenize: OpenAI has none
                self.send_error(404)
                return
            try:
                request_json = json.loads(raw or b"{}")
            except ValueError:
                request_json = {"_unparsed": raw.decode("utf-8", "replace")}
            with server._lock:
                server.requests.append({"path": self.path, "headers": dict(self.headers), "json": request_json})
            status, body, headers = server.next_response(request_json)
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # keep pytest output clean
            pass

    return Handler
