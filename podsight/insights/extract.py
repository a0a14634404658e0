"""Turn one episode's transcript into verified insights.

The small model reads one chunk at a time and proposes drafts; the code keeps only those it can
check: the quote must stand in the transcript (outside ad reads), the claim must say something in
its own words rather than copy a line, and it must not be a biography or start with a pronoun that
points nowhere. Every dropped draft and every skipped chunk is reported with a reason.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from rapidfuzz import fuzz

from podsight.errors import LLMOutputError
from podsight.insights.chunk import Chunk, chunk_segments, split_long_segments
from podsight.insights.faithful import faithfulness_problems, is_generic_why
from podsight.insights.ground import QuoteFinder, QuoteMatch, normalise
from podsight.insights.prompts import (
    PROMPT_VERSION,
    Draft,
    answer_schema,
    build_messages,
    clock,
    max_answer_tokens,
)
from podsight.insights.sponsor import looks_like_biography, skip_mask
from podsight.llm.base import LLM, Usage
from podsight.records import ExtractionReport, Insight, Segment

log = logging.getLogger("podsight.insights")

COPY_THRESHOLD = 85.0  # claim vs quote similarity above which the "claim" is the quote again
COPIED_SHARE = 0.5  # share of a claim's 4-word runs found verbatim in the transcript: above it, a copy
PASSAGE_CONTEXT = 3  # lines either side of a quote that the claim is checked against
DUPLICATE_THRESHOLD = 85.0  # claim vs claim similarity above which two insights are one
CLAIM_WORDS = (6, 90)
# Segments longer than this are split into sentences: lines of one speaker are merged again when
# rendered, so it costs no tokens, and it gives quotes a precise time and ads in a wall of text a tight mask.
PIECE_WORDS = 40
# A claim must stand alone: these openings point at someone or something the reader never met.
_DANGLING_START = re.compile(
    r"^(he|she|they|we|i|it's|this|that|these|those|his|her|their|our|my|him|them)\b", re.IGNORECASE
)
# ... but "it" that only holds the place of a clause to come is no pronoun: "It's hard to build companies to
# be acquired ...", "It's important to establish a baseline or benchmark before ..." (two claims dropped in corpus
# episodes).
_PLACEHOLDER_IT = re.compile(
    r"^it(?:'s| is) (?:(?:not|never|often|usually|always|rarely|very|really|much|far|so|too|more|less|even) )*"
    r"(?:a (?:good |bad |big |common )?(?:idea|mistake)|important|essential|crucial|critical|vital|key|necessary|hard|"
    r"harder|difficult|easy|easier|better|best|worse|worth|wise|smart|dangerous|risky|tempting|common|rare|possible|"
    r"impossible|useful|helpful|cheaper|faster|safer|natural|tricky|costly|expensive|enough)"
    r"(?: \w+){0,3}? (?:to|that|when|if)\b", re.IGNORECASE)
# ... and so do these, which point into a list the speaker was going through ("The second is that ...", "Tip
# number one is ...", "Another thing is ..."): the reader never heard the first.
_LIST_POSITION = re.compile(
    r"^(?:the (?:first|second|third|fourth|fifth|next|other|last) (?:one|thing|point|reason|step|tip|part|piece|"
    r"lesson|is)\b|(?:tip|step|point|rule|reason|lesson|number) (?:number )?(?:one|two|three|four|five|[1-9])\b|"
    r"(?:first|second|third)(?:ly)?,|another (?:thing|one|point|reason)\b)", re.IGNORECASE)
# The model sometimes copies a line's label ("[26] Luis: ...") into the quote.
_LINE_LABEL = re.compile(r"^(?:\[\d+\]\s*)?(?:[A-Z][\w.'-]*(?: [A-Z][\w.'-]*){0,3}:\s+)?")
# Small models often prefix a quote with its attribution ("Luis Ortega predicts that ..."), which is
# not in the transcript; the rest of the quote may well be.
_ATTRIBUTION = re.compile(
    r"^[\w .'-]{2,40}? (?:says|said|predicts|predicted|expects|argues|argued|notes|explains|explained|"
    r"believes|thinks|claims|suggests|points out|adds|recalls|warns)(?: that)?[:,]?\s+",
    re.IGNORECASE,
)
# First person anywhere means the claim speaks from inside the conversation ("the results surprised us").
# Case-sensitive on purpose: "US" is a country, not a pronoun.
_FIRST_PERSON = re.compile(r"\b(?:[Ww]e|us|[Oo]urs?|I|me|[Mm]y)\b")
# Pleasantries the model sometimes turns into a "claim" ("Maya expresses gratitude for Tomas's presence").
# "Thanks to" (because of) is left alone: "prices fell thanks to scale" is a claim.
_SMALL_TALK = re.compile(
    r"\b(?:express(?:es|ed)?|shows?|showed) (?:her |his |their )?(?:gratitude|thanks|appreciation)\b|"
    r"\bthank(?:s|ed)? (?!to\b)[\w'. ]{1,40}? for (?:having|joining|coming|being)\b|"
    r"\bwelcom(?:es|ed|ing) [\w'. ]{1,40}? to the (?:show|podcast|programme|program|episode)\b",
    re.IGNORECASE,
)
# What a named thing is ("Unbabel is a translation company that uses ...", "Rewatch is a video hub for ..."):
# the guest's pitch, read as an idea (seen in unlabelled corpus episodes). A reader learns what the product
# does, not what anyone found out; an idea about products ("A brand is a promise") names no one thing.
_PRODUCT_PITCH = re.compile(
    r"^[A-Z][\w.'-]*(?: [A-Z][\w.'-]*){0,3} (?:is|was) (?:a|an)(?: [\w-]+){0,3}? (?:company|startup|tool|platform|"
    r"product|service|app|application|framework|library|hub|marketplace|solution|business|firm|provider|vendor|"
    r"suite|software|system|device) (?:that|which|for|to|with|used|where|designed|built|focused)\b")
# ... unless the sentence turns on it ("Mechanical Turk is a service that humans hire for simple tasks, but bots do
# them faster, defeating the purpose"): the point is what follows the "but" (a dev-set reference's idea).
_TURNS = re.compile(r"[,;]\s*(?:but|yet|however)\b(?!\s+also\b)", re.IGNORECASE)
_META = re.compile(
    r"^(the )?(speaker|host|guest|interviewee|podcast|episode)s?\b|^in this (episode|podcast)", re.IGNORECASE
)


@dataclass
class _Tally:
    """What the extraction has kept and dropped so far."""

    kept: list[tuple[Insight, QuoteMatch]] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    spent: Usage = Usage()  # by this run
    cost: Usage = Usage()  # by the same calls when not answered from the cache


def _short(text: str, limit: int = 100) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def claim_problem(claim: str, quote: str, finder: QuoteFinder, *, copy_ok: bool = False) -> str | None:
    """Why a claim is not a standalone insight, or None when it is."""
    words = len(claim.split())
    if words < CLAIM_WORDS[0] or words > CLAIM_WORDS[1]:
        return f"claim has {words} words (wanted {CLAIM_WORDS[0]}-{CLAIM_WORDS[1]}): '{_short(claim)}'"
    if _DANGLING_START.match(claim.strip()) and not _PLACEHOLDER_IT.match(claim.strip()):
        return f"claim starts with a pronoun that points nowhere: '{_short(claim)}'"
    if _LIST_POSITION.match(claim.strip()):
        return f"claim starts with a place in a list the reader never saw: '{_short(claim)}'"
    if _FIRST_PERSON.search(claim):
        return f"claim speaks in the first person, so it does not stand alone: '{_short(claim)}'"
    if _META.match(claim.strip()):
        return f"claim describes the conversation, not an idea: '{_short(claim)}'"
    if _SMALL_TALK.search(claim):
        return f"claim is small talk: '{_short(claim)}'"
    if looks_like_biography(claim):
        return f"claim is biography: '{_short(claim)}'"
    if _PRODUCT_PITCH.match(claim.strip()) and not _TURNS.search(_first_sentence(claim)):
        return f"claim describes a product, not an idea: '{_short(claim)}'"
    if copy_ok:
        return None
    if fuzz.ratio(normalise(claim), normalise(quote)) > COPY_THRESHOLD or finder.copied_share(claim) > COPIED_SHARE:
        return f"claim copies the transcript: '{_short(claim)}'"
    return None


def _near_line(draft: Draft, chunk: Chunk) -> int:
    """The segment to look around first: where the model's line starts, else the chunk's middle."""
    segment = chunk.segment_of_line(draft.line)
    return segment if segment is not None else (chunk.first + chunk.last) // 2


def _ground(draft: Draft, chunk: Chunk, finder: QuoteFinder, min_score: float) -> QuoteMatch | None:
    """Find the draft's quote, and failing that the quote without an attribution the model added."""
    near = _near_line(draft, chunk)
    quote = _LINE_LABEL.sub("", draft.quote.strip(), count=1)
    match = finder.find(quote, near=near, min_score=min_score)
    stripped = _ATTRIBUTION.sub("", quote, count=1)
    if match is None and stripped != quote:
        match = finder.find(stripped, near=near, min_score=min_score)
    return match


