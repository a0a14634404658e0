"""Extraction one passage at a time: the code chooses the moments (`select`), the model writes one claim
per chosen passage, and the code picks the quote and checks the claim against the passage.

Why: the 1.5B model cannot judge what matters, but from one focused passage of ~100 words it writes a
usable claim about half the time, and it reads only the chosen passages instead of the whole transcript
(an 87-minute interview: 12 calls instead of 40 chunks). Every claim must survive the checks in code:
the standalone rules of `extract.claim_problem` and `faithful.faithfulness_problems` (each number, name
and negation in the claim stands in the passage; a negation in the quote does not vanish; no inverted
direction; no foreign script). The quote is the run of the passage's sentences that carries the claim,
chosen by word overlap, so it is verbatim by construction and never the show's introduction (introductions
and ads are never passages).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial

import numpy as np
from pydantic import BaseModel, Field

from podsight.errors import LLMOutputError
from podsight.insights.choose import model_order
from podsight.insights.check import model_objection
from podsight.insights.chunk import split_long_segments
from podsight.insights.extract import PIECE_WORDS, claim_problem
from podsight.insights.faithful import (faithfulness_problems, is_generic_why, speaker_as_subject,
                                       strip_attribution, without_added_clause)
from podsight.insights.ground import QuoteFinder, normalise
from podsight.insights.prompts import Kind
from podsight.insights.select import (RESERVE, Echo, Embed, Passage, budget, candidate_passages, choose_passages,
                                     ends_sentence, with_antecedent, with_ending)
from podsight.insights.sponsor import skip_mask
from podsight.llm.base import LLM, Usage
from podsight.records import ExtractionReport, Insight, Segment

log = logging.getLogger("podsight.insights")

PASSAGE_PROMPT_VERSION = "passage-v4"
MAX_QUOTE_PIECES, MAX_QUOTE_WORDS = 3, 60
QUOTE_SENTENCE_WORDS = 90  # a quote may grow to this to end on a sentence boundary
# Share of a claim's content words that its passage must hold: a paraphrase keeps the passage's subject and
# key terms; a claim with almost none of them is about something else (the prompt's example, another passage).
MIN_SHARED_WORDS = 0.25

_SYSTEM = """You write one insight from a passage of a podcast, for a reader who never heard the show.
- claim: the passage's main idea in 1-3 sentences of your own words, shorter than the passage, with its \
specifics (numbers, names, reasons). \
State the idea itself; never start with the speaker, "the speaker", "the passage", he, she, they, we or this. \
Keep every "not", "no" and "never" the passage uses. Say only what the passage says, in its language: \
add no reason, cause or consequence the speaker does not give, and keep the speaker's own key words.
- kind: claim, prediction, advice, data_point or story"""

# One worked example, shown as an earlier turn of the conversation: the 1.5B model copies the shape of an
# answer far better than it follows a description of one (without it, a third of its claims began "The
# passage discusses" or "The main idea is"). The topic is far from any podcast's on purpose: a claim that
# copies the example names things its passage never says and fails the faithfulness check.
_EXAMPLE_PASSAGE = (
    "Ines Duarte: People assume a beehive dies in winter from the cold. It almost never does. A colony keeps "
    "its core at about 35 degrees whatever the weather. What kills it is moisture: the bees' breath condenses "
    "on a cold lid and drips back onto the cluster. So in our trial, the hives we simply tilted forward a few "
    "centimetres lost a third as many colonies as the ones we wrapped in insulation.")
# The example's own subject: a claim that names it when its passage does not has mixed the example in (a dev-set
# claim opened "Beehives can perform better than humans ..." for a passage about the architecture of the mind).
# ("Industrial giants can build large-scale beekeeping facilities" came of a passage about training costs.)
_EXAMPLE_TOPIC = frozenset("bee bees beehive beehives hive hives colony colonies moisture condenses insulation "
                           "beekeeping beekeeper beekeepers".split())
_EXAMPLE_ANSWER = (
    '{"claim": "Beehives rarely die of cold in winter but of moisture: the bees\' breath condenses on the lid and '
    'drips onto the colony. Tilting hives forward lost a third as many colonies as wrapping them in insulation.", '
    '"kind": "data_point"}')


class PassageAnswer(BaseModel):
    """The model's answer for one passage."""

    claim: str = Field(min_length=20, max_length=320)
    kind: Kind


