"""Parse RSS (0.90, 0.91-2.0, 1.0/RDF; + iTunes, Podcasting 2.0) and Atom (1.0, 0.3) feeds into
`ParsedFeed` records, with lxml.

lxml reads a 5 MB feed in milliseconds where feedparser takes seconds (see bench/feeds.py). The parser is
locked down: entities are never resolved and nothing is fetched, so XXE and "billion laughs" documents
parse as inert text; `recover=True` reads the slightly broken XML that real publishers serve.
"""

from __future__ import annotations

import email.utils
import html
import html.entities
import logging
import math
import re
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from urllib.parse import urljoin, urlsplit

from lxml import etree

from podsight.errors import FeedParseError
from podsight.htmltext import html_to_text
from podsight.records import ParsedEpisode, ParsedFeed, Person, TranscriptLink

logger = logging.getLogger("podsight.feeds")

ITUNES = "{http://www.itunes.com/dtds/podcast-1.0.dtd}"
PODCAST = "{https://podcastindex.org/namespace/1.0}"
ATOM = "{http://www.w3.org/2005/Atom}"
CONTENT = "{http://purl.org/rss/1.0/modules/content/}"
DC = "{http://purl.org/dc/elements/1.1/}"
MEDIA = "{http://search.yahoo.com/mrss/}"
RSS1 = "{http://purl.org/rss/1.0/}"
RDF = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}"
# Namespace URIs that publishers really use for the same thing, mapped to the canonical one.
_NS_ALIASES = {
    "{https://github.com/podcastindex-org/podcast-namespace/blob/main/docs/1.0.md}": PODCAST,
    "{http://podcastindex.org/namespace/1.0}": PODCAST,
    "{https://www.itunes.com/dtds/podcast-1.0.dtd}": ITUNES,
    RSS1: "",  # RSS 1.0 (RDF) items read like RSS 2.0 ones
    "{http://my.netscape.com/rdf/simple/0.9/}": "",  # RSS 0.90 (RDF): the same shape as 1.0
    "{http://backend.userland.com/rss2}": "",  # RSS 2.0 with a default namespace on <rss>
    "{http://backend.userland.com/rss}": "",
    "{http://purl.org/atom/ns#}": ATOM,  # Atom 0.3: Atom 1.0 with older names for some fields (see _atom_entry)
}

Children = dict[str, list[etree._Element]]


def parse_feed(content: bytes, url: str) -> ParsedFeed:
    """Parse a feed document fetched from `url` (used to resolve relative links and in messages)."""
    root = _parse_xml(content, url)
    tag = _canonical(root.tag) if isinstance(root.tag, str) else ""
    if tag == "rss" or tag == RDF + "RDF":
        return _parse_rss(root, url)
    if tag == ATOM + "feed":
        return _parse_atom(root, url)
    if tag.rsplit("}", 1)[-1].lower() == "html":
        raise FeedParseError(_html_message(content, url))
    raise FeedParseError(f"{url} is an XML document with root <{tag.rsplit('}', 1)[-1]}>, not an RSS or Atom feed")


# ---------------------------------------------------------------- XML reading


def _parse_xml(content: bytes, url: str) -> etree._Element:
    """The document's root element, or FeedParseError saying why there is none."""
    data = _clean_bytes(content)
    if not data.strip():
        raise FeedParseError(f"{url} is empty: the server sent no content")
    if re.match(rb"\s*(<!--.*?-->\s*)*<(!doctype\s+html|html)\b", data[:2048], re.I | re.S):
        raise FeedParseError(_html_message(content, url))
    root, errors = _lenient_parse(data, url)
    if any(e.type_name == "ERR_RESOURCE_LIMIT" for e in errors):
        raise FeedParseError(f"{url} was refused: it declares entities that would expand without limit "
                             "(a 'billion laughs' document)")
    if any(e.type_name in _ENTITY_ERRORS for e in errors):
        # Bare "&" and HTML entities (&nbsp;) are the commonest breakage; recover alone would drop them.
        root, errors = _lenient_parse(_repair_entities(data), url)
    if root is None:
        first = errors[0].message.strip() if errors else "no elements found"
        raise FeedParseError(f"{url} is not an RSS or Atom feed: it is not XML ({first})")
    if errors:
        logger.info("%s: recovered from %d XML errors (first: %s)", url, len(errors), errors[0].message.strip())
    return root


_ENTITY_ERRORS = frozenset({"ERR_NAME_REQUIRED", "ERR_UNDECLARED_ENTITY", "ERR_ENTITYREF_SEMICOL_MISSING"})
_AMPERSAND = re.compile(rb"&(#[0-9]{1,7};|#x[0-9a-fA-F]{1,6};|[A-Za-z][A-Za-z0-9]{0,31};)?")
_XML_ENTITIES = frozenset({b"amp;", b"lt;", b"gt;", b"quot;", b"apos;"})


