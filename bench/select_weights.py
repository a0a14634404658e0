"""Would fitted weights choose better passages than `select.WEIGHTS`? `python bench/select_weights.py [DATASET]`.

`podsight.insights.select` weighs its signals by reasoning, not by fitting. This checks that choice the way the
dev set allows: leave one episode out. For each episode, a coordinate search (two sweeps over each weight and
REPLAY_WEIGHT, values from GRID) maximises precision@5 + recall@10 of the chosen passages on the other
episodes, and the weights it finds choose the held-out episode's passages (`--only NAME`: one weight alone, from 0
to 3 with the sign reasoned for it, the others as reasoned, which is how the insight-like weight was chosen).
Scored at passage level, as in `bench/choose_passages.py` (no language model runs). On `../shared/devset` it takes
about 30 minutes on 2 cores.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from choose_passages import scores

import podsight.insights.select as select
from podsight.embed import load_embedder
from podsight.eval.dataset import load_eval_set
from podsight.eval.hits import cue_locator
from podsight.insights.chunk import split_long_segments
from podsight.insights.extract import PIECE_WORDS
from podsight.insights.sponsor import skip_mask

GRID = (-1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0)
REPLAY_GRID = (0.0, 0.75, 1.5, 2.25, 3.0)
SWEEPS = 2
REASONED = {**select.WEIGHTS, "replay": select.REPLAY_WEIGHT}


@contextmanager
def weighted(weights: dict[str, float]) -> Iterator[None]:
    """`select` scoring with these weights for a while (its module constants, restored after)."""
    saved = select.WEIGHTS, select.REPLAY_WEIGHT
    select.WEIGHTS = {name: value for name, value in weights.items() if name != "replay"}
    select.REPLAY_WEIGHT = weights["replay"]
    try:
        yield
    finally:
        select.WEIGHTS, select.REPLAY_WEIGHT = saved


class Episodes:
    """The dataset's episodes as `select` reads them, with each episode's passage embeddings computed once."""

    def __init__(self, dataset: Path):
        self.embedder = load_embedder()
        self.vectors: dict[tuple[str, ...], np.ndarray] = {}
        self.items = []
        for episode in load_eval_set(dataset).transcripts:
            pieces = split_long_segments(list(episode.segments), max_words=PIECE_WORDS)
            self.items.append((episode.slug, pieces, skip_mask(pieces), episode, cue_locator(episode.segments)))

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        key = tuple(texts)
        if key not in self.vectors:
            self.vectors[key] = self.embedder.embed(texts)
        return self.vectors[key]

    def scores(self, weights: dict[str, float], which: Sequence[int]) -> list[tuple[float, float]]:
        """(precision@5, recall@10) of the passages chosen in each episode of `which`."""
        with weighted(weights):
            results = []
            for i in which:
                _, pieces, skip, episode, cues = self.items[i]
                hits, found, _ = scores(select.choose_passages(pieces, skip, self.embed, limit=10), episode, cues)
                results.append((hits / 5, found / len(episode.references)))
        return results


def objective(results: Sequence[tuple[float, float]]) -> float:
    return sum(precision + recall for precision, recall in results) / len(results)


def fit(episodes: Episodes, train: Sequence[int]) -> dict[str, float]:
    """Coordinate search from the reasoned weights: keep any single change that scores better on `train`."""
    weights, best = dict(REASONED), objective(episodes.scores(REASONED, train))
    for _ in range(SWEEPS):
        for name in list(weights):
            for value in REPLAY_GRID if name == "replay" else GRID:
                candidate = {**weights, name: value}
                score = objective(episodes.scores(candidate, train))
                if score > best + 1e-9:
                    weights, best = candidate, score
    return weights


def one_weight(episodes: Episodes, name: str, grid: Sequence[float]) -> None:
    """Leave one episode out for one weight alone, the others as reasoned: each fold picks the value of the grid
    that scores best on the other episodes, and the held-out episode is scored with it."""
    count = len(episodes.items)
    table = {value: episodes.scores({**REASONED, name: value}, range(count)) for value in grid}
    for value, results in table.items():
        print(f"{name} = {value}: P@5 {np.mean([r[0] for r in results]):.3f} R@10 {np.mean([r[1] for r in results]):.3f}")
    held_out = []
    for e in range(count):
        others = [i for i in range(count) if i != e]
        value = max(grid, key=lambda v: objective([table[v][i] for i in others]))
        held_out.append(table[value][e])
        print(f"held out {episodes.items[e][0]:30} picks {value}: P@5 {table[value][e][0]:.2f} "
              f"R@10 {table[value][e][1]:.2f}")
    print(f"held out, mean: P@5 {np.mean([r[0] for r in held_out]):.3f} R@10 {np.mean([r[1] for r in held_out]):.3f}")


def main(dataset: Path) -> None:
    episodes = Episodes(dataset)
    count = len(episodes.items)
    reasoned = episodes.scores(REASONED, range(count))
    held_out = []
    print(f"{'held-out episode':30} | reasoned P@5  R@10 | fitted P@5  R@10 | weights that changed")
    for e in range(count):
        weights = fit(episodes, [i for i in range(count) if i != e])
        [result] = episodes.scores(weights, [e])
        held_out.append(result)
        changed = {name: value for name, value in weights.items() if value != REASONED[name]}
        print(f"{episodes.items[e][0]:30} | {reasoned[e][0]:12.2f} {reasoned[e][1]:5.2f} | {result[0]:10.2f}"
              f" {result[1]:5.2f} | {changed}", flush=True)
    print(f"{'mean':30} | {np.mean([r[0] for r in reasoned]):12.3f} {np.mean([r[1] for r in reasoned]):5.3f} |"
          f" {np.mean([r[0] for r in held_out]):10.3f} {np.mean([r[1] for r in held_out]):5.3f} |")


if __name__ == "__main__":
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 and not sys.argv[1].startswith("--") else \
        Path(__file__).parent.parent / "podsight/eval/data"
    if "--only" in sys.argv:  # --only NAME: that weight alone, 0-3 with its reasoned sign (a minute, not half an hour)
        name = sys.argv[sys.argv.index("--only") + 1]
        sign = -1.0 if REASONED[name] < 0 else 1.0  # "questions" and "first_person" count against a passage
        grid = tuple(sign * value or 0.0 for value in (0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0))
        one_weight(Episodes(folder), name, grid)
    else:
        main(folder)
