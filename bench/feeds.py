"""Benchmark: podsight's feed scan against the sequential feedparser loop most podcast tools run.

    .venv/bin/python bench/feeds.py            # 1,000 feeds
    .venv/bin/python bench/feeds.py --feeds 200

Generates realistic podcast feeds (iTunes + Podcasting 2.0 tags, 20-50 items with long HTML show notes, a
few big back catalogues), serves them from a separate process on 16 loopback addresses (each stands for
one host, so the per-host limit applies as it would on the internet) with pre-rendered bytes and ETag/304
support, then times:

1. podsight: `poll_feeds_sync` over every feed (async httpx, conditional GET, lxml parsing);
2. the classic loop: `for url in urls: feedparser.parse(url)`;
3. a second podsight scan with the ETags from the first, where nothing changed (all 304).

feedparser needs ~0.1 s of CPU per feed, so by default it runs on 250 evenly spread feeds and its time is
scaled up (said so in the output); `--sample 0` runs it on all. `--latency-ms` adds a real host's time to
first byte to every answer: loopback has none, which hides what concurrency buys on the internet.
"""

from __future__ import annotations

import argparse
import hashlib
import multiprocessing
import random
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOSTS = 16
WORDS = ("the of and to in is that it was for on are with as his they be at one have this from or had by "
         "market data model guest host interview future economy climate research science startup founder "
         "policy history music story health brain sleep money invest growth energy network language").split()


# ---------------------------------------------------------------- feed generation


def _paragraphs(rng: random.Random, count: int) -> list[str]:
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(40, 120))).capitalize() + "." for _ in range(count)]


