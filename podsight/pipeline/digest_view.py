"""Turning stored digest rows into the `Digest` record that renderers and senders take."""

from __future__ import annotations

from podsight.config import Settings
from podsight.digest.render import timestamp_url
from podsight.digest.tokens import sign
from podsight.records import Digest, DigestItem
from podsight.store.models import DigestRow


def unsubscribe_url(settings: Settings, email: str) -> str:
    token = sign(settings.secret_key.get_secret_value(), "unsubscribe", email)
    return f"{settings.base_url.rstrip('/')}/unsubscribe/{token}"


def digest_record(session, settings: Settings, row: DigestRow) -> Digest:
    items = tuple(_item(item) for item in row.items)
    email = row.subscriber.email
    return Digest(subscriber_email=email, day=row.day, items=items, unsubscribe_url=unsubscribe_url(settings, email))


def _item(item) -> DigestItem:
    insight = item.insight
    episode = insight.episode
    return DigestItem(
        insight_id=insight.id,
        claim=insight.claim,
        why=insight.why,
        quote=insight.quote,
        speaker=insight.speaker,
        kind=insight.kind,
        start_s=insight.start_s,
        show_title=episode.feed.title or episode.feed.url,
        episode_title=episode.title,
        episode_url=timestamp_url(episode.audio_url or episode.link, insight.start_s),
        score=item.score,
        reasons=tuple(item.reasons or ()),
    )
