"""One loader for both evaluation sets: a devset-format folder, the project's converted set, the real dev set."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from podsight.eval import EvalError
from podsight.eval.dataset import DATA_DIR, EvalDataError, load_eval_set
from podsight.eval.metrics import Rate
from podsight.eval.run import score_episode
from podsight.records import ExtractionReport, Insight

VTT = """WEBVTT

NOTE source: written for this test

1
00:00:00.000 --> 00:00:12.500
<v Ana Ruiz>Welcome to Tiny Show, brought to you by Acme &amp; Sons, the best widgets in town.

2
00:00:12.500 --> 00:00:30.000
<v Ben Ode>Our trial found that shorter meetings, not the day off, explained most of the productivity gain.
The rest came from fewer handovers.

3
00:00:30.000 --> 00:00:47.250
<v Ana Ruiz>So the lesson is to cap meetings at twenty-five minutes before you change the week at all.
"""


def devset_episode() -> dict:
    """An episode description in the dev set's schema (no keys, a source block, negatives)."""
    return {
        "source": {"repo": "example/transcripts", "commit": "0" * 40, "path": "tiny.md", "licence": "test"},
        "show": "Tiny Show", "title": "Tiny #1", "speakers": ["Ana Ruiz", "Ben Ode"], "duration_s": 48.0,
        "duration_source": "test",
        "insights": [
            {"claim": "Shorter meetings, not the extra day off, explained most of the trial's productivity gain.",
             "speaker": "Ben Ode",
             "quote": "shorter meetings, not the day off, explained most of the productivity gain",
             "start": 12.5, "importance": 5, "kind": "claim"},
            {"claim": "Capping meetings at 25 minutes is worth trying before changing the working week.",
             "speaker": "Ana Ruiz", "quote": "cap meetings at twenty-five minutes before you change the week at all",
             "start": 30, "importance": 4, "kind": "advice"},
        ],
        "negatives": [{"quote": "brought to you by Acme & Sons, the best widgets in town", "speaker": "Ana Ruiz",
                       "start": 0, "category": "ad", "reason": "a sponsor read"}],
    }


def write_devset(folder: Path, with_index: bool = True) -> Path:
    folder.mkdir()
    (folder / "tiny-1.vtt").write_text(VTT, encoding="utf-8")
    (folder / "tiny-1.json").write_text(json.dumps(devset_episode()), encoding="utf-8")
    if with_index:
        (folder / "index.json").write_text(json.dumps([{"slug": "tiny-1", "vtt": "tiny-1.vtt",
                                                        "reference": "tiny-1.json"}]), encoding="utf-8")
    return folder


@pytest.mark.parametrize("with_index", [True, False])
def test_a_devset_format_folder_loads_with_cue_spans_and_negatives(tmp_path, with_index):
    eval_set = load_eval_set(write_devset(tmp_path / "set", with_index))
    (episode,) = eval_set.transcripts
    assert (episode.slug, episode.show, episode.speakers) == ("tiny-1", "Tiny Show", ("Ana Ruiz", "Ben Ode"))
    assert episode.duration_s == 48.0  # declared, not the last cue's end
    first, second = episode.references
    assert (first.id, first.speaker, first.importance, first.kind) == ("tiny-1/#1", "Ben Ode", 5, "claim")
    assert (first.start_s, first.end_s) == (12.5, 30.0)  # the cue holding the quote
    assert (second.id, second.start_s, second.end_s) == ("tiny-1/#2", 30.0, 47.25)
    (negative,) = episode.negatives
    assert (negative.category, negative.start_s, negative.end_s) == ("ad", 0.0, 12.5)
    assert eval_set.pairs == ()


def test_a_devset_entry_must_point_at_its_cue(tmp_path):
    folder = write_devset(tmp_path / "set")
    episode = devset_episode()
    episode["insights"][0]["start"] = 30  # the quote is in the cue at 12.5 s
    episode["insights"][1]["speaker"] = "Cleo"
    episode["negatives"][0]["quote"] = "brought to you by"  # too short to place
    (folder / "tiny-1.json").write_text(json.dumps(episode), encoding="utf-8")
    with pytest.raises(EvalDataError) as caught:
        load_eval_set(folder)
    message = str(caught.value)
    assert "tiny-1/#1: start 30 is not the start of the quote's cue (12.5)" in message
    assert "tiny-1/#2: speaker 'Cleo' is not among the episode's speakers" in message
    assert "tiny-1/negative-1: quote is too short to locate" in message


def test_a_missing_folder_or_vtt_is_named(tmp_path):
    with pytest.raises(EvalDataError, match="no evaluation set folder"):
        load_eval_set(tmp_path / "nowhere")
    folder = write_devset(tmp_path / "set")
    (folder / "tiny-1.vtt").unlink()
    with pytest.raises(EvalDataError, match="cannot read transcript tiny-1.vtt"):
        load_eval_set(folder)


