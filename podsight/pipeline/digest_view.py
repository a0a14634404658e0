"""The signed links a digest carries (votes, unsubscribe) and the digest record with them, for the renderers
and senders; the record itself is read by `store.digests`."""

from __future__ import annotations

from dataclasses import replace

from podsight.config import Settings
from podsight.digest.tokens import seal, sign, unseal, verify
from podsight.records import Digest
from podsight.store.digests import read_digest
from podsight.store.models import DigestRow


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
    """The stored digest (`store.digests.read_digest`) with the links an email carries (`signed`)."""
    digest, _ = read_digest(session, row, row.subscriber.email)
    return signed(settings, digest, row.subscriber_id)


def signed(settings: Settings, digest: Digest, subscriber_id: int) -> Digest:
    """The digest with a signed vote link per item and the subscriber's unsubscribe link."""
    items = tuple(replace(item, vote_up_url=vote_url(settings, subscriber_id, item.insight_id, 1),
                          vote_down_url=vote_url(settings, subscriber_id, item.insight_id, -1))
                  for item in digest.items)
    return replace(digest, items=items, unsubscribe_url=unsubscribe_url(settings, digest.subscriber_email))


def read_vote_token(settings: Settings, token: str) -> tuple[int, int, int] | None:
    """(subscriber id, insight id, vote) from a link made by `vote_url`; None for a bad or forged token."""
    subject = verify(settings.signing_key(), "feedback", token)
    try:
        subscriber_id, insight_id, vote = (int(part) for part in (subject or "").split(":"))
    except ValueError:
        return None
    return (subscriber_id, insight_id, vote) if vote in (1, -1) else None
