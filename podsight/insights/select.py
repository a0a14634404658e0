"""Choose the moments worth an insight, in code: the small model cannot judge (asked to score passages it
gives every one a 5), so it only writes about the passages chosen here.

A transcript becomes candidate passages: one speaker's consecutive sentences, 25-140 words, outside ads,
housekeeping and introductions. Each passage gets a salience score from signals measured on real
transcripts (`bench/choose_passages.py` prints the table on a labelled dataset):

| signal | sign | why |
| --- | --- | --- |
| length | + | an idea takes a few sentences; short turns are reactions ("Totally.", "Thanks for having me.") |
| guest speaking | + | the guest carries the ideas; the host and any co-host ask and set up (no host in a panel: `hosts_of`) |
| "I / me / my" density | - | first-person narration is biography and anecdote more often than an idea |
| questions | - | a question asks for the idea; the answer states it |
| contrast and causal words | + | "because", "instead", "the problem is", "most people": an argument being made |
| numbers | + | data points |
| pleasantries, story openings | - | thanks, praise, "I remember when ..." |
| present tense | + | an idea is stated in the present ("is", "can", "doesn't"), an anecdote told in the past |
| centrality | + | closeness to the episode's own centroid (embeddings): on topic rather than small talk |
| insight-like | + | closer to sentences that state an idea than to small talk, ads and biography (embeddings of \
`exemplars`, written on topics far from any show): the form of an insight, whatever its subject |
| echo | + | closeness to a claim another recent episode made (embeddings): an idea that recurs across shows is \
what links and "Also said on" / "Disputed by" are made of, so it is worth an insight here too |
| replayed | + | the passage's words were played in the episode's first minutes: a cold open replays the moment the \
show's editor thought best |

Each signal is standardised within the episode and the weights below are set by reasoning, not fitted, so
nothing is learned from the evaluation data; the eval reports how the choice does. The one exception is the
weight of insight-like, the strongest signal: chosen leave one episode out on the dev set from a grid (0 to 3),
each fold picking it on the other seven episodes (2.5 in seven folds, 2.0 in one). Echo is added differently: most
passages echo nothing, so it is added unstandardised, from ECHO_FLOOR (the cosine at which a passage and a
claim share an idea, not only a topic) up to ECHO_WEIGHT at a cosine of 1. Replayed is added the same way, as a flat REPLAY_WEIGHT:
few passages are replayed, and an episode without a cold open has none.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from rapidfuzz import fuzz

from podsight.insights.exemplars import EXEMPLARS, insight_direction
from podsight.insights.ground import normalise
from podsight.records import Segment

MIN_WORDS, MAX_WORDS = 25, 140
MIN_GAP_S = 90.0  # two chosen passages closer than this are one moment ...
GAP_SHARE = 0.05  # ... or closer than this share of a short episode (a 4-minute one: 12 s)
SAME_IDEA_COSINE = 0.8  # two chosen passages this close in meaning are one idea
MINUTES_PER_INSIGHT = 5.0  # how many passages an episode may yield: one per 5 minutes ...
MIN_INSIGHTS, MAX_INSIGHTS = 2, 12  # ... within these bounds
RESERVE = 2  # passages chosen per insight wanted: the model writes a usable claim about half the time
FLOOR = -1.0  # salience below which a passage is never asked about: anecdotes, pleasantries, host set-ups

ECHO_FLOOR = 0.5  # MiniLM, passage vs claim: the same idea 0.6-0.85, its contradiction ~0.55, the same topic 0.3-0.5
ECHO_WEIGHT = 2.0  # a passage restating another episode's claim (cosine ~0.75) gains about one standard deviation

COLD_OPEN_S, COLD_OPEN_SHARE = 180.0, 0.1  # a cold open plays in the first 3 minutes (10% of a short episode)
REPLAY_MIN_WORDS = 8  # a line of the cold open this long, found again later ...
REPLAY_MATCH = 90  # ... at this rapidfuzz partial ratio (transcribed twice, the words differ a little)
REPLAY_WEIGHT = 1.5  # the editor's pick: about one and a half standard deviations of salience

WEIGHTS = {"length": 1.0, "guest": 1.0, "first_person": -1.0, "questions": -1.0, "argument": 0.5,
           "numbers": 0.3, "small_talk": -0.5, "story": -0.5, "centrality": 1.0, "present": 0.5,
           "insight_like": 2.5}

_ARGUMENT = re.compile(
    r"\b(?:because|but|instead|rather than|the reason|the key|the problem|the difference|in fact|most people|"
    r"the mistake|the biggest|the way to|the goal|the point|what matters|turns out|it's not|isn't|doesn't|"
    r"never|always|should|have to|need to|if you|the thing is|the truth)\b", re.IGNORECASE)
_STORY = re.compile(r"\b(?:I was|I remember|we were|when I|I grew up|my (?:dad|mom|wife|husband|kids|family)|"
                    r"years ago|back then)\b", re.IGNORECASE)
_SMALL_TALK = re.compile(r"\b(?:thank|thanks|appreciate|great question|good question|welcome|awesome|amazing|"
                         r"love that|so cool)\b", re.IGNORECASE)
_NUMBER = re.compile(r"\b\d[\d,.]*\b|%|\bpercent\b|\bmillion\b|\bbillion\b")
_FIRST_PERSON = re.compile(r"\b(?:I|me|my|I'm|I've|I'd)\b")
# Ideas are said in the present ("the robot is not the bottleneck", "you can't", "it won't"); anecdotes and
# biography in the past ("I was", "we had"), which _STORY only catches by its openings.
_PRESENT = re.compile(r"\b(?:is|are|does|do|can|will|isn['’]t|aren['’]t|doesn['’]t|don['’]t|can['’]t|won['’]t)\b",
                      re.IGNORECASE)

Embed = Callable[[Sequence[str]], np.ndarray]
# Passage vectors (n, dim) -> for each, its highest cosine to a claim of another recent episode.
Echo = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Passage:
    """Consecutive pieces `first`..`last` (inclusive) of one speaker, and how salient they are."""

    first: int
    last: int
    speaker: str | None
    text: str
    start_s: float
    end_s: float
    salience: float = 0.0


def candidate_passages(pieces: Sequence[Segment], skip: Sequence[bool]) -> list[Passage]:
    """One speaker's consecutive sentences, MIN_WORDS-MAX_WORDS words, never across a skipped piece. Where the
    speaker is unknown (speech-to-text that could not tell the voices apart), a question ends its passage: the
    answer starts a new one, and the passage that ends in the question is a set-up (`sets_up_a_question`).
    Without that, a host's question and its answer made one passage, and the model wrote its claim from the
    question (dev set with speakers removed, choosing alone: precision@5 0.50 -> 0.62, recall@10 0.51 -> 0.55)."""
    passages: list[Passage] = []
    run: list[int] = []

    def close() -> None:
        if run and sum(_words(pieces[i]) for i in run) >= MIN_WORDS:
            passages.append(_passage(pieces, run[0], run[-1]))
        run.clear()

    for i, piece in enumerate(pieces):
        if skip[i]:
            close()
            continue
        too_long = run and sum(_words(pieces[j]) for j in run) + _words(piece) > MAX_WORDS
        if run and (piece.speaker != pieces[run[-1]].speaker or too_long):
            close()
        run.append(i)
        if piece.speaker is None and piece.text.rstrip().endswith("?"):
            close()
    close()
    return passages


def _words(segment: Segment) -> int:
    return len(segment.text.split())


def _passage(pieces: Sequence[Segment], first: int, last: int) -> Passage:
    text = " ".join(pieces[i].text.strip() for i in range(first, last + 1))
    return Passage(first, last, pieces[first].speaker, text, pieces[first].start, pieces[last].end)


# A sentence opening on a word that points back ("They see millions of times more text ..."): what it points
# to was said just before, in the piece a passage boundary cut off.
_POINTS_BACK = re.compile(r"^(?:(?:and|but|so),? )?(?:they|them|their|it|its|this|that|these|those|he|she)\b",
                          re.IGNORECASE)


def with_antecedent(passage: Passage, pieces: Sequence[Segment], skip: Sequence[bool]) -> Passage:
    """`passage` grown back by one piece when it opens on a word that points back and the piece before is the
    same speaker's, so that the model reads what "they" are. Without it the 1.5B model filled the gap itself: a
    dev-set passage opening "They see millions times more text than any human ..." (language models, named one
    sentence earlier) came back as "Beehives can perform better than humans ...", its worked example's subject.
    Salience stays the passage's own: only what the model reads grows."""
    before = passage.first - 1
    if before < 0 or skip[before] or passage.speaker is None or pieces[before].speaker != passage.speaker:
        return passage  # without speaker labels the piece before may be anyone's
    if pieces[before].text.rstrip(" \"'”’").endswith("?"):  # a question names nothing the next sentence points to
        return passage
    if not _POINTS_BACK.match(passage.text.lstrip(" \"'“‘-—")):
        return passage
    return _with_salience(_passage(pieces, before, passage.last), passage.salience)


