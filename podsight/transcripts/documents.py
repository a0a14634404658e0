"""Document-style transcripts (Podcasting 2.0 JSON, HTML, plain text) into segments.

Estimated times: HTML and plain-text transcripts often carry no timestamps. Then each paragraph
starts where the previous one ends and lasts as long as its words take at about 150 words per minute
(`text.WORDS_PER_MINUTE`); a timestamp found later in the document resets the clock. Estimated times
are good enough to order quotes and point near them, not to cue audio to the second.
"""

from __future__ import annotations

import json
import logging
import re

import lxml.etree
import lxml.html

from podsight.errors import TranscriptFormatError
from podsight.records import Segment
from podsight.transcripts.text import (
    Draft, clean_text, fill_times, merge_cues, parse_timestamp, split_label, split_long, trusted_labels,
)

logger = logging.getLogger("podsight.transcripts")

_TS = r"\d{1,3}:\d{2}(?::\d{2})?(?:[.,]\d+)?"
_LEADING_TIME = re.compile(rf"^[\[(]({_TS})[\])]\s*(.*)$")  # "[00:01:23] text", "(01:23) text"
_NAME = r"[^\W\d_][\w.'’\-]*(?: [\w.'’\-]+){0,3}"  # 1-4 words; `_is_name` checks the capitals
_LABEL_WITH_TIME = re.compile(rf"^({_NAME})\s*[\[(]({_TS})[\])]\s*:\s*(.*)$")  # Rev: "Kevin (00:01:23): hi"
_LABEL_THEN_TIME = re.compile(rf"^({_NAME})\s+({_TS})$")  # Otter: "Kevin Rose  0:03"
_BARE_TIME = re.compile(rf"^({_TS})$")
_LONE_LABEL = re.compile(r"^([^\W\d_][\w.'’\-]*(?: [\w.'’\-]+){0,3}):$")
_BLOCK_TAGS = ("br", "div", "li", "tr", "h1", "h2", "h3", "h4", "section", "article", "blockquote")


