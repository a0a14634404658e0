"""A subscriber's settings page: shows followed, interests, timezone, send hour, channels.

`settings_save` is a plain handler that takes the form's fields and validates them all, so that login and
CSRF checks can wrap it (podsight.web's admin side) without knowing what it saves. A bad value gives the
form back, as typed, with every problem listed; a good one saves and redirects (POST-redirect-GET).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from urllib.parse import urlsplit
from zoneinfo import available_timezones

from fastapi import Depends, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.orm import Session

from podsight.errors import PodsightError
from podsight.store.models import Subscriber
from podsight.store.queries import (check_timezone, existing_feed_ids, feed_choices, set_subscriptions,
                                    subscribed_feed_ids, subscriber_by_id)
from podsight.web.auth import csrf_protect, require_admin
from podsight.web.pages import not_found, render

MAX_INTERESTS_CHARS = 2000
MAX_URL_CHARS = 2048


@dataclass
class SettingsForm:
    """The fields as typed (strings), so that a rejected form comes back exactly as it was sent."""

    timezone: str = "UTC"
    send_hour: str = "7"
    interests: str = ""
    follows_all: bool = True
    feed_ids: list[str] = field(default_factory=list)
    email_enabled: bool = True
    webhook_url: str = ""

    @classmethod
    def of(cls, session: Session, sub: Subscriber) -> SettingsForm:
        feeds = subscribed_feed_ids(session, sub.id)
        return cls(sub.timezone, str(sub.send_hour), sub.interests, sub.follows_all, [str(f) for f in feeds],
                   sub.email_enabled, sub.webhook_url or "")


@lru_cache(maxsize=1)
def timezone_names() -> tuple[str, ...]:
    """Every IANA name tzdata knows (read once: it walks the tzdata files)."""
    return tuple(sorted(available_timezones()))


def check_webhook_url(url: str) -> str | None:
    """A Slack or Discord incoming-webhook URL, or None when blank; raises PodsightError when unusable."""
    url = url.strip()
    if not url:
        return None
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises ValueError on a port out of range)
    except ValueError:
        parts = None
    if (parts is None or parts.scheme not in ("http", "https") or not parts.hostname or len(url) > MAX_URL_CHARS
            or any(char.isspace() for char in url)):
        raise PodsightError(f"webhook URL {url[:100]!r} is not an http(s) address; paste the incoming-webhook "
                            "URL that Slack or Discord shows, e.g. https://hooks.slack.com/services/...")
    return url


def validate(session: Session, form: SettingsForm) -> tuple[dict, list[str]]:
    """The values to save and every problem found (each message names its field)."""
    values, errors = {}, []
    checks = (("timezone", lambda: check_timezone(form.timezone.strip())),
              ("send_hour", lambda: _hour(form.send_hour)),
              ("interests", lambda: _interests(form.interests)),
              ("webhook_url", lambda: check_webhook_url(form.webhook_url)),
              ("feed_ids", lambda: _feeds(session, form)))
    for name, check in checks:
        try:
            values[name] = check()
        except PodsightError as exc:
            errors.append(str(exc))
    values.update(follows_all=form.follows_all, email_enabled=form.email_enabled)
    return values, errors


def _hour(text: str) -> int:
    try:
        hour = int(text.strip())
    except ValueError:
        raise PodsightError(f"send hour {text[:20]!r} is not a number: give an hour from 0 to 23") from None
    if not 0 <= hour <= 23:
        raise PodsightError(f"send hour must be 0-23, not {hour}")
    return hour


def _interests(text: str) -> str:
    if len(text) > MAX_INTERESTS_CHARS:
        raise PodsightError(f"interests are {len(text)} characters; keep them under {MAX_INTERESTS_CHARS} "
                            "(a few phrases separated by commas)")
    return text.strip()


def _feeds(session: Session, form: SettingsForm) -> list[int]:
    chosen = {f.strip() for f in form.feed_ids}
    wanted = {int(f) for f in chosen if f.isdigit()}
    known = existing_feed_ids(session, wanted)
    if len(known) != len(chosen):
        raise PodsightError("some of the chosen shows do not exist any more: reload the page and choose again")
    if not form.follows_all and not known:
        raise PodsightError("choose at least one show, or tick \u201call shows\u201d")
    return sorted(known)


def save(session: Session, sub: Subscriber, values: dict) -> None:
    sub.timezone, sub.send_hour, sub.interests = values["timezone"], values["send_hour"], values["interests"]
    sub.follows_all, sub.email_enabled, sub.webhook_url = values["follows_all"], values["email_enabled"], values["webhook_url"]
    set_subscriptions(session, sub.id, values["feed_ids"])


def _form_page(request: Request, session: Session, sub: Subscriber, form: SettingsForm, errors: list[str],
               saved: bool = False) -> HTMLResponse:
    feeds = feed_choices(session)
    return render(request, "settings.html.j2", status=400 if errors else 200, title="Settings", sub=sub, form=form,
                  errors=errors, saved=saved, feeds=feeds, zones=timezone_names())


def settings_page(request: Request, subscriber_id: int, saved: int = 0) -> HTMLResponse:
    with request.app.state.store.session() as session:
        sub = subscriber_by_id(session, subscriber_id)
        if sub is None:
            return not_found(request, f"no subscriber {subscriber_id}")
        return _form_page(request, session, sub, SettingsForm.of(session, sub), [], saved=bool(saved))


def settings_save(request: Request, subscriber_id: int, timezone: str = Form(""), send_hour: str = Form(""),
                  interests: str = Form(""), follows_all: str | None = Form(None), feeds: list[str] = Form([]),
                  email_enabled: str | None = Form(None), webhook_url: str = Form("")) -> HTMLResponse:
    """Validate every field; save and redirect, or give the form back with the problems listed."""
    form = SettingsForm(timezone, send_hour, interests, follows_all is not None, feeds, email_enabled is not None,
                        webhook_url)
    with request.app.state.store.session() as session:
        sub = subscriber_by_id(session, subscriber_id)
        if sub is None:
            return not_found(request, f"no subscriber {subscriber_id}")
        values, errors = validate(session, form)
        if errors:
            return _form_page(request, session, sub, form, errors)
        save(session, sub, values)
    return RedirectResponse(f"/subscribers/{subscriber_id}/settings?saved=1", status_code=303)


def register(app: FastAPI) -> None:
    admin = [Depends(require_admin)]  # podsight.web.auth: sign-in, then the form's CSRF token
    app.get("/subscribers/{subscriber_id}/settings", response_class=HTMLResponse, dependencies=admin)(settings_page)
    app.post("/subscribers/{subscriber_id}/settings", response_class=HTMLResponse,
             dependencies=[*admin, Depends(csrf_protect)])(settings_save)
