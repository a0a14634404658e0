"""Transcript stage, runner side: fetch and parse publisher transcripts; queue the rest for speech-to-text."""

from __future__ import annotations

import asyncio
import logging

import httpx

from podsight.config import Settings
from podsight.errors import PodsightError
from podsight.http import fetch, make_client
from podsight.insights.sponsor import intro_mask, sponsor_mask
from podsight.records import Segment, TranscriptLink
from podsight.store import episodes, jobs
from podsight.store.db import Store
from podsight.store.jobs import Lease, LeaseLost
from podsight.transcripts.parse import choose_transcript, parse_transcript

from .work import claims

log = logging.getLogger("podsight.pipeline")

CLAIM_BATCH = 200  # episodes fetched concurrently (settings.max_concurrency at a time) under one claim


def fetch_transcripts(store: Store, settings: Settings, progress=None) -> dict[str, int]:
    """The `new` episodes, claimed in batches: transcript stored (-> transcribed), none published
    (-> needs_asr), or an error stored on the episode (retried next run, `failed` after settings.max_attempts).
    Whatever goes wrong with one episode's transcript is that episode's error, never the stage's."""
    counts = {"transcribed": 0, "needs_asr": 0, "errors": 0}
    with claims(store, settings, "new") as queue:
        if progress:
            progress.start("Fetching transcripts", queue.waiting())
        while leases := queue.take(CLAIM_BATCH):
            with queue.heartbeat.holding(leases):
                links = episodes.transcript_links(store, leases)
                results = asyncio.run(_fetch_all(settings, [(lease, links[lease.episode_id]) for lease in leases],
                                                 progress))
                for lease, outcome in results:
                    state = _store_safely(store, settings, lease, outcome)
                    counts[state if state in counts else "errors"] += 1
    return counts


async def _fetch_all(settings: Settings, todo, progress):
    async with make_client(settings.user_agent, settings.fetch_timeout_s, settings.max_concurrency,
                           allow_private=settings.allow_private_addresses) as client:
        async def one(lease, links):
            try:
                outcome = await _best_transcript(client, settings, [TranscriptLink(**link) for link in links])
            except Exception as exc:  # e.g. a hand-edited links column: still this episode's error alone
                outcome = describe(exc)
            if progress:
                progress.advance()
            return lease, outcome

        return await asyncio.gather(*(one(lease, links) for lease, links in todo))


async def _best_transcript(client: httpx.AsyncClient, settings: Settings, links: list[TranscriptLink]):
    """Try the links best-first; returns (url, segments), None when there are no links, or an error string."""
    if not links:
        return None
    errors = []
    for link in _preference_order(links):
        try:
            result = await fetch(client, link.url, max_bytes=settings.max_feed_bytes, max_redirects=settings.max_redirects,
                                 deadline_s=settings.fetch_deadline_s)
            segments = parse_transcript(result.content, _content_type(link, result.content_type), link.url)
            return link.url, segments
        except Exception as exc:  # not only FetchError: a URL httpx refuses, JSON nested past the recursion limit
            errors.append(f"{link.url}: {describe(exc)}")
    return "; ".join(errors)


def describe(exc: Exception) -> str:
    """An error for `podsight status`: podsight's own messages are written for users as they are; anything
    else gets its type, since "Invalid IPv6 URL" alone does not say where it came from."""
    if isinstance(exc, PodsightError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def _content_type(link: TranscriptLink, served: str | None) -> str | None:
    """The feed's declared type, but the server's header when it agrees, since that one carries the charset."""
    if served and (not link.mime_type or served.split(";")[0].strip().lower() == link.mime_type.lower()):
        return served
    return link.mime_type or served


def _preference_order(links: list[TranscriptLink]) -> list[TranscriptLink]:
    best = choose_transcript(links)
    return ([best] if best else []) + [link for link in links if link is not best]


def _store_safely(store: Store, settings: Settings, lease: Lease, outcome) -> str:
    """Store one episode's outcome; should storing itself fail (a transcript the ad/intro masks trip on),
    that becomes the episode's error, and the other episodes are still stored."""
    if isinstance(outcome, str):  # every link failed: the errors, joined
        jobs.fail(store, lease, f"transcript: {outcome}", settings.max_attempts)
        return "failed"
    try:
        if outcome is None:
            episodes.finish_without_transcript(store, lease)
            return "needs_asr"
        url, segments = outcome
        store_transcript(store, lease, segments, source=url)
        return "transcribed"
    except LeaseLost as exc:
        log.warning("%s; its transcript is dropped", exc)
        return "lost"
    except Exception as exc:
        log.exception("storing the transcript of episode %d failed", lease.episode_id)
        jobs.fail(store, lease, f"transcript: {describe(exc)}", settings.max_attempts)
        return "failed"


def store_transcript(store: Store, lease: Lease, segments: list[Segment], *, source: str) -> None:
    """The episode now has a transcript (publisher's or speech-to-text), each segment marked when it is a
    sponsor read or an introduction (the masks the insight stage applies): on to the insight stage."""
    episodes.save_transcript(store, lease, segments, segment_kinds(segments), source=source)


def segment_kinds(segments: list[Segment]) -> list[str | None]:
    """"ad", "intro" or None (the conversation) for each segment."""
    ads, intros = sponsor_mask(segments), intro_mask(segments)
    return ["ad" if ad else "intro" if intro else None for ad, intro in zip(ads, intros)]
