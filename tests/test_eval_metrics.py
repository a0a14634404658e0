"""The evaluation set validates and its metrics give exact numbers on small hand-made cases."""

from __future__ import annotations

import json
import math
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from rapidfuzz import fuzz

from podsight.eval import EvalError
from podsight.eval.dataset import DATA_DIR, EvalDataError, duplicate_labels, load_eval_set
from podsight.eval.metrics import (
    Rate,
    best_threshold,
    duplicate_rate,
    duplicate_rate_by,
    grounding_rate,
    insights_per_hour,
    matched_references,
    pair_similarities,
    precision_recall_at,
    quote_in_transcript,
    reference_recall,
    tune_duplicate_threshold,
)
from podsight.insights.chunk import split_long_segments
from podsight.insights.extract import PIECE_WORDS, claim_problem
from podsight.insights.ground import QuoteFinder
from podsight.insights.sponsor import skip_mask
from podsight.records import ExtractionReport, Insight, Segment


def make_insight(claim: str, quote: str) -> Insight:
    return Insight(claim=claim, why="", speaker=None, quote=quote, kind="claim", importance=0.5,
                   start_s=0.0, end_s=1.0, model="test", prompt_version="test")


class TableEmbed:
    """An embed(texts) backed by a fixed table of unit vectors, counting its calls: the metrics take
    the embedder as a parameter, and a table gives cosines known to the last digit."""

    def __init__(self, table: dict[str, list[float]]):
        self.table = {text: np.asarray(vector, dtype=np.float64) for text, vector in table.items()}
        self.calls: list[list[str]] = []

    def __call__(self, texts):
        self.calls.append(list(texts))
        return np.stack([self.table[text] for text in texts])


# --- the shipped evaluation set -------------------------------------------------------------------

@pytest.fixture(scope="module")
def eval_set():
    return load_eval_set()


def test_the_set_has_varied_transcripts_of_the_asked_size(eval_set):
    assert len(eval_set.transcripts) >= 6
    formats = {t.format for t in eval_set.transcripts}
    assert {"interview", "two-host chat", "solo monologue", "panel", "news roundup"} <= formats
    for transcript in eval_set.transcripts:
        assert 600 <= transcript.words <= 1200, transcript.slug
        assert 4 <= len(transcript.references) <= 8, transcript.slug
        assert all(segment.speaker in transcript.speakers for segment in transcript.segments), transcript.slug
        words_per_minute = transcript.words / (transcript.duration_s / 60)
        assert 110 <= words_per_minute <= 170, (transcript.slug, words_per_minute)


def test_every_reference_quote_is_verbatim_and_spoken_by_its_speaker(eval_set):
    for transcript in eval_set.transcripts:
        finder = QuoteFinder(list(transcript.segments))
        for ref in transcript.references:
            assert quote_in_transcript(ref.quote, transcript.segments), ref.id
            match = finder.find(ref.quote, min_score=100.0)
            assert match is not None and match.speaker == ref.speaker, ref.id
            assert 0 < ref.start_s <= ref.end_s <= transcript.duration_s


def test_reference_claims_pass_the_extractors_own_checks(eval_set):
    """A reference is what the pipeline should keep: standalone, in its own words, not a biography."""
    for transcript in eval_set.transcripts:
        finder = QuoteFinder(list(transcript.segments))
        for ref in transcript.references:
            assert claim_problem(ref.claim, ref.quote, finder) is None, ref.id


def test_no_reference_quote_lies_in_an_ad_read_or_bio(eval_set):
    """The extractor never sees masked segments, so a reference there could never be recalled."""
    for transcript in eval_set.transcripts:
        pieces = split_long_segments(list(transcript.segments), max_words=PIECE_WORDS)
        finder = QuoteFinder(pieces, skip_mask(pieces))
        for ref in transcript.references:
            assert finder.find(ref.quote, min_score=100.0) is not None, ref.id


