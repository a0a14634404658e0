"""SSRF: feeds, transcript links, audio enclosures, redirects and webhooks may not reach loopback, private or
link-local addresses unless the admin sets `allow_private_addresses` (issue 11, finding 5).

Every server here is a real one on loopback. To have a server that counts as *public* while everything runs
on one machine, the tests use one TEST SEAM: `podsight.http.address_problem` (the classifier the connect-time
check calls) is monkeypatched so that 127.0.0.2, and only it, passes as a public address. Names are mapped
to addresses by monkeypatching `socket.getaddrinfo`, the resolver asyncio (and so podsight) calls: no
/etc/hosts, no network.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest
from servers import Request, Static, _make_handler, redirect, serve
from sqlalchemy import select

import podsight.http as http
from podsight.asr.audio import download_audio
from podsight.config import Settings
from podsight.digest.webhook import WebhookRejected, post_digest
from podsight.errors import FetchError
from podsight.feeds.poll import PollRequest, poll_feeds_sync
from podsight.http import PrivateAddressError, address_problem, fetch, make_client
from podsight.pipeline import run
from podsight.records import Digest, DigestItem
from podsight.store.db import Store
from podsight.store.models import Episode, Feed, TranscriptSegment
from podsight.store.queries import add_feed

SETTING = "allow_private_addresses"
PUBLIC_STAND_IN = "127.0.0.2"  # treated as a public address through the test seam below
AUDIO = {"Content-Type": "audio/mpeg"}
NOW = datetime.now(timezone.utc)


# ---- helpers --------------------------------------------------------------------------------------

@contextmanager
def serve_on(host: str, routes: dict, log: list[Request] | None = None) -> Iterator[str]:
    """`servers.serve`, but on `host` (127.0.0.2 or ::1 here); yields the base URL."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    server_class = type("Server", (ThreadingHTTPServer,), {"address_family": family})
    server = server_class((host, 0), _make_handler(routes, log))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        yield f"http://{'[' + host + ']' if ':' in host else host}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def public_stand_in(monkeypatch):
    """TEST SEAM: 127.0.0.2 counts as public; every other address is judged by the real classifier."""
    real = http.address_problem
    monkeypatch.setattr(http, "address_problem", lambda address: None if address == PUBLIC_STAND_IN else real(address))


