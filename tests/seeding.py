"""Stored insights ready for the digests stage, without running feeds, transcripts or a model.

Each insight gets a random unit embedding under the default embedder's name: random 384-dim vectors are
nearly orthogonal, so no insight is taken for old news of another and every digest finds fresh ones.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np

from podsight.embed import DEFAULT_EMBEDDER, pack_vector
from podsight.store.models import Episode, Feed, InsightRow
from podsight.store.queries import add_subscriber

DIM = 384


def seed_insights(store, count: int, first_seen: datetime, seed: int = 7) -> list[int]:
    """`count` insights over episodes of one feed (two per episode), first seen at `first_seen`."""
    rng = np.random.default_rng(seed)
    ids = []
    with store.session() as session:
        feed = Feed(url="https://shows.example/feed.xml", title="Transit Talk")
        session.add(feed)
        session.flush()
        for n in range(count):
            if n % 2 == 0:
                episode = Episode(feed_id=feed.id, key=f"ep-{n}", title=f"Buses {n // 2}", state="extracted",
                                  audio_url=f"https://shows.example/{n}.mp3", first_seen_at=first_seen)
                session.add(episode)
                session.flush()
            vector = rng.standard_normal(DIM).astype(np.float32)
            row = InsightRow(
                episode_id=episode.id, claim=f"Claim number {n}: electric buses beat diesel on cost.",
                why="Cities can electrify on cost alone.", speaker="Bo Guest",
                quote=f"quote {n}: battery pack prices fell by ninety percent", kind="data_point",
                importance=4, start_s=5.0 + n, end_s=12.0 + n, match_score=99.0, model="fake", prompt_version="t",
                embedding=pack_vector(vector / np.linalg.norm(vector)), embed_model=DEFAULT_EMBEDDER,
            )
            session.add(row)
            session.flush()
            ids.append(row.id)
    return ids


def subscriber(store, email: str, tz: str, send_hour: int, *, webhook_url: str | None = None,
               email_enabled: bool = True) -> int:
    with store.session() as session:
        sub, _ = add_subscriber(session, email, tz, send_hour, "", [])
        sub.webhook_url, sub.email_enabled = webhook_url, email_enabled
        return sub.id
