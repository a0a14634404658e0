"""What a page about one episode or one insight shows, read from the store as plain records (the CLI
prints them, `--json` dumps them, and the web app renders the same records). Also the archive's
records: digest days and insight kinds per week."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from podsight.errors import PodsightError
from podsight.store.models import DigestItemRow, DigestRow, Episode, InsightRow, TranscriptSegment
from podsight.store.queries import links_of

LINK_KINDS = ("corroborating", "contradicting", "related")


class NotFound(PodsightError):
    """No episode or insight with that id (the web app answers 404)."""


@dataclass(frozen=True)
class InsightLine:
    """One insight as a line in a list: enough to show it and link to it."""

    id: int
    start_s: float
    end_s: float
    speaker: str | None
    kind: str
    claim: str
    quote: str
    show: str
    episode: str
    episode_id: int


@dataclass(frozen=True)
class LinkedInsight:
    insight: InsightLine
    similarity: float
    reason: str
    judged_by: str | None


@dataclass(frozen=True)
class EpisodePage:
    id: int
    show: str
    title: str
    published: str | None
    audio_url: str | None
    duration_s: float | None
    state: str
    transcript_source: str | None
    insights: tuple[InsightLine, ...] = ()  # in time order


@dataclass(frozen=True)
class InsightPage:
    insight: InsightLine
    why: str
    links: dict[str, tuple[LinkedInsight, ...]] = field(default_factory=dict)  # by kind, closest first
    audio_url: str | None = None  # the episode's, for a link to the moment
    episode_link: str | None = None


@dataclass(frozen=True)
class SegmentLine:
    """One piece of an episode's transcript; kind "ad" or "intro" marks what is not the conversation."""

    id: int
    start_s: float
    end_s: float
    speaker: str | None
    text: str
    kind: str | None


@dataclass(frozen=True)
class DigestDay:
    """One day in a subscriber's archive: how many insights were sent and the top one's claim."""

    day: str
    items: int
    top_claim: str | None


def _line(row: InsightRow) -> InsightLine:
    episode = row.episode
    return InsightLine(row.id, row.start_s, row.end_s, row.speaker, row.kind, row.claim, row.quote,
                       episode.feed.title or episode.feed.url, episode.title, episode.id)


def episode_page(session: Session, episode_id: int) -> EpisodePage:
    episode = session.get(Episode, episode_id)
    if episode is None:
        raise NotFound(f"no episode {episode_id}; `podsight status` lists feeds and their episodes")
    rows = session.scalars(select(InsightRow).where(InsightRow.episode_id == episode_id).order_by(InsightRow.start_s))
    return EpisodePage(episode.id, episode.feed.title or episode.feed.url, episode.title,
                       episode.published_at.isoformat() if episode.published_at else None, episode.audio_url,
                       episode.duration_s, episode.state, episode.transcript_source, tuple(_line(r) for r in rows))


def insight_page(session: Session, insight_id: int) -> InsightPage:
    row = session.get(InsightRow, insight_id)
    if row is None:
        raise NotFound(f"no insight {insight_id}; digests show each insight's id")
    links: dict[str, list[LinkedInsight]] = {kind: [] for kind in LINK_KINDS}
    found = links_of(session, insight_id)
    episodes = preload_episodes(session, [other for _, other in found])
    for link, other in found:
        links.setdefault(link.kind, []).append(LinkedInsight(_line(other), link.similarity, link.reason, link.judged_by))
    del episodes  # held until here: the session's identity map keeps objects only weakly
    return InsightPage(_line(row), row.why, {kind: tuple(found) for kind, found in links.items()},
                       row.episode.audio_url, row.episode.link)


def preload_episodes(session: Session, rows: list[InsightRow]) -> list[Episode]:
    """Load the episodes and feeds of `rows` in one query: `row.episode` then comes from the session's
    identity map instead of one query per row (an insight with 40 links would cost 80 queries).
    Keep the returned list while using the rows: the identity map holds objects only weakly."""
    ids = {row.episode_id for row in rows}
    if not ids:
        return []
    return list(session.scalars(select(Episode).options(joinedload(Episode.feed)).where(Episode.id.in_(ids))))


def episode_transcript(session: Session, episode_id: int) -> tuple[SegmentLine, ...]:
    """Every segment of an episode's transcript, in order (empty before it is transcribed)."""
    rows = session.execute(
        select(TranscriptSegment.id, TranscriptSegment.start_s, TranscriptSegment.end_s, TranscriptSegment.speaker,
               TranscriptSegment.text, TranscriptSegment.kind)
        .where(TranscriptSegment.episode_id == episode_id).order_by(TranscriptSegment.idx))
    return tuple(SegmentLine(*row) for row in rows)


def digest_days(session: Session, subscriber_id: int) -> list[DigestDay]:
    """A subscriber's digests, newest first, each with its item count and first claim: two queries."""
    counts = session.execute(
        select(DigestRow.id, DigestRow.day, func.count(DigestItemRow.id))
        .outerjoin(DigestItemRow, DigestItemRow.digest_id == DigestRow.id)
        .where(DigestRow.subscriber_id == subscriber_id).group_by(DigestRow.id).order_by(DigestRow.day.desc())).all()
    tops = dict(session.execute(
        select(DigestItemRow.digest_id, InsightRow.claim).join(InsightRow, InsightRow.id == DigestItemRow.insight_id)
        .join(DigestRow, DigestRow.id == DigestItemRow.digest_id)
        .where(DigestRow.subscriber_id == subscriber_id, DigestItemRow.position == 0)).all())
    return [DigestDay(day, n, tops.get(digest_id)) for digest_id, day, n in counts]


def kinds_per_week(session: Session, subscriber_id: int, today: date, weeks: int = 12) -> list[tuple[str, Counter]]:
    """For each of the last `weeks` ISO weeks (oldest first, this one last), how many insights of each kind
    the subscriber's digests held. Weeks without digests are there, empty, so the chart's axis is even."""
    monday = today - timedelta(days=today.weekday())
    first = monday - timedelta(weeks=weeks - 1)
    rows = session.execute(
        select(DigestRow.day, InsightRow.kind, func.count())
        .join(DigestItemRow, DigestItemRow.digest_id == DigestRow.id)
        .join(InsightRow, InsightRow.id == DigestItemRow.insight_id)
        .where(DigestRow.subscriber_id == subscriber_id, DigestRow.day >= first.isoformat())
        .group_by(DigestRow.day, InsightRow.kind))
    starts = [first + timedelta(weeks=n) for n in range(weeks)]
    counts = {start: Counter() for start in starts}
    for day, kind, n in rows:
        try:
            parsed = date.fromisoformat(day)
        except ValueError:  # a hand-edited day: skip it rather than break the chart
            continue
        week = parsed - timedelta(days=parsed.weekday())
        if week in counts:
            counts[week][kind] += n
    return [(_week_label(start), counts[start]) for start in starts]


def _week_label(monday: date) -> str:
    year, week, _ = monday.isocalendar()
    return f"{year}-W{week:02d}"
