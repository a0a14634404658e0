"""`podsight eval`: two extraction configurations on the evaluation set, side by side."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import typer
from rich.table import Table

from podsight.config import Settings, read_toml
from podsight.embed import load_embedder
from podsight.errors import ConfigError
from podsight.eval.dataset import DATA_DIR, load_eval_set
from podsight.eval.run import evaluate, report_json, tuned_novelty

from .common import console, state

DEFAULT_B = {"chunk_words": 700}  # bigger chunks: fewer prompts, the system prompt paid less often


def eval_command(
    ctx: typer.Context,
    config_a: Path = typer.Option(None, "--a", help="TOML of settings for configuration A (default: current settings)."),
    config_b: Path = typer.Option(None, "--b", help=f"TOML of settings for B (default: current settings with {DEFAULT_B})."),
    eval_dir: Path = typer.Option(DATA_DIR, "--set", help="Evaluation set folder (default: the one shipped)."),
    judge_flag: bool = typer.Option(True, "--judge/--no-judge", help="Score insightfulness with the judge model."),
    judge_url: str = typer.Option(None, "--judge-url", help="OpenAI-compatible endpoint of the judge (default: llm settings)."),
    judge_model: str = typer.Option(None, "--judge-model", help="The judge endpoint's model id."),
    json_out: Path = typer.Option(None, "--json", help="Also write the results as JSON here."),
    limit: int = typer.Option(0, "--transcripts", help="Use only the first N transcripts (a quick look; 0: all)."),
) -> None:
    """Measure extraction: grounding, insights per hour, digest duplicates, recall, judge score, tokens, time."""
    base = state(ctx).settings
    eval_set = load_eval_set(eval_dir)
    if limit:
        kept = eval_set.transcripts[:limit]
        slugs = {t.slug for t in kept}
        pairs = tuple(p for p in eval_set.pairs if {p.a.split("/")[0], p.b.split("/")[0]} <= slugs)
        eval_set = replace(eval_set, transcripts=kept, pairs=pairs)
    embedder = load_embedder(base.embed_model)
    configs = {"A": _variant(base, config_a, {}), "B": _variant(base, config_b, DEFAULT_B)}
    judge_settings = _judge_settings(base, judge_url, judge_model) if judge_flag else None
    results = []
    with console.status("evaluating") as status:
        for name, settings in configs.items():
            results.append(evaluate(name, settings, eval_set, embedder, judge_settings=judge_settings,
                                    progress=lambda text: status.update(text)))
    report = report_json(results, tuned_novelty(eval_set, embedder), eval_dir)
    _print_table(report, len(eval_set.transcripts))
    if json_out:
        json_out.write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")
        console.print(f"JSON: {json_out}")


def _variant(base: Settings, path: Path | None, default: dict) -> Settings:
    changes = read_toml(path) if path else default
    try:
        return Settings(**{**base.model_dump(), **changes})
    except ValueError as exc:  # pydantic's ValidationError: a misspelt or out-of-range setting
        raise ConfigError(f"configuration {path or default}: {exc}") from None


def _judge_settings(base: Settings, url: str | None, model: str | None) -> Settings:
    changes = {k: v for k, v in {"llm_base_url": url, "llm_model": model}.items() if v}
    return base.model_copy(update=changes) if changes else base


def _print_table(report: dict, transcripts: int) -> None:
    rows = report["configs"]
    table = Table(title=f"podsight eval: {transcripts} transcripts")
    table.add_column("measure")
    for row in rows:
        table.add_column(row["config"], justify="right")
    for key in rows[0]:
        if key != "config":
            table.add_row(key.replace("_", " "), *(str(row[key]) for row in rows))
    console.print(table)
    plain = report["novelty_threshold"]["best_f1_without_contradictions"]
    strict = report["novelty_threshold"]["best_f1_with_contradictions_as_negatives"]
    console.print(f"recall counts a reference found at cosine >= {report['recall_threshold_cosine']}; transcript "
                  f"tokens (spoken words only) from {report['transcript_tokens']}; computed prompt tokens leave out "
                  "what the server reused from its prompt cache; tokens in/out are what this run spent.")
    console.print(f"near-duplicate threshold, best F1 on the labelled pairs: {plain['threshold']:.2f} "
                  f"(P {plain['precision']:.2f} R {plain['recall']:.2f} F1 {plain['f1']:.2f}); with contradictions "
                  f"as must-not-merge: {strict['threshold']:.2f} (F1 {strict['f1']:.2f})")
