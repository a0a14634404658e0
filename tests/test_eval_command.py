"""`podsight eval` end to end, with a scripted endpoint (tests/fake_llm_server.py, a named fake: it checks the
command's plumbing and arithmetic, not a model's quality).

- On a tiny devset-format folder the fake answers with five chosen quotes, so precision@5, recall@10 and the
  negatives hit are known in advance.
- On the shipped set it restates each prompt's longest numbered line and grades every insight 4, and a second
  run is answered from the cache.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from fake_llm_server import PROMPT_TOKENS, FakeLLMServer
from typer.testing import CliRunner

from podsight.cli import app

LINE = re.compile(r"^\[(\d+)\] (.+)$", re.MULTILINE)

# The tiny episode: one line per cue, 10 s apart with a 2 s gap, so no quote's time touches another cue.
LINES = [
    ("Lena Park", "So today we are digging into how small bakeries actually make their money."),
    ("Omar Said", "Most of the profit in a small bakery comes from coffee, not from the bread on the shelves."),
    ("Lena Park", "That surprised me when I first heard it from the owners we interviewed."),
    ("Omar Said", "The weather in the valley has been absolutely lovely all week, sunny every single day."),  # negative
    ("Lena Park", "Bread is mostly the reason people walk in the door in the first place."),
    ("Omar Said", "A sourdough loaf takes about thirty hours from mixing to the shelf, so waste is expensive."),
    ("Lena Park", "And the owners plan the morning bake from the last three weeks of sales."),
    ("Omar Said", "Bakeries that sell yesterday's bread at half price lose less money than those that bin it."),
    ("Lena Park", "Every owner we spoke to had a different opinion on the opening hours though."),
    ("Omar Said", "The queue at eight in the morning is mostly office workers buying a pastry and a coffee."),
]
# Lines 1, 5 and 7 are the references, line 3 the negative.
REFERENCES = {1: ("data_point", "Coffee, not bread, earns most of a small bakery's profit."),
              5: ("data_point", "Sourdough takes about thirty hours to make, which makes unsold loaves costly."),
              7: ("advice", "Selling day-old bread at half price loses less than throwing it away.")}

# The fake extractor's five drafts (line, importance 1-5, claim): two on references, one on the negative, two
# on neither. precision@5 = 2/5, recall@10 = 2/3, negatives hit in the top 5 = 1.
DRAFTS = [
    (1, 5, "Small bakeries earn most of their profit on coffee sales rather than loaves."),
    (3, 4, "Sunny weather in the valley lasted through the whole week of recording."),
    (5, 3, "Thirty hours of work go into a single sourdough loaf, so unsold loaves waste money."),
    (6, 2, "Bakery owners schedule the early bake using three weeks of past sales figures."),
    (9, 1, "Office workers make up the early queue, mostly buying pastries alongside hot drinks."),
]


def clock(seconds: float) -> str:
    return f"00:{int(seconds) // 60:02d}:{seconds % 60:06.3f}"


def write_tiny_set(folder: Path) -> Path:
    folder.mkdir()
    cues = [f"{n + 1}\n{clock(n * 10)} --> {clock(n * 10 + 8)}\n<v {who}>{text}\n"
            for n, (who, text) in enumerate(LINES)]
    (folder / "bakery.vtt").write_text("WEBVTT\n\n" + "\n".join(cues), encoding="utf-8")
    insights = [{"claim": claim, "speaker": LINES[n][0], "quote": LINES[n][1], "start": n * 10, "importance": 4,
                 "kind": kind} for n, (kind, claim) in REFERENCES.items()]
    negatives = [{"quote": LINES[3][1], "speaker": "Omar Said", "start": 30, "category": "off-topic",
                  "reason": "small talk about the weather"}]
    episode = {"show": "Crumb", "title": "Crumb #1", "speakers": ["Lena Park", "Omar Said"], "duration_s": 120.0,
               "insights": insights, "negatives": negatives}
    (folder / "bakery.json").write_text(json.dumps(episode), encoding="utf-8")
    (folder / "index.json").write_text(json.dumps([{"slug": "bakery"}]), encoding="utf-8")
    return folder


def scripted_drafts(request: dict) -> str:
    drafts = [{"line": 1, "quote": LINES[n][1], "speaker": LINES[n][0], "kind": "claim", "importance": importance,
               "claim": claim, "why": "It is scripted."} for n, importance, claim in DRAFTS]
    return json.dumps({"insights": drafts})


def test_eval_on_a_tiny_devset_folder_scores_the_scripted_answers(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    dataset = write_tiny_set(tmp_path / "tiny")
    (tmp_path / "five.toml").write_text('extraction = "chunks"\ninsights_per_chunk = 5\nchunk_words = 450\n',
                                        encoding="utf-8")
    with FakeLLMServer([scripted_drafts] * 10) as fake:
        monkeypatch.setenv("PODSIGHT_LLM_BASE_URL", fake.base_url)
        result = CliRunner().invoke(app, [
            "--home", str(tmp_path / "home"), "eval", "--dataset", str(dataset), "--a", "five.toml", "--b", "five.toml",
            "--no-judge", "--episodes", "bakery", "--limit", "1", "--json", str(tmp_path / "eval.json")])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "eval.json").read_text())
    a = report["configs"][0]
    assert a["insights"] == 5
    assert a["precision_at_5"] == {"hits": 2, "total": 5, "value": 0.4}
    assert a["reference_recall_at_10"]["hits"] == 2 and a["reference_recall_at_10"]["total"] == 3
    assert a["negatives_hit_in_top_5"] == 1
    assert a["faithfulness"] is None or a["faithfulness"]["total"] == 5  # n/a until the check exists
    (episode, overall) = a["per_episode"]
    assert episode["episode"] == "bakery" and overall["episode"] == "overall"
    assert episode["insights_per_audio_hour"] == 150.0  # 5 insights in 2 minutes
    assert episode["tokens_in"] == PROMPT_TOKENS and episode["minutes_per_audio_hour"] >= 0
    assert overall["precision_at_5"] == episode["precision_at_5"]
    assert report["novelty_threshold"] is None  # no labelled pairs in this set
    assert "P@5" in result.output and "2/5 (40%)" in result.output and "overall" in result.output


def test_eval_check_loads_the_set_without_a_model(tmp_path):
    dataset = write_tiny_set(tmp_path / "tiny")
    result = CliRunner().invoke(app, ["--home", str(tmp_path / "home"), "eval", "--dataset", str(dataset), "--check"])
    assert result.exit_code == 0, result.output
    assert "1 episodes load and validate" in result.output and "bakery" in result.output
    unknown = CliRunner().invoke(app, ["--home", str(tmp_path / "home"), "eval", "--dataset", str(dataset),
                                       "--episodes", "nope", "--check"])
    assert unknown.exit_code != 0 and "valid: bakery" in str(unknown.exception)


def answer(request: dict) -> str:
    user = request["messages"][-1]["content"]
    if request["messages"][0]["content"].startswith("You check"):  # the judge reads a claim against its transcript
        return json.dumps({"problem": "", "faithful": True})
    if "Insights to grade" in user:
        count = len(re.findall(r"^\d+\. Claim:", user, re.MULTILINE))
        return json.dumps({"scores": [{"insight": n, "reason": "specific", "score": 4} for n in range(1, count + 1)]})
    number, text = max(LINE.findall(user), key=lambda found: len(found[1]))
    draft = {"line": int(number), "quote": text[:200], "speaker": None, "kind": "claim", "importance": 3,
             "claim": f"What follows from {max(re.findall(r'[a-z]{4,}', text.lower()), key=len)} is the point made "
                      "here, as the longest line puts it.",
             "why": "It is the longest line."}
    return json.dumps({"insights": [draft]})


def test_eval_runs_two_configurations_and_a_second_run_costs_no_tokens(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with FakeLLMServer([answer] * 400) as fake:
        monkeypatch.setenv("PODSIGHT_LLM_BASE_URL", fake.base_url)
        monkeypatch.setenv("PODSIGHT_EXTRACTION", "chunks")  # the scripted answers are chunk answers
        args = ["--home", str(tmp_path / "home"), "eval", "--json", str(tmp_path / "eval.json")]
        first = CliRunner().invoke(app, args)
        calls_first = len(fake.requests)
        checks = [r["json"]["messages"][1]["content"] for r in fake.requests
                  if r["json"]["messages"][0]["content"].startswith("You check")]
        second = CliRunner().invoke(app, args)
        calls_second = len(fake.requests) - calls_first
    assert first.exit_code == 0, first.output
    assert second.exit_code == 0, second.output
    report = json.loads((tmp_path / "eval.json").read_text())
    a, b = report["configs"]
    assert (a["chunk_words"], b["chunk_words"]) == (450, 700)
    assert a["insights"] > 0 and a["grounding_rate"]["hits"] == a["insights"]
    assert a["judge_mean"] == 4.0 and a["judge_failures"] == 0
    # an endpoint judge also reads every claim against the labelled transcript around its quote
    assert a["judge_faithful"] == {"hits": a["insights"], "total": a["insights"], "value": 1.0}
    assert 0 < len(checks) <= a["insights"] + b["insights"]  # a claim both configurations kept is asked once
    passage = checks[0].split("\n\nClaim: ")[0].removeprefix("Passage: ")
    assert all(re.match(r"\[\d+:\d\d\] [A-Z][^:\n]{1,40}: \S", line) for line in passage.splitlines())  # who said what
    assert a["reference_recall_at_10"]["total"] == 56  # 7 transcripts x 8 references
    assert a["claim_recall_cosine"]["total"] == 56 and report["recall_threshold_cosine"] == 0.6
    assert [row["episode"] for row in a["per_episode"]][-1] == "overall" and len(a["per_episode"]) == 8
    tuned = report["novelty_threshold"]["best_f1_without_contradictions"]
    assert 0.3 < tuned["threshold"] < 0.9 and tuned["f1"] > 0.5
    assert calls_first > 0 and calls_second == 0  # everything came from the cache
    assert b["tokens_in"] == 0 and "prompt tokens per transcript token" in first.output


def passage_claim(request: dict) -> str:
    """A passage answer naming the passage's longest word, so the claim passes the checks in code."""
    passage = request["messages"][-1]["content"]
    word = max(re.findall(r"[a-z]{4,}", passage.lower()), key=len)
    return json.dumps({"claim": f"Careful work on {word} is what separates good results from poor ones here.",
                       "kind": "claim"})


def test_eval_takes_the_passage_extractor_by_default(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with FakeLLMServer([passage_claim] * 200) as fake:
        monkeypatch.setenv("PODSIGHT_LLM_BASE_URL", fake.base_url)
        result = CliRunner().invoke(app, ["--home", str(tmp_path / "home"), "eval", "--no-judge", "--limit", "2",
                                          "--json", str(tmp_path / "eval.json")])
    assert result.exit_code == 0, result.output
    a, b = json.loads((tmp_path / "eval.json").read_text())["configs"]
    assert a["extraction"] == "passages" and a["prompt"].startswith("passage-")
    assert b["extraction"] == "chunks"  # B: the other method, side by side
    asked = [r["json"]["messages"] for r in fake.requests]
    passages = [m[-1]["content"] for m in asked if "one insight from a passage" in m[0]["content"]]
    assert passages and all(len(p.split()) <= 160 for p in passages)  # one passage per call, not a chunk
