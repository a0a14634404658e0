"""Benchmark: many episodes through scan, transcripts, insights and links, one machine, against a slow model.

    .venv/bin/python bench/scale.py                              # 2,000 episodes, SQLite, both configurations
    .venv/bin/python bench/scale.py --episodes 200 --database postgresql
    .venv/bin/python bench/scale.py --episodes 2000 --only concurrent

Synthetic shows (one feed per 20 episodes) publish a WebVTT transcript per episode: a host's questions and a
guest's answers, each answer a few sentences with a number in it. Feeds and transcripts are served from a
separate process on 127.0.0.1. The model is a FAKE: an OpenAI-compatible server in another process that
answers every request after `--latency-ms` (200 ms: a hosted model's time for a short answer), with the
passage's own number sentence as the claim and picks in order for the "choose" request, so every request
costs the same and the pipeline's own work is what differs. The embedder (all-MiniLM-L6-v2 in numpy),
the database and every check are real.

Configurations, each on a fresh database:
- sequential: `llm_concurrency = 1`, one request at a time, as before this benchmark existed;
- concurrent: `llm_concurrency = --concurrency` (32), episodes side by side, requests bounded in all;
- ray: `--engine ray` with `--workers` (2) Ray actors, each with its share of `--concurrency` in flight
  (the stage's vectors and model loading happen once per actor).

Printed per configuration: wall time per stage, episodes per minute, model requests, and the orchestration
cost per episode: claiming and committing leases alone (no work), timed on the same database afterwards.
PostgreSQL runs on Debian's binaries in a throwaway cluster (tests/postgres_server.py).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import re
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # postgres_server.py

EPISODES_PER_FEED = 20
NOW = datetime.now(timezone.utc)
TOPICS = ("battery storage", "city buses", "sleep research", "pricing power", "remote teams", "soil carbon",
          "open source funding", "rural broadband", "wind turbines", "school meals", "drug trials", "ocean freight")
NOUNS = ("costs", "delays", "margins", "errors", "outages", "yields", "prices", "queues", "budgets", "signups")


# ---------------------------------------------------------------- the shows (served from another process)


def transcript(episode: int) -> str:
    rng = random.Random(episode)
    topic = rng.choice(TOPICS)
    cues, t = ["WEBVTT", ""], 300.0  # past any introduction

    def cue(speaker: str, text: str) -> None:
        nonlocal t
        end = t + len(text.split()) * 0.4
        cues.extend([f"{_ts(t)} --> {_ts(end)}", f"<v {speaker}>{text}", ""])
        t = end + 0.5

    for answer in range(3):
        noun, number = rng.choice(NOUNS), rng.randint(5, 95)
        cue("Ada Host", f"What changed in {topic} for {noun} in episode {episode}?")
        cue("Bo Guest", f"Across the {topic} projects tracked in region {episode}-{answer}, {noun} fell by "
                        f"{number} percent once teams measured them every week instead of every quarter. "
                        f"Most of the gain came from catching problems early, because a weekly number "
                        f"shows a trend while a quarterly one only shows a surprise. The teams that "
                        f"stopped measuring lost the gain within a year.")
    return "\n".join(cues)


def _ts(seconds: float) -> str:
    return f"{int(seconds // 3600):02d}:{int(seconds % 3600 // 60):02d}:{seconds % 60:06.3f}"


def feed(base: str, number: int) -> str:
    first = number * EPISODES_PER_FEED
    items = "".join(
        f"<item><title>Episode {n}</title><guid>ep-{n}</guid>"
        f"<pubDate>{format_datetime(NOW - timedelta(minutes=n))}</pubDate>"
        f'<podcast:transcript url="{base}/t/{n}.vtt" type="text/vtt"/></item>'
        for n in range(first, first + EPISODES_PER_FEED))
    return ('<rss version="2.0" xmlns:podcast="https://podcastindex.org/namespace/1.0"><channel>'
            f"<title>Show {number}</title><itunes:author xmlns:itunes='http://www.itunes.com/dtds/podcast-1.0.dtd'>"
            f"Ada Host</itunes:author>{items}</channel></rss>")


def serve_shows(port_out, feeds: int) -> None:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            base = f"http://127.0.0.1:{self.server.server_address[1]}"
            if m := re.fullmatch(r"/f/(\d+)\.xml", self.path):
                body, kind = feed(base, int(m.group(1))).encode(), "application/rss+xml"
            elif m := re.fullmatch(r"/t/(\d+)\.vtt", self.path):
                body, kind = transcript(int(m.group(1))).encode(), "text/vtt"
            else:
                self.send_error(404)
                return
            _reply(self, body, kind)

        def log_message(self, *args):
            pass

    _serve(Handler, port_out)


def _reply(handler: BaseHTTPRequestHandler, body: bytes, kind: str) -> None:
    handler.send_response(200)
    handler.send_header("Content-Type", kind)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def _serve(handler: type[BaseHTTPRequestHandler], port_out) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    port_out.put(server.server_address[1])
    server.serve_forever()


# ---------------------------------------------------------------- the FAKE model server (another process)


def serve_fake_model(port_out, latency_s: float, counter) -> None:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):  # noqa: N802
            request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            time.sleep(latency_s)
            with counter.get_lock():
                counter.value += 1
            content = json.dumps(_answer(request))
            body = json.dumps({"id": "fake", "object": "chat.completion", "model": "fake",
                               "choices": [{"index": 0, "finish_reason": "stop",
                                            "message": {"role": "assistant", "content": content}}],
                               "usage": {"prompt_tokens": 200, "completion_tokens": 40}}).encode()
            _reply(self, body, "application/json")

        def log_message(self, *args):
            pass

    _serve(Handler, port_out)


def _answer(request: dict) -> dict:
    system, user = request["messages"][0]["content"], request["messages"][-1]["content"]
    if "numbered passages" in system:
        return {"picks": list(range(1, len(re.findall(r"^\[\d+\]", user, re.MULTILINE)) + 1))}
    sentence = next((s for s in re.split(r"(?<=[.!?])\s+", user) if re.search(r"\d+ percent", s)), user)
    claim = re.sub(r"^[^:]{1,40}:\s*", "", sentence).strip()
    return {"claim": claim[0].upper() + claim[1:], "kind": "data_point"}


def start(target, *args) -> tuple[multiprocessing.Process, int]:
    port_out = multiprocessing.Queue()
    process = multiprocessing.Process(target=target, args=(port_out, *args), daemon=True)
    process.start()
    return process, port_out.get(timeout=30)


# ---------------------------------------------------------------- one configuration


def run_config(name: str, concurrency: int, database_url: str | None, shows: str, model: str, episodes: int,
               counter, workers: int = 0) -> dict:
    from podsight.config import Settings
    from podsight.embed import load_embedder
    from podsight.pipeline import run
    from podsight.pipeline.engines import Engine
    from podsight.store.db import Store
    from podsight.store.queries import add_feed

    home = Path(tempfile.mkdtemp(prefix=f"podsight-scale-{name}-"))
    settings = Settings(home=home, database_url=database_url, allow_private_addresses=True, secret_key="bench",
                        llm_base_url=model, llm_model="fake", llm_concurrency=concurrency,
                        backfill_episodes=EPISODES_PER_FEED, max_new_episodes_per_scan=EPISODES_PER_FEED,
                        link_judge_pairs=0, max_concurrency=32)
    store = Store(settings.db_url)
    with store.session() as session:
        for number in range(episodes // EPISODES_PER_FEED):
            add_feed(session, f"{shows}/f/{number}.xml")
    embedder = load_embedder(settings.embed_model)
    row = {"config": name, "llm_concurrency": concurrency, "episodes": episodes}
    engine = Engine("ray", workers) if workers else Engine()
    before = counter.value
    started = time.monotonic()
    for stage in ("scan", "transcripts", "insights", "links"):
        t0 = time.monotonic()
        counts = run(store, settings, stages=(stage,), embedder=embedder, engine=engine)[stage]
        row[f"{stage}_s"] = round(time.monotonic() - t0, 1)
        row[f"{stage}_counts"] = counts
        print(f"  {name}: {stage} {row[f'{stage}_s']} s {counts}", flush=True)
    row["wall_s"] = round(time.monotonic() - started, 1)
    row["episodes_per_minute"] = round(episodes / row["wall_s"] * 60, 1)
    row["model_requests"] = counter.value - before
    row["orchestration_ms_per_episode"] = orchestration_ms(store, settings)
    store.close()
    return row


def orchestration_ms(store, settings, episodes: int = 200) -> float:
    """Claim one episode, commit it through its lease, and move on: the per-episode cost of the job queue
    with no work in between, on the configuration's own database."""
    from sqlalchemy import update

    from podsight.store import jobs
    from podsight.store.models import Episode

    with store.session() as session:  # the extracted episodes, queued again for this measurement only
        ids = [e for (e,) in session.execute(update(Episode).where(Episode.state == "extracted")
                                             .values(state="transcribed").returning(Episode.id)).all()][:episodes]
    started = time.monotonic()
    for _ in ids:
        [lease] = jobs.claim(store, "transcribed", owner="bench", lease_s=600, limit=1, max_attempts=99)
        with store.session() as session:
            jobs.finish(session, lease, "extracted")
    return round((time.monotonic() - started) / max(len(ids), 1) * 1000, 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--episodes", type=int, default=2000)
    parser.add_argument("--latency-ms", type=float, default=200.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="sqlite")
    parser.add_argument("--only", choices=("sequential", "concurrent", "ray"))
    parser.add_argument("--workers", type=int, default=2, help="Ray actors in the ray configuration.")
    parser.add_argument("--json", type=Path, help="Also write the rows here.")
    args = parser.parse_args()
    episodes = max(EPISODES_PER_FEED, args.episodes // EPISODES_PER_FEED * EPISODES_PER_FEED)
    print(f"{os.cpu_count()} CPUs; {episodes} episodes; the fake model answers in {args.latency_ms:.0f} ms", flush=True)

    counter = multiprocessing.Value("i", 0)
    shows_process, shows_port = start(serve_shows, episodes // EPISODES_PER_FEED)
    model_process, model_port = start(serve_fake_model, args.latency_ms / 1000, counter)
    shows, model = f"http://127.0.0.1:{shows_port}", f"http://127.0.0.1:{model_port}/v1"
    # Ray: `--workers` actors, each keeping its share of the requests in flight
    configs = [("sequential", 1, 0), ("concurrent", args.concurrency, 0),
               ("ray", max(1, args.concurrency // args.workers), args.workers)]
    configs = [c for c in configs if args.only in (None, c[0])]
    backends = ("sqlite", "postgresql") if args.database == "both" else (args.database,)
    rows = []
    try:
        for backend in backends:
            for name, concurrency, workers in configs:
                if backend == "postgresql":
                    from postgres_server import PostgresServer, find_binaries
                    with PostgresServer.start(find_binaries()) as server:
                        rows.append({"database": backend, **run_config(name, concurrency, server.new_database(),
                                                                       shows, model, episodes, counter, workers)})
                else:
                    rows.append({"database": backend, **run_config(name, concurrency, None, shows, model, episodes,
                                                                   counter, workers)})
    finally:
        shows_process.terminate()
        model_process.terminate()
    print(f"\n{'database':<11}{'config':<12}{'wall s':>8}{'ep/min':>8}{'insights s':>11}{'requests':>9}"
          f"{'orch ms/ep':>11}")
    for row in rows:
        print(f"{row['database']:<11}{row['config']:<12}{row['wall_s']:>8}{row['episodes_per_minute']:>8}"
              f"{row['insights_s']:>11}{row['model_requests']:>9}{row['orchestration_ms_per_episode']:>11}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2, default=str))


if __name__ == "__main__":
    main()
