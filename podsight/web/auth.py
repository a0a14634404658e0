"""Admin access to the web app: a signed session cookie, CSRF tokens, the login pages, route guards.
(Passwords, accounts and login throttling are podsight.web.passwords, re-exported here.)

There is no server-side session table. The session cookie is a token from podsight.digest.tokens (purpose
"admin-session", with an expiry) whose subject is `nonce:fingerprint:username`:
- the random nonce is the session's CSRF secret: every state-changing form carries HMAC(nonce) in a
  hidden field, which another site can neither read nor compute (signed double-submit, per session);
- the fingerprint is a hash of the stored password hash and the admin's session_version, checked on every
  request: changing the password or signing out (which adds one to session_version) ends every session
  of that admin, copied cookies included.
Before login, the login form's own CSRF nonce lives in a short cookie of its own (login CSRF is real: it
would sign a victim into the attacker's account).

The vote and unsubscribe endpoints need none of this: their signed URL token already is the proof.

    app = FastAPI(dependencies=[Depends(admin_gate)])    # all admin-only but PUBLIC_PATHS; POSTs need CSRF
    app.include_router(auth.router)                      # GET/POST /login, POST /logout
    app.post("/x", dependencies=[Depends(require_admin), Depends(csrf_protect)])  # or per route
    Jinja2Templates(..., context_processors=[csrf_context])  # then {{ csrf_token }} in each <form>
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from pathlib import Path
from urllib.parse import quote

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from podsight.digest.tokens import sign, verify
from podsight.store import admins
from podsight.store.models import AdminUser
from podsight.web.passwords import (
    AuthError,
    LoginThrottle,
    LoginThrottled,
    check_login,
    create_admin,
    hash_password,
    verify_password,
)

__all__ = [
    "AuthError", "LoginThrottle", "LoginThrottled", "admin_gate", "check_login", "create_admin", "csrf_context",
    "csrf_input", "csrf_protect", "csrf_token", "current_admin", "hash_password", "require_admin", "router",
    "verify_password",
]

SESSION_COOKIE = "podsight_session"
LOGIN_CSRF_COOKIE = "podsight_login_csrf"
CSRF_FIELD = "csrf_token"
SESSION_TTL_S = 12 * 3600
LOGIN_FORM_TTL_S = 3600

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
TEMPLATES.env.autoescape = True  # Starlette escapes only *.html names; ours end in .j2
router = APIRouter()


# --- the session cookie and CSRF tokens ------------------------------------------------------------


def _secret(request: Request) -> str:
    return request.app.state.settings.signing_key()


def _secure(request: Request) -> bool:
    """Cookies only over HTTPS when the public URL is HTTPS (plain http on localhost must still work)."""
    return request.app.state.settings.base_url.lower().startswith("https://")


def _fingerprint(password_hash: str, session_version: int) -> str:
    """What a session cookie must match of the admin's row: a new password or a sign-out changes it.
    (Version 0 hashes as before session versions existed, so cookies from then stay valid.)"""
    material = password_hash if not session_version else f"{password_hash}\0{session_version}"
    return hashlib.sha256(material.encode("utf-8")).hexdigest()[:16]


def _csrf_for(secret: str, nonce: str) -> str:
    return sign(secret, "csrf", nonce)


def _session(request: Request) -> tuple[str, str] | None:
    """(username, nonce) for a valid, unexpired session of an admin whose password has not changed and
    who has not signed out since: checked against the database on every request."""
    if hasattr(request.state, "admin_session"):
        return request.state.admin_session
    found = None
    subject = verify(_secret(request), "admin-session", request.cookies.get(SESSION_COOKIE, ""))
    if subject and subject.count(":") >= 2:
        nonce, fingerprint, username = subject.split(":", 2)
        with request.app.state.store.session() as session:
            stored = admins.session_fingerprint_inputs(session, username)
        if stored is not None and hmac.compare_digest(fingerprint, _fingerprint(*stored)):
            found = (username, nonce)
    request.state.admin_session = found  # one lookup per request, however many times it is asked
    return found


def current_admin(request: Request) -> str | None:
    """The signed-in admin's username, or None."""
    found = _session(request)
    return found[0] if found else None


def csrf_token(request: Request) -> str:
    """The CSRF token for this admin session ("" when nobody is signed in)."""
    found = _session(request)
    return _csrf_for(_secret(request), found[1]) if found else ""


def csrf_input(request: Request) -> Markup:
    """The hidden form field to put inside every state-changing <form> of an admin page."""
    return Markup('<input type="hidden" name="{}" value="{}">').format(CSRF_FIELD, csrf_token(request))


def _set_session(response: Response, request: Request, admin: AdminUser) -> None:
    subject = f"{secrets.token_urlsafe(16)}:{_fingerprint(admin.password_hash, admin.session_version or 0)}:{admin.username}"
    token = sign(_secret(request), "admin-session", subject, expires_at=time.time() + SESSION_TTL_S)
    response.set_cookie(SESSION_COOKIE, token, max_age=SESSION_TTL_S, path="/", httponly=True,
                        samesite="lax", secure=_secure(request))


# --- FastAPI dependencies --------------------------------------------------------------------------


