"""The demo: three made-up podcasts with publisher transcripts, served from 127.0.0.1.

`DemoServer` serves the feeds; `SHOWS` and `CLAIMS` describe what is in them (see README.md here).
"""

from __future__ import annotations

from typing import Any

from podsight.demo.catalog import CLAIMS, SHOWS

__all__ = ["CLAIMS", "SHOWS", "DemoServer", "DemoServerError"]


def __getattr__(name: str) -> Any:
    # Lazy, so that `python -m podsight.demo.server` does not import the server module twice.
    if name in ("DemoServer", "DemoServerError"):
        from podsight.demo import server

        return getattr(server, name)
    raise AttributeError(f"module 'podsight.demo' has no attribute {name!r}")
