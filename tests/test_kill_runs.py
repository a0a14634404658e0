"""`kill -9` at any point of `podsight run`, then a rerun to completion: nothing half-written, nothing twice.

A real `podsight --home H run --now` subprocess (.venv/bin/podsight) works against real servers started
here on 127.0.0.1: feeds and transcripts (tests/servers.py), tests/fake_llm_server.py (a scripted fake of
an OpenAI-compatible endpoint, named as such; chunk-format answers, PODSIGHT_EXTRACTION=chunks, like the
other pipeline tests) and aiosmtpd for mail. The child's env: PODSIGHT_ALLOW_PRIVATE_ADDRESSES=true (all
on loopback), PODSIGHT_SECRET_KEY, PODSIGHT_LLM_BASE_URL, PODSIGHT_SMTP_*; `run --now` so the digests do not
wait for the send hour. It is killed with SIGKILL again and again, in rounds that each
start from the same freshly set-up home:

- on a server event, so every stage is hit on purpose: while a feed request is in flight (scan), a
  transcript request (transcripts), an extraction request (insights), a pair-judging request (links), an
  SMTP command (delivery: before the message is taken, or after it is taken but before podsight hears
  the 250);
- when the database shows the stage's work half done, read from this process (SQLite in WAL mode lets a
  reader look while `podsight run` writes): the first digest of three committed (digests);
- after a random delay in [0, T], T a normal run's duration measured first.

All choices come from one seeded random generator. After every kill the database must be consistent (no
insight rows for an episode that is not `extracted`, an extracted episode has exactly the insights its
report counts, a transcribed episode its whole transcript, every link unique and between linked insights,
every digest its items and its two outbox rows, no email sent twice); after the rerun to completion every
subscriber has exactly one digest for the day and got it once by email, or its email delivery is marked
`unknown` (the message may have arrived; never resent automatically), never twice.

About 110 s on a loaded 2-core machine: 37 runs (a normal one, 28 killed, 8 to completion), each loading
the embedding model. Prints how many kills left which stage unfinished.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email import message_from_bytes
from email.utils import format_datetime
from pathlib import Path

import pytest
from fake_llm_server import FakeLLMServer
from servers import Request, Static, serve
from test_pipeline_full import GROUNDED, TRANSCRIPT, answer

from podsight.config import Settings
from podsight.store.db import Store
from podsight.store.queries import add_feed, add_subscriber

PODSIGHT = Path(sys.executable).parent / "podsight"
SEED = 20261130
FEEDS, EPISODES = 3, 2  # per feed; the first scan takes the newest 3 (backfill_episodes)
SUBSCRIBERS = {"all@example.com": [0, 1, 2], "one@example.com": [0], "two@example.com": [1, 2]}
STAGES = ("scan", "transcripts", "insights", "links", "digests", "deliver")
JUDGE_PROMPT = "You compare two claims"  # the links stage's pair judge (podsight/links/judge.py)
RUN_TIMEOUT_S = 120


# --- what the servers see, and the kill they may trigger ---------------------------------------------

class Killer:
    """Counts events ("feed", "transcript", "extract", "judge", "smtp-rcpt", "smtp-data-before",
    "smtp-data-after") and sends SIGKILL to the armed process at the n-th one of the armed kind."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counts: Counter = Counter()
        self.proc: subprocess.Popen | None = None
        self.kind: str | None = None
        self.nth = 0
        self.fired = threading.Event()

    def arm(self, proc: subprocess.Popen, kind: str | None, nth: int = 1) -> None:
        with self.lock:
            self.proc, self.kind, self.nth, self.counts = proc, kind, nth, Counter()
            self.fired.clear()

    def saw(self, kind: str) -> None:
        with self.lock:
            self.counts[kind] += 1
            if self.kind == kind and self.counts[kind] == self.nth and self.proc is not None:
                self.kill()

    def kill_now(self) -> None:
        with self.lock:
            self.kill()

    def kill(self) -> None:  # with the lock held
        if self.proc is not None and not self.fired.is_set() and self.proc.poll() is None:
            # fired first: the test thread may see the process die (and read `fired`) before the line
            # after os.kill runs in this server thread
            self.fired.set()
            os.kill(self.proc.pid, signal.SIGKILL)  # the process this test started, by its id


