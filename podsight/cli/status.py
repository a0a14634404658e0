"""`podsight status` output: per-feed health, work waiting per stage, errors, deliveries."""

from __future__ import annotations

from rich.markup import escape
from rich.table import Table

from .common import console, print_json


def show(data: dict, as_json: bool) -> None:
    if as_json:
        return print_json(data)
    table = Table("feed", "status", "errors", "last error", "episodes by state", title="Feeds")
    for f in data["feeds"]:
        states = ", ".join(f"{k} {v}" for k, v in sorted(f["episodes"].items()))
        table.add_row(f["title"] or f["url"], f["status"], str(f["consecutive_errors"]), f["last_error"] or "", states)
    console.print(table)
    for f in data["feeds"]:
        if f.get("held_back"):
            show_held_back(f)
    console.print("Episodes: " + ", ".join(f"{k} {v}" for k, v in data["episodes"].items()))
    for lease in data["leased"]:  # being worked on now, or by a worker that stopped (until the lease runs out)
        console.print(f"[cyan]episode {lease['episode_id']}[/] {escape(lease['title'])}: {lease['state']}, claimed by "
                      f"{lease['owner']} until {lease['until'].isoformat(timespec='seconds')} "
                      f"(try {lease['attempts']})", highlight=False)
    for p in data["episode_errors"]:
        console.print(f"[yellow]episode {p['episode_id']}[/] {p['title']} ({p['state']}, {p['attempts']} tries): {p['error']}")
    for n in data["extraction_notes"]:
        console.print(f"[dim]episode {n['episode_id']} {n['title']}: {n['insights']} insights kept, "
                      f"{len(n['dropped'] or [])} dropped, {len(n['chunks_skipped'] or [])} chunks skipped[/]")
        for reason in (n["chunks_skipped"] or []) + (n["dropped"] or [])[:5]:
            console.print(f"[dim]    - {reason}[/]")
    show_deliveries(data["deliveries"])
    console.print(f"{data['subscribers']} subscriber(s), {data['digests']} digest(s)")


def show_held_back(feed: dict) -> None:
    """A feed whose last capped scan found more new episodes than `max_new_episodes_per_scan`."""
    held = feed["held_back"]
    more = f" ({held['total']} in {held['scans']} scans)" if held["scans"] > 1 else ""
    console.print(f"[yellow]feed {feed['id']}[/] {escape(feed['title'] or feed['url'])}: hit the cap of new episodes "
                  f"per scan on {held['at'].isoformat(timespec='minutes')}: {held['episodes']} held back as back "
                  f"catalogue{more}; raise max_new_episodes_per_scan if that is real, else the feed may be "
                  "rotating its GUIDs", highlight=False)


def show_deliveries(report: dict) -> None:
    """Counts per status, then what waits (with its next try) and what went wrong (with the reason)."""
    counts = report["counts"]
    console.print("Deliveries: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    for d in report["pending"]:
        when = d["next_attempt_at"].isoformat(timespec="minutes") if d["next_attempt_at"] else "next run"
        retry = f", last error: {escape(d['error'])}" if d["error"] else ""
        console.print(f"[yellow]delivery {d['id']}[/] {d['channel']} to {d['subscriber']} for {d['day']}: "
                      f"pending after {d['attempts']} tries, next try {when}{retry}", highlight=False)
    for state, colour in (("sending", "yellow"), ("failed", "red"), ("unknown", "red")):
        for d in report[state]:
            console.print(f"[{colour}]delivery {d['id']}[/] {d['channel']} to {d['subscriber']} for {d['day']}: "
                          f"{state} after {d['attempts']} tries ({escape(d['error'] or '')})", highlight=False)
