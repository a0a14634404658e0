"""Jobs with leases (podsight/store/jobs.py), on SQLite and on a real PostgreSQL."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest

from podsight.store import jobs
from podsight.store.models import Episode, Feed

pytestmark = pytest.mark.both_backends

T0 = datetime(2026, 12, 6, 8, 0, tzinfo=timezone.utc)


def _episodes(store, n: int, state: str = "transcribed") -> list[int]:
    with store.session() as session:
        feed = Feed(url="http://127.0.0.1/feed.xml")
        session.add(feed)
        session.flush()
        episodes = [Episode(feed_id=feed.id, key=f"ep-{i}", title=f"Episode {i}", state=state) for i in range(n)]
        session.add_all(episodes)
        session.flush()
        return [e.id for e in episodes]


def _claim(store, owner="w1", limit=1, now=T0, lease_s=60, max_attempts=3, state="transcribed"):
    return jobs.claim(store, state, owner=owner, lease_s=lease_s, limit=limit, max_attempts=max_attempts, now=now)


def _episode(store, episode_id: int) -> Episode:
    with store.session() as session:
        return session.get(Episode, episode_id)


def test_a_claimed_episode_is_not_claimed_again_until_its_lease_expires(store):
    first, second = _episodes(store, 2)
    [lease] = _claim(store, "w1")
    assert (lease.episode_id, lease.attempt, lease.owner) == (first, 1, "w1")
    assert [x.episode_id for x in _claim(store, "w2", limit=5)] == [second]
    assert _claim(store, "w3", now=T0 + timedelta(seconds=59)) == []
    [taken_over] = _claim(store, "w3", now=T0 + timedelta(seconds=61))
    assert (taken_over.episode_id, taken_over.attempt) == (first, 2)
    assert taken_over.token > lease.token


def test_a_completion_from_a_lost_lease_is_rejected_and_the_new_owner_commits(store):
    [episode_id] = _episodes(store, 1)
    [stale] = _claim(store, "w1")
    [current] = _claim(store, "w2", now=T0 + timedelta(minutes=5))
    with pytest.raises(jobs.LeaseLost), store.session() as session:
        jobs.finish(session, stale, "extracted")
    assert _episode(store, episode_id).state == "transcribed"
    with store.session() as session:
        jobs.finish(session, current, "extracted")
    done = _episode(store, episode_id)
    assert (done.state, done.attempts, done.lease_owner, done.lease_expires_at) == ("extracted", 0, None, None)


def test_an_expired_lease_no_one_took_over_may_still_commit(store):
    [episode_id] = _episodes(store, 1)
    [lease] = _claim(store)
    with store.session() as session:  # an hour late, but the token shows no other worker started
        jobs.finish(session, lease, "extracted")
    assert _episode(store, episode_id).state == "extracted"


def test_heartbeat_keeps_the_lease_and_reports_one_that_was_lost(store):
    first, second = _episodes(store, 2)
    leases = _claim(store, limit=2)
    [kept] = jobs.extend(store, leases[:1], lease_s=60, now=T0 + timedelta(seconds=50))
    assert kept.expires_at == T0 + timedelta(seconds=110)
    [other] = _claim(store, "w2", now=T0 + timedelta(seconds=65), limit=5)
    assert other.episode_id == second  # its lease was not extended; the first's was
    assert [x.episode_id for x in jobs.extend(store, leases, lease_s=60, now=T0 + timedelta(seconds=70))] == [first]


def test_attempts_are_counted_at_each_claim_and_used_up_as_failed(store):
    [episode_id] = _episodes(store, 1)
    now = T0
    for attempt in (1, 2, 3):  # a worker dies each time: the lease runs out with no answer
        [lease] = _claim(store, now=now, max_attempts=3)
        assert lease.attempt == attempt
        now += timedelta(minutes=2)
    assert _claim(store, now=now, max_attempts=3) == []
    gone = _episode(store, episode_id)
    assert gone.state == "failed"
    assert "stopped without an answer on each of 3 tries" in gone.last_error


def test_fail_requeues_until_the_attempts_are_spent(store):
    [episode_id] = _episodes(store, 1)
    [lease] = _claim(store, max_attempts=2)
    jobs.fail(store, lease, "insights: bad answer", max_attempts=2)
    episode = _episode(store, episode_id)
    assert (episode.state, episode.last_error, episode.lease_owner) == ("transcribed", "insights: bad answer", None)
    [lease] = _claim(store, max_attempts=2)
    jobs.fail(store, lease, "insights: bad answer again", max_attempts=2)
    assert _episode(store, episode_id).state == "failed"


def test_release_hands_back_without_charging_an_attempt(store):
    [episode_id] = _episodes(store, 1)
    [lease] = _claim(store)
    jobs.release(store, [lease], "insights: endpoint down")
    episode = _episode(store, episode_id)
    assert (episode.attempts, episode.lease_owner, episode.last_error) == (0, None, "insights: endpoint down")
    assert [x.episode_id for x in _claim(store, "w2")] == [episode_id]


def test_concurrent_claimers_never_share_an_episode(store):
    ids = _episodes(store, 40)
    taken: dict[str, list[int]] = {}

    def worker(name: str) -> None:
        mine = taken.setdefault(name, [])
        while leases := jobs.claim(store, "transcribed", owner=name, lease_s=600, limit=3, max_attempts=3):
            mine.extend(lease.episode_id for lease in leases)
            time.sleep(0.001)

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    claimed = [episode_id for mine in taken.values() for episode_id in mine]
    assert sorted(claimed) == ids  # each exactly once


def test_a_dead_worker_on_this_machine_frees_its_leases_at_once(store):
    [episode_id] = _episodes(store, 1)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    _claim(store, owner=f"{socket.gethostname()}:{dead.pid}", now=T0, lease_s=600)
    alive = f"{socket.gethostname()}:{os.getpid()}"
    [lease] = _claim(store, owner=alive, now=T0 + timedelta(seconds=5), lease_s=600)
    assert (lease.episode_id, lease.attempt) == (episode_id, 2)
    assert _claim(store, owner="w3", now=T0 + timedelta(seconds=10)) == []  # this one's owner is alive


def test_podsight_status_shows_who_holds_a_lease_until_when(store, settings, monkeypatch):
    from typer.testing import CliRunner

    from podsight.cli import app

    first, _ = _episodes(store, 2)
    _claim(store, owner="worker-host:4242", now=datetime.now(timezone.utc), lease_s=600)
    monkeypatch.setenv("PODSIGHT_SECRET_KEY", "test-secret")
    shown = CliRunner().invoke(app, ["--home", str(settings.home), "status"])
    assert shown.exit_code == 0, shown.output
    text = " ".join(shown.output.split())  # rich wraps long lines
    assert f"episode {first} Episode 0: transcribed, claimed by worker-host:4242 until" in text
    assert "(try 1)" in text and text.count("claimed by") == 1
