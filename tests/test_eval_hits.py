"""The hit rule and the ranked metrics built on it, on hand-made insights with known answers."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from podsight.eval.dataset import EvalTranscript, NegativePassage, ReferenceInsight
from podsight.eval.faithfulness import faithfulness_rate, passage_around
from podsight.eval.hits import (Placed, extractor_order, hits, negatives_hit, place, precision_at, quotes_overlap,
                                recall_at, spans_overlap)
from podsight.eval.metrics import Rate
from podsight.eval.run import score_episode
from podsight.records import ExtractionReport, Insight, Segment


@dataclass(frozen=True)
class Passage:
    quote: str
    start_s: float
    end_s: float
    cues: tuple[int, int] | None = None


def insight(quote: str, start_s: float, end_s: float, importance: float = 0.5, claim: str = "A claim.") -> Insight:
    return Insight(claim=claim, why="", speaker="Ana", quote=quote, kind="claim", importance=importance,
                   start_s=start_s, end_s=end_s, model="test", prompt_version="test")


REF_QUOTE = "Over four years the no-dig beds gave us within about three percent of the dug beds, by weight"


def test_quotes_sharing_a_six_word_run_overlap_whatever_their_case_and_punctuation():
    assert quotes_overlap("and so, THE NO-DIG BEDS GAVE US within reach", REF_QUOTE)  # the no dig beds gave us
    assert not quotes_overlap("the no-dig beds gave them nothing", REF_QUOTE)  # only a 4-word run


def test_quotes_aligning_by_partial_ratio_overlap_but_short_quotes_do_not():
    # One word misheard in each 6-word run: no shared run, yet the same passage.
    near_copy = "Over four yeas the no-dig beds gave is within about tree percent of the dag beds by weight"
    assert quotes_overlap(near_copy, REF_QUOTE)
    assert not quotes_overlap("the dug beds", REF_QUOTE)  # 3 words align perfectly, but are too short to count
    assert not quotes_overlap("Coffee grounds are close to neutral, so they will not acidify soil", REF_QUOTE)


def test_time_spans_overlap_unless_they_only_touch():
    assert spans_overlap(10, 20, 15, 30)
    assert spans_overlap(10, 40, 15, 30)  # one holds the other
    assert not spans_overlap(10, 20, 20, 30)  # a cue's end is the next cue's start
    assert not spans_overlap(10, 20, 25, 30)
    assert spans_overlap(12, 12, 10, 20) and spans_overlap(10, 10, 10, 20)  # a point inside, or at the start
    assert not spans_overlap(20, 20, 10, 20)  # a point at the end belongs to the next cue
    assert spans_overlap(10, 20, 15, 15) and spans_overlap(5, 5, 5, 5)


def test_an_insight_hits_by_quote_or_by_time():
    reference = Passage(REF_QUOTE, 50.0, 60.0)
    assert hits(insight("the no-dig beds gave us within about three percent", 200, 210), reference)  # quote only
    assert hits(insight("A proper soak once a week beats a sprinkle every evening", 58, 62), reference)  # time only
    assert not hits(insight("A proper soak once a week beats a sprinkle every evening", 60, 70), reference)


def test_where_both_sides_have_cues_the_cue_decides_not_the_time():
    # Coarse transcripts: many cues share one [start, end], so times would make every pair a hit.
    reference = Passage(REF_QUOTE, 0.0, 239.0, cues=(4, 4))
    other_cue = Placed(insight("A proper soak once a week beats a sprinkle every evening", 0.0, 239.0), (6, 6))
    same_cue = Placed(insight("A proper soak once a week beats a sprinkle every evening", 0.0, 239.0), (3, 4))
    unplaced = Placed(insight("A proper soak once a week beats a sprinkle every evening", 0.0, 239.0), None)
    assert not hits(other_cue, reference)
    assert hits(same_cue, reference)  # a quote running on into the reference's cue
    assert hits(unplaced, reference)  # not found in the cues: the times decide


def test_place_finds_each_quote_in_its_cues_near_its_own_time():
    teaser = "the beds gave us within about three percent of the dug beds"
    talk = [Segment(10.0 + n, 11.0 + n, f"Line number {n} of the talk.", "Ben") for n in range(5)]
    segments = [Segment(0.0, 5.0, f"Coming up: {teaser}.", "Ana"), *talk,
                Segment(60.0, 70.0, f"Over four years {teaser}, by weight.", "Ana")]
    early, late, nowhere = place([insight(teaser, 0.0, 5.0), insight(teaser, 60.0, 70.0),
                                  insight("nothing anybody said on this show at all", 1.0, 2.0)], segments)
    assert (early.cues, late.cues, nowhere.cues) == ((0, 0), (6, 6), None)
    assert late.quote == teaser and late.start_s == 60.0


def test_extractor_order_is_importance_then_time():
    a, b = insight("a", 30, 31, 0.5), insight("b", 10, 11, 0.5)
    c, d = insight("c", 50, 51, 1.0), insight("d", 0, 1, 0.0)
    assert extractor_order([a, b, c, d]) == [c, b, a, d]


# Five references at 100 s, 200 s ... 500 s (10 s cues); produced insights placed by time only.
REFERENCES = [Passage(f"reference passage number {n} about something", n * 100.0, n * 100.0 + 10) for n in range(1, 6)]


def at(second: float, importance: float) -> Insight:
    return insight(f"an unrelated produced quote spoken at second {second}", second, second + 5, importance)


def test_precision_at_5_counts_the_top_five_only_in_the_extractors_order():
    ranked = extractor_order([
        at(101, 0.9), at(205, 0.8), at(150, 0.7), at(250, 0.6), at(302, 0.5),  # top 5: 3 hits
        at(402, 0.4), at(502, 0.3),  # hits, but below the top 5
    ])
    assert precision_at(ranked, REFERENCES) == Rate(3, 5)
    assert precision_at(ranked[:2], REFERENCES) == Rate(2, 2)  # fewer than five produced: out of those
    assert precision_at([], REFERENCES) == Rate(0, 0)


def test_recall_at_10_counts_references_hit_by_the_top_ten():
    hitting_twice = [at(101, 0.9), at(103, 0.8)]  # two insights on one reference count it once
    misses = [at(150 + n, 0.7 - n / 100) for n in range(8)]
    late_hit = [at(502, 0.1)]  # rank 11: not in the top 10
    ranked = extractor_order(hitting_twice + misses + late_hit)
    assert recall_at(ranked, REFERENCES) == Rate(1, 5)
    assert recall_at(ranked, REFERENCES, k=11) == Rate(2, 5)
    assert recall_at(ranked, []) == Rate(0, 0)


def test_negatives_hit_counts_top_five_insights_on_a_negative():
    negatives = [Passage("This episode is brought to you by Marrowbone Knives, sharp since 1921", 600.0, 610.0)]
    ranked = extractor_order([
        at(601, 0.9),  # the ad, by time
        insight("brought to you by Marrowbone Knives, sharp since 1921", 900, 905, 0.8),  # the ad, by quote
        at(101, 0.7), at(150, 0.6), at(160, 0.5),
        at(605, 0.1),  # the ad again, but sixth
    ])
    assert negatives_hit(ranked, negatives) == 2


SEGMENTS = (
    Segment(0.0, 10.0, "Welcome to the show, I'm Ana, and this episode is brought to you by Marrowbone Knives.", "Ana"),
    Segment(10.0, 20.0, "Over four years the no-dig beds gave us within about three percent of the dug beds.", "Ana"),
    Segment(20.0, 30.0, "A proper soak once a week beats a little sprinkle every evening for sure.", "Ana"),
    Segment(200.0, 210.0, "Used coffee grounds are close to neutral, so they will not acidify your soil.", "Ana"),
)


def make_transcript() -> EvalTranscript:
    refs = (
        ReferenceInsight("t/yield", "t", "No-dig yields match digging.", SEGMENTS[1].text, "Ana", "data_point",
                         10.0, 20.0, 5),
        ReferenceInsight("t/coffee", "t", "Coffee grounds do not acidify.", SEGMENTS[3].text, "Ana", "claim",
                         200.0, 210.0),
    )
    negatives = (NegativePassage("t/negative-1", "t", "this episode is brought to you by Marrowbone Knives", "Ana",
                                 "ad", "sponsor", 0.0, 10.0),)
    return EvalTranscript("t", "Show", "Title", "chat", "gardening", ("Ana",), SEGMENTS, refs, negatives,
                          declared_duration_s=1800.0)


def test_score_episode_puts_the_measures_together():
    report = ExtractionReport(insights=(
        insight(SEGMENTS[0].text, 0.0, 10.0, 1.0),  # the ad: first in order, a negative, no reference
        insight(SEGMENTS[1].text, 10.0, 20.0, 0.75),  # hits t/yield
        insight(SEGMENTS[2].text, 20.0, 30.0, 0.5),  # hits nothing
    ), chunks=1, dropped=("quote not found in transcript: 'x'",), tokens_in=30, tokens_out=9)
    episode = score_episode(make_transcript(), report)
    assert episode.precision == Rate(1, 3)
    assert episode.recall == Rate(1, 2)
    assert episode.negatives_hit == 1 and episode.negatives == 1
    assert episode.faithful is None  # no check given: n/a
    assert episode.grounding == Rate(3, 4)
    row = episode.row()
    assert row["insights_per_audio_hour"] == 6.0  # 3 insights in half an hour
    assert row["precision_at_5"] == {"hits": 1, "total": 3, "value": pytest.approx(1 / 3, abs=1e-4)}
    assert (row["tokens_in"], row["tokens_out"]) == (30, 9)
    episode.extract_seconds = 90.0
    assert episode.row()["minutes_per_audio_hour"] == 3.0  # 1.5 minutes for half an hour of audio


def test_faithfulness_rate_uses_the_check_with_the_passage_around_each_quote():
    calls = []

    def check(claim, passage, quote, known_names=()):
        calls.append((claim, passage, quote, known_names))
        return ["adds a number"] if "42" in claim else []

    insights = [insight(SEGMENTS[1].text, 10.0, 20.0, claim="No-dig beds match dug beds."),
                insight(SEGMENTS[3].text, 200.0, 210.0, claim="Coffee grounds are 42% acid.")]
    assert faithfulness_rate(insights, SEGMENTS, ("Ana",), check) == Rate(1, 2)
    assert calls[0][3] == ("Ana",) and SEGMENTS[2].text in calls[0][1]
    assert SEGMENTS[3].text not in passage_around(SEGMENTS, insights[0])  # 180 s away: outside the context
    assert faithfulness_rate(insights, SEGMENTS, ("Ana",), None) is None
