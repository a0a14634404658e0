"""The web app's pages: today's digest, the archive, episodes, insights, shows, search.

Handlers are plain `def`s: FastAPI runs them in its thread pool, so a slow SQLite read never blocks the
event loop that also answers the vote and unsubscribe links. Each page reads what it shows in a fixed
number of queries (joins, preloads), whatever the size of the archive.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape
from sqlalchemy.orm import Session

from podsight.digest.render import KIND_LABELS, format_day, timestamp_url
from podsight.digest.urls import safe_url  # noqa: F401 (shared with the email and the Atom feed; importable from here)
from podsight.errors import PodsightError
from podsight.store.models import DigestRow, Subscriber
from podsight.store.pages import NotFound, digest_days, episode_page, episode_transcript, insight_page, kinds_per_week
from podsight.store import queries
from podsight.store.queries import add_feed, find_digest
from podsight.store.report import delivery_report, feed_health
from podsight.store.search import MARK_END, MARK_START, search_insights, search_segments
from podsight.timecode import clock
from podsight.web import charts
from podsight.web.auth import csrf_context
from podsight.store.digests import read_digest
from podsight.web.passages import mark_transcript

HERE = Path(__file__).parent
# csrf_context: every page may hold an admin form, so each gets the session's CSRF token
TEMPLATES = Jinja2Templates(directory=str(HERE / "templates"), context_processors=[csrf_context])
ARCHIVE_WEEKS = 12
MAX_PICKER_SUBSCRIBERS = 200


def highlight(snippet: str) -> Markup:
    """A search snippet as HTML: the text escaped, then the match markers turned into <mark>."""
    escaped = str(escape(snippet.replace(MARK_START, "\ue000").replace(MARK_END, "\ue001")))
    return Markup(escaped.replace("\ue000", "<mark>").replace("\ue001", "</mark>"))


def when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "never"


# Starlette escapes only *.html/*.htm/*.xml by name, not our *.html.j2: without this, a claim holding
# <script> from a feed or a model would run in the reader's browser.
TEMPLATES.env.autoescape = True
TEMPLATES.env.filters.update(clock=clock, day=format_day, safe_url=safe_url, highlight=highlight, when=when,
                             kind_label=lambda kind: KIND_LABELS.get(kind, str(kind or "insight").replace("_", " ")),
                             colour=charts.colour, kind_class=charts.kind_class)


def register(app: FastAPI) -> None:
    """Add the pages and the stylesheet to `app` (see podsight.web.app.create_app)."""
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    for path, handler in (("/", digest_today), ("/archive", archive), ("/archive/{day}", archive_day),
                          ("/episodes/{episode_id}", episode), ("/insights/{insight_id}", insight),
                          ("/shows", shows), ("/search", search)):
        app.get(path, response_class=HTMLResponse)(handler)
    app.post("/shows", response_class=HTMLResponse)(add_show)  # admin + CSRF: the app-wide gate checks both


def render(request: Request, name: str, status: int = 200, **context) -> HTMLResponse:
    return TEMPLATES.TemplateResponse(request, name, context, status_code=status)


def not_found(request: Request, message: str) -> HTMLResponse:
    return render(request, "not_found.html.j2", status=404, title="Not found", message=message)


def chosen_subscriber(session: Session, wanted: str | None) -> Subscriber | None:
    """`?subscriber=` (id or email), else whoever has the newest digest, else the first subscriber."""
    if wanted:
        wanted = wanted.strip()
        found = queries.subscriber_by_id(session, int(wanted)) if wanted.isdigit() else \
            queries.subscriber_by_email(session, wanted)
        if found is None:
            raise NotFound(f"no subscriber {wanted!r}")
        return found
    return queries.default_subscriber(session)


def subscriber_choices(session: Session) -> list[tuple[int, str]]:
    return queries.subscriber_choices(session, MAX_PICKER_SUBSCRIBERS)


def local_today(sub: Subscriber) -> date:
    try:
        return datetime.now(ZoneInfo(sub.timezone)).date()
    except (KeyError, ValueError):  # a timezone that was valid once and is gone from tzdata
        return datetime.now(ZoneInfo("UTC")).date()


def digest_context(session: Session, row: DigestRow) -> dict:
    """The `Digest` record (the email's content) plus each item's episode id: two queries in all."""
    sub = queries.subscriber_by_id(session, row.subscriber_id)
    digest, episode_of = read_digest(session, row, sub.email if sub else "")
    return {"digest": digest, "episode_of": episode_of}


def digest_today(request: Request, subscriber: str | None = None) -> HTMLResponse:
    """Today's digest in the subscriber's timezone, or their newest one when today's is not made yet."""
    with request.app.state.store.session() as session:
        try:
            sub = chosen_subscriber(session, subscriber)
        except NotFound as exc:
            return not_found(request, str(exc))
        if sub is None:
            return render(request, "digest.html.j2", title="Today", sub=None, digest=None, today=None, choices=[])
        today = local_today(sub).isoformat()
        row = find_digest(session, sub, today) or find_digest(session, sub, None)
        context = digest_context(session, row) if row else {"digest": None}
        choices = subscriber_choices(session)
    return render(request, "digest.html.j2", title="Today", sub=sub, today=today, choices=choices, **context)


def archive(request: Request, subscriber: str | None = None) -> HTMLResponse:
    """Every digest day of one subscriber, and a chart of the kinds of insight sent in the last weeks."""
    with request.app.state.store.session() as session:
        try:
            sub = chosen_subscriber(session, subscriber)
        except NotFound as exc:
            return not_found(request, str(exc))
        days = digest_days(session, sub.id) if sub else []
        weeks = kinds_per_week(session, sub.id, local_today(sub), ARCHIVE_WEEKS) if sub else []
        choices = subscriber_choices(session)
    return render(request, "archive.html.j2", title="Archive", sub=sub, days=days, choices=choices,
                  chart=charts.weekly_bars_svg(weeks) if weeks else None)


def archive_day(request: Request, day: str, subscriber: str | None = None) -> HTMLResponse:
    try:
        date.fromisoformat(day)
    except ValueError:
        return not_found(request, f"{day!r} is not a day: archive pages are /archive/YYYY-MM-DD")
    with request.app.state.store.session() as session:
        try:
            sub = chosen_subscriber(session, subscriber)
        except NotFound as exc:
            return not_found(request, str(exc))
        row = find_digest(session, sub, day) if sub else None
        if row is None:
            return not_found(request, f"no digest on {format_day(day)}" + (f" for {sub.email}" if sub else ""))
        context = digest_context(session, row)
    return render(request, "digest.html.j2", title=format_day(day), sub=sub, today=None, choices=[], **context)


def episode(request: Request, episode_id: int, t: float | None = None) -> HTMLResponse:
    """Player, timeline strip, and the transcript with every insight's passage marked."""
    with request.app.state.store.session() as session:
        try:
            page = episode_page(session, episode_id)
        except NotFound as exc:
            return not_found(request, str(exc))
        segments = episode_transcript(session, episode_id)
    href = f"/episodes/{episode_id}"
    marks = [charts.Mark(i.start_s, i.claim, f"{href}?t={int(i.start_s)}#player", i.kind) for i in page.insights]
    greyed = [(s.start_s, s.end_s, s.kind) for s in segments if s.kind]
    duration = page.duration_s or max((s.end_s for s in segments), default=0)
    return render(request, "episode.html.j2", title=page.title, page=page, start=max(int(t or 0), 0),
                  audio=safe_url(page.audio_url), lines=mark_transcript(segments, page.insights),
                  timeline=charts.timeline_svg(duration, marks, greyed))


def insight(request: Request, insight_id: int) -> HTMLResponse:
    """The quote, who said it and when, and what other shows said about the same thing."""
    with request.app.state.store.session() as session:
        try:
            page = insight_page(session, insight_id)
        except NotFound as exc:
            return not_found(request, str(exc))
        listen = timestamp_url(safe_url(page.audio_url) or safe_url(page.episode_link), page.insight.start_s)
    return render(request, "insight.html.j2", title=page.insight.claim[:80], page=page, listen=listen)


def shows(request: Request) -> HTMLResponse:
    """Every followed show with its health (last check, consecutive errors, last error, work waiting), and
    the deliveries not sent: waiting for a retry, given up, or of unknown fate after a crash."""
    with request.app.state.store.session() as session:
        feeds, deliveries = feed_health(session), delivery_report(session)
    return render(request, "shows.html.j2", title="Shows", feeds=feeds, deliveries=deliveries)


def add_show(request: Request, url: str = Form("")) -> HTMLResponse:
    """Follow a feed by URL (the next scan fetches it); a bad URL shows the page again with the reason."""
    try:
        with request.app.state.store.session() as session:
            add_feed(session, url)
    except PodsightError as exc:
        with request.app.state.store.session() as session:
            feeds, deliveries = feed_health(session), delivery_report(session)
        return render(request, "shows.html.j2", status=400, title="Shows", feeds=feeds, deliveries=deliveries,
                      error=str(exc), url=url)
    return RedirectResponse("/shows", status_code=303)


def search(request: Request, q: str = "", page: int = 1) -> HTMLResponse:
    """Insights and transcript passages matching every word of `q`, best first, 20 per page."""
    page = min(max(page, 1), 500)  # deep pages of a full-text search cost more than anyone reads
    with request.app.state.store.session() as session:
        try:
            insights = search_insights(session, q, page)
            segments = search_segments(session, q, page)
        except PodsightError as exc:
            return render(request, "search.html.j2", title="Search", q=q, insights=None, segments=None,
                          error=str(exc), status=503)
    return render(request, "search.html.j2", title="Search", q=q, insights=insights, segments=segments, error=None)
