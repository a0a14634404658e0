"""Words, clauses and sentences as the faithfulness rules read them."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "ʼ": "'", "`": "'", "´": "'"})
_TOKEN = re.compile(r"\$?\d+(?:,\d{3})*(?:\.\d+)?[A-Za-z%]*|[^\W\d_][\w']*|[%,.;:!?()]|-|–|—")
_STOPWORDS = frozenset(
    """a about above after again against all also am an and any are as at be because been before being
    below between both but by can could did do does doing down during each even ever every few for from
    further had has have having he her here hers herself him himself his how i if in into is it its itself
    just kind like many may me might more most much must my myself no nor not now of off on once only or
    other our ours out over own really same she should so some such than that the their them then there
    these they this those through thing things to too under until up very was way we well were what when
    where which while who whom why will with would yeah you your yours get gets got go going goes make
    makes made say says said one lot lots actually basically sort quite whether yet still already
    cause 'cause before after""".split()
)


def _normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text).translate(_APOSTROPHES)


def _tokens(text: str) -> list[str]:
    """Words, numbers and dashes, in order, case kept."""
    return _TOKEN.findall(_normalise(text))


# Irregular verbs, past and participle to the present ("forgot" is "forget" to a rule that compares words).
_IRREGULAR = {past: base for base, forms in (
    ("be", "was were been"), ("become", "became"), ("begin", "began begun"), ("break", "broke broken"),
    ("bring", "brought"), ("build", "built"), ("buy", "bought"), ("catch", "caught"), ("choose", "chose chosen"),
    ("come", "came"), ("do", "did done"), ("draw", "drew drawn"), ("drive", "drove driven"), ("eat", "ate eaten"),
    ("fall", "fell fallen"), ("feel", "felt"), ("fight", "fought"), ("find", "found"), ("fly", "flew flown"),
    ("forget", "forgot forgotten"), ("get", "got gotten"), ("give", "gave given"), ("go", "went gone"),
    ("grow", "grew grown"), ("have", "had"), ("hear", "heard"), ("hold", "held"), ("keep", "kept"),
    ("know", "knew known"), ("lead", "led"), ("leave", "left"), ("lose", "lost"), ("make", "made"),
    ("mean", "meant"), ("meet", "met"), ("pay", "paid"), ("rise", "rose risen"), ("run", "ran"),
    ("say", "said"), ("see", "saw seen"), ("sell", "sold"), ("send", "sent"), ("shrink", "shrank shrunk"),
    ("sit", "sat"), ("speak", "spoke spoken"), ("spend", "spent"), ("stand", "stood"), ("take", "took taken"),
    ("teach", "taught"), ("tell", "told"), ("think", "thought"), ("throw", "threw thrown"),
    ("understand", "understood"), ("win", "won"), ("write", "wrote written"),
) for past in forms.split()}


def _stem(word: str) -> str:
    """A crude stem so that 'ideas'/'idea', 'falling'/'falls', 'forgot'/'forget' compare equal; never shown to
    anyone."""
    w = word.lower().removesuffix("'s").rstrip("'")
    w = _IRREGULAR.get(w, w)
    if w.endswith("ies") and len(w) > 4:  # "companies" -> "company", as the singular is left
        return w[:-3] + "y"
    for suffix, keep in (("ing", 4), ("ed", 4), ("es", 4), ("s", 3)):
        if w.endswith(suffix) and len(w) - len(suffix) >= keep - 1 and not w.endswith("ss"):
            return w[: -len(suffix)]
    return w


def _bare(word: str) -> str:
    """Lower case without a possessive or contraction tail: "that's" -> "that", "they've" -> "they"."""
    return re.sub(r"'(?:s|ve|re|ll|d|m)$", "", word.lower()).strip("'")


def _is_content(word: str) -> bool:
    bare = _bare(word)
    return len(bare) > 2 and bare[0].isalpha() and bare not in _STOPWORDS and not _NEGATION.fullmatch(word)


def _content_stems(words: Iterable[str]) -> set[str]:
    return {_stem(_bare(w)) for w in words if _is_content(w)}


def _word_forms(word: str) -> set[str]:
    """Forms a word may take in the passage: possessive and plural 's' tolerated both ways."""
    w = word.lower().removesuffix("'s").rstrip("'")
    forms = {w, w + "s", w + "es"}
    if w.endswith("s"):
        forms.add(w[:-1])
    if w.endswith("es"):
        forms.add(w[:-2])
    return forms


def _passage_words(passage: str) -> set[str]:
    """Lower-cased passage words, hyphenated words split, and adjacent pairs joined ('Open AI' ~ 'OpenAI')."""
    parts = [p for t in _tokens(passage) for p in re.split(r"-", t.lower().removesuffix("'s")) if p]
    words = {p.strip("'") for p in parts}
    words.update(a + b for a, b in zip(parts, parts[1:]))
    return words


# A "not" or a word that denies (the negation rules; content words leave it out).
_NEGATION = re.compile(
    r"\b(?:not|no|never|none|nobody|nothing|neither|nor|without|cannot|rarely|hardly|seldom|"
    r"fail(?:s|ed|ing)? to|no longer|no one|\w+n't)\b",
    re.IGNORECASE,
)
# Clauses end at punctuation and before conjunctions; "not because X" keeps its "not" with X, "rather than X"
# its "rather" (the claim's way of saying the passage's "not X"), and
# "than those who don't" becomes a clause of its own (an elliptical comparison, not a denial).
_CLAUSE_BREAK = re.compile(
    r"[.,;:!?()\"“”—–]+|\s-\s|(?<!\bnot)(?<!\brather)\s(?=(?:not\s+)?(?:(?:but|while|whereas|because|although|though|so that|"
    r"which|than|if|unless|whether|as|yet|even as)\b|so (?:nothing|no|none|the|it|they|we|you|i|he|she|there|that)\b))",
    re.IGNORECASE,
)

_SENTENCE_BREAK = re.compile(r"(?<=[.!?])[\"'”’)]*\s+")
_SHARED_FOR_SAME_CONTENT = 2  # content words two clauses must share to be "about the same thing"


def _sentences(text: str) -> list[str]:
    return _SENTENCE_BREAK.split(_normalise(text))


def _clauses(text: str) -> list[str]:
    return [c for c in _CLAUSE_BREAK.split(_normalise(text)) if c.strip()]


# Parts of a clause joined by "and": what one part says (a negative word, a direction) is not about the others.
_AND = re.compile(r"\s+and\s+(?!not\b)", re.IGNORECASE)


def _and_parts(clause: str) -> list[str]:
    return _AND.split(clause)


def _words_of(text: str) -> list[str]:
    return re.findall(r"[^\W\d_][\w']*", text)
