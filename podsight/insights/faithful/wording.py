"""Rules on what a claim adds in its wording: quotation marks, a reason, a change over time, a concession,
a reported or hedged view stated as fact; and cutting an invented reason or concession off."""

from __future__ import annotations

import re

from rapidfuzz import fuzz

from podsight.insights.faithful.words import (
    _SHARED_FOR_SAME_CONTENT,
    _clauses,
    _content_stems,
    _normalise,
    _sentences,
    _words_of,
)
from podsight.insights.ground import normalise as comparable

# Words the claim puts in quotation marks are the speaker's own: they must stand in the passage (a dev-set claim
# quoted "can't agree on taste" where the speaker asked "can we agree that I'm not trying to match your taste").
# A single-quoted phrase must start after a space or an opening bracket, so an apostrophe ("the company's") is none.
_QUOTED = re.compile(r"[\"“”]([^\"“”]{3,})[\"“”]|(?:(?<=\s)|(?<=^)|(?<=[(\[]))['‘]((?:[^'‘’]|['’](?=[a-z])){3,}?)['’]"
                     r"(?=[\s.,;:!?)]|$)")
QUOTED_MATCH = 85  # rapidfuzz partial ratio: a quote may drop a spoken word ("just type [in] what you want": 87)


def _misquoted(claim: str, evidence: str) -> list[str]:
    said = comparable(evidence)
    for found in _QUOTED.finditer(claim):
        quoted = found.group(1) or found.group(2)  # double quotation marks, or single ones
        words = comparable(quoted)
        if len(words.split()) >= 2 and fuzz.partial_ratio(words, said) < QUOTED_MATCH:
            return [f'the claim quotes "{quoted}", which the passage does not say']
    return []


# A reason in the claim ("... because ...", "due to ...", "which led to ...") needs some causal wording in the
# passage: the small model likes to explain, and an invented cause reads as the speaker's. The words that bring in a
# consequence are also read for what follows them (`_added_reason`).
_CONSEQUENCE_WORDS = r"results? in|resulted in|resulting in|leads? to|led to|leading to"
_CLAIM_CAUSE = re.compile(rf"\b(?:because|due to|owing to|as a result|{_CONSEQUENCE_WORDS}|caus(?:es?|ed|ing)|"
                          r"thanks to|so that)\b", re.IGNORECASE)
# ("so" only inside a sentence: "..., so half of it is still in you" gives a consequence; an opening "So" is filler.)
_PASSAGE_CAUSE = re.compile(r"(?<=[a-z,;])\s+so\b|\b(?:because|caus(?:es?|ed|ing)|due to|since|so that|that's why|"
                            r"which is why|therefore|thus|hence|reasons?|results? in|resulted|resulting in|leads? to|"
                            r"led to|leading to|thanks to|(?:means|meant) that|that (?:means|meant)|in order to|"
                            r"as a result)\b", re.IGNORECASE)


# A change over time in the claim ("no longer as common as it was", "used to") needs the passage to speak of a
# change to the same thing: "pricing power was never as common as it looked" is no decline.
# ("can be used to get masks" and "got used to it" are no change: "used to" after a form of "be" or "get" is left.)
_CLAIM_CHANGE = re.compile(r"\b(?:no longer|any ?more|(?<!\bbe )(?<!\bis )(?<!\bare )(?<!\bwas )(?<!\bwere )"
                           r"(?<!\bbeen )(?<!\bbeing )(?<!\bget )(?<!\bgot )used to|than (?:it|they) (?:was|were|used to)|"
                           r"(?:was|were) once|in the past)\b", re.IGNORECASE)
_PASSAGE_CHANGE = re.compile(r"\b(?:no longer|any ?more|used to|once|in the past|these days|nowadays|now|today|"
                             r"(?:has|have|had) (?:become|changed|shifted|gone|grown|fallen|dropped|risen)|"
                             r"changed?|shift(?:ed)?|declin\w*|fell|fallen|drop(?:ped)?|rose|risen|grew|grown|"
                             r"shr[ua]nk|(?:years|decades|months) ago|since)\b", re.IGNORECASE)


def _invented_change(claim: str, evidence: str) -> list[str]:
    changes = [_content_stems(_words_of(clause)) for clause in _clauses(evidence) if _PASSAGE_CHANGE.search(clause)]
    for clause in _clauses(claim):
        found = _CLAIM_CHANGE.search(clause)
        if not found:
            continue
        about = _content_stems(_words_of(clause))
        if not any(len(about & stems) >= _SHARED_FOR_SAME_CONTENT for stems in changes):
            return [f'the claim says "{found.group(0)}" but the passage tells of no change to it']
    return []


