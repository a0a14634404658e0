"""Helpers shared by every transcript format: clean text, read timestamps, find speaker labels,
estimate missing times, and join caption-sized cues into sentence-sized segments."""

from __future__ import annotations

import html
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from podsight.records import Segment

WORDS_PER_MINUTE = 150  # typical conversational speech; used only when a transcript has no times
MIN_ESTIMATED_S = 1.0  # the shortest estimated segment, so one-word lines do not get zero length

# "<v Bob>", "</i>", "<00:00:01.000>": tags never hold a "<", so each "<" is scanned once (linear).
_TAG = re.compile(r"<[^<>]*>")
_ASS_TAG = re.compile(r"\{\\[^{}]*\}")  # "{\an8}" positioning codes from SRT files made by Aegisub
_SPACE = re.compile(r"\s+")
_TIMESTAMP = re.compile(r"^(?:(\d+):)?(\d{1,2}):(\d{1,2}(?:[.,]\d+)?)$")
_SENTENCE_END = re.compile(r"[.!?…][\"'”’)\]]*$")
_SENTENCE_SPLIT = re.compile(r"(?<=[.!?…])\s+")
# A speaker label: 1-4 words starting with a capital letter ("Dr. Jane Roe", "SPEAKER 2", "Kevin").
_LABEL = re.compile(r"^(?P<label>[^\W\d_][\w.'’\-]*(?: [\w.'’\-]+){0,3})\s*:\s+(?P<text>\S.*)$", re.S)


def clean_text(text: str, strip_tags: bool = False) -> str:
    """Unescape HTML entities, optionally drop markup tags, and collapse all whitespace to single spaces."""
    if strip_tags:
        text = _ASS_TAG.sub("", _TAG.sub("", text))
    return _SPACE.sub(" ", html.unescape(text)).strip()


