"""Turn a Digest into an HTML email, a plain-text email and an Atom feed (Jinja2 templates).

Autoescaping is on for HTML and XML: claims and quotes come from podcasts and a model, so they are
untrusted text. Links from feeds pass `safe_url` (http and https only), so a `javascript:` episode link
never becomes an href, whatever the mail client or feed reader strips. Characters that XML 1.0 forbids (stray control bytes from messy transcripts) are removed
before rendering, so the Atom feed always parses.
"""

from __future__ import annotations

import re
import textwrap
from datetime import date, datetime, timezone
from urllib.parse import urlsplit, urlunsplit

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from podsight.digest.urls import safe_url
from podsight.records import Digest
from podsight.timecode import clock as format_timestamp

TEXT_WIDTH = 72
KIND_LABELS = {
    "claim": "Claim",
    "prediction": "Prediction",
    "advice": "Advice",
    "data_point": "Data point",
    "story": "Story",
}
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# Everything XML 1.0 does not allow: C0 controls except tab/newline/CR, surrogates, U+FFFE/U+FFFF.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def timestamp_url(url: str | None, seconds: float) -> str | None:
    """`url` with a Media Fragments time (`#t=SECONDS`), keeping its query and replacing any fragment.

    Players and browsers that understand `#t=` start the audio there; the others simply ignore it.
    """
    if not url or not url.strip():
        return None
    parts = urlsplit(url.strip())
    return urlunsplit(parts._replace(fragment=f"t={max(int(seconds or 0), 0)}"))


def format_day(day: str) -> str:
    """"2026-11-30" as "30 Nov 2026" (locale-independent); anything unparseable is returned as is."""
    try:
        parsed = date.fromisoformat(day)
    except (TypeError, ValueError):
        return str(day)
    return f"{parsed.day} {_MONTHS[parsed.month - 1]} {parsed.year}"


def clean_text(value: object) -> str:
    """Text safe for any of our outputs: None becomes "", XML-forbidden characters are dropped."""
    return "" if value is None else _NOT_XML.sub("", str(value))


def wrap(value: object, width: int = TEXT_WIDTH, prefix: str = "", hanging: str | None = None) -> str:
    """Fill text to `width` columns, the first line starting with `prefix` and the others with `hanging`
    (default: `prefix`). URLs and long words stay whole, so links remain clickable."""
    text = " ".join(clean_text(value).split())
    if not text:
        return prefix.rstrip()
    return textwrap.fill(text, width=width, initial_indent=prefix,
                         subsequent_indent=prefix if hanging is None else hanging,
                         break_long_words=False, break_on_hyphens=False)


def _atom_time(day: str) -> str:
    try:
        return f"{date.fromisoformat(day).isoformat()}T00:00:00Z"
    except (TypeError, ValueError):
        return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("podsight.digest", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html.j2", "xml.j2"), default=False),
        undefined=StrictUndefined,  # a typo in a template fails loudly instead of rendering blanks
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(timestamp=format_timestamp, day=format_day, clean=clean_text, wrap=wrap, safe_url=safe_url,
                       kind_label=lambda kind: KIND_LABELS.get(kind, str(kind or "insight").replace("_", " ").title()))
    return env


_ENV = _environment()


def render_html(digest: Digest) -> str:
    """The digest as a standalone HTML email: table layout, inline CSS, no external resources."""
    return _ENV.get_template("digest.html.j2").render(digest=digest)


def render_text(digest: Digest) -> str:
    """The digest as plain text wrapped at 72 columns, the alternative part of the email."""
    return _ENV.get_template("digest.txt.j2").render(digest=digest, width=TEXT_WIDTH)


def render_atom(entries: list[Digest], feed_id: str, title: str, self_url: str | None) -> str:
    """An Atom feed with one entry per digest. Entry ids are `{feed_id}/{day}`, stable across renders."""
    ordered = sorted(entries, key=lambda d: d.day, reverse=True)
    updated = _atom_time(ordered[0].day) if ordered else datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return _ENV.get_template("atom.xml.j2").render(
        entries=ordered, feed_id=feed_id, title=title, self_url=self_url, updated=updated, atom_time=_atom_time,
    )