ADDED_REASON = "the claim gives a reason"
MIN_CLAUSE_WORDS = 6  # what is left of a claim once its invented reason is cut must still say something


# A consequence ("..., leading to poor performance") must also be the passage's: most of its words are there. Causal
# wording anywhere in a long passage let the model's own endings through ("Overfitting occurs when ..., leading to
# poor performance" for a definition of overfitting).
_CLAIM_CONSEQUENCE_OF = re.compile(rf"\b(?:{_CONSEQUENCE_WORDS})\s+(?P<what>[^.,;:!?]+)", re.IGNORECASE)
MIN_CONSEQUENCE_SHARE = 0.5


def _added_reason(claim: str, evidence: str) -> list[str]:
    found = _CLAIM_CAUSE.search(claim)
    if found and not _PASSAGE_CAUSE.search(evidence):
        return [f'{ADDED_REASON} ("{found.group(0)}") but the passage states no cause']
    consequence = _CLAIM_CONSEQUENCE_OF.search(claim)
    if consequence:
        words = _content_stems(_words_of(consequence.group("what")))
        if words and len(words & _content_stems(_words_of(evidence))) < MIN_CONSEQUENCE_SHARE * len(words):
            return [f'{ADDED_REASON} ("{consequence.group(0)[:60]}") that the passage does not give']
    return []


# A consequence hung on the claim with a comma and an -ing verb (", allowing them to have a single place to go for
# support", ", leveling the playing field for those who ...") is more often the model's than the speaker's (a read
# of 20 such clauses in kept claims); it stands when the passage uses that verb ("it also allows you to make your
# prompts simpler" for ", allowing simpler prompts").
# "making" is left out: some form of "make" is in nearly every passage.
_CONSEQUENCE_VERBS = {"allowing": "allow", "enabling": "enabl", "helping": "help", "ensuring": "ensur",
                      "providing": "provid", "leveling": "level", "levelling": "level", "giving": "giv|gave",
                      "creating": "creat", "reducing": "reduc", "improving": "improv", "increasing": "increas",
                      "saving": "sav", "letting": "let"}
_CLAIM_CONSEQUENCE = re.compile(rf",\s+(?P<verb>{'|'.join(_CONSEQUENCE_VERBS)})\b", re.IGNORECASE)
ADDED_CONSEQUENCE = "the claim adds a consequence"


def _added_consequence(claim: str, evidence: str) -> list[str]:
    found = _CLAIM_CONSEQUENCE.search(claim)
    if found and not re.search(rf"\b(?:{_CONSEQUENCE_VERBS[found.group('verb').lower()]})", evidence, re.IGNORECASE):
        return [f'{ADDED_CONSEQUENCE} ("{found.group("verb")} ...") with a verb the passage never uses']
    return []


# A later sentence that comments on the claim ("... This can save time and resources, especially for small
# datasets.") is the model's elaboration, the "why it matters" it was told not to write: in the kept claims of the
# dev set and 24 unseen corpus episodes, 5 later sentences opened "This can / could / helps / means", all
# invented or garbled ("This helps ensure that the project is properly indexed ..."); none of the 95 reference
# claims has one. It stands when the passage says it that way too ("that means ...").
_CLAIM_COMMENT = re.compile(r"(?<=[.!?])\s+This\s+(?P<verb>can|could|may|might|will|would|helps?|allows?|enables?|"
                            r"means|makes?|leads?|ensures?|saves?)\b")
ADDED_COMMENT = "the claim adds a comment of its own"


def _added_comment(claim: str, evidence: str) -> list[str]:
    found = _CLAIM_COMMENT.search(claim)
    if found and not re.search(rf"\b(?:this|that|which|it)\s+{found.group('verb')}\b", evidence, re.IGNORECASE):
        return [f'{ADDED_COMMENT} ("{found.group(0).strip()} ...") that the passage does not make']
    return []


# A concession in the claim ("..., even if you can't do it every year") needs one in the passage: the small model
# adds "even if" clauses nobody said (a read of 40 kept claims found that one where the speaker said "one useful
# thing a week", and "even if they have technical skills" out of nothing).
_CLAIM_CONCESSION = re.compile(r"\b(?:even if|even though|even when|despite|in spite of|although|regardless of)\b",
                               re.IGNORECASE)
