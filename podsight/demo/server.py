"""A local HTTP server for the demo feeds: `python -m podsight.demo.server [--port N]`.

It behaves like a well-kept podcast host: RSS with the right Content-Type, transcripts with theirs,
strong ETags and Last-Modified, 304 on If-None-Match / If-Modified-Since, HEAD, and byte ranges (206,
`If-Range`, 416) as audio players and resuming downloaders use them. The audio-only episodes have real
MP3s (speech rendered from their scripts); the other episodes' enclosures are a 404 on purpose, since
their transcripts make audio unnecessary and the repository stays small.

    with DemoServer() as server:
        for url in server.feed_urls: ...
"""

from __future__ import annotations

import argparse
import logging
import re
import threading
from datetime import datetime, timezone
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import urlsplit

from podsight.demo.catalog import SHOWS
from podsight.demo.site import Resource, build_site, feed_path
from podsight.errors import PodsightError

log = logging.getLogger("podsight.demo")

DEFAULT_CLI_PORT = 8765
CACHE_CONTROL = "public, max-age=600"
# One range, `bytes=FIRST-LAST`, `bytes=FIRST-` or `bytes=-SUFFIX`; anything else (several ranges, other
# units) gets the whole body, which RFC 9110 allows and every client handles.
_SINGLE_RANGE = re.compile(r"\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*", re.IGNORECASE)


class DemoServerError(PodsightError):
    """The demo server could not start (port taken, ...)."""


class RangeNotSatisfiable(Exception):
    """A Range header that asks only for bytes past the end of the body (answered 416)."""


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The (first, last) byte index a Range header asks for, clipped to a body of `size` bytes; None to
    send the whole body. Raises RangeNotSatisfiable when no requested byte exists."""
    match = _SINGLE_RANGE.fullmatch(header) if header else None
    if match is None or match.group(1) == match.group(2) == "":
        return None
    first, last = match.groups()
    if not first:  # a suffix: the last N bytes
        if int(last) == 0 or size == 0:
            raise RangeNotSatisfiable
        return max(size - int(last), 0), size - 1
    if last and int(last) < int(first):
        return None  # malformed: ignored, as RFC 9110 says
    if int(first) >= size:
        raise RangeNotSatisfiable
    return int(first), min(int(last), size - 1) if last else size - 1


class _DemoHTTPServer(ThreadingHTTPServer):
    daemon_threads = True  # a client holding a keep-alive connection must not block shutdown
    site: dict[str, Resource] = {}
    request_log: list[tuple[str, str, int]]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like real hosts; every response has a Content-Length
    server: _DemoHTTPServer

    def do_GET(self) -> None:
        self._respond(include_body=True)

    def do_HEAD(self) -> None:
        self._respond(include_body=False)

    def _respond(self, include_body: bool) -> None:
        path = urlsplit(self.path).path
        resource = self.server.site.get(path)
        if resource is None:
            self._send_plain(404, _not_found_message(path), include_body)
        elif self._not_modified(resource):
            self.send_response(304)
            self._send_validators(resource)  # a 304 has no body, so no Content-Length either
            self.end_headers()
        else:
            self._send_content(resource, include_body)

    def _send_content(self, resource: Resource, include_body: bool) -> None:
        """200 with the whole body, 206 with the range asked for, or 416 when it lies past the end."""
        size = len(resource.body)
        try:
            span = byte_range(self.headers.get("Range"), size) if self._range_applies(resource) else None
        except RangeNotSatisfiable:
            self.send_response(416)
            self.send_header("Content-Range", f"bytes */{size}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        first, last = span or (0, size - 1)
        self.send_response(206 if span else 200)
        self.send_header("Content-Type", resource.content_type)
        self.send_header("Content-Length", str(last - first + 1))
        self.send_header("Accept-Ranges", "bytes")
        if span:
            self.send_header("Content-Range", f"bytes {first}-{last}/{size}")
        self._send_validators(resource)
        self.end_headers()
        if include_body:
            self.wfile.write(resource.body[first:last + 1])

    def _range_applies(self, resource: Resource) -> bool:
        """If-Range: serve the range only if the client's copy is still current (same ETag or date)."""
        if_range = self.headers.get("If-Range")
        if if_range is None:
            return True
        return if_range.strip() in (resource.etag, format_datetime(resource.last_modified, usegmt=True))

    def _send_validators(self, resource: Resource) -> None:
        self.send_header("ETag", resource.etag)
        self.send_header("Last-Modified", format_datetime(resource.last_modified, usegmt=True))
        self.send_header("Cache-Control", CACHE_CONTROL)

    def _not_modified(self, resource: Resource) -> bool:
        """RFC 9110: If-None-Match wins; If-Modified-Since only when there is no If-None-Match."""
        if_none_match = self.headers.get("If-None-Match")
        if if_none_match is not None:
            tags = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
            return "*" in tags or resource.etag in tags
        if_modified_since = self.headers.get("If-Modified-Since")
        if not if_modified_since:
            return False
        try:
            since = parsedate_to_datetime(if_modified_since)
        except (TypeError, ValueError):
            return False  # an unreadable date is ignored, as the RFC says
        if since.tzinfo is None:
            since = since.replace(tzinfo=timezone.utc)
        return resource.last_modified <= since

    def _send_plain(self, status: int, message: str, include_body: bool) -> None:
        body = message.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if include_body:
            self.wfile.write(body)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        status = int(code) if str(code).isdigit() else 0
        self.server.request_log.append((self.command, urlsplit(self.path).path, status))
        log.debug("%s %s -> %s", self.command, self.path, code)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (stdlib signature)
        log.debug(format, *args)


