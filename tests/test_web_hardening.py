"""Issue 11, findings 7 and 17, against the app in real uvicorn on loopback:
- the login throttle counts an attempt before scrypt runs, so concurrent wrong passwords cannot slip past
  it, and it counts per client address, so one address guessing does not lock the admin out elsewhere;
- every answer carries a Content-Security-Policy (which the pages satisfy: no inline script or style) and
  X-Frame-Options;
- signing out ends the session on the server: a copied cookie stops working;
- unsubscribe, vote and Atom links carry no email address in clear.

Other client addresses are real: the clients bind 127.0.0.2 and 127.0.0.3, which Linux routes over
loopback like 127.0.0.1."""

from __future__ import annotations

import base64
import re
import shutil
import threading
import time
from datetime import datetime, timezone

import httpx
import pytest
from conftest import free_port
from seeding import seed_insights
from servers import serving
from sqlalchemy import select

from podsight.digest.tokens import sign
from podsight.pipeline.digest_view import unsubscribe_url, vote_url
from podsight.store.models import Episode, Subscriber
from podsight.store.queries import add_subscriber
from podsight.web import create_app, passwords
from podsight.web.auth import SESSION_COOKIE, create_admin
from podsight.web.feeds import atom_feed_url

pytestmark = pytest.mark.both_backends  # SQLite and a real PostgreSQL (tests/conftest.py)

PASSWORD = "correct horse battery"
EMAIL = "reader@example.com"


@pytest.fixture
def site(settings, store):
    """(base url, settings, store) with an admin "ada", a subscriber and a few stored insights."""
    port = free_port()
    settings.base_url = f"http://127.0.0.1:{port}"
    with store.session() as session:
        create_admin(session, "ada", PASSWORD)
        add_subscriber(session, EMAIL, "Europe/Paris", 7, "", [])
    seed_insights(store, 4, datetime(2026, 11, 1, tzinfo=timezone.utc))
    with serving(create_app(settings, store), port) as base:
        yield base, settings, store


def client_from(base: str, address: str = "127.0.0.1") -> httpx.Client:
    return httpx.Client(base_url=base, transport=httpx.HTTPTransport(local_address=address), timeout=30)


def hidden(html: str, name: str) -> str:
    return re.search(rf'name="{name}" value="([^"]*)"', html).group(1)


def login_form(client: httpx.Client) -> dict:
    form = client.get("/login", params={"next": "/shows"}).text
    return {"username": "ada", "next": hidden(form, "next"), "csrf_token": hidden(form, "csrf_token")}


def sign_in(client: httpx.Client, password: str = PASSWORD, **headers) -> httpx.Response:
    return client.post("/login", data=login_form(client) | {"password": password}, headers=headers)


# --- finding 7: the login throttle --------------------------------------------------------------------


def test_twenty_concurrent_wrong_passwords_cost_five_checks_and_leave_other_addresses_alone(site, monkeypatch):
    base, _, _ = site
    checks, lock = [], threading.Lock()
    real_scrypt = passwords._scrypt

    def counted_scrypt(*args, **kwargs):
        with lock:
            checks.append(time.monotonic())
        time.sleep(0.2)  # all twenty are in flight while the first checks run
        return real_scrypt(*args, **kwargs)

    monkeypatch.setattr(passwords, "_scrypt", counted_scrypt)
    attackers = [client_from(base, "127.0.0.2") for _ in range(20)]
    forms = [login_form(client) for client in attackers]
    start, answers = threading.Barrier(20), [None] * 20

    def guess(n: int) -> None:
        start.wait()
        answers[n] = attackers[n].post("/login", data=forms[n] | {"password": f"wrong guess {n}"}).status_code

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert len(checks) <= 5, f"{len(checks)} scrypt checks for 20 concurrent wrong passwords"
    assert sorted(answers) == [401] * len(checks) + [429] * (20 - len(checks))
    # the guessing address stays locked, right password or not, and a forged X-Forwarded-For changes nothing
    with client_from(base, "127.0.0.2") as attacker:
        assert sign_in(attacker).status_code == 429
        assert sign_in(attacker, **{"X-Forwarded-For": "203.0.113.9"}).status_code == 429
    # the admin, elsewhere, signs in
    with client_from(base, "127.0.0.3") as admin:
        answer = sign_in(admin)
        assert answer.status_code == 303 and SESSION_COOKIE in admin.cookies
        assert admin.get("/shows").status_code == 200
    for client in attackers:
        client.close()


