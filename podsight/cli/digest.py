"""`podsight digest ...`: show a stored digest, resend one whose delivery is of unknown fate."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timezone

import typer
from rich.markup import escape
from rich.panel import Panel

from podsight.digest.render import format_timestamp
from podsight.errors import PodsightError
from podsight.pipeline import run_lock
from podsight.pipeline.deliver import resend as resend_delivery
from podsight.pipeline.deliver import subscriber_dir, unknown_deliveries
from podsight.pipeline.digest_view import digest_record
from podsight.records import Digest
from podsight.store.queries import find_digest, get_subscriber

from .common import console, print_json, state

app = typer.Typer(help="Show digests; resend those of unknown fate.", no_args_is_help=True)


@app.command("show")
def show(
    ctx: typer.Context,
    date: str = typer.Option(None, "--date", help="Day (YYYY-MM-DD) in the subscriber's timezone; default newest."),
    subscriber: str = typer.Option(None, "--subscriber", "-s", help="Email; needed when there are several."),
    why: bool = typer.Option(False, "--why", help="Say why each item was picked."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Print a subscriber's digest in the terminal."""
    st = state(ctx)
    with st.store.session() as session:
        sub = get_subscriber(session, subscriber)
        row = find_digest(session, sub, date)
        if row is None:
            raise PodsightError(f"no digest for {sub.email}{' on ' + date if date else ''} yet: run `podsight run`")
        digest = digest_record(session, st.settings, row)
    if as_json:
        return print_json(asdict(digest))
    print_digest(digest, why=why)
    html = subscriber_dir(st.settings, digest.subscriber_email) / f"{digest.day}.html"
    if html.exists():
        console.print(f"HTML: [link=file://{html}]{html}[/]")


@app.command("resend")
def resend(
    ctx: typer.Context,
    subscriber: str = typer.Option(None, "--subscriber", "-s", help="Only this subscriber's (email)."),
    date: str = typer.Option(None, "--date", help="Only this day's (YYYY-MM-DD)."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask: resend, accepting that some may arrive twice."),
) -> None:
    """Send again the digests whose delivery is `unknown`: the run stopped while sending them, so they may
    have arrived already, and a resent one may reach the subscriber twice. Asks first unless --yes."""
    st = state(ctx)
    with run_lock(st.settings):  # a run sending beside us could send the same row
        todo = unknown_deliveries(st.store, subscriber=subscriber, day=date)
        if not todo:
            console.print("No delivery of unknown fate: nothing to resend.")
            return
        for item in todo:
            console.print(f"  {item.day}  {escape(item.email)} by {item.channel} (delivery {item.id})")
        console.print(f"[yellow]The run stopped while {'this digest was' if len(todo) == 1 else 'these digests were'} "
                      "being sent: it may have arrived, so resending means the subscriber may get the digest twice.[/]")
        if not yes and not typer.confirm(f"Resend {len(todo)} digest{'s' if len(todo) != 1 else ''}?", default=False):
            console.print("Nothing resent.")
            raise typer.Exit(1)
        now, failed = datetime.now(timezone.utc), 0
        for item in todo:
            if resend_delivery(st.store, st.settings, item.id, now):
                console.print(f"[green]resent[/] {item.day} to {escape(item.email)} by {item.channel}")
            else:
                failed += 1
                console.print(f"[red]not sent[/] {item.day} to {escape(item.email)}: it will be retried by the next run "
                              "(`podsight status` shows the error)")
    if failed:
        raise typer.Exit(1)


def print_digest(digest: Digest, why: bool = False) -> None:
    console.rule(f"[bold]podsight digest for {escape(digest.subscriber_email)}, {digest.day}")
    for n, item in enumerate(digest.items, 1):
        matters = f"[italic]Why it matters:[/] {escape(item.why)}\n\n" if item.why else ""
        body = (
            f"[bold]{escape(item.claim)}[/]\n\n{matters}"
            f"“{escape(item.quote)}”\n  — {escape(item.speaker or 'unknown speaker')}, "
            f"{escape(item.show_title)}: {escape(item.episode_title)} at {format_timestamp(item.start_s)}"
        )
        if item.episode_url:
            body += f"\n  [link={item.episode_url}]{escape(item.episode_url)}[/]"
        if item.also_said:
            body += "\n[green]Also said on:[/] " + escape("; ".join(f"{s.show_title}: {s.episode_title}" for s in item.also_said))
        for source in item.disputed_by:
            body += (f"\n[red]Disputed[/] on {escape(source.show_title)}: “{escape(source.quote)}”"
                     + (f" [dim]({escape(source.reason)})[/]" if source.reason else ""))
        if why:
            body += "\n[dim]picked: " + escape("; ".join(item.reasons)) + "[/]"
        title = f"{n}. {item.kind.replace('_', ' ')} [dim](insight {item.insight_id})[/]"
        console.print(Panel(body, title=title, title_align="left"))
