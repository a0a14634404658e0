""""Speaker 2 suggests that ...": the speaker as the claim's subject, and "why it matters" filler."""

from __future__ import annotations

import re

from podsight.insights.faithful.words import _normalise

_GENERIC_WHY = [
    re.compile(p, re.IGNORECASE)
    for p in (
        # "This insight highlights ...", "It underscores ...", "This shows ..." : about the insight, not the world
        r"^(?:this|it|that)(?: \w+){0,2}? (?:highlights?|underscores?|emphasi[sz]es?|illustrates?|demonstrates?|"
        r"shows?|reflects?|reveals?|stresses|points to|speaks to|sheds light on|serves as|reminds)\b",
        r"^(?:this|it|that)(?: \w+){0,2}? (?:is|are|can be) (?:important|significant|crucial|key|valuable|useful|"
        r"relevant|essential|worth noting|noteworthy|insightful|interesting)\b",
        r"^(?:this|it|that)(?: \w+){0,2}? matters? (?:for|to|because|since)\b",
        # "This is a powerful indicator of attention to detail": the insight graded, not the world described
        r"^(?:this|it|that)(?: \w+){0,2}? (?:is|are) (?:a|an)(?: \w+){0,2}? (?:indicator|sign|example|reminder|"
        r"testament|illustration) of\b",
        r"\bthe (?:importance|significance|value|need|relevance|power|potential) of\b",
        r"\b(?:for|to) anyone (?:who|looking|interested|wanting|trying)\b",
        r"\bvaluable (?:insights?|lessons?|perspective|takeaway)\b",
        r"\bkey takeaway\b|\bserves as a reminder\b|\bfood for thought\b|\bin today's\b",
    )
]


def is_generic_why(text: str) -> bool:
    """True for "why it matters" filler that would fit any insight ("This highlights the importance of ...")."""
    text = _normalise(text).strip()
    return any(p.search(text) for p in _GENERIC_WHY)


# "Shares" reports speech only when what is shared is said ("Lenny shares his view that ..."): "Hugging Face is
# sharing $10 million worth of GPU compute" is an act (a corpus episode's claim, dropped as about the speaker).
_SHARED_SPEECH = (r"(?:that|how|why|what|his|her|their|a story|an anecdote|some|insights?|thoughts?|advice|"
                  r"experiences?|stories|lessons?|tips?|views?|perspectives?)\b")
_REPORTING_VERBS = (
    r"says|said|argues|argued|suggests|suggested|believes|believed|explains|explained|notes|noted|thinks|"
    r"thought|claims|claimed|states|stated|feels|felt|observes|observed|points out|pointed out|stresses|"
    r"warns|warned|predicts|predicted|expects|insists|contends|asserts|admits|emphasi[sz]es|highlights|"
    rf"mentions|mentioned|recalls|(?:shares|is sharing)(?= {_SHARED_SPEECH})|describes|discusses|recommends|advises|"
    r"proposes|reflects|adds|is (?:advocating|arguing|suggesting|saying|explaining|emphasi[sz]ing|highlighting|"
    r"describing|discussing|recommending|talking|noting|pointing out)|advocates|talks"
)
# Subjects that are the speaker: "Speaker 2", "The guest", "He", or one to three capitalised words.
# Common non-person subjects ("Research suggests") are excluded by name.
_NOT_PEOPLE = r"(?!(?:Research|Evidence|Data|Experience|History|Science|This|That|It|Everything|Nothing)\b)"
_SPEAKER_SUBJECT = (
    r"(?:speaker \d+|the (?:guest|host|speaker|interviewee|interviewer|author|narrator|panel(?:ist)?)"
    r"|he|she|they|"
    + _NOT_PEOPLE
    + r"[A-Z][\w.'’-]+(?: (?:[A-Z][\w.'’-]+|and [A-Z][\w.'’-]+)){0,3})"
)
_SPEAKER_FIRST = re.compile(
    rf"^(?P<who>{_SPEAKER_SUBJECT})(?: also| further| strongly)? (?P<verb>{_REPORTING_VERBS})\b", re.IGNORECASE
)
# Case-sensitive variant for names, so that "Most founders say ..." is not mistaken for a person.
_NAME_FIRST = re.compile(rf"^{_NOT_PEOPLE}[A-Z][\w.'’-]+(?: [A-Z][\w.'’-]+){{0,3}} (?:also )?(?:{_REPORTING_VERBS})\b")
_PLAIN_SUBJECTS = re.compile(
    r"^(?:speaker \d+|the (?:guest|host|speaker|interviewee|interviewer|author|narrator|panel(?:ist)?)|he|she|they)\b",
    re.IGNORECASE,
)
# Verbs that take a clause; the rest ("discusses", "advocates for") take a noun and cannot be stripped.
_CLAUSE_VERBS = re.compile(
    r"^(?:says|said|argues|argued|suggests|suggested|believes|believed|explains|explained|notes|noted|thinks|"
    r"thought|claims|claimed|states|stated|feels|felt|observes|observed|points out|pointed out|stresses|warns|"
    r"warned|predicts|predicted|expects|insists|contends|asserts|admits|emphasi[sz]es|highlights|mentions|"
    r"mentioned|recalls|adds)$",
    re.IGNORECASE,
)
_FINITE_VERB = re.compile(
    r"\b(?:is|are|was|were|be|been|has|have|had|do|does|did|can|could|will|would|should|may|might|must|"
    r"won't|can't|isn't|aren't|doesn't|don't|didn't|\w+(?<!ss)s|\w+ed)\b",
    re.IGNORECASE,
)


