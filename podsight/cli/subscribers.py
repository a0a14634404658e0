"""`podsight subscribers ...`: who gets a digest, in which timezone, for which shows."""

from __future__ import annotations

import typer
from rich.table import Table

from podsight.store.queries import add_subscriber, all_subscribers, followed_feed_ids, get_feed, get_subscriber

from .common import console, print_json, state

app = typer.Typer(help="Manage subscribers: email, timezone, send hour, shows, interests.", no_args_is_help=True)


@app.command("add")
def add(
    ctx: typer.Context,
    email: str = typer.Argument(..., help="Where the digest goes."),
    tz: str = typer.Option("UTC", "--tz", help="IANA timezone, e.g. Europe/Paris."),
    send_hour: int = typer.Option(7, "--send-hour", help="Local hour (0-23) from which the day's digest is sent."),
    interests: str = typer.Option("", "--interests", help="Free text: what this reader cares about."),
    feeds: list[str] = typer.Option(None, "--feed", help="Feed URL or id to follow (repeat); default: all feeds."),
) -> None:
    """Add a subscriber (or update one that exists)."""
    with state(ctx).store.session() as session:
        feed_rows = [get_feed(session, f) for f in feeds or []]
        sub, created = add_subscriber(session, email, tz, send_hour, interests, feed_rows)
        scope = "all feeds" if sub.follows_all else f"{len(feed_rows)} feed(s)"
        console.print(f"{'Added' if created else 'Updated'} {sub.email} ({sub.timezone}, {sub.send_hour}:00, {scope})")


@app.command("remove")
def remove(ctx: typer.Context, email: str = typer.Argument(...)) -> None:
    """Unsubscribe: no more digests. Their history stays, so re-adding them never repeats old insights."""
    with state(ctx).store.session() as session:
        sub = get_subscriber(session, email)
        sub.status = "unsubscribed"
        console.print(f"{sub.email} will get no more digests")


@app.command("list")
def list_subscribers(ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """Every subscriber and what they follow."""
    with state(ctx).store.session() as session:
        rows = [
            {"id": s.id, "email": s.email, "timezone": s.timezone, "send_hour": s.send_hour, "status": s.status,
             "interests": s.interests, "follows_all": s.follows_all, "feeds": followed_feed_ids(session, s)}
            for s in all_subscribers(session)
        ]
    if as_json:
        return print_json(rows)
    table = Table("id", "email", "timezone", "send hour", "status", "feeds")
    for r in rows:
        table.add_row(str(r["id"]), r["email"], r["timezone"], str(r["send_hour"]), r["status"],
                      "all" if r["follows_all"] else str(len(r["feeds"])))
    console.print(table)
