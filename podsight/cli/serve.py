"""`podsight serve`: the web app and, in the same process, the scheduler that runs the daily pipeline."""

from __future__ import annotations

import logging

import typer

from .common import console, state


def serve(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (0.0.0.0: every interface)."),
    port: int = typer.Option(8000, "--port", help="Port to listen on."),
    scheduler: bool = typer.Option(True, "--scheduler/--no-scheduler",
                                   help="Run the daily pipeline in the background (off: leave it to cron)."),
    tick_s: float = typer.Option(60.0, "--tick", min=1.0, help="Seconds between two scheduler checks."),
) -> None:
    """Serve the web app (pages behind the admin login, digest links, private Atom feeds) and send each
    subscriber's digest at their local send hour. Put it behind your HTTPS proxy at `base_url`."""
    import uvicorn

    from podsight.scheduler import Scheduler
    from podsight.web import create_app

    st = state(ctx)
    st.settings.signing_key()  # made or checked now: a key file others can read stops serve here, not at the first link
    app = create_app(st.settings, st.store)
    background = None
    if scheduler:
        logging.getLogger("podsight").setLevel(logging.INFO)  # the scheduler's lines go to uvicorn's console
        logging.basicConfig(format="%(asctime)s %(name)s %(levelname)s %(message)s")
        app.state.scheduler = Scheduler(st.store, st.settings)
        background = app.state.scheduler.start(interval_s=tick_s)
    console.print(f"podsight serving http://{host}:{port} (links in digests point at {st.settings.base_url}); "
                  f"scheduler {'on, every %gs' % tick_s if scheduler else 'off'}")
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning")
    finally:  # uvicorn returns on Ctrl-C / SIGTERM: let a stage in progress finish its item, then stop
        if background is not None:
            thread, stop_event = background
            stop_event.set()
            thread.join(timeout=30)
