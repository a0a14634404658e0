"""The episode stages' questions and answers (transcripts, speech-to-text, insights), in records.

Each stage reads what it needs for one claimed episode, computes without the database, and commits its
result through the lease (`jobs.finish`): a worker whose lease was taken over commits nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from podsight.records import ExtractionReport, Person, Segment

from . import jobs
from .db import Store
from .jobs import Lease
from .models import Episode, InsightRow, TranscriptSegment


def transcript_links(store: Store, leases: Sequence[Lease]) -> dict[int, list[dict]]:
    """Each leased episode's transcript links, as the scan stored them."""
    with store.session() as session:
        return {lease.episode_id: session.get(Episode, lease.episode_id).transcript_links for lease in leases}


def audio_of(store: Store, episode_id: int) -> tuple[str | None, tuple[Person, ...]]:
    """The episode's audio URL and who speaks in it (`episode_persons`)."""
    with store.session() as session:
        episode = session.get(Episode, episode_id)
        return episode.audio_url, episode_persons(episode)


def episode_persons(episode: Episode) -> tuple[Person, ...]:
    """Who speaks: the episode's `podcast:person`s, plus the feed's author as the host when they list no
    host (feeds often list only the guest; the author is usually the host)."""
    persons = tuple(Person(p["name"], p.get("role") or "host") for p in episode.persons or [] if p.get("name"))
    if episode.feed.author and not any(p.role.strip().lower() == "host" for p in persons):
        persons += (Person(episode.feed.author, "host"),)
    return persons


def transcript_of(store: Store, episode_id: int) -> tuple[list[Segment], list[str]]:
    """The episode's transcript and the names of the people the feed lists for it."""
    with store.session() as session:
        episode = session.get(Episode, episode_id)
        return load_segments(session, episode_id), [p["name"] for p in episode.persons or []]


def queued_transcripts(store: Store, state: str, limit: int) -> list[tuple[int, list[Segment]]]:
    """The transcripts of up to `limit` episodes waiting in `state`, oldest first."""
    with store.session() as session:
        return [(episode_id, load_segments(session, episode_id)) for episode_id in jobs.queued_ids(session, state, limit)]


def finish_without_transcript(store: Store, lease: Lease) -> None:
    """No publisher transcript: the episode waits for speech-to-text."""
    with store.session() as session:
        jobs.finish(session, lease, "needs_asr")


def save_transcript(store: Store, lease: Lease, segments: Sequence[Segment], kinds: Sequence[str | None], *,
                    source: str) -> None:
    """The episode's transcript (replacing any it had), each segment with its kind ("ad", "intro" or None);
    the episode moves on to the insight stage."""
    with store.session() as session:
        episode = jobs.finish(session, lease, "transcribed")
        replace_segments(session, episode.id, segments, kinds)
        episode.transcript_source = source


def replace_segments(session: Session, episode_id: int, segments: Sequence[Segment],
                      kinds: Sequence[str | None]) -> None:
    session.execute(delete(TranscriptSegment).where(TranscriptSegment.episode_id == episode_id))
    session.add_all(
        TranscriptSegment(episode_id=episode_id, idx=i, start_s=s.start, end_s=s.end, speaker=s.speaker, text=s.text,
                          kind=kind)
        for i, (s, kind) in enumerate(zip(segments, kinds))
    )


def save_extraction(store: Store, lease: Lease, report: ExtractionReport, vectors: Sequence[bytes],
                    embed_model: str) -> None:
    """The episode's insights (replacing any it had: a rerun writes the same), each with its packed claim
    vector, and the report `podsight status` shows; the episode is extracted."""
    with store.session() as session:
        episode = jobs.finish(session, lease, "extracted")
        session.execute(delete(InsightRow).where(InsightRow.episode_id == episode.id))
        session.add_all(InsightRow(episode_id=episode.id, **asdict(insight), embedding=vector, embed_model=embed_model)
                        for insight, vector in zip(report.insights, vectors))
        episode.extraction = {
            "chunks": report.chunks,
            "insights": len(report.insights),
            "chunks_skipped": list(report.chunks_skipped),
            "dropped": list(report.dropped),
            "tokens_in": report.tokens_in,
            "tokens_out": report.tokens_out,
        }


def load_segments(session: Session, episode_id: int) -> list[Segment]:
    rows = session.scalars(
        select(TranscriptSegment).where(TranscriptSegment.episode_id == episode_id).order_by(TranscriptSegment.idx)
    )
    return [Segment(start=r.start_s, end=r.end_s, text=r.text, speaker=r.speaker) for r in rows]
