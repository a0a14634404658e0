"""Post a digest to a Slack or Discord incoming webhook.

The two services want different JSON: Slack `{"text", "blocks"}` (Block Kit), Discord `{"content",
"embeds"}`. A URL on discord.com / discordapp.com under `/api/webhooks/` gets the Discord shape, anything
else the Slack shape (Mattermost, Rocket.Chat and many chat bridges accept Slack's). Each payload is kept
within the service's documented limits, so a long quote is shortened rather than the message refused.

Failures are `DeliveryError`s: `WebhookRejected` (a 4xx other than 429: the URL is wrong or revoked, so
retrying cannot help) or `WebhookUnavailable` (timeout, refused connection, 429, 5xx, the overall deadline
passed: worth a retry).

A webhook URL is typed by a subscriber, so unless the admin sets `allow_private_addresses` the post may not
connect to a loopback, private or link-local address (`podsight.http.GuardedTransport`; a refusal is a
`WebhookRejected`): otherwise anyone with a subscription could make podsight POST into its own network.
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx

from podsight.digest.email import subject_for
from podsight.digest.render import clean_text, format_timestamp
from podsight.errors import DeliveryError
from podsight.http import GuardedTransport, PrivateAddressError
from podsight.records import Digest, DigestItem

Kind = Literal["slack", "discord"]
DISCORD_HOSTS = ("discord.com", "discordapp.com")
# Documented limits: https://api.slack.com/reference/block-kit/blocks, https://discord.com/developers/docs
SLACK_TEXT, SLACK_BLOCKS, SLACK_SECTION, SLACK_HEADER = 40_000, 50, 3_000, 150
DISCORD_CONTENT, DISCORD_EMBEDS, DISCORD_TITLE, DISCORD_DESCRIPTION, DISCORD_TOTAL = 2_000, 10, 256, 4_096, 6_000
ERROR_BODY_CHARS = 300  # of the service's answer kept in the error, enough for "invalid_token"
# The whole POST, answer included. `timeout_s` is per socket read, so a service (or anything posing as one)
# that trickles its answer a byte at a time would otherwise hold the delivery stage forever. Slack and
# Discord answer in well under a second; a minute leaves room for a slow chat bridge.
POST_DEADLINE_S = 60.0


class WebhookRejected(DeliveryError):
    """The service refused the message for good (4xx other than 429): not retried."""


class WebhookUnavailable(DeliveryError):
    """The service could not take the message now (network, 429, 5xx): retried with backoff."""

    def __init__(self, message: str, retry_after_s: float | None = None):
        super().__init__(message)
        self.retry_after_s = retry_after_s


def webhook_kind(url: str) -> Kind:
    """"discord" for a Discord webhook URL (any subdomain, e.g. ptb.discord.com), else "slack"."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower()
    on_discord = any(host == h or host.endswith("." + h) for h in DISCORD_HOSTS)
    return "discord" if on_discord and parts.path.startswith("/api/webhooks/") else "slack"


def redact_url(url: str) -> str:
    """The URL without its secret part (the token after /services/ or /webhooks/), for display."""
    parts = urlsplit(url.strip())
    return f"{parts.scheme}://{parts.hostname or '?'}{'/…' if parts.path.strip('/') else ''}"


def _cut(text: str, limit: int) -> str:
    text = clean_text(text)
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _source_line(item: DigestItem) -> str:
    who = f"{item.speaker}, " if item.speaker else ""
    return f"{who}{item.show_title}: {item.episode_title} at {format_timestamp(item.start_s)}"


