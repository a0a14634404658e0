"""Evaluation sets on disk: WebVTT transcripts with reference insights and negatives, one loader for all.

A set is a folder in the devset format (the one of the real-episode dev set kept outside the project):

- `index.json`: a list with one object per episode: `slug`, and optionally `vtt` and `reference` (file
  names, default `<slug>.vtt` and `<slug>.json`). Without an index every `*.json` but `pairs.json` is an
  episode, named after its file.
- `<slug>.vtt`: the transcript, WebVTT with `<v Speaker>` voices, read with podsight's own parser so the
  set exercises the same code as a real feed.
- `<slug>.json`: `show`, `title`, `speakers` (optionally `voice_labels`, `duration_s`, `format`, `topic`),
  `insights` (each `claim`, `speaker`, `quote`, `start`, `importance` 1-5, `kind`; optionally a `key`
  that names it in pairs) and `negatives` (tempting but bad passages: `quote`, `speaker`, `start`,
  `category`, `reason`).
- `pairs.json` (optional): labels pairs of references by id as `near_duplicate` (the same claim in other
  words), `contradiction` (opposite claims on one question) or `related` (same topic, different claim).

The set shipped in `data/` is made up for podsight (every show, person, company and study) and carries the
pairs; the dev set of real episodes has none, so duplicate-threshold tuning only runs on sets with pairs.

Loading validates everything and reports all problems at once: each quote must stand verbatim (after
`normalise`) in the transcript, in a cue that starts at `start` and is voiced by `speaker`; ids are
unique, kinds, importances and relations are known, and pairs point at existing references.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from podsight.errors import PodsightError
from podsight.eval import EvalError
from podsight.eval.metrics import quote_in_text, transcript_text
from podsight.insights.ground import QuoteFinder
from podsight.insights.prompts import KINDS
from podsight.records import Segment
from podsight.transcripts import parse_transcript

DATA_DIR = Path(__file__).parent / "data"
INDEX_FILE = "index.json"
PAIRS_FILE = "pairs.json"
RELATIONS = ("near_duplicate", "contradiction", "related")
IMPORTANCES = range(1, 6)
# `start` is written from the cue's timestamp; parsers round milliseconds, so allow a little.
START_TOLERANCE_S = 0.05


class EvalDataError(EvalError):
    """The evaluation set on disk is malformed; the message lists every problem found."""


@dataclass(frozen=True)
class ReferenceInsight:
    """An insight a careful human found in a transcript. `cues` are the segments holding the quote and
    `start_s`/`end_s` their span: the reference's place for the hit rule (`podsight.eval.hits`)."""

    id: str  # "<slug>/<key>", or "<slug>/#<n>" (1-based) for an insight without a key; unique in the set
    transcript: str  # slug
    claim: str
    quote: str  # verbatim in the transcript (after normalisation)
    speaker: str
    kind: str  # one of podsight.insights.prompts.KINDS
    start_s: float
    end_s: float
    importance: int = 4  # 1-5, how much a smart general listener would value it
    cues: tuple[int, int] | None = None  # first and last segment index holding the quote


@dataclass(frozen=True)
class NegativePassage:
    """A tempting but bad passage (ad, pleasantry, biography...): an extractor should not pick it."""

    id: str  # "<slug>/negative-<n>" (1-based)
    transcript: str
    quote: str
    speaker: str
    category: str
    reason: str
    start_s: float
    end_s: float
    cues: tuple[int, int] | None = None  # first and last segment index holding the quote


@dataclass(frozen=True)
class EvalTranscript:
    """One episode of the set: its segments as podsight parses them, its references and negatives."""

    slug: str
    show: str
    title: str
    format: str  # interview, panel, news roundup, ... (for the reader of a report)
    topic: str
    speakers: tuple[str, ...]
    segments: tuple[Segment, ...]
    references: tuple[ReferenceInsight, ...]
    negatives: tuple[NegativePassage, ...] = ()
    declared_duration_s: float | None = None  # `duration_s` of the JSON, when it gives one

    @property
    def duration_s(self) -> float:
        """Length of the audio: as declared, else the end of the last segment."""
        if self.declared_duration_s:
            return self.declared_duration_s
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

    def subset(self, slugs: Sequence[str] = (), limit: int = 0) -> EvalSet:
        """The named episodes (all when none are named), then only the first `limit` (0: no limit), with
        the pairs whose two ends remain. EvalError names the valid slugs for an unknown one."""
        kept = [self.transcript(slug) for slug in slugs] if slugs else list(self.transcripts)
        kept = kept[:limit] if limit else kept
        names = {t.slug for t in kept}
        pairs = tuple(p for p in self.pairs if {_slug_of(p.a), _slug_of(p.b)} <= names)
        return replace(self, transcripts=tuple(kept), pairs=pairs)

    def without_speakers(self) -> EvalSet:
        """The set as speech-to-text gives it when it cannot tell the voices apart: no segment names its speaker
        and no episode lists its speakers (the references keep theirs; hits go by quote and cue)."""
        return replace(self, transcripts=tuple(
            replace(t, speakers=(), segments=tuple(replace(s, speaker=None) for s in t.segments))
            for t in self.transcripts))


