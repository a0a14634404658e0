"""The insightfulness judge through the real OpenAI-compatible client, against FakeLLMServer (a scripted
fake: exact, deterministic judge answers, including broken ones)."""

from __future__ import annotations

import json
import math
import re

import pytest
from fake_llm_server import COMPLETION_TOKENS, PROMPT_TOKENS, FakeLLMServer

from podsight.errors import LLMError
from podsight.eval.judge import RUBRIC, Judgement, excerpt_for, judge
from podsight.llm.openai_compat import OpenAICompatible, RetryPolicy
from podsight.records import Insight, Segment

EXCERPT = "Ana: Um, the river flooded twice this spring, and the town's new levee held both times."


def make_insight(n: int) -> Insight:
    return Insight(claim=f"Claim number {n} about the levee.", why="", speaker="Ana", quote=f"quote {n}",
                   kind="claim", importance=0.5, start_s=float(n), end_s=n + 1.0, model="m", prompt_version="p")


def answer(*items: dict) -> str:
    return json.dumps({"scores": list(items)})


def run_judge(script: list, insights: list[Insight], **kwargs) -> tuple[Judgement, FakeLLMServer]:
    with FakeLLMServer(script) as fake:
        llm = OpenAICompatible(fake.base_url, "judge-model", retry=RetryPolicy(attempts=1))
        try:
            return judge(llm, EXCERPT, insights, **kwargs), fake
        finally:
            llm.close()


def test_scores_reasons_and_tokens_from_a_good_answer():
    script = [answer({"reason": "specific, with a mechanism", "score": 5},
                     {"reason": "ordinary", "score": 3.5},
                     {"reason": "small talk", "score": 1})]
    result, fake = run_judge(script, [make_insight(n) for n in (1, 2, 3)])
    assert result.scores == (5.0, 3.5, 1.0)
    assert result.reasons == ("specific, with a mechanism", "ordinary", "small talk")
    assert result.failures == 0 and result.problems == ()
    assert result.mean == pytest.approx(9.5 / 3)
    assert (result.tokens_in, result.tokens_out, result.model) == (PROMPT_TOKENS, COMPLETION_TOKENS, "judge-model")
    request = fake.requests[0]["json"]
    assert request["response_format"]["json_schema"]["name"].startswith("JudgeAnswer")
    system, user = request["messages"][0]["content"], request["messages"][1]["content"]
    assert "## 5: changes what a listener believes or does" in system and RUBRIC.strip() in system
    assert "the town's new levee held" in user and "1. Claim: Claim number 1" in user and '"quote 3"' in user


def test_a_malformed_answer_leaves_the_batch_unscored_and_counted():
    # Not JSON twice: the client shows the model its mistake once, then gives up on this batch.
    result, fake = run_judge(["They are all great insights!", "Still great, honestly."],
                             [make_insight(n) for n in (1, 2)])
    assert result.scores == (None, None)
    assert result.failures == 2 and math.isnan(result.mean)
    assert len(result.problems) == 1 and "insights 1-2 unscored" in result.problems[0]
    assert len(fake.requests) == 2


def test_items_score_insights_in_order_and_bad_scores_are_clamped_or_skipped():
    script = [answer({"reason": "too keen", "score": 7},
                     {"reason": "too harsh", "score": -1},
                     {"reason": None, "score": "four"},
                     {"reason": "numeric strings are fine", "score": "4"})]
    result, fake = run_judge(script, [make_insight(n) for n in range(1, 6)])
    assert result.scores == (5.0, 1.0, None, 4.0, None)
    assert result.failures == 2
    problems = "\n".join(result.problems)
    assert "insight 1: score 7 is outside 1-5; clamped to 5" in problems
    assert "insight 2: score -1 is outside 1-5; clamped to 1" in problems
    assert "insight 3: the score nan is not a number" in problems
    assert "insight 5: the judge gave no score" in problems
    items = fake.requests[0]["json"]["response_format"]["json_schema"]["schema"]["properties"]["scores"]
    assert (items["minItems"], items["maxItems"]) == (5, 5), "the schema asks for one item per insight"


def test_extra_items_are_ignored_and_said():
    script = [answer(*({"reason": "fine", "score": 3} for _ in range(4)))]
    result, _ = run_judge(script, [make_insight(n) for n in (1, 2)])
    assert result.scores == (3.0, 3.0)
    assert result.problems == ("the judge gave 4 items for 2 insights; the extra are ignored",)


def test_insights_are_judged_in_batches_numbered_from_one():
    def score_all(request: dict) -> str:
        count = len(re.findall(r"^\d+\. Claim:", request["messages"][1]["content"], re.M))
        return answer(*({"reason": "ok", "score": 1 + n} for n in range(1, count + 1)))

    result, fake = run_judge([score_all] * 3, [make_insight(n) for n in range(1, 8)], batch=3)
    assert len(fake.requests) == 3
    assert result.scores == (2.0, 3.0, 4.0, 2.0, 3.0, 4.0, 2.0)
    assert result.tokens_in == 3 * PROMPT_TOKENS


def test_an_unreachable_judge_is_an_error_not_a_score():
    with pytest.raises(LLMError, match="404"):
        run_judge([(404, {"error": {"message": "model not found"}})], [make_insight(1)])


def test_excerpt_for_keeps_the_segments_around_the_spans():
    segments = [Segment(60.0 * i, 60.0 * i + 10, f"line {i}", "Ana" if i % 2 else None) for i in range(6)]
    text = excerpt_for(segments, [(0.0, 5.0), (240.0, 245.0)], margin_s=30.0)
    assert text.splitlines() == ["[0:00] line 0", "[...]", "[4:00] line 4"]
    assert excerpt_for(segments, [(120.0, 125.0)], margin_s=60.0).splitlines() == [
        "[1:00] Ana: line 1", "[2:00] line 2", "[3:00] Ana: line 3"]