@dataclass
class _Tally:
    kept: list[Insight] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    calls: int = 0
    spent: Usage = Usage()
    cost: Usage = Usage()


def passage_messages(passage: Passage) -> list[dict]:
    """The chat messages for one passage: the fixed instruction and the worked example (a prefix llama.cpp
    keeps in its prompt cache, so it is computed once per run), then the passage."""
    who = f"{passage.speaker}: " if passage.speaker else ""
    return [{"role": "system", "content": _SYSTEM}, {"role": "user", "content": _EXAMPLE_PASSAGE},
            {"role": "assistant", "content": _EXAMPLE_ANSWER}, {"role": "user", "content": who + passage.text}]


def extract_passages(
    segments: list[Segment],
    llm: LLM,
    *,
    speakers_hint: Sequence[str] = (),
    embed: Embed | None = None,
    limit: int | None = None,
    model_chooses: bool = False,
    model_checks: bool = False,
    echo: Echo | None = None,
    concurrency: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> ExtractionReport:
    """Verified insights from the episode's most salient passages, best first (`importance` is the
    passage's rank by salience, 1.0 for the best): `limit` of them (default: `select.budget` of the
    episode's length), asking about the next passage in line when a claim fails the checks, up to RESERVE
    passages per insight. With `model_chooses`, a capable model re-orders the code's candidates first
    (`choose.model_order`); with `model_checks`, it reads each claim that passed the code's checks against its
    passage, and a claim it finds unfaithful is dropped like any other (`check.model_objection`). `echo`
    scores passages by their closeness to other recent episodes' claims (`select.Echo`). `concurrency` > 1
    (an endpoint that serves many requests at once) asks about as many passages as are still wanted, up to
    that many at a time, in rounds; the result is the same as one at a time. An unreachable model (LLMError)
    propagates."""
    pieces, skip = _pieces(segments)
    if not pieces:
        wanted = 0
    else:
        wanted = budget(pieces[-1].end - pieces[0].start) if limit is None else limit
    chosen = [with_ending(with_antecedent(p, pieces, skip), pieces, skip)
              for p in choose_passages(pieces, skip, embed, RESERVE * wanted, echo)]
    finder = QuoteFinder(pieces, skip)
    known = tuple(speakers_hint) + tuple(dict.fromkeys(p.speaker for p in pieces if p.speaker))
    tally = _Tally()
    if model_chooses:
        chosen, usage = model_order(llm, chosen, wanted)
        tally.spent += usage.spent
        tally.cost += usage
    checker = llm if model_checks else None
    asked = 0
    with ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="podsight-llm") as pool:
        while asked < len(chosen) and len(tally.kept) < wanted:  # enough kept: the rest are less salient
            batch = chosen[asked:asked + max(1, min(concurrency, wanted - len(tally.kept)))]
            for passage, (answer, usage, error) in zip(batch, pool.map(partial(_ask, llm), batch)):
                tally.calls += 1
                if error:
                    tally.skipped.append(error)
                elif len(tally.kept) < wanted:
                    tally.spent += usage.spent
                    tally.cost += usage
                    _accept(answer, passage, pieces, finder, known, _importance(asked, len(chosen)), llm.name, tally,
                            checker)
                asked += 1
                if progress:
                    progress(asked, len(chosen))
    return ExtractionReport(
        insights=tuple(tally.kept), chunks=tally.calls, chunks_skipped=tuple(tally.skipped),
        dropped=tuple(tally.dropped), tokens_in=tally.spent.prompt_tokens, tokens_out=tally.spent.completion_tokens,
        prompt_tokens=tally.cost.prompt_tokens, reused_prompt_tokens=tally.cost.reused_prompt_tokens,
        completion_tokens=tally.cost.completion_tokens,
    )


def _pieces(segments: Sequence[Segment]) -> tuple[list[Segment], list[bool]]:
    pieces = split_long_segments(segments, max_words=PIECE_WORDS)
    return pieces, skip_mask(pieces)


def passage_vectors(segments: Sequence[Segment], embed: Embed) -> np.ndarray:
    """The embeddings of an episode's candidate passages, for the other episodes' echo: an idea two episodes
    both dwell on is worth an insight in each, whichever is extracted first."""
    pieces, skip = _pieces(segments)
    passages = candidate_passages(pieces, skip)
    return embed([p.text for p in passages]) if passages else np.zeros((0, 0), dtype=np.float32)


