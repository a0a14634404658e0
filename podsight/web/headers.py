"""Security headers on every answer of the web app (pages, redirects, errors, static files, Atom feeds).

- Content-Security-Policy: scripts and styles only from this site's /static (no inline <script>, <style>
  or style="": templates use classes, see podsight.css), audio from anywhere (episodes are hosted by the
  podcasts), forms post only here, no <base>, no plugins, and no framing. A claim that slipped past
  escaping still could not run script.
- X-Frame-Options: DENY, for browsers older than CSP's frame-ancestors (clickjacking the admin's forms).
- X-Content-Type-Options: nosniff; Referrer-Policy: no-referrer, because digest links carry their token
  in the path and a page must not hand its address to the sites it links to.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    "media-src 'self' https: http:",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
])
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


class SecurityHeaders:
    """ASGI middleware: adds SECURITY_HEADERS to every HTTP answer that does not set them itself."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)
