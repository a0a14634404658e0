"""The metrics of `podsight eval`, as pure functions. Each docstring states the definition exactly.

Rates are returned as `Rate(hits, total)` rather than a bare float, so results of several transcripts
pool correctly (`sum(rates, Rate())` is the micro-average) and a table can show "12/20" next to "60%".
Similarity thresholds are inclusive everywhere: a pair counts when its similarity is >= the threshold.

Embeddings come in through `embed(texts) -> np.ndarray`: one L2-normalised row per text, so a dot
product is a cosine (the `podsight.embed` protocol's `Embedder.embed` fits as is).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from podsight.eval import EvalError
from podsight.insights.ground import normalise
from podsight.records import ExtractionReport, Segment

T = TypeVar("T")
Embed = Callable[[Sequence[str]], np.ndarray]

# Cosine at or above which an extracted claim "finds" a reference claim; state it in every report.
# Measured with all-MiniLM-L6-v2 on the shipped set: a reference claim scores median 0.78 against its
# own quote and median 0.46 against the nearest other reference of its episode; labelled
# near-duplicates score 0.42-0.82 and "related" pairs 0.14-0.58. Re-tune for another embedder.
DEFAULT_RECALL_THRESHOLD = 0.6


@dataclass(frozen=True)
class Rate:
    """`hits` out of `total`; `value` is NaN when there is nothing to count (shown as "n/a")."""

    hits: int = 0
    total: int = 0

    @property
    def value(self) -> float:
        return self.hits / self.total if self.total else math.nan

    def __add__(self, other: Rate) -> Rate:
        return Rate(self.hits + other.hits, self.total + other.total)

    def __str__(self) -> str:
        return f"{self.hits}/{self.total} ({self.value:.0%})" if self.total else "n/a"


@dataclass(frozen=True)
class ThresholdChoice:
    """Precision, recall and F1 of "similarity >= threshold means positive" on labelled pairs."""

    threshold: float
    precision: float
    recall: float
    f1: float
    true_positives: int
    false_positives: int
    false_negatives: int


def quote_in_transcript(quote: str, segments: Sequence[Segment]) -> bool:
    """True when the quote stands verbatim in the transcript after `podsight.insights.ground.normalise`
    (case, unicode forms, punctuation and filler words ignored): its words, whole and in order."""
    return quote_in_text(quote, transcript_text(segments))


def transcript_text(segments: Sequence[Segment]) -> str:
    """The whole transcript normalised once, for many `quote_in_text` look-ups."""
    return normalise(" ".join(segment.text for segment in segments))


def quote_in_text(quote: str, normalised_text: str) -> bool:
    """`quote_in_transcript` against a `transcript_text`."""
    needle = normalise(quote)
    return bool(needle) and f" {needle} " in f" {normalised_text} "


def grounding_rate(report: ExtractionReport, segments: Sequence[Segment]) -> Rate:
    """Kept insights whose quote is verbatim in the transcript (see `grounded`), out of all drafts the
    model produced: kept + dropped (every draft is either kept or dropped with a reason).

    Drafts of chunks skipped for invalid output are unknown and not counted; report
    `len(report.chunks_skipped)` beside this rate. A run with no drafts has rate n/a (0/0)."""
    text = transcript_text(segments)
    hits = sum(1 for insight in report.insights if quote_in_text(insight.quote, text))
    return Rate(hits, len(report.insights) + len(report.dropped))


def insights_per_hour(count: int, duration_s: float) -> float:
    """Kept insights per hour of audio: count / (duration_s / 3600). EvalError for a duration <= 0."""
    if not duration_s > 0:
        raise EvalError(f"cannot compute insights per hour for an audio duration of {duration_s} s")
    return count * 3600.0 / duration_s


def _pairs_at_or_above(similarities: np.ndarray, threshold: float) -> Rate:
    """Count the pairs i < j of a square similarity matrix at or above the threshold."""
    n = similarities.shape[0]
    upper = similarities[np.triu_indices(n, k=1)]
    return Rate(int(np.count_nonzero(upper >= threshold)), int(upper.size))


def duplicate_rate(vectors: np.ndarray, threshold: float) -> Rate:
    """Duplicate pairs within a list (e.g. one digest): pairs whose cosine is >= threshold, out of all
    n*(n-1)/2 pairs. `vectors` holds one L2-normalised row per item. Fewer than two items: 0/0."""
    vectors = np.asarray(vectors, dtype=np.float64)
    if vectors.ndim != 2:
        raise EvalError(f"duplicate_rate needs a 2-D array of row vectors, got shape {vectors.shape}")
    return _pairs_at_or_above(vectors @ vectors.T, threshold)


def duplicate_rate_by(items: Sequence[T], similarity: Callable[[T, T], float], threshold: float) -> Rate:
    """As `duplicate_rate`, with any pairwise `similarity(a, b)` (e.g. rapidfuzz on claims): pairs with
    similarity >= threshold, out of all n*(n-1)/2 pairs. The similarity is called once per pair."""
    n = len(items)
    hits = sum(1 for i in range(n) for j in range(i + 1, n) if similarity(items[i], items[j]) >= threshold)
    return Rate(hits, n * (n - 1) // 2)


def _embed_checked(embed: Embed, texts: Sequence[str]) -> np.ndarray:
    vectors = np.asarray(embed(list(texts)), dtype=np.float64)
    if vectors.ndim != 2 or vectors.shape[0] != len(texts):
        raise EvalError(f"embed() returned shape {vectors.shape} for {len(texts)} texts; expected one row per text")
    return vectors


def matched_references(
    claims: Sequence[str], references: Sequence[str], embed: Embed, threshold: float = DEFAULT_RECALL_THRESHOLD
) -> list[int | None]:
    """For each reference claim, the index of the extracted claim most similar to it when their cosine
    is >= threshold, else None. Several references may match one claim (it may state both)."""
    if not references:
        return []
    if not claims:
        return [None] * len(references)
    vectors = _embed_checked(embed, [*references, *claims])
    similarities = vectors[: len(references)] @ vectors[len(references) :].T
    best = similarities.argmax(axis=1)
    return [int(j) if similarities[i, j] >= threshold else None for i, j in enumerate(best)]


def reference_recall(
    claims: Sequence[str], references: Sequence[str], embed: Embed, threshold: float = DEFAULT_RECALL_THRESHOLD
) -> Rate:
    """Reference insights found, out of all references: a reference counts as found when some extracted
    claim's embedding has cosine >= threshold with the reference claim's embedding. Pass the claims and
    references of one transcript; add the Rates to pool transcripts. No references: 0/0."""
    matches = matched_references(claims, references, embed, threshold)
    return Rate(sum(1 for match in matches if match is not None), len(references))


def precision_recall_at(scores: Sequence[float], labels: Sequence[bool], threshold: float) -> ThresholdChoice:
    """Precision, recall and F1 of predicting "positive" when score >= threshold. Precision is 1.0 when
    nothing is predicted positive, recall 1.0 when there are no positives (nothing was missed)."""
    if len(scores) != len(labels):
        raise EvalError(f"got {len(scores)} scores for {len(labels)} labels; they must pair up")
    predicted = [score >= threshold for score in scores]
    tp = sum(1 for p, label in zip(predicted, labels) if p and label)
    fp = sum(1 for p, label in zip(predicted, labels) if p and not label)
    fn = sum(1 for p, label in zip(predicted, labels) if not p and label)
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return ThresholdChoice(threshold, precision, recall, f1, tp, fp, fn)


def best_threshold(scores: Sequence[float], labels: Sequence[bool]) -> ThresholdChoice:
    """The threshold that maximises F1 of "score >= threshold means positive" on labelled pairs.

    Candidates are the scores themselves (F1 only changes at a score). Among equal F1s the highest
    threshold wins: for the novelty threshold a false merge hides a new insight, so err on not merging.
    EvalError when there are no pairs or no positive pair to learn from."""
    if not scores:
        raise EvalError("cannot tune a threshold without labelled pairs")
    if not any(labels):
        raise EvalError("cannot tune a threshold: none of the labelled pairs is a positive")
    choices = [precision_recall_at(scores, labels, t) for t in sorted(set(scores), reverse=True)]
    return max(choices, key=lambda choice: choice.f1)  # max keeps the first: the highest threshold


def pair_similarities(pairs: Sequence[tuple[str, str]], embed: Embed) -> list[float]:
    """Cosine of each (text a, text b) pair, embedding every distinct text once."""
    texts = list(dict.fromkeys(text for pair in pairs for text in pair))
    if not texts:
        return []
    vectors = _embed_checked(embed, texts)
    row = {text: i for i, text in enumerate(texts)}
    return [float(vectors[row[a]] @ vectors[row[b]]) for a, b in pairs]


def tune_duplicate_threshold(
    labelled: Sequence[tuple[str, str, bool]], similarity: Callable[[str, str], float] | None = None,
    embed: Embed | None = None,
) -> ThresholdChoice:
    """The near-duplicate threshold with the best F1 on (text a, text b, is duplicate) triples, such as
    `dataset.duplicate_labels(eval_set)`, scored by `similarity(a, b)` or by the cosine of `embed`."""
    if (similarity is None) == (embed is None):
        raise EvalError("tune_duplicate_threshold needs exactly one of similarity= or embed=")
    pairs = [(a, b) for a, b, _ in labelled]
    scores = pair_similarities(pairs, embed) if embed else [similarity(a, b) for a, b in pairs]
    return best_threshold(scores, [label for _, _, label in labelled])
