"""Find a model's quote in the transcript: the code, not the model, decides what was said and when.

Small models paraphrase when asked to copy. Every quote is looked up with a fuzzy match over a
normalised copy of the transcript (case, unicode forms, curly quotes, punctuation and fillers ignored)
that keeps a map back to the original characters, so the insight stores the transcript's own words
and the time of the segment where they start.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz

from podsight.records import Segment

MIN_QUOTE_WORDS = 6
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")
_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "ʼ": "'", "`": "'", "´": "'"})
# Hesitations that transcribers keep and models drop; removing them on both sides costs no meaning.
_FILLERS = frozenset({"um", "uh", "erm", "er", "ah", "hmm", "mm", "mhm", "uhm", "umm"})
_OPENING = "\"'“‘(["
_CLOSING = ".,!?;:…\"'”’)]"
_LONG_SEGMENT_WORDS = 30  # below this, a quote's time is the segment's start (a natural listening point)


@dataclass(frozen=True)
class QuoteMatch:
    """Where a quote stands in the transcript, in the transcript's own words."""

    text: str
    start_s: float
    end_s: float
    first_segment: int
    last_segment: int
    score: float  # 0..100, rapidfuzz partial ratio of the normalised quote against the span
    speaker: str | None


@dataclass(frozen=True)
class _Word:
    segment: int
    start: int  # character offsets in the segment's original text
    end: int


def normalise(text: str) -> str:
    """The comparable form of a text: the words only, casefolded, NFKC, no fillers."""
    return " ".join(word for word, _, _ in _words(text))


def _words(text: str) -> list[tuple[str, int, int]]:
    """Normalised words of `text` with their (start, end) character offsets in the original."""
    chars: list[str] = []
    origin: list[int] = []
    for i, ch in enumerate(text):
        for out in unicodedata.normalize("NFKC", ch).casefold().translate(_APOSTROPHES):
            chars.append(out)
            origin.append(i)
    folded = "".join(chars)
    words = []
    for m in _WORD.finditer(folded):
        word = m.group().replace("'", "")
        if word not in _FILLERS:
            words.append((word, origin[m.start()], origin[m.end() - 1] + 1))
    return words


class _Haystack:
    """Normalised text of some segments, joined, with each word's place in the original segments."""

    def __init__(self, segment_words: dict[int, list[tuple[str, int, int]]], indices: Sequence[int]):
        self.parts: list[str] = []  # the normalised words
        self.words: list[_Word] = []
        self.positions: list[int] = []  # start of each word in self.text
        position = 0
        for index in indices:
            for word, start, end in segment_words[index]:
                self.parts.append(word)
                self.words.append(_Word(index, start, end))
                self.positions.append(position)
                position += len(word) + 1
        self.text = " ".join(self.parts)

    def span(self, start: int, end: int, needle: str) -> tuple[_Word, _Word]:
        """The first and last whole words touched by characters start..end of self.text, without edge
        words that are not in the needle: the alignment window has the needle's length, so a quote
        with a word too many at one end drags a word of the neighbouring sentence in at the other."""
        first = max(bisect.bisect_right(self.positions, start) - 1, 0)
        last = max(bisect.bisect_right(self.positions, max(end - 1, start)) - 1, 0)
        wanted = set(needle.split())
        while first < last and self.parts[first] not in wanted:
            first += 1
        while last > first and self.parts[last] not in wanted:
            last -= 1
        return self.words[first], self.words[last]


def _expand_end(text: str, end: int) -> int:
    """Take closing punctuation with the last word ("works." not "works"), up to the next space."""
    while end < len(text) and text[end] in _CLOSING:
        end += 1
    return end


def _expand_start(text: str, start: int) -> int:
    """Take an opening quote or bracket with the first word."""
    while start > 0 and text[start - 1] in _OPENING:
        start -= 1
    return start