def _importance(rank: int, count: int) -> float:
    """1.0 for the most salient passage down to 0.5 for the last chosen: ranking trusts this order."""
    return 1.0 - 0.5 * rank / max(count - 1, 1)


def _ask(llm: LLM, passage: Passage) -> tuple[PassageAnswer | None, Usage | None, str | None]:
    """(answer, usage, None), or (None, None, why) when the answer was unusable; runs on a pool thread, so it
    touches no shared state (the tally is kept by the caller)."""
    try:
        answer, usage = llm.complete(passage_messages(passage), PassageAnswer, max_tokens=160)
    except LLMOutputError as error:
        return None, None, f"passage at {passage.start_s:.0f}s skipped: model output was not valid JSON: {error}"
    return answer, usage, None


def _accept(answer: PassageAnswer, passage: Passage, pieces: Sequence[Segment], finder: QuoteFinder,
            known: Sequence[str], importance: float, model: str, tally: _Tally,
            checker: LLM | None = None) -> None:
    """Keep the claim when it stands alone and is faithful to its passage, or is once cut shorter
    (`_shorter_claims`), and the `checker` model, where there is one, finds nothing wrong with it; else record
    why not."""
    claim = _without_stray_closer(" ".join(answer.claim.split()))
    claim = _without_lead_in(_without_fillers(_without_meta_opening(_without_label(claim, known))), passage.text)
    if speaker_as_subject(claim):
        claim = strip_attribution(claim)
    first, last, problems = _checked(claim, passage, pieces, finder, known)
    for shorter in _shorter_claims(claim, problems):
        shorter_first, shorter_last, shorter_problems = _checked(shorter, passage, pieces, finder, known)
        if not shorter_problems:
            claim, first, last, problems = shorter, shorter_first, shorter_last, []
            break
    if problems:
        tally.dropped.append(f"{problems[0]}: '{_short(claim)}'")
        return
    if checker:
        problem, usage = model_objection(checker, claim, passage.text, passage.speaker)
        tally.spent += usage.spent
        tally.cost += usage
        if problem:
            tally.dropped.append(f"the model finds it unfaithful ({_short(problem)}): '{_short(claim)}'")
            return
    tally.kept.append(Insight(
        claim=claim, why="", speaker=passage.speaker, quote=_quote(pieces, first, last), kind=answer.kind,
        importance=importance, start_s=pieces[first].start, end_s=pieces[last].end, model=model,
        prompt_version=PASSAGE_PROMPT_VERSION,
    ))


STUB_WORDS = 3  # a later sentence this short says nothing on its own ("Smaller models.")
MIN_LEADING_WORDS = 8  # a claim's leading sentences kept alone must say something ("Systems fail." does not)


def _shorter_claims(claim: str, problems: Sequence[str]) -> list[str]:
    """What a failed claim may be cut to, to be checked again like any claim: without the reason or concession
    it invented (`faithful.without_added_clause`), else its leading sentences, longest first. The model often
    states the idea in a first sentence that stands alone and then copies the speaker ("... By values, I don't
    mean ..."); cutting only removes words, so what is left says nothing the claim did not."""
    if not problems:
        return []
    cut = without_added_clause(claim, problems[0]) or _without_trailing_clause(claim)
    sentences = _SENTENCE_END.split(claim)
    leading = [" ".join(sentences[:n]) for n in range(len(sentences) - 1, 0, -1)]
    return ([cut] if cut else []) + [text for text in leading if len(text.split()) >= MIN_LEADING_WORDS]


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"“])")
# A copied sentence the speaker left unfinished ("... a type of domain expertise that is..."): an ellipsis at the end.
_TRAILS_OFF = re.compile(r"(?:\.\.\.|…)\s*$")


def _without_trailing_clause(claim: str) -> str | None:
    """A claim that trails off, without its unfinished last clause (from its last comma), when 8 words or more
    are left: "..., and also, the developer is using it all day long, so there's a type of ... that is..." ends at
    "... all day long."."""
    if not _TRAILS_OFF.search(claim):
        return None
    head = claim[: claim.rfind(",")].rstrip() if "," in claim else ""
    return head + "." if len(head.split()) >= MIN_LEADING_WORDS else None


def _checked(claim: str, passage: Passage, pieces: Sequence[Segment], finder: QuoteFinder,
             known: Sequence[str]) -> tuple[int, int, list[str]]:
    """The claim's quote (first and last piece) and its problems."""
    first, last = whole_sentences(pieces, passage, *quote_pieces(claim, pieces, passage))
    first, last = _without_stray_start(pieces, *_with_answer(pieces, passage, first, last))
    return first, last, _problems(claim, passage, _quote(pieces, first, last), finder, known)


