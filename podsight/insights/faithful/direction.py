"""Rule 4b, direction: no "rising" where the passage says "falling", no "better at" for "terrible at"."""

from __future__ import annotations

import re

from podsight.insights.faithful.words import (
    _and_parts,
    _clauses,
    _content_stems,
    _words_of,
)

# Pairs of opposite changes; a claim that uses one side where the passage used the other,
# about the same thing, has inverted the passage.
_DIRECTIONS = [
    (
        "rise rises rising rose risen increase increases increased increasing grow grows growing grew grown "
        "climb climbs climbing climbed soar soars soaring improve improves improved improving",
        "fall falls falling fell fallen decrease decreases decreased decreasing decline declines declining "
        "declined shrink shrinks shrinking shrank drop drops dropping dropped worsen worsens worsened worsening",
    ),
    ("expensive pricier costlier", "cheaper cheap inexpensive"),
]  # "more/less", "better/worse" and bare "up/down" left out: they compare and build phrasal verbs far
#    more often than they report a change, and flagged careful claims when tried; "higher/lower" and
#    "reduce" likewise ("higher quality" is a level, "reduce quality to a checklist" no decrease).
# Phrases that do report a change are read as the verb they mean.
_DIRECTION_PHRASES = [
    (re.compile(r"\b(?:go|goes|going|gone|went|come|comes|came|coming)\s+up\b", re.IGNORECASE), "rising"),
    (re.compile(r"\b(?:go|goes|going|gone|went|come|comes|came|coming)\s+down\b", re.IGNORECASE), "falling"),
    (re.compile(r"\b(?:get|gets|got|getting|become|becomes|became|becoming)\s+better\b", re.IGNORECASE), "improving"),
    (re.compile(r"\b(?:get|gets|got|getting|become|becomes|became|becoming)\s+worse\b", re.IGNORECASE), "worsening"),
]
_DIRECTION_OF: dict[str, tuple[int, int]] = {}
for _pair, (_up, _down) in enumerate(_DIRECTIONS):
    _DIRECTION_OF.update({w: (_pair, 0) for w in _up.split()})
    _DIRECTION_OF.update({w: (_pair, 1) for w in _down.split()})
_DIRECTION_WINDOW = 4
# Words that say when or how often a change happened, not what changed ("demand grew over the years" and
# "costs fell every year" are not about one thing).
_WHEN = frozenset("year years yearly annual annually month months monthly week weeks day days decade decades "
                  "quarter quarters time times every each single row period".split())


def _directed_things(text: str, by_part: bool = False) -> list[tuple[tuple[int, int], set[str]]]:
    """Each direction word with the content words within a few words of it, in its clause, or `by_part` in its
    part of the clause ("reduce stress and improve output" improves output, not stress)."""
    for phrase, verb in _DIRECTION_PHRASES:
        text = phrase.sub(verb, text)
    clauses = _clauses(text)
    out = []
    for part in [p for clause in clauses for p in _and_parts(clause)] if by_part else clauses:
        words = _words_of(part)
        for i, w in enumerate(words):
            direction = _DIRECTION_OF.get(w.lower())
            if direction:
                near = words[max(0, i - _DIRECTION_WINDOW) : i + _DIRECTION_WINDOW + 1]
                things = (n for n in near if n.lower() not in _DIRECTION_OF and n.lower() not in _WHEN)
                out.append((direction, _content_stems(things)))
    return out


def _inverted_direction(claim: str, passage: str) -> list[str]:
    said = _directed_things(passage)
    problems = []
    # The claim's words are read narrowly and the passage's broadly ("grow really tall and then just fall over"
    # says the tall robot fell), so that a doubt passes the claim.
    for (pair, side), near in _directed_things(claim, by_part=True):
        opposite = set().union(*[n for (p, s), n in said if p == pair and s != side] or [set()])
        same = set().union(*[n for (p, s), n in said if p == pair and s == side] or [set()])
        inverted = (near & opposite) - same
        if inverted:
            problems.append(f'direction inverted: the passage says the opposite about "{sorted(inverted)[0]}"')
    return problems


# Being good or bad at a thing ("the discriminator is terrible at telling whether it's a horse" written as "better at
# telling"): the same skill with the opposite judgement. Only "at <verb>": a bare "better" compares far more often.
# "not good at taking over" is bad at it.
_JUDGED_AT = re.compile(r"(?:(?P<neg>\bnot|n't|\bnever)\s+)?\b(?:(?P<good>good|better|best|great|excellent)|"
                        r"(?P<bad>bad|worse|worst|terrible|poor|awful|weak))\s+at\s+(?P<skill>\w+)", re.IGNORECASE)


def _judgements_at(text: str) -> set[tuple[str, bool]]:
    """(skill, judged good) for each "good at X" / "terrible at X" in the text, a negation turning it round."""
    return {(m.group("skill").lower(), bool(m.group("good")) != bool(m.group("neg")))
            for m in _JUDGED_AT.finditer(text.replace("’", "'"))}


def _inverted_ability(claim: str, passage: str) -> list[str]:
    said = _judgements_at(passage)
    for skill, good in sorted(_judgements_at(claim)):
        if (skill, not good) in said and (skill, good) not in said:
            return [f'direction inverted: the passage judges "at {skill}" the other way']
    return []
