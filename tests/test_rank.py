"""Ranking on real claim embeddings (all-MiniLM-L6-v2): novelty against what was sent, folding of the
same claim, diversity, limits, interests and votes, reasons; and the same rules at scale on random vectors."""

from __future__ import annotations

import numpy as np
import pytest

from podsight.embed import load_embedder
from podsight.rank import Candidate, Preferences, Ranked, rank_day

pytestmark = pytest.mark.both_backends  # SQLite and a real PostgreSQL (tests/conftest.py)

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


@pytest.fixture(scope="module")
def embed():
    embedder = load_embedder()
    return lambda texts: embedder.embed(list(texts))


@pytest.fixture(scope="module")
def cand(embed):
    def make(i: int, claim: str, *, episode: int | None = None, show: int | None = None, importance: float = 0.5,
             kind: str = "claim", ts: float | None = None, same_as: frozenset[int] = frozenset(),
             disputes: frozenset[int] = frozenset()) -> Candidate:
        return Candidate(i, episode if episode is not None else i, show if show is not None else i, claim, kind,
                         importance, ts, vector=embed([claim])[0], same_as=same_as, disputes=disputes)
    return make


def ids(ranked: list[Ranked]) -> list[int]:
    return [r.candidate.insight_id for r in ranked]


def test_a_paraphrase_of_something_sent_is_old_news(cand, embed):
    cands = [cand(1, "Open source LLMs have caught up with GPT-4 on most programming benchmarks."), cand(2, CLAIMS[1])]
    assert ids(rank_day(cands, embed([CLAIMS[0]]), sent_ids=[100])) == [2]
    assert set(ids(rank_day(cands, embed([CLAIMS[4]]), sent_ids=[100]))) == {1, 2}  # something unrelated was sent


def test_a_claim_linked_as_the_same_as_a_sent_one_is_old_news(cand):
    cands = [cand(1, CLAIMS[0], same_as=frozenset({99})), cand(2, CLAIMS[1])]
    assert ids(rank_day(cands, sent_ids=[99])) == [2]


def test_a_dispute_of_something_sent_is_news_and_is_never_folded(cand, embed):
    rose = "The central bank raised interest rates by half a point in March."
    held = "In March the central bank did not raise interest rates at all."
    assert ids(rank_day([cand(1, held)], embed([rose]), sent_ids=[100])) == []  # cosine alone: a repeat
    assert ids(rank_day([cand(1, held, disputes=frozenset({100}))], embed([rose]), sent_ids=[100])) == [1]
    both = [cand(1, rose, importance=0.9, disputes=frozenset({2})), cand(2, held, disputes=frozenset({1}))]
    assert sorted(ids(rank_day(both))) == [1, 2]


def test_the_same_claim_from_three_shows_appears_once_with_the_others_folded_in(cand):
    cands = [cand(1, CLAIMS[0], importance=0.6),
             cand(2, "Open-source language models now equal GPT-4 on most coding benchmarks!", importance=0.9),
             cand(3, "Open models have matched GPT-4 on the majority of coding benchmarks.", importance=0.5),
             cand(4, CLAIMS[1], importance=0.1)]
    ranked = rank_day(cands)
    assert ids(ranked) == [2, 4]
    assert sorted(c.insight_id for c in ranked[0].same_claim) == [1, 3]
    assert ranked[1].same_claim == ()


def test_at_most_max_per_episode(cand):
    cands = [cand(i, c, episode=7, show=7, importance=0.9 - i / 100) for i, c in enumerate(CLAIMS[:4])]
    cands.append(cand(10, CLAIMS[5], episode=8, show=8, importance=0.1))
    ranked = rank_day(cands, size=5, max_per_episode=2)
    assert ids(ranked) == [0, 1, 10]
    assert len(rank_day(cands, size=5, max_per_episode=3)) == 4


def test_prefers_another_show_when_importance_is_close(cand):
    cands = [cand(1, CLAIMS[0], episode=1, show=1, importance=0.80),
             cand(2, CLAIMS[1], episode=2, show=1, importance=0.79),
             cand(3, CLAIMS[2], episode=3, show=2, importance=0.76)]
    ranked = rank_day(cands, size=2)
    assert ids(ranked) == [1, 3]
    assert "from a show not yet in today's digest" in ranked[1].reasons


def test_much_more_important_item_wins_over_diversity(cand):
    cands = [cand(1, CLAIMS[0], episode=1, show=1, importance=0.9),
             cand(2, CLAIMS[1], episode=2, show=1, importance=0.85),
             cand(3, CLAIMS[2], episode=3, show=2, importance=0.2)]
    assert ids(rank_day(cands, size=2)) == [1, 2]


