"""`podsight feeds ...`: follow podcasts, import and export OPML."""

from __future__ import annotations

import asyncio
from pathlib import Path

import typer
from rich.table import Table

from podsight.errors import PodsightError
from podsight.feeds.opml import OpmlFeed, build_opml, parse_opml
from podsight.feeds.poll import check_feed_url
from podsight.http import fetch, make_client
from podsight.store.queries import add_feed, all_feeds, get_feed, remove_feed
from podsight.store.report import feed_health

from .common import console, print_json, state

app = typer.Typer(help="Follow podcasts: add feeds, import and export OPML, list them.", no_args_is_help=True)


@app.command("add")
def add(ctx: typer.Context, urls: list[str] = typer.Argument(..., help="RSS or Atom feed URL(s).")) -> None:
    """Follow one or more feeds. They are fetched on the next `podsight run`."""
    checked = [check_feed_url(url) for url in urls]  # a malformed URL adds nothing, not even the good ones
    with state(ctx).store.session() as session:
        for url in checked:
            feed, created = add_feed(session, url)
            console.print(f"{'Added' if created else 'Already following'} [bold]{feed.url}[/] (id {feed.id})")


@app.command("remove")
def remove(ctx: typer.Context, feed: str = typer.Argument(..., help="Feed URL or id.")) -> None:
    """Stop following a feed and forget its episodes and insights."""
    with state(ctx).store.session() as session:
        row = get_feed(session, feed)
        remove_feed(session, row)
        console.print(f"Removed {row.url}")


@app.command("import-opml")
def import_opml(ctx: typer.Context, source: str = typer.Argument(..., help="OPML file path or http(s) URL.")) -> None:
    """Follow every feed listed in an OPML file (as exported by most podcast apps)."""
    st = state(ctx)
    outlines = parse_opml(_read_source(source, st.settings))
    added = 0
    with st.store.session() as session:
        for outline in outlines:
            feed, created = add_feed(session, outline.url, outline.title)
            added += created
    console.print(f"{len(outlines)} feeds in {source}: {added} added, {len(outlines) - added} already followed")


def _read_source(source: str, settings) -> bytes:
    if source.startswith(("http://", "https://")):
        async def get() -> bytes:
            async with make_client(settings.user_agent, settings.fetch_timeout_s, 1,
                                   allow_private=settings.allow_private_addresses) as client:
                return (await fetch(client, source, max_bytes=settings.max_feed_bytes,
                                    max_redirects=settings.max_redirects, deadline_s=settings.fetch_deadline_s)).content
        return asyncio.run(get())
    path = Path(source)
    if not path.is_file():
        raise PodsightError(f"{source} is neither a file nor an http(s) URL")
    return path.read_bytes()


@app.command("export-opml")
def export_opml(ctx: typer.Context, output: Path = typer.Option(None, "--output", "-o", help="File; default stdout.")) -> None:
    """Write the followed feeds as OPML, for another podcast app or a backup."""
    with state(ctx).store.session() as session:
        feeds = [OpmlFeed(url=f.url, title=f.title or f.url) for f in all_feeds(session)]
    opml = build_opml(feeds)
    if output:
        output.write_text(opml, encoding="utf-8")
        console.print(f"Wrote {len(feeds)} feeds to {output}")
    else:
        typer.echo(opml)


@app.command("list")
def list_feeds(ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """The followed feeds with their health."""
    with state(ctx).store.session() as session:
        rows = feed_health(session)
    if as_json:
        return print_json(rows)
    table = Table("id", "title", "url", "status", "errors", "episodes")
    for r in rows:
        table.add_row(str(r["id"]), r["title"] or "", r["url"], r["status"], str(r["consecutive_errors"]), str(sum(r["episodes"].values())))
    console.print(table)

