"""`podsight eval`: two extraction configurations on an evaluation set, side by side."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich import box
from rich.table import Table

from podsight.config import Settings, read_toml
from podsight.embed import load_embedder
from podsight.errors import ConfigError
from podsight.eval.dataset import DATA_DIR, EvalSet, load_eval_set
from podsight.eval.run import evaluate, report_json, tuned_novelty

from .common import console, state

# B by default: the other extraction method beside passages; beside chunks, bigger chunks (fewer prompts).
DEFAULT_B = {"passages": {"extraction": "chunks"}, "chunks": {"chunk_words": 700}}

# Per-episode table: (JSON key, column heading). It must fit an 80-column terminal, so grounding, audio
# minutes and tokens out are left to the JSON and the side-by-side table.
EPISODE_COLUMNS = (
    ("episode", "episode"), ("references", "refs"), ("insights", "ins"), ("precision_at_5", "P@5"),
    ("reference_recall_at_10", "R@10"), ("negatives_hit_in_top_5", "neg@5"), ("faithfulness", "faithf."),
    ("insights_per_audio_hour", "ins/h"), ("minutes_per_audio_hour", "min/h"), ("tokens_in", "tok in"),
)


def eval_command(
    ctx: typer.Context,
    config_a: Path = typer.Option(None, "--a", help="TOML of settings for configuration A (default: current settings)."),
    config_b: Path = typer.Option(None, "--b", help="TOML of settings for B (default: the other extraction method; beside chunks, 700-word chunks)."),
    eval_dir: Path = typer.Option(DATA_DIR, "--dataset", "--set",
                                  help="Evaluation set folder in the devset format (default: the one shipped)."),
    episodes: str = typer.Option("", "--episodes", help="Only these episodes: comma-separated slugs."),
    limit: int = typer.Option(0, "--limit", "--transcripts",
                              help="Only the first N episodes (after --episodes; 0: all)."),
    without_speakers: bool = typer.Option(False, "--without-speakers",
                                          help="Remove every speaker label first, as speech-to-text that cannot "
                                               "tell the voices apart gives a transcript."),
    check_only: bool = typer.Option(False, "--check",
                                    help="Only load and validate the set and list its episodes; runs no model."),
    judge_flag: bool = typer.Option(True, "--judge/--no-judge", help="Score insightfulness with the judge model."),
    judge_url: str = typer.Option(None, "--judge-url", help="OpenAI-compatible endpoint of the judge (default: llm settings)."),
    judge_model: str = typer.Option(None, "--judge-model", help="The judge endpoint's model id."),
    json_out: Path = typer.Option(None, "--json", help="Also write the results as JSON here."),
) -> None:
    """Measure extraction per episode and overall: precision@5 and recall@10 against the references,
    negatives picked, faithfulness, grounding, insights and minutes per audio hour, tokens; plus digest
    duplicates, the judge's score and the tuned near-duplicate threshold."""
    base = state(ctx).settings
    slugs = [slug.strip() for slug in episodes.split(",") if slug.strip()]
    eval_set = load_eval_set(eval_dir)  # validates every episode, even those not selected
    selected = eval_set.subset(slugs, limit)
    selected = selected.without_speakers() if without_speakers else selected
    if check_only:
        return _print_episodes(eval_set, selected, eval_dir)
    embedder = load_embedder(base.embed_model)
    configs = {"A": _variant(base, config_a, {}), "B": _variant(base, config_b, DEFAULT_B[base.extraction])}
    judge_settings = _judge_settings(base, judge_url, judge_model) if judge_flag else None
    results = []
    with console.status("evaluating") as status:
        for name, settings in configs.items():
            results.append(evaluate(name, settings, selected, embedder, judge_settings=judge_settings,
                                    progress=lambda text: status.update(text)))
    report = report_json(results, tuned_novelty(selected, embedder), eval_dir)
    _print_report(report, len(selected.transcripts))
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


