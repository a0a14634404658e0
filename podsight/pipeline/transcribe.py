"""Transcript stage, runner side: fetch and parse publisher transcripts; queue the rest for speech-to-text."""

from __future__ import annotations

import asyncio
import logging

import httpx
from sqlalchemy import delete, select

from podsight.config import Settings
from podsight.errors import PodsightError
from podsight.http import fetch, make_client
from podsight.insights.sponsor import intro_mask, sponsor_mask
from podsight.records import Segment, TranscriptLink
from podsight.store.db import Store
from podsight.store.models import Episode, TranscriptSegment
from podsight.transcripts.parse import choose_transcript, parse_transcript

log = logging.getLogger("podsight.pipeline")


def fetch_transcripts(store: Store, settings: Settings, progress=None) -> dict[str, int]:
    """Every episode in state `new`: transcript stored (-> transcribed), none published (-> needs_asr),
    or an error stored on the episode (retried next run, `failed` after settings.max_attempts).
    Whatever goes wrong with one episode's transcript is that episode's error, never the stage's."""
    with store.session() as session:
        todo = [(e.id, e.transcript_links) for e in session.scalars(select(Episode).where(Episode.state == "new"))]
    if progress:
        progress.start("Fetching transcripts", len(todo))
    results = asyncio.run(_fetch_all(settings, todo, progress))
    counts = {"transcribed": 0, "needs_asr": 0, "errors": 0}
    for episode_id, outcome in results:
        state = _store_safely(store, settings, episode_id, outcome)
        counts[state if state in counts else "errors"] += 1
    return counts


async def _fetch_all(settings: Settings, todo, progress):
    async with make_client(settings.user_agent, settings.fetch_timeout_s, settings.max_concurrency,
                           allow_private=settings.allow_private_addresses) as client:
        async def one(episode_id, links):
            try:
                outcome = await _best_transcript(client, settings, [TranscriptLink(**link) for link in links])
            except Exception as exc:  # e.g. a hand-edited links column: still this episode's error alone
                outcome = describe(exc)
            if progress:
                progress.advance()
            return episode_id, outcome

        return await asyncio.gather(*(one(eid, links) for eid, links in todo))


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


def _store_safely(store: Store, settings: Settings, episode_id: int, outcome) -> str:
    """Store one episode's outcome; should storing itself fail (a transcript the ad/intro masks trip on),
    that becomes the episode's error, and the other episodes are still stored."""
    try:
        with store.session() as session:
            return _store_outcome(session, settings, session.get(Episode, episode_id), outcome)
    except Exception as exc:
        log.exception("storing the transcript of episode %d failed", episode_id)
        with store.session() as session:
            record_failure(session.get(Episode, episode_id), settings, f"transcript: {describe(exc)}")
            return session.get(Episode, episode_id).state


def _store_outcome(session, settings: Settings, episode: Episode, outcome) -> str:
    if outcome is None:
        episode.state, episode.last_error = "needs_asr", None
    elif isinstance(outcome, str):
        record_failure(episode, settings, f"transcript: {outcome}")
    else:
        url, segments = outcome
        store_transcript(session, episode, segments, source=url)
    return episode.state


def record_failure(episode: Episode, settings: Settings, message: str) -> None:
    """Keep the reason for `podsight status`; after settings.max_attempts tries the episode is `failed`."""
    episode.attempts += 1
    episode.last_error = message
    if episode.attempts >= settings.max_attempts:
        episode.state = "failed"


def store_transcript(session, episode: Episode, segments: list[Segment], *, source: str) -> None:
    """The episode now has a transcript (publisher's or speech-to-text): on to the insight stage."""
    save_segments(session, episode.id, segments)
    episode.state, episode.transcript_source, episode.last_error, episode.attempts = "transcribed", source, None, 0


def save_segments(session, episode_id: int, segments: list[Segment]) -> None:
    """Replace the episode's transcript (idempotent: a rerun writes the same rows), each segment marked
    when it is a sponsor read or an introduction (the same masks the insight stage applies)."""
    session.execute(delete(TranscriptSegment).where(TranscriptSegment.episode_id == episode_id))
    kinds = segment_kinds(segments)
    session.add_all(
        TranscriptSegment(episode_id=episode_id, idx=i, start_s=s.start, end_s=s.end, speaker=s.speaker, text=s.text,
                          kind=kind)
        for i, (s, kind) in enumerate(zip(segments, kinds))
    )


def segment_kinds(segments: list[Segment]) -> list[str | None]:
    """"ad", "intro" or None (the conversation) for each segment."""
    ads, intros = sponsor_mask(segments), intro_mask(segments)
    return ["ad" if ad else "intro" if intro else None for ad, intro in zip(ads, intros)]


def load_segments(session, episode_id: int) -> list[Segment]:
    rows = session.scalars(
        select(TranscriptSegment).where(TranscriptSegment.episode_id == episode_id).order_by(TranscriptSegment.idx)
    )
    return [Segment(start=r.start_s, end=r.end_s, text=r.text, speaker=r.speaker) for r in rows]
