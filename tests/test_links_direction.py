"""Two close claims moving in opposite directions contradict, whatever a small judge said."""

from __future__ import annotations

import pytest

from podsight.links import Pair, Ref, Verdict, classify
from podsight.links.direction import direction, opposite

MORE_PRS = "Teams using an AI coding assistant merged 26 percent more pull requests per week."
SLOWER = "Experienced developers were 14 percent slower with an AI coding assistant, even though they felt faster."
SAME_17H = "After 17 hours awake, judgment is about as impaired as at a blood alcohol level of 0.05 percent."


@pytest.mark.parametrize("claim, sign", [
    (MORE_PRS, 1),
    (SLOWER, -1),  # "felt faster" sits in the "even though" clause, not the claim's own direction
    (SAME_17H, 0),
    ("Remote work did not increase output in the study.", -1),
    ("A 10-minute walk after a meal lowers the blood sugar peak by a fifth.", -1),
    ("Battery pack prices fell 14 percent in 2023.", -1),
])
def test_direction_is_read_from_the_main_clause(claim, sign):
    assert direction(claim)[0] == sign


def test_opposite_says_which_words_disagree():
    assert opposite(MORE_PRS, SLOWER) == "one says up ('more'), the other down ('slower')"
    assert opposite(MORE_PRS, "Output per team rose 5 percent after the rollout.") is None
    assert opposite(SAME_17H, SLOWER) is None


def ref(n: int, claim: str) -> Ref:
    return Ref(insight_id=n, episode_id=n, claim=claim, quote=claim)


def test_a_corroborating_verdict_on_opposite_claims_becomes_contradicting():
    judge = lambda pair: Verdict("corroborating", "both about AI coding assistants", "tiny-model pair-v1")  # noqa: E731
    [link] = classify([Pair(ref(1, MORE_PRS), ref(2, SLOWER), 0.61)], judge)
    assert link.kind == "contradicting" and "slower" in link.reason
    assert link.judged_by == "tiny-model pair-v1 + direction check"


def test_a_contradicting_verdict_on_opposite_claims_gives_the_words_that_disagree():
    judge = lambda pair: Verdict("contradicting", "Both claims state that developers are slower.", "tiny-model")  # noqa: E731
    [link] = classify([Pair(ref(1, MORE_PRS), ref(2, SLOWER), 0.61)], judge)
    assert link.kind == "contradicting" and link.reason == "one says up ('more'), the other down ('slower')"
    assert link.judged_by == "tiny-model + direction check"
    [kept] = classify([Pair(ref(1, MORE_PRS), ref(2, SAME_17H), 0.61)], judge)  # no direction to compare
    assert kept.reason == "Both claims state that developers are slower."


def test_claims_in_the_same_direction_stay_corroborating_and_related_stays_related():
    agree = Pair(ref(1, MORE_PRS), ref(2, "AI assistants increased merged pull requests by a quarter."), 0.8)
    topic = Pair(ref(3, MORE_PRS), ref(4, SLOWER), 0.46)  # below JUDGE_FROM: similarity alone, "related"
    links = classify([agree, topic], judge=None)
    assert [link.kind for link in links] == ["corroborating", "related"]
