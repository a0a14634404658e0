"""Turning stored digest rows into the `Digest` record that renderers and senders take: each item with
the other episodes that said the same, the claims that dispute it, and signed vote links."""

from __future__ import annotations

from podsight.config import Settings
from podsight.digest.render import timestamp_url
from podsight.digest.sources import add_once
from podsight.digest.tokens import seal, sign, unseal, verify
from podsight.records import Digest, DigestItem, Source
from podsight.store.models import DigestRow, InsightRow
from podsight.store.queries import links_of

MAX_SOURCES = 4  # per item and kind: enough to show agreement, short enough for an email


def unsubscribe_url(settings: Settings, email: str) -> str:
    """The subscriber's unsubscribe link: the email inside is encrypted (links land in proxy logs,
    browser history and forwarded mails), and signed."""
    token = seal(settings.signing_key(), "unsubscribe", email)
    return f"{settings.base_url.rstrip('/')}/unsubscribe/{token}"


def read_unsubscribe_token(settings: Settings, token: str) -> str | None:
    """The email from a link made by `unsubscribe_url`; links from before sealing (email signed in clear)
    still work. None for a bad or forged token."""
    email = unseal(settings.signing_key(), "unsubscribe", token)
    if email is None:
        legacy = verify(settings.signing_key(), "unsubscribe", token)
        email = legacy if legacy and "@" in legacy else None
    return email


def vote_url(settings: Settings, subscriber_id: int, insight_id: int, vote: int) -> str:
    """A link that records a thumbs up (vote 1) or down (-1) for one subscriber and insight."""
    token = sign(settings.signing_key(), "feedback", f"{subscriber_id}:{insight_id}:{vote}")
    return f"{settings.base_url.rstrip('/')}/feedback/{token}"


def digest_record(session, settings: Settings, row: DigestRow) -> Digest:
    items = tuple(_item(session, settings, item, row.subscriber_id) for item in row.items)
    email = row.subscriber.email
    return Digest(subscriber_email=email, day=row.day, items=items, unsubscribe_url=unsubscribe_url(settings, email))


def _source(insight: InsightRow, reason: str = "") -> Source:
    episode = insight.episode
    return Source(show_title=episode.feed.title or episode.feed.url, episode_title=episode.title,
                  speaker=insight.speaker, quote=insight.quote,
                  url=timestamp_url(episode.audio_url or episode.link, insight.start_s), reason=reason)


def _linked(session, insight_id: int) -> tuple[tuple[Source, ...], tuple[Source, ...]]:
    same, disputes = [], []
    for link, other in links_of(session, insight_id):
        if link.kind == "corroborating":
            add_once(same, _source(other), MAX_SOURCES)
        elif link.kind == "contradicting":
            add_once(disputes, _source(other, link.reason), MAX_SOURCES)
    return tuple(same), tuple(disputes)


def _item(session, settings: Settings, item, subscriber_id: int) -> DigestItem:
    insight = item.insight
    main = _source(insight)
    also_said, disputed_by = _linked(session, insight.id)
    return DigestItem(
        insight_id=insight.id, claim=insight.claim, why=insight.why, quote=insight.quote, speaker=insight.speaker,
        kind=insight.kind, start_s=insight.start_s, show_title=main.show_title, episode_title=main.episode_title,
        episode_url=main.url, score=item.score, reasons=tuple(item.reasons or ()),
        also_said=also_said, disputed_by=disputed_by,
        vote_up_url=vote_url(settings, subscriber_id, insight.id, 1),
        vote_down_url=vote_url(settings, subscriber_id, insight.id, -1),
    )


def read_vote_token(settings: Settings, token: str) -> tuple[int, int, int] | None:
    """(subscriber id, insight id, vote) from a link made by `vote_url`; None for a bad or forged token."""
    subject = verify(settings.signing_key(), "feedback", token)
    try:
        subscriber_id, insight_id, vote = (int(part) for part in (subject or "").split(":"))
    except ValueError:
        return None
    return (subscriber_id, insight_id, vote) if vote in (1, -1) else None
