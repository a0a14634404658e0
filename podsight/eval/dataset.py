"""The evaluation set that ships with podsight: transcripts, reference insights and labelled pairs.

`data/<slug>.vtt` is an episode transcript (WebVTT with `<v Speaker>` voices), read with podsight's own
parser so the set exercises the same code as a real feed. `data/<slug>.json` describes the episode and
lists its reference insights: the claim a careful human would write, the verbatim quote it rests on,
the speaker and the kind. `data/pairs.json` labels pairs of reference insights as `near_duplicate`
(the same claim in other words), `contradiction` (opposite claims on one question) or `related`
(same topic, different claim: the negatives).

Every show, person, company and study in the set is made up for podsight.

Loading validates everything and reports all problems at once: a reference quote must stand verbatim
(after `normalise`) in its transcript and be spoken by the named speaker, ids are unique, kinds and
relations are known, and pairs point at existing references.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from podsight.errors import PodsightError
from podsight.eval import EvalError
from podsight.eval.metrics import quote_in_transcript
from podsight.insights.ground import QuoteFinder
from podsight.insights.prompts import KINDS
from podsight.records import Segment
from podsight.transcripts import parse_transcript

DATA_DIR = Path(__file__).parent / "data"
PAIRS_FILE = "pairs.json"
RELATIONS = ("near_duplicate", "contradiction", "related")


class EvalDataError(EvalError):
    """The evaluation set on disk is malformed; the message lists every problem found."""


@dataclass(frozen=True)
class ReferenceInsight:
    """An insight a careful human found in a transcript; `start_s`/`end_s` come from locating the quote."""

    id: str  # "<transcript slug>/<key>", unique in the set
    transcript: str  # slug
    claim: str
    quote: str  # verbatim in the transcript (after normalisation)
    speaker: str
    kind: str  # one of podsight.insights.prompts.KINDS
    start_s: float
    end_s: float


@dataclass(frozen=True)
class EvalTranscript:
    """One episode of the set: its segments as podsight parses them, and its reference insights."""

    slug: str
    show: str
    title: str
    format: str  # interview, panel, news roundup, ... (for the reader of a report)
    topic: str
    speakers: tuple[str, ...]
    segments: tuple[Segment, ...]
    references: tuple[ReferenceInsight, ...]

    @property
    def duration_s(self) -> float:
        """Length of the audio the transcript covers: the end of its last segment."""
        return max((segment.end for segment in self.segments), default=0.0)

    @property
    def words(self) -> int:
        return sum(len(segment.text.split()) for segment in self.segments)


@dataclass(frozen=True)
class LabelledPair:
    """Two reference insights (by id) and how their claims relate."""

    a: str
    b: str
    relation: str  # one of RELATIONS
    note: str = ""


@dataclass(frozen=True)
class EvalSet:
    """The whole set, with lookups by id."""

    transcripts: tuple[EvalTranscript, ...]
    pairs: tuple[LabelledPair, ...]

    @property
    def references(self) -> tuple[ReferenceInsight, ...]:
        return tuple(ref for transcript in self.transcripts for ref in transcript.references)

    def reference(self, reference_id: str) -> ReferenceInsight:
        """The reference insight with this id; EvalError names the valid ids' form when there is none."""
        for ref in self.references:
            if ref.id == reference_id:
                return ref
        raise EvalError(f"no reference insight {reference_id!r} in the evaluation set (ids look like 'slug/key')")

    def transcript(self, slug: str) -> EvalTranscript:
        for transcript in self.transcripts:
            if transcript.slug == slug:
                return transcript
        valid = ", ".join(t.slug for t in self.transcripts)
        raise EvalError(f"no transcript {slug!r} in the evaluation set; valid: {valid}")

    def pairs_of(self, relation: str) -> tuple[LabelledPair, ...]:
        if relation not in RELATIONS:
            raise EvalError(f"unknown pair relation {relation!r}; valid: {', '.join(RELATIONS)}")
        return tuple(pair for pair in self.pairs if pair.relation == relation)


def duplicate_labels(eval_set: EvalSet, include_contradictions: bool = True) -> list[tuple[str, str, bool]]:
    """(claim a, claim b, is near-duplicate) for every labelled pair: the input of threshold tuning.

    Contradictions count as negatives by default: opposite claims must never be merged as one,
    however close their wording is."""
    wanted = {"near_duplicate", "related"} | ({"contradiction"} if include_contradictions else set())
    return [
        (eval_set.reference(pair.a).claim, eval_set.reference(pair.b).claim, pair.relation == "near_duplicate")
        for pair in eval_set.pairs
        if pair.relation in wanted
    ]


def load_eval_set(directory: Path | str = DATA_DIR) -> EvalSet:
    """Read and validate the set in `directory` (the shipped one by default). Raises EvalDataError
    listing every problem when anything is malformed or a quote is not in its transcript."""
    directory = Path(directory)
    problems: list[str] = []
    transcripts = []
    for path in sorted(directory.glob("*.json")):
        if path.name != PAIRS_FILE:
            transcript = _load_transcript(path, problems)
            if transcript is not None:
                transcripts.append(transcript)
    if not transcripts and not problems:
        problems.append(f"no transcript descriptions (*.json) in {directory}")
    pairs = _load_pairs(directory / PAIRS_FILE, problems)
    _check_ids(transcripts, pairs, problems)
    if problems:
        listing = "\n- ".join(problems)
        raise EvalDataError(f"the evaluation set in {directory} has {len(problems)} problem(s):\n- {listing}")
    return EvalSet(tuple(transcripts), tuple(pairs))