def parse_json(text: str) -> list[Segment]:
    """Segments from a Podcasting 2.0 JSON transcript (times may be numbers or numeric strings)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise TranscriptFormatError(f"the JSON transcript is not valid JSON: {error}") from error
    items = data.get("segments") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise TranscriptFormatError('the JSON transcript has no "segments" list (Podcasting 2.0 format)')
    drafts, ends = [], []
    for item in items:
        body = clean_text(str(item.get("body") or item.get("text") or "")) if isinstance(item, dict) else ""
        if body:
            speaker = clean_text(str(item.get("speaker") or "")) or None
            drafts.append(Draft(body, speaker, parse_timestamp(item.get("startTime", item.get("start")))))
            ends.append(parse_timestamp(item.get("endTime", item.get("end"))))
    if len(drafts) < len(items):
        logger.info("skipped %d empty or unreadable JSON segment(s)", len(items) - len(drafts))
    segments = [
        Segment(s.start, end, s.text, s.speaker) if end is not None and end >= s.start else s
        for s, end in zip(fill_times(drafts), ends)
    ]
    return merge_cues(segments)


def parse_html(text: str) -> list[Segment]:
    """Segments from an HTML transcript: `<cite>` names the speaker, `<time>` the start, `<p>` the text.

    A page without `<p>` elements is read as plain text, line by line.
    """
    try:
        root = lxml.html.fromstring(text)
    except (lxml.etree.ParserError, ValueError) as error:
        raise TranscriptFormatError(f"the HTML transcript cannot be parsed: {error}") from error
    for element in root.xpath("//script | //style | //head"):
        element.drop_tree()
    if not root.xpath("//p"):
        return parse_plain(_text_with_line_breaks(root))
    drafts: list[Draft] = []
    speaker: str | None = None
    start: float | None = None
    for element in root.iter("cite", "time", "p"):
        if element.tag == "p":
            speaker, start = _read_markers(element, speaker, start)
            body = clean_text(_own_text(element))
            if body:
                drafts.append(Draft(body, speaker, start))
                start = None
        elif not any(True for _ in element.iterancestors("p")):
            speaker, start = _read_markers(element, speaker, start)
    return _finish(drafts)


def parse_plain(text: str) -> list[Segment]:
    """Segments from plain text: one per paragraph or speaker turn.

    Understood: "Speaker: text" (labels used at least twice), "[00:01:23]" or "(01:23)" before the
    text, Rev-style "Speaker (00:01:23):" and Otter-style "Speaker  0:03" header lines.
    """
    lines = [line.strip() for line in text.splitlines()]
    labels = trusted_labels(_LEADING_TIME.sub(r"\2", line) for line in lines)
    drafts: list[Draft] = []
    pending = Draft("")  # speaker and start read from a header line, waiting for their text
    current: Draft | None = None
    for line in lines:
        start, speaker, body, is_header = _read_line(line, labels)
        if not line or is_header:
            current = None
            pending = Draft("", speaker or pending.speaker, start if start is not None else pending.start)
        elif current is None or start is not None or speaker is not None:
            current = Draft(body, speaker or pending.speaker, start if start is not None else pending.start)
            drafts.append(current)
            pending = Draft("")
        else:
            current.text += " " + body
    return _finish([Draft(clean_text(d.text), d.speaker, d.start) for d in drafts if d.text.strip()])


def _read_line(line: str, labels: set[str]) -> tuple[float | None, str | None, str, bool]:
    """(start, speaker, text, is_header) for one stripped line of a plain-text transcript."""
    start = None
    if match := _LEADING_TIME.match(line):
        start, line = parse_timestamp(match.group(1)), match.group(2)
    for pattern in (_LABEL_WITH_TIME, _LABEL_THEN_TIME):
        if (match := pattern.match(line)) and _is_name(match.group(1)):
            rest = match.group(3) if pattern is _LABEL_WITH_TIME else ""
            return parse_timestamp(match.group(2)), match.group(1).strip(), rest, not rest
    if match := _BARE_TIME.match(line):
        return parse_timestamp(match.group(1)), None, "", True
    if match := _LONE_LABEL.match(line):
        return start, match.group(1), "", True
    label, rest = split_label(line)
    if label in labels:
        return start, label, rest, False
    return start, None, line, not line and start is not None


def _is_name(label: str) -> bool:
    """Whether every word of a label starts with a capital or a digit ("Speaker 2", "Dr. Jane Roe"),
    so that "We met at 10:30" is not read as speaker "We met at"."""
    return all(word[0].isupper() or word[0].isdigit() for word in label.split())


def _read_markers(element: lxml.html.HtmlElement, speaker: str | None, start: float | None):
    """Update (speaker, start) from a `<cite>`/`<time>` element, or from those inside a `<p>`."""
    markers = [element] if element.tag != "p" else element.xpath(".//cite | .//time")
    for marker in markers:
        value = clean_text(marker.text_content())
        if marker.tag == "cite":
            speaker = value.rstrip(":").strip() or speaker
        else:
            found = parse_timestamp(value) or parse_timestamp(marker.get("datetime"))
            start = found if found is not None else start
    return speaker, start


def _own_text(paragraph: lxml.html.HtmlElement) -> str:
    """A paragraph's text without the text of `<cite>` and `<time>` elements inside it."""
    parts = [paragraph.text or ""]
    for child in paragraph:
        if child.tag == "br":
            parts.append(" ")
        elif child.tag not in ("cite", "time") and isinstance(child.tag, str):  # comments have no str tag
            parts.append(child.text_content())
        parts.append(child.tail or "")
    return "".join(parts)


def _text_with_line_breaks(root: lxml.html.HtmlElement) -> str:
    """The page's text with a line break after each block element, so lines stay lines."""
    for element in root.iter(*_BLOCK_TAGS):
        element.tail = "\n" + (element.tail or "")
    return root.text_content()


def _finish(drafts: list[Draft]) -> list[Segment]:
    """Times for the drafts (estimated where missing) and sentence-sized pieces of long paragraphs."""
    if drafts and all(d.start is None for d in drafts):
        logger.info("transcript has no timestamps; estimating times at 150 words per minute")
    return [piece for segment in fill_times(drafts) for piece in split_long(segment)]
