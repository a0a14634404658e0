"""Admin accounts: scrypt password hashes (stdlib only), creating admins, checking a login with throttling.

The web side (session cookie, CSRF, login pages) is podsight.web.auth; this module knows nothing of HTTP,
so the CLI (`podsight admin add`) uses it without loading the web stack.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import ipaddress
import math
import secrets
import threading
import time

from sqlalchemy.orm import Session

from podsight.errors import PodsightError
from podsight.store import admins
from podsight.store.models import AdminUser

MAX_FAILURES, LOCKOUT_S = 5, 60  # wrong passwords per client address, and the lockout
MAX_USERNAME_FAILURES = 50  # wrong passwords per username in LOCKOUT_S, from all addresses together
MIN_PASSWORD_LENGTH = 8
# scrypt cost: 16 MiB and about 50 ms per check; stored in each hash so it can be raised later.
SCRYPT_N, SCRYPT_R, SCRYPT_P, SCRYPT_DKLEN = 2**14, 8, 1, 32
MAX_SCRYPT_N = 2**20  # a stored hash asking for more is refused rather than exhausting memory


class AuthError(PodsightError):
    """An admin account could not be created or used (bad username, short password, ...)."""


class LoginThrottled(AuthError):
    """Too many wrong passwords from one address (or for one username): logins are refused for a while."""


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
    admin = admins.admin_named(session, name)
    if admin is not None and not replace:
        raise AuthError(f"admin {name!r} exists already: add --replace to set a new password")
    if admin is None:
        admin = admins.add_admin(session, name)
    admin.password_hash = hash_password(password)
    session.flush()  # the new admin gets its id now
    return admin


class LoginThrottle:
    """Counts login attempts per client address and per username; a key with too many wrong passwords in
    LOCKOUT_S seconds is refused for LOCKOUT_S.

    - Per address (IPv6 by /64, the block one subscriber line gets): MAX_FAILURES. One address guessing
      gets 5 tries a minute, and locking it out does not lock out the admin signing in from elsewhere.
    - Per username, all addresses together: MAX_USERNAME_FAILURES, a ceiling on guessing from many
      addresses. Someone with that many addresses can still lock a username for a minute at a time;
      a lower ceiling would hand that power to anyone with a handful.

    `attempt` counts an attempt *before* the password is checked, under the lock, so 20 concurrent wrong
    passwords from one address cost 5 scrypt checks, not 20; a right password then takes its count back.
    In memory, per process: enough for one self-hosted server, and a restart only forgets the counts.
    """

    MAX_TRACKED = 10_000  # a flood of made-up usernames or addresses must not grow this without bound

    def __init__(self, max_failures: int = MAX_FAILURES, lockout_s: float = LOCKOUT_S,
                 max_username_failures: int = MAX_USERNAME_FAILURES):
        self.max_failures, self.lockout_s, self.max_username_failures = max_failures, lockout_s, max_username_failures
        self._counts: dict[tuple[str, str], tuple[int, float, float]] = {}  # key -> (count, since, locked until)
        self._lock = threading.Lock()

    def attempt(self, username: str, address: str, now: float) -> None:
        """Count one login attempt, or raise LoginThrottled (counting nothing) while either key is locked."""
        keys = ((("address", address_key(address)), self.max_failures),
                (("username", username), self.max_username_failures))
        with self._lock:
            if len(self._counts) >= self.MAX_TRACKED:
                self._prune(now)
            for key, _ in keys:
                _, _, locked_until = self._counts.get(key, (0, now, 0.0))
                if now < locked_until:
                    whom = "from this address" if key[0] == "address" else f"for {username!r}"
                    raise LoginThrottled(f"too many wrong passwords {whom}: try again in "
                                         f"{math.ceil(locked_until - now)} seconds")
            for key, limit in keys:
                count, since, _ = self._counts.get(key, (0, now, 0.0))
                if now - since >= self.lockout_s:  # a new window
                    count, since = 0, now
                count += 1
                self._counts[key] = (0, now, now + self.lockout_s) if count >= limit else (count, since, 0.0)

    def succeeded(self, username: str, address: str) -> None:
        """The password was right: forget the counts (this attempt's included) for both keys."""
        with self._lock:
            self._counts.pop(("address", address_key(address)), None)
            self._counts.pop(("username", username), None)

    def _prune(self, now: float) -> None:
        self._counts = {k: v for k, v in self._counts.items() if v[2] > now or now - v[1] < self.lockout_s}
        if len(self._counts) >= self.MAX_TRACKED:  # all recent: keep the lockouts, drop partial counts
            self._counts = {k: v for k, v in self._counts.items() if v[2] > now}


def address_key(address: str) -> str:
    """The key one client's attempts count under: its IPv4 address, or its IPv6 /64 (one household or
    server gets a whole /64, so counting single IPv6 addresses would give a guesser 2**64 tries a minute)."""
    try:
        ip = ipaddress.ip_address((address or "").strip())
    except ValueError:
        return address or ""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def check_login(session: Session, username: str, password: str, throttle: LoginThrottle | None = None,
                *, address: str = "", now: float | None = None) -> AdminUser | None:
    """The admin when the password is right, else None. Raises LoginThrottled while the client's
    address (`address`, as the web server saw it) or the username is locked out."""
    name, now = (username or "").strip(), time.time() if now is None else now
    if throttle is not None:
        throttle.attempt(name, address, now)  # counted before the slow check, not after
    admin = admins.admin_named(session, name)
    ok = verify_password(password, admin.password_hash if admin else _dummy_hash()) and admin is not None
    if throttle is not None and ok:
        throttle.succeeded(name, address)
    return admin if ok else None
