"""The records that flow between stages.

Stages take and return these frozen dataclasses; only the pipeline runner turns them into rows
(`podsight.store`). Keeping them free of SQLAlchemy lets a stage run in a thread, a process or a
Ray worker.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property

from podsight.htmltext import html_to_text


@dataclass(frozen=True)
class Person:
    """A `podcast:person` (or an iTunes author): who speaks on a show or an episode."""

    name: str
    role: str = "host"  # Podcasting 2.0 roles: host, guest, ...
    href: str | None = None


@dataclass(frozen=True)
class TranscriptLink:
    """A `podcast:transcript` element: where the publisher's transcript lives and in what format."""

    url: str
    mime_type: str | None = None  # e.g. text/vtt, application/x-subrip, application/json, text/html
    language: str | None = None
    rel: str | None = None  # "captions" marks caption-style files


@dataclass(frozen=True)
class ParsedEpisode:
    """One `<item>` / `<entry>` of a feed, as the publisher describes it."""

    guid: str | None
    title: str
    link: str | None = None
    published: datetime | None = None  # timezone-aware (UTC) when the feed gives a date
    audio_url: str | None = None
    audio_type: str | None = None
    audio_bytes: int | None = None
    duration_s: float | None = None
    notes: str = ""  # the show notes as published (often HTML)
    transcripts: tuple[TranscriptLink, ...] = ()
    chapters_url: str | None = None
    persons: tuple[Person, ...] = ()

    @cached_property
    def description(self) -> str:
        """The show notes as plain text, converted on first use: a first scan records a feed's whole back
        catalogue but keeps notes only for the few episodes it will process, and the conversion is a
        third of the parsing time (bench/feeds.py)."""
        return html_to_text(self.notes)

    @property
    def key(self) -> str:
        """Stable identity: the GUID, else a hash of enclosure URL + title."""
        if self.guid and self.guid.strip():
            return self.guid.strip()
        basis = f"{self.audio_url or ''}\n{self.title.strip()}"
        return "sha1:" + hashlib.sha1(basis.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ParsedFeed:
    """A whole feed document after parsing."""

    title: str
    link: str | None = None
    description: str = ""
    language: str | None = None
    image_url: str | None = None
    author: str | None = None
    persons: tuple[Person, ...] = ()
    episodes: tuple[ParsedEpisode, ...] = ()


@dataclass(frozen=True)
class Segment:
    """A timed piece of transcript text. Times are seconds from the start of the audio."""

    start: float
    end: float
    text: str
    speaker: str | None = None


@dataclass(frozen=True)
class Insight:
    """A claim extracted from an episode and verified against its transcript."""

    claim: str  # self-contained, 1-3 sentences
    why: str  # why it matters
    speaker: str | None
    quote: str  # verbatim text as it stands in the transcript (the code found it there)
    kind: str  # claim | prediction | advice | data_point | story
    importance: float  # 0..1, the model's judgement
    start_s: float
    end_s: float
    model: str
    prompt_version: str
    match_score: float = 100.0  # how closely the model's quote matched the transcript (0..100)


@dataclass(frozen=True)
class ExtractionReport:
    """What one episode's extraction did: kept insights and everything that was dropped, with reasons."""

    insights: tuple[Insight, ...]
    chunks: int
    chunks_skipped: tuple[str, ...] = ()  # one readable reason per skipped chunk
    dropped: tuple[str, ...] = ()  # one readable reason per dropped insight (quote not found, ...)
    tokens_in: int = 0  # spent by this run: answers from podsight's cache cost nothing
    tokens_out: int = 0
    # What the extraction costs, cached or not (what a first run pays): all the prompts sent, the part of
    # them the server reused from its prompt cache, and the answers.
    prompt_tokens: int = 0
    reused_prompt_tokens: int = 0
    completion_tokens: int = 0


@dataclass(frozen=True)
class Source:
    """Another episode's insight linked to a digest item: the same claim elsewhere, or a dispute of it."""

    show_title: str
    episode_title: str
    speaker: str | None
    quote: str
    url: str | None  # audio or episode page at the quote's second
    reason: str = ""  # the judge's one-line reason, for a dispute


@dataclass(frozen=True)
class DigestItem:
    """One insight as it appears in a digest, with everything needed to render it."""

    insight_id: int
    claim: str
    why: str
    quote: str
    speaker: str | None
    kind: str
    start_s: float
    show_title: str
    episode_title: str
    episode_url: str | None  # audio or episode page, with a time fragment at the quote's second
    score: float
    reasons: tuple[str, ...] = field(default_factory=tuple)
    also_said: tuple[Source, ...] = ()  # the same claim in other episodes or shows
    disputed_by: tuple[Source, ...] = ()  # claims elsewhere that contradict this one
    vote_up_url: str | None = None  # signed feedback links
    vote_down_url: str | None = None


@dataclass(frozen=True)
class Digest:
    """One subscriber's digest for one day."""

    subscriber_email: str
    day: str  # ISO date in the subscriber's timezone
    items: tuple[DigestItem, ...]
    unsubscribe_url: str | None = None