def _print_episodes(eval_set: EvalSet, selected: EvalSet, eval_dir: Path) -> None:
    """`--check`: what loaded, and what an eval with these options would run."""
    chosen = {t.slug for t in selected.transcripts}
    table = Table(title=f"{eval_dir}: {len(eval_set.transcripts)} episodes load and validate")
    for heading in ("episode", "min", "segments", "references", "negatives", "selected"):
        table.add_column(heading, justify="left" if heading == "episode" else "right",
                         overflow="fold" if heading == "episode" else "ellipsis")
    for t in eval_set.transcripts:
        table.add_row(t.slug, f"{t.duration_s / 60:.1f}", str(len(t.segments)), str(len(t.references)),
                      str(len(t.negatives)), "yes" if t.slug in chosen else "")
    console.print(table)
    console.print(f"{len(eval_set.pairs)} labelled pairs; {len(chosen)} episode(s) selected")


def _cell(value, percent: bool = True) -> str:
    """A table cell: rates as "3/5 (60%)" (or "3/5" where columns are many), missing measures as n/a."""
    if value is None:
        return "n/a"
    if isinstance(value, dict):
        if not value["total"]:
            return "n/a"
        counts = f"{value['hits']}/{value['total']}"
        return f"{counts} ({value['value']:.0%})" if percent else counts
    return str(value)


def _print_report(report: dict, episodes: int) -> None:
    for config in report["configs"]:
        _print_episode_table(config)
    _print_side_by_side(report["configs"], episodes)
    console.print(f"hit rule: {report['hit_rule']}. Faithfulness check: {report['faithfulness_check']}.")
    console.print(f"claim recall counts a reference restated at cosine >= {report['recall_threshold_cosine']}; "
                  f"transcript tokens (spoken words only) from {report['transcript_tokens']}; computed prompt tokens "
                  "leave out what the server reused from its prompt cache; tokens in/out are what this run spent "
                  "(a rerun answered from the cache spends none, and its minutes per audio hour are near 0).")
    _print_threshold(report["novelty_threshold"])


def _print_episode_table(config: dict) -> None:
    # Thirteen columns must fit a terminal: rates as counts only, light borders.
    table = Table(title=f"configuration {config['config']} ({config['model']}), per episode", box=box.SIMPLE_HEAD,
                  pad_edge=False)
    for key, heading in EPISODE_COLUMNS:
        table.add_column(heading, justify="left" if key == "episode" else "right",
                         overflow="fold" if key == "episode" else "ellipsis")  # slugs stay readable
    rows = config["per_episode"]
    for number, row in enumerate(rows):
        table.add_row(*(_cell(row[key], percent=False) for key, _ in EPISODE_COLUMNS),
                      end_section=number == len(rows) - 2)  # a rule above the overall row
    console.print(table)


def _print_side_by_side(configs: list[dict], episodes: int) -> None:
    table = Table(title=f"podsight eval: {episodes} episodes")
    table.add_column("measure")
    for config in configs:
        table.add_column(config["config"], justify="right")
    for key in configs[0]:
        if key not in ("config", "per_episode"):
            table.add_row(key.replace("_", " "), *(_cell(config[key]) for config in configs))
    console.print(table)


def _print_threshold(tuned: dict | None) -> None:
    if tuned is None:
        console.print("near-duplicate threshold: not tuned (this set has no labelled near-duplicate pairs)")
        return
    plain = tuned["best_f1_without_contradictions"]
    strict = tuned["best_f1_with_contradictions_as_negatives"]
    console.print(f"near-duplicate threshold, best F1 on the labelled pairs: {plain['threshold']:.2f} "
                  f"(P {plain['precision']:.2f} R {plain['recall']:.2f} F1 {plain['f1']:.2f}); with contradictions "
                  f"as must-not-merge: {strict['threshold']:.2f} (F1 {strict['f1']:.2f})")
