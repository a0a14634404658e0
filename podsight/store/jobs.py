"""Jobs with leases: how workers share the episode stages (transcripts, speech-to-text, insights).

An episode waiting in a stage's state ("new", "needs_asr", "transcribed") is a queued job. `claim` takes up
to `limit` of them for one worker until the lease expires: it counts the attempt, bumps the episode's
fencing token and returns a `Lease`. The worker computes without holding the database, then commits
through `hold`, which refuses (LeaseLost) when the token moved on, so a worker that stalled past its lease
while another took the episode over cannot overwrite the newer result. `extend` is the heartbeat; an
expired lease simply makes the episode claimable again. Attempts are counted here and nowhere else: at
each claim, so an episode that kills its worker (out of memory on a huge file) is given up after
`max_attempts` claims like one that raises.

One UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED) RETURNING does the claim on both backends:
PostgreSQL lets concurrent claimers skip each other's rows; SQLite ignores the row lock clause and runs
the statement under its single writer lock, which gives the same answer one claimer at a time.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from podsight.errors import PodsightError

from .db import Store
from .models import Episode

log = logging.getLogger("podsight.store")

STAGE_STATES = ("new", "needs_asr", "transcribed")  # the states a worker can claim


class LeaseLost(PodsightError):
    """The lease expired and another worker claimed the episode (or it left the stage): do not commit."""


@dataclass(frozen=True)
class Lease:
    episode_id: int
    state: str  # the stage's state when claimed
    token: int  # the fencing token this claim got
    owner: str
    expires_at: datetime
    attempt: int  # 1 on the first claim


def worker_name() -> str:
    """host:pid, what `podsight status` shows as a lease's owner."""
    return f"{socket.gethostname()}:{os.getpid()}"


def claim(store: Store, state: str, *, owner: str, lease_s: float, limit: int, max_attempts: int,
          exclude: Collection[int] = (), now: datetime | None = None) -> list[Lease]:
    """Lease up to `limit` episodes waiting in `state` (oldest first, none of `exclude`) to `owner` for
    `lease_s` seconds. Episodes whose earlier claims all ended in a lost worker are marked failed first."""
    if state not in STAGE_STATES:
        raise ValueError(f"not a stage state: {state}")
    now = now or datetime.now(timezone.utc)
    expires = now + timedelta(seconds=lease_s)
    with store.session() as session:
        _expire_dead_local_owners(session, state, now)
        _give_up_abandoned(session, state, max_attempts, now)
        free = (select(Episode.id)
                .where(Episode.state == state, _claimable(now), Episode.attempts < max_attempts,
                       Episode.id.not_in(list(exclude)))
                .order_by(Episode.id).limit(limit).with_for_update(skip_locked=True))
        rows = session.execute(
            update(Episode).where(Episode.id.in_(free.scalar_subquery()))
            .values(lease_owner=owner, lease_expires_at=expires, lease_token=Episode.lease_token + 1,
                    attempts=Episode.attempts + 1)
            .returning(Episode.id, Episode.lease_token, Episode.attempts)
            .execution_options(synchronize_session=False)
        ).all()
    leases = [Lease(episode_id, state, token, owner, expires, attempt) for episode_id, token, attempt in rows]
    return sorted(leases, key=lambda lease: lease.episode_id)


def waiting(store: Store, state: str) -> int:
    """How many episodes wait in `state`, leased or not (a progress bar's total)."""
    with store.session() as session:
        return session.scalar(select(func.count()).select_from(Episode).where(Episode.state == state))


def queued_ids(session: Session, state: str, limit: int) -> list[int]:
    """Up to `limit` episodes waiting in `state`, oldest first, leased or not."""
    return list(session.scalars(select(Episode.id).where(Episode.state == state).order_by(Episode.id).limit(limit)))


def _claimable(now: datetime):
    return or_(Episode.lease_expires_at.is_(None), Episode.lease_expires_at <= now)


def _expire_dead_local_owners(session: Session, state: str, now: datetime) -> None:
    """A lease whose owner ran on this machine and is no longer alive (kill -9, a crash) ends now rather
    than at its expiry: a rerun after a crash picks its episodes up at once. (A reused pid only makes the
    lease wait for its expiry.)"""
    host = f"{socket.gethostname()}:"
    owners = session.scalars(select(Episode.lease_owner).distinct().where(
        Episode.state == state, Episode.lease_owner.startswith(host, autoescape=True),
        Episode.lease_expires_at > now)).all()
    dead = [owner for owner in owners if not _alive(owner.removeprefix(host))]
    if dead:
        session.execute(update(Episode).where(Episode.state == state, Episode.lease_owner.in_(dead))
                        .values(lease_expires_at=now).execution_options(synchronize_session=False))


