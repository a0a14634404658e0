"""What a page about one episode or one insight shows, read from the store as plain records (the CLI
prints them, `--json` dumps them, and the web app renders the same records)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from podsight.errors import PodsightError
from podsight.store.models import Episode, InsightRow
from podsight.store.queries import links_of

LINK_KINDS = ("corroborating", "contradicting", "related")


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


def _line(row: InsightRow) -> InsightLine:
    episode = row.episode
    return InsightLine(row.id, row.start_s, row.end_s, row.speaker, row.kind, row.claim, row.quote,
                       episode.feed.title or episode.feed.url, episode.title, episode.id)


def episode_page(session: Session, episode_id: int) -> EpisodePage:
    episode = session.get(Episode, episode_id)
    if episode is None:
        raise PodsightError(f"no episode {episode_id}; `podsight status` lists feeds and their episodes")
    rows = session.scalars(select(InsightRow).where(InsightRow.episode_id == episode_id).order_by(InsightRow.start_s))
    return EpisodePage(episode.id, episode.feed.title or episode.feed.url, episode.title,
                       episode.published_at.isoformat() if episode.published_at else None, episode.audio_url,
                       episode.duration_s, episode.state, episode.transcript_source, tuple(_line(r) for r in rows))


def insight_page(session: Session, insight_id: int) -> InsightPage:
    row = session.get(InsightRow, insight_id)
    if row is None:
        raise PodsightError(f"no insight {insight_id}; digests show each insight's id")
    links: dict[str, list[LinkedInsight]] = {kind: [] for kind in LINK_KINDS}
    for link, other in links_of(session, insight_id):
        links.setdefault(link.kind, []).append(LinkedInsight(_line(other), link.similarity, link.reason, link.judged_by))
    return InsightPage(_line(row), row.why, {kind: tuple(found) for kind, found in links.items()})
