"""Polite HTTP fetching shared by feeds and transcripts.

`fetch` follows redirects itself (so it can tell a permanent move from a temporary one and name a loop),
sends the validators for a conditional GET, and streams the body under a size cap. The cap holds on the
decoded bytes as they come out of the decompressor, and the whole fetch, redirects included, has a
deadline: a server can neither inflate a small body into gigabytes nor hold a fetch open by trickling
bytes. Every failure is a `FetchError` whose message a user can read; `status` carries the HTTP status
when there was one.

Feeds, transcript links, audio enclosures and webhook URLs come from outside (a feed's author, a
subscriber), so unless the admin sets `allow_private_addresses`, no request may reach a loopback, private,
link-local or otherwise non-public address: a feed must not be able to make podsight read
http://127.0.0.1:8000/admin or a cloud metadata service at 169.254.169.254 and show the answer. The check
is made where the socket connects (`GuardedTransport`): the host name is resolved there, every address it
resolves to is checked, and the socket is opened to the checked address. So every hop of a redirect is
checked, and a name whose DNS answer changes between a check and the connection (DNS rebinding) cannot slip
through. The LLM (`llm_base_url`) and speech-to-text (`asr_base_url`) endpoints are not guarded: the admin
configures them, and they are usually local (Ollama on localhost).
"""

from __future__ import annotations

import asyncio
import email.utils
import ipaddress
import socket
import ssl
import time
import zlib
from collections import defaultdict
from collections.abc import AsyncIterator, Iterator
from contextlib import aclosing
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx

from podsight.errors import FetchError

PERMANENT_REDIRECTS = frozenset({301, 308})
REDIRECTS = frozenset({301, 302, 303, 307, 308})
FETCH_DEADLINE_S = 120.0  # a whole fetch, redirects included; the read timeout alone is per socket read
# What `_Decompressor` can undo. Said explicitly: httpx would add br or zstd when their packages happen
# to be installed, and then decode them without a bound.
ACCEPT_ENCODING = "gzip, deflate"
_WBITS = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}
_UNDECODABLE = frozenset({"br", "zstd", "compress", "x-compress"})  # never asked for, so refused
_DECODE_STEP = 64 * 1024  # most decoded bytes one decompress call may produce


class FetchStatusError(FetchError):
    """The server answered with an error status. Carries Retry-After (429, 503) so polling can back off."""

    def __init__(self, message: str, status: int, retry_after: float | None = None):
        super().__init__(message, status)
        self.retry_after = retry_after


@dataclass(frozen=True)
class FetchResult:
    """What one fetch brought back. `content` is empty for a 304."""

    final_url: str
    status: int
    permanent_url: str | None  # where a leading chain of 301/308 ended; the caller should store it
    content: bytes
    etag: str | None
    last_modified: str | None
    content_type: str | None
    bytes_received: int  # status lines and headers (estimated) plus body bytes as they came off the wire
    retry_after: float | None

    @property
    def not_modified(self) -> bool:
        return self.status == 304


def make_client(user_agent: str, timeout_s: float, max_concurrency: int, *,
                ssl_context: ssl.SSLContext | None = None, allow_private: bool = False) -> httpx.AsyncClient:
    """An AsyncClient sized for `max_concurrency` parallel fetches. Redirects are left to `fetch`.

    Unless `allow_private` (the `allow_private_addresses` setting), it refuses to connect to any
    non-public address (`GuardedTransport`)."""
    limits = httpx.Limits(max_connections=max_concurrency, max_keepalive_connections=max_concurrency)
    return httpx.AsyncClient(
        headers={"User-Agent": user_agent},
        timeout=httpx.Timeout(timeout_s),
        limits=limits,
        follow_redirects=False,
        verify=ssl_context or True,
        transport=None if allow_private else GuardedTransport(verify=ssl_context or True, limits=limits),
    )


# ---- Refusing private addresses (SSRF) -------------------------------------------------------------

ALLOW_PRIVATE_HINT = ("podsight only connects to public addresses unless the admin allows private ones: "
                      "set allow_private_addresses = true (PODSIGHT_ALLOW_PRIVATE_ADDRESSES=true) to allow it")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # IPv4 addresses reached through a NAT64 gateway
_HTTPX_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20)  # httpx's own default


class PrivateAddressError(FetchError):
    """A request would have connected to a non-public address while `allow_private_addresses` is off.
    Never worth a retry: the same name resolves the same way."""


