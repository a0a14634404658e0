"""Rules 3 and 4, negation: a "not" in the claim is one in the passage, and the quote's "not" survives."""

from __future__ import annotations

import re

from podsight.insights.faithful.wording import _CLAIM_CONCESSION
from podsight.insights.faithful.words import (
    _NEGATION,
    _SHARED_FOR_SAME_CONTENT,
    _and_parts,
    _clauses,
    _content_stems,
    _is_content,
    _sentences,
    _stem,
    _words_of,
)

# A negated main clause; "without X" and "rarely" qualify rather than deny, so they do not count here.
_STRICT_NEGATION = re.compile(
    r"\b(?:not|no|never|none|nobody|nothing|neither|nor|cannot|no one|\w+n't)\b", re.IGNORECASE
)
# Words that carry a negative sense without "not": a claim saying "bad at" renders "not good at".
_NEGATIVE_SENSE = re.compile(
    r"\b(?:bad|badly|poor|poorly|wrong|worse|fail\w*|lack\w*|avoid\w*|refus\w*|stop\w*|unable|impossible|"
    r"prevent\w*|block\w*|eliminat\w*|protect\w*|"  # "helps prevent memorising" for "so that we don't memorise"
    r"unlikely|unnecessary|irrelevant|useless|little|less|fewer|instead|rather|opposed|absent|missing|different|"
    r"un(?!der|til|i)\w{4,}|mis(?!sion|sile)\w{3,}|"  # unfamiliar, unclear, misread; not under, until, unique
    r"incorrect|ineffective|insufficient|inaccurate|disagree\w*|neglect\w*|ignor\w*|against|hard|"
    r"difficult|struggl\w*|skeptical|doubt\w*|zero)\b",
    re.IGNORECASE,
)
# ", not Y" names a rejected alternative ("six comments, not the fifty common elsewhere"); the passage
# may well state Y as what others do, so the contrast is not checked.
_CONTRAST = re.compile(r"^\s*not\b", re.IGNORECASE)
# A negated condition or question ("if you wouldn't pay extra") states nothing that a claim could drop.
_CONDITION = re.compile(r"^\s*(?:and |so |but )?(?:if|unless|whether|than)\b", re.IGNORECASE)
# ", not" / " - not": the "not" of "X, not Y", which denies Y and states X.
_CONTRASTIVE_NOT = re.compile(r"\s*(?:[,;]|\s[-—–])\s*(?=not\b)", re.IGNORECASE)


def _negative(text: str) -> bool:
    """A "not" (`_NEGATION`) or a word with a negative sense ("fails", "rather", "hard") in `text`."""
    return bool(_NEGATION.search(text) or _NEGATIVE_SENSE.search(text))


# What a negation denies: the content words after it in its clause (negation scopes over the predicate)
# and the two just before it (the subject): "tools they've never seen" -> tools, seen.
_SCOPE_AFTER, _SCOPE_BEFORE = 6, 2
# "not only X" and "not merely X" add to X rather than deny it.
_ADDITIVE_NOT = re.compile(r"\bnot (?:only|merely)\b|\bno (?:matter|doubt)\b", re.IGNORECASE)


def _denied_words(clause: str) -> set[str]:
    """Content words a negation in `clause` denies."""
    words = _words_of(clause)
    denied: list[str] = []
    for i, w in enumerate(words):
        if _NEGATION.fullmatch(w):
            denied += [x for x in words[i + 1 :] if _is_content(x)][:_SCOPE_AFTER]
            denied += [x for x in words[:i] if _is_content(x)][-_SCOPE_BEFORE:]
    return {_stem(w) for w in denied}


def _denials(text: str, pattern: re.Pattern[str]) -> list[tuple[str, set[str]]]:
    """Clauses of `text` that deny something, with what they deny; conditions and contrasts left out."""
    out = []
    for clause in _clauses(text):
        if not pattern.search(_ADDITIVE_NOT.sub(" ", clause)) or _CONDITION.match(clause) or _CONTRAST.match(clause):
            continue
        out.append((clause.strip(), _denied_words(_ADDITIVE_NOT.sub(" ", clause))))
    return out