def test_kind_and_recency_bonuses_break_ties(cand):
    day = 86400.0
    cands = [cand(1, CLAIMS[0], importance=0.5, kind="story", ts=1e9 - 10 * day),
             cand(2, CLAIMS[1], importance=0.5, kind="data_point", ts=1e9 - 10 * day),
             cand(3, CLAIMS[2], importance=0.5, kind="story", ts=1e9)]
    ranked = rank_day(cands, size=3)
    assert set(ids(ranked[:2])) == {2, 3} and ids(ranked)[2] == 1
    assert any("data point" in r for r in ranked[ids(ranked).index(2)].reasons)
    assert any("recent" in r for r in ranked[ids(ranked).index(3)].reasons)


def test_a_claim_another_episode_repeats_or_disputes_moves_up_and_says_so(cand):
    alone = cand(1, CLAIMS[0], importance=0.55)
    repeated = cand(2, CLAIMS[1], importance=0.5, same_as=frozenset({90}))
    disputed = cand(3, CLAIMS[2], importance=0.5, disputes=frozenset({91}))
    ranked = rank_day([alone, repeated, disputed], size=3)
    assert ids(ranked)[2] == 1
    reasons = {r.candidate.insight_id: r.reasons for r in ranked}
    assert any("also said on another episode" in r for r in reasons[2])
    assert any("disputed on another episode" in r for r in reasons[3])
    assert not any("another episode" in r for r in reasons[1])


def test_interests_move_a_matching_claim_up_and_say_so(cand, embed):
    cands = [cand(i, c, importance=0.6) for i, c in enumerate(CLAIMS)]
    plain = ids(rank_day(cands, size=3))
    prefs = Preferences(interests=(("sleep and memory", embed(["sleep and memory"])[0]),))
    ranked = rank_day(cands, size=3, preferences=prefs)
    assert 1 not in plain[:1] and ids(ranked)[0] == 1
    assert any("sleep and memory" in r for r in ranked[0].reasons)


def test_votes_move_similar_claims_up_or_down(cand, embed):
    cands = [cand(1, "Batteries got cheaper as lithium prices fell by half.", importance=0.5),
             cand(2, "Central banks are expected to cut interest rates next year.", importance=0.55)]
    liked = embed([CLAIMS[4]])  # lithium
    disliked = embed([CLAIMS[2]])  # interest rates
    ranked = rank_day(cands, size=2, preferences=Preferences(liked=liked, disliked=disliked))
    assert ids(ranked) == [1, 2]
    assert any("voted up" in r for r in ranked[0].reasons)
    assert any("voted down" in r for r in ranked[1].reasons)


def test_size_honoured_and_reasons_present(cand):
    cands = [cand(i, c, importance=0.5 + i / 20) for i, c in enumerate(CLAIMS)]
    ranked = rank_day(cands, size=3)
    assert len(ranked) == 3 and ranked[0].candidate.insight_id == 7
    for r in ranked:
        assert r.reasons[0].startswith("importance ") and len(r.reasons) >= 2


def test_messy_input_does_not_crash(cand):
    cands = [cand(1, "", importance=float("nan")), cand(2, "!!! ???", importance=7.0), cand(3, CLAIMS[0]),
             Candidate(4, 4, 4, "no vector yet", "claim", 0.9)]
    ranked = rank_day(cands, size=5)
    assert sorted(ids(ranked)) == [1, 2, 3]  # the one without an embedding waits for the links stage
    assert ranked[0].reasons[0] == "importance 1.00"


def test_bad_parameters_are_refused():
    with pytest.raises(ValueError, match="size"):
        rank_day([], size=0)
    with pytest.raises(ValueError, match="novelty_threshold"):
        rank_day([], novelty_threshold=1.5)


def test_two_thousand_candidates_against_ten_thousand_sent_vectors():
    rng = np.random.default_rng(7)
    vectors = rng.normal(size=(2000, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    cands = [Candidate(i, i // 4, i // 40, f"claim {i}", "claim", float(rng.random()), vector=vectors[i])
             for i in range(2000)]
    sent = rng.normal(size=(10_000, 384)).astype(np.float32)
    sent /= np.linalg.norm(sent, axis=1, keepdims=True)
    best = max(cands, key=lambda c: c.importance)
    sent[0] = best.vector  # the most important candidate was already sent
    ranked = rank_day(cands, sent, sent_ids=list(range(10_000, 20_000)))
    assert len(ranked) == 5 and best.insight_id not in ids(ranked)
    assert len({r.candidate.show_id for r in ranked}) == 5