def with_ending(passage: Passage, pieces: Sequence[Segment], skip: Sequence[bool]) -> Passage:
    """`passage` grown on by one piece when it stops mid-sentence and the next piece is the same speaker's (or,
    without speaker labels, anyone's: a sentence that goes on is still the speaker's), so that the model reads how
    the sentence ends. Cut off at "... or if these developers are merely doing this as a", the 1.5B model ended it
    itself ("... as a way to avoid criticism", where the speaker said "as a means of kind of juicing their model
    performance"). Salience stays the passage's own."""
    after = passage.last + 1
    if ends_sentence(pieces[passage.last]) or after >= len(pieces) or skip[after]:
        return passage
    if pieces[after].speaker != passage.speaker:
        return passage
    return _with_salience(_passage(pieces, passage.first, after), passage.salience)


def ends_sentence(piece: Segment) -> bool:
    return piece.text.rstrip().endswith((".", "?", "!", '"', "”", "。", "？", "！"))


def hosts_of(pieces: Sequence[Segment]) -> frozenset[str]:
    """The host and any co-host. The host: the speaker who asks questions at the highest rate for the words
    they speak (the first voice may be a cold open's guest, and a guest who talks at length asks many rhetorical
    questions: Seth Godin asked more than his host). No one when that speaker also talks the most: a panel or a
    book club, where the one who leads also carries the ideas, so there is no host to discount. A co-host asks
    questions at a rate far above the main guest's (the one who talks the most) and not far below the host's
    (`_co_hosts`)."""
    questions = Counter(p.speaker for p in pieces if p.speaker and "?" in p.text)
    if not questions:
        return frozenset()
    words = Counter()
    for piece in pieces:
        if piece.speaker:
            words[piece.speaker] += len(piece.text.split())
    host = max(questions, key=lambda speaker: (questions[speaker] / words[speaker], questions[speaker]))
    if words[host] == max(words.values()):
        return frozenset()
    return frozenset({host}) | _co_hosts(questions, words, host)


