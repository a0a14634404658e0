"""Rules 5-7: ranking and value words, a mistake read back as advice, a person's role, the writing system."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from podsight.insights.faithful.negation import _negative
from podsight.insights.faithful.words import (
    _SHARED_FOR_SAME_CONTENT,
    _clauses,
    _content_stems,
    _normalise,
    _passage_words,
    _sentences,
    _word_forms,
    _words_of,
)

# Ranking words put an order on things that the passage may not have ("the primary benefit").
_RANKING = frozenset("primary main biggest chief foremost".split())
# Calling something a benefit or a drawback needs a word of the same valence in the passage.
_VALENCE = {
    "benefit": "positive", "advantage": "positive", "upside": "positive", "beneficial": "positive",
    "drawback": "negative", "downside": "negative", "disadvantage": "negative", "harmful": "negative",
}
_VALENCE_WORDS = {
    "positive": re.compile(
        r"\b(?:good|great|better|best|help\w*|improv\w*|gain\w*|win\w*|positive|benefit\w*|advantage\w*|"
        r"upside\w*|useful|valuable)\b",
        re.IGNORECASE,
    ),
    "negative": re.compile(
        r"\b(?:bad|worse|worst|hurt\w*|harm\w*|cost\w*|risk\w*|problem\w*|negative|drawback\w*|downside\w*|"
        r"disadvantage\w*|damag\w*)\b",
        re.IGNORECASE,
    ),
}


def _judgement_problems(claim: str, passage: str) -> list[str]:
    allowed = _passage_words(passage)
    ranking = dict.fromkeys(w for w in _words_of(claim.lower()) if w in _RANKING and not _word_forms(w) & allowed)
    problems = [f'ranking "{w}" is not in the passage' for w in ranking]
    for word in dict.fromkeys(_words_of(claim.lower())):
        valence = _VALENCE.get(word.removesuffix("s"))
        if valence and not _VALENCE_WORDS[valence].search(passage):
            problems.append(f'calls it a {word.removesuffix("s")}, but the passage has no {valence} word')
    return problems


# A speaker describing a mistake ("as a founder you sometimes err towards doing what you like, even if it's not
# what's best for the company") read back as advice ("it's important to focus on what you like doing"): the claim
# recommends what the passage warns against. An unlabelled corpus episode's second insight did this.
_MISTAKE = re.compile(r"\b(?:err(?:s|ed|ing)?\s+(?:towards?|on the side of)|mistakes?|traps?|pitfalls?|tempt\w*|"
                      r"fall(?:s|ing)? into|wrong to)\b", re.IGNORECASE)
_ADVICE = re.compile(r"\b(?:important|essential|crucial|key|vital|wise|smart|best|better) to\b|\b(?:should|must|"
                     r"need to|needs to|have to|has to)\b", re.IGNORECASE)


def _advice_from_a_mistake(claim: str, passage: str) -> list[str]:
    """A claim sentence with a clause that advises (and has no negative word) which restates a passage sentence
    naming a mistake more closely than any other passage sentence (two content words or more)."""
    stated = [(_content_stems(_words_of(s)), bool(_MISTAKE.search(s))) for s in _sentences(passage)]
    for sentence in _sentences(claim):
        if not any(_ADVICE.search(c) and not _negative(c)
                   for c in _clauses(sentence)):
            continue
        said = _content_stems(_words_of(_ADVICE.sub(" ", sentence)))
        overlaps = [(len(said & stems), mistake) for stems, mistake in stated]
        best = max(n for n, _ in overlaps)
        if best >= _SHARED_FOR_SAME_CONTENT and all(mistake for n, mistake in overlaps if n == best):
            return [f'the claim advises "{sentence.strip()}", which the passage calls a mistake']
    return []


_ROLES = (
    "investor|vc|venture capitalist|founder|co-founder|cofounder|ceo|cto|cfo|professor|scientist|researcher|"
    "economist|journalist|entrepreneur|analyst|author|novelist|executive|lawyer|doctor|consultant|advisor|"
    "adviser|billionaire|politician|engineer|designer|investor"
)
# A person described as "a tech investor" or "a former CEO": the description must come from the passage.
# Plurals ("founders") are a topic, not a label on someone, and are left alone.
_PERSON_DESCRIPTION = re.compile(rf"\b(?:a|an)\s+(?:[\w-]+\s+){{0,2}}?({_ROLES})\b", re.IGNORECASE)


def _role_problems(claim: str, passage: str, known_names: Iterable[str]) -> list[str]:
    allowed = _passage_words(passage + " " + " ".join(known_names))
    return [
        f'role "{m.group(1)}" is not in the passage'
        for m in _PERSON_DESCRIPTION.finditer(_normalise(claim))
        if not all(_word_forms(w) & allowed for w in m.group(1).lower().replace("-", " ").split())
    ]


def _scripts(text: str) -> set[str]:
    """Writing systems of the letters in `text`, by the first word of their Unicode names ('CJK', 'CYRILLIC')."""
    scripts = set()
    for ch in text:
        if ch.isalpha() and not ch.isascii():
            name = unicodedata.name(ch, "UNKNOWN").split()
            scripts.add("CJK" if name[0] in {"CJK", "HIRAGANA", "KATAKANA", "HANGUL"} else name[0])
    return scripts


def _script_problems(claim: str, passage: str) -> list[str]:
    foreign = _scripts(claim) - _scripts(passage) - {"LATIN"}
    return [f"{s.lower()} characters that the passage does not have" for s in sorted(foreign)]
