"""Ray as the engine of the episode stages (podsight/pipeline/engines.py): a real local Ray (`ray.init(num_cpus=2)`,
no dashboard) and a real PostgreSQL started by the tests; the model is tests/fake_llm_server.py, a named fake.

- A worker killed mid-lease (`ray.kill`): Ray restarts it, the episode it held is claimed again (its owner's
  pid is gone, so at once) and finishes exactly once.
- A worker whose lease ran out and was taken over while it waited: its late result is refused.
- 1,000 queued episodes: never more leases out than workers x the claim batch.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from fake_llm_server import FakeLLMServer
from sqlalchemy import func, select
from test_pipeline_full import GROUNDED, TRANSCRIPT, answer

from podsight.config import Settings
from podsight.pipeline import run
from podsight.pipeline.engines import Engine
from podsight.pipeline.transcribe import CLAIM_BATCH
from podsight.store.db import Store
from podsight.store.episodes import replace_segments
from podsight.store.models import Episode, Feed, InsightRow
from podsight.transcripts.parse import parse_transcript

ray = pytest.importorskip("ray", reason="Ray is the optional extra podsight[ray] (make test installs it)")
pytestmark = pytest.mark.timeout(300)

CITIES = ("Lyon", "Oslo", "Porto", "Turin", "Leeds", "Ghent")
WORKERS = 2


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, logging_level="WARNING")
    yield ray
    ray.shutdown()


@pytest.fixture
def pg_settings(postgres, tmp_path) -> Settings:
    return Settings(home=tmp_path / "home", database_url=postgres.new_database(), secret_key="test-secret",
                    allow_private_addresses=True, extraction="chunks", llm_concurrency=1)


def queue(store: Store, count: int, state: str, transcript=None) -> list[int]:
    with store.session() as session:
        feed = Feed(url="http://127.0.0.1/feed.xml", title="Transit Talk")
        session.add(feed)
        session.flush()
        episodes = [Episode(feed_id=feed.id, key=f"ep-{n}", title=f"Episode {n}", state=state) for n in range(count)]
        session.add_all(episodes)
        session.flush()
        for n, episode in enumerate(episodes):
            if transcript:
                segments = parse_transcript(transcript(n).encode(), "text/vtt", "t.vtt")
                replace_segments(session, episode.id, segments, [None] * len(segments))
        return [e.id for e in episodes]


def city_transcript(n: int) -> str:
    """Each episode's claim names its own city, so no request is answered from the LLM cache."""
    return TRANSCRIPT.replace("Battery pack prices", f"Battery pack prices in {CITIES[n]}")


def extract_in_background(store: Store, settings: Settings, workers: int) -> tuple[threading.Thread, dict]:
    """The insight stage on `workers` Ray actors, run from a thread: the test acts while a worker waits."""
    result: dict = {}
    driver = threading.Thread(target=lambda: result.update(
        run(store, settings, stages=("insights",), engine=Engine("ray", workers))))
    driver.start()
    return driver, result


class HoldFirst:
    """The fake model's side: the first extraction request waits until the test lets it go."""

    def __init__(self) -> None:
        self.asked, self.release = threading.Event(), threading.Event()
        self.cities: list[str] = []
        self.lock = threading.Lock()

    def __call__(self, request: dict) -> str:
        city = next(c for c in CITIES if c in json.dumps(request))
        with self.lock:
            self.cities.append(city)
            first = len(self.cities) == 1
        if first:
            self.asked.set()
            self.release.wait(60)
        claim = GROUNDED["claim"].replace("battery pack prices", f"battery pack prices in {city}")
        quote = GROUNDED["quote"].replace("Battery pack prices", f"Battery pack prices in {city}")
        return answer({**GROUNDED, "claim": claim, "quote": quote})