def _slack_escape(text: str, limit: int) -> str:
    """Text for Slack mrkdwn, at most `limit` characters. Slack treats & < > as control characters (links,
    mentions); the cut never splits one of the entities that replace them."""
    escaped = clean_text(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if len(escaped) <= limit:
        return escaped
    cut = escaped[: limit - 1]
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut.rstrip() + "…"


def _slack_section(item: DigestItem) -> dict[str, Any]:
    source = _slack_escape(_source_line(item), SLACK_SECTION // 6)
    url = item.episode_url or ""
    if url and len(url) < SLACK_SECTION // 6:  # a monster URL is left out rather than cut (a cut link is broken)
        source = f"<{url.replace('|', '%7C').replace('>', '%3E')}|{source}>"
    extra = [f"Also said on {len(item.also_said)} other episode(s)"] if item.also_said else []
    extra += [f"Disputed by {len(item.disputed_by)} claim(s)"] if item.disputed_by else []
    claim = _slack_escape(item.claim, SLACK_SECTION // 6)
    fixed = len(claim) + len(source) + sum(len(line) + 1 for line in extra) + 10  # markup and newlines
    quote = _slack_escape(item.quote, SLACK_SECTION - fixed)
    text = "\n".join([f"*{claim}*", f"> {quote}", source, *extra])
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def slack_payload(digest: Digest) -> dict[str, Any]:
    """Block Kit message: a header, then one section per insight with a divider between them."""
    title = subject_for(digest)
    header = {"type": "header", "text": {"type": "plain_text", "text": _cut(title, SLACK_HEADER)}}
    blocks: list[dict[str, Any]] = [header]
    for item in digest.items:
        if len(blocks) + 2 > SLACK_BLOCKS:
            break
        blocks += [{"type": "divider"}, _slack_section(item)]
    fallback = "\n".join([title] + [f"• {clean_text(i.claim)}" for i in digest.items])  # notifications show this
    return {"text": _cut(fallback, SLACK_TEXT), "blocks": blocks}


def _discord_embed(item: DigestItem, budget: int) -> dict[str, Any]:
    lines = [f"> {clean_text(item.quote)}", f"— {_source_line(item)}"]
    lines += [f"Also said on {len(item.also_said)} other episode(s)"] if item.also_said else []
    lines += [f"Disputed by {len(item.disputed_by)} claim(s)"] if item.disputed_by else []
    title = _cut(item.claim, min(DISCORD_TITLE, max(budget // 3, 1)))
    embed: dict[str, Any] = {
        "title": title, "description": _cut("\n".join(lines), max(min(DISCORD_DESCRIPTION, budget - len(title)), 1)),
    }
    if item.episode_url and item.episode_url.lower().startswith(("http://", "https://")):
        embed["url"] = item.episode_url
    return embed


def discord_payload(digest: Digest) -> dict[str, Any]:
    """A message whose content is the subject line, one embed per insight (at most 10, 6,000 characters
    in all). Mentions are switched off: text from podcasts must never ping @everyone."""
    items = digest.items[:DISCORD_EMBEDS]
    embeds, left = [], DISCORD_TOTAL
    for n, item in enumerate(items):
        embed = _discord_embed(item, left // (len(items) - n))  # share what is left evenly
        left -= len(embed["title"]) + len(embed["description"])
        embeds.append(embed)
    return {"content": _cut(subject_for(digest), DISCORD_CONTENT), "embeds": embeds, "allowed_mentions": {"parse": []}}


def payload_for(url: str, digest: Digest, kind: Kind | None = None) -> dict[str, Any]:
    return discord_payload(digest) if (kind or webhook_kind(url)) == "discord" else slack_payload(digest)


def post_digest(url: str, digest: Digest, *, kind: Kind | None = None, timeout_s: float = 20.0,
                user_agent: str = "podsight", deadline_s: float | None = None, allow_private: bool = False) -> None:
    """POST the digest to the webhook `url`, all of it (the answer included) within `deadline_s` seconds
    (default POST_DEADLINE_S); `kind` overrides the shape the URL implies. Unless `allow_private` (the
    `allow_private_addresses` setting), a URL that reaches a non-public address is refused. Synchronous:
    call it from a thread, not from a running event loop."""
    deadline_s = POST_DEADLINE_S if deadline_s is None else deadline_s
    where = redact_url(url)
    payload = payload_for(url, digest, kind)
    try:
        # Async inside, so the deadline can cancel a read in progress (a sync read can only time out).
        response = asyncio.run(_post_within(deadline_s, url, payload, timeout_s, user_agent, allow_private))
    except PrivateAddressError as exc:  # a retry would reach the same address
        raise WebhookRejected(f"webhook {where} refused: {exc}") from None
    except httpx.InvalidURL as exc:
        raise WebhookRejected(f"webhook URL {where} is not usable: {exc}") from None
    except httpx.HTTPError as exc:  # timeouts, refused connections, TLS and DNS failures
        raise WebhookUnavailable(f"webhook {where} could not be reached: {exc.__class__.__name__}: {exc}") from None
    if response is None:
        raise WebhookUnavailable(f"webhook {where} gave up: the post passed its {deadline_s:g} s deadline "
                                 "(the service answers too slowly or never finishes)")
    _check(response, where)


async def _post_within(deadline_s: float, url: str, payload: dict[str, Any], timeout_s: float,
                       user_agent: str, allow_private: bool) -> httpx.Response | None:
    """The POST with its answer read in full, or None when `deadline_s` passed first."""
    deadline = asyncio.timeout(deadline_s)
    transport = None if allow_private else GuardedTransport()
    try:
        async with deadline, httpx.AsyncClient(timeout=timeout_s, headers={"User-Agent": user_agent},
                                               follow_redirects=False, transport=transport) as client:
            return await client.post(url, json=payload)
    except TimeoutError:
        if not deadline.expired():
            raise  # not ours
        return None


def _check(response: httpx.Response, where: str) -> None:
    status = response.status_code
    if status < 300:
        return
    answer = f"{status} {response.reason_phrase}: {response.text[:ERROR_BODY_CHARS].strip()}".rstrip(": ")
    if status == 429 or status >= 500:
        raise WebhookUnavailable(f"webhook {where} answered {answer}", _retry_after(response))
    hint = "; check the subscriber's webhook URL" if status in (401, 403, 404, 410) else ""
    raise WebhookRejected(f"webhook {where} refused the digest ({answer}){hint}")


def _retry_after(response: httpx.Response) -> float | None:
    """Retry-After in seconds (Slack and Discord send seconds; an HTTP date is ignored)."""
    try:
        return max(float(response.headers.get("Retry-After", "")), 0.0)
    except ValueError:
        return None
