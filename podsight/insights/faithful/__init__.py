"""Faithful by construction: plain-code checks that a claim says only what its passage says.

A small model writing a claim from one passage fails in a few recognisable ways: it drops a "not",
turns "falling" into "rising", invents a number, a name or a reason, calls a fact a "benefit", labels the
guest "an investor", states a hedged or reported view as fact, or slips into another script. Each rule
catches one of those, is simple enough to explain in one line, and errs towards letting a claim through: a
wrong flag costs a good insight, and the rules are measured against claims written by a careful reader
(the README gives each rule's measured effect).

Rules of `faithfulness_problems(claim, passage, quote, known_names)`, one line each, by module:
  numbers      every number in the claim (digits, number words, "30 percent" = "30%", "$1 billion" = "a
               billion", "twice" = "doubled") is in the passage; a change "by" a number is a change there too;
  names        every name in the claim (capitalised mid-sentence, an acronym, or mixed case like "GitHub")
               is in the passage or `known_names`: any case, plural or possessive, an acronym also as the
               initials of passage words, "BuildKit" also as "build kit";
  negation     a "not" in the claim about something a passage sentence states (two shared content words)
               needs a passage sentence with a "not" or a negative word sharing two of them; a "not" in the
               quote must survive: a claim clause repeating two of the denied words needs a negative word in
               the part (between "and"s) that repeats them; "forgot" = "forget", "companies" = "company";
  direction    the claim must not say "rising" (increasing, growing, more expensive...) within four words
               of a thing the passage says is "falling" (decreasing, shrinking, cheaper...), or the reverse,
               nor "better at" a thing the passage says someone is "terrible at";
  judgement    ranking words (primary, main, biggest) come from the passage, and "benefit"/"drawback"
               needs a positive/negative word there; no advice to do what the passage calls a mistake; a
               person described as "a (tech) investor" has that description in the passage or `known_names`;
               the claim uses no writing system (CJK, Cyrillic, Arabic...) that the passage lacks;
  wording      words in quotation marks are in the passage; a "because", "due to", "led to" needs causal
               wording there, an "even if" a concession, a ", allowing ..." consequence that verb, and a later
               sentence "This can / helps / means ..." a like sentence; "no longer", "used to" needs a change to
               the same thing; a view the passage reports or doubts, or a verb it hedges, is not stated as fact.
`attribution` finds "Speaker 2 suggests that ..." and "why it matters" filler, for the standalone rules.
"""

from __future__ import annotations

from collections.abc import Iterable

from podsight.insights.faithful.attribution import (
    is_generic_why,
    speaker_as_subject,
    strip_attribution,
)
from podsight.insights.faithful.direction import _inverted_ability, _inverted_direction
from podsight.insights.faithful.judgement import (
    _advice_from_a_mistake,
    _judgement_problems,
    _role_problems,
    _script_problems,
)
from podsight.insights.faithful.names import _name_problems
from podsight.insights.faithful.negation import _dropped_negation, _unsupported_negation
from podsight.insights.faithful.numbers import _amount_misread, _number_problems
from podsight.insights.faithful.wording import (
    ADDED_CONCESSION,
    ADDED_REASON,
    HEDGE_DROPPED,
    _added_comment,
    _added_consequence,
    _added_concession,
    _added_reason,
    _hedge_dropped,
    _invented_change,
    _misquoted,
    _quantifier_dropped,
    _reported_as_fact,
    without_added_clause,
)

__all__ = ["ADDED_CONCESSION", "ADDED_REASON", "HEDGE_DROPPED", "faithfulness_problems", "is_generic_why",
           "speaker_as_subject", "strip_attribution", "without_added_clause"]


def faithfulness_problems(claim: str, passage: str, quote: str = "", known_names: Iterable[str] = ()) -> list[str]:
    """Why `claim` says more or other than `passage` (which should contain `quote`); empty when faithful.

    `known_names` are names the claim may use though the passage does not (speakers, the show).
    """
    known = list(known_names)
    evidence = f"{passage}\n{quote}"
    return [
        *_number_problems(claim, evidence),
        *_amount_misread(claim, evidence),
        *_name_problems(claim, evidence, known),
        *_unsupported_negation(claim, evidence),
        *_dropped_negation(claim, quote or passage),  # the passage at large has too many unrelated "not"s
        *_inverted_direction(claim, evidence),
        *_inverted_ability(claim, evidence),
        *_judgement_problems(claim, evidence),
        *_advice_from_a_mistake(claim, evidence),
        *_role_problems(claim, evidence, known),
        *_script_problems(claim, evidence),
        *_added_reason(claim, evidence),
        *_added_comment(claim, evidence),
        *_added_consequence(claim, evidence),
        *_added_concession(claim, evidence),
        *_reported_as_fact(claim, evidence),
        *_hedge_dropped(claim, evidence),
        *_quantifier_dropped(claim, evidence),
        *_invented_change(claim, evidence),
        *_misquoted(claim, evidence),
    ]