def test_the_sponsor_read_and_guest_bio_are_there_and_masked(eval_set):
    transcript = eval_set.transcript("brine-and-barrel")
    pieces = split_long_segments(list(transcript.segments), max_words=PIECE_WORDS)
    masked = " ".join(p.text for p, skip in zip(pieces, skip_mask(pieces)) if skip)
    assert "brought to you by Marrowbone Knives" in masked
    assert "grew up above her family's pickle shop" in masked


def test_the_chat_has_crosstalk_and_filler(eval_set):
    segments = eval_set.transcript("no-dig-chat").segments
    overlapping = [(a, b) for a, b in zip(segments, segments[1:]) if b.start < a.end and a.speaker != b.speaker]
    assert overlapping, "crosstalk cues hold two voices at once"
    text = " ".join(s.text for s in segments)
    assert text.count(" um,") + text.count(" uh,") >= 5 and "you know" in text


def test_pairs_refer_to_existing_insights_and_are_labelled_enough(eval_set):
    counts = Counter(pair.relation for pair in eval_set.pairs)
    assert counts["near_duplicate"] >= 10 and counts["contradiction"] >= 6 and counts["related"] >= 10
    for pair in eval_set.pairs:
        assert eval_set.reference(pair.a) and eval_set.reference(pair.b)
    near = eval_set.pairs_of("near_duplicate")
    assert any(p.a.split("/")[0] == p.b.split("/")[0] for p in near), "within one transcript"
    assert any(p.a.split("/")[0] != p.b.split("/")[0] for p in near), "across transcripts"
    assert all(p.a.split("/")[0] != p.b.split("/")[0] for p in eval_set.pairs_of("contradiction"))


def test_duplicate_labels_count_contradictions_as_negatives(eval_set):
    labels = duplicate_labels(eval_set)
    assert len(labels) == len(eval_set.pairs)
    assert sum(label for _, _, label in labels) == len(eval_set.pairs_of("near_duplicate"))
    assert len(duplicate_labels(eval_set, include_contradictions=False)) == len(eval_set.pairs) - len(
        eval_set.pairs_of("contradiction"))


def test_lookups_name_what_is_valid(eval_set):
    with pytest.raises(EvalError, match="valid: .*no-dig-chat"):
        eval_set.transcript("nope")
    with pytest.raises(EvalError, match="slug/key"):
        eval_set.reference("nope/none")
    with pytest.raises(EvalError, match="near_duplicate"):
        eval_set.pairs_of("same")


def test_a_broken_set_is_refused_with_every_problem_listed(tmp_path: Path):
    data = tmp_path / "data"
    shutil.copytree(DATA_DIR, data)
    meta_path = data / "no-dig-chat.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    meta["insights"][0]["quote"] = "the no-dig beds doubled our harvest in the first year"
    meta["insights"][1]["speaker"] = "Jo Pennick"  # the transcript gives the line to Sam Obi
    meta["insights"][2]["kind"] = "opinion"
    meta["insights"][3]["importance"] = 7
    meta["insights"][4]["start"] += 30
    del meta["insights"][5]["claim"]
    meta["negatives"][0]["quote"] = "a passage nobody ever said on this show at all"
    meta_path.write_text(json.dumps(meta), encoding="utf-8")
    pairs = json.loads((data / "pairs.json").read_text(encoding="utf-8"))
    pairs["pairs"].append({"a": "no-dig-chat/water", "b": "no-dig-chat/nothing", "relation": "near_duplicate"})
    pairs["pairs"].append({"a": "no-dig-chat/water", "b": "no-dig-chat/salt", "relation": "similar"})
    (data / "pairs.json").write_text(json.dumps(pairs), encoding="utf-8")
    index = json.loads((data / "index.json").read_text(encoding="utf-8"))
    index.append({"slug": "broken"})
    (data / "index.json").write_text(json.dumps(index), encoding="utf-8")
    (data / "broken.json").write_text("{not json", encoding="utf-8")

    with pytest.raises(EvalDataError) as caught:
        load_eval_set(data)
    message = str(caught.value)
    assert "no-dig-chat/nodig_yield: quote is not verbatim" in message
    assert "gives this quote to 'Sam Obi', not 'Jo Pennick'" in message
    assert "kind 'opinion' is not one of" in message
    assert "no-dig-chat/coffee: importance 7 is not an integer from 1 to 5" in message
    assert "no-dig-chat/salt: start" in message and "is not the start of the quote's cue" in message
    assert "no-dig-chat/failures: missing field(s) claim" in message
    assert "no-dig-chat/negative-1: quote is not verbatim" in message
    assert "no reference insight 'no-dig-chat/nothing'" in message
    assert "relation 'similar'" in message
    assert "broken.json: cannot read it as JSON" in message


