"""The web app as a person uses it, in a real headless Chromium (Debian's `chromium`, driven by Playwright).

One world for the module: a feed served on 127.0.0.1 with two episodes that make the same claim, the daily
run against a scripted OpenAI-compatible endpoint (tests/fake_llm_server.py, a fake named as such), the
digest mailed into aiosmtpd, and the app in uvicorn. Then, in the browser: sign in as admin and change a
subscriber's settings, read the digest, open an insight and its sources, vote through the email's link,
and unsubscribe through the email's List-Unsubscribe link.
"""

from __future__ import annotations

import json
import re
import shutil
import threading
import time
from datetime import datetime, timedelta, timezone
from email.header import decode_header, make_header
from email.message import Message
from email.utils import format_datetime

import pytest
import uvicorn
from conftest import MailSink, free_port
from fake_llm_server import FakeLLMServer
from servers import Static, serve
from sqlalchemy import select
from typer.testing import CliRunner

from podsight.cli import app as cli_app
from podsight.config import Settings
from podsight.pipeline import run
from podsight.store.db import Store
from podsight.store.models import Feed, Feedback, Subscriber
from podsight.store.queries import add_subscriber
from podsight.web import create_app
from podsight.web.auth import create_admin

CHROMIUM = shutil.which("chromium")
if CHROMIUM is None:
    pytest.skip("Debian's chromium is not installed (apt-get install -y chromium); .ci/run installs it",
                allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api",
                               reason="playwright is in the `test` extra: pip install -e '.[test]'")

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=timezone.utc)
PASSWORD = "a long admin password"
TRANSCRIPT = """WEBVTT

00:00:00.000 --> 00:00:05.000
<v Ada Host>Welcome back. My guest today is Bo, who runs a battery startup.

00:00:05.000 --> 00:00:12.000
<v Bo Guest>Battery pack prices fell by about ninety percent in ten years, and that is why electric buses now beat diesel on total cost.
"""
INSIGHT = {"quote": "Battery pack prices fell by about ninety percent in ten years", "line": 1,
           "speaker": "Bo Guest", "kind": "data_point", "importance": 5,
           "claim": "Falling battery pack prices have made electric city buses cheaper to own than diesel buses.",
           "why": "Cities can electrify fleets on cost alone."}
JUDGE = json.dumps({"relation": "corroborating", "reason": "both report battery prices falling ninety percent"})