def _slug_of(reference_id: str) -> str:
    return reference_id.split("/")[0]


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
    listing every problem when anything is malformed or a quote is not where its entry says."""
    directory = Path(directory)
    problems: list[str] = []
    if not directory.is_dir():
        raise EvalDataError(f"no evaluation set folder at {directory}")
    transcripts = []
    for entry in _episode_entries(directory, problems):
        transcript = _load_transcript(directory, entry, problems)
        if transcript is not None:
            transcripts.append(transcript)
    if not transcripts and not problems:
        problems.append(f"no episodes (index.json or *.json) in {directory}")
    pairs = _load_pairs(directory / PAIRS_FILE, problems)
    _check_ids(transcripts, pairs, problems)
    if problems:
        listing = "\n- ".join(problems)
        raise EvalDataError(f"the evaluation set in {directory} has {len(problems)} problem(s):\n- {listing}")
    return EvalSet(tuple(transcripts), tuple(pairs))


def _episode_entries(directory: Path, problems: list[str]) -> list[dict]:
    """{slug, vtt, reference} per episode: from index.json, else one per JSON file."""
    index = directory / INDEX_FILE
    if not index.exists():
        stems = [p.stem for p in sorted(directory.glob("*.json")) if p.name != PAIRS_FILE]
        return [_entry({"slug": stem}) for stem in stems]
    document = _read_json(index, problems, expect=list)
    entries = []
    for number, item in enumerate(document or [], start=1):
        if isinstance(item, dict) and isinstance(item.get("slug"), str):
            entries.append(_entry(item))
        else:
            problems.append(f"{INDEX_FILE}: entry #{number} needs a string field slug")
    return entries


def _entry(item: dict) -> dict:
    slug = item["slug"]
    return {"slug": slug, "vtt": item.get("vtt", f"{slug}.vtt"), "reference": item.get("reference", f"{slug}.json")}


def _read_json(path: Path, problems: list[str], expect: type = dict):
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        problems.append(f"{path.name}: cannot read it as JSON ({error})")
        return None
    if not isinstance(document, expect):
        problems.append(f"{path.name}: expected a JSON {expect.__name__} at the top, got {type(document).__name__}")
        return None
    return document


def _load_transcript(directory: Path, entry: dict, problems: list[str]) -> EvalTranscript | None:
    """One episode description and its VTT file; problems are appended, not raised."""
    path = directory / entry["reference"]
    meta = _read_json(path, problems)
    if meta is None:
        return None
    missing = [key for key in ("show", "title", "speakers", "insights") if key not in meta]
    if missing:
        problems.append(f"{path.name}: missing field(s) {', '.join(missing)}")
        return None
    lists = [key for key in ("insights", "negatives") if not _list_of_objects(meta.get(key, []))]
    if lists:
        problems.append(f"{path.name}: {' and '.join(lists)} must be a list of objects")
        return None
    segments = _read_vtt(directory / entry["vtt"], path.name, problems)
    if segments is None:
        return None
    slug = entry["slug"]
    locate = _Locator(slug, segments, [*meta["speakers"], *meta.get("voice_labels", [])], problems)
    references = [_reference(slug, n, item, locate, problems) for n, item in enumerate(meta["insights"], start=1)]
    negatives = [_negative(slug, n, item, locate, problems)
                 for n, item in enumerate(meta.get("negatives", []), start=1)]
    return EvalTranscript(
        slug=slug, show=meta["show"], title=meta["title"], format=meta.get("format", ""), topic=meta.get("topic", ""),
        speakers=tuple(meta["speakers"]), segments=segments, references=tuple(r for r in references if r),
        negatives=tuple(n for n in negatives if n), declared_duration_s=meta.get("duration_s"),
    )


def _list_of_objects(value) -> bool:
    return isinstance(value, list) and all(isinstance(item, dict) for item in value)


def _read_vtt(vtt: Path, owner: str, problems: list[str]) -> tuple[Segment, ...] | None:
    try:
        return tuple(parse_transcript(vtt.read_bytes(), "text/vtt", url=vtt.name))
    except (OSError, PodsightError) as error:
        problems.append(f"{owner}: cannot read transcript {vtt.name} ({error})")
        return None


class _Locator:
    """Finds a quote of one episode and checks it stands where its entry says: verbatim, in a cue that
    starts at `start`, voiced by `speaker`. Gives the span of the cue(s) holding it."""

    def __init__(self, slug: str, segments: Sequence[Segment], voices: Sequence[str], problems: list[str]):
        self.slug, self.segments, self.voices, self.problems = slug, segments, set(voices), problems
        self.finder = QuoteFinder(segments)
        self.text = transcript_text(segments)  # normalised once: it is the slow part of loading

    def __call__(self, where: str, item: dict) -> tuple[float, float, tuple[int, int]] | None:
        if item["speaker"] not in self.voices:
            self.problems.append(f"{where}: speaker {item['speaker']!r} is not among the episode's speakers "
                                 f"{sorted(self.voices)}")
        if not quote_in_text(item["quote"], self.text):
            self.problems.append(f"{where}: quote is not verbatim in the transcript: {item['quote'][:80]!r}")
            return None
        match = self.finder.find(item["quote"], min_score=100.0)
        if match is None:  # verbatim but under QuoteFinder's minimum length
            self.problems.append(f"{where}: quote is too short to locate (at least 6 words): {item['quote']!r}")
            return None
        first, last = self.segments[match.first_segment], self.segments[match.last_segment]
        if first.speaker != item["speaker"]:
            self.problems.append(f"{where}: the transcript gives this quote to {first.speaker!r}, "
                                 f"not {item['speaker']!r}")
        if not isinstance(item["start"], (int, float)) or abs(first.start - item["start"]) > START_TOLERANCE_S:
            self.problems.append(f"{where}: start {item['start']!r} is not the start of the quote's cue "
                                 f"({first.start})")
        return first.start, max(first.end, last.end), (match.first_segment, match.last_segment)


def _missing(where: str, item: dict, fields: Sequence[str], problems: list[str]) -> bool:
    missing = [key for key in fields if item.get(key) in (None, "")]
    if missing:
        problems.append(f"{where}: missing field(s) {', '.join(missing)}")
    return bool(missing)


def _reference(slug: str, number: int, item: dict, locate: _Locator, problems: list[str]) -> ReferenceInsight | None:
    """Check one reference insight and locate its quote in the transcript."""
    where = f"{slug}/{item['key']}" if item.get("key") else f"{slug}/#{number}"
    if _missing(where, item, ("claim", "speaker", "quote", "start", "importance", "kind"), problems):
        return None
    if item["kind"] not in KINDS:
        problems.append(f"{where}: kind {item['kind']!r} is not one of {', '.join(KINDS)}")
    if item["importance"] not in IMPORTANCES:
        problems.append(f"{where}: importance {item['importance']!r} is not an integer from 1 to 5")
    span = locate(where, item)
    if span is None:
        return None
    return ReferenceInsight(
        id=where, transcript=slug, claim=item["claim"], quote=item["quote"], speaker=item["speaker"],
        kind=item["kind"], start_s=span[0], end_s=span[1], importance=item["importance"], cues=span[2],
    )


def _negative(slug: str, number: int, item: dict, locate: _Locator, problems: list[str]) -> NegativePassage | None:
    where = f"{slug}/negative-{number}"
    if _missing(where, item, ("quote", "speaker", "start"), problems):
        return None
    span = locate(where, item)
    if span is None:
        return None
    return NegativePassage(id=where, transcript=slug, quote=item["quote"], speaker=item["speaker"],
                           category=item.get("category", ""), reason=item.get("reason", ""),
                           start_s=span[0], end_s=span[1], cues=span[2])


def _load_pairs(path: Path, problems: list[str]) -> list[LabelledPair]:
    """The labelled pairs; a set without pairs.json simply has none."""
    document = _read_json(path, problems) if path.exists() else None
    if document is None:
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