_PASSAGE_CONCESSION = re.compile(r"\b(?:even if|even though|even when|even so|despite|in spite|although|though|"
                                 r"regardless|whether or not|nevertheless|nonetheless|anyway)\b", re.IGNORECASE)
ADDED_CONCESSION = "the claim concedes"


def _added_concession(claim: str, evidence: str) -> list[str]:
    found = _CLAIM_CONCESSION.search(claim)
    if found and not _PASSAGE_CONCESSION.search(evidence):
        return [f'{ADDED_CONCESSION} ("{found.group(0)}") but the passage concedes nothing']
    return []


# A view the speaker reports or doubts ("some people are saying - and I don't know if I believe it - that English
# is the new programming language") is not theirs to assert: a claim that states it flatly, with no "some say",
# "may" or "argue", turns reported speech into the speaker's opinion (a read of 40 kept claims found one). Only
# the passage's sentences with such a marker count, and the claim must share REPORTED_SHARED content words with one.
_REPORTED = re.compile(r"\b(?:some(?: people| folks| of them)?|people|others|critics|skeptics) (?:are )?"
                       r"(?:say(?:ing|s)?|think(?:ing|s)?|argu(?:e|es|ing)|claim(?:ing|s)?|believ(?:e|es|ing))\b|"
                       r"\bI don'?t know (?:if|whether) I (?:believe|buy|agree)|\bI'?m not sure (?:if|whether|I)\b",
                       re.IGNORECASE)
_HEDGED_CLAIM = re.compile(r"\b(?:some|many|others|critics|may|might|could|perhaps|possibly|argu\w*|say|says|said|"
                           r"think\w*|assum\w*|claim\w*|believ\w*|debat\w*|view|suggest\w*|unclear|uncertain)\b",
                           re.IGNORECASE)
REPORTED_SHARED = 3


def _reported_as_fact(claim: str, evidence: str) -> list[str]:
    if _HEDGED_CLAIM.search(claim):
        return []
    said = _content_stems(_words_of(_normalise(claim)))
    for sentence in re.split(r"(?<=[.!?])\s+", evidence):
        marker = _REPORTED.search(sentence)
        if not marker:
            continue
        view = _REPORTED.sub(" ", sentence)  # "some people are saying" is not what the view is about
        if len(said & _content_stems(_words_of(_normalise(view)))) >= REPORTED_SHARED:
            return [f'the passage reports or doubts this view ("{marker.group(0)}") but the claim states it as fact']
    return []


# A verb the speaker hedged may not be stated flatly: "the MT might have hallucinated and said 500 cents", a made-up
# example, became "The MT hallucinated and said ... 500 cents", an event; "the objective function might be passing
# unit tests" (one example of several) became "The objective function is to pass unit tests". A claim sentence that
# uses the hedged verb, about the same thing, needs a hedge of its own ("may", "can", "if", "for example").
# (A modal, then the verb: "might have hallucinated", "might be passing"; "could be risky" hedges an adjective. Or
# "probably" before a verb's -ed or -es form: "probably created more stock market value than ...".)
_HEDGED_VERB = re.compile(r"\b(?:(?:might|may|could)\s+(?:not\s+)?(?:have\s+(?:been\s+)?)?(?:be\s+(?=[a-z]+ing\b))?|"
                          r"(?:probably|possibly|perhaps|maybe)\s+(?=[a-z]+(?:ed|es)\b))([a-z]+)", re.IGNORECASE)
# How sure a claim is ("may", "if", "for example"). Not `_HEDGED_CLAIM`, which also accepts who holds a view:
# "said" attributes, it does not hedge ("The MT hallucinated and said 500 cents" passed with it).
_CLAIM_HEDGE = re.compile(r"\b(?:may|might|could|can|perhaps|possibly|probably|likely|unlikely|potential\w*|sometimes|"
                          r"if|whether|would|risks?|imagin\w*|hypothetic\w*|examples?|instance|suppose|say)\b",
                          re.IGNORECASE)
# Words too common to say what was hedged ("maybe there are ...", "it might help ...").
_TOO_COMMON = frozenset("be is are was were been have has had do does get go say want need like think see try use "
                         "make take help work just also even still actually really a an the that this it there some "
                         "more not".split())
HEDGE_DROPPED = "the passage hedges"