def _read_json(path: Path, problems: list[str]) -> dict | None:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        problems.append(f"{path.name}: cannot read it as JSON ({error})")
        return None
    if not isinstance(document, dict):
        problems.append(f"{path.name}: expected a JSON object at the top, got {type(document).__name__}")
        return None
    return document


def _load_transcript(path: Path, problems: list[str]) -> EvalTranscript | None:
    """One transcript description and its VTT file; problems are appended, not raised."""
    meta = _read_json(path, problems)
    if meta is None:
        return None
    missing = [key for key in ("slug", "show", "title", "transcript", "speakers", "references") if key not in meta]
    if missing:
        problems.append(f"{path.name}: missing field(s) {', '.join(missing)}")
        return None
    if not isinstance(meta["references"], list) or not all(isinstance(r, dict) for r in meta["references"]):
        problems.append(f"{path.name}: references must be a list of objects")
        return None
    slug = meta["slug"]
    vtt = path.parent / meta["transcript"]
    try:
        segments = tuple(parse_transcript(vtt.read_bytes(), "text/vtt", url=vtt.name))
    except (OSError, PodsightError) as error:
        problems.append(f"{path.name}: cannot read transcript {vtt.name} ({error})")
        return None
    finder = QuoteFinder(segments)
    references = [_reference(slug, item, meta["speakers"], finder, problems) for item in meta["references"]]
    return EvalTranscript(
        slug=slug, show=meta["show"], title=meta["title"], format=meta.get("format", ""), topic=meta.get("topic", ""),
        speakers=tuple(meta["speakers"]), segments=segments, references=tuple(r for r in references if r),
    )


def _reference(
    slug: str, item: dict, speakers: Sequence[str], finder: QuoteFinder, problems: list[str]
) -> ReferenceInsight | None:
    """Check one reference insight and locate its quote in the transcript."""
    where = f"{slug}/{item.get('key', '?')}"
    missing = [key for key in ("key", "claim", "quote", "speaker", "kind") if not item.get(key)]
    if missing:
        problems.append(f"{where}: missing field(s) {', '.join(missing)}")
        return None
    if item["kind"] not in KINDS:
        problems.append(f"{where}: kind {item['kind']!r} is not one of {', '.join(KINDS)}")
    if item["speaker"] not in speakers:
        problems.append(f"{where}: speaker {item['speaker']!r} is not among the episode's speakers {list(speakers)}")
    if not quote_in_transcript(item["quote"], finder.segments):
        problems.append(f"{where}: quote is not verbatim in the transcript: {item['quote'][:80]!r}")
        return None
    match = finder.find(item["quote"], min_score=100.0)
    if match is None:  # verbatim but under QuoteFinder's minimum length
        problems.append(f"{where}: quote is too short to locate (at least 6 words): {item['quote']!r}")
        return None
    if match.speaker != item["speaker"]:
        problems.append(f"{where}: the transcript gives this quote to {match.speaker!r}, not {item['speaker']!r}")
    return ReferenceInsight(
        id=where, transcript=slug, claim=item["claim"], quote=item["quote"], speaker=item["speaker"],
        kind=item["kind"], start_s=match.start_s, end_s=match.end_s,
    )


def _load_pairs(path: Path, problems: list[str]) -> list[LabelledPair]:
    document = _read_json(path, problems) if path.exists() else None
    if document is None:
        if not path.exists():
            problems.append(f"{path.name} is missing")
        return []
    pairs = []
    for number, item in enumerate(document.get("pairs", []), start=1):
        if not isinstance(item, dict) or not all(isinstance(item.get(key), str) for key in ("a", "b", "relation")):
            problems.append(f"{path.name}: pair #{number} needs string fields a, b and relation")
            continue
        if item["relation"] not in RELATIONS:
            valid = ", ".join(RELATIONS)
            problems.append(f"{path.name}: pair #{number} has relation {item['relation']!r}; valid: {valid}")
            continue
        pairs.append(LabelledPair(item["a"], item["b"], item["relation"], item.get("note", "")))
    return pairs


def _check_ids(transcripts: Sequence[EvalTranscript], pairs: Sequence[LabelledPair], problems: list[str]) -> None:
    """Unique slugs and reference ids; pairs of two different, existing references, each labelled once."""
    slugs = [t.slug for t in transcripts]
    problems += [f"transcript slug {s!r} is used twice" for s in sorted({s for s in slugs if slugs.count(s) > 1})]
    ids = [ref.id for t in transcripts for ref in t.references]
    problems += [f"reference id {i!r} is used twice" for i in sorted({i for i in ids if ids.count(i) > 1})]
    known, seen = set(ids), set()
    for pair in pairs:
        for end in (pair.a, pair.b):
            if end not in known:
                problems.append(f"pair {pair.a} ~ {pair.b}: no reference insight {end!r}")
        key = frozenset((pair.a, pair.b))
        if len(key) == 1:
            problems.append(f"pair {pair.a} ~ {pair.b} pairs an insight with itself")
        elif key in seen:
            problems.append(f"pair {pair.a} ~ {pair.b} is labelled more than once")
        seen.add(key)