def address_problem(address: str) -> str | None:
    """Why podsight refuses to connect to the IP `address` ("127.0.0.1 is a loopback address"), or None
    when it is a public address. IPv6 forms that carry an IPv4 address (IPv4-mapped, 6to4, NAT64) are judged
    by that IPv4 address."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # an IPv6 zone (fe80::1%eth0) says nothing here
    inner = _embedded_ipv4(ip)
    if inner is not None:
        kind = _kind(inner)
        return f"{ip} stands for {inner}, {_a(kind)} address" if kind else None
    kind = _kind(ip)
    return f"{ip} is {_a(kind)} address" if kind else None


def _embedded_ipv4(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.version != 6:
        return None
    if ip.ipv4_mapped is not None or ip.sixtofour is not None:
        return ip.ipv4_mapped or ip.sixtofour
    return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF) if ip in _NAT64 else None


def _kind(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """The first reason `ip` is not public, or None."""
    for kind, applies in (("unspecified", ip.is_unspecified), ("loopback", ip.is_loopback),
                          ("link-local", ip.is_link_local), ("multicast", ip.is_multicast),
                          ("private", ip.is_private), ("reserved", ip.is_reserved),
                          ("non-public", not ip.is_global)):  # e.g. 100.64.0.0/10, carrier-grade NAT
        if applies:
            return kind
    return None


def _a(kind: str) -> str:
    return f"{'an' if kind[0] in 'aeiou' else 'a'} {kind}"


class _GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend with a check where the socket connects: the host is resolved here,
    every address it resolves to must be public (`address_problem`), and the socket is opened to one of
    those checked addresses, never to the name (which could resolve differently a second time). TLS still
    uses the name for SNI and certificate checks, and the Host header is untouched: httpcore takes both
    from the URL, not from the socket."""

    def __init__(self) -> None:
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None, socket_options=None) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):  # resolving and connecting, together
                addresses = await _resolve(host, port)
                for address in addresses:
                    problem = address_problem(address)
                    if problem:
                        named = host if host == address else f"{host} ({address})"
                        raise PrivateAddressError(f"refused to connect to {named}: {problem}; {ALLOW_PRIVATE_HINT}")
                failure: Exception | None = None
                for address in addresses:
                    try:
                        return await self._inner.connect_tcp(address, port, timeout=None, local_address=local_address,
                                                             socket_options=socket_options)
                    except httpcore.ConnectError as exc:  # try the name's next address
                        failure = exc
                raise failure or httpcore.ConnectError(f"{host} has no address")
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"timed out connecting to {host}") from None

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options=None) -> httpcore.AsyncNetworkStream:  # pragma: no cover
        raise httpcore.ConnectError("podsight does not fetch over Unix sockets")

    async def sleep(self, seconds: float) -> None:  # pragma: no cover - httpcore's retries, which are off
        await self._inner.sleep(seconds)


async def _resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (an IP literal resolves to itself), without duplicates."""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:  # socket.gaierror: no such name, DNS down
        raise httpcore.ConnectError(f"could not resolve {host}: {exc}") from None
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport on a `_GuardedBackend`: no connection to a non-public address, on any request or
    redirect hop made through it. Proxies from the environment (HTTP_PROXY...) are not used: through a proxy
    podsight could not see which address it reaches."""

    def __init__(self, *, verify: ssl.SSLContext | bool = True, limits: httpx.Limits = _HTTPX_LIMITS):
        ssl_context = verify if isinstance(verify, ssl.SSLContext) else httpx.create_ssl_context(verify=verify)
        super().__init__(verify=ssl_context, limits=limits)
        # httpx offers no way to pass a network backend; its pool is swapped for one built the same way
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=_GuardedBackend(),
        )


class HostClients:
    """One small AsyncClient per host, sharing one SSL context.

    Why not one big client: httpcore's pool scans every connection for every queued request, so with
    hundreds of kept-alive connections a scan spends its time there. Per host, the pool stays tiny and
    connections to a host that serves many feeds are still reused.
    """

    def __init__(self, user_agent: str, timeout_s: float, per_host: int, *, allow_private: bool = False):
        self._settings = (user_agent, timeout_s, per_host)
        self._allow_private = allow_private
        self._ssl_context: ssl.SSLContext | None = None  # built once: loading the CA bundle takes ~40 ms
        self._clients: dict[str, httpx.AsyncClient] = {}

    def for_url(self, url: str) -> httpx.AsyncClient:
        host = _host(url)
        if host not in self._clients:
            self._ssl_context = self._ssl_context or httpx.create_ssl_context()
            self._clients[host] = make_client(*self._settings, ssl_context=self._ssl_context,
                                              allow_private=self._allow_private)
        return self._clients[host]

    async def __aenter__(self) -> HostClients:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        for client in self._clients.values():
            await client.aclose()