def _credit_speaker(claim: str, speaker: str | None, speakers: Sequence[str]) -> str:
    """Fix a claim that opens with the wrong person ("Maya Chen believes ..." when the transcript shows
    Luis Ortega said it): small models mix up the names in the header."""
    if not speaker or speaker.split()[0] in claim:
        return claim  # no one to credit, or the right person is named (perhaps alongside the other)
    for other in speakers:
        name = re.sub(r"\s*\(.*?\)", "", other).strip()  # hints may read "Maya Chen (host)"
        if not name or name == speaker or speaker.startswith(name.split()[0]):
            continue
        # The full name, or the first name alone when a verb follows ("Maya says ...").
        opening = re.match(rf"{re.escape(name)}\b|{re.escape(name.split()[0])}(?=\s+[a-z])", claim)
        if opening:
            return speaker + claim[opening.end() :]
    return claim


def _first_sentence(text: str) -> str:
    """The `why` is asked for as one sentence; keep only the first when the model goes on."""
    text = " ".join(text.split())
    found = re.search(r"(?<=[.!?])\s", text)
    return text[: found.start()] if found else text


def _to_insight(draft: Draft, match: QuoteMatch, model: str, speakers: Sequence[str]) -> Insight:
    speaker = match.speaker or (draft.speaker.strip() if draft.speaker and draft.speaker.strip() else None)
    return Insight(
        claim=_credit_speaker(" ".join(draft.claim.split()), speaker, speakers),
        why="" if is_generic_why(draft.why) else _first_sentence(draft.why),
        speaker=speaker,
        quote=match.text,
        kind=draft.kind,
        importance=(draft.importance - 1) / 4,
        start_s=match.start_s,
        end_s=match.end_s,
        model=model,
        prompt_version=PROMPT_VERSION,
        match_score=match.score,
    )


