"""The worker side of the episode stages: claim a queued episode, work on it with the lease kept alive,
commit through the lease. Several `podsight run`s or `podsight worker`s share the queue this way."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from podsight.config import Settings
from podsight.store import jobs
from podsight.store.db import Store
from podsight.store.jobs import Heartbeat, Lease


class Claims:
    """Claims for one stage run of one worker. Each episode is tried at most once per run: a failure
    waits for the next run (as before leases), not for the next turn of this loop."""

    def __init__(self, store: Store, settings: Settings, state: str, heartbeat: Heartbeat):
        self.store, self.settings, self.state, self.heartbeat = store, settings, state, heartbeat
        self.owner = jobs.worker_name()
        self.tried: set[int] = set()
        self._lock = threading.Lock()  # threads of one worker share the claims

    def waiting(self) -> int:
        """How many episodes wait in the stage now (for a progress bar: other workers may take some)."""
        return jobs.waiting(self.store, self.state)

    def take(self, limit: int) -> list[Lease]:
        with self._lock:
            leases = jobs.claim(self.store, self.state, owner=self.owner, lease_s=self.settings.lease_s,
                                limit=limit, max_attempts=self.settings.max_attempts, exclude=set(self.tried))
            self.tried |= {lease.episode_id for lease in leases}
        return leases

    def each(self, until: threading.Event | None = None) -> Iterator[Lease]:
        """One lease at a time, until the stage has nothing left this worker has not tried (or `until` is
        set); the heartbeat holds each while the caller works on it. Threads may share one `Claims`."""
        while not (until and until.is_set()) and (leases := self.take(1)):
            with self.heartbeat.holding(leases):
                yield leases[0]


@contextmanager
def claims(store: Store, settings: Settings, state: str) -> Iterator[Claims]:
    with Heartbeat(store, settings.lease_s) as heartbeat:
        yield Claims(store, settings, state, heartbeat)
