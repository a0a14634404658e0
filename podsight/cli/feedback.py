"""`podsight feedback`: record a thumbs up or down on an insight a subscriber was sent."""

from __future__ import annotations

import typer

from podsight.errors import PodsightError
from podsight.pipeline.digest_view import read_vote_token
from podsight.store.queries import claim_of, get_subscriber, record_vote, sent_insight_ids

from .common import console, state

VOTES = {"up": 1, "down": -1}


def feedback(
    ctx: typer.Context,
    insight_id: int = typer.Argument(None, help="The insight's id (shown by `podsight digest show`)."),
    vote: str = typer.Argument(None, help="up or down."),
    subscriber: str = typer.Option(None, "--subscriber", "-s", help="Email; needed when there are several."),
    token: str = typer.Option(None, "--token", help="The token from a vote link in an email, instead of the above."),
) -> None:
    """Vote an insight up or down; similar insights then rank higher or lower in later digests."""
    st = state(ctx)
    with st.store.session() as session:
        if token:
            parsed = read_vote_token(st.settings, token)
            if parsed is None:
                raise PodsightError("this vote link is not valid (it was changed, or signed with another secret_key)")
            subscriber_id, insight_id, value = parsed
        else:
            if insight_id is None or vote not in VOTES:
                raise PodsightError("give an insight id and up or down, e.g. `podsight feedback 42 up`, or --token")
            subscriber_id, value = get_subscriber(session, subscriber).id, VOTES[vote]
        _check_sent(session, subscriber_id, insight_id)
        record_vote(session, subscriber_id, insight_id, value)
        claim = claim_of(session, insight_id)
    console.print(f"Recorded {'👍' if value > 0 else '👎'} for insight {insight_id}: {claim}", highlight=False)


def _check_sent(session, subscriber_id: int, insight_id: int) -> None:
    """Votes count only on insights the subscriber was actually sent: nothing else can be judged."""
    if insight_id not in sent_insight_ids(session, subscriber_id):
        raise PodsightError(f"insight {insight_id} was never in this subscriber's digests; see `podsight digest show`")
