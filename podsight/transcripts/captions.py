"""Caption files (WebVTT and SRT) into segments.

Caption files cut speech into cues of a few words; `merge_cues` joins them into sentence-sized
segments afterwards. Speakers come from WebVTT voice tags (`<v Bob>`) or from "Speaker: text"
prefixes that head at least two cues (see `text.trusted_labels`).

Speaker inheritance, the one place a speaker is carried over: when the first cue of a WebVTT file
opens with a voice tag, the file marks turns with voices, so a cue without a voice continues the
previous cue's speaker. In any other file a cue without a voice or label keeps speaker None.
"""

from __future__ import annotations

import logging
import re

import srt
import webvtt
from webvtt.errors import MalformedCaptionError, MalformedFileError

from podsight.errors import TranscriptFormatError
from podsight.records import Segment
from podsight.transcripts.text import apply_labels, clean_text, merge_cues

logger = logging.getLogger("podsight.transcripts")

_VOICE = re.compile(r"<v(?:\.[^\s<>]*)?(?:\s+([^<>]*))?>")
_TIMING_LINE = re.compile(r"^.*-->.*$", re.M)
_COMMA_MILLIS = re.compile(r"(\d{1,2}:\d{2}),(\d{1,3})\b")


def parse_vtt(text: str) -> list[Segment]:
    """Segments from a WebVTT document (voices, cue settings, NOTE/STYLE blocks, "MM:SS.mmm" times)."""
    document = _lenient_vtt(text)
    try:
        captions = webvtt.from_string(document).captions
    except (MalformedFileError, MalformedCaptionError, ValueError) as error:
        raise TranscriptFormatError(f"the WebVTT file is malformed: {error}") from error
    _warn_if_dropped(len(_TIMING_LINE.findall(document)), len(captions), "WebVTT")
    pieces = [
        Segment(start=cap.start_time.in_milliseconds() / 1000, end=cap.end_time.in_milliseconds() / 1000,
                text=part, speaker=voice)
        for cap in captions
        for voice, part in _voice_parts(cap.raw_text)
    ]
    pieces = [p for p in pieces if p.text]
    if pieces and pieces[0].speaker is not None:
        pieces = _continue_turns(pieces)
    return merge_cues(apply_labels(pieces))


def parse_srt(text: str) -> list[Segment]:
    """Segments from a SubRip document; "SPEAKER: text" prefixes become speakers."""
    try:
        subtitles = list(srt.parse(text))
    except srt.SRTParseError as error:
        logger.warning("skipping unreadable parts of an SRT file: %s", error)
        subtitles = list(srt.parse(text, ignore_errors=True))
    pieces = [
        Segment(start=sub.start.total_seconds(), end=sub.end.total_seconds(),
                text=clean_text(sub.content, strip_tags=True))
        for sub in subtitles
    ]
    return merge_cues(apply_labels([p for p in pieces if p.text]))


def _lenient_vtt(text: str) -> str:
    """Repair the two slips real files make that webvtt-py would reject or silently skip:
    a missing or lower-case "WEBVTT" header, and SRT-style commas in cue times."""
    text = text.lstrip("\ufeff \t\r\n")
    if text[:6].upper() == "WEBVTT":
        text = "WEBVTT" + text[6:]
    else:
        text = "WEBVTT\n\n" + text
    return _TIMING_LINE.sub(lambda m: _COMMA_MILLIS.sub(r"\1.\2", m.group(0)), text)


def _warn_if_dropped(timing_lines: int, cues: int, kind: str) -> None:
    """webvtt-py skips malformed cues without a word; say how many, so the loss is not silent."""
    if cues < timing_lines:
        logger.warning("skipped %d malformed cue(s) of %d in a %s file", timing_lines - cues, timing_lines, kind)


def _voice_parts(raw_text: str) -> list[tuple[str | None, str]]:
    """Split a cue's raw text at its voice tags: "<v A>Hi</v> <v B>Yo" -> [("A", "Hi"), ("B", "Yo")].

    webvtt-py's `Caption.voice` reads only the first voice; a cue may hold a short exchange.
    """
    matches = list(_VOICE.finditer(raw_text))
    if not matches:
        return [(None, clean_text(raw_text, strip_tags=True))]
    parts = [(None, clean_text(raw_text[: matches[0].start()], strip_tags=True))]
    for index, match in enumerate(matches):
        end = matches[index + 1].start() if index + 1 < len(matches) else len(raw_text)
        voice = clean_text(match.group(1) or "") or None
        parts.append((voice, clean_text(raw_text[match.end() : end], strip_tags=True)))
    return [part for part in parts if part[1]]


def _continue_turns(pieces: list[Segment]) -> list[Segment]:
    """Give voice-less cues the previous speaker (only called for files that open with a voice)."""
    result, speaker = [], None
    for piece in pieces:
        speaker = piece.speaker or speaker
        result.append(piece if piece.speaker else Segment(piece.start, piece.end, piece.text, speaker))
    return result