def _duplicate_of(insight: Insight, match: QuoteMatch, tally: _Tally) -> int | None:
    """Index of a kept insight that says the same thing: the same passage of the transcript (overlapping
    chunks see it twice), or a near-identical claim."""
    quote, claim = normalise(insight.quote), normalise(insight.claim)
    for i, (other, other_match) in enumerate(tally.kept):
        same_place = max(match.first_segment, other_match.first_segment) <= min(
            match.last_segment, other_match.last_segment
        )
        if same_place and fuzz.partial_ratio(quote, normalise(other.quote)) >= 90:
            return i
        if fuzz.token_sort_ratio(claim, normalise(other.claim)) > DUPLICATE_THRESHOLD:
            return i
    return None


@dataclass(frozen=True)
class _Context:
    """What every draft of one episode is checked against."""

    finder: QuoteFinder
    model: str
    min_score: float
    speakers: tuple[str, ...]


def _accept(draft: Draft, chunk: Chunk, context: _Context, tally: _Tally) -> None:
    """Check one draft and keep it, or record why it was dropped."""
    finder = context.finder
    match = _ground(draft, chunk, finder, context.min_score)
    if match is None:
        tally.dropped.append(f"quote not found in transcript: '{_short(draft.quote)}'")
        return
    problem = claim_problem(draft.claim, match.text, finder) or _unfaithful(draft.claim, match, context)
    if problem:
        tally.dropped.append(problem)
        return
    insight = _to_insight(draft, match, context.model, context.speakers)
    twin = _duplicate_of(insight, match, tally)
    if twin is None:
        tally.kept.append((insight, match))
        return
    if insight.importance > tally.kept[twin][0].importance:
        insight, tally.kept[twin] = tally.kept[twin][0], (insight, match)
    tally.dropped.append(f"duplicate of an insight already kept: '{_short(insight.claim)}'")


