"""Which selection signals tell passages that hold a reference from the rest: `python bench/signal_auc.py [DATASET]`.

For each episode of a dev-set-format folder (default: the set shipped in podsight/eval/data; the real dev set is
`../shared/devset`), every candidate passage `podsight.insights.select` scores, labelled by whether it holds a
reference (the hit rule of `bench/choose_passages.py`: the passage as an insight quoting all of it, placed in the
cues as `podsight eval` places a quote). Printed: each signal's AUC per episode (centrality and insight-like from
MiniLM embeddings), turned by the sign of its weight in `select.WEIGHTS` (above 0.5: the signal pushes the right
passages up), and the mean. ALTERNATIVES are ways of measuring one idea that were weighed against each other:
the leave-one-episode-out line says which of them the other seven episodes would have picked, fold by fold, so a
choice made here is checked on an episode it was not made on. Seconds; no model runs.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
from choose_passages import AsInsight

from podsight.eval.dataset import load_eval_set
from podsight.eval.hits import cue_locator, hits_any
from podsight.insights.chunk import split_long_segments
from podsight.insights.extract import PIECE_WORDS
from podsight.embed import load_embedder
from podsight.insights.select import WEIGHTS, candidate_passages, embedded, hosts_of, sets_up_a_question, signal_table
from podsight.insights.sponsor import skip_mask

_PAST = re.compile(r"\b(?:was|were|had|did|went|said|told|got|came|ago|wasn['’]t|weren['’]t|didn['’]t)\b",
                   re.IGNORECASE)

# Three ways to measure "an idea is said in the present, a story in the past"; `present` is the one selected.
ALTERNATIVES = {
    "present": lambda row, text: row["present"],
    "not_past": lambda row, text: -_per_100(_PAST, text),
    "present_minus_past": lambda row, text: row["present"] - _per_100(_PAST, text),
}


def _per_100(pattern: re.Pattern, text: str) -> float:
    return len(pattern.findall(text)) * 100.0 / max(len(text.split()), 1)


def auc(values: list[float], labels: list[bool]) -> float:
    """The chance that a passage holding a reference scores above one that does not (ties count half)."""
    pos = [v for v, hit in zip(values, labels) if hit]
    neg = [v for v, hit in zip(values, labels) if not hit]
    if not pos or not neg:
        return float("nan")
    return sum((p > q) + 0.5 * (p == q) for p in pos for q in neg) / (len(pos) * len(neg))


def episode_aucs(episode, embed) -> dict[str, float]:
    pieces = split_long_segments(list(episode.segments), max_words=PIECE_WORDS)
    hosts = hosts_of(pieces)
    passages = [p for p in candidate_passages(pieces, skip_mask(pieces)) if not sets_up_a_question(p)]
    rows = signal_table(passages, hosts, *embedded(embed, passages))
    cues = cue_locator(episode.segments)
    labels = [hits_any(AsInsight.of(p, cues), episode.references) for p in passages]
    aucs = {name: auc([row[name] * np.sign(WEIGHTS[name]) for row in rows], labels) for name in rows[0]
            if name in WEIGHTS}
    for name, measure in ALTERNATIVES.items():
        aucs[f"~{name}"] = auc([measure(row, p.text) for row, p in zip(rows, passages)], labels)
    return aucs


def main(dataset: Path) -> None:
    episodes = load_eval_set(dataset).transcripts
    embed = load_embedder().embed
    table = {episode.slug: episode_aucs(episode, embed) for episode in episodes}
    names = list(next(iter(table.values())))
    print(f"{'signal':20} {'mean':>5} | " + " ".join(f"{slug[:8]:>8}" for slug in table))
    for name in names:
        values = [table[slug][name] for slug in table]
        print(f"{name:20} {np.nanmean(values):5.2f} | " + " ".join(f"{v:8.2f}" for v in values))
    picks = []
    for held_out in table:
        others = [slug for slug in table if slug != held_out]
        picks.append(max(ALTERNATIVES, key=lambda n: np.nanmean([table[s][f"~{n}"] for s in others])))
    print("leave one episode out, the alternative the other seven pick: " +
          ", ".join(f"{slug[:12]} {pick}" for slug, pick in zip(table, picks)))


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent.parent / "podsight/eval/data")
