"""How good a transcript is: word error rate against a known script."""

from __future__ import annotations

import re

from rapidfuzz.distance import Levenshtein

_WORD = re.compile(r"[a-z0-9']+")


def word_error_rate(reference: str, hypothesis: str) -> float:
    """Word-level edit distance over the reference length, after lowercasing and dropping punctuation."""
    ref, hyp = (_WORD.findall(text.lower()) for text in (reference, hypothesis))
    return Levenshtein.distance(ref, hyp) / max(len(ref), 1)
