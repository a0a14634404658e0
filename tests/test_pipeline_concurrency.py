"""With an endpoint, the insight stage runs episodes side by side and keeps `llm_concurrency` requests in
flight in all, never more (tests/fake_llm_server.py, a named fake of a model server, counts them)."""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest
from fake_llm_server import FakeLLMServer
from servers import Static, serve
from test_pipeline_full import GROUNDED, TRANSCRIPT, answer

from podsight.pipeline import run
from podsight.store.queries import add_feed

pytestmark = pytest.mark.both_backends

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=timezone.utc)
CITIES = ("Lyon", "Oslo", "Porto", "Turin", "Leeds", "Ghent", "Basel")


class InFlight:
    """The fake model's side: holds each request until `wanted` are in flight at once (or 30 s), then
    answers; records the most it ever saw at once."""

    def __init__(self, wanted: int):
        self.wanted, self.now, self.peak, self.reached = wanted, 0, 0, False
        self.changed = threading.Condition()

    def __call__(self, request: dict) -> str:
        city = next(c for c in CITIES if c in json.dumps(request))
        with self.changed:
            self.now += 1
            self.peak = max(self.peak, self.now)
            self.reached = self.reached or self.now >= self.wanted
            self.changed.notify_all()
            self.changed.wait_for(lambda: self.reached, timeout=30)
        time.sleep(0.05)  # an answer takes a moment: the others stay in flight meanwhile
        with self.changed:
            self.now -= 1
        claim = GROUNDED["claim"].replace("battery pack prices", f"battery pack prices in {city}")
        quote = GROUNDED["quote"].replace("Battery pack prices", f"Battery pack prices in {city}")
        return answer({**GROUNDED, "claim": claim, "quote": quote})


def test_episodes_are_extracted_side_by_side_with_at_most_llm_concurrency_requests(settings, store):
    table: dict = {}
    with serve(table) as base:
        items = "".join(
            f"<item><title>Buses in {city}</title><guid>bus-{n}</guid>"
            f"<pubDate>{format_datetime(NOW - timedelta(hours=n + 1))}</pubDate>"
            f'<podcast:transcript url="{base}/t{n}.vtt" type="text/vtt"/></item>' for n, city in enumerate(CITIES))
        table["/feed.xml"] = Static(body='<rss version="2.0" xmlns:podcast="https://podcastindex.org/namespace/1.0">'
                                         f"<channel><title>Transit Talk</title>{items}</channel></rss>",
                                    headers={"Content-Type": "application/rss+xml"})
        for n, city in enumerate(CITIES):
            table[f"/t{n}.vtt"] = Static(body=TRANSCRIPT.replace("Battery pack prices", f"Battery pack prices in {city}"),
                                         headers={"Content-Type": "text/vtt"})
        with store.session() as session:
            add_feed(session, base + "/feed.xml")
        settings.backfill_episodes = len(CITIES)
        model = InFlight(wanted=3)
        with FakeLLMServer([model] * 50) as llm:
            settings.llm_base_url, settings.llm_concurrency = llm.base_url, 3
            summary = run(store, settings, now=NOW, stages=("scan", "transcripts", "insights"))
    assert summary["insights"] == {"episodes": len(CITIES), "insights": len(CITIES), "dropped": 0, "errors": 0}
    assert model.peak == 3  # three episodes at once, and never a fourth request beside them
    assert len(llm.requests) == len(CITIES)
