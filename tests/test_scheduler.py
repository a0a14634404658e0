"""The scheduler on a controlled clock: ticks every 10 minutes across Europe/Paris's DST changes of 2026
and a 50-hour downtime, real SQLite and a real SMTP server (aiosmtpd). Insights are stored directly
(tests/seeding.py); only the digests and deliver stages run."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from seeding import seed_insights, subscriber
from sqlalchemy import select

from podsight.errors import PodsightError
from podsight.pipeline import SKIPPED, run_lock
from podsight import scheduler as scheduler_module
from podsight.scheduler import Scheduler
from podsight.store.models import DigestRow, Subscriber

pytestmark = pytest.mark.both_backends  # SQLite and a real PostgreSQL (tests/conftest.py)

PARIS = ZoneInfo("Europe/Paris")
STEP = timedelta(minutes=10)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def wait_for(condition, timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)


def tick_through(scheduler: Scheduler, clock: Clock, start: datetime, end: datetime) -> None:
    """Tick every 10 minutes from `start` up to (not including) `end`."""
    clock.now = start
    while clock.now < end:
        scheduler.tick()
        clock.now += STEP


@pytest.fixture
def paris(settings, store, mail_sink):
    """Two Paris subscribers (send hours 2 and 7), SMTP on loopback, plenty of insights."""
    sink, port = mail_sink
    settings.smtp_host, settings.smtp_port, settings.smtp_security = "127.0.0.1", port, "none"
    settings.digest_size, settings.max_episode_age_days = 1, 30
    early = subscriber(store, "early@example.com", "Europe/Paris", 2)
    late = subscriber(store, "late@example.com", "Europe/Paris", 7)
    clock = Clock(utc(2026, 1, 1))
    return Scheduler(store, settings, clock=clock, stages=("digests", "deliver")), clock, sink, {early: 2, late: 7}


def digests(store) -> dict[int, list[tuple[str, datetime]]]:
    with store.session() as session:
        rows = session.execute(select(DigestRow.subscriber_id, DigestRow.day, DigestRow.created_at)
                               .order_by(DigestRow.day)).all()
    out: dict[int, list[tuple[str, datetime]]] = {}
    for sub_id, day, created in rows:
        out.setdefault(sub_id, []).append((day, created))
    return out


def assert_sent_in_local_day_after_send_hour(made: dict, send_hours: dict) -> None:
    for sub_id, rows in made.items():
        for day, created in rows:
            local = created.astimezone(PARIS)
            assert local.date().isoformat() == day, (sub_id, day, local)
            assert local.hour >= send_hours[sub_id], (sub_id, day, local)


def test_spring_forward_and_a_50_hour_downtime_give_one_digest_per_local_day(store, paris):
    scheduler, clock, sink, send_hours = paris
    early, late = send_hours
    seed_insights(store, 30, first_seen=utc(2026, 3, 26))
    tick_through(scheduler, clock, utc(2026, 3, 27), utc(2026, 3, 30))  # last tick 23:50 UTC on the 29th
    # down for 50 hours: 29 Mar 23:50 -> 1 Apr 01:50 UTC (03:50 in Paris, after one send hour, before the other)
    tick_through(scheduler, clock, utc(2026, 4, 1, 1, 50), utc(2026, 4, 3))

    made = digests(store)
    expected = ["2026-03-27", "2026-03-28", "2026-03-29", "2026-04-01", "2026-04-02"]
    assert [day for day, _ in made[early]] == expected  # nothing for 30 and 31 March, missed while down
    assert [day for day, _ in made[late]] == expected
    created = dict(made[early])
    assert created["2026-03-28"] == utc(2026, 3, 28, 1, 0)  # 02:00 CET
    assert created["2026-03-29"] == utc(2026, 3, 29, 1, 0)  # 02:00 does not exist that night: sent at 03:00 CEST
    assert created["2026-04-01"] == utc(2026, 4, 1, 1, 50)  # the first tick after the downtime
    assert dict(made[late])["2026-04-01"] == utc(2026, 4, 1, 5, 0)  # 07:00 CEST: catch-up never sends early
    assert_sent_in_local_day_after_send_hour(made, send_hours)
    assert len(sink.messages) == 10  # one email per digest
    assert sorted(m["To"] for m in sink.messages) == ["early@example.com"] * 5 + ["late@example.com"] * 5


def test_the_embedding_model_is_read_once_for_all_ticks(store, paris, monkeypatch):
    scheduler, clock, _, _ = paris
    loads = []
    real_load = scheduler_module.load_embedder
    monkeypatch.setattr(scheduler_module, "load_embedder", lambda *a, **k: loads.append(a) or real_load(*a, **k))
    seed_insights(store, 30, first_seen=utc(2026, 5, 4))
    tick_through(scheduler, clock, utc(2026, 5, 5), utc(2026, 5, 7))
    assert len(digests(store)) == 2 and sum(len(days) for days in digests(store).values()) == 4
    assert len(loads) == 1


def test_fall_back_night_repeats_2am_but_sends_once(store, paris):
    scheduler, clock, sink, send_hours = paris
    early, late = send_hours
    seed_insights(store, 30, first_seen=utc(2026, 10, 22))
    tick_through(scheduler, clock, utc(2026, 10, 23, 12), utc(2026, 10, 27, 12))

    made = digests(store)
    expected = ["2026-10-23", "2026-10-24", "2026-10-25", "2026-10-26", "2026-10-27"]
    assert [day for day, _ in made[early]] == expected
    assert [day for day, _ in made[late]] == expected
    created = dict(made[early])
    assert created["2026-10-23"] == utc(2026, 10, 23, 12, 0)  # started after both send hours: the first tick
    assert created["2026-10-25"] == utc(2026, 10, 25, 0, 0)  # the first 02:00 (CEST); the second (CET) sends nothing
    assert created["2026-10-26"] == utc(2026, 10, 26, 1, 0)  # 02:00 CET
    assert dict(made[late])["2026-10-25"] == utc(2026, 10, 25, 6, 0)  # 07:00 CET
    assert_sent_in_local_day_after_send_hour(made, send_hours)
    assert len(sink.messages) == sum(len(rows) for rows in made.values())


def test_ticks_are_idle_until_a_send_time_and_after_the_day_is_done(store, paris):
    scheduler, clock, sink, _ = paris
    seed_insights(store, 10, first_seen=utc(2026, 6, 1))
    assert scheduler.tick(utc(2026, 6, 2, 23, 0)) == {}  # 01:00 in Paris: nobody is due
    assert set(scheduler.tick(utc(2026, 6, 3, 0, 0))) == {"digests", "deliver"}  # 02:00 CEST
    assert scheduler.tick(utc(2026, 6, 3, 0, 10)) == {}  # the early reader has today's digest
    assert scheduler.tick(utc(2026, 6, 3, 5, 0))["digests"]["digests"] == 1  # 07:00: the late reader
    assert scheduler.tick(utc(2026, 6, 3, 5, 10)) == {}


def test_nothing_new_makes_no_digest_and_is_not_retried_every_tick(store, paris):
    scheduler, clock, sink, _ = paris
    assert set(scheduler.tick(utc(2026, 6, 3, 5, 0))) == {"digests", "deliver"}  # due, but no insights at all
    assert scheduler.tick(utc(2026, 6, 3, 5, 10)) == {}
    assert digests(store) == {} and sink.messages == []


def test_unsubscribed_readers_are_never_due(store, paris):
    scheduler, clock, sink, _ = paris
    seed_insights(store, 10, first_seen=utc(2026, 6, 1))
    with store.session() as session:
        for sub in session.scalars(select(Subscriber)):
            sub.status = "unsubscribed"
    assert scheduler.tick(utc(2026, 6, 3, 12, 0)) == {}


def test_while_a_cron_run_holds_the_lock_the_tick_leaves_digests_to_the_next_one(store, settings, paris):
    scheduler, clock, sink, _ = paris
    seed_insights(store, 10, first_seen=utc(2026, 6, 1))
    clock.now = utc(2026, 6, 3, 6, 0)
    with run_lock(settings):  # `podsight run` from cron is running
        summary = scheduler.tick()
    assert summary["digests"] == {"skipped": SKIPPED} and summary["deliver"] == {"skipped": SKIPPED}
    assert digests(store) == {} and sink.messages == []
    scheduler.tick()  # still due: the skipped stages did not count as run
    assert len(digests(store)) == 2 and len(sink.messages) == 2


def test_run_forever_in_a_thread_survives_a_bad_tick_and_stops_when_told(store, paris):
    scheduler, clock, sink, _ = paris
    seed_insights(store, 10, first_seen=utc(2026, 6, 1))
    clock.now = utc(2026, 6, 3, 6, 0)
    calls = {"n": 0}
    real_due = scheduler.due_stages

    def flaky(now):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("database went away for a moment")
        return real_due(now)

    scheduler.due_stages = flaky
    thread, stop = scheduler.start(interval_s=0.05)
    wait_for(lambda: len(sink.messages) == 2)
    stop.set()
    thread.join(timeout=5)
    assert not thread.is_alive()
    assert len(sink.messages) == 2 and calls["n"] >= 2
