"""Which URLs may become a link: shared by the web pages, the email and the Atom feed."""

from __future__ import annotations


def safe_url(url: str | None) -> str | None:
    """`url` if it is http(s), else None: feed URLs go into href and src, and `javascript:` must not.

    Mail clients and feed readers differ in what they strip, so every template that writes an href from
    a feed applies this itself instead of trusting the reader's parser."""
    url = (url or "").strip()
    return url if url.lower().startswith(("http://", "https://")) else None