class HostLimiter:
    """At most `per_host` requests in flight to one host name, so one big host is never hammered.

    Usage: ``async with limiter.slot(url): ...``
    """

    def __init__(self, per_host: int):
        if per_host < 1:
            raise ValueError("per_host must be at least 1")
        self.per_host = per_host
        self._semaphores: defaultdict[str, asyncio.Semaphore] = defaultdict(lambda: asyncio.Semaphore(per_host))

    def slot(self, url: str) -> asyncio.Semaphore:
        """The semaphore (an async context manager) guarding the host of `url`."""
        return self._semaphores[_host(url)]


def _host(url: str) -> str:
    """The host name of `url`, or "" when the URL is too broken to have one (`fetch` then says why)."""
    try:
        return urlsplit(url).hostname or ""
    except ValueError:
        return ""


async def fetch(
    client: httpx.AsyncClient,
    url: str,
    *,
    max_bytes: int,
    etag: str | None = None,
    last_modified: str | None = None,
    max_redirects: int = 5,
    accept: str | None = None,
    deadline_s: float = FETCH_DEADLINE_S,
) -> FetchResult:
    """GET `url` politely: conditional when validators are given, redirects followed by hand, body capped,
    all of it within `deadline_s` seconds.

    Raises FetchError with a readable message (FetchStatusError, with `retry_after`, for HTTP error statuses).
    """
    deadline = asyncio.timeout(deadline_s)
    try:
        async with deadline:
            return await _follow(client, url, _request_headers(etag, last_modified, accept), max_bytes, max_redirects)
    except TimeoutError:
        if not deadline.expired():
            raise  # not ours
        raise FetchError(f"gave up: the fetch passed its {deadline_s:g} s deadline "
                         "(the server sends too slowly or never finishes)") from None


async def _follow(client: httpx.AsyncClient, url: str, headers: dict[str, str], max_bytes: int,
                  max_redirects: int) -> FetchResult:
    """The fetch itself: one request per hop until an answer that is not a redirect."""
    chain = [_valid_url(url)]
    permanent_url: str | None = None
    all_permanent = True  # only an unbroken chain of 301/308 from the start means "the feed moved"
    bytes_received = 0
    while True:
        try:
            answer = await _one_request(client, chain[-1], headers, max_bytes)
        except PrivateAddressError as exc:
            hop = f" (redirected from {chain[-2]})" if len(chain) > 1 else ""
            raise PrivateAddressError(f"{chain[-1]}{hop}: {exc}") from None
        except httpx.HTTPError as exc:
            raise _network_error(exc, chain[-1], client.timeout) from None
        except (httpx.InvalidURL, ValueError, OverflowError) as exc:  # what httpx lets through for a bad URL
            raise FetchError(f"{chain[-1]} is not a valid http(s) URL ({exc})") from None
        bytes_received += answer.bytes_received
        if answer.status not in REDIRECTS:
            return _finish(answer, permanent_url, bytes_received)
        target = _redirect_target(answer, chain, max_redirects)
        all_permanent = all_permanent and answer.status in PERMANENT_REDIRECTS
        if all_permanent:
            permanent_url = target
        chain.append(target)