# --- metrics on hand-made cases -------------------------------------------------------------------

SEGMENTS = [
    Segment(0.0, 5.0, "Um, the river flooded twice this spring,", "Ana"),
    Segment(5.0, 9.0, "and the town’s new levee held both times.", "Ana"),
    Segment(9.0, 12.0, "Concatenated words are not a cat.", "Ben"),
]


def test_quotes_are_matched_as_whole_words_across_segments_ignoring_case_fillers_and_apostrophes():
    assert quote_in_transcript("the river flooded twice this spring, and the town's new levee held", SEGMENTS)
    assert quote_in_transcript("THE RIVER, um, FLOODED twice", SEGMENTS)
    assert not quote_in_transcript("cat", [Segment(0, 1, "concatenate")])
    assert not quote_in_transcript("the river flooded three times", SEGMENTS)
    assert not quote_in_transcript("", SEGMENTS)


def test_grounding_rate_is_verbatim_kept_insights_over_all_drafts():
    report = ExtractionReport(
        insights=(
            make_insight("A levee held", "the town's new levee held both times"),
            make_insight("Floods", "The river flooded twice this spring"),
            make_insight("Paraphrase", "the river overflowed two times in spring"),  # kept by a fuzzy match
        ),
        chunks=1,
        dropped=("quote not found in transcript: 'x'", "claim is biography: 'y'"),
    )
    rate = grounding_rate(report, SEGMENTS)
    assert rate == Rate(2, 5)
    assert rate.value == pytest.approx(0.4)
    assert str(rate) == "2/5 (40%)"
    assert math.isnan(grounding_rate(ExtractionReport(insights=(), chunks=2), SEGMENTS).value)


def test_rates_pool_as_a_micro_average():
    assert sum([Rate(1, 4), Rate(3, 4), Rate()], Rate()) == Rate(4, 8)
    assert str(Rate()) == "n/a"


def test_insights_per_hour():
    assert insights_per_hour(3, 1800.0) == 6.0
    assert insights_per_hour(0, 60.0) == 0.0
    with pytest.raises(EvalError, match="duration of 0"):
        insights_per_hour(3, 0)


def test_duplicate_rate_counts_pairs_at_or_above_the_threshold():
    vectors = np.array([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0], [-1.0, 0.0]])
    # cosines: (0,1)=0.8 (0,2)=0 (0,3)=-1 (1,2)=0.6 (1,3)=-0.8 (2,3)=0
    assert duplicate_rate(vectors, 0.8) == Rate(1, 6)
    assert duplicate_rate(vectors, 0.6) == Rate(2, 6)
    assert duplicate_rate(vectors[:1], 0.5) == Rate(0, 0)
    with pytest.raises(EvalError, match="2-D"):
        duplicate_rate(np.array([1.0, 0.0]), 0.5)


def test_duplicate_rate_by_a_similarity_function_calls_it_once_per_pair():
    calls = []

    def similarity(a: str, b: str) -> float:
        calls.append((a, b))
        return fuzz.token_sort_ratio(a, b)

    claims = ["rates rose in may", "in may rates rose", "the levee held"]
    assert duplicate_rate_by(claims, similarity, 100) == Rate(1, 3)
    assert len(calls) == 3


RECALL_TABLE = {
    "ref one": [1.0, 0.0, 0.0, 0.0],
    "ref two": [0.0, 1.0, 0.0, 0.0],
    "ref three": [0.0, 0.0, 1.0, 0.0],
    "claim one": [0.9, 0.0, 0.0, math.sqrt(0.19)],  # cosine 0.9 with ref one
    "claim two": [0.0, 0.6, 0.5, math.sqrt(0.39)],  # 0.6 with ref two, 0.5 with ref three
}


