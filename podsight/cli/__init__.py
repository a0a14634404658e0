"""The `podsight` command: noun groups (feeds, subscribers, digest, config) and verbs (run, status, demo)."""

from __future__ import annotations

from pathlib import Path

import typer

from podsight.errors import PodsightError

from . import admin, demo, digest, eval, feedback, feeds, run, serve, show, subscribers, worker
from .common import AppState, err_console

app = typer.Typer(
    help="podsight: scan podcasts, extract verified insights, send the top 5 daily.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(feeds.app, name="feeds")
app.add_typer(subscribers.app, name="subscribers")
app.add_typer(digest.app, name="digest")
app.add_typer(run.config_app, name="config")
app.add_typer(admin.app, name="admin")
app.command("run")(run.run)
app.command("worker")(worker.worker)
app.command("status")(run.status)
app.command("demo")(demo.demo)
app.command("feedback")(feedback.feedback)
app.command("serve")(serve.serve)
app.command("eval")(eval.eval_command)
app.command("episode")(show.episode)
app.command("insight")(show.insight)


@app.callback()
def main(
    ctx: typer.Context,
    config: Path = typer.Option(None, "--config", "-c", help="podsight.toml to read (default ./podsight.toml)."),
    home: Path = typer.Option(None, "--home", help="Data folder (database, cache, digests)."),
) -> None:
    ctx.obj = AppState(config_file=config, overrides={"home": home})


def entry() -> None:
    """Console entry point: user-facing errors print one clear line, not a traceback."""
    try:
        app()  # click handles usage errors and --help itself
    except PodsightError as exc:
        err_console.print(f"[red]error:[/] {exc}", highlight=False)
        raise SystemExit(1) from None
