"""The other episodes shown under a digest item ("Also said on", "Disputed by")."""

from __future__ import annotations

from podsight.records import Source


def add_once(bucket: list[Source], source: Source, limit: int) -> None:
    """Append `source` unless `limit` are listed or its episode already is: an episode may hold several
    insights linked to one claim, and a reader wants each other episode named once."""
    if len(bucket) >= limit:
        return
    if any((s.show_title, s.episode_title) == (source.show_title, source.episode_title) for s in bucket):
        return
    bucket.append(source)
