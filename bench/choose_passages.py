"""How well the code chooses passages, before any model writes: `python bench/choose_passages.py [DATASET]`.

For each episode of a dev-set-format folder (default: the set shipped in podsight/eval/data; the real dev set
is `../shared/devset`), the passages `podsight.insights.select` would send to the model, in its order, scored
with `podsight eval`'s hit rule as if each passage were an insight quoting itself: precision@5 and recall@10
against the references, negatives in the top 5. Beside it, the same number of passages drawn at random from
the candidates (mean of 50 seeded draws), and the code's order without embeddings (no centrality). Seconds only:
no language model runs, so this is where selection is tuned, and `podsight eval` measures the whole.
"""

from __future__ import annotations

import random
import sys
from dataclasses import dataclass
from pathlib import Path

from podsight.embed import load_embedder
from podsight.eval.dataset import load_eval_set
from podsight.eval.hits import hits_any, hits_any_of
from podsight.insights.chunk import split_long_segments
from podsight.insights.extract import PIECE_WORDS
from podsight.insights.select import candidate_passages, choose_passages
from podsight.insights.sponsor import skip_mask

DRAWS = 50


@dataclass(frozen=True)
class AsInsight:
    """A passage standing in for an insight that quotes all of it."""

    quote: str
    start_s: float
    end_s: float


def scores(passages, references, negatives) -> tuple[float, float, int]:
    located = [AsInsight(p.text, p.start_s, p.end_s) for p in passages]
    top5, top10 = located[:5], located[:10]
    precision = sum(hits_any(p, references) for p in top5) / len(top5) if top5 else 0.0
    recall = sum(hits_any_of(top10, r) for r in references) / len(references) if references else 0.0
    return precision, recall, sum(hits_any(p, negatives) for p in top5)


def random_scores(candidates, count, references, negatives) -> tuple[float, float]:
    rng = random.Random(0)
    draws = [scores(rng.sample(candidates, min(count, len(candidates))), references, negatives) for _ in range(DRAWS)]
    return sum(d[0] for d in draws) / DRAWS, sum(d[1] for d in draws) / DRAWS


def main(dataset: Path) -> None:
    embedder = load_embedder()
    print(f"{'episode':32} {'cands':>5} | code P@5  R@10 neg | no-emb P@5  R@10 | random P@5  R@10")
    totals = [0.0] * 6
    episodes = load_eval_set(dataset).transcripts
    for episode in episodes:
        pieces = split_long_segments(list(episode.segments), max_words=PIECE_WORDS)
        skip = skip_mask(pieces)
        candidates = candidate_passages(pieces, skip)
        chosen = choose_passages(pieces, skip, embedder.embed, limit=10)
        plain = choose_passages(pieces, skip, None, limit=10)
        p, r, neg = scores(chosen, episode.references, episode.negatives)
        p2, r2, _ = scores(plain, episode.references, episode.negatives)
        p3, r3 = random_scores(candidates, len(chosen), episode.references, episode.negatives)
        for i, value in enumerate((p, r, p2, r2, p3, r3)):
            totals[i] += value / len(episodes)
        print(f"{episode.slug:32} {len(candidates):5} | {p:8.2f} {r:5.2f} {neg:3} | {p2:10.2f} {r2:5.2f} |"
              f" {p3:10.2f} {r3:5.2f}")
    print(f"{'mean':32} {'':5} | {totals[0]:8.2f} {totals[1]:5.2f} {'':3} | {totals[2]:10.2f} {totals[3]:5.2f} |"
          f" {totals[4]:10.2f} {totals[5]:5.2f}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent.parent / "podsight/eval/data")