def feed_xml(base: str) -> str:
    items = "".join(
        f"<item><title>Buses {n}</title><guid>bus-{n}</guid><pubDate>{format_datetime(NOW - timedelta(hours=n + 1))}"
        f'</pubDate><enclosure url="{base}/a{n}.mp3" type="audio/mpeg" length="1"/>'
        f'<podcast:transcript url="{base}/t{n}.vtt" type="text/vtt"/></item>' for n in range(2))
    return ('<rss version="2.0" xmlns:podcast="https://podcastindex.org/namespace/1.0"><channel>'
            f"<title>Transit Talk</title>{items}</channel></rss>")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """(settings, store, the one email sent) with the app serving at settings.base_url."""
    from aiosmtpd.controller import Controller

    port = free_port()
    settings = Settings(home=tmp_path_factory.mktemp("browser") / "home", fetch_timeout_s=2.0,
                        secret_key="test-secret", base_url=f"http://127.0.0.1:{port}", smtp_host="127.0.0.1",
                        smtp_security="none", allow_private_addresses=True,
                        extraction="chunks")  # the fake model below scripts chunk answers
    store, sink, routes = Store(settings.db_url), MailSink(), {}
    smtp = Controller(sink, hostname="127.0.0.1", port=free_port())
    smtp.start()
    settings.smtp_port = smtp.port
    server = uvicorn.Server(uvicorn.Config(create_app(settings, store), host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    try:
        with serve(routes) as base:
            routes["/feed.xml"] = Static(body=feed_xml(base), headers={"Content-Type": "application/rss+xml"})
            for n in range(2):
                routes[f"/t{n}.vtt"] = Static(body=TRANSCRIPT, headers={"Content-Type": "text/vtt"})
            _set_up_and_run(settings, store, base + "/feed.xml")
        deadline = time.monotonic() + 10
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        assert server.started, "uvicorn did not start"
        assert len(sink.messages) == 1, "the daily run should have mailed one digest"
        yield settings, store, sink.messages[0]
    finally:
        server.should_exit = True
        smtp.stop()
        store.close()


def _set_up_and_run(settings: Settings, store: Store, feed_url: str) -> None:
    """What an operator does: add the feed and an admin (CLI), a subscriber, then the daily run."""
    # The feed must exist before the day's run that the other tests read, so it is added with the CLI here;
    # test_admin_adds_a_feed_in_the_browser adds another one through the web form.
    added = CliRunner().invoke(cli_app, ["--home", str(settings.home), "feeds", "add", feed_url])
    assert added.exit_code == 0, added.output
    with store.session() as session:
        create_admin(session, "ada", PASSWORD)
        add_subscriber(session, "reader@example.com", "Europe/Paris", 7, "", [])
    with FakeLLMServer([json.dumps({"insights": [INSIGHT]})] * 2 + [JUDGE]) as llm:
        settings.llm_base_url = llm.base_url
        run(store, settings, now=NOW)


@pytest.fixture(scope="module")
def browser(world):
    """Chromium, started after the world: Playwright's sync API holds an event loop that the daily run's
    asyncio.run() must not find running."""
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, world):
    """A fresh browser profile per test (no cookies carried over), pointed at the app."""
    context = browser.new_context(base_url=world[0].base_url)
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def html_part(mail: Message) -> str:
    return next(p for p in mail.walk() if p.get_content_type() == "text/html").get_payload(decode=True).decode()


def test_admin_signs_in_to_change_a_subscribers_settings(page, world):
    _, store, _ = world
    page.goto("/subscribers/1/settings")
    assert re.search(r"/login\?next=", page.url)
    page.fill("#username", "ada")
    page.fill("#password", "not the password")
    page.click("button[type=submit]")
    assert "Wrong username or password" in page.inner_text("main")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/subscribers/1/settings")
    page.fill("textarea[name=interests]", "batteries, city transit")
    page.click("form.settings button[type=submit]")
    page.wait_for_url("**/subscribers/1/settings?saved=1")
    assert "Saved." in page.inner_text("main")
    with store.session() as session:
        assert session.scalar(select(Subscriber.interests)) == "batteries, city transit"


def sign_in(page) -> None:
    page.fill("#username", "ada")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")


def test_admin_adds_a_feed_in_the_browser(page, world):
    _, store, _ = world
    page.goto("/shows")
    sign_in(page)
    page.wait_for_url("**/shows")
    page.fill("form.add-show input[name=url]", "ftp://feeds.example.org/show.xml")  # a URL, but not a feed URL
    page.click("form.add-show button[type=submit]")
    assert "not an http(s) URL" in page.inner_text("form.add-show")
    page.fill("form.add-show input[name=url]", "https://feeds.example.org/new-show.xml")
    page.click("form.add-show button[type=submit]")
    page.wait_for_url("**/shows")
    assert "https://feeds.example.org/new-show.xml" in page.inner_text("table.shows")
    with store.session() as session:
        assert session.scalar(select(Feed.id).where(Feed.url == "https://feeds.example.org/new-show.xml"))


def test_reader_sees_the_digest_then_an_insight_and_its_sources(page, world):
    page.goto("/")  # the pages are the owner's: sign in first
    sign_in(page)
    page.wait_for_selector("article.item")
    assert "Digest for 30 Nov 2026" in page.inner_text("h1")
    item = page.locator("article.item").first
    assert "Falling battery pack prices" in item.inner_text() and "Also said on" in item.inner_text()
    item.locator("h2 a").click()
    page.wait_for_url(re.compile(r"/insights/\d+$"))
    assert "Falling battery pack prices" in page.inner_text("h1")
    assert "The same claim elsewhere" in page.inner_text("main")
    page.locator("ul.lines li.line .meta a").first.click()  # the other episode, at the quote's second
    page.wait_for_url(re.compile(r"/episodes/\d+\?t=5#player"))
    assert "Battery pack prices fell" in page.inner_text(".transcript mark")


def test_vote_from_the_emails_link(page, world):
    settings, store, mail = world
    up = re.search(r'href="([^"]*/feedback/[^"]+)"', html_part(mail)).group(1)  # the first vote link: thumbs up
    assert up.startswith(settings.base_url)
    page.goto(up)
    assert "worth it" in page.inner_text("main")
    with store.session() as session:
        assert session.scalar(select(Feedback)) is None  # opening the link (a mail scanner) records nothing
    page.click("button[type=submit]")
    assert "Your vote is recorded" in page.inner_text("main")
    with store.session() as session:
        assert [f.vote for f in session.scalars(select(Feedback))] == [1]


def list_unsubscribe_url(mail: Message) -> str:
    """The https URL of the List-Unsubscribe header (decoded, in case it were RFC 2047-encoded)."""
    value = str(make_header(decode_header(mail["List-Unsubscribe"])))
    return re.search(r"<(https?://[^>]+/unsubscribe/[^>]+)>", value).group(1)


def test_list_unsubscribe_header_is_a_literal_url(world):
    """Python's default email policy would RFC 2047-encode a header over 78 characters: not a URL any more."""
    assert re.fullmatch(r"<https?://[^>\s]+>(, <mailto:[^>]+>)?", world[2]["List-Unsubscribe"])


def test_unsubscribe_through_the_list_unsubscribe_link(page, world):
    _, store, mail = world
    page.goto(list_unsubscribe_url(mail))
    assert "reader@example.com" in page.inner_text("main")
    page.click("button[type=submit]")
    assert "will get no more digests" in page.inner_text("main")
    with store.session() as session:
        assert session.scalar(select(Subscriber.status)) == "unsubscribed"
