"""The key that signs every digest link, private feed address and admin session (podsight.digest.tokens).

It is `secret_key` when configured (podsight.toml or PODSIGHT_SECRET_KEY); otherwise a random key that
the first podsight process to need one writes to `home/secret_key`, and every later one reads. There is
no built-in default: a key anyone can read in the source lets anyone forge an unsubscribe link or read a
subscriber's feed.

The file is created so that processes starting together (cron's `podsight run` next to `podsight serve`)
agree on one key: each writes its candidate to a private temporary file, then hard-links it to the final
name, which fails if another process got there first; the loser reads the winner's key. The final name
never points at a half-written file, so there is no window in which a reader sees an empty key.
"""

from __future__ import annotations

import os
import secrets
import stat
import tempfile
from pathlib import Path

from podsight.errors import ConfigError

KEY_FILE = "secret_key"
KEY_BYTES = 32  # 256 bits, the size of HMAC-SHA256's output


def key_path(home: Path) -> Path:
    return home / KEY_FILE


def stored_key(home: Path) -> str:
    """The key in `home`, created on first use."""
    path = key_path(home)
    try:
        return _read(path)
    except FileNotFoundError:
        return _create(path)
    except PermissionError:  # e.g. cron runs as another user than serve, which made the file
        raise ConfigError(f"cannot read {path}: run podsight as the user that owns it, "
                          "or set the same PODSIGHT_SECRET_KEY for both") from None


def _read(path: Path) -> str:
    with open(path, encoding="ascii") as file:
        _check_private(path, os.fstat(file.fileno()))  # of the file opened, not of whatever the name points at later
        key = file.read().strip()
    if not key:
        raise ConfigError(f"{path} is empty: delete it (podsight makes a new key, old links stop working) "
                          "or set PODSIGHT_SECRET_KEY")
    return key


def _check_private(path: Path, info: os.stat_result) -> None:
    # Refused, not warned about: a warning scrolls past in cron's mail, and a key others can read signs
    # links they can forge. Like ssh with a private key, the fix is one chmod.
    if os.name == "posix" and stat.S_IMODE(info.st_mode) & 0o077:
        raise ConfigError(f"{path} can be read or changed by other users (mode {stat.S_IMODE(info.st_mode):o}): "
                          f"run `chmod 600 {path}`")


def _create(path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(KEY_BYTES)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{KEY_FILE}.")  # O_CREAT|O_EXCL, mode 0600
    try:
        with os.fdopen(fd, "w", encoding="ascii") as file:
            file.write(key + "\n")
            file.flush()
            os.fsync(file.fileno())  # on disk before it has its name: a crash must not leave an empty key file
        os.link(temporary, path)  # atomic, and never replaces: exactly one process's key gets the name
    except FileExistsError:
        return _read(path)  # another process won the race: use its key
    except OSError as exc:  # e.g. a filesystem without hard links
        raise ConfigError(f"could not create {path} ({exc}): set PODSIGHT_SECRET_KEY to a long random string "
                          "instead") from None
    finally:
        os.unlink(temporary)
    return key