@pytest.fixture
def names(monkeypatch):
    """A dict name -> IP address (or a function returning one per lookup) that `socket.getaddrinfo` answers
    from; other names resolve as usual."""
    table: dict = {}
    real = socket.getaddrinfo

    def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
        name = host.decode() if isinstance(host, bytes) else host
        if name not in table:
            return real(host, port, family, type, proto, flags)
        address = table[name]() if callable(table[name]) else table[name]
        af = socket.AF_INET6 if ":" in address else socket.AF_INET
        sockaddr = (address, int(port or 0), 0, 0) if af == socket.AF_INET6 else (address, int(port or 0))
        return [(af, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", sockaddr)]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return table


def get(url: str, *, allow_private: bool, max_redirects: int = 5):
    async def go():
        async with make_client("podsight-test", 2.0, 4, allow_private=allow_private) as client:
            return await fetch(client, url, max_bytes=1_000_000, max_redirects=max_redirects)
    return asyncio.run(go())


def assert_refused(error: BaseException, address: str, kind: str) -> None:
    message = str(error)
    assert isinstance(error, FetchError)
    assert f"{address} is a {kind} address" in message or f"{address} is an {kind} address" in message, message
    assert SETTING in message, message  # says how to allow it


def port_of(base: str) -> int:
    return int(base.rsplit(":", 1)[1])


# ---- the classifier -------------------------------------------------------------------------------

@pytest.mark.parametrize("address, kind", [
    ("127.0.0.1", "loopback"), ("127.9.9.9", "loopback"), ("::1", "loopback"),
    ("169.254.169.254", "link-local"), ("fe80::1", "link-local"),
    ("10.0.0.1", "private"), ("172.16.5.4", "private"), ("192.168.1.1", "private"), ("fd00::1", "private"),
    ("0.0.0.0", "unspecified"), ("::", "unspecified"), ("224.0.0.251", "multicast"), ("ff02::1", "multicast"),
    ("100.64.0.1", "non-public"),
    ("::ffff:127.0.0.1", "loopback"), ("::ffff:169.254.169.254", "link-local"),  # IPv4-mapped IPv6
    ("64:ff9b::a00:1", "private"), ("2002:7f00:1::", "loopback"),  # NAT64 and 6to4 carry an IPv4 address
])
def test_every_non_public_kind_of_address_is_named(address, kind):
    problem = address_problem(address)
    assert problem is not None and kind in problem


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8"])
def test_public_addresses_pass(address):
    assert address_problem(address) is None


# ---- feeds and transcripts (podsight.http.fetch) ---------------------------------------------------

@pytest.mark.parametrize("allow_private", [False, True])
def test_a_feed_on_loopback_is_refused_unless_the_admin_opts_in(allow_private):
    log: list[Request] = []
    with serve({"/feed.xml": Static(body=b"<rss/>")}, log) as base:
        if allow_private:
            assert get(base + "/feed.xml", allow_private=True).content == b"<rss/>"
            return
        with pytest.raises(PrivateAddressError) as refused:
            get(base + "/feed.xml", allow_private=False)
    assert_refused(refused.value, "127.0.0.1", "loopback")
    assert str(refused.value).startswith(base + "/feed.xml")  # names the URL too
    assert log == []  # refused before a byte was sent


@pytest.mark.parametrize("url, address, kind", [
    ("http://[::1]:9/", "::1", "loopback"),
    ("http://169.254.169.254/latest/meta-data/", "169.254.169.254", "link-local"),
    ("http://10.0.0.7:8080/admin", "10.0.0.7", "private"),
    ("http://0.0.0.0:9/", "0.0.0.0", "unspecified"),
    ("http://[::ffff:127.0.0.1]:9/", "::ffff:7f00:1", "loopback"),
])
def test_private_address_literals_are_refused_without_connecting(url, address, kind):
    with pytest.raises(PrivateAddressError) as refused:
        get(url, allow_private=False)
    assert address in str(refused.value) and kind in str(refused.value) and SETTING in str(refused.value)


@pytest.mark.parametrize("allow_private", [False, True])
def test_a_public_looking_name_that_resolves_to_loopback_is_refused_at_connect(names, allow_private):
    log: list[Request] = []
    with serve({"/feed.xml": Static(body=b"<rss/>")}, log) as base:
        names["public.example"] = "127.0.0.1"
        url = f"http://public.example:{port_of(base)}/feed.xml"
        if allow_private:
            assert get(url, allow_private=True).content == b"<rss/>"
            assert log[0].headers["Host"] == f"public.example:{port_of(base)}"  # the name, not the address
            return
        for name_url in (url, f"http://localhost:{port_of(base)}/feed.xml"):
            with pytest.raises(PrivateAddressError) as refused:
                get(name_url, allow_private=False)
            assert SETTING in str(refused.value) and "loopback address" in str(refused.value)
        assert "public.example (127.0.0.1)" in str(get_error(url))
    assert log == []


def get_error(url: str) -> BaseException:
    with pytest.raises(PrivateAddressError) as refused:
        get(url, allow_private=False)
    return refused.value


def test_dns_rebinding_the_address_checked_is_the_address_connected_to(names, public_stand_in):
    """The name resolves to the public stand-in once, then to loopback: the connection goes where the check
    looked (one lookup per connection), and the next connection, now resolving to loopback, is refused."""
    public_log: list[Request] = []
    private_log: list[Request] = []
    with serve_on(PUBLIC_STAND_IN, {"/x": Static(body=b"public")}, public_log) as public, \
            serve({"/x": Static(body=b"secret")}, private_log) as private:
        answers = iter([PUBLIC_STAND_IN])
        names["rebind.example"] = lambda: next(answers, "127.0.0.1")
        url = f"http://rebind.example:{port_of(public)}/x"
        assert get(url, allow_private=False).content == b"public"
        assert_refused(get_error(url), "127.0.0.1", "loopback")
    assert len(public_log) == 1 and private_log == []


@pytest.mark.parametrize("status", [301, 302, 307])
@pytest.mark.parametrize("allow_private", [False, True])
def test_a_redirect_from_an_allowed_server_to_a_private_address_is_refused(public_stand_in, status, allow_private):
    private_log: list[Request] = []
    with serve_on("::1", {"/secret": Static(body=b"internal admin page")}, private_log) as private, \
            serve_on(PUBLIC_STAND_IN, {"/feed.xml": redirect(private + "/secret", status)}) as public:
        if allow_private:
            result = get(public + "/feed.xml", allow_private=True)
            assert result.content == b"internal admin page"
            return
        with pytest.raises(PrivateAddressError) as refused:
            get(public + "/feed.xml", allow_private=False)
    assert_refused(refused.value, "::1", "loopback")
    assert f"redirected from {public}/feed.xml" in str(refused.value)
    assert private_log == []


def test_a_redirect_to_a_name_that_resolves_privately_is_refused(names, public_stand_in):
    private_log: list[Request] = []
    with serve({"/meta": Static(body=b"credentials")}, private_log) as private:
        names["metadata.example"] = "127.0.0.1"
        target = f"http://metadata.example:{port_of(private)}/meta"
        with serve_on(PUBLIC_STAND_IN, {"/t.vtt": redirect(target, 302)}) as public:
            error = get_error(public + "/t.vtt")
    assert "metadata.example (127.0.0.1)" in str(error) and SETTING in str(error)
    assert private_log == []


def test_a_permanent_redirect_to_a_private_address_is_not_stored_as_the_feeds_new_url(public_stand_in):
    options = dict(user_agent="t", timeout_s=2.0, max_bytes=100_000, per_host_limit=2, max_concurrency=2,
                   max_redirects=5)
    feed = Static(body=b"<rss version='2.0'><channel><title>x</title></channel></rss>")
    with serve({"/feed.xml": feed}) as private, \
            serve_on(PUBLIC_STAND_IN, {"/moved": redirect(private + "/feed.xml", 301)}) as public:
        (refused,) = poll_feeds_sync([PollRequest(1, public + "/moved", None, None)], allow_private=False, **options)
        (followed,) = poll_feeds_sync([PollRequest(1, public + "/moved", None, None)], allow_private=True, **options)
    assert refused.outcome == "error" and refused.new_url is None
    assert "127.0.0.1 is a loopback address" in refused.error and SETTING in refused.error
    assert followed.outcome == "updated" and followed.new_url == private + "/feed.xml"


# ---- the pipeline, driven by the setting ----------------------------------------------------------

def rss(transcript: str, audio: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" '
        'xmlns:podcast="https://podcastindex.org/namespace/1.0"><channel><title>Show</title>'
        f"<item><title>Episode</title><guid>ep-1</guid><pubDate>{format_datetime(NOW - timedelta(hours=1))}</pubDate>"
        f'<enclosure url="{audio}" type="audio/mpeg" length="1"/>'
        f'<podcast:transcript url="{transcript}" type="text/vtt"/></item></channel></rss>'
    )


SECRET_VTT = "WEBVTT\n\n00:00:00.000 --> 00:00:04.000\n<v Admin>The internal secret is hunter2.\n"


@pytest.mark.parametrize("allow_private", [False, True])
def test_a_transcript_link_redirected_to_ipv6_loopback_is_never_stored(tmp_path, public_stand_in, allow_private):
    """The issue's case: a 302 to http://[::1]:port/ was followed and its body stored and shown."""
    settings = Settings(home=tmp_path / "home", secret_key="test-secret", fetch_timeout_s=2.0,
                        allow_private_addresses=allow_private)
    store = Store(settings.db_url)
    private_log: list[Request] = []
    table: dict = {}
    try:
        with serve_on("::1", {"/secret.vtt": Static(body=SECRET_VTT, headers={"Content-Type": "text/vtt"})},
                      private_log) as private, serve_on(PUBLIC_STAND_IN, table) as public:
            table["/feed.xml"] = Static(body=rss(public + "/t.vtt", public + "/ep.mp3"),
                                        headers={"Content-Type": "application/rss+xml"})
            table["/t.vtt"] = redirect(private + "/secret.vtt", 302)
            with store.session() as session:
                add_feed(session, public + "/feed.xml")
            run(store, settings, stages=("scan", "transcripts"), now=NOW)
        with store.session() as session:
            episode = session.scalars(select(Episode)).one()
            texts = [s.text for s in session.scalars(select(TranscriptSegment))]
            feed_error = session.scalars(select(Feed)).one().last_error
    finally:
        store.close()
    assert feed_error is None  # the feed itself is on the (stand-in) public server
    if allow_private:
        assert any("hunter2" in text for text in texts)
        return
    assert texts == [] and private_log == []
    assert "::1 is a loopback address" in episode.last_error and SETTING in episode.last_error


def test_a_feed_on_loopback_is_refused_by_the_scan_when_the_setting_is_off(tmp_path):
    settings = Settings(home=tmp_path / "home", secret_key="test-secret", fetch_timeout_s=2.0)
    assert settings.allow_private_addresses is False  # the default
    store = Store(settings.db_url)
    log: list[Request] = []
    try:
        with serve({"/feed.xml": Static(body=rss("http://x.invalid/t.vtt", "http://x.invalid/a.mp3"))}, log) as base:
            with store.session() as session:
                add_feed(session, base + "/feed.xml")
            run(store, settings, stages=("scan",), now=NOW)
        with store.session() as session:
            error = session.scalars(select(Feed)).one().last_error
    finally:
        store.close()
    assert log == []
    assert "127.0.0.1 is a loopback address" in error and SETTING in error


# ---- audio enclosures -----------------------------------------------------------------------------

def download(url: str, dest: Path, **kwargs) -> Path:
    return download_audio(url, dest, max_bytes=1_000_000, timeout_s=2.0, user_agent="t", backoff_s=0.01, **kwargs)


@pytest.mark.parametrize("allow_private", [False, True])
def test_audio_on_loopback_or_redirected_there_is_refused(tmp_path, public_stand_in, allow_private):
    private_log: list[Request] = []
    public_log: list[Request] = []
    with serve({"/ep.mp3": Static(body=b"ID3 not really audio", headers=AUDIO)}, private_log) as private, \
            serve_on(PUBLIC_STAND_IN, {"/track": redirect(private + "/ep.mp3", 302)}, public_log) as public:
        if allow_private:
            assert download(public + "/track", tmp_path, allow_private=True).read_bytes() == b"ID3 not really audio"
            return
        for url in (private + "/ep.mp3", public + "/track"):  # directly, and through a tracking redirect
            with pytest.raises(PrivateAddressError) as refused:
                download(url, tmp_path)
            assert_refused(refused.value, "127.0.0.1", "loopback")
            assert url in str(refused.value)
    assert private_log == [] and len(public_log) == 1  # no retries: the answer would be the same
    assert list(tmp_path.iterdir()) == []  # no partial file left


# ---- webhooks -------------------------------------------------------------------------------------

def digest() -> Digest:
    item = DigestItem(insight_id=1, claim="Buses beat diesel.", why="Cost.", quote="Prices fell.", speaker="Bo",
                      kind="data_point", start_s=1.0, show_title="Show", episode_title="Ep",
                      episode_url="https://shows.example/1.mp3", score=1.0)
    return Digest(subscriber_email="reader@example.com", day="2026-06-03", items=(item,))


@pytest.mark.parametrize("allow_private", [False, True])
def test_a_webhook_on_loopback_is_refused_for_good(allow_private):
    log: list[Request] = []
    with serve({"/hook": Static(body=b"ok")}, log) as base:
        if allow_private:
            post_digest(base + "/hook", digest(), timeout_s=2, allow_private=True)
            assert len(log) == 1
            return
        with pytest.raises(WebhookRejected) as rejected:  # rejected, not unavailable: a retry cannot help
            post_digest(base + "/hook", digest(), timeout_s=2)
    assert "127.0.0.1 is a loopback address" in str(rejected.value) and SETTING in str(rejected.value)
    assert "/hook" not in str(rejected.value)  # the URL's secret path stays out of the message
    assert log == []


def test_the_delivery_stage_passes_the_setting_to_the_webhook(tmp_path):
    from podsight.pipeline.deliver import _send_webhook

    log: list[Request] = []
    with serve({"/hook": Static(body=b"ok")}, log) as base:
        with pytest.raises(WebhookRejected):
            _send_webhook(Settings(home=tmp_path, secret_key="k"), digest(), base + "/hook")
        _send_webhook(Settings(home=tmp_path, secret_key="k", allow_private_addresses=True), digest(), base + "/hook")
    assert len(log) == 1
