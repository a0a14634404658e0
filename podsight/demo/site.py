"""Every document the demo server serves, built once per server start.

Feeds are rendered from the catalog with the server's own base URL, and their dates are set relative to
an *anchor*: the UTC midnight at or before the server's start. Each episode is published a fixed
number of hours before it, so the feeds always hold episodes from the last two days, and every run on
the same day produces the very same bytes (same ETag). Transcripts and the audio-only episodes' MP3s are the
committed files under `content/`, served as they are; an episode with a transcript has no audio (its
enclosure is a 404), so its enclosure length and duration are what its script would take to say.
"""

from __future__ import annotations

import hashlib
import math
import struct
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from podsight.demo.audio import load_rendered, mp3_path
from podsight.demo.catalog import SHOWS, DemoEpisode, DemoShow
from podsight.demo.script import load_script

CONTENT_DIR = Path(__file__).parent / "content"
TEMPLATE_DIR = Path(__file__).parent / "templates"
AUDIO_BYTES_PER_SECOND = 16_000  # a 128 kbit/s MP3: the enclosure length of an episode the demo has no audio for

CONTENT_TYPES = {
    ".vtt": "text/vtt; charset=utf-8",
    ".srt": "application/x-subrip; charset=utf-8",
    ".json": "application/json",
    ".html": "text/html; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".mp3": "audio/mpeg",
}
RSS_TYPE = "application/rss+xml; charset=utf-8"


@dataclass(frozen=True)
class Resource:
    """One servable document with the validators for conditional GET."""

    body: bytes
    content_type: str
    last_modified: datetime

    @property
    def etag(self) -> str:
        """A strong ETag from the bytes: identical content, identical tag."""
        return '"' + hashlib.sha256(self.body).hexdigest()[:20] + '"'


def anchor_for(moment: datetime) -> datetime:
    """The UTC midnight at or before `moment` (naive datetimes are taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)


def published_at(episode: DemoEpisode, anchor: datetime) -> datetime:
    """When an episode was published, for a server anchored at `anchor`."""
    return anchor - timedelta(hours=episode.hours_before_anchor)


def feed_path(show: DemoShow) -> str:
    return f"/feeds/{show.slug}.xml"


def _hms(seconds: int) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}"


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=select_autoescape(["j2"], default_for_string=True),
        undefined=StrictUndefined,  # a typo in a template fails loudly instead of printing nothing
        keep_trailing_newline=True,
    )
    env.filters["rfc822"] = lambda moment: format_datetime(moment, usegmt=True)
    env.filters["hms"] = _hms
    return env


def enclosure_facts(show: DemoShow, episode: DemoEpisode) -> tuple[int, int]:
    """(itunes:duration in whole seconds, enclosure length in bytes): the real MP3's where the demo has
    one, else what the script would take to say at 128 kbit/s."""
    rendered = load_rendered(episode.slug)
    if rendered is not None:
        return math.ceil(rendered.duration_s), rendered.size_bytes
    duration = load_script(show, episode).duration_s
    return duration, duration * AUDIO_BYTES_PER_SECOND + 4_096


def _feed_items(show: DemoShow, anchor: datetime) -> list[dict[str, object]]:
    """Template values per episode, newest first as feeds list them."""
    items = []
    for episode in show.episodes:
        duration, audio_bytes = enclosure_facts(show, episode)
        items.append(
            {
                "episode": episode,
                "published": published_at(episode, anchor),
                "duration_s": duration,
                "audio_bytes": audio_bytes,
                "transcripts": episode.transcript_files(),
            }
        )
    return sorted(items, key=lambda item: item["published"], reverse=True)


def render_feed(env: Environment, show: DemoShow, base: str, anchor: datetime) -> Resource:
    """The RSS 2.0 feed of one show; Last-Modified is its newest episode."""
    items = _feed_items(show, anchor)
    xml = env.get_template("feed.xml.j2").render(
        show=show, items=items, base=base, anchor=anchor, feed_url=base + feed_path(show)
    )
    return Resource(xml.encode("utf-8"), RSS_TYPE, items[0]["published"])


def solid_png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A one-colour PNG, built with zlib so the demo ships no binary artwork."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + bytes(rgb) * width  # filter byte 0, then RGB pixels
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    pixels = zlib.compress(row * height, 9)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def _transcript_resources(anchor: datetime) -> dict[str, Resource]:
    """Every committed transcript file, dated as its episode."""
    resources = {}
    for show in SHOWS:
        for episode in show.episodes:
            for name, _mime in episode.transcript_files():
                body = (CONTENT_DIR / "transcripts" / name).read_bytes()
                content_type = CONTENT_TYPES[Path(name).suffix]
                resources[f"/transcripts/{name}"] = Resource(body, content_type, published_at(episode, anchor))
    return resources


def _audio_resources(anchor: datetime) -> dict[str, Resource]:
    """The committed MP3 of every episode that has one (the audio-only episodes), dated as its episode."""
    resources = {}
    for show in SHOWS:
        for episode in show.episodes:
            path = mp3_path(episode.slug)
            if path.exists():
                body = path.read_bytes()
                resources[f"/audio/{path.name}"] = Resource(body, CONTENT_TYPES[".mp3"], published_at(episode, anchor))
    return resources


def build_site(base: str, moment: datetime) -> dict[str, Resource]:
    """URL path -> document, for a server reachable at `base` and started at `moment`."""
    env = _environment()
    anchor = anchor_for(moment)
    shows = [(show, base + feed_path(show)) for show in SHOWS]
    site = {feed_path(show): render_feed(env, show, base, anchor) for show in SHOWS}
    site.update(_transcript_resources(anchor))
    site.update(_audio_resources(anchor))
    for show in SHOWS:
        site[f"/art/{show.slug}.png"] = Resource(solid_png(300, 300, show.artwork_rgb), "image/png", anchor)
    opml = env.get_template("opml.xml.j2").render(shows=shows, base=base, anchor=anchor)
    site["/demo.opml"] = Resource(opml.encode("utf-8"), "text/x-opml; charset=utf-8", anchor)
    index = env.get_template("index.html.j2").render(shows=shows, base=base)
    site["/"] = Resource(index.encode("utf-8"), "text/html; charset=utf-8", anchor)
    return site