def _valid_url(url: str) -> str:
    """`url` if httpx can send it; a FetchError otherwise. Checked up front because httpx lets some bad
    URLs escape as exceptions of their own, and a port out of range only fails deep in the socket code."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError when out of range
        httpx.URL(url)
    except (httpx.InvalidURL, ValueError) as exc:
        raise FetchError(f"{url} is not a valid http(s) URL ({exc})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FetchError(f"{url} is not a valid http(s) URL")
    return url


def _request_headers(etag: str | None, last_modified: str | None, accept: str | None) -> dict[str, str]:
    headers = {"Accept-Encoding": ACCEPT_ENCODING}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    if accept:
        headers["Accept"] = accept
    return headers


@dataclass(frozen=True)
class _Answer:
    """One hop of a fetch, before redirects are followed."""

    url: str
    status: int
    headers: httpx.Headers
    content: bytes
    bytes_received: int


async def _one_request(client: httpx.AsyncClient, url: str, headers: dict[str, str], max_bytes: int) -> _Answer:
    """One GET without following redirects; only a 2xx body is kept."""
    async with client.stream("GET", url, headers=headers) as response:
        content = b""
        if 200 <= response.status_code < 300:
            content = await _read_capped(response, url, max_bytes)
        else:
            await _drain(response)
        header_bytes = 16 + sum(len(k) + len(v) + 4 for k, v in response.headers.raw)
        return _Answer(url, response.status_code, response.headers, content,
                       header_bytes + response.num_bytes_downloaded)


async def _read_capped(response: httpx.Response, url: str, max_bytes: int) -> bytes:
    """The decoded body, aborting as soon as it passes `max_bytes`.

    The body is read raw and decompressed here, a bounded step at a time: httpx would decode a whole
    network read at once, and 64 KiB of gzip can hold 64 MiB of zeros (stacked codings, far more).
    """
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise FetchError(f"{url} is larger than the {_human_size(max_bytes)} cap "
                         f"(the server says {_human_size(int(declared))}); raise max_feed_bytes to allow it")
    decompressor = _decompressor_for(response.headers, url)
    chunks, total = [], 0
    async with aclosing(_raw_then_end(response)) as body:
        async for packed in body:
            if response.num_bytes_downloaded > max_bytes:  # raw too: a body could be endless yet decode to nothing
                raise _over_cap(url, max_bytes)
            for chunk in decompressor.feed(packed):
                total += len(chunk)
                if total > max_bytes:
                    raise _over_cap(url, max_bytes)
                chunks.append(chunk)
    return b"".join(chunks)


async def _raw_then_end(response: httpx.Response) -> AsyncIterator[bytes | None]:
    """The body as it came off the wire, then None for "that was all" (a decompressor flushes then)."""
    async for packed in response.aiter_raw():
        yield packed
    yield None


def _over_cap(url: str, max_bytes: int) -> FetchError:
    return FetchError(f"{url} is larger than the {_human_size(max_bytes)} cap; raise max_feed_bytes to allow it")


def _decompressor_for(headers: httpx.Headers, url: str) -> _Decompressor:
    """The decoder for the response's Content-Encoding; one coding at most, and only one we asked for."""
    named = [coding.strip().lower() for coding in headers.get_list("content-encoding", split_commas=True)]
    # Other tokens are ignored, as httpx does: servers send junk like "Content-Encoding: utf-8" on plain bodies.
    codings = [coding for coding in named if coding in _WBITS or coding in _UNDECODABLE]
    if len(codings) > 1:
        raise FetchError(f"{url} is compressed more than once (Content-Encoding: {', '.join(codings)}); "
                         "podsight accepts one content coding at most")
    if codings and codings[0] in _UNDECODABLE:
        raise FetchError(f"{url} is compressed with {codings[0]}, which podsight cannot decode "
                         f"(it asked for {ACCEPT_ENCODING} only)")
    return _Decompressor(url, codings[0] if codings else None)


class _Decompressor:
    """Undoes gzip or deflate (or nothing) and never yields more than `_DECODE_STEP` bytes at once, so the
    caller can stop at its cap before a bomb is ever inflated in memory."""

    def __init__(self, url: str, coding: str | None):
        self.url, self.coding = url, coding
        self._zlib = zlib.decompressobj(_WBITS[coding]) if coding else None
        self._started = False

    def feed(self, data: bytes | None) -> Iterator[bytes]:
        """Decoded pieces of `data`; None means the body has ended."""
        if self._zlib is None:
            if data:
                yield data
            return
        try:
            yield from self._inflate(data)
        except zlib.error as exc:
            raise FetchError(f"{self.url} sent a {self.coding} body that does not decompress ({exc})") from None

    def _inflate(self, data: bytes | None) -> Iterator[bytes]:
        if data is None:
            yield self._zlib.flush()  # small: every earlier call was drained until zlib held nothing back
            return
        if not self._started and self.coding == "deflate" and not _has_zlib_header(data):
            self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)  # "deflate" is often sent raw, without its header
        self._started = True
        while True:
            out = self._zlib.decompress(data, _DECODE_STEP)
            data = self._zlib.unconsumed_tail
            if out:
                yield out
            if not data and len(out) < _DECODE_STEP:  # input used up and nothing more held back
                return


def _has_zlib_header(data: bytes) -> bool:
    """Whether `data` starts with a zlib header (RFC 1950): deflate method, and a checksum of the two bytes."""
    return len(data) >= 2 and data[0] & 0x0F == 8 and (data[0] << 8 | data[1]) % 31 == 0


