"""Marking insight quotes in an episode's transcript.

A quote was found in the transcript by fuzzy matching (podsight.insights), so it may differ a little from
the text (case, punctuation) and may run over several segments. Each segment that overlaps an insight in
time is tagged with it; inside such a segment the longest stretch it shares with the quote is marked, which
covers a quote inside one segment, a segment inside a quote, and a quote across a segment boundary.
"""

from __future__ import annotations

from dataclasses import dataclass
from difflib import SequenceMatcher

from podsight.store.pages import InsightLine, SegmentLine

MIN_MARK_CHARS = 12  # shorter common stretches ("the ", "and") are chance, not the quote
MIN_EDGE_CHARS = 4  # ...unless it is where a quote crosses into or out of the segment
TIME_SLACK_S = 0.5  # timestamps of quotes and segments come from different tools


@dataclass(frozen=True)
class Piece:
    text: str
    insight_id: int | None = None  # set: this text is (part of) that insight's quote


@dataclass(frozen=True)
class TranscriptLine:
    segment: SegmentLine
    pieces: tuple[Piece, ...]
    insight_ids: tuple[int, ...] = ()  # insights whose time span overlaps this segment


def mark_transcript(segments: tuple[SegmentLine, ...], insights: tuple[InsightLine, ...]) -> list[TranscriptLine]:
    """Every segment, cut into pieces with the quoted stretches marked."""
    lines = []
    for segment in segments:
        overlapping = [i for i in insights if _overlaps(segment, i)]
        spans = [span for insight in overlapping if (span := _shared_span(segment.text, insight)) is not None]
        lines.append(TranscriptLine(segment, _pieces(segment.text, spans), tuple(i.id for i in overlapping)))
    return lines


def _overlaps(segment: SegmentLine, insight: InsightLine) -> bool:
    return (segment.start_s <= insight.end_s + TIME_SLACK_S) and (insight.start_s <= segment.end_s + TIME_SLACK_S)


def _shared_span(text: str, insight: InsightLine) -> tuple[int, int, int] | None:
    """(start, end, insight id) of the longest stretch of `text` that is also in the quote, if long enough."""
    haystack, needle = text.lower(), insight.quote.lower()
    if len(haystack) != len(text):  # lower() changed the length (rare letters): compare as is
        haystack, needle = text, insight.quote
    match = SequenceMatcher(None, haystack, needle, autojunk=False).find_longest_match(0, len(haystack), 0, len(needle))
    needed = min(MIN_MARK_CHARS, len(text.strip()), len(needle.strip()))
    if match.size < max(needed, 1) and not (match.size >= MIN_EDGE_CHARS and _at_edges(match, text, needle)):
        return None
    return match.a, match.a + match.size, insight.id


def _at_edges(match, text: str, quote: str) -> bool:
    """The quote's end opens the segment, or its start closes it: a quote running over a boundary."""
    opens = match.a == 0 and match.b + match.size == len(quote.rstrip())
    closes = match.a + match.size == len(text.rstrip()) and match.b == 0
    return opens or closes


def _pieces(text: str, spans: list[tuple[int, int, int]]) -> tuple[Piece, ...]:
    """`text` cut at the spans; where two insights' spans overlap, the earlier span wins."""
    pieces, cursor = [], 0
    for start, end, insight_id in sorted(spans):
        start = max(start, cursor)
        if start >= end:
            continue
        if start > cursor:
            pieces.append(Piece(text[cursor:start]))
        pieces.append(Piece(text[start:end], insight_id))
        cursor = end
    if cursor < len(text) or not pieces:
        pieces.append(Piece(text[cursor:]))
    return tuple(pieces)
