"""`podsight demo`: the whole daily run on the project's own demo shows, offline."""

from __future__ import annotations

import time
from pathlib import Path

import typer

from podsight.demo.server import DemoServer
from podsight.pipeline import run as run_pipeline
from podsight.pipeline.deliver import subscriber_dir
from podsight.pipeline.digest_view import digest_record
from podsight.pipeline.progress import StageProgress
from podsight.store.queries import add_feed, add_subscriber, find_digest, get_subscriber

from .common import console, state
from .digest import print_digest
from .run import print_summary

DEMO_EMAIL = "demo@example.com"


def demo(
    ctx: typer.Context,
    port: int = typer.Option(8765, "--port", help="Port of the local demo feed server on 127.0.0.1."),
) -> None:
    """Serve the demo feeds on 127.0.0.1, run the whole pipeline with the embedded models, show the digest.
    Data goes to ./var/demo unless --home is given; a second run reuses everything already done."""
    st = state(ctx)
    if st.overrides.get("home") is None:
        st.overrides["home"] = Path("var/demo").resolve()
    # The demo's feeds, audio and transcripts are served on 127.0.0.1, which podsight refuses by default
    # (SSRF protection): this run, and only this run, opts in explicitly.
    st.overrides["allow_private_addresses"] = True
    started = time.monotonic()
    with DemoServer(port=port) as server:
        console.print(f"Demo feeds served at {server.base_url}")
        _follow(st, server.feed_urls)
        with StageProgress(console) as progress:
            summary = run_pipeline(st.store, st.settings, ignore_send_hour=True, progress=progress)
    print_summary(summary)
    _show(st)
    console.print(f"Done in {time.monotonic() - started:.0f} s. See `podsight --home {st.settings.home} status`.")


def _follow(st, feed_urls: list[str]) -> None:
    with st.store.session() as session:
        feeds = [add_feed(session, url)[0] for url in feed_urls]
        add_subscriber(session, DEMO_EMAIL, "UTC", 7, "AI, health, economics", feeds)


def _show(st) -> None:
    with st.store.session() as session:
        row = find_digest(session, get_subscriber(session, DEMO_EMAIL), None)
        digest = digest_record(session, st.settings, row) if row else None
    if digest is None:
        console.print("[yellow]No digest: no insights were found. `podsight status` says why.[/]")
        return
    print_digest(digest)
    html = subscriber_dir(st.settings, DEMO_EMAIL) / f"{digest.day}.html"
    console.print(f"\nHTML digest: [bold]{html}[/]")