async def _drain(response: httpx.Response, limit: int = 64 * 1024) -> None:
    """Read a small unwanted body (304, redirect, error page) so the connection can be reused."""
    received = 0
    async for chunk in response.aiter_raw():
        received += len(chunk)
        if received > limit:
            return  # not worth it: let httpx close the connection instead


def _redirect_target(answer: _Answer, chain: list[str], max_redirects: int) -> str:
    """Where a redirect points, after checking for a missing Location, a loop or too many hops."""
    location = answer.headers.get("location", "").strip()
    if not location:
        raise FetchError(f"HTTP {answer.status} redirect from {answer.url} has no Location header", answer.status)
    try:
        target = urljoin(answer.url, location)
        scheme = urlsplit(target).scheme
    except ValueError:  # e.g. an unclosed IPv6 bracket
        raise FetchError(f"{answer.url} redirects to {location}, which is not a valid http(s) URL",
                         answer.status) from None
    if scheme not in ("http", "https"):
        raise FetchError(f"{answer.url} redirects to {target}, which is not an http(s) URL", answer.status)
    if target in chain:
        raise FetchError("redirect loop: " + " -> ".join([*chain[chain.index(target):], target]), answer.status)
    if len(chain) > max_redirects:
        raise FetchError(f"too many redirects (more than {max_redirects}): " + " -> ".join([*chain, target]),
                         answer.status)
    return _valid_url(target)


def _finish(answer: _Answer, permanent_url: str | None, bytes_received: int) -> FetchResult:
    """The final answer: raise for error statuses, else a FetchResult with the whole chain's byte count."""
    retry_after = parse_retry_after(answer.headers.get("retry-after"))
    if not (200 <= answer.status < 300 or answer.status == 304):
        reason = httpx.codes.get_reason_phrase(answer.status)
        raise FetchStatusError(f"HTTP {answer.status} {reason}".strip(), answer.status, retry_after)
    return FetchResult(
        final_url=answer.url,
        status=answer.status,
        permanent_url=permanent_url,
        content=answer.content,
        etag=answer.headers.get("etag"),
        last_modified=answer.headers.get("last-modified"),
        content_type=answer.headers.get("content-type"),
        bytes_received=bytes_received,
        retry_after=retry_after,
    )


def _network_error(exc: httpx.HTTPError, url: str, timeout: httpx.Timeout) -> FetchError:
    """A readable FetchError for a transport failure."""
    host = _host(url) or url
    seconds = f"{timeout.read:g}" if timeout.read is not None else "?"
    if isinstance(exc, httpx.ConnectTimeout):
        return FetchError(f"gave up after {seconds} s: could not connect to {host}")
    if isinstance(exc, httpx.PoolTimeout):
        return FetchError(f"gave up after {seconds} s waiting for a free connection")
    if isinstance(exc, httpx.TimeoutException):
        return FetchError(f"gave up after {seconds} s: server sent no response")
    if isinstance(exc, httpx.ConnectError):
        return FetchError(f"could not connect to {host}: {exc or 'connection failed'}")
    if isinstance(exc, (httpx.UnsupportedProtocol, httpx.InvalidURL)):
        return FetchError(f"{url} is not a valid http(s) URL")
    if isinstance(exc, httpx.RemoteProtocolError) and str(exc).startswith("Invalid URL in location header"):
        # httpx parses every Location itself, even with redirects left to us
        return FetchError(f"{url} redirects to something that is not a valid http(s) URL ({exc})")
    if isinstance(exc, httpx.RemoteProtocolError):
        return FetchError(f"{host} broke off the response: {exc}")
    return FetchError(f"network error talking to {host}: {type(exc).__name__} {exc}".strip())


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date); None if absent or junk."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def retry_delay(response: httpx.Response, default: float, cap: float = 300.0) -> float:
    """How long a 429/503 asks us to wait (Retry-After in seconds or as a date), else `default`; never over `cap`."""
    asked = parse_retry_after(response.headers.get("retry-after"))
    return min(default if asked is None else asked, cap)


def error_detail(response: httpx.Response, limit: int = 200) -> str:
    """The reason an API gives for an error: OpenAI-style `{"error": {"message": ...}}` (or a plain
    `{"error": "..."}`), else the start of the body, else the status phrase."""
    try:
        error = response.json().get("error")
        message = error.get("message") if isinstance(error, dict) else error
        if message:
            return str(message)[:limit]
    except (ValueError, AttributeError):
        pass
    return response.text[:limit] or response.reason_phrase


def _human_size(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):g} MiB"
    if n >= 1024:
        return f"{n / 1024:g} KiB"
    return f"{n} bytes"
