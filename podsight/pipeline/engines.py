"""Where the episode stages run: in this process ("local"), or in Ray actors ("ray").

The database stays the durable truth either way: a Ray actor runs the same stage code as `podsight run`,
claiming episodes with leases (store/jobs.py), so Ray only places the work and restarts a worker that dies;
an episode whose worker died is claimed again (at once on the same machine, else when its lease runs out)
and finishes once. Scan, links, digests and delivery stay in the driver.

    podsight run --engine ray --workers 4                 # a local Ray, started for the run
    podsight run --engine ray --address ray://head:10001  # an existing cluster (PostgreSQL database_url)

A Ray worker asks for a GPU when speech-to-text runs on CUDA (`asr_device = "cuda"`); an extraction worker
keeps `llm_concurrency` requests in flight to the model server, as one process does.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass

from podsight.config import Settings
from podsight.errors import PodsightError
from podsight.store.db import Store

log = logging.getLogger("podsight.pipeline")


@dataclass(frozen=True)
class Engine:
    """How a run places its episode stages: `workers` Ray actors at `address` (None: a local Ray)."""

    name: str = "local"
    workers: int = 2
    address: str | None = None


def run_stage(engine: Engine, store: Store, settings: Settings, stage: str, here: Callable[[], dict]) -> dict:
    """The stage's counts, run where `engine` says (`here` runs it in this process)."""
    return ENGINES[engine.name](engine, store, settings, stage, here)


def _local(engine: Engine, store: Store, settings: Settings, stage: str, here: Callable[[], dict]) -> dict:
    return here()


def _ray(engine: Engine, store: Store, settings: Settings, stage: str, here: Callable[[], dict]) -> dict:
    ray = _import_ray()
    if not ray.is_initialized():
        ray.init(address=engine.address, include_dashboard=False, logging_level=logging.WARNING)
    gpus = 1 if stage == "asr" and settings.asr_device == "cuda" else 0
    # max_restarts / max_task_retries: a worker that dies (out of memory, a killed node) comes back and runs
    # its stage again; its claimed episode is claimed anew, never finished twice (the fencing token)
    # max_concurrency 2: `pid` answers while `run` works (the tests find the actor holding a lease by it)
    worker = ray.remote(num_cpus=1, num_gpus=gpus, max_restarts=2, max_task_retries=2, max_concurrency=2)(StageWorker)
    actors = [worker.options(name=f"podsight-{stage}-{n}").remote(settings) for n in range(engine.workers)]
    try:
        return _summed(ray.get([actor.run.remote(stage) for actor in actors]))
    finally:
        for actor in actors:
            ray.kill(actor)


def _import_ray():
    try:
        import ray
    except ImportError:
        raise PodsightError("--engine ray needs Ray: pip install 'podsight[ray]'") from None
    return ray


def _summed(results: list[dict]) -> dict:
    total: dict = {}
    for counts in results:
        for key, value in counts.items():
            total[key] = total.get(key, 0) + value if isinstance(value, int) else value
    return total


class StageWorker:
    """A Ray actor: its own database connection, the stage functions `podsight run` calls."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.store = Store(settings.db_url)

    def run(self, stage: str) -> dict:
        from podsight.pipeline import WORKER_STAGES  # the package imports this module

        if stage not in WORKER_STAGES:
            raise PodsightError(f"{stage} runs in the driver, not in a worker")
        return WORKER_STAGES[stage](self.store, self.settings)

    def pid(self) -> int:
        return os.getpid()


ENGINES: dict[str, Callable[..., dict]] = {"local": _local, "ray": _ray}