def _original_text(segments: Sequence[Segment], first: _Word, last: _Word) -> str:
    """The transcript's own words from `first` to `last`, across segments if needed."""
    if first.segment == last.segment:
        text = segments[first.segment].text
        return text[_expand_start(text, first.start) : _expand_end(text, last.end)].strip()
    head = segments[first.segment].text
    tail = segments[last.segment].text
    pieces = [head[_expand_start(head, first.start) :]]
    pieces += [segments[i].text for i in range(first.segment + 1, last.segment)]
    pieces.append(tail[: _expand_end(tail, last.end)])
    return " ".join(" ".join(p.split()) for p in pieces).strip()


def _time_at(segment: Segment, offset: int) -> float:
    """Seconds at character `offset` of a segment: interpolated only inside long segments."""
    if len(segment.text.split()) < _LONG_SEGMENT_WORDS or not segment.text:
        return segment.start
    share = offset / len(segment.text)
    return round(segment.start + max(segment.end - segment.start, 0.0) * share, 2)


class QuoteFinder:
    """Looks up many quotes in one transcript, normalising its text once."""

    def __init__(self, segments: Sequence[Segment], skip: Sequence[bool] | None = None, window: int = 12):
        self.segments = segments
        self.window = window
        self.allowed = [i for i in range(len(segments)) if not (skip and skip[i])]
        self._words = {i: _words(segments[i].text) for i in self.allowed}
        self._everything = _Haystack(self._words, self.allowed)
        self._grams: set[tuple[str, ...]] | None = None

    def find(self, quote: str, *, near: int | None = None, min_score: float = 88.0) -> QuoteMatch | None:
        """Find `quote`; None when it is too short (< 6 words) or not there. Looks within `window`
        segments of `near` first (the line the model pointed at), then in the whole transcript."""
        needle = normalise(quote)
        if len(needle.split()) < MIN_QUOTE_WORDS:
            return None
        if near is not None:
            nearby = [i for i in self.allowed if abs(i - near) <= self.window]
            match = self._search(needle, _Haystack(self._words, nearby), min_score)
            if match is not None:
                return match
        return self._search(needle, self._everything, min_score)

    def copied_share(self, text: str, n: int = 4) -> float:
        """Share of the text's word n-grams that stand verbatim in the transcript: near 0 for a claim
        in the model's own words, near 1 for sentences lifted from the transcript."""
        words = normalise(text).split()
        grams = {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}
        if not grams:
            return 0.0
        if self._grams is None:
            parts = self._everything.parts
            self._grams = {tuple(parts[i : i + n]) for i in range(len(parts) - n + 1)}
        return len(grams & self._grams) / len(grams)

    def _search(self, needle: str, haystack: _Haystack, min_score: float) -> QuoteMatch | None:
        if not haystack.text or len(haystack.text) < len(needle) * 0.9:
            return None
        found = fuzz.partial_ratio_alignment(needle, haystack.text, score_cutoff=min_score)
        if found is None or found.score < min_score:
            return None
        first, last = haystack.span(found.dest_start, found.dest_end, needle)
        start_segment, end_segment = self.segments[first.segment], self.segments[last.segment]
        return QuoteMatch(
            text=_original_text(self.segments, first, last),
            start_s=_time_at(start_segment, first.start),
            end_s=max(_end_time(end_segment, last.end), start_segment.start),
            first_segment=first.segment,
            last_segment=last.segment,
            score=round(found.score, 1),
            speaker=start_segment.speaker,
        )


def _end_time(segment: Segment, offset: int) -> float:
    if len(segment.text.split()) < _LONG_SEGMENT_WORDS:
        return segment.end
    return _time_at(segment, offset)


def find_quote(
    quote: str,
    segments: Sequence[Segment],
    *,
    near: int | None = None,
    min_score: float = 88.0,
    skip: Sequence[bool] | None = None,
) -> QuoteMatch | None:
    """Find `quote` in the transcript (see `QuoteFinder.find`); skipped segments (ad reads) are never
    searched, so a quote from an ad is not found. For many quotes, build one `QuoteFinder`."""
    return QuoteFinder(segments, skip).find(quote, near=near, min_score=min_score)