def _quote(pieces: Sequence[Segment], first: int, last: int) -> str:
    return " ".join(pieces[i].text.strip() for i in range(first, last + 1))


# The model often opens with the passage itself ("The passage suggests that ..."): the idea follows.
_META_OPENING = re.compile(
    r"^(?:the |this |[A-Z][\w.'-]+(?: [A-Z][\w.'-]+)?'s )?(?:passage|excerpt|text|transcript|conversation|"
    r"discussion|speaker)(?:'s)? "
    r"(?:(?:main |key |central )?(?:idea|point|argument|message|claim) is|suggests|says|states|argues|explains|"
    r"notes|shows|claims|highlights|emphasi[sz]es)(?: that)?[,:]?\s+(?=\S)", re.IGNORECASE)

# ... or names the idea as such: "The main idea (of the passage) is that ...", "Scott's key point is to ...".
_MAIN_IDEA_OPENING = re.compile(
    r"^(?:the |[A-Z][\w.'-]+(?: [A-Z][\w.'-]+)?'s )?(?:(?:main|key|central|core) (?:idea|point|message|takeaway|"
    r"argument|lesson)(?: (?:of|in) (?:the |this )?(?:passage|excerpt|text|conversation|discussion))?|(?:idea|point|"
    r"message|takeaway|argument|lesson) (?:of|in) (?:the |this )?(?:passage|excerpt|text|conversation|discussion)) "
    r"is(?: that| to)?[,:]?\s+(?=\S)", re.IGNORECASE)


# A sentence about the conversation rather than the idea ("The speaker emphasizes the importance of ...").
_META_SENTENCE = re.compile(r"^(?:the |this |that )?(?:speaker|passage|excerpt|guest|host|insight|discussion|"
                            r"conversation|episode)s?\b|^(?:he|she|they) (?:also |further )?[a-z]+s\b",
                            re.IGNORECASE)
# Not a statement: the passage described ("The passage discusses ...") or a bare noun phrase ("The importance
# of ...").
_NOT_A_STATEMENT = re.compile(r"^(?:the |this |[A-Z][\w.'-]+(?: [A-Z][\w.'-]+)?'s )?(?:passage|excerpt|text|"
                              r"transcript|conversation|discussion|speaker)(?:'s)? (?:discusses|describes|explores|"
                              r"covers|talks about|is about|focuses on|reflects on)\b|^the (?:importance|significance|"
                              r"value|power|role|need|challenges?|benefits?) of\b", re.IGNORECASE)


# "Most of the people listening to this podcast are ...": the show talking about itself.
_ABOUT_THE_SHOW = re.compile(r"\b(?:this|(?:in|on|of) the) (?:podcast|show|episode)\b|\bthe (?:podcast|show)'s\b|"
                             r"\b(?:listeners of|listening to) (?:this|the|our) (?:podcast|show)\b|"
                             r"\b(?:for|to) (?:the |all the |any )?\w+ listening\b(?! to)",
                             re.IGNORECASE)  # "... is advice for managers listening": the speaker addressing the audience

# "[inaudible 00:50:40]", "[crosstalk]", "[unintelligible]": where the transcript lost the words, a claim
# built on them says something nobody can check (a dev-set claim read "All the [inaudible 00:50:40] will start
# behaving very differently too").
_TRANSCRIBER_NOTE = re.compile(r"\[(?:inaudible|unintelligible|crosstalk|indiscernible|unclear)\b[^\]]*\]|"
                               r"\b(?:inaudible|unintelligible|indiscernible)\b", re.IGNORECASE)

# Spoken fillers a copied sentence brings along ("even if they appear, like, four times").
_FILLER = re.compile(r",? (?:like|you know|I mean),(?= )", re.IGNORECASE)


def _without_stray_closer(claim: str) -> str:
    """ "... for larger models.}" -> "... for larger models.": the model sometimes closes its JSON inside the
    string as well; a bracket nothing opened is no part of the claim."""
    return claim.rstrip("}]").rstrip() if not any(c in claim for c in "{[") else claim


def _without_fillers(claim: str) -> str:
    return _FILLER.sub("", claim)


LEAD_IN_WORDS = 5  # a passage opening this short answers the host ("Partly.", "More than people think.")


