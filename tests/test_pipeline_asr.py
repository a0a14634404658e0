"""Episodes with audio only go through speech-to-text in the daily run: a real spoken clip served over
HTTP on 127.0.0.1, transcribed by the embedded Whisper tiny.en; bad audio is a stored reason."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

import pytest
from servers import Static, serve
from sqlalchemy import select

from podsight.pipeline import run
from podsight.pipeline.transcribe import load_segments
from podsight.store.models import Episode
from podsight.store.queries import add_feed

pytestmark = pytest.mark.slow
CLIP = Path(__file__).parent / "data" / "audio" / "clip.mp3"
NOW = datetime.now(timezone.utc)


def feed(base: str) -> str:
    items = "".join(
        f"<item><title>{title}</title><guid>{title}</guid><pubDate>{format_datetime(NOW - timedelta(hours=n + 1))}"
        f'</pubDate><enclosure url="{base}{path}" type="audio/mpeg" length="1"/></item>'
        for n, (title, path) in enumerate([("Farms", "/clip.mp3"), ("Broken", "/missing.mp3"), ("Page", "/page")])
    )
    return f'<rss version="2.0"><channel><title>Audio Only</title>{items}</channel></rss>'


def test_audio_only_episodes_are_transcribed_and_bad_audio_is_stored(settings, store):
    settings.asr_model = "whisper-tiny.en"
    table: dict = {}
    with serve(table) as base:
        table["/feed.xml"] = Static(body=feed(base), headers={"Content-Type": "application/rss+xml"})
        table["/clip.mp3"] = Static(body=CLIP.read_bytes(), headers={"Content-Type": "audio/mpeg"})
        table["/page"] = Static(body="<html><body>Subscribe!</body></html>", headers={"Content-Type": "text/html"})
        with store.session() as session:
            add_feed(session, base + "/feed.xml")
        summary = run(store, settings, stages=("scan", "transcripts", "asr"), now=NOW)

    assert summary["asr"] == {"transcribed": 1, "errors": 2}
    with store.session() as session:
        episodes = {e.title: e for e in session.scalars(select(Episode))}
        segments = load_segments(session, episodes["Farms"].id)
    assert episodes["Farms"].state == "transcribed"
    assert episodes["Farms"].transcript_source == "asr:whisper-tiny.en"
    text = " ".join(s.text for s in segments).lower()
    assert "rooftop garden" in text and segments[0].start < 2.0
    assert episodes["Broken"].state == "needs_asr" and "404" in episodes["Broken"].last_error
    assert episodes["Page"].state == "needs_asr" and "html" in episodes["Page"].last_error.lower()
    assert not list((settings.cache_dir / "audio").glob("asr-*")), "temporary audio must be removed"
