"""How well the code chooses passages, before any model writes: `python bench/choose_passages.py [DATASET]`.

For each episode of a dev-set-format folder (default: the set shipped in podsight/eval/data; the real dev set
is `../shared/devset`), the passages `podsight.insights.select` would send to the model, in its order, scored
with `podsight eval`'s hit rule as if each passage were an insight quoting itself, placed in the cues as the eval
places an insight's quote: precision@5 and recall@10 against the references, negatives in the top 5, pooled over
the episodes as the eval pools them. Beside it, the same number of passages drawn at random from
the candidates (mean of 50 seeded draws), and the code's order without embeddings (no centrality).
`--without-speakers` removes every speaker label first, as speech-to-text that cannot tell voices apart. Seconds only:
no language model runs, so this is where selection is tuned, and `podsight eval` measures the whole.
"""

from __future__ import annotations

import random
import sys
from dataclasses import dataclass
from pathlib import Path

from podsight.embed import load_embedder
from podsight.eval.dataset import load_eval_set
from podsight.eval.hits import cue_locator, hits_any, hits_any_of
from podsight.insights.chunk import split_long_segments
from podsight.insights.extract import PIECE_WORDS
from podsight.insights.select import candidate_passages, choose_passages
from podsight.insights.sponsor import skip_mask

DRAWS = 50


@dataclass(frozen=True)
class AsInsight:
    """A passage standing in for an insight that quotes all of it, with the cues its text lies in."""

    quote: str
    start_s: float
    end_s: float
    cues: tuple[int, int] | None

    @classmethod
    def of(cls, passage, cues) -> AsInsight:
        """`cues` is `podsight.eval.hits.cue_locator` of the episode's segments."""
        return cls(passage.text, passage.start_s, passage.end_s, cues(passage.text, passage.start_s))


def scores(passages, episode, cues) -> tuple[int, int, int]:
    """Hits in the top 5, references hit by the top 10, negatives hit in the top 5."""
    located = [AsInsight.of(p, cues) for p in passages[:10]]
    top5, top10 = located[:5], located[:10]
    return (sum(hits_any(p, episode.references) for p in top5), sum(hits_any_of(top10, r) for r in episode.references),
            sum(hits_any(p, episode.negatives) for p in top5))


def random_scores(candidates, count, episode, cues) -> tuple[float, float]:
    rng = random.Random(0)
    draws = [scores(rng.sample(candidates, min(count, len(candidates))), episode, cues) for _ in range(DRAWS)]
    return sum(d[0] for d in draws) / DRAWS, sum(d[1] for d in draws) / DRAWS


def main(dataset: Path, without_speakers: bool = False) -> None:
    embedder = load_embedder()
    eval_set = load_eval_set(dataset)
    eval_set = eval_set.without_speakers() if without_speakers else eval_set
    print(f"{'episode':32} {'cands':>5} | code P@5 R@10 neg | no-emb P@5 R@10 | random P@5  R@10")
    totals = [0.0] * 7
    for episode in eval_set.transcripts:
        pieces = split_long_segments(list(episode.segments), max_words=PIECE_WORDS)
        skip = skip_mask(pieces)
        cues = cue_locator(episode.segments)
        candidates = candidate_passages(pieces, skip)
        chosen = choose_passages(pieces, skip, embedder.embed, limit=10)
        plain = choose_passages(pieces, skip, None, limit=10)
        p, r, neg = scores(chosen, episode, cues)
        p2, r2, _ = scores(plain, episode, cues)
        p3, r3 = random_scores(candidates, len(chosen), episode, cues)
        row = (p, r, p2, r2, p3, r3, len(episode.references))
        totals = [total + value for total, value in zip(totals, row)]
        print(f"{episode.slug:32} {len(candidates):5} | {p:3}/5 {r:2}/{row[6]:2} {neg:3} | {p2:5}/5 {r2:2}/{row[6]:2} |"
              f" {p3:6.2f}/5 {r3:5.2f}/{row[6]}")
    fives, refs = 5 * len(eval_set.transcripts), totals[6]
    print(f"{'pooled':32} {'':5} | {totals[0] / fives:9.2f} {totals[1] / refs:4.2f} {'':3} | "
          f"{totals[2] / fives:10.2f} {totals[3] / refs:4.2f} | {totals[4] / fives:10.2f} {totals[5] / refs:5.2f}")


if __name__ == "__main__":
    args = [arg for arg in sys.argv[1:] if arg != "--without-speakers"]
    main(Path(args[0]) if args else Path(__file__).parent.parent / "podsight/eval/data",
         without_speakers="--without-speakers" in sys.argv)
