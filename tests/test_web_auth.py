"""Admin sign-in: scrypt hashes, the signed session cookie, CSRF on forms, throttling, the CLI. The app runs in
real uvicorn on 127.0.0.1 with one admin-only test page (GET shows a form, POST changes a value)."""

from __future__ import annotations

import re

import httpx
import pytest
from conftest import free_port
from fastapi import Depends, FastAPI, Form, Request
from fastapi.responses import HTMLResponse
from servers import serving
from typer.testing import CliRunner

from podsight.cli import app as cli_app
from podsight.web import create_app
from podsight.web.auth import (
    SESSION_COOKIE,
    AuthError,
    LoginThrottle,
    LoginThrottled,
    admin_gate,
    check_login,
    create_admin,
    csrf_input,
    csrf_protect,
    csrf_token,
    hash_password,
    require_admin,
    router,
    verify_password,
)

pytestmark = pytest.mark.both_backends  # SQLite and a real PostgreSQL (tests/conftest.py)

PASSWORD = "correct horse battery"


def _test_app(settings, store, changes: list[str]):
    app = create_app(settings, store)
    app.include_router(router)

    @app.get("/admin/thing", response_class=HTMLResponse)
    def show(request: Request, user: str = Depends(require_admin)) -> str:
        return f'<p>hello {user}</p><form method="post">{csrf_input(request)}<input name="value"></form>'

    @app.post("/admin/thing", dependencies=[Depends(require_admin), Depends(csrf_protect)])
    def change(value: str = Form(...)) -> dict:
        changes.append(value)
        return {"ok": True}

    return app


@pytest.fixture
def site(settings, store):
    """(base url, store, changes made through the admin form)."""
    port = free_port()
    settings.base_url = f"http://127.0.0.1:{port}"
    with store.session() as session:
        create_admin(session, "ada", PASSWORD)
    changes: list[str] = []
    with serving(_test_app(settings, store, changes), port) as base:
        yield base, store, changes


def hidden(html: str, name: str) -> str:
    return re.search(rf'name="{name}" value="([^"]*)"', html).group(1)


def sign_in(client: httpx.Client, password: str = PASSWORD, next_url: str = "/admin/thing") -> httpx.Response:
    form = client.get("/login", params={"next": next_url}).text
    return client.post("/login", data={"username": "ada", "password": password, "next": hidden(form, "next"),
                                       "csrf_token": hidden(form, "csrf_token")})


def test_hashes_are_salted_carry_their_parameters_and_refuse_garbage():
    first, second = hash_password(PASSWORD), hash_password(PASSWORD)
    assert first != second and first.startswith("scrypt$16384$8$1$")
    assert verify_password(PASSWORD, first) and verify_password(PASSWORD, second)
    assert not verify_password(PASSWORD + "!", first)
    huge_n = first.replace("$16384$", f"${2**30}$", 1)  # a tampered row must not eat all memory
    for bad in ["", "plain", "scrypt$x$8$1$a$b", huge_n, first.replace("scrypt", "md5", 1), "scrypt$1000$8$1$a$b"]:
        assert not verify_password(PASSWORD, bad)


def test_create_admin_refuses_duplicates_short_passwords_and_odd_names(store):
    with store.session() as session:
        create_admin(session, "ada", PASSWORD)
        with pytest.raises(AuthError, match="--replace"):
            create_admin(session, "ada", "another password")
        with pytest.raises(AuthError, match="at least 8"):
            create_admin(session, "bo", "short")
        with pytest.raises(AuthError, match="not valid"):
            create_admin(session, "two words", PASSWORD)
        create_admin(session, "ada", "another password", replace=True)
        assert check_login(session, "ada", "another password") is not None
        assert check_login(session, "ada", PASSWORD) is None and check_login(session, "nobody", PASSWORD) is None


def test_five_wrong_passwords_lock_the_username_for_a_minute(store):
    throttle = LoginThrottle()
    with store.session() as session:
        create_admin(session, "ada", PASSWORD)
        for _ in range(5):
            assert check_login(session, "ada", "wrong password", throttle, now=1000.0) is None
        with pytest.raises(LoginThrottled, match="try again in 60 seconds"):
            check_login(session, "ada", PASSWORD, throttle, now=1000.0)  # even the right one
        assert check_login(session, "ada", PASSWORD, throttle, now=1061.0) is not None
        for _ in range(4):  # success reset the count
            check_login(session, "ada", "wrong password", throttle, now=1062.0)
        assert check_login(session, "ada", PASSWORD, throttle, now=1062.0) is not None


def test_admin_page_redirects_to_login_and_back(site):
    base, _, changes = site
    with httpx.Client(base_url=base) as client:
        assert client.get("/admin/thing?x=1").headers["location"] == "/login?next=%2Fadmin%2Fthing%3Fx%3D1"
        answer = sign_in(client)
        assert answer.status_code == 303 and answer.headers["location"] == "/admin/thing"
        cookie = next(h for h in answer.headers.get_list("set-cookie") if h.startswith(SESSION_COOKIE))
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie and "Max-Age=" in cookie
        page = client.get("/admin/thing")
        assert "hello ada" in page.text
        assert client.post("/admin/thing", data={"value": "v1", "csrf_token": hidden(page.text, "csrf_token")}).json()
        assert client.get("/login").headers["location"] == "/"  # signed in already
        assert client.post("/logout", data={"csrf_token": hidden(page.text, "csrf_token")}).status_code == 303
        assert client.get("/admin/thing").status_code == 303
    assert changes == ["v1"]