def _without_label(claim: str, known: Sequence[str]) -> str:
    """ "Alexandre Défossez: There is a lot of competition ..." -> "There is a lot of competition ...": the
    model sometimes opens with the speaker's label, as the passage is shown to it (twice in one corpus episode);
    what follows is checked like any claim."""
    names = [re.escape(name) for name in sorted(known, key=len, reverse=True) if name]
    labels = names + [r"speaker \d+", "guest", "host"]
    found = re.match(rf"(?:{'|'.join(labels)})\s*:\s+(?=\S)", claim, re.IGNORECASE)
    if not found:
        return claim
    rest = claim[found.end():]
    return rest[0].upper() + rest[1:]


def _without_lead_in(claim: str, passage: str) -> str:
    """A claim copied with the passage's short opening answer ("More than people think, 17 hours ...") loses
    it: the answer means something only after the host's question."""
    opening = re.split(r"(?<=[.!?])\s+", passage.strip(), maxsplit=1)[0].rstrip(".!?")
    if not opening or len(opening.split()) > LEAD_IN_WORDS:
        return claim
    found = re.match(rf"{re.escape(opening)}[,.;:!?]\s+(?=\S)", claim, re.IGNORECASE)
    if not found:
        return claim
    rest = claim[found.end():]
    return rest[0].upper() + rest[1:]


def _without_meta_opening(claim: str) -> str:
    """The claim without an opening about the passage, and without later sentences about the conversation,
    generic "this highlights the importance of" filler, or a stub of STUB_WORDS words or fewer (a corpus
    episode's first insight ended "... so it's more private. Smaller models.")."""
    rest = _META_OPENING.sub("", claim, count=1)
    rest = _MAIN_IDEA_OPENING.sub("", rest, count=1)
    claim = rest[0].upper() + rest[1:] if rest != claim and rest else claim
    sentences = re.split(r"(?<=[.!?])\s+(?=[A-Z])", claim)
    kept = sentences[:1] + [s for s in sentences[1:] if not _META_SENTENCE.match(s) and not is_generic_why(s)
                            and len(s.split()) > STUB_WORDS]
    if len(kept) > 1 and not kept[-1].rstrip().endswith((".", "!", "?")):
        kept = kept[:-1]  # the answer was cut off mid-sentence: keep what was finished
    return " ".join(kept)


def _problems(claim: str, passage: Passage, quote: str, finder: QuoteFinder, known: Sequence[str]) -> list[str]:
    if speaker_as_subject(claim) or _opens_with_a_person(claim, known):
        return ["claim is about the speaker, not the idea"]
    if any(speaker_as_subject(s) or _opens_with_a_person(s, known) for s in _SENTENCE_END.split(claim)[1:]):
        # "... Chris Benson suggests that they can do this by ...": the idea, then the model's report of who
        # said it; `_shorter_claims` keeps the sentences before it.
        return ["a later sentence is about the speaker, not the idea"]
    if _NOT_A_STATEMENT.match(claim):
        return ["claim describes the passage instead of stating its idea"]
    if _ABOUT_THE_SHOW.search(claim):
        return ["claim is about the show, not an idea"]
    if _TRANSCRIBER_NOTE.search(claim):
        return ["claim carries a transcriber's note (a word the transcript could not make out)"]
    if not claim.rstrip().endswith((".", "!", "?", '"', "”")) or _TRAILS_OFF.search(claim):
        return ["claim was cut off mid-sentence"]
    if _shared_share(claim, passage.text) < MIN_SHARED_WORDS:
        return ["claim is not about its passage (few of its words are in it)"]
    borrowed = _EXAMPLE_TOPIC & set(re.findall(r"[a-z]+", claim.lower())) - set(re.findall(r"[a-z]+", passage.text.lower()))
    if borrowed:
        return [f"claim borrows the prompt's worked example ({', '.join(sorted(borrowed))})"]
    # The speaker's own sentence may be the claim: once it passes every standalone rule, nothing is more
    # faithful to what was said (the dev set, dropping copies vs keeping them: precision@5 16 -> 19 of 40,
    # recall@10 27 -> 33 of 95). The chunk extractor, which reads a whole chunk, still drops them.
    standalone = claim_problem(claim, quote, finder, copy_ok=True)
    if standalone:
        return [standalone.split(":")[0]]
    return faithfulness_problems(claim, passage.text, quote, known_names=known)