def test_the_shipped_set_is_in_the_devset_format():
    index = json.loads((DATA_DIR / "index.json").read_text(encoding="utf-8"))
    assert len(index) == 7
    for entry in index:
        episode = json.loads((DATA_DIR / entry["reference"]).read_text(encoding="utf-8"))
        assert (DATA_DIR / entry["vtt"]).exists()
        assert {"source", "show", "title", "speakers", "duration_s", "insights", "negatives"} <= set(episode)
        for item in episode["insights"]:
            assert {"claim", "speaker", "quote", "start", "importance", "kind"} <= set(item), entry["slug"]
            assert item["importance"] in (3, 4, 5)
        for item in episode["negatives"]:
            assert {"quote", "speaker", "start", "category", "reason"} <= set(item), entry["slug"]


def test_the_shipped_set_loads_with_its_pairs_and_negatives():
    eval_set = load_eval_set()
    assert len(eval_set.transcripts) == 7 and len(eval_set.references) == 56
    assert sum(len(t.negatives) for t in eval_set.transcripts) >= 7
    assert eval_set.reference("no-dig-chat/salt").importance == 4  # ids keep their keys, which pairs.json uses
    assert len(eval_set.pairs_of("near_duplicate")) >= 10
    ad = [n for n in eval_set.transcript("brine-and-barrel").negatives if n.category == "ad"]
    assert ad and "FIELDNOTES" in ad[0].quote


def test_subset_keeps_the_named_episodes_and_the_pairs_between_them():
    eval_set = load_eval_set()
    two = eval_set.subset(["no-dig-chat", "brine-and-barrel"])
    assert [t.slug for t in two.transcripts] == ["no-dig-chat", "brine-and-barrel"]
    assert two.pairs and all({p.a.split("/")[0], p.b.split("/")[0]} <= {"no-dig-chat", "brine-and-barrel"}
                             for p in two.pairs)
    assert [t.slug for t in eval_set.subset(limit=2).transcripts] == [t.slug for t in eval_set.transcripts[:2]]
    assert len(eval_set.subset(["no-dig-chat", "brine-and-barrel"], limit=1).transcripts) == 1
    with pytest.raises(EvalError, match="valid: .*no-dig-chat"):
        eval_set.subset(["nope"])


def test_without_speakers_removes_every_label_and_keeps_the_words_and_references():
    eval_set = load_eval_set()
    bare = eval_set.without_speakers()
    assert all(s.speaker is None for t in bare.transcripts for s in t.segments)
    assert all(t.speakers == () for t in bare.transcripts)
    assert [[s.text for s in t.segments] for t in bare.transcripts] == [[s.text for s in t.segments]
                                                                        for t in eval_set.transcripts]
    assert bare.references == eval_set.references
    assert any(s.speaker for t in eval_set.transcripts for s in t.segments), "the original set is left as it was"


# The real-episode dev set lives outside the project (its licences do not allow copying it in).
DEVSET = Path(os.environ.get("PODSIGHT_DEVSET", Path(__file__).resolve().parents[2] / "shared" / "devset"))


@pytest.mark.skipif(not (DEVSET / "index.json").exists(), reason=f"no dev set at {DEVSET}")
def test_the_real_dev_set_loads_where_it_lies():
    eval_set = load_eval_set(DEVSET)
    assert len(eval_set.transcripts) == 8
    assert len(eval_set.references) == 95
    assert sum(len(t.negatives) for t in eval_set.transcripts) == 40
    assert eval_set.transcript("practical-ai-204").duration_s == 1817.0


def as_report(passages, importance=lambda passage: 0.5) -> ExtractionReport:
    """Reference insights or negatives dressed as an extractor's output, to score the scorer."""
    return ExtractionReport(insights=tuple(
        Insight(claim=getattr(p, "claim", "A claim."), why="", speaker=p.speaker, quote=p.quote, kind="claim",
                importance=importance(p), start_s=p.start_s, end_s=p.end_s, model="ref", prompt_version="ref")
        for p in passages), chunks=1)


def score_set_against_itself(eval_set) -> tuple[Rate, Rate, Rate]:
    """(precision@5 and recall@10 of the references as output, precision@5 of the negatives as output)."""
    precision = recall = negatives_precision = Rate()
    for transcript in eval_set.transcripts:
        refs = score_episode(transcript, as_report(transcript.references, lambda r: (r.importance - 1) / 4))
        precision, recall = precision + refs.precision, recall + refs.recall
        negatives_precision += score_episode(transcript, as_report(transcript.negatives)).precision
    return precision, recall, negatives_precision


def test_the_shipped_references_hit_themselves_and_its_negatives_hit_none():
    precision, recall, negatives_precision = score_set_against_itself(load_eval_set())
    assert precision == Rate(35, 35) and recall == Rate(56, 56)
    assert negatives_precision == Rate(0, 13)


@pytest.mark.skipif(not (DEVSET / "index.json").exists(), reason=f"no dev set at {DEVSET}")
def test_on_the_real_dev_set_the_hit_rule_tells_references_from_negatives():
    precision, recall, negatives_precision = score_set_against_itself(load_eval_set(DEVSET))
    assert precision == Rate(40, 40)
    assert recall.total == 95 and recall.hits >= 80  # the top 10 of 11-12 references per episode, at least
    # Two negatives share a 160-570-word Changelog cue with a reference: by the cue rule, a hit.
    assert negatives_precision.hits <= 2 and negatives_precision.total == 40
