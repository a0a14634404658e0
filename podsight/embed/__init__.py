"""Sentence embeddings and nearest-neighbour search over them.

`load_embedder()` gives the default model (all-MiniLM-L6-v2 in numpy, no PyTorch); `VectorIndex` finds
the closest stored vectors; `pack_vector` / `unpack_vector` turn a vector into a SQLite BLOB and back.
"""

from __future__ import annotations

from collections.abc import Callable

from podsight.embed.base import Embedder, EmbeddingError
from podsight.embed.index import VectorIndex, pack_vector, unpack_vector, unpack_vectors

DEFAULT_EMBEDDER = "all-minilm-l6-v2"


def _numpy_minilm(batch_size: int) -> Embedder:
    from podsight.embed.minilm import MiniLMEmbedder

    return MiniLMEmbedder(batch_size=batch_size)


def _torch_minilm(batch_size: int) -> Embedder:
    from podsight.embed.st import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(batch_size=batch_size)


# (model name, backend) -> factory. Backends import lazily, so a missing optional one costs nothing.
_BACKENDS: dict[tuple[str, str], Callable[[int], Embedder]] = {
    (DEFAULT_EMBEDDER, "numpy"): _numpy_minilm,
    (DEFAULT_EMBEDDER, "sentence-transformers"): _torch_minilm,
}


def load_embedder(name: str = DEFAULT_EMBEDDER, *, backend: str = "numpy", batch_size: int = 32) -> Embedder:
    """The embedder `name` run by `backend` ("numpy", the default, or "sentence-transformers").

    Raises EmbeddingError naming the valid choices for an unknown name or backend, and the pip command
    when the weights or the backend are not installed."""
    key = (name.lower(), backend)
    if key not in _BACKENDS:
        choices = ", ".join(f"{n} ({b})" for n, b in _BACKENDS)
        raise EmbeddingError(f"no embedder {name!r} with backend {backend!r}; choose one of: {choices}")
    return _BACKENDS[key](batch_size)


__all__ = [
    "DEFAULT_EMBEDDER", "Embedder", "EmbeddingError", "VectorIndex", "load_embedder", "pack_vector",
    "unpack_vector", "unpack_vectors",
]
