"""The daily run: stages in order, each idempotent and resumable. Safe to call from cron.

feeds -> episodes -> transcripts (publisher, else speech-to-text) -> insights -> links -> ranking -> digests
-> delivery
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone

from podsight.config import Settings
from podsight.embed import Embedder, load_embedder
from podsight.errors import PodsightError
from podsight.store.db import Store

from .asr import speech_to_text
from .deliver import deliver
from .digest import build_digests
from .extract import extract
from .links import link_insights
from .scan import scan
from .transcribe import fetch_transcripts

STAGES = ("scan", "transcripts", "asr", "insights", "links", "digests", "deliver")


@contextmanager
def run_lock(settings: Settings) -> Iterator[None]:
    """One run at a time per installation: two overlapping cron runs would race on the outbox."""
    settings.home.mkdir(parents=True, exist_ok=True)
    with open(settings.home / "run.lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise PodsightError(f"another `podsight run` is in progress (lock: {settings.home / 'run.lock'})") from None
        yield


def run(
    store: Store,
    settings: Settings,
    *,
    now: datetime | None = None,
    stages: tuple[str, ...] = STAGES,
    ignore_send_hour: bool = False,
    progress=None,
    embedder: Embedder | None = None,
) -> dict[str, dict[str, int]]:
    """Run the chosen stages once; returns per-stage counts. A long-lived caller (the scheduler) passes
    its `embedder` so the model is read once, not on every run."""
    unknown = set(stages) - set(STAGES)
    if unknown:
        raise PodsightError(f"unknown stage(s) {', '.join(sorted(unknown))}; valid: {', '.join(STAGES)}")
    now = now or datetime.now(timezone.utc)
    summary: dict[str, dict[str, int]] = {}
    with run_lock(settings):
        if "scan" in stages:
            summary["scan"] = scan(store, settings, now, progress)
        if "transcripts" in stages:
            summary["transcripts"] = fetch_transcripts(store, settings, progress)
        if "asr" in stages:
            summary["asr"] = speech_to_text(store, settings, progress)
        # One embedding model for the stages that use it: each would otherwise read its weights (~90 MB) again.
        if embedder is None and {"insights", "links", "digests"} & set(stages):
            embedder = load_embedder(settings.embed_model)
        if "insights" in stages:
            summary["insights"] = extract(store, settings, progress, embedder=embedder)
        if "links" in stages:
            summary["links"] = link_insights(store, settings, progress, embedder=embedder)
        if "digests" in stages:
            summary["digests"] = build_digests(store, settings, now, ignore_send_hour=ignore_send_hour,
                                               embedder=embedder)
        if "deliver" in stages:
            summary["deliver"] = deliver(store, settings, now, progress)
    return summary
