"""Build the digest email and hand it to an SMTP server.

The message is multipart/alternative (plain text first, HTML last, as RFC 2046 orders them by
preference) with one-click unsubscribe headers (RFC 2369, RFC 8058) and a Message-ID derived from
subscriber and day, so that a digest resent after a crash is recognisably the same message.
Every SMTP failure becomes a `DeliveryError` carrying the server's reply code and text.
"""

from __future__ import annotations

import email.errors
import email.policy
import hashlib
import smtplib
import socket
import ssl
from datetime import datetime, timezone
from email.message import EmailMessage
from email.utils import format_datetime

from podsight.digest.render import format_day
from podsight.errors import ConfigError, DeliveryError
from podsight.records import Digest

SECURITY_CHOICES = ("starttls", "tls", "none")


def subject_for(digest: Digest) -> str:
    """"Your podsight digest for 30 Nov 2026: 5 insights" (or ": nothing new")."""
    count = len(digest.items)
    summary = "nothing new" if count == 0 else f"{count} insight{'s' if count != 1 else ''}"
    return f"Your podsight digest for {format_day(digest.day)}: {summary}"


def message_id_for(digest: Digest, domain: str) -> str:
    """A Message-ID fixed by subscriber and day; the address is hashed so it does not leak into logs."""
    who = hashlib.sha256(digest.subscriber_email.strip().lower().encode("utf-8")).hexdigest()[:20]
    return f"<digest.{digest.day}.{who}@{domain}>"


# Headers may run to RFC 5322's 998 characters before folding. With the default 78, a signed unsubscribe URL
# (one long "word") gets RFC 2047-encoded, and mail clients no longer see a URL in List-Unsubscribe.
MAIL_POLICY = email.policy.default.clone(max_line_length=998)


def build_message(digest: Digest, html: str, text: str, *, from_addr: str, unsubscribe_url: str,
                  unsubscribe_mailto: str | None = None, message_id_domain: str = "podsight.local") -> EmailMessage:
    """The digest as a ready-to-send email. Raises DeliveryError when an address or header is unusable
    (a newline in it, an unparseable address)."""
    try:
        msg = EmailMessage(policy=MAIL_POLICY)
        msg["Subject"] = subject_for(digest)
        msg["From"] = from_addr
        msg["To"] = digest.subscriber_email
        msg["Date"] = format_datetime(datetime.now(timezone.utc))
        msg["Message-ID"] = message_id_for(digest, message_id_domain)
        targets = [f"<{unsubscribe_url}>"] + ([f"<mailto:{unsubscribe_mailto.removeprefix('mailto:')}>"]
                                              if unsubscribe_mailto else [])
        msg["List-Unsubscribe"] = ", ".join(targets)
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        msg.set_content(text)
        msg.add_alternative(html, subtype="html")
    except (ValueError, TypeError, email.errors.MessageError) as exc:
        raise DeliveryError(f"cannot build the digest email for {digest.subscriber_email!r}: {exc}") from None
    return msg


def _reply(code: int | None, text: bytes | str | None) -> str:
    """The server's answer as "550 mailbox unavailable"."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return " ".join(part for part in (str(code) if code else "", (text or "").strip()) if part)


def _explain(exc: Exception, where: str) -> str:
    """A readable sentence for any smtplib / socket / ssl failure."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        refused = "; ".join(f"{rcpt}: {_reply(*answer)}" for rcpt, answer in exc.recipients.items())
        return f"{where} refused the recipient ({refused})"
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        answer = _reply(exc.smtp_code, exc.smtp_error)
        return f"{where} rejected the login ({answer}): check smtp_username and smtp_password"
    if isinstance(exc, smtplib.SMTPConnectError):
        return f"{where} turned the connection away ({_reply(exc.smtp_code, exc.smtp_error)})"
    if isinstance(exc, smtplib.SMTPResponseException):  # sender refused, DATA refused, HELO refused...
        return f"{where} refused the message ({_reply(exc.smtp_code, exc.smtp_error)})"
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return f"{where} does not support what we asked for ({exc}); check smtp_security"
    if isinstance(exc, smtplib.SMTPServerDisconnected):  # smtplib also reports read timeouts this way
        return f"{where} hung up or did not answer in time ({exc}); check smtp_port and smtp_security"
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return f"{where} did not answer in time ({exc or 'timed out'})"
    if isinstance(exc, ssl.SSLError):
        return f"TLS with {where} failed ({exc}); check smtp_security and the server's certificate"
    if isinstance(exc, socket.gaierror):
        return f"cannot find the host of {where} ({exc}); check smtp_host"
    if isinstance(exc, ConnectionRefusedError):
        return f"nothing accepts connections at {where} ({exc}); check smtp_host and smtp_port"
    return f"sending through {where} failed: {exc.__class__.__name__}: {exc}"


def _connect(host: str, port: int, security: str, timeout_s: float, context: ssl.SSLContext) -> smtplib.SMTP:
    if security == "tls":
        return smtplib.SMTP_SSL(host, port, timeout=timeout_s, context=context)
    server = smtplib.SMTP(host, port, timeout=timeout_s)
    if security == "starttls":
        server.starttls(context=context)
    return server


def send_message(msg: EmailMessage, *, host: str, port: int, security: str, username: str | None = None,
                 password: str | None = None, timeout_s: float = 30, ssl_context: ssl.SSLContext | None = None) -> None:
    """Deliver `msg` through an SMTP server.

    `security`: "tls" (implicit TLS, usually port 465), "starttls" (usually 587) or "none" (plain text,
    for a relay on localhost). `ssl_context` defaults to the system's trusted CAs; pass one to trust a
    private CA. Logs in when `username` is given. Raises DeliveryError on any failure.
    """
    if security not in SECURITY_CHOICES:
        raise ConfigError(f"smtp_security must be one of {', '.join(SECURITY_CHOICES)}, got {security!r}")
    where = f"SMTP server {host}:{port}"
    try:
        with _connect(host, port, security, timeout_s, ssl_context or ssl.create_default_context()) as server:
            if username:
                server.login(username, password or "")
            refused = server.send_message(msg)
    except (smtplib.SMTPException, OSError) as exc:  # OSError covers refused, timeout, DNS, TLS errors
        raise DeliveryError(_explain(exc, where)) from exc
    if refused:  # some recipients accepted, some not: still a failure for the ones refused
        raise DeliveryError(_explain(smtplib.SMTPRecipientsRefused(refused), where))
