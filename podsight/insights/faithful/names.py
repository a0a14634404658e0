"""Rule 2, names: every name or acronym in the claim is in the passage or is a speaker."""

from __future__ import annotations

import re
from collections.abc import Iterable

from podsight.insights.faithful.words import (
    _normalise,
    _passage_words,
    _tokens,
    _word_forms,
)

_SENTENCE_END = re.compile(r"[.!?:]['\")\]”]*$")
_OPENING_QUOTES = {'"', "“", "‘"}  # a quoted sentence starts with a capital; a bracket does not


def _is_acronym(word: str) -> bool:
    return len(word) >= 2 and bool(re.fullmatch(r"[A-Z][A-Z0-9&]*[A-Z0-9]s?", word))


def _is_mixed_case(word: str) -> bool:
    return bool(re.search(r"[a-z].*[A-Z]|^[a-z]+[A-Z]", word)) and word[0].isalpha()


def _is_name(word: str, first_of_sentence: bool) -> bool:
    if len(word) < 2 or word == "I" or not word[0].isalpha() and not _is_acronym(word):
        return False
    return _is_acronym(word) or _is_mixed_case(word) or (word[0].isupper() and not first_of_sentence)


def _names(text: str) -> list[str]:
    """Words that name something: capitalised mid-sentence, acronyms and mixed case anywhere.

    A hyphenated name ("kNN-MT", "Garrett-Harris") stays whole, so the passage may write it joined."""
    names = []
    at_start = True
    for m in re.finditer(r"\S+", _normalise(text)):
        chunk = m.group()
        opens = chunk[0] in _OPENING_QUOTES
        for k, compound in enumerate(re.findall(r"[^\W_][\w']*(?:-[^\W_][\w']*)*", chunk)):
            parts = [p.removesuffix("'s").rstrip("'") for p in compound.split("-")]
            first = at_start or (opens and k == 0)
            named = [p for j, p in enumerate(parts) if _is_name(p, first and j == 0)]
            names.extend(["-".join(parts)] if len(parts) > 1 and len(named) == len(parts) else named)
        at_start = bool(_SENTENCE_END.search(chunk))
    return names


def _acronym_in(acronym: str, passage_tokens: list[str]) -> bool:
    """'VDI' matches 'virtual desktop infrastructure': the initials of consecutive passage words."""
    letters = acronym.lower().removesuffix("s") if acronym.endswith("s") and acronym[:-1].isupper() else acronym.lower()
    initials = "".join(t[0].lower() for t in passage_tokens if t[0].isalpha())
    return len(letters) >= 2 and letters.isalpha() and letters in _initial_runs(initials, len(letters))


def _initial_runs(initials: str, n: int) -> set[str]:
    return {initials[i : i + n] for i in range(len(initials) - n + 1)}


# Acronyms that are ordinary vocabulary in the shows' subjects, not names a model could invent.
GENERIC_ACRONYMS = frozenset(
    "ai ml llm api apis saas json url ui ux pdf gpu cpu faq kpi roi b2b b2c sql html http os pr hr tv".split()
)


def _camel_parts(name: str) -> list[str]:
    """'RealToxicityPrompts' -> ['Real', 'Toxicity', 'Prompts']: the passage may spell it as words."""
    return re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+", name)


def _name_found(name: str, allowed: set[str], passage_tokens: list[str]) -> bool:
    if name.lower().removesuffix("s") in GENERIC_ACRONYMS or name.lower() in GENERIC_ACRONYMS:
        return True
    if _word_forms(name) & allowed or (_is_acronym(name) and _acronym_in(name, passage_tokens)):
        return True
    parts = _camel_parts(name)
    return len(parts) > 1 and all(_word_forms(p) & allowed for p in parts)


def _name_problems(claim: str, passage: str, known_names: Iterable[str]) -> list[str]:
    allowed = _passage_words(passage) | {w for name in known_names for w in _passage_words(name)}
    passage_tokens = [p for t in _tokens(passage) for p in t.split("-") if p]
    return [
        f'name "{name}" is not in the passage'
        for name in dict.fromkeys(_names(claim))
        if not _name_found(name.replace("-", ""), allowed, passage_tokens)
        and not all(_name_found(part, allowed, passage_tokens) for part in name.split("-") if part)
    ]