def test_reference_recall_counts_references_some_claim_reaches():
    embed = TableEmbed(RECALL_TABLE)
    refs, claims = ["ref one", "ref two", "ref three"], ["claim one", "claim two"]
    assert matched_references(claims, refs, embed, 0.6) == [0, 1, None]
    assert reference_recall(claims, refs, embed, 0.6) == Rate(2, 3)  # 0.6 itself counts
    assert reference_recall(claims, refs, embed, 0.61) == Rate(1, 3)
    assert reference_recall(claims, refs, embed, 0.5) == Rate(3, 3)  # one claim may cover two references
    assert embed.calls[0] == refs + claims  # one call per scoring


def test_reference_recall_edge_cases_do_not_call_the_embedder():
    embed = TableEmbed(RECALL_TABLE)
    assert reference_recall([], ["ref one"], embed) == Rate(0, 1)
    assert reference_recall(["claim one"], [], embed) == Rate(0, 0)
    assert embed.calls == []
    with pytest.raises(EvalError, match="one row per text"):
        reference_recall(["claim one"], ["ref one"], lambda texts: np.zeros((1, 4)))


def test_precision_recall_at_a_threshold():
    choice = precision_recall_at([0.9, 0.8, 0.7, 0.6, 0.4], [True, True, False, True, False], 0.7)
    assert (choice.true_positives, choice.false_positives, choice.false_negatives) == (2, 1, 1)
    assert choice.precision == pytest.approx(2 / 3) and choice.recall == pytest.approx(2 / 3)
    nothing = precision_recall_at([0.2], [False], 0.5)
    assert (nothing.precision, nothing.recall) == (1.0, 1.0)
    with pytest.raises(EvalError, match="pair up"):
        precision_recall_at([0.2], [], 0.5)


def test_best_threshold_maximises_f1():
    choice = best_threshold([0.9, 0.8, 0.7, 0.6, 0.4], [True, True, False, True, False])
    assert choice.threshold == 0.6
    assert (choice.precision, choice.recall) == (0.75, 1.0)
    assert choice.f1 == pytest.approx(6 / 7)


def test_best_threshold_breaks_ties_towards_not_merging():
    # F1 is 2/3 both at 0.9 (P=1, R=1/2) and at 0.6 (P=1/2, R=1): the higher threshold wins.
    assert best_threshold([0.9, 0.8, 0.7, 0.6], [True, False, False, True]).threshold == 0.9


def test_best_threshold_needs_pairs_and_a_positive():
    with pytest.raises(EvalError, match="without labelled pairs"):
        best_threshold([], [])
    with pytest.raises(EvalError, match="none of the labelled pairs"):
        best_threshold([0.5], [False])


def test_tune_duplicate_threshold_on_a_tiny_labelled_set():
    labelled = [
        ("rates rose in may", "in may rates rose", True),
        ("the levee held twice", "twice the levee held", True),
        ("the levee held twice", "the levee failed twice", False),
        ("rates rose in may", "rates fell in june", False),
    ]
    by_text = tune_duplicate_threshold(labelled, similarity=fuzz.token_sort_ratio)
    assert (by_text.threshold, by_text.f1) == (100.0, 1.0)

    table = {text: vector for text, vector in zip(
        ["rates rose in may", "in may rates rose", "the levee held twice", "twice the levee held",
         "the levee failed twice", "rates fell in june"],
        [[1, 0], [0.96, 0.28], [0, 1], [0.28, 0.96], [0.6, 0.8], [0.8, 0.6]])}
    embed = TableEmbed(table)
    assert pair_similarities([(a, b) for a, b, _ in labelled], embed) == pytest.approx([0.96, 0.96, 0.8, 0.8])
    assert len(embed.calls) == 1 and len(embed.calls[0]) == 6  # each distinct text embedded once
    by_vector = tune_duplicate_threshold(labelled, embed=embed)
    assert by_vector.threshold == pytest.approx(0.96) and by_vector.f1 == 1.0
    with pytest.raises(EvalError, match="exactly one"):
        tune_duplicate_threshold(labelled)