def _alive(pid: str) -> bool:
    try:
        os.kill(int(pid), 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def _give_up_abandoned(session: Session, state: str, max_attempts: int, now: datetime) -> None:
    """An episode claimed max_attempts times whose last lease ran out without an answer killed its
    workers each time: failed, with the reason, rather than claimed forever."""
    session.execute(
        update(Episode)
        .where(Episode.state == state, Episode.lease_expires_at <= now, Episode.attempts >= max_attempts)
        .values(state="failed", lease_owner=None, lease_expires_at=None,
                last_error=f"{state}: the worker stopped without an answer on each of {max_attempts} tries")
        .execution_options(synchronize_session=False)
    )


def extend(store: Store, leases: Sequence[Lease], lease_s: float, now: datetime | None = None) -> list[Lease]:
    """The heartbeat: push back the expiry of the leases still ours; returns those (the others are lost)."""
    now = now or datetime.now(timezone.utc)
    expires = now + timedelta(seconds=lease_s)
    kept = []
    with store.session() as session:
        for lease in leases:
            moved = session.execute(
                update(Episode).where(_ours(lease)).values(lease_expires_at=expires)
                .execution_options(synchronize_session=False)
            ).rowcount
            if moved:
                kept.append(replace(lease, expires_at=expires))
    return kept


def _ours(lease: Lease):
    return and_(Episode.id == lease.episode_id, Episode.lease_token == lease.token, Episode.state == lease.state)


def hold(session: Session, lease: Lease) -> Episode:
    """The leased episode, locked for this transaction, to commit a result into; LeaseLost when the
    token moved on or the episode left the stage. A lease that expired with no one taking it over is
    still honoured: the token proves no other worker has started."""
    # An UPDATE, not a SELECT: it takes the row lock (PostgreSQL) or the write lock (SQLite, where a
    # SELECT runs outside the transaction) before the check, so no claim can slip in between.
    ours = session.execute(
        update(Episode).where(_ours(lease)).values(lease_owner=None, lease_expires_at=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not ours:
        raise LeaseLost(f"episode {lease.episode_id}: the lease (token {lease.token}) was taken over")
    return session.get(Episode, lease.episode_id)


def finish(session: Session, lease: Lease, next_state: str) -> Episode:
    """Commit the stage's success: the episode moves on and its attempts start again from zero."""
    episode = hold(session, lease)
    episode.state, episode.last_error, episode.attempts = next_state, None, 0
    return episode


def fail(store: Store, lease: Lease, message: str, max_attempts: int) -> None:
    """The stage failed for this episode: keep the reason for `podsight status`; the episode is queued
    again, or `failed` once its attempts are used up. A lost lease records nothing: its owner decides."""
    with store.session() as session:
        try:
            episode = hold(session, lease)
        except LeaseLost:
            log.warning("episode %d: not recording %r, the lease was lost", lease.episode_id, message)
            return
        episode.last_error = message
        if episode.attempts >= max_attempts:
            episode.state = "failed"


def release(store: Store, leases: Sequence[Lease], message: str | None = None) -> None:
    """Hand leases back unworked and uncharged (the model endpoint is down, the worker is stopping)."""
    with store.session() as session:
        for lease in leases:
            values = {"lease_owner": None, "lease_expires_at": None, "attempts": Episode.attempts - 1}
            if message is not None:
                values["last_error"] = message
            session.execute(update(Episode).where(_ours(lease)).values(**values)
                            .execution_options(synchronize_session=False))


class Heartbeat:
    """Extends the leases it is given every `lease_s / 3` seconds from a daemon thread, so a long
    speech-to-text or extraction keeps its episode while the worker is alive, and loses it within
    `lease_s` once the worker dies. A lease lost meanwhile is found out when the worker commits (LeaseLost)."""

    def __init__(self, store: Store, lease_s: float):
        self.store, self.lease_s = store, lease_s
        self._leases: list[Lease] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="lease-heartbeat", daemon=True)

    @contextmanager
    def holding(self, leases: Sequence[Lease]) -> Iterator[None]:
        with self._lock:
            self._leases = [*self._leases, *leases]
        try:
            yield
        finally:
            ids = {lease.episode_id for lease in leases}
            with self._lock:
                self._leases = [lease for lease in self._leases if lease.episode_id not in ids]

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _beat(self) -> None:
        while not self._stop.wait(self.lease_s / 3):
            with self._lock:
                leases = list(self._leases)
            if not leases:
                continue
            try:
                extend(self.store, leases, self.lease_s)
            except Exception:  # a database hiccup: try again on the next beat, the lease has time left
                log.exception("lease heartbeat failed")