def _hedge_dropped(claim: str, evidence: str) -> list[str]:
    hedged = [(found.group(0), _content_stems([found.group(1)]), _content_stems(_words_of(clause)))
              for clause in _clauses(evidence) for found in _HEDGED_VERB.finditer(clause)
              if found.group(1).lower() not in _TOO_COMMON]
    for sentence in _sentences(claim):
        if _CLAIM_HEDGE.search(sentence):
            continue
        stems = _content_stems(_words_of(sentence))
        for words, verb, about in hedged:
            if verb and verb <= stems and len(stems & about) >= _SHARED_FOR_SAME_CONTENT:
                return [f'{HEDGE_DROPPED} "{words}" but the claim states it flatly']
    return []


# A part of a group said for the whole: "a lot of people in the AI safety community believe ..." written "AI safety
# community believes ..." (a partly faithful claim in the tenth read of 40). The claim naming the group needs one of
# these words just before it.
_PART_OF_GROUP = re.compile(
    r"\b(?:some|many|a lot of|lots of|most|a few|several|certain|plenty of)\s+(?:of\s+)?(?:the\s+)?(?:people|folks|"
    r"members|researchers|experts|voices)\s+(?:in|of|from|within)\s+(?:the\s+)?(?:(?:kind|sort) of\s+)?"
    r"((?!(?:the|a|an|that|this|these|those|my|our|your|their|his|her)\b)(?:[\w-]+\s+){1,3}?"
    r"(?:community|field|industry|camp|crowd|world|sector|ecosystem))\b",  # a named group: "the world" is too common
    re.IGNORECASE)
_CLAIM_PART = re.compile(r"\b(?:some|many|most|a lot|lots|part|parts|members|people|folks|certain|several|few|"
                         r"segments?|factions?|others|those)\b", re.IGNORECASE)
_PART_WINDOW = 4  # words before the group's name in the claim where "some", "many", "members" ... may stand
QUANTIFIER_DROPPED = "the passage speaks of part of"


def _quantifier_dropped(claim: str, evidence: str) -> list[str]:
    for found in _PART_OF_GROUP.finditer(_normalise(evidence)):
        group = found.group(1).split()
        named = re.search(r"\b" + r"\s+".join(map(re.escape, group)) + r"\b", claim, re.IGNORECASE)
        if named and not _CLAIM_PART.search(" ".join(claim[:named.start()].split()[-_PART_WINDOW:])):
            return [f'{QUANTIFIER_DROPPED} the {" ".join(group)} ("{found.group(0)}") but the claim of all of it']
    return []


# The invented clauses a claim may be cut before (`without_added_clause`), by the problem that names them.
_CUTTABLE = {ADDED_REASON: _CLAIM_CAUSE, ADDED_CONCESSION: _CLAIM_CONCESSION, ADDED_CONSEQUENCE: _CLAIM_CONSEQUENCE}


def without_added_clause(claim: str, problem: str) -> str | None:
    """The claim with the reason or concession it invented cut off, up to the end of that sentence ("Models do
    poorly in real environments due to their lack of experience." -> "Models do poorly in real environments."),
    when `problem` names one (ADDED_REASON, ADDED_CONCESSION) and what is left of the sentence is a clause of
    MIN_CLAUSE_WORDS words or more; else None. Cutting only removes words, so what is left says nothing the claim
    did not; the caller checks it again like any claim."""
    pattern = next((pattern for prefix, pattern in _CUTTABLE.items() if problem.startswith(prefix)), None)
    found = pattern.search(claim) if pattern else None
    if not found:
        return None
    previous_end = claim.rfind(". ", 0, found.start())
    sentence_start = previous_end + 2 if previous_end >= 0 else 0
    head = claim[sentence_start:found.start()].rstrip(" ,;:-–—")
    if len(head.split()) < MIN_CLAUSE_WORDS or head.split()[-1].lower() in _DANGLING_ENDS:
        return None
    end = re.search(r"[.!?](?:\s|$)", claim[found.end():])
    rest = claim[found.end() + end.end():].strip() if end else ""
    return " ".join(part for part in (claim[:sentence_start].strip(), head + ".", rest) if part)


# A clause cannot end on these ("Prices fell, which" ... "as", "and", "has" before "led to"): what precedes the reason
# is not whole.
_DANGLING_ENDS = frozenset("a an the and or but which that who as of to in on at for with by is are was were be "
                           "often also can will would may might has have had".split())
