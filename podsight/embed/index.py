"""Exact nearest-neighbour search over unit vectors in numpy, and vectors as SQLite BLOBs.

Exact search is one matrix product: a year of insights (100k x 384 float32 = 154 MB) answers 2,000
queries in about a second on two cores, so an approximate index (and its recall loss) is not needed yet.
The same BLOBs can move to pgvector later; only this module knows their layout.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence

import numpy as np

from podsight.embed.base import EmbeddingError, normalize_rows

_BLOB_DTYPES = {"float32": np.dtype("<f4"), "float16": np.dtype("<f2")}


class VectorIndex:
    """Vectors with ids; `search` returns the k stored ids with the highest cosine to each query."""

    def __init__(self, dim: int, *, chunk_bytes: int = 64 * 1024 * 1024):
        if dim < 1:
            raise EmbeddingError(f"dim must be at least 1, got {dim}")
        self.dim = dim
        # Bounds the (queries x stored) score block in memory: 2,000 queries x 100k vectors at once
        # would need 800 MB, in blocks of 64 MB it needs just that.
        self.chunk_bytes = chunk_bytes
        self._vectors = np.zeros((0, dim), dtype=np.float32)
        self._size = 0
        self._ids: list[Hashable] = []
        self._id_array: np.ndarray | None = None

    @classmethod
    def from_blobs(cls, ids: Sequence[Hashable], blobs: Sequence[bytes], dim: int) -> VectorIndex:
        """An index over vectors read back from the database (see `pack_vector`)."""
        index = cls(dim)
        index.add(ids, unpack_vectors(blobs, dim))
        return index

    def __len__(self) -> int:
        return self._size

    @property
    def vectors(self) -> np.ndarray:
        """The stored unit vectors, (len, dim); a view, do not modify."""
        return self._vectors[:self._size]

    def add(self, ids: Iterable[Hashable], vectors: np.ndarray) -> None:
        """Store vectors under ids (rows are normalised, so a raw vector still searches by cosine)."""
        ids = list(ids)
        vectors = self._check_matrix(vectors, "vectors")
        if len(ids) != len(vectors):
            raise EmbeddingError(f"add() got {len(ids)} ids for {len(vectors)} vectors")
        self._reserve(self._size + len(vectors))
        self._vectors[self._size:self._size + len(vectors)] = normalize_rows(vectors)
        self._size += len(vectors)
        self._ids.extend(ids)
        self._id_array = None

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """For each query row, the ids and cosine scores of its k nearest stored vectors, best first.

        Returns two (len(queries), min(k, len(self))) arrays; a 1-D query counts as one row."""
        if k < 1:
            raise EmbeddingError(f"k must be at least 1, got {k}")
        queries = normalize_rows(self._check_matrix(queries, "queries"))
        k = min(k, self._size)
        positions = np.zeros((len(queries), k), dtype=np.int64)
        scores = np.zeros((len(queries), k), dtype=np.float32)
        block = max(1, self.chunk_bytes // (4 * max(self._size, 1)))
        for start in range(0, len(queries), block):
            rows = slice(start, start + block)
            positions[rows], scores[rows] = self._top_k(queries[rows], k)
        return self._id_list()[positions], scores

    def _top_k(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        all_scores = queries @ self.vectors.T
        n = all_scores.shape[1]
        if k < n:
            # argpartition puts the k largest in the last k columns in O(n), no full sort of 100k scores.
            top = np.argpartition(all_scores, n - k, axis=1)[:, n - k:]
        else:
            top = np.broadcast_to(np.arange(n), all_scores.shape)
        top_scores = np.take_along_axis(all_scores, top, axis=1)
        order = np.argsort(-top_scores, axis=1, kind="stable")
        return np.take_along_axis(top, order, axis=1), np.take_along_axis(top_scores, order, axis=1)

    def _check_matrix(self, array: np.ndarray, what: str) -> np.ndarray:
        array = np.asarray(array, dtype=np.float32)
        if array.ndim == 1:
            array = array[None, :]
        if array.ndim != 2 or array.shape[1] != self.dim:
            raise EmbeddingError(f"{what} must have {self.dim} columns, got shape {array.shape}")
        if not np.isfinite(array).all():
            raise EmbeddingError(f"{what} contain NaN or infinite values")
        return array

    def _reserve(self, size: int) -> None:
        """Grow the buffer by doubling, so adding one insight at a time stays linear overall."""
        if size <= len(self._vectors):
            return
        grown = np.zeros((max(size, 2 * len(self._vectors), 1024), self.dim), dtype=np.float32)
        grown[:self._size] = self._vectors[:self._size]
        self._vectors = grown

    def _id_list(self) -> np.ndarray:
        if self._id_array is None:
            self._id_array = np.empty(len(self._ids), dtype=object)
            self._id_array[:] = self._ids
            if all(isinstance(i, (int, np.integer)) for i in self._ids):
                self._id_array = self._id_array.astype(np.int64)
        return self._id_array


def pack_vector(vector: np.ndarray, dtype: str = "float32") -> bytes:
    """A vector as little-endian bytes for a BLOB column; "float16" halves the size (cosine loss < 1e-5)."""
    if dtype not in _BLOB_DTYPES:
        raise EmbeddingError(f"unknown vector dtype {dtype!r}; choose one of: {', '.join(_BLOB_DTYPES)}")
    vector = np.asarray(vector)
    if vector.ndim != 1:
        raise EmbeddingError(f"pack_vector takes one 1-D vector, got shape {vector.shape}")
    return vector.astype(_BLOB_DTYPES[dtype]).tobytes()


def unpack_vector(blob: bytes, dim: int) -> np.ndarray:
    """The float32 vector in a BLOB; its length tells float32 (4 * dim bytes) from float16 (2 * dim)."""
    for dtype in _BLOB_DTYPES.values():
        if len(blob) == dtype.itemsize * dim:
            return np.frombuffer(blob, dtype=dtype).astype(np.float32)
    raise EmbeddingError(f"a vector BLOB of {len(blob)} bytes is neither {dim} float32 nor {dim} float16 values; "
                         "was it stored by another embedding model?")


def unpack_into(out: np.ndarray, blobs: Sequence[bytes], dim: int) -> None:
    """Write BLOBs into the rows of `out` (a (len(blobs), dim) float32 slice of a larger matrix) with no
    float32 copy in between: the links stage fills its one preallocated matrix page by page this way."""
    if len(out) != len(blobs):
        raise EmbeddingError(f"unpack_into got {len(blobs)} BLOBs for {len(out)} rows")
    if not blobs:
        return
    size = len(blobs[0])
    if all(len(blob) == size for blob in blobs):
        unpack_vector(blobs[0], dim)  # validates the length, names the problem if it is wrong
        dtype = _BLOB_DTYPES["float32"] if size == 4 * dim else _BLOB_DTYPES["float16"]
        out[:] = np.frombuffer(b"".join(blobs), dtype=dtype).reshape(len(blobs), dim)  # cast on assignment
        return
    for row, blob in enumerate(blobs):
        out[row] = unpack_vector(blob, dim)


def unpack_vectors(blobs: Sequence[bytes], dim: int) -> np.ndarray:
    """Many BLOBs as one (len(blobs), dim) float32 matrix; one join and one copy when all are alike."""
    if not blobs:
        return np.zeros((0, dim), dtype=np.float32)
    size = len(blobs[0])
    if all(len(blob) == size for blob in blobs):
        unpack_vector(blobs[0], dim)  # validates the length, names the problem if it is wrong
        dtype = _BLOB_DTYPES["float32"] if size == 4 * dim else _BLOB_DTYPES["float16"]
        return np.frombuffer(b"".join(blobs), dtype=dtype).reshape(len(blobs), dim).astype(np.float32)
    return np.stack([unpack_vector(blob, dim) for blob in blobs])