def test_many_addresses_together_are_capped_per_username(store):
    throttle = passwords.LoginThrottle(max_failures=5, lockout_s=60, max_username_failures=12)
    with store.session() as session:
        create_admin(session, "ada", PASSWORD)
        for n in range(12):  # 3 addresses x 4 wrong passwords: no address reaches 5
            passwords.check_login(session, "ada", "wrong", throttle, address=f"198.51.100.{n % 3}", now=1000.0)
        with pytest.raises(passwords.LoginThrottled, match="for 'ada'"):
            passwords.check_login(session, "ada", PASSWORD, throttle, address="198.51.100.200", now=1001.0)
        assert passwords.check_login(session, "ada", PASSWORD, throttle, address="198.51.100.200", now=1061.0)


def test_ipv6_clients_count_per_64():
    assert passwords.address_key("2001:db8:1:2:aaaa::1") == passwords.address_key("2001:db8:1:2:bbbb::9")
    assert passwords.address_key("2001:db8:1:3::1") != passwords.address_key("2001:db8:1:2::1")
    assert passwords.address_key("::ffff:192.0.2.7") == "192.0.2.7"


# --- finding 17: headers, logout, tokens ----------------------------------------------------------------


def test_every_answer_has_a_csp_and_x_frame_options(site):
    base, settings, store = site
    with client_from(base) as client:
        answers = [client.get(path) for path in ("/login", "/shows", "/static/podsight.css", "/feedback/garbage",
                                                 "/unsubscribe/garbage", "/feeds/garbage.atom", "/nothing-here")]
        sign_in(client)
        answers += [client.get(path) for path in ("/shows", "/archive", "/")]
    for answer in answers:
        csp = answer.headers.get("content-security-policy", "")
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp and "style-src 'self'" in csp, answer.url
        assert "unsafe-inline" not in csp
        assert answer.headers.get("x-frame-options") == "DENY", answer.url
        assert answer.headers.get("x-content-type-options") == "nosniff"


def _pages(store) -> list[str]:
    with store.session() as session:
        episode = session.scalar(select(Episode.id))
        subscriber = session.scalar(select(Subscriber.id))
    return ["/", "/archive", "/shows", f"/episodes/{episode}", "/insights/1", "/search?q=buses",
            f"/subscribers/{subscriber}/settings"]


def test_pages_hold_no_inline_script_or_style_for_the_csp_to_block(site):
    base, settings, store = site
    with client_from(base) as client:
        html = {"/login": client.get("/login").text}
        sign_in(client)
        for path in _pages(store):
            answer = client.get(path)
            assert answer.status_code == 200, path
            html[path] = answer.text
    with httpx.Client() as public:
        html["unsubscribe"] = public.get(unsubscribe_url(settings, EMAIL)).text
    assert "kind-data_point" in html["/insights/1"]  # the kind's colour, now a class
    for path, text in html.items():
        assert not re.search(r"<script(?![^>]*\bsrc=)", text), f"inline script on {path}"
        assert "<style" not in text and not re.search(r"\sstyle=", text), f"inline style on {path}"
        assert not re.search(r"\son[a-z]+=", text), f"inline event handler on {path}"


