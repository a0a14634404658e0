"""Names for anonymous speaker labels ("Speaker 1", "Speaker 2") from what is said and who the feed lists.

Evidence is read from the opening minutes: the label that welcomes someone ("welcome to the show, Sam",
"my guest today is") is the host, the one that says "thanks for having me" is a guest; self-introductions
("I'm Dana Reyes", "my name is") name their own label, a name in a welcome or a thanks names the other
one. When the feed lists `podcast:person`s, only their names are used (Whisper often mishears names) and a
role known without a name takes the one host or guest listed; without persons, a name must be heard at
least twice. An optional LLM fills what the rules left open, and its names are kept only when they appear
in the transcript or the person list. Whatever stays unknown keeps its label, or becomes "Host"/"Guest".
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from pydantic import BaseModel
from rapidfuzz import fuzz

from podsight.errors import LLMError
from podsight.llm.base import LLM
from podsight.records import Person, Segment

logger = logging.getLogger("podsight.asr")

INTRO_S = 300.0  # introductions happen in the first minutes; later "I'm ..." is usually something else
_NAME = r"([A-Z][\w'-]+(?:\s+[A-Z][\w'-]+){0,2})"
SELF_INTRO = re.compile(r"\b(?:I'm|I am|[Mm]y name is|[Mm]y name's)\s+" + _NAME)
WELCOME = re.compile(r"\b(?:welcome to the (?:show|podcast|program|programme)|my guests? (?:today )?(?:is|are)|"
                     r"joining (?:me|us)|please welcome)\b", re.IGNORECASE)
WELCOME_NAME = re.compile(r"\b(?:[Ww]elcome(?: to the (?:show|podcast|program|programme))?|[Hh]i|[Hh]ello),?\s+"
                          + _NAME)
THANKS_FOR_HAVING = re.compile(r"\b(?:thanks|thank you) (?:so much )?for (?:having|inviting) me\b|"
                               r"\b(?:great|glad|happy|good) to be (?:here|on the show)\b", re.IGNORECASE)
THANKS_NAME = re.compile(r"\b(?:[Tt]hanks|[Tt]hank you)(?: (?:so much )?for (?:having|inviting) me)?,\s+" + _NAME)
# Capitalised words the name patterns catch that are not names ("I'm Sure", "Hello Everyone").
NOT_NAMES = frozenset("""sure so not just really very the a and but everyone everybody all folks guys today here
back glad happy thrilled excited delighted welcome thanks thank yes no well okay ok going from with in at""".split())
PRONOUN_LIKE = re.compile(r"^(?:I|It|That|This|We|You|He|She|They)\b")


@dataclass
class _Evidence:
    """What the text says about each label."""

    host: Counter = field(default_factory=Counter)  # label -> votes for "is the host"
    guest: Counter = field(default_factory=Counter)
    names: dict[str, Counter] = field(default_factory=dict)  # label -> name heard -> weight
    mentions: Counter = field(default_factory=Counter)  # first name, lower case -> times heard

    def name(self, label: str | None, heard: str, weight: int) -> None:
        self.mentions[heard.split()[0].lower()] += 1
        if label is not None:
            self.names.setdefault(label, Counter())[heard] += weight


class SpeakerAnswer(BaseModel):
    """What the optional LLM is asked: which label is the host, and which names belong to which label."""

    host_label: str | None = None
    names: dict[str, str] = {}  # label -> full name as said in the transcript


def name_speakers(segments: Sequence[Segment], persons: Sequence[Person] = (), llm: LLM | None = None,
                  *, intro_s: float = INTRO_S) -> list[Segment]:
    """`segments` with each anonymous `speaker` label replaced by a name, "Host"/"Guest", or kept."""
    labels = list(dict.fromkeys(s.speaker for s in segments if s.speaker))
    if not labels:
        return list(segments)
    evidence = _read_evidence(segments, labels, intro_s)
    host = _host_label(evidence, labels, segments)
    names = _names_from_evidence(evidence, labels, persons, listed=True)
    _fill_from_roles(names, host, labels, evidence, persons)  # a listed host beats a name heard in passing
    for label, name in _names_from_evidence(evidence, labels, persons, listed=False).items():
        if label not in names and name not in names.values():
            names[label] = name
    if llm is not None and (host is None or len(names) < len(labels)):
        host = _ask_llm(llm, segments, labels, persons, names, host, intro_s)
    final = {label: names.get(label) or _role_label(label, host, labels, evidence) for label in labels}
    return [replace(s, speaker=final.get(s.speaker, s.speaker)) if s.speaker else s for s in segments]


def _read_evidence(segments: Sequence[Segment], labels: list[str], intro_s: float) -> _Evidence:
    evidence = _Evidence()
    for index, segment in enumerate(segments):
        if segment.start > intro_s or segment.speaker is None:
            continue
        text, label = segment.text, segment.speaker
        if WELCOME.search(text):
            evidence.host[label] += 1
        if THANKS_FOR_HAVING.search(text):
            evidence.guest[label] += 1
        for heard in _names(SELF_INTRO, text):
            evidence.name(label, heard, 2)
        for heard in _names(WELCOME_NAME, text):  # the one welcomed answers next, and is a guest
            other = _other_label(segments, index, labels, forward=True)
            evidence.name(other, heard, 1)
            if other is not None and WELCOME.search(text):
                evidence.guest[other] += 1
        for heard in _names(THANKS_NAME, text):  # thanks go to the one who just spoke
            evidence.name(_other_label(segments, index, labels, forward=False), heard, 1)
    return evidence


def _names(pattern: re.Pattern, text: str) -> list[str]:
    """Names the pattern captures, cut before the first word that is not one."""
    found = []
    for match in pattern.finditer(text):
        words = []
        for word in match.group(1).split():
            if word.lower().strip("'") in NOT_NAMES or PRONOUN_LIKE.match(word):
                break
            words.append(word.removesuffix("'s").strip("'-"))
        if words:
            found.append(" ".join(words))
    return found


def _other_label(segments: Sequence[Segment], index: int, labels: list[str], *, forward: bool) -> str | None:
    """The nearest different label after (or before) segment `index`; with two labels, simply the other."""
    own = segments[index].speaker
    if len(labels) == 2:
        return labels[1 - labels.index(own)]
    order = range(index + 1, len(segments)) if forward else range(index - 1, -1, -1)
    return next((segments[i].speaker for i in order if segments[i].speaker not in (None, own)), None)


def _host_label(evidence: _Evidence, labels: list[str], segments: Sequence[Segment]) -> str | None:
    """The label that welcomes; else, when someone thanked for being had, the label that opened the show."""
    if evidence.host:
        return evidence.host.most_common(1)[0][0]
    opener = next((s.speaker for s in segments if s.speaker), None)
    if evidence.guest and opener not in evidence.guest:
        return opener
    return None


def _names_from_evidence(evidence: _Evidence, labels: list[str], persons: Sequence[Person], *,
                         listed: bool) -> dict[str, str]:
    """label -> name, strongest evidence first, each name used once. `listed`: only names that match a
    listed person; otherwise only names heard at least twice (once is too often a mishearing)."""
    scored: list[tuple[int, str, str]] = []
    for label, heard in evidence.names.items():
        for name, weight in heard.items():
            person = match_person(name, persons) if persons else None
            if listed and person is not None:
                scored.append((weight, label, person.name))
            elif not listed and person is None and _times_heard(name, evidence) >= 2:
                scored.append((weight, label, _fullest(name, evidence)))
    names: dict[str, str] = {}
    for weight, label, name in sorted(scored, key=lambda item: -item[0]):
        if label not in names and name not in names.values():
            names[label] = name
    return names


def _times_heard(name: str, evidence: _Evidence) -> int:
    """How many times a name with this first name was heard, whoever said it."""
    return evidence.mentions[name.split()[0].lower()]


def _fullest(name: str, evidence: _Evidence) -> str:
    """The longest form heard of the name ("Dana" and "Dana Reyes" -> "Dana Reyes")."""
    first = name.split()[0].lower()
    forms = [other for heard in evidence.names.values() for other in heard if other.split()[0].lower() == first]
    return max(forms, key=len)


def match_person(heard: str, persons: Sequence[Person]) -> Person | None:
    """The listed person a heard name stands for: same first or last name, or a close full-name match."""
    words = heard.lower().split()
    for person in persons:
        parts = person.name.lower().split()
        if words and parts and (words == parts or words[0] == parts[0] or (len(words) == 1 and words[0] == parts[-1])):
            return person
    best = max(persons, key=lambda p: fuzz.ratio(heard.lower(), p.name.lower()), default=None)
    return best if best is not None and fuzz.ratio(heard.lower(), best.name.lower()) >= 85 else None


def _fill_from_roles(names: dict[str, str], host: str | None, labels: list[str], evidence: _Evidence,
                     persons: Sequence[Person]) -> None:
    """A label whose role is known but whose name was not heard takes the only listed person of that role.
    With two voices and a known host, the other voice is taken to be the episode's one listed guest even
    when nothing said marks it as a guest (a mispronounced name, no "thanks for having me"): a listed guest
    is on the show, and is not the host. It is only named this way, never labelled "Guest", since two
    voices may also be two hosts."""
    for label in labels:
        role = _role(label, host, labels, evidence)
        if role is None and host is not None and len(labels) == 2 and label != host:
            role = "guest"
        listed = [p.name for p in persons if p.role.strip().lower() == role]
        if label not in names and len(listed) == 1 and listed[0] not in names.values():
            names[label] = listed[0]


def _role(label: str, host: str | None, labels: list[str], evidence: _Evidence) -> str | None:
    if label == host:
        return "host"
    if evidence.guest[label] or (host is not None and len(labels) == 2 and evidence.guest):
        return "guest"
    return None


def _role_label(label: str, host: str | None, labels: list[str], evidence: _Evidence) -> str:
    role = _role(label, host, labels, evidence)
    return role.capitalize() if role else label


def _ask_llm(llm: LLM, segments: Sequence[Segment], labels: list[str], persons: Sequence[Person],
             names: dict[str, str], host: str | None, intro_s: float) -> str | None:
    """Fill missing names (and the host) from the model's reading of the opening; rules win over it.
    Returns the host label. A failing model is logged and changes nothing: speakers are a bonus."""
    opening = [s for s in segments if s.start <= intro_s and s.speaker]
    transcript = "\n".join(f"{s.speaker}: {s.text}" for s in opening)
    listed = "; ".join(f"{p.name} ({p.role})" for p in persons) or "none listed"
    messages = [
        {"role": "system", "content": "You identify podcast speakers. Answer only with JSON."},
        {"role": "user", "content": (
            f"Speaker labels: {', '.join(labels)}. People the feed lists: {listed}.\n"
            "From this opening of an automatic transcript, say which label is the host (or null), and give "
            "the full name of each label that is named in the text (leave out labels you are unsure of).\n\n"
            + transcript)},
    ]
    try:
        answer, _ = llm.complete(messages, SpeakerAnswer, max_tokens=200)
    except LLMError as exc:
        logger.warning("speaker naming by %s skipped: %s", getattr(llm, "name", "the LLM"), exc)
        return host
    text = transcript.lower()
    for label, name in answer.names.items():
        grounded = _grounded(name, persons, text)
        if label in labels and label not in names and grounded and grounded not in names.values():
            names[label] = grounded
    return host if host is not None else (answer.host_label if answer.host_label in labels else None)


def _grounded(name: str, persons: Sequence[Person], transcript: str) -> str | None:
    """The model's name when it can be checked: a listed person's name, or (no list) words in the text."""
    if persons:
        person = match_person(name, persons)
        return person.name if person else None
    return name if name.strip() and name.lower() in transcript else None
