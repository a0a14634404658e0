"""Ranking: novelty against what was sent, de-duplication, diversity, limits, reasons, speed."""

from __future__ import annotations

import random

import pytest

from podsight.rank import Candidate, Ranked, claim_similarity, rank_day

CLAIMS = [
    "Open-source language models now match GPT-4 on most coding benchmarks.",
    "Sleep deprivation cuts memory consolidation by forty percent in adults.",
    "The Federal Reserve will lower interest rates twice before next summer.",
    "Early-stage startups should hire slowly during their first year.",
    "Lithium prices collapsed as Chinese battery factories overproduced.",
    "Remote teams ship features faster when meetings are capped at two a day.",
    "Coral reefs in the Pacific recovered after three cool ocean years.",
    "Vinyl record sales overtook compact discs for the third straight year.",
]


def cand(i: int, claim: str, *, episode: int | None = None, show: int | None = None, importance: float = 0.5,
         kind: str = "claim", ts: float | None = None) -> Candidate:
    return Candidate(i, episode if episode is not None else i, show if show is not None else i, claim, kind,
                     importance, ts)


def ids(ranked: list[Ranked]) -> list[int]:
    return [r.candidate.insight_id for r in ranked]


def test_similarity_ignores_stopwords_and_catches_paraphrase():
    assert claim_similarity("the rise of the machines", "the fall of the empire") < 0.6
    assert claim_similarity("Inflation in the US will fall below 3% by mid-2025.",
                            "US inflation will fall below 3 percent by mid 2025, the guest says.") >= 0.6
    assert claim_similarity(CLAIMS[0], CLAIMS[1]) < 0.3


def test_similarity_short_claim_is_not_a_duplicate_of_long_text_containing_its_words():
    short = "AI regulation matters."
    long = "AI regulation in Europe will slow hospital software adoption, cost startups millions and help incumbents."
    assert claim_similarity(short, long) < 0.6


def test_negation_is_not_a_repeat():
    assert claim_similarity("The Fed will cut rates in March.", "The Fed will not cut rates in March.") < 0.6


def test_near_duplicate_of_sent_text_is_dropped():
    cands = [cand(1, "Open source language models now match GPT-4 on most coding benchmarks, says the host."),
             cand(2, CLAIMS[1])]
    ranked = rank_day(cands, already_sent=[CLAIMS[0]])
    assert ids(ranked) == [2]


def test_near_identical_candidates_keep_the_most_important():
    cands = [cand(1, CLAIMS[0], importance=0.6),
             cand(2, "Open-source language models now match GPT-4 on most coding benchmarks!", importance=0.9),
             cand(3, CLAIMS[1], importance=0.1)]
    assert ids(rank_day(cands, already_sent=[])) == [2, 3]


def test_at_most_max_per_episode():
    cands = [cand(i, c, episode=7, show=7, importance=0.9 - i / 100) for i, c in enumerate(CLAIMS[:4])]
    cands.append(cand(10, CLAIMS[5], episode=8, show=8, importance=0.1))
    ranked = rank_day(cands, already_sent=[], size=5, max_per_episode=2)
    assert ids(ranked) == [0, 1, 10]
    assert len(rank_day(cands, already_sent=[], size=5, max_per_episode=3)) == 4


def test_prefers_another_show_when_importance_is_close():
    cands = [cand(1, CLAIMS[0], episode=1, show=1, importance=0.80),
             cand(2, CLAIMS[1], episode=2, show=1, importance=0.79),
             cand(3, CLAIMS[2], episode=3, show=2, importance=0.76)]
    ranked = rank_day(cands, already_sent=[], size=2)
    assert ids(ranked) == [1, 3]
    assert "from a show not yet in today's digest" in ranked[1].reasons


def test_much_more_important_item_wins_over_diversity():
    cands = [cand(1, CLAIMS[0], episode=1, show=1, importance=0.9),
             cand(2, CLAIMS[1], episode=2, show=1, importance=0.85),
             cand(3, CLAIMS[2], episode=3, show=2, importance=0.2)]
    assert ids(rank_day(cands, already_sent=[], size=2)) == [1, 2]


def test_kind_and_recency_bonuses_break_ties():
    day = 86400.0
    cands = [cand(1, CLAIMS[0], importance=0.5, kind="story", ts=1e9 - 10 * day),
             cand(2, CLAIMS[1], importance=0.5, kind="data_point", ts=1e9 - 10 * day),
             cand(3, CLAIMS[2], importance=0.5, kind="story", ts=1e9)]
    ranked = rank_day(cands, already_sent=[], size=3)
    assert set(ids(ranked[:2])) == {2, 3} and ids(ranked)[2] == 1
    assert any("data point" in r for r in ranked[ids(ranked).index(2)].reasons)
    assert any("recent" in r for r in ranked[ids(ranked).index(3)].reasons)


def test_size_honoured_and_reasons_present():
    cands = [cand(i, c, importance=0.5 + i / 20) for i, c in enumerate(CLAIMS)]
    ranked = rank_day(cands, already_sent=[], size=3)
    assert len(ranked) == 3
    assert ranked[0].candidate.insight_id == 7
    for r in ranked:
        assert r.reasons[0].startswith("importance ")
        assert len(r.reasons) >= 2


def test_messy_input_does_not_crash():
    cands = [cand(1, "", importance=float("nan")), cand(2, "!!! ???", importance=7.0), cand(3, CLAIMS[0])]
    ranked = rank_day(cands, already_sent=["", "the of a"], size=5)
    assert sorted(ids(ranked)) == [1, 2, 3]
    assert ranked[0].reasons[0] == "importance 1.00"


def test_bad_parameters_are_refused():
    with pytest.raises(ValueError, match="size"):
        rank_day([], [], size=0)
    with pytest.raises(ValueError, match="novelty_threshold"):
        rank_day([], [], novelty_threshold=1.5)


def test_two_thousand_candidates_against_ten_thousand_sent_texts():
    rng = random.Random(7)
    vocab = [f"{rng.choice('bdfgklmnprstvz')}{rng.choice('aeiou')}{rng.choice('bdfgklmnprst')}{rng.choice('aeiou')}{n}"
             for n in range(5000)]
    weights = [1 / (r + 10) for r in range(len(vocab))]  # Zipf-like: some words are everywhere

    def sentence() -> str:
        return " the ".join(rng.choices(vocab, weights, k=rng.randint(10, 25)))

    cands = [cand(i, sentence(), episode=i // 4, show=i // 40, importance=rng.random()) for i in range(2000)]
    sent = [sentence() for _ in range(10_000)] + [cands[0].claim]
    ranked = rank_day(cands, sent)
    assert len(ranked) == 5
    assert 0 not in ids(ranked)