def test_signing_out_ends_the_session_for_copies_of_the_cookie_too(site):
    base, _, _ = site
    with client_from(base) as browser, client_from(base) as thief:
        assert sign_in(browser).status_code == 303
        thief.cookies.set(SESSION_COOKIE, browser.cookies[SESSION_COOKIE])
        assert thief.get("/shows").status_code == 200  # a copied cookie works while the session lasts
        page = browser.get("/shows").text
        assert browser.post("/logout", data={"csrf_token": hidden(page, "csrf_token")}).status_code == 303
        assert browser.get("/shows").status_code == 303
        answer = thief.get("/shows")
        assert answer.status_code == 303 and answer.headers["location"].startswith("/login")
        assert sign_in(browser).status_code == 303 and browser.get("/shows").status_code == 200  # signing in again works


def _readable(token: str) -> str:
    """Everything a token shows to whoever holds it: its parts, base64-decoded where they decode."""
    shown = [token]
    for part in re.split(r"[./]", token):
        try:
            shown.append(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)).decode("utf-8", "replace"))
        except ValueError:
            pass
    return " ".join(shown)


def test_digest_links_carry_no_email_in_clear_and_still_work(site):
    base, settings, store = site
    with store.session() as session:
        sub_id = session.scalar(select(Subscriber.id))
    unsubscribe = unsubscribe_url(settings, EMAIL)
    links = [unsubscribe, vote_url(settings, sub_id, 1, 1), atom_feed_url(settings, sub_id)]
    for link in links:
        token = link.rsplit("/", 1)[1]
        assert "reader" not in _readable(token) and "example.com" not in _readable(token), link
        # nested base64 (the sealed subject is base64 inside the base64 payload): decode once more
        inner = _readable(token).split(":", 1)[-1]
        assert "reader" not in _readable(inner.strip()), link
    assert unsubscribe != unsubscribe_url(settings, EMAIL)  # a fresh nonce each time
    with httpx.Client() as client:
        assert EMAIL in client.get(unsubscribe).text
        assert client.post(unsubscribe).status_code == 200
    with store.session() as session:
        assert session.scalar(select(Subscriber.status)) == "unsubscribed"


def test_unsubscribe_links_from_before_sealing_still_work(site):
    base, settings, store = site
    old = f"{base}/unsubscribe/{sign(settings.signing_key(), 'unsubscribe', EMAIL)}"
    with httpx.Client() as client:
        assert client.post(old).status_code == 200
        tampered = old[:-3] + ("AAA" if not old.endswith("AAA") else "BBB")
        assert client.post(tampered).status_code == 404
    with store.session() as session:
        assert session.scalar(select(Subscriber.status)) == "unsubscribed"


# --- the CSP in a real browser ----------------------------------------------------------------------------

CHROMIUM = shutil.which("chromium")


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install -y chromium)")
def test_chromium_reports_no_csp_violation_on_any_page(site):
    sync_api = pytest.importorskip("playwright.sync_api")
    base, settings, store = site
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        try:
            page = browser.new_context(base_url=base).new_page()
            problems: list[str] = []
            page.on("console", lambda msg: problems.append(msg.text) if "Content Security Policy" in msg.text else None)
            page.goto("/login?next=/shows")
            page.fill("#username", "ada")
            page.fill("#password", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url("**/shows")
            for path in _pages(store):
                page.goto(path)
                page.wait_for_load_state("load")
                # the stylesheet applied: a kind badge has its colour from podsight.css, not from style=""
                if path.startswith("/insights/"):
                    colour = page.eval_on_selector(".kind", "e => getComputedStyle(e).borderLeftColor")
                    assert colour == "rgb(14, 165, 233)"
            page.goto(unsubscribe_url(settings, EMAIL))
            page.click("button[type=submit]")
            page.wait_for_load_state("load")
            assert "no more digests" in page.content()
            assert problems == []
            # the listener does hear violations: an inline <style> added now is refused and reported
            page.evaluate("() => { const s = document.createElement('style'); s.textContent = 'p { color: red }';"
                          " document.head.appendChild(s); }")
            page.wait_for_timeout(200)
            assert problems and "style" in problems[0]
        finally:
            browser.close()
