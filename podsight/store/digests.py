"""A stored digest as the `Digest` record that email, Atom, the CLI and the web all show, read in two
queries: the items in one joined query, every linked insight (the same claim elsewhere, the claims disputing
it) in another. The one builder for all of them; `pipeline.digest_view` adds the signed links an email carries.
"""

from __future__ import annotations

from sqlalchemy import bindparam, select, union_all
from sqlalchemy.orm import Session

from podsight.digest.render import timestamp_url
from podsight.digest.sources import add_once
from podsight.records import Digest, DigestItem, Source
from podsight.store.models import DigestItemRow, DigestRow, Episode, Feed, InsightLink, InsightRow

SHOWN_LINK_KINDS = ("corroborating", "contradicting")
MAX_SOURCES = 4  # per item and kind: enough to show agreement, short enough for an email

# Built once: constructing a statement costs more than running it on a small result, and SQLAlchemy
# caches the compiled SQL of a statement object it sees again.
_ITEMS = (
    select(DigestItemRow.insight_id, DigestItemRow.score, DigestItemRow.reasons, InsightRow.claim, InsightRow.why,
           InsightRow.quote, InsightRow.speaker, InsightRow.kind, InsightRow.start_s, Episode.id, Episode.title,
           Episode.audio_url, Episode.link, Feed.title, Feed.url)
    .join(InsightRow, InsightRow.id == DigestItemRow.insight_id).join(Episode, Episode.id == InsightRow.episode_id)
    .join(Feed, Feed.id == Episode.feed_id)
    .where(DigestItemRow.digest_id == bindparam("digest_id")).order_by(DigestItemRow.position)
)


def _linked_statement():
    """Links are stored once per pair (lower id first), so both ends are asked, as one union."""
    ids, wanted = bindparam("ids", expanding=True), InsightLink.kind.in_(SHOWN_LINK_KINDS)
    pairs = union_all(
        select(InsightLink.insight_id.label("mine"), InsightLink.other_id.label("other"), InsightLink.kind,
               InsightLink.similarity, InsightLink.reason).where(InsightLink.insight_id.in_(ids), wanted),
        select(InsightLink.other_id, InsightLink.insight_id, InsightLink.kind, InsightLink.similarity,
               InsightLink.reason).where(InsightLink.other_id.in_(ids), wanted),
    ).subquery()
    return (select(pairs.c.mine, pairs.c.kind, pairs.c.reason, InsightRow.speaker, InsightRow.quote,
                   InsightRow.start_s, Episode.title, Episode.audio_url, Episode.link, Feed.title, Feed.url)
            .join(InsightRow, InsightRow.id == pairs.c.other).join(Episode, Episode.id == InsightRow.episode_id)
            .join(Feed, Feed.id == Episode.feed_id).order_by(pairs.c.similarity.desc()))


_LINKED = _linked_statement()


def read_digest(session: Session, row: DigestRow, email: str) -> tuple[Digest, dict[int, int]]:
    """The digest record and, per insight id, its episode id (for links to the episode page)."""
    items = session.execute(_ITEMS, {"digest_id": row.id}).all()
    sources = linked_sources(session, [item.insight_id for item in items])
    records = tuple(_item(item, *sources.get(item.insight_id, ((), ()))) for item in items)
    return Digest(subscriber_email=email, day=row.day, items=records), {i.insight_id: i[9] for i in items}


def _item(row, also_said: tuple[Source, ...], disputed_by: tuple[Source, ...]) -> DigestItem:
    (insight_id, score, reasons, claim, why, quote, speaker, kind, start_s, _, episode_title, audio_url, link,
     show_title, feed_url) = row
    return DigestItem(insight_id=insight_id, claim=claim, why=why, quote=quote, speaker=speaker, kind=kind,
                      start_s=start_s, show_title=show_title or feed_url, episode_title=episode_title,
                      episode_url=timestamp_url(audio_url or link, start_s), score=score,
                      reasons=tuple(reasons or ()), also_said=also_said, disputed_by=disputed_by)


def linked_sources(session: Session, insight_ids: list[int]) -> dict[int, tuple[tuple[Source, ...], tuple[Source, ...]]]:
    """Per insight: (the same claim elsewhere, the claims disputing it), closest first, at most
    MAX_SOURCES of each, as the email shows them."""
    if not insight_ids:
        return {}
    rows = session.execute(_LINKED, {"ids": list(insight_ids)})
    found: dict[int, tuple[list[Source], list[Source]]] = {}
    for mine, kind, reason, speaker, quote, start_s, episode_title, audio_url, link, show_title, feed_url in rows:
        same, disputes = found.setdefault(mine, ([], []))
        bucket = same if kind == "corroborating" else disputes
        add_once(bucket, Source(show_title=show_title or feed_url, episode_title=episode_title, speaker=speaker,
                                quote=quote, url=timestamp_url(audio_url or link, start_s),
                                reason=reason if kind == "contradicting" else ""), MAX_SOURCES)
    return {mine: (tuple(same), tuple(disputes)) for mine, (same, disputes) in found.items()}
