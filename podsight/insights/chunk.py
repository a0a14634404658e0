"""Cut a transcript into overlapping, numbered chunks that a small model can read in one call.

Every segment that is not skipped lands in at least one chunk, however long the episode: nothing is
truncated. The numbered lines (`[n] text`, under the speaker's name) let the model point at where its
quote is; `Chunk.lines` maps each number back to the segment the line starts with.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from podsight.records import Segment

# A sentence ends at . ! ? or … (optionally followed by closing quotes/brackets) and whitespace, or at a
# full-width 。！？ (Japanese and Chinese write no space after them).
_SENTENCE_END = re.compile(r"(?:(?<=[.!?…])|(?<=[.!?…][\"'”’)\]]))\s+"
                           r"|(?:(?<=[。！？])|(?<=[。！？][」』）】〕\"'”’)\]]))(?![」』）】〕\"'”’)\]。！？])\s*")
_ENDS_SENTENCE = re.compile(r"[.!?…。！？][\"'”’)\]」』）】〕]?$")
# Where a sentence too long for the budget is best cut when it has no spaces: after a comma or a pause.
_SOFT_BREAKS = frozenset("、，,;；:：・）」』】〕)]")
# Words are whitespace-separated tokens, so a language written without spaces (Japanese, Chinese, Thai)
# would make a whole segment one "word" and a whole episode one chunk. Every word budget is therefore also
# a character budget (characters other than whitespace) of CHARS_PER_WORD per word: English averages
# under 5 letters a word, so its chunks stay bounded by words; 450 words allow 2,700 Japanese characters,
# about 2,000 Qwen tokens, which fits a 4,096-token context with the prompt and the answer.
CHARS_PER_WORD = 6
# A speaker's consecutive segments are joined into lines of up to LINE_WORDS words, closed early at a
# sentence end once they have LINE_MIN_WORDS: a line number and a label cost 3-4 tokens each, so a line
# per caption cue ("And I'm Sam, and, um,") or per "Right." would add a third to a conversation's tokens.
LINE_WORDS = 30
LINE_MIN_WORDS = 12


@dataclass(frozen=True)
class Chunk:
    """A run of segments `first..last` (inclusive indices into the segment list) rendered as text."""

    index: int  # 0-based position among the episode's chunks
    first: int
    last: int
    text: str
    words: int
    lines: tuple[int, ...] = ()  # line n of the text (from 1) starts with segment lines[n - 1]

    def segment_of_line(self, number: int) -> int | None:
        """The segment index where the text's line `number` starts, or None for a number not in the text."""
        return self.lines[number - 1] if 1 <= number <= len(self.lines) else None


def word_count(text: str) -> int:
    """Words as whitespace-separated tokens: cheap, and close enough to budget chunks."""
    return len(text.split())


def char_count(text: str) -> int:
    """Characters other than whitespace: the budget that holds for text written without spaces."""
    return len("".join(text.split()))


def split_sentences(text: str) -> list[str]:
    """Split text after sentence-ending punctuation; text without punctuation stays one piece."""
    return [piece for piece in (p.strip() for p in _SENTENCE_END.split(text)) if piece]


def _pieces(text: str, max_words: int) -> list[str]:
    """The sentences of `text`; a sentence over `max_words` (ASR text without punctuation) is cut every
    `max_words` words, and a piece over `max_words * CHARS_PER_WORD` characters (text without spaces) is
    cut by characters, so that no piece is unbounded."""
    pieces: list[str] = []
    max_chars = max_words * CHARS_PER_WORD
    for sentence in split_sentences(text):
        words = sentence.split()
        for i in range(0, len(words), max_words):
            piece = " ".join(words[i : i + max_words])
            pieces += split_by_chars(piece, max_chars) if char_count(piece) > max_chars else [piece]
    return pieces


def split_by_chars(text: str, max_chars: int) -> list[str]:
    """Cut `text` into pieces of at most `max_chars` characters (whitespace not counted), each cut after
    the last comma-like mark or space in the piece's second half when there is one, else between two
    graphemes (never before a combining mark, a joiner or a variation selector), so no character is
    broken and no piece is empty."""
    pieces: list[str] = []
    start = 0
    while start < len(text):
        end, counted = start, 0
        while end < len(text) and (counted < max_chars or not _grapheme_boundary(text, end)):
            counted += not text[end].isspace()
            end += 1
        if end < len(text):
            end = _soft_cut(text, start, end)
        piece = text[start:end].strip()
        if piece:
            pieces.append(piece)
        start = end
    return pieces