def _opens_with_a_person(claim: str, known: Sequence[str]) -> bool:
    """ "Megan Duclos is illustrating ...", "Lenny asks ...", "Edwin Chen realized ...": a speaker's name, then
    a verb; or the speaker's own reaction, experience or career ("Eugenio Pace's reaction to being called
    incompetent ...", from an unlabelled corpus episode). ("Rafael Moreno's father ..." is a possessive: the
    subject is the father, and may stay; so is a speaker's company, whose history was a dev-set reference.)"""
    forms = {form for name in known for form in (name, name.split()[0]) if len(form) > 2}
    return any(re.match(rf"{re.escape(form)}(?: [a-z]|['’]s {_PERSONAL})", claim) for form in forms)


# What belongs to a person, not to an idea: a claim about it is biography.
_PERSONAL = (r"(?:reaction|response|experience|experiences|feelings|emotions|journey|career|background|childhood|"
             r"upbringing|life|personal)\b")


def quote_pieces(claim: str, pieces: Sequence[Segment], passage: Passage) -> tuple[int, int]:
    """The run of up to MAX_QUOTE_PIECES consecutive sentences of the passage that shares the most content
    words with the claim (ties: the shorter, then the earlier run)."""
    wanted = _content_words(claim)
    best, best_key = (passage.first, passage.first), None
    for first in range(passage.first, passage.last + 1):
        for last in range(first, min(first + MAX_QUOTE_PIECES, passage.last + 1)):
            text = " ".join(pieces[i].text for i in range(first, last + 1))
            if last > first and len(text.split()) > MAX_QUOTE_WORDS:
                break
            shared = len(wanted & _content_words(text))
            key = (shared, -(last - first), -first)
            if best_key is None or key > best_key:
                best, best_key = (first, last), key
    return best


def whole_sentences(pieces: Sequence[Segment], passage: Passage, first: int, last: int) -> tuple[int, int]:
    """The quote widened to whole sentences within the passage: a long sentence is cut into several pieces,
    and a quote should not start or stop mid-sentence (up to QUOTE_SENTENCE_WORDS words)."""
    while first > passage.first and not ends_sentence(pieces[first - 1]) and \
            _words(pieces, first - 1, last) <= QUOTE_SENTENCE_WORDS:
        first -= 1
    while last < passage.last and not ends_sentence(pieces[last]) and \
            _words(pieces, first, last + 1) <= QUOTE_SENTENCE_WORDS:
        last += 1
    return first, last


def _words(pieces: Sequence[Segment], first: int, last: int) -> int:
    """Words in pieces first..last, both included."""
    return sum(len(pieces[i].text.split()) for i in range(first, last + 1))


def _with_answer(pieces: Sequence[Segment], passage: Passage, first: int, last: int) -> tuple[int, int]:
    """A quote that stops on the speaker's own question goes on to the answer, which is what carries the idea:
    a dev-set quote ended "... when do you stop?", and the next sentence, "It's when you are theoretically
    saturating ...", held the idea (up to QUOTE_SENTENCE_WORDS words)."""
    if pieces[last].text.rstrip().endswith("?") and last < passage.last:
        grown = whole_sentences(pieces, passage, last + 1, last + 1)[1]
        if _words(pieces, first, grown) <= QUOTE_SENTENCE_WORDS:
            return first, grown
    return first, last


def _without_stray_start(pieces: Sequence[Segment], first: int, last: int) -> tuple[int, int]:
    """The quote without a leading piece that is the end of someone else's sentence ("is that over." where
    speech-to-text gave the host's last words to the guest): it starts in lower case and ends a sentence."""
    while first < last and pieces[first].text.lstrip()[:1].islower() and ends_sentence(pieces[first]):
        first += 1
    return first, last


_STOP = frozenset("""a an the and or but if of to in on at for with by from as is are was were be been being it its
this that these those there their they them he she his her we our you your i me my not no so than then too very
can could will would should do does did have has had just about into out up over more most also what which who
how why when where all any some such only one""".split())


def _content_words(text: str) -> set[str]:
    return {w.rstrip("s") for w in re.findall(r"[a-z0-9']+", normalise(text)) if w not in _STOP and len(w) > 2}


def _shared_share(claim: str, passage: str) -> float:
    words = _content_words(claim)
    return len(words & _content_words(passage)) / len(words) if words else 0.0


def _short(text: str, limit: int = 100) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
