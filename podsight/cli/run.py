"""`podsight run`, `podsight status`, `podsight config show`."""

from __future__ import annotations

import typer

from podsight.pipeline import STAGES
from podsight.pipeline.engines import ENGINES, Engine
from podsight.pipeline import run as run_pipeline
from podsight.pipeline.progress import StageProgress
from podsight.store.report import status_report

from . import status as status_view
from .common import console, err_console, print_json, state

config_app = typer.Typer(help="Show the settings in force.", no_args_is_help=True)


def run(
    ctx: typer.Context,
    stage: list[str] = typer.Option(None, "--stage", help=f"Run only these stages ({', '.join(STAGES)})."),
    now: bool = typer.Option(False, "--now", help="Build today's digests even before each subscriber's send hour."),
    as_json: bool = typer.Option(False, "--json", help="Print the per-stage counts as JSON."),
    engine: str = typer.Option("local", "--engine", help=f"Where the episode stages run: {', '.join(ENGINES)}."),
    address: str = typer.Option(None, "--address", help="--engine ray: the cluster's address (default: a local Ray)."),
    workers: int = typer.Option(2, "--workers", min=1, help="--engine ray: worker actors per episode stage."),
) -> None:
    """Scan feeds, fetch transcripts, extract insights, rank, deliver. Safe to run from cron:
    every stage skips work already done and a rerun never sends a digest twice."""
    st = state(ctx)
    if engine not in ENGINES:
        raise typer.BadParameter(f"unknown engine {engine!r}; one of {', '.join(ENGINES)}", param_hint="--engine")
    # Progress goes to stderr with --json, so stdout is the JSON alone (`podsight run --json | jq`).
    with StageProgress(err_console if as_json else console) as progress:
        summary = run_pipeline(
            st.store, st.settings, stages=tuple(stage or STAGES), ignore_send_hour=now, progress=progress,
            engine=Engine(engine, workers, address),
        )
    if as_json:
        return print_json(summary)
    print_summary(summary)


def print_summary(summary: dict[str, dict[str, int]]) -> None:
    """One line per stage: what it did."""
    for name, counts in summary.items():
        console.print(f"[bold]{name:<12}[/] " + ", ".join(f"{k} {v}" for k, v in counts.items()))


def status(ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """Per-feed health, last error, episodes waiting per stage, dropped insights, undelivered digests."""
    with state(ctx).store.session() as session:
        data = status_report(session)
    status_view.show(data, as_json)


@config_app.command("show")
def config_show(ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """Every setting with its value in force (defaults <- podsight.toml <- PODSIGHT_* <- flags), secrets redacted."""
    settings = state(ctx).settings
    values = settings.redacted()
    values["database_url"] = settings.db_url if not settings.database_url else _redact_url(settings.db_url)
    values["asr_cpu_choice"] = _asr_cpu_choice(settings)
    if as_json:
        return print_json(values)
    for name, value in values.items():
        console.print(f"[bold]{name}[/] = {value!r}", highlight=False)


def _asr_cpu_choice(settings) -> str:
    """What local speech-to-text runs with on this CPU, and why (`podsight.asr.cpu`); not a setting."""
    if not settings.asr_enabled or settings.asr_base_url:
        return "none (local speech-to-text not used)"
    from podsight.asr import cpu

    info, choice = cpu.choice_for_this_cpu()
    flags = " ".join(info.relevant_flags()) or "none found"
    described = choice.describe()
    if settings.asr_compute_type != "auto":
        described = f"{settings.asr_compute_type} (asr_compute_type; the CPU's choice: {described})"
    text = (f"beam {settings.asr_beam_size} (asr_beam_size), {described} "
            f"[CPU: {info.model or 'unknown'}; flags {flags}; {info.cores} cores"
            + (f"; ISA capped at {info.forced_isa}" if info.forced_isa else "") + "]")
    if settings.asr_device == "cuda":
        return "CUDA GPU: float16, one window at a time"
    return ("on a CUDA GPU: float16; on CPU: " if settings.asr_device == "auto" else "") + text


def _redact_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