CO_HOST_QUESTIONS = 3  # a co-host asks at least this many questions ...
CO_HOST_OVER_GUEST = 1.5  # ... at this many times the main guest's rate or more ...
CO_HOST_UNDER_HOST = 3.0  # ... and at no less than the host's rate divided by this


def _co_hosts(questions: Counter, words: Counter, host: str) -> set[str]:
    """Speakers who ask like a host. Measured on the 286 corpus episodes with a host (Practical AI's two
    hosts; The Changelog's and Founders Talk's): 145 co-hosts found, 23 missed (still taken for guests, as
    before), and 7 others taken for co-hosts (3 of them host other shows and were on a panel, one is an
    audience member asking questions, three are second guests)."""
    guest = max(words, key=words.get)
    rate = {speaker: questions[speaker] / words[speaker] for speaker in words}
    return {speaker for speaker in words if speaker not in (host, guest)
            and questions[speaker] >= CO_HOST_QUESTIONS
            and rate[speaker] >= CO_HOST_OVER_GUEST * rate[guest]
            and rate[speaker] >= rate[host] / CO_HOST_UNDER_HOST}


def signals(passage: Passage, hosts: frozenset[str]) -> dict[str, float]:
    """The raw signals of one passage (per 100 words where a density is meant)."""
    words = max(len(passage.text.split()), 1)
    per_100 = 100.0 / words
    guest = 0.5 if passage.speaker is None or not hosts else float(passage.speaker not in hosts)
    return {
        "length": min(words, MAX_WORDS) / MAX_WORDS,
        "guest": guest,
        "first_person": len(_FIRST_PERSON.findall(passage.text)) * per_100,
        "questions": passage.text.count("?") * per_100,
        "argument": len(_ARGUMENT.findall(passage.text)) * per_100,
        "numbers": min(len(_NUMBER.findall(passage.text)), 4),
        "small_talk": len(_SMALL_TALK.findall(passage.text)) * per_100,
        "story": len(_STORY.findall(passage.text)) * per_100,
        "present": len(_PRESENT.findall(passage.text)) * per_100,
    }


