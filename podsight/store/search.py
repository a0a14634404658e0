"""Full-text search over insights and transcript segments.

On SQLite the FTS5 tables of migration 0003 answer (bm25 ranking, `snippet()` excerpts); on PostgreSQL the
GIN indexes of migration 0007 on each row's tsvector (ts_rank_cd ranking, excerpts cut here); on any other
database a LIKE scan does, newest first, so search works everywhere.

User text never reaches FTS5 as syntax: it is cut into words and each word is quoted, so `"`, `AND (`,
`NEAR(` or `*` search for words (or nothing) instead of raising a syntax error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import and_, or_, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from podsight.errors import PodsightError
from podsight.store.models import Episode, Feed, InsightRow, TranscriptSegment

# Snippet markers: control characters that cannot come from a form field, turned into <mark> by the page.
MARK_START, MARK_END = "\x02", "\x03"
MAX_WORDS = 12  # a longer query is almost always pasted text; the first words are enough
SNIPPET_WORDS = 24
CANDIDATES = 2000  # the newest matches ranked by relevance; see _INSIGHTS_FTS
_WORD = re.compile(r"\w+")


class SearchError(PodsightError):
    """The search index could not answer (missing or damaged FTS tables)."""


@dataclass(frozen=True)
class InsightHit:
    id: int
    claim: str
    snippet: str  # the best matching passage, matches between MARK_START and MARK_END
    speaker: str | None
    kind: str
    start_s: float
    show: str
    episode: str
    episode_id: int


@dataclass(frozen=True)
class SegmentHit:
    id: int
    snippet: str
    speaker: str | None
    start_s: float
    show: str
    episode: str
    episode_id: int


@dataclass(frozen=True)
class SearchPage:
    """One page of hits; `has_next` says whether another page follows (found by asking for one more)."""

    query: str
    page: int
    hits: tuple
    has_next: bool


def query_words(query: str) -> list[str]:
    """The words of a user's query, operators and punctuation dropped: 'sleep AND (debt"' -> 3 words."""
    return _WORD.findall(query or "")[:MAX_WORDS]


def fts_match(words: list[str]) -> str:
    """An FTS5 MATCH expression: every word quoted (so nothing is syntax), the last one as a prefix, so
    that results come while a word is still being typed."""
    quoted = ['"' + word.replace('"', '""') + '"' for word in words]
    return " ".join(quoted[:-1] + [quoted[-1] + "*"])


def search_insights(session: Session, query: str, page: int = 1, per_page: int = 20,
                    fts: bool | None = None) -> SearchPage:
    """Page `page` of the insights holding every word of `query`. fts=False: the LIKE scan, whatever the
    database."""
    return _search(session, query, page, per_page, fts, "insights", InsightHit)


def search_segments(session: Session, query: str, page: int = 1, per_page: int = 20,
                    fts: bool | None = None) -> SearchPage:
    """Page `page` of the segments holding every word of `query`. fts=False: the LIKE scan, whatever the
    database."""
    return _search(session, query, page, per_page, fts, "segments", SegmentHit)


def _search(session: Session, query: str, page: int, per_page: int, fts: bool | None, table: str, hit) -> SearchPage:
    words, page = query_words(query), max(page, 1)
    if not words:
        return SearchPage(query, page, (), False)
    indexed = _INDEXED.get(session.get_bind().dialect.name)
    search = indexed[table] if indexed and fts is not False else _LIKE[table]
    rows = search(session, words, per_page + 1, (page - 1) * per_page)
    hits = tuple(hit(*row) for row in rows)  # one more than a page: tells whether there is a next page
    return SearchPage(query, page, hits[:per_page], len(hits) > per_page)


# Ranking every match of a common word ("percent": all 100,000 insights) costs 120 ms; ranking the newest
# CANDIDATES matches (rowids grow with time, FTS5 walks them newest first cheaply) costs 20 ms, and for a
# word that common the newest matches are the ones worth reading. bm25 weights: a word in the claim counts
# most, then the quote, then the "why it matters" line.
_INSIGHTS_FTS = text("""
SELECT i.id, i.claim, snippet(insights_fts, -1, :mark_start, :mark_end, '…', :words), i.speaker, i.kind,
       i.start_s, coalesce(f.title, f.url), e.title, e.id
FROM insights_fts
JOIN insights AS i ON i.id = insights_fts.rowid
JOIN episodes AS e ON e.id = i.episode_id
JOIN feeds AS f ON f.id = e.feed_id
WHERE insights_fts MATCH :match
  AND insights_fts.rowid >= coalesce((SELECT min(rowid) FROM (SELECT rowid FROM insights_fts WHERE insights_fts MATCH :match
                                                   ORDER BY rowid DESC LIMIT :candidates)), 0)
ORDER BY bm25(insights_fts, 4.0, 2.0, 1.0)
LIMIT :limit OFFSET :offset
""")

_SEGMENTS_FTS = text("""
SELECT s.id, snippet(segments_fts, 0, :mark_start, :mark_end, '…', :words), s.speaker, s.start_s,
       coalesce(f.title, f.url), e.title, e.id
FROM segments_fts
JOIN segments AS s ON s.id = segments_fts.rowid
JOIN episodes AS e ON e.id = s.episode_id
JOIN feeds AS f ON f.id = e.feed_id
WHERE segments_fts MATCH :match
  AND segments_fts.rowid >= coalesce((SELECT min(rowid) FROM (SELECT rowid FROM segments_fts WHERE segments_fts MATCH :match
                                                   ORDER BY rowid DESC LIMIT :candidates)), 0)
ORDER BY bm25(segments_fts)
LIMIT :limit OFFSET :offset
""")


def _run(session: Session, statement, match: str, limit: int, offset: int) -> list[tuple]:
    params = {"match": match, "mark_start": MARK_START, "mark_end": MARK_END, "words": SNIPPET_WORDS,
              "limit": limit, "offset": offset, "candidates": CANDIDATES}
    try:
        return [tuple(row) for row in session.execute(statement, params)]
    except OperationalError as exc:  # quoting rules out syntax errors, so this is the index itself
        raise SearchError(f"the search index could not answer ({exc.orig}); "
                          "`podsight status` checks the database, a new migration rebuilds the index") from None


# PostgreSQL: the expressions migration 0007 indexed, matched by every word (the last as a prefix).
_PG_INSIGHTS = text("""
SELECT i.id, i.claim, i.quote, i.speaker, i.kind, i.start_s, coalesce(f.title, f.url), e.title, e.id
FROM insights AS i
JOIN episodes AS e ON e.id = i.episode_id
JOIN feeds AS f ON f.id = e.feed_id
WHERE to_tsvector('simple', coalesce(i.claim, '') || ' ' || coalesce(i.quote, '') || ' ' || coalesce(i.why, ''))
      @@ to_tsquery('simple', :query)
ORDER BY ts_rank_cd(to_tsvector('simple', coalesce(i.claim, '') || ' ' || coalesce(i.quote, '') || ' '
                                || coalesce(i.why, '')), to_tsquery('simple', :query)) DESC, i.id DESC
LIMIT :limit OFFSET :offset
""")

_PG_SEGMENTS = text("""
SELECT s.id, s.text, s.speaker, s.start_s, coalesce(f.title, f.url), e.title, e.id
FROM segments AS s
JOIN episodes AS e ON e.id = s.episode_id
JOIN feeds AS f ON f.id = e.feed_id
WHERE to_tsvector('simple', coalesce(s.text, '')) @@ to_tsquery('simple', :query)
ORDER BY ts_rank_cd(to_tsvector('simple', coalesce(s.text, '')), to_tsquery('simple', :query)) DESC, s.id DESC
LIMIT :limit OFFSET :offset
""")


def _fts5_insights(session: Session, words: list[str], limit: int, offset: int) -> list[tuple]:
    return _run(session, _INSIGHTS_FTS, fts_match(words), limit, offset)


def _fts5_segments(session: Session, words: list[str], limit: int, offset: int) -> list[tuple]:
    return _run(session, _SEGMENTS_FTS, fts_match(words), limit, offset)


def tsquery(words: list[str]) -> str:
    """A to_tsquery expression: every word (quoted, though \\w+ words hold no syntax), the last a prefix."""
    return " & ".join([f"'{word}'" for word in words[:-1]] + [f"'{words[-1]}':*"])


def _pg_insights(session: Session, words: list[str], limit: int, offset: int) -> list[tuple]:
    """Rows shaped as the FTS5 query returns them, the excerpt cut by `make_snippet`."""
    rows = session.execute(_PG_INSIGHTS, {"query": tsquery(words), "limit": limit, "offset": offset})
    return [(r[0], r[1], make_snippet(r[2] if _has_any(r[2], words) else r[1], words), *r[3:]) for r in rows]


def _pg_segments(session: Session, words: list[str], limit: int, offset: int) -> list[tuple]:
    rows = session.execute(_PG_SEGMENTS, {"query": tsquery(words), "limit": limit, "offset": offset})
    return [(r[0], make_snippet(r[1], words), *r[2:]) for r in rows]


def _contains_all(columns, words: list[str]):
    """Each word somewhere in one of `columns` (LIKE with %, _ and \\ escaped)."""
    patterns = ["%" + re.sub(r"([%_\\])", r"\\\1", word) + "%" for word in words]
    return and_(*(or_(*(column.ilike(p, escape="\\") for column in columns)) for p in patterns))


def _insights_like(session: Session, words: list[str], limit: int, offset: int) -> list[tuple]:
    query = (select(InsightRow.id, InsightRow.claim, InsightRow.quote, InsightRow.speaker, InsightRow.kind,
                    InsightRow.start_s, Feed.title, Feed.url, Episode.title, Episode.id)
             .join(Episode, Episode.id == InsightRow.episode_id).join(Feed, Feed.id == Episode.feed_id)
             .where(_contains_all((InsightRow.claim, InsightRow.quote, InsightRow.why), words))
             .order_by(InsightRow.created_at.desc(), InsightRow.id.desc()).limit(limit).offset(offset))
    return [(r[0], r[1], make_snippet(r[2] if _has_any(r[2], words) else r[1], words), r[3], r[4], r[5],
             r[6] or r[7], r[8], r[9]) for r in session.execute(query)]


def _segments_like(session: Session, words: list[str], limit: int, offset: int) -> list[tuple]:
    query = (select(TranscriptSegment.id, TranscriptSegment.text, TranscriptSegment.speaker, TranscriptSegment.start_s,
                    Feed.title, Feed.url, Episode.title, Episode.id)
             .join(Episode, Episode.id == TranscriptSegment.episode_id).join(Feed, Feed.id == Episode.feed_id)
             .where(_contains_all((TranscriptSegment.text,), words))
             .order_by(Episode.id.desc(), TranscriptSegment.idx).limit(limit).offset(offset))
    return [(r[0], make_snippet(r[1], words), r[2], r[3], r[4] or r[5], r[6], r[7]) for r in session.execute(query)]


def _has_any(value: str, words: list[str]) -> bool:
    lowered = (value or "").lower()
    return any(word.lower() in lowered for word in words)


def make_snippet(value: str, words: list[str], width: int = 200) -> str:
    """Like FTS5's snippet(): a window of `value` around the first match, every match marked."""
    value = value or ""
    pattern = re.compile("|".join(re.escape(word) for word in words), re.IGNORECASE)
    first = pattern.search(value)
    start = max((first.start() if first else 0) - width // 3, 0)
    window = value[start:start + width]
    marked = pattern.sub(lambda m: MARK_START + m.group(0) + MARK_END, window)
    return ("…" if start else "") + marked + ("…" if start + width < len(value) else "")


# How each database answers from its index; any other database, or fts=False, scans with LIKE.
_INDEXED = {
    "sqlite": {"insights": _fts5_insights, "segments": _fts5_segments},
    "postgresql": {"insights": _pg_insights, "segments": _pg_segments},
}
_LIKE = {"insights": _insights_like, "segments": _segments_like}