def test_forms_without_the_sessions_csrf_token_are_refused(site):
    base, _, changes = site
    with httpx.Client(base_url=base) as client, httpx.Client(base_url=base) as other:
        sign_in(client), sign_in(other)
        token = hidden(client.get("/admin/thing").text, "csrf_token")
        other_token = hidden(other.get("/admin/thing").text, "csrf_token")
        assert token != other_token  # one per session
        for data in [{"value": "x"}, {"value": "x", "csrf_token": ""}, {"value": "x", "csrf_token": other_token}]:
            refused = client.post("/admin/thing", data=data)
            assert refused.status_code == 403 and "another site" in refused.text
        # a forged login form (no token, or no cookie of ours) signs nobody in
        forged = httpx.post(f"{base}/login", data={"username": "ada", "password": PASSWORD, "csrf_token": token})
        assert forged.status_code == 403 and SESSION_COOKIE not in forged.headers.get("set-cookie", "")
    assert changes == []


def test_wrong_passwords_then_lockout_over_http(site):
    base, _, _ = site
    with httpx.Client(base_url=base) as client:
        wrong = sign_in(client, "nope nope")
        assert wrong.status_code == 401 and "Wrong username or password" in wrong.text
        assert 'value="ada"' in wrong.text  # the username is kept, the password is not
        for _ in range(4):
            sign_in(client, "nope nope")
        locked = sign_in(client)
        assert locked.status_code == 429 and "Too many wrong passwords" in locked.text
        assert SESSION_COOKIE not in client.cookies


def test_next_never_leaves_the_site(site):
    base, _, _ = site
    for target in ["//evil.example/x", "https://evil.example/", "/\\evil.example"]:
        with httpx.Client(base_url=base) as client:
            assert sign_in(client, next_url=target).headers["location"] == "/"


def test_changed_password_or_tampered_cookie_ends_the_session(site):
    base, store, _ = site
    with httpx.Client(base_url=base) as client:
        sign_in(client)
        good = client.cookies[SESSION_COOKIE]
        client.cookies.set(SESSION_COOKIE, good[:-3] + "abc")
        assert client.get("/admin/thing").status_code == 303
        client.cookies.set(SESSION_COOKIE, good)
        assert client.get("/admin/thing").status_code == 200
        with store.session() as session:
            create_admin(session, "ada", "a brand new password", replace=True)
        assert client.get("/admin/thing").status_code == 303


def test_session_cookie_is_secure_when_the_site_is_https(settings, store):
    settings.base_url = "https://podsight.example"
    with store.session() as session:
        create_admin(session, "ada", PASSWORD)
    from fastapi.testclient import (
        TestClient,  # cookie flags only: no need for a real server here
    )

    with TestClient(_test_app(settings, store, []), base_url="https://podsight.example",
                    follow_redirects=False) as client:
        answer = sign_in(client)
    cookie = next(h for h in answer.headers.get_list("set-cookie") if h.startswith(SESSION_COOKIE))
    assert "Secure" in cookie and "HttpOnly" in cookie


def test_cli_admin_add_asks_twice_and_stores_a_hash(settings, store):
    home = ["--home", str(settings.home)]
    result = CliRunner().invoke(cli_app, [*home, "admin", "add", "ada"], input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0 and "Added admin ada" in result.output and PASSWORD not in result.output
    mismatch = CliRunner().invoke(cli_app, [*home, "admin", "add", "bo"], input=f"{PASSWORD}\nother one\n" * 3)
    assert mismatch.exit_code != 0
    again = CliRunner().invoke(cli_app, [*home, "admin", "add", "ada"], input=f"{PASSWORD}\n{PASSWORD}\n")
    assert again.exit_code == 1 and "--replace" in str(again.exception)
    with store.session() as session:
        assert check_login(session, "ada", PASSWORD) is not None and check_login(session, "bo", PASSWORD) is None


def test_admin_gate_makes_everything_private_but_login_and_signed_links(settings, store):
    with store.session() as session:
        create_admin(session, "ada", PASSWORD)
    app = FastAPI(dependencies=[Depends(admin_gate)])
    app.state.settings, app.state.store = settings, store
    app.include_router(router)
    for path in ["/", "/feedback/{token}", "/unsubscribe/{token}", "/feeds/{token}.atom", "/feeds/new"]:
        app.get(path)(lambda: "open")
    app.post("/unsubscribe/{token}")(lambda: "done")
    app.post("/shows")(lambda: "added")

    @app.get("/token")
    def token(request: Request) -> str:
        return csrf_token(request)

    with serving(app, free_port()) as base, httpx.Client(base_url=base) as client:
        for public in ["/feedback/t.x", "/unsubscribe/t.x", "/feeds/t.x.atom", "/login"]:
            assert client.get(public).status_code == 200, public
        assert client.post("/unsubscribe/t.x").status_code == 200  # RFC 8058 one-click: no CSRF token
        for private in ["/", "/feeds/new"]:
            assert client.get(private).headers["location"].startswith("/login?next="), private
        sign_in(client, next_url="/")
        assert client.get("/").json() == "open"
        assert client.post("/shows", data={"url": "x"}).status_code == 403  # every POST needs the token
        form = {"url": "x", "csrf_token": client.get("/token").json()}
        assert client.post("/shows", data=form).json() == "added"
