"""OPML import and export: the subscription lists every podcast app reads and writes."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import format_datetime
from urllib.parse import urlsplit

from lxml import etree

from podsight.errors import PodsightError
from podsight.feeds.poll import check_feed_url

logger = logging.getLogger("podsight.feeds")

# Podcast apps export these pseudo-schemes; they all mean "this URL over HTTP".
_APP_SCHEMES = {"feed": "http", "itpc": "http", "pcast": "http", "podcast": "http", "rss": "http"}


class OpmlError(PodsightError):
    """The file is not an OPML subscription list we can read."""


@dataclass(frozen=True)
class OpmlFeed:
    """One subscription from an OPML file."""

    url: str
    title: str | None = None


def parse_opml(content: bytes) -> list[OpmlFeed]:
    """Every feed in an OPML document, nested outlines (folders) included, each URL once, in file order."""
    root = _parse(content)
    feeds: dict[str, OpmlFeed] = {}
    for outline in root.iter("outline"):
        raw = _xml_url(outline)
        if raw is None:
            continue  # a folder, or a plain text outline
        url = _normalise_url(raw)
        if url is None:
            logger.warning("OPML: skipped %r (%s): not an http(s) feed URL", raw, outline.get("text") or "untitled")
            continue
        title = (outline.get("title") or outline.get("text") or "").strip() or None
        feeds.setdefault(url, OpmlFeed(url, title))
    return list(feeds.values())


def build_opml(feeds: list[OpmlFeed], title: str = "podsight subscriptions") -> str:
    """An OPML 2.0 document listing `feeds`, ready to import into any podcast app."""
    root = etree.Element("opml", version="2.0")
    head = etree.SubElement(root, "head")
    etree.SubElement(head, "title").text = title
    etree.SubElement(head, "dateCreated").text = format_datetime(datetime.now(timezone.utc))
    body = etree.SubElement(root, "body")
    for feed in feeds:
        name = feed.title or feed.url
        etree.SubElement(body, "outline", type="rss", text=name, title=name, xmlUrl=feed.url)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True).decode("utf-8")


def _parse(content: bytes) -> etree._Element:
    """The <opml> root, read with the same locked-down parser as feeds (no entities, no network)."""
    if not content or not content.strip():
        raise OpmlError("the OPML file is empty")
    parser = etree.XMLParser(recover=True, resolve_entities=False, no_network=True, huge_tree=False)
    try:
        root = etree.fromstring(content.lstrip(), parser)
    except etree.XMLSyntaxError as exc:
        raise OpmlError(f"the file is not OPML: it is not XML ({exc})") from None
    if root is None:
        raise OpmlError("the file is not OPML: it is not XML")
    if not isinstance(root.tag, str) or etree.QName(root).localname.lower() != "opml":
        name = etree.QName(root).localname if isinstance(root.tag, str) else "?"
        hint = " (that is a feed: add it with `podsight add`)" if name in ("rss", "feed", "RDF") else ""
        raise OpmlError(f"the file is not OPML: its root element is <{name}>, expected <opml>{hint}")
    return root


def _xml_url(outline: etree._Element) -> str | None:
    """The feed URL of an outline; apps disagree on the attribute's case."""
    for name, value in outline.attrib.items():
        if name.lower() == "xmlurl" and value.strip():
            return value.strip()
    return None


def _normalise_url(raw: str) -> str | None:
    """An http(s) URL, mapping app schemes such as itpc:// and feed:// to http://; None when unusable
    (including a malformed one such as http://[::1/feed, which no fetch could ever send)."""
    try:
        url = _with_http_scheme(raw)
        return check_feed_url(url) if url else None
    except (ValueError, PodsightError):
        return None


def _with_http_scheme(raw: str) -> str | None:
    parts = urlsplit(raw)
    scheme = parts.scheme.lower()
    if scheme in _APP_SCHEMES:
        rest = raw.split(":", 1)[1]
        if rest.lower().startswith(("http://", "https://")):  # feed:https://example.com/rss
            return rest
        return f"{_APP_SCHEMES[scheme]}:{rest}"
    if scheme in ("http", "https") and parts.netloc:
        return raw
    return None