def _lenient_parse(data: bytes, url: str) -> tuple[etree._Element | None, list]:
    """Parse with the locked-down, recovering parser: (root or None, the errors libxml2 recovered from)."""
    parser = etree.XMLParser(recover=True, resolve_entities=False, no_network=True, huge_tree=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise FeedParseError(f"{url} is not an RSS or Atom feed: it is not XML ({exc})") from None
    return root, list(parser.error_log)


def _repair_entities(data: bytes) -> bytes:
    """Escape bare ampersands and turn HTML named entities into character references XML understands."""

    def fix(match: re.Match[bytes]) -> bytes:
        ref = match.group(1)
        if ref is None:
            return b"&amp;"
        if ref.startswith(b"#") or ref in _XML_ENTITIES:
            return match.group(0)
        char = html.entities.html5.get(ref.decode("ascii"))
        return b"".join(b"&#%d;" % ord(c) for c in char) if char else b"&amp;" + ref

    return _AMPERSAND.sub(fix, data)


def _clean_bytes(content: bytes) -> bytes:
    """Drop a UTF-8 BOM and leading blanks; turn undeclared non-UTF-8 bytes into UTF-8 so nothing is cut."""
    if content.startswith(b"\xef\xbb\xbf"):
        content = content[3:]
    if content[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return content  # UTF-16 with a BOM: libxml2 reads it as is
    content = content.lstrip()  # blanks before <?xml make libxml2 refuse the declaration
    declared = re.match(rb"<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._:-]+)", content[:200])
    if declared and declared.group(1).lower().replace(b"_", b"-") not in (b"utf-8", b"utf8"):
        return content  # libxml2 honours the declared encoding (windows-1252, iso-8859-1, ...)
    try:
        content.decode("utf-8")
        return content
    except UnicodeDecodeError:
        pass
    # Mislabelled: libxml2 would stop at the first bad byte and silently drop the rest of the feed.
    if re.search(rb"[\xc2-\xf4][\x80-\xbf]", content):
        return content.decode("utf-8", errors="replace").encode("utf-8")  # mostly UTF-8, a few bad bytes
    return content.decode("cp1252", errors="replace").encode("utf-8")  # really windows-1252


def _html_message(content: bytes, url: str) -> str:
    """Say it is an HTML page and, when the page links to its feed, which URL to use instead."""
    message = f"{url} is an HTML page, not an RSS or Atom feed"
    match = re.search(rb"<link\b[^>]*application/(?:rss|atom)\+xml[^>]*>", content[:200_000], re.I)
    href = re.search(rb"href\s*=\s*[\"']([^\"']+)", match.group(0)) if match else None
    if href:
        feed_url = urljoin(url, html.unescape(href.group(1).decode("utf-8", "replace")))
        message += f"; the page links to a feed at {feed_url}"
    return message


@lru_cache(maxsize=1024)
def _canonical(tag: str) -> str:
    """`tag` with its namespace mapped to the canonical URI (case-insensitively: feeds get it wrong)."""
    if not tag.startswith("{"):
        return tag
    ns, _, local = tag.partition("}")
    ns = ns + "}"
    return _NS_ALIASES.get(ns.lower(), ITUNES if ns.lower() == ITUNES else ns) + local


def _children(element: etree._Element) -> Children:
    """Child elements by canonical tag; one pass, so each item costs a single walk."""
    out: Children = defaultdict(list)
    for child in element:
        if isinstance(child.tag, str):  # skip comments and processing instructions
            out[_canonical(child.tag)].append(child)
    return out


def _text(children: Children, *tags: str) -> str | None:
    """The stripped text of the first of `tags` that is present and non-empty."""
    for tag in tags:
        for element in children.get(tag, ()):
            text = element.text if len(element) == 0 else "".join(element.itertext())  # leaf: skip itertext
            text = text.strip() if text else None
            if text:
                return text
    return None


# ---------------------------------------------------------------- RSS


def _parse_rss(root: etree._Element, url: str) -> ParsedFeed:
    channel = next((el for el in root if isinstance(el.tag, str) and _canonical(el.tag) == "channel"), None)
    if channel is None:
        raise FeedParseError(f"{url} is an RSS document without a <channel>: no feed in it")
    ch = _children(channel)
    items = ch.get("item") or [el for el in root if isinstance(el.tag, str) and _canonical(el.tag) == "item"]
    rss_image = _text(_children(ch["image"][0]), "url") if "image" in ch else None
    image = _attr(ch, ITUNES + "image", "href") or rss_image
    return ParsedFeed(
        title=_plain(_text(ch, "title", ITUNES + "title")),
        link=_url(url, _text(ch, "link")),
        description=_plain(_text(ch, "description", ITUNES + "summary", ITUNES + "subtitle")),
        language=_text(ch, "language", DC + "language"),
        image_url=_url(url, image),
        author=_text(ch, ITUNES + "author", "managingEditor", DC + "creator"),
        persons=_persons(ch, url),
        episodes=tuple(_rss_item(item, url) for item in items),
    )


def _rss_item(item: etree._Element, url: str) -> ParsedEpisode:
    ch = _children(item)
    audio_url, audio_type, audio_bytes = _enclosure(ch.get("enclosure", []) + ch.get(MEDIA + "content", []), url)
    return ParsedEpisode(
        guid=_text(ch, "guid", DC + "identifier") or (item.get(RDF + "about") or "").strip() or None,
        title=_plain(_text(ch, "title", ITUNES + "title")),
        link=_url(url, _text(ch, "link")),
        published=_first_date(ch, "pubDate", DC + "date", "published"),
        audio_url=audio_url,
        audio_type=audio_type,
        audio_bytes=audio_bytes,
        duration_s=parse_duration(_text(ch, ITUNES + "duration")),
        notes=_longest_text(ch, CONTENT + "encoded", "description", ITUNES + "summary"),
        transcripts=_transcripts(ch, url),
        chapters_url=_url(url, _attr(ch, PODCAST + "chapters", "url")),
        persons=_persons(ch, url),
    )


def _enclosure(elements: list[etree._Element], url: str) -> tuple[str | None, str | None, int | None]:
    """URL, MIME type and size of the audio: the first audio enclosure, else the first one."""
    usable = [el for el in elements if _url(url, el.get("url"))]
    if not usable:
        return None, None, None
    chosen = next((el for el in usable if (el.get("type") or "").startswith("audio/")), usable[0])
    size = _int(chosen.get("length") or chosen.get("fileSize"))
    return _url(url, chosen.get("url")), chosen.get("type") or None, size


# ---------------------------------------------------------------- Atom


def _parse_atom(root: etree._Element, url: str) -> ParsedFeed:
    ch = _children(root)
    return ParsedFeed(
        title=_plain(_text(ch, ATOM + "title")),
        link=_atom_link(ch, url, "alternate"),
        description=_plain(_text(ch, ATOM + "subtitle", ATOM + "tagline", ITUNES + "summary")),
        language=root.get("{http://www.w3.org/XML/1998/namespace}lang"),
        image_url=_url(url, _attr(ch, ITUNES + "image", "href") or _text(ch, ATOM + "logo", ATOM + "icon")),
        author=_text(_children(ch[ATOM + "author"][0]), ATOM + "name") if ATOM + "author" in ch else None,
        persons=_persons(ch, url),
        episodes=tuple(_atom_entry(entry, url) for entry in ch.get(ATOM + "entry", [])),
    )


def _atom_entry(entry: etree._Element, url: str) -> ParsedEpisode:
    ch = _children(entry)
    enclosures = [el for el in ch.get(ATOM + "link", []) if el.get("rel") == "enclosure"]
    audio_url, audio_type, audio_bytes = _enclosure([_as_enclosure(el) for el in enclosures], url)
    return ParsedEpisode(
        guid=_text(ch, ATOM + "id"),
        title=_plain(_text(ch, ATOM + "title")),
        link=_atom_link(ch, url, "alternate"),
        # issued / created / modified: Atom 0.3's names for published / updated
        published=_first_date(ch, ATOM + "published", ATOM + "issued", ATOM + "created", ATOM + "updated",
                              ATOM + "modified"),
        audio_url=audio_url,
        audio_type=audio_type,
        audio_bytes=audio_bytes,
        duration_s=parse_duration(_text(ch, ITUNES + "duration")),
        notes=_longest_text(ch, ATOM + "content", ATOM + "summary"),
        transcripts=_transcripts(ch, url),
        chapters_url=_url(url, _attr(ch, PODCAST + "chapters", "url")),
        persons=_persons(ch, url),
    )


def _atom_link(ch: Children, url: str, rel: str) -> str | None:
    for link in ch.get(ATOM + "link", []):
        if (link.get("rel") or "alternate") == rel:
            return _url(url, link.get("href"))
    return None


def _as_enclosure(link: etree._Element) -> etree._Element:
    """An Atom enclosure link seen as an RSS <enclosure> (url, type, length)."""
    return etree.Element("enclosure", url=link.get("href") or "", type=link.get("type") or "",
                         length=link.get("length") or "")


# ---------------------------------------------------------------- Podcasting 2.0 and shared fields


def _transcripts(ch: Children, url: str) -> tuple[TranscriptLink, ...]:
    links = []
    for el in ch.get(PODCAST + "transcript", []):
        href = _url(url, el.get("url"))
        if href:
            links.append(TranscriptLink(href, el.get("type") or None, el.get("language") or None,
                                        el.get("rel") or None))
    return tuple(links)


def _persons(ch: Children, url: str) -> tuple[Person, ...]:
    persons = []
    for el in ch.get(PODCAST + "person", []):
        name = " ".join("".join(el.itertext()).split())
        if name:
            persons.append(Person(name, (el.get("role") or "host").strip().lower(), _url(url, el.get("href"))))
    return tuple(persons)


def _attr(ch: Children, tag: str, name: str) -> str | None:
    for el in ch.get(tag, ()):
        value = (el.get(name) or "").strip()
        if value:
            return value
    return None


def _url(base: str, value: str | None) -> str | None:
    """An absolute http(s) URL, or None: other schemes (javascript:, file:) must never reach a downloader."""
    if not value or not value.strip():
        return None
    value = value.strip()
    if value.startswith(("https://", "http://")):
        return value  # already absolute: skip urljoin, the hot spot of big feeds
    absolute = urljoin(base, value)
    return absolute if urlsplit(absolute).scheme in ("http", "https") else None


def _int(value: str | None) -> int | None:
    try:
        number = int((value or "").strip())
    except ValueError:
        return None
    return number if number > 0 else None


MAX_DURATION_S = 31 * 24 * 3600  # longer is junk (or "inf"), never a real episode


def parse_duration(value: str | None) -> float | None:
    """Seconds from "HH:MM:SS", "MM:SS", "3600" or "3600.5"; None when it is missing or junk ("inf", "nan",
    negative, or longer than a month): the episode keeps its other fields."""
    if not value:
        return None
    parts = value.strip().split(":")
    try:
        numbers = [float(part) for part in parts]
    except ValueError:
        return None
    if len(numbers) > 3 or not all(math.isfinite(n) and n >= 0 for n in numbers):
        return None
    seconds = 0.0
    for number in numbers:
        seconds = seconds * 60 + number
    return seconds if seconds <= MAX_DURATION_S else None


_MONTHS = {m: i for i, m in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split(), start=1)}
_COMMON_RFC822 = re.compile(
    r"(?:[A-Za-z]{3},\s*)?(\d{1,2}) ([A-Za-z]{3}) (\d{4}) (\d\d):(\d\d)(?::(\d\d))? (?:GMT|UTC|Z|([+-])(\d\d)(\d\d))")


def parse_date(value: str | None) -> datetime | None:
    """A UTC datetime from an RFC 822 or ISO 8601 date; naive dates are taken as UTC; junk gives None, and so
    does a date that does not fit in a datetime once moved to UTC (01 Jan 0001 00:00 +0100)."""
    try:
        return _parse_date(value)
    except (OverflowError, ValueError, TypeError, IndexError):
        return None


def _first_date(ch: Children, *tags: str) -> datetime | None:
    """The first of `tags` that holds a usable date (a junk pubDate does not hide a good dc:date)."""
    for tag in tags:
        when = parse_date(_text(ch, tag))
        if when is not None:
            return when
    return None


def _parse_date(value: str | None) -> datetime | None:
    if not value:
        return None
    fast = _COMMON_RFC822.fullmatch(value.strip())
    if fast and fast.group(2).lower() in _MONTHS:  # the shape nearly every feed uses; 5x faster than email.utils
        day, month, year, hour, minute, second, sign, hours, minutes = fast.groups()
        try:
            when = datetime(int(year), _MONTHS[month.lower()], int(day), int(hour), int(minute), int(second or 0),
                            tzinfo=timezone.utc)
        except ValueError:
            return None
        offset_minutes = int(hours) * 60 + int(minutes) if sign and (hours != "00" or minutes != "00") else 0
        return when - timedelta(minutes=offset_minutes) if sign == "+" else when + timedelta(minutes=offset_minutes)
    value = re.sub(r"([+-]\d\d):(\d\d)$", r"\1\2", value.strip())  # "+05:30" is common, RFC 822 wants "+0530"
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        try:
            when = datetime.fromisoformat(value.replace(" ", "T", 1) if "T" not in value else value)
        except ValueError:
            return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.astimezone(timezone.utc)


def _plain(value: str | None) -> str:
    """A one-line title: markup stripped, blanks collapsed."""
    return " ".join(html_to_text(value).split()) if value else ""


def _longest_text(ch: Children, *tags: str) -> str:
    """The fullest of several description fields (content:encoded is usually the richest), as published:
    `ParsedEpisode.description` turns it into text only when asked (see there why)."""
    return max((_text(ch, tag) or "" for tag in tags), key=len)
