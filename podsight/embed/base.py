"""The sentence-embedding interface every backend implements, and its error."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from podsight.errors import PodsightError


class EmbeddingError(PodsightError):
    """An embedding model is missing or unusable, or was given input it cannot embed."""


class Embedder(Protocol):
    """Texts in, one L2-normalised float32 row per text out; the dot product of two rows is their cosine."""

    name: str  # model identity, stored with every vector: vectors of different models never mix
    dim: int  # length of each vector

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """A (len(texts), dim) float32 array, rows in input order. Raises EmbeddingError on bad input."""
        ...


def check_texts(texts: Sequence[str]) -> list[str]:
    """The texts as a list, refusing the mistakes that would otherwise embed garbage silently: one bare
    string (which would be embedded letter by letter) or a non-string item (None from a missing field)."""
    if isinstance(texts, (str, bytes)):
        raise EmbeddingError("embed() takes a list of texts, not one string: use embed([text])")
    texts = list(texts)
    for position, text in enumerate(texts):
        if not isinstance(text, str):
            raise EmbeddingError(f"text #{position} is {type(text).__name__}, not str: {text!r:.80}")
    return texts


def normalize_rows(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (float32); an all-zero row stays zero instead of becoming NaN."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return vectors / np.maximum(norms, np.float32(1e-12))
