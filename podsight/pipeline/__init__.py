"""The daily run: stages in order, each idempotent and resumable. Safe to call from cron.

feeds -> episodes -> transcripts (publisher, else speech-to-text) -> insights -> links -> ranking -> digests
-> delivery
"""

from __future__ import annotations

import fcntl
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from functools import partial

from podsight.config import Settings
from podsight.embed import Embedder, load_embedder
from podsight.errors import PodsightError, StagesFailed
from podsight.store.db import Store

from .asr import speech_to_text
from .deliver import deliver
from .digest import build_digests
from .engines import Engine, run_stage
from .extract import extract
from .links import link_insights
from .scan import scan
from .transcribe import fetch_transcripts

log = logging.getLogger("podsight.pipeline")

STAGES = ("scan", "transcripts", "asr", "insights", "links", "digests", "deliver")
# Episode stages: each episode is claimed with a lease (store/jobs.py), so any number of runs and workers
# share them. The others (scan, links, digests, delivery) work on everything at once and run in one
# process at a time, under the run lock.
WORKER_STAGES: dict[str, Callable[..., dict[str, int]]] = {  # each called as (store, settings, progress)
    "transcripts": fetch_transcripts, "asr": speech_to_text, "insights": extract,
}
SKIPPED = "another podsight run is doing this stage"


@contextmanager
def run_lock(settings: Settings) -> Iterator[None]:
    """One scan/links/digests/delivery at a time per installation: two would race on the outbox."""
    with _locked(settings) as held:
        if not held:
            raise PodsightError(f"another `podsight run` is in progress (lock: {settings.home / 'run.lock'})")
        yield


@contextmanager
def _locked(settings: Settings) -> Iterator[bool]:
    """Whether this process got the run lock (it is held until the block ends)."""
    settings.home.mkdir(parents=True, exist_ok=True)
    with open(settings.home / "run.lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True


def run(
    store: Store,
    settings: Settings,
    *,
    now: datetime | None = None,
    stages: tuple[str, ...] = STAGES,
    ignore_send_hour: bool = False,
    progress=None,
    embedder: Embedder | None = None,
    engine: Engine = Engine(),
) -> dict[str, dict]:
    """Run the chosen stages once; returns per-stage counts. A long-lived caller (the scheduler) passes
    its `embedder` so the model is read once, not on every run. While another run holds the run lock,
    this one shares the episode stages with it and skips the rest ({"skipped": SKIPPED}). `engine` says
    where the episode stages run (engines.py: here, or in Ray workers).

    A stage that crashes is logged and recorded as summary[stage] = {"error": ...}, and the later stages run
    all the same: a digest or a pending delivery must not wait on a fault in the transcript stage. The run
    then raises StagesFailed (with the summary), so cron's exit status says something is wrong."""
    unknown = set(stages) - set(STAGES)
    if unknown:
        raise PodsightError(f"unknown stage(s) {', '.join(sorted(unknown))}; valid: {', '.join(STAGES)}")
    now = now or datetime.now(timezone.utc)
    shared_embedder = _shared(embedder, lambda: load_embedder(settings.embed_model))
    work: dict[str, Callable[[], dict[str, int]]] = {
        "scan": lambda: scan(store, settings, now, progress),
        "transcripts": lambda: fetch_transcripts(store, settings, progress),
        "asr": lambda: speech_to_text(store, settings, progress),
        "insights": lambda: extract(store, settings, progress, embedder=shared_embedder()),
        "links": lambda: link_insights(store, settings, progress, embedder=shared_embedder()),
        "digests": lambda: build_digests(store, settings, now, ignore_send_hour=ignore_send_hour,
                                         embedder=shared_embedder()),
        "deliver": lambda: deliver(store, settings, now, progress),
    }
    summary: dict[str, dict] = {}
    for name in (s for s in STAGES if s in stages):
        if name in WORKER_STAGES:
            summary[name] = _run_stage(name, partial(run_stage, engine, store, settings, name, work[name]))
            continue
        with _locked(settings) as held:
            summary[name] = _run_stage(name, work[name]) if held else {"skipped": SKIPPED}
    if any("error" in counts for counts in summary.values()):
        raise StagesFailed(summary)
    return summary


def _run_stage(name: str, work: Callable[[], dict[str, int]]) -> dict:
    """The stage's counts, or {"error": ...} when it crashed. Only Exception: Ctrl-C and a stopping
    process still end the run at once (deliver relies on that to mark an interrupted send)."""
    try:
        return work()
    except Exception as exc:
        log.exception("stage %s crashed; the later stages run all the same", name)
        return {"error": f"{type(exc).__name__}: {exc}"}


def _shared(given: Embedder | None, load: Callable[[], Embedder]) -> Callable[[], Embedder]:
    """One embedding model for the stages that use it, read when the first of them needs it: each would
    otherwise read its weights (~90 MB) again. A failed read is tried again by the next stage."""
    loaded = [given] if given is not None else []

    def get() -> Embedder:
        if not loaded:
            loaded.append(load())
        return loaded[0]

    return get