def require_admin(request: Request) -> str:
    """Dependency for admin pages: the username, or a redirect to /login that comes back here after."""
    username = current_admin(request)
    if username is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise HTTPException(303, "sign in first", headers={"Location": f"/login?next={quote(target, safe='')}"})
    return username


async def csrf_protect(request: Request) -> None:
    """Dependency for every state-changing admin form: the hidden csrf_token must match the session."""
    given = (await request.form()).get(CSRF_FIELD)  # Starlette caches the parsed form for the endpoint
    expected = csrf_token(request)
    if not expected or not isinstance(given, str) or not hmac.compare_digest(given, expected):
        raise HTTPException(403, "This form has expired or was sent from another site: reload the page "
                                 "and submit it again.")


# Paths anyone may open: the login page, and the subscriber links whose signed token is the proof.
PUBLIC_PATHS = re.compile(r"^/(login|logout|static/.*|feedback/[^/]+|unsubscribe/[^/]+|feeds/[^/]+\.atom)$")


async def admin_gate(request: Request) -> None:
    """App-wide dependency, secure by default: every route not in PUBLIC_PATHS is admin-only, and every
    non-GET one also needs the CSRF token. `FastAPI(dependencies=[Depends(admin_gate)])`."""
    if PUBLIC_PATHS.match(request.url.path):
        return
    require_admin(request)
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        await csrf_protect(request)


def csrf_context(request: Request) -> dict:
    """Jinja2Templates context processor: `csrf_token` and `signed_in_admin` for every page's forms."""
    return {"csrf_token": csrf_token(request), "signed_in_admin": current_admin(request)}


# --- login and logout pages ------------------------------------------------------------------------


def _safe_next(target: str | None) -> str:
    """Only a path on this site: never `//evil.example` or `https://...` (an open redirect)."""
    target = (target or "").strip()
    if not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    return target


def _throttle(request: Request) -> LoginThrottle:
    state = request.app.state
    if getattr(state, "login_throttle", None) is None:
        state.login_throttle = LoginThrottle()
    return state.login_throttle


def _login_form(request: Request, next_url: str, *, error: str = "", username: str = "",
                status: int = 200) -> HTMLResponse:
    """The form, with a CSRF token tied to a short-lived cookie of its own (nobody is signed in yet)."""
    nonce = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(16)
    context = {"next": _safe_next(next_url), "error": error, "username": username,
               "csrf_field": CSRF_FIELD, "csrf_token": _csrf_for(_secret(request), nonce)}
    response = TEMPLATES.TemplateResponse(request, "login.html.j2", context, status_code=status)
    response.set_cookie(LOGIN_CSRF_COOKIE, nonce, max_age=LOGIN_FORM_TTL_S, path="/login", httponly=True,
                        samesite="lax", secure=_secure(request))
    return response


@router.get("/login", response_class=HTMLResponse)
async def login_page(request: Request, next_url: str = Query("/", alias="next")) -> Response:
    if current_admin(request):
        return RedirectResponse(_safe_next(next_url), status_code=303)
    return _login_form(request, next_url)


def client_address(request: Request) -> str:
    """The address login attempts count under: the TCP peer as the ASGI server reports it. X-Forwarded-For
    is not read here (anyone can send it); uvicorn itself puts the forwarded address in its place when the
    connection comes from a proxy it trusts (--forwarded-allow-ips / FORWARDED_ALLOW_IPS, 127.0.0.1 by
    default), so a proxy on the same host passes each client's own address through."""
    return request.client.host if request.client else ""


def _check_in_store(request: Request, username: str, password: str) -> AdminUser | None:
    with request.app.state.store.session() as session:
        return check_login(session, username, password, _throttle(request), address=client_address(request))


@router.post("/login", response_class=HTMLResponse)
async def login_submit(request: Request, username: str = Form(""), password: str = Form(""),
                       next_url: str = Form("/", alias="next"), token: str = Form("", alias=CSRF_FIELD)) -> Response:
    nonce = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not nonce or not hmac.compare_digest(token, _csrf_for(_secret(request), nonce)):
        return _login_form(request, next_url, username=username, status=403,
                           error="This form has expired or was sent from another site: please sign in again.")
    _throttle(request)  # created here, on the event loop, not concurrently in two pool threads
    try:  # scrypt takes about 50 ms: off the event loop
        admin = await run_in_threadpool(_check_in_store, request, username, password)
    except LoginThrottled as exc:
        return _login_form(request, next_url, username=username, status=429, error=f"{str(exc).capitalize()}.")
    if admin is None:
        return _login_form(request, next_url, username=username, status=401, error="Wrong username or password.")
    response = RedirectResponse(_safe_next(next_url), status_code=303)
    _set_session(response, request, admin)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


def _end_sessions(request: Request, username: str) -> None:
    with request.app.state.store.session() as session:
        admins.end_sessions(session, username)


@router.post("/logout")
async def logout(request: Request) -> Response:
    """Ends the session on the server, not just in this browser: the admin's session version goes up, so
    this cookie (and any copy of it, and the admin's sessions in other browsers) stops working."""
    username = current_admin(request)
    if username is not None:
        await csrf_protect(request)
        await run_in_threadpool(_end_sessions, request, username)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=_secure(request))
    return response
