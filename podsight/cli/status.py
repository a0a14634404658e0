"""`podsight status`: per-feed health, work waiting per stage, errors, deliveries."""

from __future__ import annotations

from sqlalchemy import func, select

from podsight.store.models import Delivery, DigestRow, Episode, Feed, Subscriber
from podsight.store.queries import EPISODE_STATES, episode_counts
from rich.table import Table

from .common import console, print_json


def gather(session) -> dict:
    counts = episode_counts(session)
    feeds = [
        {"id": f.id, "title": f.title, "url": f.url, "status": f.status, "consecutive_errors": f.consecutive_errors,
         "last_error": f.last_error, "last_checked_at": f.last_checked_at, "next_check_at": f.next_check_at,
         "episodes": counts.get(f.id, {})}
        for f in session.scalars(select(Feed).order_by(Feed.id))
    ]
    totals = dict(session.execute(select(Episode.state, func.count()).group_by(Episode.state)).all())
    problems = [
        {"episode_id": e.id, "title": e.title, "state": e.state, "attempts": e.attempts, "error": e.last_error}
        for e in session.scalars(select(Episode).where(Episode.last_error.is_not(None)).order_by(Episode.id))
    ]
    dropped = session.scalars(select(Episode).where(Episode.extraction.is_not(None)))
    notes = [
        {"episode_id": e.id, "title": e.title, **{k: e.extraction.get(k) for k in ("insights", "dropped", "chunks_skipped")}}
        for e in dropped if e.extraction.get("dropped") or e.extraction.get("chunks_skipped")
    ]
    deliveries = [
        {"id": d.id, "subscriber": d.digest.subscriber.email, "day": d.digest.day, "channel": d.channel,
         "status": d.status, "attempts": d.attempts, "error": d.last_error}
        for d in session.scalars(select(Delivery).where(Delivery.status != "sent").order_by(Delivery.id))
    ]
    return {
        "feeds": feeds, "episodes": {s: totals.get(s, 0) for s in EPISODE_STATES}, "episode_errors": problems,
        "extraction_notes": notes, "deliveries_not_sent": deliveries,
        "subscribers": session.scalar(select(func.count()).select_from(Subscriber)),
        "digests": session.scalar(select(func.count()).select_from(DigestRow)),
    }


def show(data: dict, as_json: bool) -> None:
    if as_json:
        return print_json(data)
    table = Table("feed", "status", "errors", "last error", "episodes by state", title="Feeds")
    for f in data["feeds"]:
        states = ", ".join(f"{k} {v}" for k, v in sorted(f["episodes"].items()))
        table.add_row(f["title"] or f["url"], f["status"], str(f["consecutive_errors"]), f["last_error"] or "", states)
    console.print(table)
    console.print("Episodes: " + ", ".join(f"{k} {v}" for k, v in data["episodes"].items()))
    for p in data["episode_errors"]:
        console.print(f"[yellow]episode {p['episode_id']}[/] {p['title']} ({p['state']}, {p['attempts']} tries): {p['error']}")
    for n in data["extraction_notes"]:
        console.print(f"[dim]episode {n['episode_id']} {n['title']}: {n['insights']} insights kept, "
                      f"{len(n['dropped'] or [])} dropped, {len(n['chunks_skipped'] or [])} chunks skipped[/]")
        for reason in (n["chunks_skipped"] or []) + (n["dropped"] or [])[:5]:
            console.print(f"[dim]    - {reason}[/]")
    for d in data["deliveries_not_sent"]:
        console.print(f"[red]delivery {d['id']}[/] {d['channel']} to {d['subscriber']} for {d['day']}: {d['status']} ({d['error']})")
    console.print(f"{data['subscribers']} subscriber(s), {data['digests']} digest(s)")