def render_feed(index: int, rng: random.Random, paragraphs: list[str]) -> bytes:
    """One feed: channel tags, then 20-50 items (about 2% of feeds have 300-600: long back catalogues)."""
    items = rng.randint(300, 600) if rng.random() < 0.02 else rng.randint(20, 50)
    rich = rng.random() < 0.5  # half the shows also publish content:encoded with fuller notes
    body = [f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"
 xmlns:podcast="https://podcastindex.org/namespace/1.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">
<channel><title>Show {index}: {rng.choice(WORDS).title()} Talk</title><link>https://show{index}.example.com/</link>
<description>{rng.choice(paragraphs)}</description><language>en-us</language>
<itunes:author>Host {index}</itunes:author><itunes:image href="https://cdn.example.com/{index}/cover.jpg"/>
<itunes:category text="Technology"/><podcast:person role="host">Host {index}</podcast:person>"""]
    for n in range(items, 0, -1):
        body.append(_render_item(index, n, rng, paragraphs, rich))
    body.append("</channel></rss>")
    return "".join(body).encode("utf-8")


def _render_item(feed: int, n: int, rng: random.Random, paragraphs: list[str], rich: bool) -> str:
    # Real show notes: a few paragraphs, sponsor links, often a timestamped outline (chapters by hand).
    notes = "".join(f"<p>{p}</p>" for p in rng.sample(paragraphs, rng.randint(1, 3)))
    notes += "<p><strong>Sponsors:</strong></p><ul>" + "".join(
        f'<li><a href="https://sponsor{k}.example.com/?ref=show{feed}">Sponsor {k}</a> &ndash; use code SHOW{feed}</li>'
        for k in range(rng.randint(1, 4))) + "</ul>"
    if rng.random() < 0.5:
        notes += "<p><b>Outline:</b><br/>" + "".join(
            f"({k // 60:02d}:{k % 60:02d}) &ndash; {' '.join(rng.choices(WORDS, k=5))}<br/>"
            for k in sorted(rng.sample(range(180), rng.randint(5, 15)))) + "</p>"
    content = f"<content:encoded><![CDATA[{notes}<p>{rng.choice(paragraphs)}</p>]]></content:encoded>" if rich else ""
    transcript = (f'<podcast:transcript url="https://show{feed}.example.com/{n}.vtt" type="text/vtt"/>'
                  if rng.random() < 0.3 else "")
    day = 1 + n % 28
    return (f"<item><title>Episode {n}: {' '.join(rng.choices(WORDS, k=6))}</title>"
            f'<guid isPermaLink="false">show-{feed}-ep-{n}</guid><link>https://show{feed}.example.com/ep/{n}</link>'
            f"<pubDate>Mon, {day:02d} Jan 2024 10:{n % 60:02d}:00 +0000</pubDate>"
            f'<enclosure url="https://cdn.example.com/{feed}/{n}.mp3" type="audio/mpeg" length="{rng.randint(10**7, 10**8)}"/>'
            f"<itunes:duration>{rng.randint(0, 2)}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}</itunes:duration>"
            f"<description><![CDATA[{notes}]]></description>{content}{transcript}</item>")


# ---------------------------------------------------------------- the feed server (its own process)


def _make_handler(responses: dict[str, tuple[bytes, bytes, bytes]], latency_s: float) -> type[BaseHTTPRequestHandler]:
    not_found = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802
            entry = responses.get(self.path)
            if entry is None:
                self.wfile.write(not_found)
                return
            full, not_modified, etag = entry
            if latency_s:
                time.sleep(latency_s)  # a real host's time to first byte
            match = self.headers.get("If-None-Match", "").encode() == etag
            self.wfile.write(not_modified if match else full)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


def _pre_render(feeds: list[bytes]) -> dict[str, tuple[bytes, bytes, bytes]]:
    """Whole responses as bytes, so serving is one write and the server is never the bottleneck."""
    responses = {}
    for i, body in enumerate(feeds):
        etag = b'"' + hashlib.sha1(body).hexdigest()[:16].encode() + b'"'
        head = (b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml; charset=utf-8\r\nETag: " + etag +
                b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n")
        responses[f"/feeds/{i}.xml"] = (head + body, b"HTTP/1.1 304 Not Modified\r\nETag: " + etag + b"\r\n\r\n", etag)
    return responses


def run_server(count: int, latency_s: float, connection) -> None:
    """Generate the feeds, serve them on 127.0.0.1..16, send back (ports, total bytes), serve until killed."""
    rng = random.Random(42)
    paragraphs = _paragraphs(rng, 400)
    feeds = [render_feed(i, rng, paragraphs) for i in range(count)]
    handler = _make_handler(_pre_render(feeds), latency_s)
    ports = []
    for host in range(1, HOSTS + 1):
        server = ThreadingHTTPServer((f"127.0.0.{host}", 0), handler)
        server.daemon_threads = True
        server.request_queue_size = 256
        threading.Thread(target=server.serve_forever, daemon=True).start()
        ports.append(server.server_address[1])
    connection.send((ports, sum(map(len, feeds)), max(map(len, feeds))))
    threading.Event().wait()


# ---------------------------------------------------------------- the runs


def podsight_scan(urls: list[str], etags: list[str | None] | None = None):
    from podsight.feeds.poll import PollRequest, poll_feeds_sync

    requests = [PollRequest(i, url, etags[i] if etags else None, None) for i, url in enumerate(urls)]
    started = time.perf_counter()
    # the feeds are served on loopback, which podsight refuses unless told (allow_private_addresses)
    results = poll_feeds_sync(requests, user_agent="podsight-bench", timeout_s=30, max_bytes=15 * 1024 * 1024,
                              per_host_limit=4, max_concurrency=64, max_redirects=5, allow_private=True)
    return time.perf_counter() - started, results


def feedparser_loop(urls: list[str]):
    import feedparser

    started = time.perf_counter()
    parsed = [feedparser.parse(url) for url in urls]
    return time.perf_counter() - started, parsed


def main(argv: list[str] | None = None) -> None:
    args = _arguments(argv)
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    server = context.Process(target=run_server, args=(args.feeds, args.latency_ms / 1000, child), daemon=True)
    server.start()
    try:
        ports, total_bytes, biggest = parent.recv()
        urls = [f"http://127.0.0.{1 + i % HOSTS}:{ports[i % HOSTS]}/feeds/{i}.xml" for i in range(args.feeds)]
        print(f"{args.feeds} feeds, {total_bytes / 1e6:.1f} MB in all (largest {biggest / 1e6:.1f} MB), "
              f"served from {HOSTS} loopback hosts with {args.latency_ms} ms latency; "
              f"podsight: 4 per host, 64 in all\n", flush=True)
        _report(urls, args.sample)
    finally:
        server.terminate()


def _report(urls: list[str], sample: int) -> None:
    first_s, first = podsight_scan(urls)
    bad = [r for r in first if r.outcome != "updated"]
    if bad:
        sys.exit(f"podsight scan failed for {len(bad)} feeds, e.g. {bad[0].url}: {bad[0].error}")
    episodes = sum(len(r.feed.episodes) for r in first)
    print(f"podsight scan (poll_feeds_sync) {first_s:8.2f} s   {episodes} episodes", flush=True)
    step = max(1, len(urls) // sample) if sample else 1
    loop_s, parsed = feedparser_loop(urls[::step])
    loop_s *= len(urls) / len(urls[::step])
    entries = sum(len(p.entries) for p in parsed)
    label = "sequential feedparser.parse" if step == 1 else f"feedparser, 1 in {step} feeds x{step}"
    print(f"{label:31s} {loop_s:8.2f} s   {entries} episodes"
          + (f" (podsight found {sum(len(r.feed.episodes) for r in first[::step])} in those)" if step > 1 else ""))
    print(f"speed-up                        {loop_s / first_s:8.1f} x")
    again_s, again = podsight_scan(urls, [r.etag for r in first])
    first_bytes, again_bytes = sum(r.bytes_received for r in first), sum(r.bytes_received for r in again)
    unchanged = sum(r.outcome == "not_modified" for r in again)
    print(f"re-scan, nothing changed        {again_s:8.2f} s   {unchanged}/{len(urls)} answered 304")
    print(f"bytes: first scan {first_bytes / 1e6:.1f} MB, re-scan {again_bytes / 1e3:.1f} kB "
          f"= {100 * again_bytes / first_bytes:.2f}% (headers included)")


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--feeds", type=int, default=1000, help="how many feeds to generate (default 1000)")
    parser.add_argument("--sample", type=int, default=250,
                        help="time feedparser on this many evenly spread feeds and scale up (0: all; default 250)")
    parser.add_argument("--latency-ms", type=int, default=0,
                        help="server waits this long before each answer, like a real host (default 0)")
    return parser.parse_args(argv)


if __name__ == "__main__":
    main()
