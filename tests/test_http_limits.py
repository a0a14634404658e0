"""What a hostile or broken server cannot do to a fetch: blow up memory with stacked compression, hold
it forever by trickling bytes, or crash it with a malformed URL. Real servers on 127.0.0.1 throughout:
`serve` (tests/servers.py) for ordinary answers, a raw socket server here for byte-by-byte trickles."""

from __future__ import annotations

import asyncio
import gzip
import json
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pytest
from servers import Request, Static, redirect, serve, serve_raw, trickle

from podsight.asr.audio import download_audio
from podsight.errors import FetchError
from podsight.http import HostClients, HostLimiter, fetch, make_client

TEXT = b"<rss><channel><title>t</title></channel></rss>" * 50
CAP = 2 * 1024 * 1024


def get(url: str, *, timeout_s: float = 5, max_bytes: int = 1_000_000, **options):
    """Run one fetch with a fresh client."""

    async def go():
        async with make_client("podsight-test/1", timeout_s, 4, allow_private=True) as client:
            return await fetch(client, url, max_bytes=max_bytes, **options)

    return asyncio.run(go())


def compressed_zeros(n: int, wbits: int = 16 + zlib.MAX_WBITS) -> bytes:
    """`n` zero bytes compressed (gzip by default) without ever holding them: a compression bomb."""
    packer = zlib.compressobj(9, zlib.DEFLATED, wbits)
    block = bytes(1 << 20)
    return b"".join([packer.compress(block) for _ in range(n >> 20)] + [packer.flush()])


@pytest.fixture(scope="module")
def bombs() -> dict[str, Static]:
    zeros = compressed_zeros(256 << 20)  # 256 MiB of zeros in 255 KiB: one network read holds 64 MiB
    return {
        "/small": Static(body=TEXT),
        "/gzip": Static(body=zeros, headers={"Content-Encoding": "gzip"}),
        "/deflate": Static(body=compressed_zeros(256 << 20, zlib.MAX_WBITS), headers={"Content-Encoding": "deflate"}),
        "/gzip-gzip": Static(body=gzip.compress(zeros), headers={"Content-Encoding": "gzip, gzip"}),  # ~600 bytes
    }


# What the fetch in the child process does: a warm-up fetch (imports, event loop, client), then the bomb;
# it prints how far its peak RSS rose above its RSS just before the bomb, and how the fetch ended. The
# peak is Linux's VmHWM, reset just before the bomb: getrusage's ru_maxrss cannot be reset and also
# counts the memory of the pytest process this child was forked from.
MEASURE = """
import asyncio, json, re, sys
from podsight.errors import FetchError
from podsight.http import fetch, make_client

def status_kib(field):
    with open("/proc/self/status") as f:
        return int(re.search(field + r":\\s+(\\d+) kB", f.read()).group(1))

async def main(base, path, cap):
    async with make_client("podsight-test/1", 5, 1, allow_private=True) as client:
        await fetch(client, base + "/small", max_bytes=cap)
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # resets VmHWM to the current RSS
        before = status_kib("VmRSS")
        try:
            outcome = f"{len((await fetch(client, base + path, max_bytes=cap)).content)} bytes"
        except FetchError as exc:
            outcome = f"FetchError: {exc}"
        peak = status_kib("VmHWM")
    print(json.dumps({"grew_kib": peak - before, "outcome": outcome}))

asyncio.run(main(*sys.argv[1:3], int(sys.argv[3])))
"""