def _soft_cut(text: str, start: int, end: int) -> int:
    """The best place to cut text[start:end] at the end: just after a comma-like mark or a space in its
    second half, else `end` (already a grapheme boundary)."""
    for cut in range(end, start + (end - start) // 2, -1):
        if (text[cut - 1] in _SOFT_BREAKS or text[cut - 1].isspace()) and _grapheme_boundary(text, cut):
            return cut
    return end


def _grapheme_boundary(text: str, position: int) -> bool:
    """Whether cutting `text` before `position` keeps every grapheme whole (an approximation of UAX #29
    good enough for speech: combining marks, ZWJ sequences, variation selectors, dakuten)."""
    if position <= 0 or position >= len(text):
        return True
    here, before = text[position], text[position - 1]
    if unicodedata.combining(here) or here in "\u200d\u3099\u309a" or "\ufe00" <= here <= "\ufe0f":
        return False
    if before == "\u200d" or "\U0001f3fb" <= here <= "\U0001f3ff":  # after a joiner; skin-tone modifiers
        return False
    return unicodedata.category(here) not in ("Mn", "Me", "Mc")


def _split_one(segment: Segment, max_words: int) -> list[Segment]:
    """Split one long segment into sentences, with times interpolated by character position."""
    pieces = _pieces(segment.text, max_words)
    total = sum(len(p) for p in pieces) or 1
    duration = max(segment.end - segment.start, 0.0)
    result: list[Segment] = []
    offset = 0
    for piece in pieces:
        start = segment.start + duration * offset / total
        offset += len(piece)
        end = segment.start + duration * offset / total
        result.append(Segment(start=round(start, 2), end=round(end, 2), text=piece, speaker=segment.speaker))
    return result


def split_long_segments(segments: Sequence[Segment], max_words: int = 120) -> list[Segment]:
    """Return the segments with every segment over `max_words` words, or over `max_words * CHARS_PER_WORD`
    characters (text written without spaces), split into its sentences.

    Publishers sometimes ship a whole episode as one block of text; without this, one "segment" would
    be one enormous chunk, every quote would get the episode's start time, and an ad read inside it could
    not be masked without hiding the talk around it. Sentences of one speaker are merged again into
    lines when a chunk is rendered, so the split costs no prompt tokens.
    """
    result: list[Segment] = []
    for segment in segments:
        if word_count(segment.text) > max_words or char_count(segment.text) > max_words * CHARS_PER_WORD:
            result.extend(_split_one(segment, max_words))
        elif segment.text.strip():
            result.append(segment)
    return result


# A segment's size is (words, characters); a budget of `words` words is also one of
# `words * CHARS_PER_WORD` characters, and a chunk or overlap stays within both.
_Size = tuple[int, int]


def _fits(total: _Size, size: _Size, words: int) -> bool:
    return total[0] + size[0] <= words and total[1] + size[1] <= words * CHARS_PER_WORD


def _plus(total: _Size, size: _Size) -> _Size:
    return total[0] + size[0], total[1] + size[1]


def _chunk_ranges(sizes: list[_Size], kept: list[int], words: int, overlap_words: int) -> list[tuple[int, int]]:
    """Positions (into `kept`) of each chunk, as inclusive (start, end) pairs covering all of `kept`."""
    ranges: list[tuple[int, int]] = []
    start = 0
    while start < len(kept):
        end, total = start, sizes[kept[start]]
        while end + 1 < len(kept) and _fits(total, sizes[kept[end + 1]], words):
            end += 1
            total = _plus(total, sizes[kept[end]])
        ranges.append((start, end))
        if end + 1 >= len(kept):
            break
        start = _overlap_start(sizes, kept, start, end, overlap_words)
    return _merge_small_tail(ranges, sizes, kept, words)


def _overlap_start(sizes: list[_Size], kept: list[int], start: int, end: int, overlap_words: int) -> int:
    """Where the next chunk starts: back up from `end` by about `overlap_words`, always moving forward."""
    nxt, carried = end + 1, (0, 0)
    while nxt - 1 > start and _fits(carried, sizes[kept[nxt - 1]], overlap_words):
        nxt -= 1
        carried = _plus(carried, sizes[kept[nxt]])
    return nxt


def _merge_small_tail(
    ranges: list[tuple[int, int]], sizes: list[_Size], kept: list[int], words: int
) -> list[tuple[int, int]]:
    """Fold a last chunk of a few words into the one before: a 30-word call wastes a whole prompt."""
    if len(ranges) < 2:
        return ranges
    start, end = ranges[-1]
    previous_end = ranges[-2][1]
    new = (0, 0)
    for i in range(previous_end + 1, end + 1):
        new = _plus(new, sizes[kept[i]])
    if new[0] <= words // 4 and new[1] <= words * CHARS_PER_WORD // 4:
        ranges[-2:] = [(ranges[-2][0], end)]
    return ranges


_TITLES = frozenset({"dr", "mr", "mrs", "ms", "mx", "prof", "professor", "sir", "dame"})


def short_labels(speakers: set[str | None]) -> dict[str | None, str]:
    """A short label per speaker: the first name ("Dr. Luis Ortega" -> "Luis"), unless two speakers
    share it. Labels are repeated on every line, so each saved token counts many times over."""
    firsts: dict[str | None, str] = {}
    for speaker in speakers:
        words = [w.strip(".,") for w in (speaker or "").split()]
        names = [w for w in words if w and w.casefold() not in _TITLES]
        firsts[speaker] = names[0] if names else (speaker or "").strip()
    taken = list(firsts.values())
    return {s: (label if taken.count(label) == 1 else (s or "").strip()) for s, label in firsts.items()}


def _line_groups(segments: Sequence[Segment], indices: Sequence[int]) -> list[list[int]]:
    """The segments of each line: consecutive segments of one speaker, joined up to LINE_WORDS words and
    closed at the first sentence end after LINE_MIN_WORDS. Short replies join the sentence they open,
    caption cues become sentences, and a long sentence stays a line of its own. Words count in characters
    too (CHARS_PER_WORD each), so text without spaces gets lines of about a sentence as well."""
    groups: list[list[int]] = []
    words = chars = 0
    for position, i in enumerate(indices):
        previous = indices[position - 1] if position else None
        text = segments[i].text
        size, length = word_count(text), char_count(text)
        long_enough = words >= LINE_MIN_WORDS or chars >= LINE_MIN_WORDS * CHARS_PER_WORD
        joins = (groups and previous == i - 1 and segments[i].speaker == segments[previous].speaker
                 and not (long_enough and _ENDS_SENTENCE.search(segments[previous].text.strip()))
                 and words + size <= LINE_WORDS and chars + length <= LINE_WORDS * CHARS_PER_WORD)
        if joins:
            groups[-1].append(i)
            words, chars = words + size, chars + length
        else:
            groups.append([i])
            words, chars = size, length
    return groups


def render_lines(segments: Sequence[Segment], indices: Sequence[int]) -> tuple[str, tuple[int, ...]]:
    """Render segments as numbered lines, about a sentence each, with the speaker's label written once per
    turn; return the text and the first segment of each line:

        Marcus:
        [1] It's the tired person changing the code.
        [2] We pulled two years of our incident data ...

    A line per sentence is what lets a small model copy a quote exactly (measured: with whole turns as
    lines it paraphrased most quotes). Numbers restart at 1 in every chunk and labels are written once
    per turn, because both are repeated on every line: an hour's segment numbers have four digits,
    and the Qwen tokenizer spends a token on each digit.
    """
    labels = short_labels({segments[i].speaker for i in indices})
    lines: list[str] = []
    speaker: object = object()  # matches no real speaker, so the first turn gets its label
    groups = _line_groups(segments, indices)
    for number, group in enumerate(groups, start=1):
        first = segments[group[0]]
        if first.speaker != speaker and labels[first.speaker]:
            lines.append(f"{labels[first.speaker]}:")
        speaker = first.speaker
        lines.append(f"[{number}] " + " ".join(" ".join(segments[i].text.split()) for i in group))
    return "\n".join(lines), tuple(group[0] for group in groups)


def chunk_segments(
    segments: Sequence[Segment],
    *,
    words: int = 450,
    overlap_words: int = 40,
    skip: Sequence[bool] | None = None,
) -> list[Chunk]:
    """Cut the whole transcript into chunks of about `words` words (and at most `words * CHARS_PER_WORD`
    characters, for text written without spaces), each overlapping the previous by about `overlap_words`,
    leaving skipped segments (sponsor reads, intros) out of the text.

    A single segment longer than the budget gets a chunk of its own rather than being cut: call
    `split_long_segments` first to avoid that.
    """
    if skip is not None and len(skip) != len(segments):
        raise ValueError(f"skip has {len(skip)} flags for {len(segments)} segments")
    sizes = [(word_count(s.text), char_count(s.text)) for s in segments]
    kept = [i for i in range(len(segments)) if sizes[i][0] and not (skip and skip[i])]
    chunks = []
    for number, (start, end) in enumerate(_chunk_ranges(sizes, kept, words, overlap_words)):
        indices = kept[start : end + 1]
        text, lines = render_lines(segments, indices)
        chunks.append(Chunk(number, indices[0], indices[-1], text, sum(sizes[i][0] for i in indices), lines))
    return chunks