def _unfaithful(claim: str, match: QuoteMatch, context: _Context) -> str | None:
    """The first faithfulness problem of the claim against the lines around its quote, or None."""
    pieces = context.finder.segments
    first, last = max(match.first_segment - PASSAGE_CONTEXT, 0), min(match.last_segment + PASSAGE_CONTEXT,
                                                                   len(pieces) - 1)
    passage = " ".join(pieces[i].text for i in range(first, last + 1))
    problems = faithfulness_problems(claim, passage, match.text, known_names=context.speakers)
    return f"{problems[0]}: '{_short(claim)}'" if problems else None


def _ask(
    llm: LLM, chunk: Chunk, segments: Sequence[Segment], per_chunk: int, speakers: Sequence[str], tally: _Tally
) -> list[Draft]:
    """One model call for one chunk; a malformed answer skips the chunk with a reason."""
    messages = chunk_messages(chunk, segments, per_chunk, speakers)
    try:
        answer, usage = llm.complete(messages, answer_schema(per_chunk), max_tokens=max_answer_tokens(per_chunk))
    except LLMOutputError as error:
        start_s, end_s = segments[chunk.first].start, segments[chunk.last].end
        where = f"chunk {chunk.index + 1} ({clock(start_s)}-{clock(end_s)})"
        tally.skipped.append(f"{where} skipped: model output was not valid JSON: {_short(str(error), 200)}")
        log.warning("%s", tally.skipped[-1])
        return []
    tally.spent += usage.spent
    tally.cost += usage
    return list(answer.insights)[:per_chunk]


def chunk_messages(chunk: Chunk, segments: Sequence[Segment], per_chunk: int, speakers: Sequence[str]) -> list[dict]:
    """The chat messages sent for one chunk."""
    start_s, end_s = segments[chunk.first].start, segments[chunk.last].end
    return build_messages(chunk.text, limit=per_chunk, start_s=start_s, end_s=end_s, speakers=speakers)


def prepare(segments: Sequence[Segment], *, words: int, overlap_words: int,
            speakers_hint: Sequence[str] = ()) -> tuple[list[Segment], list[bool], list[Chunk], tuple[str, ...]]:
    """A transcript as extraction reads it: sentence-sized pieces, the ad/intro mask over them, the
    chunks, and the speakers' full names."""
    pieces = split_long_segments(segments, max_words=PIECE_WORDS)
    skip = skip_mask(pieces)
    chunks = chunk_segments(pieces, words=words, overlap_words=overlap_words, skip=skip)
    return pieces, skip, chunks, tuple(speakers_hint) or _named_speakers(pieces)


def _named_speakers(segments: Sequence[Segment], limit: int = 6) -> tuple[str, ...]:
    """Full names of the transcript's speakers, in order of appearance: lines show first names only."""
    names = dict.fromkeys(s.speaker.strip() for s in segments if s.speaker and s.speaker.strip())
    return tuple(names)[:limit]


def extract_insights(
    segments: list[Segment],
    llm: LLM,
    *,
    words: int = 450,
    overlap_words: int = 40,
    per_chunk: int = 2,
    min_quote_score: float = 88.0,
    speakers_hint: Sequence[str] = (),
    progress: Callable[[int, int], None] | None = None,
) -> ExtractionReport:
    """Extract verified insights from a whole transcript, one model call per chunk.

    A chunk whose answer is not valid JSON is skipped with a reason and the others go on; an
    unreachable model (LLMError) propagates so the caller can retry the episode later.
    """
    pieces, skip, chunks, speakers = prepare(segments, words=words, overlap_words=overlap_words,
                                             speakers_hint=speakers_hint)
    context = _Context(QuoteFinder(pieces, skip), llm.name, min_quote_score, speakers)
    tally = _Tally()
    for chunk in chunks:
        for draft in _ask(llm, chunk, pieces, per_chunk, speakers, tally):
            _accept(draft, chunk, context, tally)
        if progress:
            progress(chunk.index + 1, len(chunks))
    return ExtractionReport(
        insights=tuple(insight for insight, _ in sorted(tally.kept, key=lambda pair: pair[1].start_s)),
        chunks=len(chunks),
        chunks_skipped=tuple(tally.skipped),
        dropped=tuple(tally.dropped),
        tokens_in=tally.spent.prompt_tokens,
        tokens_out=tally.spent.completion_tokens,
        prompt_tokens=tally.cost.prompt_tokens,
        reused_prompt_tokens=tally.cost.reused_prompt_tokens,
        completion_tokens=tally.cost.completion_tokens,
    )
