"""Readable plain text from the HTML that feeds put in show notes and titles."""

from __future__ import annotations

import html
import re

_SCRIPT_OR_STYLE = re.compile(r"<(script|style)\b.*?</\1\s*>", re.S | re.I)
_LINE_BREAK_TAG = re.compile(r"<(?:br|/p|/div|/li|/h[1-6]|/tr)\b[^>]*>", re.I)
_ANY_TAG = re.compile(r"<[/!?a-zA-Z][^>]*>")
_SPACE_RUN = re.compile(r"  +")
_ODD_BLANKS = "\t\r\f\v\xa0"


def html_to_text(value: str) -> str:
    """Readable plain text from an HTML fragment (show notes): tags dropped, entities decoded, blanks tidied."""
    if "<" in value:
        if "<s" in value or "<S" in value:  # a cheap test before the costlier script/style regex
            value = _SCRIPT_OR_STYLE.sub("", value)
        value = _LINE_BREAK_TAG.sub("\n", value)
        value = _ANY_TAG.sub("", value)
    if "&" in value:
        value = html.unescape(value)
    # str.replace and a literal-prefix regex, because a character-class regex costs 10x more on long notes
    for blank in _ODD_BLANKS:
        if blank in value:
            value = value.replace(blank, " ")
    if "  " in value:
        value = _SPACE_RUN.sub(" ", value)
    lines = (line.strip() for line in value.split("\n"))
    return "\n".join(line for line in lines if line)