class Sink:
    """aiosmtpd handler: keeps every message, and tells the killer about RCPT and DATA. A kill at
    "smtp-data-after" happens once the message is taken, before podsight reads the server's 250."""

    def __init__(self, killer: Killer) -> None:
        self.killer = killer
        self.messages: list = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 (aiosmtpd API)
        self.killer.saw("smtp-rcpt")
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.killer.saw("smtp-data-before")
        self.messages.append(message_from_bytes(envelope.content))
        self.killer.saw("smtp-data-after")
        return "250 Message accepted"


CITIES = ("Lyon", "Oslo", "Porto", "Turin", "Leeds", "Ghent")  # one per episode


def city_of(feed: int, episode: int) -> str:
    return CITIES[feed * EPISODES + episode]


def transcript(feed: int, episode: int) -> str:
    # each episode's claim names its own city: no request (extraction or judging a pair) is the same as
    # another's, so none is answered from podsight's LLM cache instead of reaching the fake
    return TRANSCRIPT.replace("Battery pack prices", f"Battery pack prices in {city_of(feed, episode)}")


def insight_about(city: str) -> str:
    """The model's chunk-format answer: GROUNDED, about `city`."""
    quote = GROUNDED["quote"].replace("Battery pack prices", f"Battery pack prices in {city}")
    claim = GROUNDED["claim"].replace("battery pack prices", f"battery pack prices in {city}")
    return answer({**GROUNDED, "quote": quote, "claim": claim})


def rss(base: str, feed: int, now: datetime) -> str:
    items = "".join(
        f"<item><title>Show {feed} episode {n}</title><guid>s{feed}-e{n}</guid>"
        f"<pubDate>{format_datetime(now - timedelta(hours=n + 1))}</pubDate>"
        f'<podcast:transcript url="{base}/t{feed}-{n}.vtt" type="text/vtt"/></item>'
        for n in range(EPISODES)
    )
    return ('<rss version="2.0" xmlns:podcast="https://podcastindex.org/namespace/1.0"><channel>'
            f"<title>Show {feed}</title>{items}</channel></rss>")


@dataclass
class World:
    env: dict
    template: Path  # a home with the feeds and subscribers, copied for each round
    killer: Killer
    sink: Sink
    llm: FakeLLMServer
    tmp: Path
    on_extract: list  # functions called with the episode's city before the fake model answers


@pytest.fixture
def world(tmp_path: Path):
    from aiosmtpd.controller import Controller
    from conftest import free_port

    killer = Killer()
    sink = Sink(killer)
    smtp = Controller(sink, hostname="127.0.0.1", port=free_port())
    smtp.start()
    now = datetime.now(timezone.utc)

    def on(kind: str, answer_: Static):
        def route(request: Request) -> Static:
            killer.saw(kind)
            return answer_
        return route

    on_extract: list = []

    def model(request: dict):
        judging = JUDGE_PROMPT in json.dumps(request)
        killer.saw("judge" if judging else "extract")
        if judging:
            return json.dumps({"relation": "corroborating", "reason": "both report battery prices falling"})
        city = next(city for city in CITIES if city in json.dumps(request))
        for hook in on_extract:
            hook(city)
        return insight_about(city)

    table: dict = {}
    try:
        with serve(table) as base, FakeLLMServer([model] * 100_000) as llm:
            for f in range(FEEDS):
                table[f"/feed{f}.xml"] = on("feed", Static(body=rss(base, f, now),
                                                           headers={"Content-Type": "application/rss+xml"}))
                for n in range(EPISODES):
                    table[f"/t{f}-{n}.vtt"] = on("transcript", Static(body=transcript(f, n),
                                                                      headers={"Content-Type": "text/vtt"}))
            template = tmp_path / "template"
            store = Store(Settings(home=template, secret_key="k").db_url)
            with store.session() as session:
                feeds = [add_feed(session, f"{base}/feed{f}.xml")[0] for f in range(FEEDS)]
                for email, followed in SUBSCRIBERS.items():
                    add_subscriber(session, email, "UTC", 7, "", [feeds[i] for i in followed])
            store.close()
            with sqlite3.connect(template / "podsight.db") as db:
                db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # one file to copy
            env = {k: v for k, v in os.environ.items() if not k.startswith("PODSIGHT_")}
            env.update({
                "PODSIGHT_EXTRACTION": "chunks", "PODSIGHT_ALLOW_PRIVATE_ADDRESSES": "true",
                "PODSIGHT_SECRET_KEY": "test-secret", "PODSIGHT_LLM_BASE_URL": llm.base_url,
                "PODSIGHT_SMTP_HOST": "127.0.0.1", "PODSIGHT_SMTP_PORT": str(smtp.port),
                "PODSIGHT_SMTP_SECURITY": "none", "PODSIGHT_FETCH_TIMEOUT_S": "5",
                "PODSIGHT_LLM_TIMEOUT_S": "30", "PODSIGHT_SMTP_TIMEOUT_S": "10",
                "PODSIGHT_LLM_CONCURRENCY": "1",  # one episode at a time per run, as with the embedded model
            })
            yield World(env, template, killer, sink, llm, tmp_path, on_extract)
    finally:
        smtp.stop()