def speaker_as_subject(claim: str) -> bool:
    """True when the claim is about a person saying something ("Speaker 2 suggests that ...")."""
    text = _normalise(claim).strip()
    m = _SPEAKER_FIRST.match(text)
    if not m:
        return False
    return bool(_PLAIN_SUBJECTS.match(m.group("who")) or _NAME_FIRST.match(text))


def strip_attribution(claim: str) -> str:
    """'Lenny argues that X' -> 'X' when X is a full clause; the claim unchanged otherwise."""
    text = _normalise(claim).strip()
    m = _SPEAKER_FIRST.match(text)
    if not m or not speaker_as_subject(text) or not _CLAUSE_VERBS.match(m.group("verb")):
        return claim
    rest = text[m.end() :].lstrip(" ,:")
    has_that = rest.lower().startswith("that ")
    rest = rest[5:] if has_that else rest
    first_words = rest.split()[:1]
    if len(rest.split()) < 3 or not _FINITE_VERB.search(" ".join(rest.split()[1:])):
        return claim
    if first_words and first_words[0].lower() in _NOT_A_SUBJECT:
        return claim  # "believes in having huge ambitions": what follows the verb is its object, not a clause
    if m.group("verb").lower() in _OBJECT_TAKERS and _OBJECT_THEN_INFINITIVE.match(rest):
        return claim  # "expects automation to be high level, but ...": without "expects" no sentence is left
    if not has_that and first_words[0].lower().endswith("ing") and m.group("verb").lower() in _GERUND_TAKERS:
        return claim  # "suggests waiting for the right time ...": a gerund phrase, the suggestion, no statement
    rest = re.sub(r",? and that ", " and ", rest)  # "believes X and that Y": the second "that" was the speaker's
    return rest[0].upper() + rest[1:]


# Verbs that take an object and an infinitive ("expects automation to be high level"): what follows is no clause.
_OBJECT_TAKERS = frozenset("expects predicts predicted".split())  # those of _CLAUSE_VERBS
_OBJECT_THEN_INFINITIVE = re.compile(
    r"^(?:(?!(?:is|are|was|were|will|would|can|could|should|may|might|must|has|have|had|do|does|did|need|needs)\b)"
    r"[\w'’-]+ ){1,5}?to [a-z]+\b", re.IGNORECASE)

_NOT_A_SUBJECT = frozenset("how why what whether about to for in on of with at from by".split())

# Verbs after which an -ing word is what is suggested ("recommends using ..."), far more often than a subject.
_GERUND_TAKERS = frozenset("suggests suggested recommends advises proposes".split())