def fetch_in_child(url_base: str, path: str, cap: int) -> dict:
    """Fetch in a fresh interpreter, so its peak RSS is this fetch's alone."""
    done = subprocess.run([sys.executable, "-c", MEASURE, url_base, path, str(cap)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="reads peak RSS from /proc (Linux)")
@pytest.mark.parametrize("path, expected", [
    ("/gzip", "larger than the 2 MiB cap"),
    ("/deflate", "larger than the 2 MiB cap"),
    ("/gzip-gzip", "compressed more than once (Content-Encoding: gzip, gzip)"),
])
def test_compression_bombs_stop_at_the_cap_with_memory_near_it(bombs, path, expected):
    with serve(bombs) as base:
        measured = fetch_in_child(base, path, CAP)
    assert expected in measured["outcome"]
    # The body is kept up to the cap (2 MiB); allow twice that again for allocator slack.
    assert measured["grew_kib"] < 3 * CAP // 1024, measured


def test_only_gzip_and_deflate_are_asked_for_and_other_codings_are_refused():
    log: list[Request] = []
    long_text = b"".join(b"line %d of a long transcript\n" % n for n in range(200_000))  # many network reads
    routes = {
        "/long": Static(body=zlib.compress(long_text, wbits=-zlib.MAX_WBITS), headers={"Content-Encoding": "deflate"}),
        "/gzip": Static(body=gzip.compress(TEXT), headers={"Content-Encoding": "gzip"}),
        "/zlib": Static(body=zlib.compress(TEXT), headers={"Content-Encoding": "deflate"}),
        "/raw-deflate": Static(body=zlib.compress(TEXT, wbits=-zlib.MAX_WBITS), headers={"Content-Encoding": "deflate"}),
        "/br": Static(body=b"\x1b\x03\x00\xf8\xa5", headers={"Content-Encoding": "br"}),
        "/broken": Static(body=b"not gzip at all", headers={"Content-Encoding": "gzip"}),
    }
    with serve(routes, log) as base:
        assert [get(base + path).content for path in ("/gzip", "/zlib", "/raw-deflate")] == [TEXT] * 3
        assert get(base + "/long", max_bytes=len(long_text)).content == long_text
        with pytest.raises(FetchError, match="compressed with br, which podsight cannot decode"):
            get(base + "/br")
        with pytest.raises(FetchError, match="gzip body that does not decompress"):
            get(base + "/broken")
    assert {request.headers["Accept-Encoding"] for request in log} == {"gzip, deflate"}


# --- deadlines ------------------------------------------------------------------------------------

SLOW_HEADERS = trickle(b"HTTP/1.1 200 OK\r\n", b"X-Padding: aaaaaaaaaaaaaaaaaaaaaaaa\r\n")
SLOW_BODY = trickle(b"HTTP/1.1 200 OK\r\nContent-Type: audio/mpeg\r\nContent-Length: 1000000\r\n\r\n", b"\xff")


@pytest.mark.parametrize("talk", [SLOW_HEADERS, SLOW_BODY], ids=["headers", "body"])
def test_a_trickling_server_is_given_up_on_at_the_fetch_deadline(talk):
    with serve_raw(talk) as base:
        started = time.monotonic()
        with pytest.raises(FetchError, match="passed its 1.5 s deadline"):
            get(base + "/feed.xml", timeout_s=1, deadline_s=1.5)
        took = time.monotonic() - started
    assert 1.4 < took < 3.0  # today a byte every 0.2 s keeps a 1 s read timeout from ever firing


@pytest.mark.parametrize("talk", [SLOW_HEADERS, SLOW_BODY], ids=["headers", "body"])
def test_a_trickling_audio_download_is_given_up_on_at_its_deadline(tmp_path, talk):
    with serve_raw(talk) as base:
        started = time.monotonic()
        with pytest.raises(FetchError, match="passed its 1.5 s deadline"):
            download_audio(base + "/ep.mp3", tmp_path, max_bytes=10_000_000, timeout_s=1, user_agent="podsight-test",
                           backoff_s=0.01, deadline_s=1.5, allow_private=True)
        took = time.monotonic() - started
    assert 1.4 < took < 3.0
    assert list(tmp_path.iterdir()) == []  # the partial file is gone


def test_the_deadline_leaves_a_normal_fetch_alone():
    with serve({"/f": Static(body=TEXT), "/go": redirect("/f", 302)}) as base:
        assert get(base + "/go", deadline_s=5).content == TEXT


# --- malformed URLs -------------------------------------------------------------------------------

@pytest.mark.parametrize("url", [
    "http://[::1/x.vtt",  # unclosed IPv6 bracket
    "http://a\x00b/feed.xml",
    "http://127.0.0.1:99999/feed.xml",  # port out of range
    "http://" + "\u00e9" + "x" * 70 + ".com/feed.xml",  # an IDNA label too long
    "https://",
])
def test_malformed_urls_are_fetch_errors_not_crashes(url):
    with pytest.raises(FetchError, match="not a valid http\\(s\\) URL"):
        get(url)

    async def look_up_host():  # polling picks a slot and a client by host before fetching: no crash there either
        HostLimiter(1).slot(url)
        async with HostClients("podsight-test/1", 1, 1, allow_private=True) as clients:
            clients.for_url(url)

    asyncio.run(look_up_host())


def test_a_redirect_to_a_malformed_url_is_a_fetch_error():
    with serve({"/go": redirect("http://[::1/x.vtt", 302)}) as base:
        with pytest.raises(FetchError, match="not a valid http\\(s\\) URL"):
            get(base + "/go")


def test_the_settings_defaults_are_the_fetch_defaults():
    from podsight.asr.audio import DOWNLOAD_DEADLINE_S
    from podsight.config import Settings
    from podsight.http import FETCH_DEADLINE_S

    settings = Settings()
    assert (settings.fetch_deadline_s, settings.asr_download_deadline_s) == (FETCH_DEADLINE_S, DOWNLOAD_DEADLINE_S)