def score_passages(passages: Sequence[Passage], hosts: frozenset[str],
                   vectors: np.ndarray | None = None, echo: Echo | None = None,
                   replayed: Sequence[bool] | None = None, insight: np.ndarray | None = None) -> list[Passage]:
    """`passages` with `salience` set: the weighted sum of each signal standardised within the episode, plus
    the echo bonus when `echo` and `vectors` are given, and REPLAY_WEIGHT for each passage `replayed` marks.
    `insight` is `exemplars.insight_direction` in the space of `vectors`."""
    if not passages:
        return []
    table = signal_table(passages, hosts, vectors, insight)
    total = np.zeros(len(passages))
    for name, weight in WEIGHTS.items():
        if name in table[0]:
            total += weight * _standardised([row[name] for row in table])
    if echo is not None and vectors is not None:
        total += echo_bonus(echo(vectors))
    if replayed is not None:
        total += REPLAY_WEIGHT * np.asarray(replayed, dtype=float)
    return [_with_salience(p, float(s)) for p, s in zip(passages, total)]


def signal_table(passages: Sequence[Passage], hosts: frozenset[str], vectors: np.ndarray | None = None,
                 insight: np.ndarray | None = None) -> list[dict[str, float]]:
    """Each passage's raw signals (`signals`), with centrality and insight-like where there are vectors."""
    table = [signals(p, hosts) for p in passages]
    if vectors is not None:
        centroid = vectors.mean(axis=0)
        centroid /= np.linalg.norm(centroid) or 1.0
        for row, vector in zip(table, vectors):
            row["centrality"] = float(vector @ centroid)
            if insight is not None:
                row["insight_like"] = float(vector @ insight)
    return table


def echo_bonus(cosines: np.ndarray) -> np.ndarray:
    """0 up to ECHO_FLOOR, rising linearly to ECHO_WEIGHT at a cosine of 1."""
    return ECHO_WEIGHT * np.clip((np.asarray(cosines, dtype=float) - ECHO_FLOOR) / (1.0 - ECHO_FLOOR), 0.0, None)


def _standardised(values: Sequence[float]) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    spread = array.std()
    return (array - array.mean()) / spread if spread > 1e-9 else np.zeros_like(array)


def _with_salience(passage: Passage, salience: float) -> Passage:
    return Passage(passage.first, passage.last, passage.speaker, passage.text, passage.start_s, passage.end_s,
                   salience)