def parse_timestamp(value: object) -> float | None:
    """Seconds from a number, a numeric string, or "H:MM:SS(.mmm)" / "MM:SS(,mmm)"; None if unreadable."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return float(value) if math.isfinite(value) and value >= 0 else None
    text = str(value).strip()
    try:
        seconds = float(text)
        return seconds if math.isfinite(seconds) and seconds >= 0 else None
    except ValueError:
        pass
    match = _TIMESTAMP.match(text)
    if not match:
        return None
    hours, minutes, secs = match.groups()
    return int(hours or 0) * 3600 + int(minutes) * 60 + float(secs.replace(",", "."))


def split_label(text: str) -> tuple[str | None, str]:
    """Split "Speaker: text" into ("Speaker", "text"); (None, text) when the line has no label."""
    match = _LABEL.match(text)
    if not match or not match.group("label")[0].isupper():
        return None, text
    return match.group("label").strip(), match.group("text").strip()


def trusted_labels(texts: Iterable[str]) -> set[str]:
    """Labels that head at least two lines of the document, or are written in capitals ("GUEST:").

    A one-off "Note: ..." or "Warning: ..." is more likely prose than a speaker, while real speakers
    talk more than once; requiring two uses keeps prose intact at the cost of a guest who speaks once
    (unless the file names speakers in capitals, the caption convention).
    """
    counts = Counter(label for label, _ in map(split_label, texts) if label)
    return {label for label, count in counts.items() if count >= 2 or label.isupper()}


def apply_labels(segments: Sequence[Segment]) -> list[Segment]:
    """Move trusted "Speaker: text" prefixes into the speaker field of segments that have none."""
    labels = trusted_labels(s.text for s in segments if s.speaker is None)
    if not labels:
        return list(segments)
    result = []
    for segment in segments:
        label, rest = split_label(segment.text) if segment.speaker is None else (None, "")
        result.append(replace(segment, speaker=label, text=rest) if label in labels else segment)
    return result


def estimate_duration(text: str) -> float:
    """Seconds it takes to say `text` at WORDS_PER_MINUTE."""
    return max(MIN_ESTIMATED_S, len(text.split()) * 60.0 / WORDS_PER_MINUTE)


@dataclass
class Draft:
    """A piece of text whose start may be unknown; `fill_times` turns drafts into segments."""

    text: str
    speaker: str | None = None
    start: float | None = None


def fill_times(drafts: Sequence[Draft]) -> list[Segment]:
    """Give every draft a start and end: known starts are kept, missing ones follow the previous
    segment, and each segment ends where the next known start begins or after its estimated duration."""
    segments: list[Segment] = []
    clock = 0.0
    for index, draft in enumerate(drafts):
        start = draft.start if draft.start is not None else clock
        end = start + estimate_duration(draft.text)
        following = drafts[index + 1].start if index + 1 < len(drafts) else None
        if following is not None and following > start:
            end = following
        segments.append(Segment(start=start, end=end, text=draft.text, speaker=draft.speaker))
        clock = end
    return segments


def split_long(segment: Segment, max_chars: int = 400) -> list[Segment]:
    """Split a long segment at sentence ends into pieces of at most ~max_chars, sharing its time span
    by length. Used for untimed paragraphs, so a quote can be located to the sentence, not the page."""
    if len(segment.text) <= max_chars:
        return [segment]
    pieces = _pack(_SENTENCE_SPLIT.split(segment.text), max_chars)
    if any(len(piece) > max_chars for piece in pieces):  # unpunctuated text: fall back to words
        pieces = [small for piece in pieces for small in _pack(piece.split(" "), max_chars)]
    total = sum(len(p) for p in pieces)
    span, start, result = segment.end - segment.start, segment.start, []
    for piece in pieces:
        end = start + span * len(piece) / total
        result.append(Segment(start=start, end=end, text=piece, speaker=segment.speaker))
        start = end
    return result


def _pack(parts: Sequence[str], max_chars: int) -> list[str]:
    """Join consecutive parts with spaces into pieces of at most max_chars (a longer part stays whole)."""
    pieces: list[str] = []
    for part in parts:
        if pieces and len(pieces[-1]) + 1 + len(part) <= max_chars:
            pieces[-1] += " " + part
        else:
            pieces.append(part)
    return pieces


def merge_cues(segments: Sequence[Segment], max_gap_s: float = 1.0, max_chars: int = 400) -> list[Segment]:
    """Join consecutive caption cues of the same speaker into sentence-sized segments.

    A cue joins the segment before it when both have the same speaker (None counts as a speaker of
    its own: nothing is invented), it starts at most `max_gap_s` after that segment ends, the segment
    has not ended a sentence yet, and the joined text stays within `max_chars`. The merged segment keeps
    the first start and the last end. A cue repeating the previous cue's text word for word (rolling
    captions) only extends the end.
    """
    merged: list[Segment] = []
    previous: Segment | None = None
    for cue in segments:
        last = merged[-1] if merged else None
        if last and previous and _repeats(previous, cue, max_gap_s):
            merged[-1] = replace(last, end=max(last.end, cue.end))
        elif last and _joins(last, cue, max_gap_s, max_chars):
            merged[-1] = replace(last, end=max(last.end, cue.end), text=f"{last.text} {cue.text}")
        else:
            merged.append(cue)
        previous = cue
    return merged


def _repeats(previous: Segment, cue: Segment, max_gap_s: float) -> bool:
    """Whether `cue` is the previous cue shown again (same speaker and text, right after it)."""
    return cue.speaker == previous.speaker and cue.text == previous.text and cue.start - previous.end <= max_gap_s


def _joins(last: Segment, cue: Segment, max_gap_s: float, max_chars: int) -> bool:
    """Whether `cue` continues the sentence that `last` is building."""
    return (
        last.speaker == cue.speaker
        and cue.start - last.end <= max_gap_s
        and not _SENTENCE_END.search(last.text)
        and len(last.text) + 1 + len(cue.text) <= max_chars
    )
