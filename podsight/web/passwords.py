"""Admin accounts: scrypt password hashes (stdlib only), creating admins, checking a login with throttling.

The web side (session cookie, CSRF, login pages) is podsight.web.auth; this module knows nothing of HTTP,
so the CLI (`podsight admin add`) uses it without loading the web stack.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import math
import secrets
import threading
import time

from sqlalchemy import select
from sqlalchemy.orm import Session

from podsight.errors import PodsightError
from podsight.store.models import AdminUser

MAX_FAILURES, LOCKOUT_S = 5, 60
MIN_PASSWORD_LENGTH = 8
# scrypt cost: 16 MiB and about 50 ms per check; stored in each hash so it can be raised later.
SCRYPT_N, SCRYPT_R, SCRYPT_P, SCRYPT_DKLEN = 2**14, 8, 1, 32
MAX_SCRYPT_N = 2**20  # a stored hash asking for more is refused rather than exhausting memory


class AuthError(PodsightError):
    """An admin account could not be created or used (bad username, short password, ...)."""


class LoginThrottled(AuthError):
    """Too many wrong passwords for one username: logins for it are refused for a while."""


# --- passwords -------------------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int, dklen: int) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=dklen,
                          maxmem=256 * n * r * p)  # about twice what scrypt needs (128·n·r·p)


def hash_password(password: str) -> str:
    """`scrypt$n$r$p$salt$hash`: a fresh 16-byte salt per call, the cost parameters kept with the hash."""
    salt = secrets.token_bytes(16)
    digest = _scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P, SCRYPT_DKLEN)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    """Whether `password` matches `stored` (from hash_password); a malformed hash never matches."""
    try:
        scheme, n, r, p, salt, expected = stored.split("$")
        n, r, p, salt, expected = int(n), int(r), int(p), _unb64(salt), _unb64(expected)
    except (ValueError, AttributeError):  # wrong field count, not a number, bad base64
        return False
    if scheme != "scrypt" or not (1 < n <= MAX_SCRYPT_N) or r < 1 or p < 1 or not expected:
        return False
    try:
        actual = _scrypt(password, salt, n, r, p, len(expected))
    except (ValueError, MemoryError):  # n not a power of two, parameters the platform refuses
        return False
    return hmac.compare_digest(actual, expected)


@functools.cache
def _dummy_hash() -> str:
    """A hash to check against when the username does not exist, so that answer takes as long as a
    wrong password and timing does not reveal which usernames are admins."""
    return hash_password(secrets.token_urlsafe(16))


# --- accounts and throttling -----------------------------------------------------------------------


def _clean_username(username: str) -> str:
    name = (username or "").strip()
    if not name or len(name) > 128 or any(ch.isspace() or ord(ch) < 32 for ch in name):
        raise AuthError(f"username {username!r} is not valid: use 1-128 characters without spaces")
    return name


def create_admin(session: Session, username: str, password: str, *, replace: bool = False) -> AdminUser:
    """Add an admin (or, with `replace`, set the password of one that exists, ending their sessions)."""
    name = _clean_username(username)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AuthError(f"the password is too short: use at least {MIN_PASSWORD_LENGTH} characters")
    admin = session.scalar(select(AdminUser).where(AdminUser.username == name))
    if admin is not None and not replace:
        raise AuthError(f"admin {name!r} exists already: add --replace to set a new password")
    if admin is None:
        admin = AdminUser(username=name, password_hash="")
        session.add(admin)
    admin.password_hash = hash_password(password)
    session.flush()
    return admin


class LoginThrottle:
    """Counts wrong passwords per username; after MAX_FAILURES, refuses that username for LOCKOUT_S.

    In memory, per process: enough for one self-hosted server, and a restart only forgets the count.
    Thread-safe, because password checks run in the thread pool.
    """

    MAX_TRACKED = 10_000  # a flood of made-up usernames must not grow this without bound

    def __init__(self, max_failures: int = MAX_FAILURES, lockout_s: float = LOCKOUT_S):
        self.max_failures, self.lockout_s = max_failures, lockout_s
        self._failures: dict[str, tuple[int, float]] = {}  # username -> (count, locked until)
        self._lock = threading.Lock()

    def check(self, username: str, now: float) -> None:
        """Raise LoginThrottled while `username` is locked out."""
        with self._lock:
            count, locked_until = self._failures.get(username, (0, 0.0))
        if now < locked_until:
            raise LoginThrottled(f"too many wrong passwords for {username!r}: try again in "
                                 f"{math.ceil(locked_until - now)} seconds")

    def failed(self, username: str, now: float) -> None:
        with self._lock:
            if len(self._failures) >= self.MAX_TRACKED:
                self._failures = {u: v for u, v in self._failures.items() if v[1] > now}
            count, _ = self._failures.get(username, (0, 0.0))
            count += 1
            locked_until = now + self.lockout_s if count >= self.max_failures else 0.0
            self._failures[username] = (0 if locked_until else count, locked_until)

    def succeeded(self, username: str) -> None:
        with self._lock:
            self._failures.pop(username, None)


def check_login(session: Session, username: str, password: str, throttle: LoginThrottle | None = None,
                *, now: float | None = None) -> AdminUser | None:
    """The admin when the password is right, else None. Raises LoginThrottled while locked out."""
    name, now = (username or "").strip(), time.time() if now is None else now
    if throttle is not None:
        throttle.check(name, now)
    admin = session.scalar(select(AdminUser).where(AdminUser.username == name)) if name else None
    ok = verify_password(password, admin.password_hash if admin else _dummy_hash()) and admin is not None
    if throttle is not None and ok:
        throttle.succeeded(name)
    elif throttle is not None:
        throttle.failed(name, now)
    return admin if ok else None
