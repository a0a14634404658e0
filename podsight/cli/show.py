"""`podsight episode ID` and `podsight insight ID`: one episode's insights, one insight's links."""

from __future__ import annotations

from dataclasses import asdict

import typer
from rich.markup import escape

from podsight.store.pages import InsightLine, episode_page, insight_page
from podsight.timecode import clock

from .common import console, print_json, state


def _line(line: InsightLine, show_source: bool = False) -> str:
    source = f" [dim]{escape(line.show)}: {escape(line.episode)}[/]" if show_source else ""
    speaker = escape(line.speaker or "unknown speaker")
    return (f"[bold]{clock(line.start_s)}[/] [dim]#{line.id} {line.kind}[/] {escape(line.claim)}{source}\n"
            f"      “{escape(line.quote)}” — {speaker}")


def episode(ctx: typer.Context, episode_id: int = typer.Argument(..., help="Episode id."),
            as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """An episode and all its verified insights, in time order."""
    with state(ctx).store.session() as session:
        page = episode_page(session, episode_id)
    if as_json:
        return print_json(asdict(page))
    console.print(f"[bold]{escape(page.show)}: {escape(page.title)}[/] ({page.state}, transcript: "
                  f"{escape(page.transcript_source or 'none yet')})")
    for line in page.insights:
        console.print(_line(line))


def insight(ctx: typer.Context, insight_id: int = typer.Argument(..., help="Insight id (digests show it)."),
            as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """An insight and what other episodes said about the same thing."""
    with state(ctx).store.session() as session:
        page = insight_page(session, insight_id)
    if as_json:
        return print_json(asdict(page))
    console.print(_line(page.insight, show_source=True))
    for kind, linked in page.links.items():
        if linked:
            console.print(f"\n[bold]{kind}[/]")
        for item in linked:
            reason = f" [dim]({escape(item.reason)})[/]" if item.reason else ""
            console.print(_line(item.insight, show_source=True) + reason)
