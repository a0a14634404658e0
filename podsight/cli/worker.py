"""`podsight worker`: the episode stages only (transcripts, speech-to-text, insights), claimed with leases,
so several workers (on this machine or others sharing a PostgreSQL database) split the queue."""

from __future__ import annotations

import time

import typer

from podsight.errors import StagesFailed
from podsight.pipeline import WORKER_STAGES
from podsight.pipeline import run as run_pipeline

from .common import console, state
from .run import print_summary


def worker(
    ctx: typer.Context,
    stage: list[str] = typer.Option(None, "--stage", help=f"Work only on these ({', '.join(WORKER_STAGES)})."),
    once: bool = typer.Option(False, "--once", help="One pass over the queue, then exit."),
    idle_s: float = typer.Option(30.0, "--idle", min=1.0, help="Seconds to wait when the queue is empty."),
) -> None:
    """Work on queued episodes until stopped (Ctrl-C). `podsight run` (cron or `serve`) still scans,
    links, builds digests and delivers; workers take the slow part off its hands."""
    st = state(ctx)
    stages = tuple(stage or WORKER_STAGES)
    unknown = set(stages) - set(WORKER_STAGES)
    if unknown:
        raise typer.BadParameter(f"not a worker stage: {', '.join(sorted(unknown))}", param_hint="--stage")
    while True:
        try:
            summary = run_pipeline(st.store, st.settings, stages=stages)
        except StagesFailed as exc:  # logged with its traceback; the next pass retries
            summary = exc.summary
        if once:
            print_summary(summary)
            return
        if not _finished_any(summary):  # idle, or only failures: retrying at once would only repeat them
            time.sleep(idle_s)
        else:
            console.print(" | ".join(f"{name}: " + ", ".join(f"{k} {v}" for k, v in counts.items())
                                     for name, counts in summary.items()), highlight=False)


def _finished_any(summary: dict[str, dict]) -> bool:
    return any(value for counts in summary.values() for key, value in counts.items()
               if isinstance(value, int) and "error" not in key)
