"""A private Atom feed per subscriber: `GET /feeds/{token}.atom`, the token signed for "atom" with the
subscriber's id, so the address is the only key (feed readers cannot log in).

The feed holds the subscriber's recent digests, one entry each, with the same entry ids as the
`digest.atom` file the file channel writes. It answers conditional GETs (ETag) with 304, because feed
readers poll often; an unsubscribed reader's feed answers 410 Gone, which tells readers to stop polling.
"""

from __future__ import annotations

import hashlib

from fastapi import APIRouter, Request
from fastapi.responses import Response

from podsight.config import Settings
from podsight.digest.render import render_atom
from podsight.digest.tokens import sign, verify
from podsight.pipeline.digest_view import digest_record
from podsight.store.models import Subscriber
from podsight.store.queries import latest_digests, subscriber_by_id

router = APIRouter()
FEED_DIGESTS = 30  # a month of daily digests: what a feed reader that was offline may still pick up
ATOM_TYPE = "application/atom+xml; charset=utf-8"


def atom_feed_url(settings: Settings, subscriber_id: int) -> str:
    """The subscriber's private feed address, for pages and emails to show."""
    token = sign(settings.signing_key(), "atom", str(subscriber_id))
    return f"{settings.base_url.rstrip('/')}/feeds/{token}.atom"


def _subscriber_id(settings: Settings, token: str) -> int | None:
    subject = verify(settings.signing_key(), "atom", token)
    return int(subject) if subject and subject.isdigit() else None


def subscriber_feed(session, settings: Settings, sub: Subscriber, self_url: str) -> str:
    """The Atom document of `sub`'s newest digests."""
    digests = [digest_record(session, settings, row) for row in latest_digests(session, sub.id, FEED_DIGESTS)]
    # the same id as the file channel's digest.atom, so a reader moving between them sees no duplicates
    return render_atom(digests, feed_id=f"urn:podsight:{sub.email}", title="podsight digest", self_url=self_url)


@router.get("/feeds/{token}.atom")
def atom_feed(request: Request, token: str) -> Response:
    """The feed, 304 when the reader's copy is current, 404 for a bad token, 410 after unsubscribing."""
    settings = request.app.state.settings
    subscriber_id = _subscriber_id(settings, token)
    with request.app.state.store.session() as session:
        sub = subscriber_by_id(session, subscriber_id)
        if sub is None:
            return Response("This feed address is not valid.", status_code=404, media_type="text/plain")
        if sub.status != "active":
            return Response("This subscriber has unsubscribed: the feed is closed.", status_code=410,
                            media_type="text/plain")
        body = subscriber_feed(session, settings, sub, atom_feed_url(settings, sub.id))
    etag = '"' + hashlib.sha256(body.encode("utf-8")).hexdigest()[:32] + '"'
    headers = {"ETag": etag, "Cache-Control": "private, max-age=300"}
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=ATOM_TYPE, headers=headers)
