"""Digest rendering (Jinja2: HTML, text, Atom), signed links and email."""

from .email import build_message, send_message
from .render import format_timestamp, render_atom, render_html, render_text, timestamp_url
from .tokens import sign, verify

__all__ = [
    "build_message", "format_timestamp", "render_atom", "render_html", "render_text", "send_message", "sign",
    "timestamp_url", "verify",
]