def budget(duration_s: float) -> int:
    """How many passages an episode may yield: about one per MINUTES_PER_INSIGHT minutes."""
    return int(min(MAX_INSIGHTS, max(MIN_INSIGHTS, round(duration_s / 60 / MINUTES_PER_INSIGHT))))


def choose_passages(pieces: Sequence[Segment], skip: Sequence[bool], embed: Embed | None = None,
                    limit: int | None = None, echo: Echo | None = None) -> list[Passage]:
    """The most salient passages, best first, at most `limit` (default: RESERVE x `budget` of the episode's
    length, so that a passage whose claim fails the checks can give way to the next), never two of the same
    moment or idea, and none clearly below the episode's average (salience under FLOOR: the cut is not at the
    average itself, since in a 4-minute episode one strong passage pushes every other below it)."""
    hosts = hosts_of(pieces)
    passages = [p for p in candidate_passages(pieces, skip) if not sets_up_a_question(p)]
    if not passages:
        return []
    vectors, insight = embedded(embed, passages) if embed else (None, None)
    scored = score_passages(passages, hosts, vectors, echo, replayed_in_cold_open(pieces, passages), insight)
    limit = RESERVE * budget(pieces[-1].end - pieces[0].start) if limit is None else limit
    order = sorted(range(len(scored)), key=lambda i: -scored[i].salience)
    gap = min(MIN_GAP_S, GAP_SHARE * (pieces[-1].end - pieces[0].start))
    chosen: list[int] = []
    for i in order:
        if len(chosen) >= limit or scored[i].salience < FLOOR:
            break
        if not any(_same_moment(scored[i], scored[j], vectors, i, j, gap) for j in chosen):
            chosen.append(i)
    return [scored[i] for i in chosen]


def embedded(embed: Embed, passages: Sequence[Passage]) -> tuple[np.ndarray, np.ndarray]:
    """The passages' vectors, and the insight-like direction from the exemplars embedded in the same call (so
    both are in one space, whatever the embedder)."""
    vectors = embed([p.text for p in passages] + list(EXEMPLARS))
    return vectors[: len(passages)], insight_direction(vectors[len(passages):])


def replayed_in_cold_open(pieces: Sequence[Segment], passages: Sequence[Passage]) -> list[bool]:
    """For each passage after the cold open, whether a line of the cold open (the episode's first COLD_OPEN_S
    seconds, or COLD_OPEN_SHARE of a short one) is found in it again: many shows open on a clip of the moment
    their editor thought best. A show without a cold open marks nothing; its introduction and ads are never
    passages."""
    if not pieces:
        return [False] * len(passages)
    start = pieces[0].start
    window = min(COLD_OPEN_S, COLD_OPEN_SHARE * (pieces[-1].end - start))
    lines = [normalise(p.text) for p in pieces if p.start - start < window and len(p.text.split()) >= REPLAY_MIN_WORDS]
    return [passage.start_s - start >= window and any(
        len(line) < len(text) and fuzz.partial_ratio(line, text) >= REPLAY_MATCH for line in lines)
        for passage, text in ((p, normalise(p.text)) for p in passages)]


def sets_up_a_question(passage: Passage) -> bool:
    """A turn that ends in a question sets one up: its premise is the asker's framing, and a claim written
    from it read as the other speaker's idea or as the question itself ("People misunderstand X, and it
    annoys the speaker"). Whoever asks: the host is not always the one asking the most questions (a dev-set
    guest asked more, and his host's set-ups were taken for ideas)."""
    return passage.text.rstrip().endswith("?")


def _same_moment(a: Passage, b: Passage, vectors: np.ndarray | None, i: int, j: int, gap: float) -> bool:
    if abs(a.start_s - b.start_s) < gap:
        return True
    return vectors is not None and float(vectors[i] @ vectors[j]) >= SAME_IDEA_COSINE