def test_a_worker_killed_mid_lease_is_restarted_and_its_episode_finishes_once(local_ray, pg_settings):
    store = Store(pg_settings.db_url)
    ids = queue(store, len(CITIES), "transcribed", city_transcript)
    model = HoldFirst()
    with FakeLLMServer([model] * 50) as llm:
        pg_settings.llm_base_url = llm.base_url
        driver, result = extract_in_background(store, pg_settings, WORKERS)
        assert model.asked.wait(120), "no worker asked the model"
        with store.session() as session:
            held = session.scalar(select(Episode).where(Episode.lease_owner.is_not(None),
                                                        Episode.title == f"Episode {CITIES.index(model.cities[0])}"))
            owner_pid = int(held.lease_owner.rsplit(":", 1)[1])
        actors = [ray.get_actor(f"podsight-insights-{n}") for n in range(WORKERS)]
        [victim] = [actor for actor in actors if ray.get(actor.pid.remote()) == owner_pid]
        ray.kill(victim, no_restart=False)  # Ray restarts it and retries its stage
        _wait_until_gone(owner_pid)  # only then answer: the held request must not reach the killed worker
        model.release.set()
        driver.join(180)
        assert not driver.is_alive()
    assert result["insights"]["errors"] == 0, result
    with store.session() as session:
        states = set(session.scalars(select(Episode.state)))
        per_episode = dict(session.execute(select(InsightRow.episode_id, func.count()).group_by(InsightRow.episode_id)).all())
        leased = session.scalar(select(func.count()).where(Episode.lease_owner.is_not(None)))
    assert states == {"extracted"} and leased == 0
    assert per_episode == {episode_id: 1 for episode_id in ids}  # every episode once, the killed one too
    assert model.cities.count(model.cities[0]) == 2  # asked again after the kill
    store.close()


def _wait_until_gone(pid: int, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
            if Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].startswith("Z"):
                return  # dead, waiting for its parent to reap it
        except (ProcessLookupError, FileNotFoundError):
            return
        time.sleep(0.05)
    pytest.fail(f"the killed worker (pid {pid}) is still running after {timeout_s} s")


def test_a_thousand_queued_episodes_never_have_more_leases_out_than_the_workers_take(local_ray, pg_settings):
    store = Store(pg_settings.db_url)
    queue(store, 1000, "new")  # no transcript links: each goes to speech-to-text at once
    most, done = [0], threading.Event()

    def watch() -> None:
        while not done.is_set():
            with store.session() as session:
                most[0] = max(most[0], session.scalar(select(func.count()).where(Episode.lease_owner.is_not(None))))
            time.sleep(0.01)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        summary = run(store, pg_settings, stages=("transcripts",), engine=Engine("ray", WORKERS))
    finally:
        done.set()
        watcher.join()
    assert summary["transcripts"]["needs_asr"] == 1000 and summary["transcripts"]["errors"] == 0
    assert 0 < most[0] <= WORKERS * CLAIM_BATCH, most[0]
    with store.session() as session:
        assert set(session.scalars(select(Episode.state))) == {"needs_asr"}
        assert session.scalar(select(func.max(Episode.attempts))) == 0  # each claimed once, then reset
    store.close()


def test_without_ray_installed_the_engine_says_how_to_get_it(monkeypatch):
    from podsight.errors import PodsightError
    from podsight.pipeline import engines

    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now raises ImportError
    with pytest.raises(PodsightError, match=r"pip install 'podsight\[ray\]'"):
        engines._import_ray()


def test_a_stale_completion_from_a_ray_worker_is_rejected(local_ray, pg_settings):
    """The worker stalls (its model request is held) while its lease is taken over and the episode finished
    by another worker; when it comes back its result is refused (LeaseLost) and nothing of it is stored."""
    from podsight.store import jobs

    store = Store(pg_settings.db_url)
    [held_id] = queue(store, 1, "transcribed", city_transcript)
    model = HoldFirst()
    with FakeLLMServer([model] * 10) as llm:
        pg_settings.llm_base_url = llm.base_url
        driver, result = extract_in_background(store, pg_settings, 1)
        assert model.asked.wait(120), "the worker never asked the model"
        with store.session() as session:  # the lease runs out while the worker waits for its answer
            session.get(Episode, held_id).lease_expires_at = datetime.now(timezone.utc) - timedelta(seconds=1)
        [taken] = jobs.claim(store, "transcribed", owner="another-worker", lease_s=600, limit=1, max_attempts=5)
        with store.session() as session:
            jobs.finish(session, taken, "extracted")
        model.release.set()
        driver.join(120)
        assert not driver.is_alive()
    assert result["insights"] == {"episodes": 0, "insights": 0, "dropped": 0, "errors": 1}, result
    with store.session() as session:
        assert session.get(Episode, held_id).state == "extracted"
        assert session.scalar(select(func.count()).select_from(InsightRow)) == 0  # the stale result was refused
    store.close()
