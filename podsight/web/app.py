"""The web app: `create_app` puts together the admin's pages (pages.py, subscriber_settings.py, behind the
login of auth.py) and the endpoints behind digest links, defined here. Each link carries a signed token
(podsight.digest.tokens) and exposes nothing else: no login, no ids to guess.

A GET never changes anything: mail scanners (Outlook Safe Links, antivirus gateways) open every link in
a message, so a GET shows a page with one button, and only the POST records the vote or unsubscribes.
Mail clients that support RFC 8058 POST `List-Unsubscribe=One-Click` to the unsubscribe URL directly.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from podsight.config import Settings
from podsight.pipeline.digest_view import read_unsubscribe_token, read_vote_token
from podsight.store.db import Store
from podsight.store import queries
from podsight.store.queries import record_vote, sent_insight_ids
from podsight.web import auth, feeds, pages, subscriber_settings
from podsight.web.headers import SecurityHeaders

# Starlette escapes only templates named *.html/*.xml, and ours end in .j2: claims come from feeds and a
# model, so escaping is switched on explicitly (a <script> in a claim must stay text).
TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
TEMPLATES.env.autoescape = True
INVALID = "This link is not valid: it may have been cut short by your mail program, or changed."


def create_app(settings: Settings, store: Store | None = None) -> FastAPI:
    """The app for one installation; `store` defaults to the configured database."""
    # Every page needs the admin's login, except the ones subscriber links point at (their signed token
    # is the proof) and the login page itself: see auth.PUBLIC_PATHS.
    app = FastAPI(title="podsight", docs_url=None, redoc_url=None, openapi_url=None,
                  dependencies=[Depends(auth.admin_gate)])
    app.state.settings, app.state.store = settings, store or Store(settings.db_url)
    app.add_middleware(SecurityHeaders)  # CSP, X-Frame-Options, ... on every answer: podsight.web.headers
    app.get("/feedback/{token}", response_class=HTMLResponse)(feedback_page)
    app.post("/feedback/{token}", response_class=HTMLResponse)(feedback_record)
    app.get("/unsubscribe/{token}", response_class=HTMLResponse)(unsubscribe_page)
    app.post("/unsubscribe/{token}", response_class=HTMLResponse)(unsubscribe_record)
    app.include_router(auth.router)  # /login, /logout
    app.include_router(feeds.router)  # GET /feeds/{token}.atom, the private Atom feed
    pages.register(app)  # GET pages: digest, archive, episodes, insights, shows, search
    subscriber_settings.register(app)
    return app


def _page(request: Request, title: str, message: str, *, button: str | None = None, status: int = 200) -> HTMLResponse:
    return TEMPLATES.TemplateResponse(request, "message.html.j2",
                                      {"title": title, "message": message, "button": button}, status_code=status)


def _vote(request: Request, token: str) -> tuple[int, int, int, str] | None:
    """(subscriber, insight, vote, claim) when the token is good and the insight was sent to them."""
    parsed = read_vote_token(request.app.state.settings, token)
    if parsed is None:
        return None
    subscriber_id, insight_id, vote = parsed
    with request.app.state.store.session() as session:
        if insight_id not in sent_insight_ids(session, subscriber_id):
            return None
        claim = queries.claim_of(session, insight_id)
    return subscriber_id, insight_id, vote, claim or ""


async def feedback_page(request: Request, token: str) -> HTMLResponse:
    vote = _vote(request, token)
    if vote is None:
        return _page(request, "Link not valid", INVALID, status=404)
    label = "worth it" if vote[2] > 0 else "not worth it"
    return _page(request, "Your vote", f"Mark this insight as {label}? \u201c{vote[3]}\u201d",
                 button=f"Yes, {label}")


async def feedback_record(request: Request, token: str) -> HTMLResponse:
    vote = _vote(request, token)
    if vote is None:
        return _page(request, "Link not valid", INVALID, status=404)
    subscriber_id, insight_id, value, _ = vote
    with request.app.state.store.session() as session:
        record_vote(session, subscriber_id, insight_id, value)
    return _page(request, "Thank you", "Your vote is recorded: similar insights will rank "
                 + ("higher." if value > 0 else "lower."))


def _subscriber_email(request: Request, token: str) -> str | None:
    return read_unsubscribe_token(request.app.state.settings, token)


async def unsubscribe_page(request: Request, token: str) -> HTMLResponse:
    email = _subscriber_email(request, token)
    if email is None:
        return _page(request, "Link not valid", INVALID, status=404)
    return _page(request, "Unsubscribe", f"Stop sending podsight digests to {email}?", button="Unsubscribe")


async def unsubscribe_record(request: Request, token: str) -> HTMLResponse:
    """The button's POST and the RFC 8058 one-click POST alike: idempotent, answers 200 once done."""
    email = _subscriber_email(request, token)
    if email is None:
        return _page(request, "Link not valid", INVALID, status=404)
    with request.app.state.store.session() as session:
        subscriber = queries.subscriber_by_email(session, email)
        if subscriber is not None:
            subscriber.status = "unsubscribed"
    return _page(request, "Unsubscribed", f"{email} will get no more digests.")
