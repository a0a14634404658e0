"""`podsight eval` end to end on the shipped evaluation set, with a scripted endpoint (tests/fake_llm_server.py,
a named fake: it answers each extraction prompt by restating its longest numbered line, and grades every
insight 4) so the test checks the command's plumbing and arithmetic, not a model's quality."""

from __future__ import annotations

import json
import re

from fake_llm_server import FakeLLMServer
from typer.testing import CliRunner

from podsight.cli import app

LINE = re.compile(r"^\[(\d+)\] (.+)$", re.MULTILINE)


def answer(request: dict) -> str:
    user = request["messages"][-1]["content"]
    if "Insights to grade" in user:
        count = len(re.findall(r"^\d+\. Claim:", user, re.MULTILINE))
        return json.dumps({"scores": [{"insight": n, "reason": "specific", "score": 4} for n in range(1, count + 1)]})
    number, text = max(LINE.findall(user), key=lambda found: len(found[1]))
    draft = {"line": int(number), "quote": text[:200], "speaker": None, "kind": "claim", "importance": 3,
             "claim": f"Scripted test claim {number} concerns {max(text.split(), key=len)} and what follows from it.",
             "why": "It is the longest line."}
    return json.dumps({"insights": [draft]})


def test_eval_runs_two_configurations_and_a_second_run_costs_no_tokens(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with FakeLLMServer([answer] * 400) as fake:
        monkeypatch.setenv("PODSIGHT_LLM_BASE_URL", fake.base_url)
        args = ["--home", str(tmp_path / "home"), "eval", "--json", str(tmp_path / "eval.json")]
        first = CliRunner().invoke(app, args)
        calls_first = len(fake.requests)
        second = CliRunner().invoke(app, args)
        calls_second = len(fake.requests) - calls_first
    assert first.exit_code == 0, first.output
    assert second.exit_code == 0, second.output
    report = json.loads((tmp_path / "eval.json").read_text())
    a, b = report["configs"]
    assert (a["chunk_words"], b["chunk_words"]) == (450, 700)
    assert a["insights"] > 0 and a["grounding_rate"].startswith(f"{a['insights']}/")
    assert a["judge_mean"] == 4.0 and a["judge_failures"] == 0
    assert re.match(r"\d+/56 ", a["reference_recall"])  # 7 transcripts x 8 references
    assert report["recall_threshold_cosine"] == 0.6
    tuned = report["novelty_threshold"]["best_f1_without_contradictions"]
    assert 0.3 < tuned["threshold"] < 0.9 and tuned["f1"] > 0.5
    assert calls_first > 0 and calls_second == 0  # everything came from the cache
    assert b["tokens_in"] == 0 and "prompt tokens per transcript token" in first.output
