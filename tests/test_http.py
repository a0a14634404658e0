"""fetch() against a real HTTP server on 127.0.0.1: redirects, caps, timeouts, conditional GET, errors."""

from __future__ import annotations

import asyncio
import gzip

import pytest
from servers import Static, hang, redirect, serve

from podsight.errors import FetchError
from podsight.http import FetchStatusError, HostLimiter, fetch, make_client, parse_retry_after

FEED = b"<rss><channel><title>t</title></channel></rss>"


def get(url: str, *, timeout_s: float = 5, max_bytes: int = 1_000_000, **options):
    """Run one fetch with a fresh client."""

    async def go():
        async with make_client("podsight-test/1", timeout_s, 4, allow_private=True) as client:
            return await fetch(client, url, max_bytes=max_bytes, **options)

    return asyncio.run(go())


def test_plain_fetch_returns_body_and_validators():
    log = []
    routes = {"/f": Static(body=FEED, headers={"Content-Type": "application/rss+xml"}, etag='"v1"',
                           last_modified="Mon, 04 Mar 2024 10:00:00 GMT")}
    with serve(routes, log) as base:
        result = get(base + "/f")
    assert (result.status, result.content, result.etag) == (200, FEED, '"v1"')
    assert result.last_modified == "Mon, 04 Mar 2024 10:00:00 GMT"
    assert result.content_type == "application/rss+xml"
    assert result.permanent_url is None and result.final_url == base + "/f"
    assert result.bytes_received >= len(FEED)
    assert log[0].headers["User-Agent"] == "podsight-test/1"


def test_conditional_get_gives_not_modified_with_almost_no_bytes():
    routes = {"/f": Static(body=FEED * 1000, etag='"v1"'), "/lm": Static(body=FEED, last_modified="Mon, 04 Mar 2024 10:00:00 GMT")}
    with serve(routes) as base:
        first = get(base + "/f")
        again = get(base + "/f", etag=first.etag)
        by_date = get(base + "/lm", last_modified="Mon, 04 Mar 2024 10:00:00 GMT")
    assert again.not_modified and again.content == b""
    assert again.bytes_received < 200 < first.bytes_received  # headers only
    assert again.etag == '"v1"'
    assert by_date.not_modified


def test_permanent_redirect_chain_reports_the_new_url():
    routes = {"/a": redirect("/b", 301), "/b": redirect("/c", 308), "/c": Static(body=FEED)}
    with serve(routes) as base:
        result = get(base + "/a")
    assert result.permanent_url == base + "/c" and result.final_url == base + "/c"


def test_temporary_redirect_is_not_a_move():
    routes = {"/a": redirect("/b", 302), "/b": redirect("/c", 301), "/c": Static(body=FEED),
              "/p": redirect("/q", 301), "/q": redirect("/c", 307)}
    with serve(routes) as base:
        temporary_first = get(base + "/a")
        permanent_then_temporary = get(base + "/p")
    assert temporary_first.permanent_url is None and temporary_first.content == FEED
    assert permanent_then_temporary.permanent_url == base + "/q"  # the move ends where the permanent run ends


def test_redirect_loop_and_too_many_redirects_are_named():
    routes = {"/a": redirect("/b", 302), "/b": redirect("/a", 302)}
    routes.update({f"/r{i}": redirect(f"/r{i + 1}", 301) for i in range(10)})
    with serve(routes) as base:
        with pytest.raises(FetchError, match=f"redirect loop: {base}/a -> {base}/b -> {base}/a"):
            get(base + "/a")
        with pytest.raises(FetchError, match="too many redirects \\(more than 3\\)"):
            get(base + "/r0", max_redirects=3)


@pytest.mark.parametrize("status, message", [
    (404, "HTTP 404 Not Found"), (410, "HTTP 410 Gone"), (500, "HTTP 500 Internal Server Error"),
])
def test_error_statuses_raise_with_status(status, message):
    with serve({"/x": Static(status=status, body=b"nope")}) as base:
        with pytest.raises(FetchError, match=message) as caught:
            get(base + "/x")
    assert caught.value.status == status


def test_too_many_requests_carries_retry_after():
    with serve({"/x": Static(status=429, headers={"Retry-After": "120"})}) as base:
        with pytest.raises(FetchStatusError) as caught:
            get(base + "/x")
    assert caught.value.retry_after == 120


def test_size_cap_by_content_length_and_by_streaming():
    chunked = Static(body=b"x" * 50_000, chunked=True)  # no Content-Length: only counting while reading stops it
    with serve({"/big": Static(body=b"x" * 50_000), "/chunked": chunked}) as base:
        with pytest.raises(FetchError, match="larger than the 10 KiB cap.*server says"):
            get(base + "/big", max_bytes=10 * 1024)
        with pytest.raises(FetchError, match="larger than the 1000 bytes cap"):
            get(base + "/chunked", max_bytes=1000)
        assert get(base + "/chunked").content == b"x" * 50_000


def test_gzip_bomb_is_stopped_by_the_decoded_size():
    bomb = gzip.compress(b"\0" * 5_000_000)
    with serve({"/bomb": Static(body=bomb, headers={"Content-Encoding": "gzip"})}) as base:
        with pytest.raises(FetchError, match="larger than the 1 MiB cap"):
            get(base + "/bomb", max_bytes=1024 * 1024)


def test_hanging_server_gives_up_with_a_readable_message():
    with serve({"/slow": hang(3)}) as base:
        with pytest.raises(FetchError, match="gave up after 0.3 s: server sent no response"):
            get(base + "/slow", timeout_s=0.3)


def test_connection_refused_and_bad_url():
    with serve({}) as base:
        closed = base  # the port is free again once the server stops
    with pytest.raises(FetchError, match="could not connect to 127.0.0.1"):
        get(closed + "/x")
    with pytest.raises(FetchError, match="not a valid http\\(s\\) URL"):
        get("ftp://example.com/feed")


def test_host_limiter_caps_concurrency_per_host():
    limiter = HostLimiter(2)
    busy = {"a": 0, "b": 0}
    peak = {"a": 0, "b": 0}

    async def work(host):
        async with limiter.slot(f"http://{host}.example/x"):
            busy[host] += 1
            peak[host] = max(peak[host], busy[host])
            await asyncio.sleep(0.01)
            busy[host] -= 1

    async def main():
        await asyncio.gather(*(work(h) for h in "ab" * 5))

    asyncio.run(main())
    assert peak == {"a": 2, "b": 2}


def test_parse_retry_after():
    assert parse_retry_after("30") == 30
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0  # in the past
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None
