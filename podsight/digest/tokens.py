"""Signed tokens for the links in a digest (unsubscribe, feedback): no database lookup needed to check one.

A token is `payload.signature`, both urlsafe base64 without padding. The payload holds the subject (for
example a subscriber id) and an optional expiry; the signature is HMAC-SHA256 over the purpose and the
payload, so a token made for one purpose ("unsubscribe") is worthless for another ("feedback").

`seal`/`unseal` are the same with the subject encrypted, for subjects that must not be readable in a URL
(an email address in an unsubscribe link ends up in proxy logs, browser history, forwarded mails).

Callers pass `Settings.signing_key()`: the configured secret_key, or the key generated in the home folder
(podsight.secret). There is no default key, so no token can be forged from the source code.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time

from podsight.errors import ConfigError


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: str, purpose: str, payload: bytes) -> bytes:
    if not secret:
        raise ConfigError("the signing key is empty: unset secret_key (podsight generates one) or set a long random string")
    if not purpose or "\0" in purpose:
        raise ValueError(f"token purpose must be a non-empty string without NUL, got {purpose!r}")
    message = purpose.encode("utf-8") + b"\0" + payload
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).digest()


def sign(secret: str, purpose: str, subject: str, *, expires_at: float | None = None) -> str:
    """A token for `subject`, valid for `purpose` only; it never expires unless `expires_at` (Unix
    seconds) is given."""
    expiry = "" if expires_at is None else str(int(expires_at))
    payload = f"{expiry}:{subject}".encode("utf-8")
    return f"{_b64encode(payload)}.{_b64encode(_mac(secret, purpose, payload))}"


def verify(secret: str, purpose: str, token: str, *, now: float | None = None) -> str | None:
    """The subject when `token` was signed with `secret` for `purpose` and has not expired, else None.

    Tokens arrive in URLs, so anything malformed is simply invalid (None), never an exception.
    """
    if not isinstance(token, str) or token.count(".") != 1:
        return None
    payload_b64, mac_b64 = token.split(".")
    try:
        payload, given = _b64decode(payload_b64), _b64decode(mac_b64)
        expiry, subject = payload.decode("utf-8").split(":", 1)
    except (binascii.Error, ValueError):  # bad base64, non-ASCII, bad UTF-8, no ":"
        return None
    if not hmac.compare_digest(given, _mac(secret, purpose, payload)):
        return None
    if expiry and int(expiry) <= (time.time() if now is None else now):
        return None
    return subject


# --- sealed tokens: the subject encrypted, then signed as above --------------------------------------

SEALED = "s1."  # a sealed subject's prefix; base64url after it, so never an "@" (old plain-email tokens have one)
_NONCE_BYTES = 12


def _keystream(secret: str, purpose: str, nonce: bytes, length: int) -> bytes:
    """HMAC-SHA256 as a PRF in counter mode, under a key derived from `secret` apart from the signing one."""
    key = hmac.new(secret.encode("utf-8"), b"podsight token encryption key", hashlib.sha256).digest()
    prefix = purpose.encode("utf-8") + b"\0" + nonce
    blocks = (hmac.new(key, prefix + counter.to_bytes(4, "big"), hashlib.sha256).digest()
              for counter in range((length + 31) // 32))
    return b"".join(blocks)[:length]


def seal(secret: str, purpose: str, subject: str, *, expires_at: float | None = None) -> str:
    """Like `sign`, but the token shows nothing of `subject`: it is encrypted (a fresh random nonce each
    time, so two tokens for one subject differ) and the signature covers the ciphertext."""
    _mac(secret, purpose, b"")  # the same checks of secret and purpose as sign
    nonce, data = secrets.token_bytes(_NONCE_BYTES), subject.encode("utf-8")
    cipher = bytes(a ^ b for a, b in zip(data, _keystream(secret, purpose, nonce, len(data))))
    return sign(secret, purpose, SEALED + _b64encode(nonce + cipher), expires_at=expires_at)


def unseal(secret: str, purpose: str, token: str, *, now: float | None = None) -> str | None:
    """The subject of a token from `seal` (same secret and purpose, unexpired), else None."""
    inner = verify(secret, purpose, token, now=now)
    if inner is None or not inner.startswith(SEALED):
        return None
    try:
        box = _b64decode(inner.removeprefix(SEALED))
    except (binascii.Error, ValueError):
        return None
    nonce, cipher = box[:_NONCE_BYTES], box[_NONCE_BYTES:]
    if len(nonce) != _NONCE_BYTES:
        return None
    data = bytes(a ^ b for a, b in zip(cipher, _keystream(secret, purpose, nonce, len(cipher))))
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None
