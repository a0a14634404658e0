"""Publisher transcripts (WebVTT, SRT, Podcasting 2.0 JSON, HTML, plain text) into one segment list.

`parse_transcript` decodes the bytes, decides the format and hands the text to the parser for it;
`choose_transcript` picks the most useful of an episode's `podcast:transcript` links.

Format decision: a specific declared MIME type wins (text/vtt, application/x-subrip, application/json,
text/html, ...); then the URL's extension; then the content itself ("WEBVTT", an SRT cue, JSON, HTML).
A generic declaration (text/plain, application/octet-stream) is weaker than both, because hosts
serve .vtt and .srt files as text/plain every day. When the chosen parser fails or finds no text and
the content clearly looks like another format, that format is tried too.
"""

from __future__ import annotations

import codecs
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import replace
from email.message import Message
from urllib.parse import urlsplit

from podsight.errors import TranscriptFormatError
from podsight.records import Segment, TranscriptLink
from podsight.transcripts.captions import parse_srt, parse_vtt
from podsight.transcripts.documents import parse_html, parse_json, parse_plain
from podsight.transcripts.text import merge_cues

__all__ = ["parse_transcript", "choose_transcript", "merge_cues", "detect_format", "sniff_format", "decode"]

logger = logging.getLogger("podsight.transcripts")

PARSERS: dict[str, Callable[[str], list[Segment]]] = {
    "json": parse_json, "vtt": parse_vtt, "srt": parse_srt, "html": parse_html, "text": parse_plain,
}
# Best first: JSON has speakers and times, VTT has voices, SRT times, HTML and text often neither.
PREFERENCE = ("json", "vtt", "srt", "html", "text")

MIME_FORMATS = {
    "text/vtt": "vtt", "text/webvtt": "vtt",
    "application/x-subrip": "srt", "application/srt": "srt", "text/srt": "srt", "text/x-srt": "srt",
    "application/x-srt": "srt",
    "application/json": "json", "text/json": "json",
    "text/html": "html", "application/xhtml+xml": "html",
    "text/plain": "text",
}
EXTENSION_FORMATS = {
    ".vtt": "vtt", ".webvtt": "vtt", ".srt": "srt", ".json": "json",
    ".html": "html", ".htm": "html", ".txt": "text",
}
_GENERIC = {"text", None}  # declarations too weak to beat an extension or a content signature
_SRT_SIGNATURE = re.compile(r"^\s*\d+\s*\r?\n\s*\d{1,2}:\d{2}:\d{2}[,.]\d{1,3}\s*-->", re.M)
_HTML_SIGNATURE = re.compile(r"<(?:!doctype html|html|body|p|cite|div)[\s>]", re.I)
_JSON_SIGNATURE = re.compile(r'[\[{]\s*[\[{"\]}]')  # not "[00:01:23] text"
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_LATIN_FAMILY = {"latin_1", "iso8859_1", "cp1252", "ascii"}


def parse_transcript(content: bytes, mime_type: str | None = None, url: str | None = None) -> list[Segment]:
    """Read a publisher transcript into segments ordered as in the file.

    Caption cues (VTT, SRT, word-level JSON) are joined into sentence-sized segments (`merge_cues`).
    HTML and plain text without timestamps get estimated times (about 150 words per minute).

    Raises TranscriptFormatError when the content is empty, binary, in an unknown format, or has no text.
    """
    where = f"transcript at {url}" if url else "transcript"
    text = decode(content, _charset(mime_type))
    if not text.strip():
        raise TranscriptFormatError(f"{where} is empty")
    if _looks_binary(text):
        raise TranscriptFormatError(f"{where} is binary data, not text (type {mime_type or 'not given'})")
    text = _CONTROL_CHARS.sub("", text)  # stray control bytes break XML/HTML parsers and mean nothing
    fmt = detect_format(text, mime_type, url)
    if fmt is None:
        raise TranscriptFormatError(
            f"{where} is in an unknown format (type {mime_type or 'not given'}); "
            "podsight reads VTT, SRT, Podcasting 2.0 JSON, HTML and plain text"
        )
    # What the content looks like, and a generic declaration, are second and third guesses.
    fallbacks = [sniff_format(text), _declared_format(mime_type, url)]
    return _parse_first(list(dict.fromkeys([fmt, *filter(None, fallbacks)])), text, where)


def detect_format(text: str, mime_type: str | None = None, url: str | None = None) -> str | None:
    """One of "json", "vtt", "srt", "html", "text", or None when nothing identifies the format."""
    declared = _declared_format(mime_type, url)
    if declared not in _GENERIC:
        return declared
    return sniff_format(text) or declared