def _not_found_message(path: str) -> str:
    if path.startswith("/audio/"):
        return ("The demo hosts audio only for its audio-only episodes; this episode has a transcript, "
                "read that instead.\n")
    return f"Not found: {path}. Feeds are under /feeds/, transcripts under /transcripts/.\n"


class DemoServer:
    """The demo feeds on a threaded local HTTP server; a context manager.

    `port=0` picks a free port. `now` fixes the clock the feed dates are computed from (default: the
    start time); feeds are identical for every start on the same UTC day.
    """

    def __init__(self, port: int = 0, host: str = "127.0.0.1", now: datetime | None = None):
        self.host = host
        self.port = port
        self.now = now
        self._httpd: _DemoHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> DemoServer:
        """Bind, render the site for the bound address, and serve in a background thread."""
        try:
            httpd = _DemoHTTPServer((self.host, self.port), _Handler)
        except OSError as error:
            raise DemoServerError(
                f"cannot start the demo server on {self.host}:{self.port}: {error.strerror or error}; "
                "choose another port (--port), or 0 for any free one"
            ) from error
        self.port = httpd.server_address[1]
        httpd.request_log = []
        httpd.site = build_site(self.base_url, self.now or datetime.now(timezone.utc))
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="podsight-demo-server", daemon=True
        )  # a short poll so stop() returns at once (tests start several servers)
        self._thread.start()
        log.info("demo server on %s", self.base_url)
        return self

    def stop(self) -> None:
        """Stop serving and release the port. Safe to call twice."""
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> DemoServer:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def feed_urls(self) -> list[str]:
        """One RSS URL per demo show, in catalog order."""
        return [self.base_url + feed_path(show) for show in SHOWS]

    @property
    def opml_url(self) -> str:
        """An OPML file listing every demo feed (for `podsight import-opml`)."""
        return self.base_url + "/demo.opml"

    @property
    def request_log(self) -> list[tuple[str, str, int]]:
        """(method, path, status) of every request served so far, for tests of polite fetching."""
        return list(self._httpd.request_log) if self._httpd else []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve the podsight demo feeds until Ctrl-C.")
    parser.add_argument("--port", type=int, default=DEFAULT_CLI_PORT, help="port on 127.0.0.1 (0: any free)")
    args = parser.parse_args(argv)
    try:
        server = DemoServer(port=args.port).start()
    except DemoServerError as error:
        print(f"error: {error}")
        return 1
    print(f"podsight demo feeds on {server.base_url} (Ctrl-C to stop)")
    for url in server.feed_urls:
        print(f"  {url}")
    print(f"  OPML: {server.opml_url}")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        print("stopping")
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