# --- running and killing ------------------------------------------------------------------------------

def start(world: World, home: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen([str(PODSIGHT), "--home", str(home), "run", "--now", "--json", *args], cwd=world.tmp,
                            env=world.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)


def finish(proc: subprocess.Popen) -> tuple[int, str, str]:
    try:
        out, err = proc.communicate(timeout=RUN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        pytest.fail(f"podsight run hung for {RUN_TIMEOUT_S} s: {err.decode()[-2000:]}")
    return proc.returncode, out.decode(), err.decode()


def watch_db(home: Path, proc: subprocess.Popen, killer: Killer, query: str, at_least: int) -> threading.Thread:
    """Kill `proc` as soon as `query` (a count) reaches `at_least` in its database."""

    def poll() -> None:
        path = home / "podsight.db"
        while proc.poll() is None and not killer.fired.is_set():
            try:
                with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=0.2) as db:
                    count = db.execute(query).fetchone()[0]
                db.close()
            except sqlite3.Error:
                count = 0  # not created or migrated yet
            if count >= at_least:
                killer.kill_now()
                return
            time.sleep(0.005)

    thread = threading.Thread(target=poll, daemon=True)
    thread.start()
    return thread


def kill_run(world: World, home: Path, trigger: tuple) -> tuple[bool, str]:
    """Start `podsight run`, kill it at `trigger`; whether the kill landed (the run had not ended), and the
    run's stderr."""
    kind, arg = trigger
    proc = start(world, home)
    if kind == "timer":
        world.killer.arm(proc, None)
        timer = threading.Timer(arg, world.killer.kill_now)
        timer.start()
    elif kind == "db":
        world.killer.arm(proc, None)
        watch_db(home, proc, world.killer, *arg)
    else:
        world.killer.arm(proc, kind, arg)
    rc, _, err = finish(proc)
    if kind == "timer":
        timer.cancel()
    fired = world.killer.fired.is_set()
    world.killer.arm(None, None)
    if fired:
        assert rc == -signal.SIGKILL, (rc, err[-2000:])
        return True, err
    assert rc == 0, err[-2000:]  # the trigger came too late: the run finished
    return False, err


# --- the database, read from here ----------------------------------------------------------------------

def rows(home: Path, sql: str, *args) -> list[tuple]:
    with sqlite3.connect(home / "podsight.db") as db:
        found = db.execute(sql, args).fetchall()
    db.close()
    return found


def stage_left_unfinished(home: Path) -> str:
    """The first stage whose work the database shows unfinished ("done" when none)."""
    if rows(home, "SELECT 1 FROM feeds WHERE last_checked_at IS NULL"):
        return "scan"
    if rows(home, "SELECT 1 FROM episodes WHERE state = 'new'"):
        return "transcripts"
    if rows(home, "SELECT 1 FROM episodes WHERE state = 'transcribed'"):
        return "insights"
    if rows(home, "SELECT 1 FROM insights WHERE linked_model IS NULL"):
        return "links"
    if len(rows(home, "SELECT 1 FROM digests")) < len(SUBSCRIBERS):
        return "digests"
    if rows(home, "SELECT 1 FROM deliveries WHERE status IN ('pending', 'sending')"):
        return "deliver"
    return "done"


def assert_consistent(home: Path, mails: Counter) -> None:
    """What must hold at any moment a run can stop at."""
    states = dict(rows(home, "SELECT id, state FROM episodes"))
    assert set(states.values()) <= {"new", "transcribed", "extracted"}, states
    insight_episodes = Counter(e for (e,) in rows(home, "SELECT episode_id FROM insights"))
    assert all(states[e] == "extracted" for e in insight_episodes), ("insights of an unextracted episode",
                                                                    states, insight_episodes)
    for episode, extraction in rows(home, "SELECT id, extraction FROM episodes WHERE state = 'extracted'"):
        assert insight_episodes[episode] == json.loads(extraction)["insights"], (episode, extraction)
    segments: dict[int, list[int]] = {}
    for episode, idx in rows(home, "SELECT episode_id, idx FROM segments ORDER BY episode_id, idx"):
        segments.setdefault(episode, []).append(idx)
    for episode, state in states.items():
        expected = list(range(len(TRANSCRIPT.split("-->")) - 1)) if state != "new" else []
        assert segments.get(episode, []) == expected, (episode, state, segments.get(episode))
    links = rows(home, "SELECT insight_id, other_id FROM insight_links")
    assert len(links) == len(set(links)) and all(a < b for a, b in links), links
    unlinked = {i for (i,) in rows(home, "SELECT id FROM insights WHERE linked_model IS NULL")}
    assert not unlinked & {i for pair in links for i in pair}, "a link to an insight not marked linked"
    digests = rows(home, "SELECT d.id, s.email, d.day FROM digests d JOIN subscribers s ON s.id = d.subscriber_id")
    assert len({(email, day) for _, email, day in digests}) == len(digests), digests
    for digest_id, email, _ in digests:
        assert rows(home, "SELECT count(*) FROM digest_items WHERE digest_id = ?", digest_id)[0][0] >= 1
        channels = sorted(c for (c,) in rows(home, "SELECT channel FROM deliveries WHERE digest_id = ?", digest_id))
        assert channels == ["email", "file"], (digest_id, channels)
    email_status = Counter()
    for email, status in rows(home, "SELECT s.email, v.status FROM deliveries v JOIN digests d ON d.id = v.digest_id "
                                    "JOIN subscribers s ON s.id = d.subscriber_id WHERE v.channel = 'email'"):
        email_status[email, status] += 1
    for email in SUBSCRIBERS:
        sent = email_status[email, "sent"]
        maybe = email_status[email, "unknown"] + email_status[email, "sending"]
        assert sent <= mails[email] <= sent + maybe, (email, mails[email], dict(email_status))
        assert mails[email] <= 1, f"{email} got {mails[email]} emails"


# --- the test ------------------------------------------------------------------------------------------

def plan(rng: random.Random, normal_s: float) -> list[list[tuple]]:
    """Rounds of kills, each round from a fresh home: four walk the pipeline, one kill per stage, each run
    resuming what the killed one left; four more kill one run each at a random moment of a whole run."""
    staged = [[
        ("feed", rng.randint(1, FEEDS)),
        ("transcript", rng.randint(1, FEEDS * EPISODES)),
        ("extract", rng.randint(1, FEEDS * EPISODES)),
        ("judge", rng.randint(1, 5)),
        ("db", ("SELECT count(*) FROM digests", 1)),  # the first of three digests committed
        (smtp, rng.randint(1, len(SUBSCRIBERS))),
    ] for smtp in ("smtp-rcpt", "smtp-data-before", "smtp-data-after", "smtp-data-after")]
    timed = [[("timer", rng.uniform(0, normal_s))] for _ in range(4)]
    return staged + timed


def test_kill_9_at_random_points_then_a_rerun_finishes_with_nothing_twice(world: World):
    started = time.monotonic()
    rng = random.Random(SEED)

    # a normal run, measured: T for the random kills, and the outcome every round must reach
    home = world.tmp / "normal"
    shutil.copytree(world.template, home)
    before = time.monotonic()
    rc, out, err = finish(start(world, home))
    normal_s = time.monotonic() - before
    assert rc == 0, err[-2000:]
    summary = json.loads(out)  # `run --json` keeps its progress on stderr: stdout is the JSON alone
    assert summary["insights"]["episodes"] == FEEDS * EPISODES and summary["digests"]["digests"] == len(SUBSCRIBERS)
    assert summary["links"]["judged"] >= 5, summary
    assert sorted(m["To"] for m in world.sink.messages) == sorted(SUBSCRIBERS)
    world.sink.messages.clear()

    kills: list[tuple[str, str]] = []  # (trigger, stage the database shows unfinished)
    unknown = 0
    for number, triggers in enumerate(plan(rng, normal_s)):
        home = world.tmp / f"round{number}"
        shutil.copytree(world.template, home)
        world.sink.messages.clear()
        for trigger in triggers:
            landed, _ = kill_run(world, home, trigger)
            mails = Counter(m["To"] for m in world.sink.messages)
            assert_consistent(home, mails)
            if landed:
                kills.append((trigger[0], stage_left_unfinished(home)))
        rc, out, err = finish(start(world, home))  # the rerun to completion
        assert rc == 0, err[-2000:]
        mails = Counter(m["To"] for m in world.sink.messages)
        assert_consistent(home, mails)
        assert stage_left_unfinished(home) == "done", (triggers, out, rows(home, "SELECT subscriber_id, day FROM digests"),
                                                       rows(home, "SELECT id, feed_id, state FROM episodes"))
        assert {s for (s,) in rows(home, "SELECT state FROM episodes")} == {"extracted"}
        assert len(rows(home, "SELECT 1 FROM insights")) == FEEDS * EPISODES
        digests = rows(home, "SELECT s.email, d.day FROM digests d JOIN subscribers s ON s.id = d.subscriber_id")
        assert sorted(email for email, _ in digests) == sorted(SUBSCRIBERS), digests  # one each
        statuses = dict(rows(home, "SELECT s.email, v.status FROM deliveries v JOIN digests d ON d.id = v.digest_id "
                                   "JOIN subscribers s ON s.id = d.subscriber_id WHERE v.channel = 'email'"))
        for email in SUBSCRIBERS:
            assert statuses[email] in ("sent", "unknown"), statuses
            assert mails[email] == 1 if statuses[email] == "sent" else mails[email] <= 1, (email, mails, statuses)
            unknown += statuses[email] == "unknown"
        for email, day in digests:
            assert (home / "digests" / email.replace("@", "_") / f"{day}.html").exists()
        assert {s for (s,) in rows(home, "SELECT status FROM deliveries WHERE channel = 'file'")} == {"sent"}

    took = time.monotonic() - started
    hit = Counter(stage for _, stage in kills)
    print(f"\n{len(kills)} kills in {took:.0f} s (a normal run: {normal_s:.1f} s); stage left unfinished at each: "
          f"{dict(hit)}; by trigger: {Counter(k for k, _ in kills)}; email deliveries left unknown: {unknown}")
    assert len(kills) >= 20, kills
    assert set(STAGES) <= set(hit), f"no kill left these stages unfinished: {set(STAGES) - set(hit)}"


class TwoEpisodesAtOnce:
    """Holds every extraction request until requests about two different episodes have come in (or 60 s):
    a run works on one episode at a time, so only two runs working side by side can get past it."""

    def __init__(self) -> None:
        self.cities: set[str] = set()
        self.ready = threading.Condition()

    def __call__(self, city: str) -> None:
        with self.ready:
            self.cities.add(city)
            self.ready.notify_all()
            self.ready.wait_for(lambda: len(self.cities) >= 2, timeout=60)


def test_two_runs_side_by_side_share_the_episodes_and_extract_each_once(world: World):
    home = world.tmp / "shared"
    shutil.copytree(world.template, home)
    rc, _, err = finish(start(world, home, "--stage", "scan"))
    assert rc == 0, err[-2000:]
    gate = TwoEpisodesAtOnce()
    world.on_extract.append(gate)
    runs = [start(world, home), start(world, home)]
    results = [finish(run) for run in runs]
    for rc, _, err in results:
        assert rc == 0, err[-2000:]  # neither refused the other
    extracted = [json.loads(out)["insights"]["episodes"] for _, out, _ in results]
    assert min(extracted) >= 1 and sum(extracted) == FEEDS * EPISODES, extracted
    assert len(gate.cities) == FEEDS * EPISODES
    asked = Counter(next(c for c in CITIES if c in json.dumps(r["json"])) for r in world.llm.requests
                    if JUDGE_PROMPT not in json.dumps(r["json"]))
    assert set(asked.values()) == {1}, asked  # no episode extracted twice
    rc, _, err = finish(start(world, home))  # whatever stage one run skipped while the other held the lock
    assert rc == 0, err[-2000:]
    assert_consistent(home, Counter(m["To"] for m in world.sink.messages))
    assert stage_left_unfinished(home) == "done"
    assert sorted(m["To"] for m in world.sink.messages) == sorted(SUBSCRIBERS)  # one digest each, once