def sniff_format(text: str) -> str | None:
    """The format the content announces by its first characters, or None."""
    head = text.lstrip("\ufeff \t\r\n")[:2000]
    if head[:6].upper() == "WEBVTT":
        return "vtt"
    if _SRT_SIGNATURE.match(head):
        return "srt"
    if _JSON_SIGNATURE.match(head):
        return "json"
    if _HTML_SIGNATURE.search(head):
        return "html"
    return None


def choose_transcript(links: Sequence[TranscriptLink], language: str | None = None) -> TranscriptLink | None:
    """The most useful link: matching language first (a link without a language is a fair guess,
    another language the last resort), then JSON > VTT > SRT > HTML > text. Links of unknown type are
    chosen only when no link has a known one. None when there are no links."""
    if not links:
        return None

    def rank(item: tuple[int, TranscriptLink]) -> tuple[int, int, int]:
        index, link = item
        fmt = _declared_format(link.mime_type, link.url)
        format_rank = PREFERENCE.index(fmt) if fmt in PREFERENCE else len(PREFERENCE)
        return (_language_rank(link.language, language), format_rank, index)

    return min(enumerate(links), key=rank)[1]


def decode(content: bytes, charset: str | None = None) -> str:
    """Text from bytes, never failing: BOM, then the declared charset, then UTF-8, then cp1252."""
    for bom, encoding in _BOMS:
        if content.startswith(bom):
            return content[len(bom):].decode(encoding, errors="replace")
    candidates = [charset, "utf-8"] if charset else ["utf-8"]
    if charset and _is_latin(charset) and _is_utf8(content):
        # Servers label everything ISO-8859-1 by default; bytes that are valid UTF-8 with non-ASCII
        # characters in them are practically never meant as Latin-1.
        candidates = ["utf-8"]
    for encoding in candidates:
        try:
            return content.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
    return content.decode("cp1252", errors="replace")


_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"),  # before UTF-16: same prefix
    (codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"),
)


def _parse_first(candidates: list[str], text: str, where: str) -> list[Segment]:
    """Segments from the first candidate format whose parser finds text; the first error otherwise."""
    first_error: TranscriptFormatError | None = None
    for fmt in candidates:
        try:
            segments = PARSERS[fmt](text)
        except TranscriptFormatError as error:
            first_error = first_error or error
            continue
        if segments:
            if fmt != candidates[0]:
                logger.warning("%s was taken for %s but reads as %s", where, candidates[0], fmt)
            # Some files end a cue before it starts; downstream code may rely on end >= start.
            return [s if s.end >= s.start else replace(s, end=s.start) for s in segments]
    if first_error:
        raise TranscriptFormatError(f"{where}: {first_error}") from first_error
    raise TranscriptFormatError(f"{where} has no text (read as {candidates[0]})")


def _declared_format(mime_type: str | None, url: str | None) -> str | None:
    """The format named by a specific MIME type, else by the URL extension, else by a generic type."""
    by_mime = MIME_FORMATS.get(_media_type(mime_type))
    if by_mime not in _GENERIC:
        return by_mime
    path = urlsplit(url).path.lower() if url else ""
    by_extension = next((fmt for ext, fmt in EXTENSION_FORMATS.items() if path.endswith(ext)), None)
    return by_extension or by_mime


def _media_type(mime_type: str | None) -> str:
    """"text/VTT; charset=utf-8" -> "text/vtt"."""
    return (mime_type or "").split(";")[0].strip().lower()


def _charset(mime_type: str | None) -> str | None:
    """The charset parameter of a Content-Type value, if any."""
    if not mime_type:
        return None
    message = Message()
    message["content-type"] = mime_type
    return message.get_content_charset()


def _is_latin(charset: str) -> bool:
    try:
        return codecs.lookup(charset).name.replace("-", "_") in _LATIN_FAMILY
    except LookupError:
        return False


def _is_utf8(content: bytes) -> bool:
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return not content.isascii()


def _looks_binary(text: str) -> bool:
    """Control characters or undecodable bytes in more than 5% of the first 4000 characters."""
    head = text[:4000]
    odd = sum(1 for ch in head if (ch < " " and ch not in "\t\n\r\f") or ch == "\ufffd")
    return odd > 0.05 * len(head)


def _language_rank(link_language: str | None, wanted: str | None) -> int:
    """0 for a match on the primary subtag ("en-US" ~ "en"), 1 when unknown, 2 for another language."""
    if not wanted or not link_language:
        return 1 if wanted else 0
    return 0 if _primary_subtag(link_language) == _primary_subtag(wanted) else 2


def _primary_subtag(tag: str) -> str:
    """"en-US", "EN_gb", "en" -> "en"."""
    return tag.strip().lower().replace("_", "-").split("-")[0]
