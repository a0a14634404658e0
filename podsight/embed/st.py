"""Optional backend: the same model run by sentence-transformers (PyTorch), for users who have it anyway
or want a GPU. Installed with the `sentence-transformers` extra; imported only when asked for."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from podsight.embed.base import EmbeddingError, check_texts
from podsight.embed.minilm import MINILM_NAME, minilm_model_dir

ST_INSTALL = "pip install 'podsight[sentence-transformers]' (or: pip install sentence-transformers)"


class SentenceTransformerEmbedder:
    """sentence-transformers loaded from the local model folder; vectors match MiniLMEmbedder's."""

    def __init__(self, model_dir: Path | None = None, *, batch_size: int = 32, device: str | None = None,
                 name: str = MINILM_NAME):
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise EmbeddingError(f"the sentence-transformers backend is not installed: {ST_INSTALL}") from exc
        folder = Path(model_dir) if model_dir is not None else minilm_model_dir()
        # A folder path, never a hub id: sentence-transformers then reads only local files.
        self.model = SentenceTransformer(str(folder), device=device, local_files_only=True)
        self.name = name
        # Renamed in sentence-transformers 6; the old name still works there, with a warning.
        dimension = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        self.dim = int(dimension())
        self.batch_size = batch_size

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """One unit-length float32 row per text, in input order."""
        texts = check_texts(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self.model.encode(texts, batch_size=self.batch_size, convert_to_numpy=True,
                                    normalize_embeddings=True, show_progress_bar=False)
        return np.asarray(vectors, dtype=np.float32)