def _unsupported_negation(claim: str, passage: str) -> list[str]:
    """A 'not' the claim adds: a passage sentence states what the claim denies (two shared content
    words) and no passage sentence with a "not" or a negative word shares two of them (for "X, not Y", one of
    them from Y: `_denied_after_comma`).

    A denial of things the passage never states ("a promise, not a logo") is left alone: that is new
    content, not an inversion, and careful writers use the contrast all the time."""
    sentences = _sentences(passage)
    stated = [_content_stems(_words_of(s)) for s in sentences]
    # Whole sentences: "if Hyatt made sneakers, we have no clue" and "asked whether X, most disagree"
    # negate across their commas.
    negative = [(stems, _denied_after_comma(s)) for s, stems in zip(sentences, stated)
                if _negative(s)]
    problems = []
    for clause, denied in _denials(claim, _NEGATION):
        if not any(len(denied & stems) >= _SHARED_FOR_SAME_CONTENT for stems in stated):
            continue
        if not any(len(denied & stems) >= _SHARED_FOR_SAME_CONTENT and (only is None or denied & only)
                   for stems, only in negative):
            problems.append(f'negation "{clause}" has no negative counterpart in the passage')
    return problems


def _denied_after_comma(sentence: str) -> set[str] | None:
    """What "X, not Y" denies: Y's content words (the claim's denial must touch them), or None when the sentence
    is no such contrast, or X is negative too. "That number came from a marketing campaign, not from a study"
    states the campaign: a demo claim read "The number ... is not directly related to the marketing campaign"."""
    stated, *denied = _CONTRASTIVE_NOT.split(sentence)
    if not denied or _negative(stated):
        return None
    return _content_stems(_words_of(" ".join(denied)))


_BACK_REFERENCE = re.compile(r"\b(?:it|them|this|that)\b", re.IGNORECASE)


def _conceded_denial(sentence: str) -> tuple[set[str], bool] | None:
    """A negative concession ("..., even if people try to avoid it"): its content words, and whether it points
    back to the sentence's subject; None when the sentence has none. "The algorithm may find patterns by race, even
    if people try to avoid it", for "we're not putting race into the system, but it finds patterns", keeps the
    denial as its concession."""
    found = _CLAIM_CONCESSION.search(sentence)
    conceded = sentence[found.start():] if found else ""
    if not conceded or not _negative(conceded):
        return None
    return _content_stems(_words_of(conceded)), bool(_BACK_REFERENCE.search(conceded))


def _denies_any(clause: str, denied: set[str]) -> bool:
    """Whether a part of `clause` that names one of the `denied` words has a negative word."""
    return any(_negative(part) for part in _and_parts(clause) if denied & _content_stems(_words_of(part)))


def _dropped_negation(claim: str, quote: str) -> list[str]:
    """The quote says 'X is not Y' and the claim says 'X is Y': a claim clause restates what the quote
    denies (two shared content words) and no clause that restates it has a negative word in a part that
    shares one of them ("... people forgot the trick and did not complain" for "They do not forget my trick").
    A claim's ", not Y" that names one of the denied words keeps the denial as a contrast ("geared towards
    managers, not developers" for "geared not towards monetizing the developer, but towards the managers")."""
    clauses = _clauses(claim)
    claim_clauses = [(_content_stems(_words_of(c)), c) for c in clauses]
    contrasts = [_content_stems(_words_of(c)) for c in clauses if _CONTRAST.match(c)]
    concessions = [found for found in map(_conceded_denial, _sentences(claim)) if found]
    for clause, denied in _denials(quote, _STRICT_NEGATION):
        if any(denied & stems for stems in contrasts):
            continue
        if any(denied & stems or points_back for stems, points_back in concessions):
            continue
        restating = [text for stems, text in claim_clauses if len(denied & stems) >= _SHARED_FOR_SAME_CONTENT]
        if restating and not any(_denies_any(text, denied) for text in restating):
            return [f'the quote negates "{clause}" but the claim states it without a negation']
    return []
