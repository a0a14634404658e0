"""The daemon's clock: decides on each tick which stages of the daily run are due, and runs them with the
very code `podsight run` uses (cron), under the same run lock.

- Scanning and the stages after it (transcripts, speech-to-text, insights, links) run every
  `poll_interval_minutes`; the scan stage itself then polls only the feeds whose next check has come.
- Digests run when some active subscriber's send time has come today (in their timezone) and they have
  no digest for that local day yet. Only the CURRENT local day is ever built: after downtime there is no
  backlog of missed days, and a day that has a digest never gets a second (the database's unique
  constraint on subscriber and day backs this up). DST rules are in `pipeline.digest.due_time`.
- Deliveries run when an outbox row is pending and its retry time has come.

`tick(now)` is one decision and one run; `run_forever` ticks until told to stop, for `podsight serve`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

from podsight import pipeline
from podsight.config import Settings
from podsight.embed import Embedder, load_embedder
from podsight.errors import PodsightError, StagesFailed
from podsight.pipeline.digest import due_time
from podsight.store.db import Store
from podsight.store.deliveries import any_due
from podsight.store.subscribers import active_subscribers, has_digest

logger = logging.getLogger("podsight.scheduler")

PROCESSING = ("scan", "transcripts", "asr", "insights", "links")
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


class Scheduler:
    """Runs the daily pipeline's stages as they fall due. `clock` gives the current aware datetime (tests
    pass a controlled one); `stages` limits what may run (default: every stage)."""

    def __init__(self, store: Store, settings: Settings, clock: Clock = utc_now,
                 stages: tuple[str, ...] = pipeline.STAGES):
        self.store, self.settings, self.clock, self.stages = store, settings, clock, stages
        self.last_processing: datetime | None = None  # None: process on the first tick (catch up after a start)
        self.last_summary: dict[str, dict[str, int]] = {}
        self.last_error: str | None = None
        # (subscriber, day) pairs the digests stage found nothing new for: retried after the next processing
        # run brings insights, not on every tick
        self._nothing_new: set[tuple[int, str]] = set()
        self._embedder: Embedder | None = None  # loaded by the first tick that links or ranks

    def due_stages(self, now: datetime) -> tuple[str, ...]:
        """The stages this tick should run, in pipeline order."""
        wanted: set[str] = set()
        interval = timedelta(minutes=self.settings.poll_interval_minutes)
        if self.last_processing is None or now - self.last_processing >= interval:
            wanted.update(PROCESSING)
        waiting = set(subscribers_due(self.store, now)) - self._nothing_new
        if waiting and "digests" in self.stages:
            wanted.update(("digests", "deliver"))  # a new digest's outbox rows go out in the same tick
        if deliveries_due(self.store, now):
            wanted.add("deliver")
        return tuple(s for s in pipeline.STAGES if s in wanted and s in self.stages)

    def tick(self, now: datetime | None = None) -> dict[str, dict[str, int]]:
        """Run whatever is due at `now` (default: the clock). Returns the per-stage counts ({} when idle).
        While a `podsight run` holds the run lock, the tick shares the episode stages with it and its
        other stages stay due for the next tick. Raises StagesFailed when a stage crashed (the later stages
        ran all the same)."""
        now = now or self.clock()
        stages = self.due_stages(now)
        if not stages:
            return {}
        if self._embedder is None and {"insights", "links", "digests"} & set(stages):
            self._embedder = self._load_embedder()  # once: every later tick reuses it
        try:
            summary = pipeline.run(self.store, self.settings, now=now, stages=stages, embedder=self._embedder)
        except StagesFailed as exc:  # the run went through, a stage crashed: the next one is due on schedule
            self._ran(stages, now, exc.summary)
            raise
        self._ran(stages, now, summary)
        return summary

    def _ran(self, stages: tuple[str, ...], now: datetime, summary: dict) -> None:
        """Bookkeeping after a run, crashed stages or not: re-running a failing stage every tick would only
        repeat its error (and hammer the feeds), so processing waits for its interval as usual. A stage that
        another run was doing did not run here, and stays due."""
        stages = tuple(s for s in stages if "skipped" not in summary.get(s, {}))
        if set(stages) & set(PROCESSING):
            self.last_processing = now
            self._nothing_new.clear()
        if "digests" in stages:  # due and still without a digest: nothing new to send
            self._nothing_new.update(subscribers_due(self.store, now))
        self.last_summary = summary

    def _load_embedder(self) -> Embedder | None:
        """The embedding model, or None when it cannot be read: then the stages that need it try again
        and record the error, and deliveries, which do not need it, still go out."""
        try:
            return load_embedder(self.settings.embed_model)
        except Exception:
            logger.exception("cannot load the embedding model %s", self.settings.embed_model)
            return None

    def run_forever(self, stop_event: threading.Event, interval_s: float = 60) -> None:
        """Tick every `interval_s` seconds until `stop_event` is set. A failing tick is logged and kept in
        `last_error`, never the end of the loop: the next tick retries."""
        while not stop_event.is_set():
            try:
                summary = self.tick()
                self.last_error = None
                if summary:
                    logger.info("scheduler ran %s", ", ".join(summary))
            except StagesFailed as exc:  # the later stages ran; the traceback is already in the log
                self.last_error = str(exc)
                logger.error("scheduler tick: %s", exc)
            except PodsightError as exc:  # a problem podsight can explain (bad settings, unreadable model)
                self.last_error = str(exc)
                logger.warning("scheduler tick skipped: %s", exc)
            except Exception as exc:  # a daemon must outlive one bad tick; the traceback goes to the log
                self.last_error = f"{exc.__class__.__name__}: {exc}"
                logger.exception("scheduler tick failed")
            stop_event.wait(interval_s)

    def start(self, interval_s: float = 60) -> tuple[threading.Thread, threading.Event]:
        """`run_forever` in a daemon thread; set the returned event (then join) to stop it."""
        stop_event = threading.Event()
        thread = threading.Thread(target=self.run_forever, args=(stop_event, interval_s),
                                  name="podsight-scheduler", daemon=True)
        thread.start()
        return thread, stop_event


def subscribers_due(store: Store, now: datetime) -> list[tuple[int, str]]:
    """(subscriber id, local day) of each active subscriber whose send time has come today (in their
    timezone) and who has no digest for that day yet."""
    due = []
    for sub in active_subscribers(store):
        try:
            day, due_at = due_time(sub, now)
        except (ValueError, KeyError) as exc:  # ZoneInfoNotFoundError is a KeyError: a hand-edited timezone
            logger.warning("subscriber %s has an unusable timezone %r: %s", sub.email, sub.timezone, exc)
            continue
        if now >= due_at and not has_digest(store, sub.id, day):
            due.append((sub.id, day))
    return due


def deliveries_due(store: Store, now: datetime) -> bool:
    """Whether some outbox row waits to be sent now (first try, or its retry time has come)."""
    return any_due(store, now)
