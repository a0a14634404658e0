"""A small real HTTP server for tests: stdlib ThreadingHTTPServer on 127.0.0.1, in a daemon thread.

    from servers import Static, hang, redirect, serve

    routes = {
        "/feed.xml": Static(body=b"<rss>...</rss>", headers={"Content-Type": "application/rss+xml"},
                            etag='"v1"'),          # answers 304 to a matching If-None-Match
        "/old": redirect("/feed.xml", 301),
        "/slow": hang(5),                          # sleeps, then answers; set the client timeout lower
        "/dynamic": lambda request: Static(body=request.headers.get("User-Agent", "")),
    }
    with serve(routes) as base_url:                # e.g. "http://127.0.0.1:43125"
        httpx.get(base_url + "/feed.xml")

A route is a `Static` answer or a function `(Request) -> Static`. Routes are read on every request, so a
test may add or replace routes while the server runs. Unknown paths get 404. `Request` objects of every
request received are appended to `log` when one is passed to `serve`. POSTs are answered by the same
routes, with the request's body in `Request.body`.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Static:
    """A fixed answer. With `etag` or `last_modified` set, a matching conditional GET gets 304, no body."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | str = b""
    etag: str | None = None
    last_modified: str | None = None
    chunked: bool = False  # send with Transfer-Encoding: chunked, so the client cannot know the size up front


@dataclass
class Request:
    """What the server received."""

    method: str
    path: str
    headers: Message
    body: bytes = b""  # what a POST sent


Route = Static | Callable[[Request], Static]


def redirect(location: str, status: int = 301) -> Static:
    """A redirect answer (301, 302, 307, 308...)."""
    return Static(status=status, headers={"Location": location})


def hang(seconds: float, then: Static | None = None) -> Callable[[Request], Static]:
    """A route that sends nothing for `seconds` (longer than the client's timeout), then answers."""

    def handler(request: Request) -> Static:
        time.sleep(seconds)
        return then or Static(body=b"too late")

    return handler


def _conditional(answer: Static, request: Request) -> Static:
    """304 when the request's validators match the static answer's."""
    if answer.status != 200:
        return answer
    if answer.etag and request.headers.get("If-None-Match") == answer.etag:
        return Static(status=304, headers={"ETag": answer.etag})
    if answer.last_modified and request.headers.get("If-Modified-Since") == answer.last_modified:
        return Static(status=304, headers={"Last-Modified": answer.last_modified})
    return answer


def _chunked(body: bytes, size: int = 4096) -> bytes:
    pieces = [b"%x\r\n%s\r\n" % (len(body[i:i + size]), body[i:i + size]) for i in range(0, len(body), size)]
    return b"".join(pieces) + b"0\r\n\r\n"


def _make_handler(routes: dict[str, Route], log: list[Request] | None) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, like real feed hosts

        def do_GET(self) -> None:  # noqa: N802 (stdlib naming)
            length = int(self.headers.get("Content-Length") or 0)
            request = Request(self.command, self.path, self.headers, self.rfile.read(length) if length else b"")
            if log is not None:
                log.append(request)
            route = routes.get(self.path.split("?")[0], Static(status=404, body=b"not found"))
            answer = route(request) if callable(route) else _conditional(route, request)
            self._send(answer)

        do_POST = do_GET  # noqa: N815 (webhooks: the route sees `request.body`)

        def _send(self, answer: Static) -> None:
            body = answer.body.encode("utf-8") if isinstance(answer.body, str) else answer.body
            self.send_response(answer.status)
            headers = dict(answer.headers)
            if answer.status == 200 and answer.etag:
                headers.setdefault("ETag", answer.etag)
            if answer.status == 200 and answer.last_modified:
                headers.setdefault("Last-Modified", answer.last_modified)
            if answer.chunked:
                headers["Transfer-Encoding"] = "chunked"
            else:
                headers.setdefault("Content-Length", str(len(body)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            try:
                if answer.status != 304:
                    self.wfile.write(_chunked(body) if answer.chunked else body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (size cap, timeout): that is what some tests want

        def log_message(self, format: str, *args: object) -> None:  # keep pytest output clean
            pass

    return Handler


@contextmanager
def serve(routes: dict[str, Route], log: list[Request] | None = None) -> Iterator[str]:
    """Serve `routes` on 127.0.0.1 (a free port) for the duration of the block; yields the base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(routes, log))
    server.daemon_threads = True  # a hanging handler must not block the test run's exit
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


# --- a raw TCP server that answers as slowly as it likes ------------------------------------------

@contextmanager
def serve_raw(talk: Callable[[socket.socket], None], host: str = "127.0.0.1") -> Iterator[str]:
    """A bare TCP server on `host`: each connection is handed to `talk` in its own daemon thread, after
    its request is read (the request's content does not matter to these servers)."""
    listener = socket.create_server((host, 0))
    listener.settimeout(0.05)
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            threading.Thread(target=_talk_then_close, args=(talk, conn), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join()
        listener.close()


def _talk_then_close(talk: Callable[[socket.socket], None], conn: socket.socket) -> None:
    with conn:
        try:
            conn.recv(65536)
            talk(conn)
        except OSError:
            pass  # the client gave up: what a slow server's tests want


def trickle(head: bytes, drip: bytes, every_s: float = 0.2, for_s: float = 30.0) -> Callable[[socket.socket], None]:
    """Send `head`, then one byte of `drip` (repeated) every `every_s` seconds for `for_s`: never idle long
    enough for a read timeout, never finished."""

    def talk(conn: socket.socket) -> None:
        conn.sendall(head)
        end = time.monotonic() + for_s
        for byte in (drip * 100_000)[: int(for_s / every_s)]:
            if time.monotonic() > end:
                return
            conn.sendall(bytes([byte]))
            time.sleep(every_s)

    return talk


# --- the web app in real uvicorn -------------------------------------------------------------------

@contextmanager
def serving(app, port: int) -> Iterator[str]:
    """`app` in real uvicorn on 127.0.0.1:`port` (uvicorn's defaults, as `podsight serve` runs it: X-Forwarded-For
    trusted from 127.0.0.1 only); yields the base URL."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started, "uvicorn did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(5)
