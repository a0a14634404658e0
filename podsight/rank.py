"""Pick each subscriber's daily top N insights: novel, important, and varied.

Three steps, each cheap enough for thousands of candidates against tens of thousands of texts already sent:

1. **Novelty**: drop candidates that repeat something this subscriber was already sent, then collapse
   near-duplicates among today's candidates (the most important copy survives).
2. **Score**: the model's importance plus small bonuses for concrete kinds and for recent episodes.
3. **Select** greedily, MMR-style: each pick's value is its score minus a penalty for resembling what is
   already picked and for coming from a show already in the digest; at most `max_per_episode` per episode.

All text comparison goes through `claim_similarity` (and its bulk twin `_best_matches`), so that a later
embedding-based measure replaces one place only.
"""

from __future__ import annotations

import logging
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import chain

from rapidfuzz import fuzz, process

log = logging.getLogger("podsight.rank")

KIND_BONUS = {"data_point": 0.05, "prediction": 0.05}
RECENCY_BONUS = 0.05  # for the newest episode of the day, halving every RECENCY_HALF_LIFE_DAYS
RECENCY_HALF_LIFE_DAYS = 2.0
SIMILARITY_PENALTY = 0.3  # times the similarity to the closest item already picked
SAME_SHOW_PENALTY = 0.1  # per item already picked from the same show
# Two claims sharing under 40% of the longer one's content words are not the same claim, whatever their
# spelling looks like. Rapidfuzz's token-set ratio alone would call a short claim a duplicate of any long
# text that contains its words, and scores unrelated texts up to ~0.55 on shared letters; the token-set
# ratio itself needs about this much shared text to reach 0.6. The gate also lets the bulk path skip
# most pairs unscored (see `_Index`).
MIN_SHARED_FRACTION = 0.4

_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?")
# English function words plus podcast filler: they would make unrelated claims look alike. Negations and
# directions (not, no, above, below, up, down, more, less) stay: they are what tells two claims apart.
STOPWORDS = frozenset(
    """a about after again against all also am an and any are as at be because been before being
    between both but by can could did do does doing during each for from further had has
    have having he her here hers herself him himself his how i if in into is it its itself just let me
    my myself now of off on once only or other our ours ourselves out own per
    same she should so some such than that the their theirs them themselves then there these they this
    those through to too until very was we were what when where which while who whom why will
    with would you your yours yourself yourselves says said say according think thinks really actually
    basically like going gonna lot kind sort thing things way people get gets got much many one""".split()
)
NEGATIONS = frozenset("not no never nor none nobody nothing cannot can't won't don't doesn't isn't aren't".split())
NEGATION_FACTOR = 0.5
MASK_BITS = 512


@dataclass(frozen=True)
class Candidate:
    """One insight that could go into today's digest."""

    insight_id: int
    episode_id: int
    show_id: int
    claim: str
    kind: str
    importance: float
    published_ts: float | None = None  # episode publication, Unix seconds


@dataclass(frozen=True)
class Ranked:
    """A picked candidate, its selection score and the reasons for it, in words."""

    candidate: Candidate
    score: float
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class _Norm:
    """A claim reduced to its content words: `text` for rapidfuzz, `words` for overlap checks."""

    text: str
    words: frozenset[str]
    negated: bool


def _normalise(text: str) -> _Norm:
    words = []
    for word in _WORD.findall(text.casefold().replace("\u2019", "'")):
        word = word.removesuffix("'s")
        if word in STOPWORDS:
            continue
        # A crude plural fold so "rates" matches "rate"; anything smarter waits for embeddings.
        if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
            word = word[:-1]
        words.append(word)
    words_set = frozenset(words)
    return _Norm(" ".join(words), words_set, not NEGATIONS.isdisjoint(words_set))


def _needed(norm: _Norm) -> int:
    return max(1, math.ceil(MIN_SHARED_FRACTION * len(norm.words)))


def _min_shared(a: _Norm, b: _Norm) -> int:
    """Content words two claims must share to be compared at all (a fraction of the longer one)."""
    return max(_needed(a), _needed(b))


def _shares_enough(a: _Norm, b: _Norm) -> bool:
    return bool(a.words and b.words) and len(a.words & b.words) >= _min_shared(a, b)


def _score_many(query: _Norm, others: list[_Norm]) -> list[float]:
    """Similarity of `query` to each of `others` that passed `_shares_enough`; the one definition of it.

    Token-set ratio on content words, halved when only one side is negated: "X will not happen" is the
    opposite of "X will happen", not a repeat (token-set ratio scores a subset as 100).
    """
    if not others:
        return []
    found = process.extract(query.text, [o.text for o in others], scorer=fuzz.token_set_ratio,
                            processor=None, limit=None)
    scores = [0.0] * len(others)
    for _, score, pos in found:
        scores[pos] = score / 100.0 * (NEGATION_FACTOR if others[pos].negated != query.negated else 1.0)
    return scores


def _similarity(a: _Norm, b: _Norm) -> float:
    return _score_many(a, [b])[0] if _shares_enough(a, b) else 0.0


def claim_similarity(a: str, b: str) -> float:
    """How alike two claims are, 0..1: rapidfuzz's token-set ratio on their content words.

    Stopwords are removed first so that "the/a/of" do not make unrelated claims match, and claims that
    share too few content words score 0.
    """
    return _similarity(_normalise(a), _normalise(b))


def _word_order(norms: Iterable[_Norm]) -> dict[str, int]:
    """Rank of each word from rarest to most common, the global order prefix filtering needs."""
    df = Counter(chain.from_iterable(n.words for n in norms))
    return {word: rank for rank, (word, _) in enumerate(sorted(df.items(), key=lambda kv: (kv[1], kv[0])))}


class _Index:
    """Finds, for a query, the indexed texts similar enough to it, without comparing it to all of them.

    Prefix filtering: with words in one global order (rarest first), two texts sharing at least k words
    must share one of the first len - k + 1 words of each. So each text is indexed under its rarest words
    only, and common words (the long posting lists) are mostly never walked.
    """

    def __init__(self, order: dict[str, int]):
        self.order = order
        self.norms: list[_Norm] = []
        self.needed: list[int] = []
        # Words folded onto MASK_BITS bits: (a & b).bit_count() is a C-speed upper bound on the number of
        # shared words (collisions only add), so most pairs are rejected before an exact set intersection.
        self.masks: list[int] = []
        self.postings: dict[str, list[int]] = {}

    def _prefix(self, norm: _Norm) -> list[str]:
        words = sorted(norm.words, key=lambda w: (self.order.get(w, -1), w))
        return words[: len(words) - _needed(norm) + 1]

    def add(self, norm: _Norm) -> None:
        for word in self._prefix(norm):
            self.postings.setdefault(word, []).append(len(self.norms))
        self.norms.append(norm)
        self.needed.append(_needed(norm))
        self.masks.append(self._mask(norm))

    def _mask(self, norm: _Norm) -> int:
        order = self.order
        mask = 0
        for word in norm.words:
            if word in order:
                mask |= 1 << (order[word] % MASK_BITS)
        return mask

    def best_match(self, query: _Norm) -> float:
        """Highest similarity to any indexed text (0.0 when none shares enough words)."""
        if not query.words:
            return 0.0
        seen = set(chain.from_iterable(self.postings.get(w, ()) for w in self._prefix(query)))
        mask, need, masks, needed = self._mask(query), _needed(query), self.masks, self.needed
        # The hot loop of the whole ranking, kept to C-level operations on purpose.
        maybe = [i for i in seen if (n := (masks[i] & mask).bit_count()) >= need and n >= needed[i]]
        close = [self.norms[i] for i in maybe if _shares_enough(query, self.norms[i])]
        return max(_score_many(query, close), default=0.0)


def _drop_old_news(cands: list[Candidate], norms: list[_Norm], already_sent: Sequence[str],
                   threshold: float) -> list[int]:
    sent_norms = [_normalise(text) for text in already_sent if text]
    sent = _Index(_word_order(chain(sent_norms, norms)))
    for norm in sent_norms:
        sent.add(norm)
    keep = [i for i in range(len(cands)) if sent.best_match(norms[i]) < threshold]
    log.debug("novelty: %d of %d candidates repeat something already sent", len(cands) - len(keep), len(cands))
    return keep


def _collapse_duplicates(cands: list[Candidate], norms: list[_Norm], order: list[int],
                         threshold: float) -> list[int]:
    """Keep the most important of each group of near-identical claims (ties: lowest insight id)."""
    order = sorted(order, key=lambda i: (-_importance(cands[i]), cands[i].insight_id))
    kept_index, kept = _Index(_word_order(norms[i] for i in order)), []
    for i in order:
        if kept_index.best_match(norms[i]) < threshold:
            kept_index.add(norms[i])
            kept.append(i)
    return kept


def _importance(cand: Candidate) -> float:
    # Model output: a missing, NaN or out-of-range value must not poison the ordering.
    value = 0.0 if cand.importance is None else float(cand.importance)
    return 0.0 if math.isnan(value) else min(max(value, 0.0), 1.0)


def _base_score(cand: Candidate, newest_ts: float | None) -> tuple[float, list[str]]:
    importance = _importance(cand)
    score, reasons = importance, [f"importance {importance:.2f}"]
    kind_bonus = KIND_BONUS.get(cand.kind, 0.0)
    if kind_bonus:
        score += kind_bonus
        reasons.append(f"a {cand.kind.replace('_', ' ')} (+{kind_bonus:.2f})")
    if newest_ts is not None and cand.published_ts is not None:
        age_days = max(newest_ts - cand.published_ts, 0.0) / 86400.0
        recency = RECENCY_BONUS * 0.5 ** (age_days / RECENCY_HALF_LIFE_DAYS)
        if recency >= 0.005:
            score += recency
            reasons.append(f"recent episode (+{recency:.2f})")
    return score, reasons


def _mmr_value(i: int, cands: list[Candidate], base: dict[int, float], closest: dict[int, float],
               shows: Counter) -> float:
    return base[i] - SIMILARITY_PENALTY * closest[i] - SAME_SHOW_PENALTY * shows[cands[i].show_id]


def _pick_reasons(i: int, cands: list[Candidate], base_reasons: list[str], closest: dict[int, float],
                  shows: Counter, picked: int) -> tuple[str, ...]:
    reasons = list(base_reasons)
    if picked == 0:
        reasons.append("highest score today")
        return tuple(reasons)
    if shows[cands[i].show_id]:
        reasons.append(f"another item from a show already in today's digest (-{SAME_SHOW_PENALTY:.2f})")
    else:
        reasons.append("from a show not yet in today's digest")
    if closest[i] >= 0.05:
        reasons.append(f"overlaps an earlier pick (similarity {closest[i]:.2f})")
    else:
        reasons.append("unlike anything picked so far")
    return tuple(reasons)


def _update_closest(new: int, pool: list[int], norms: list[_Norm], closest: dict[int, float]) -> None:
    """Raise each remaining item's similarity-to-picked with the new pick (one vectorised call)."""
    rivals = [i for i in pool if _shares_enough(norms[i], norms[new])]
    for i, score in zip(rivals, _score_many(norms[new], [norms[i] for i in rivals])):
        closest[i] = max(closest[i], score)


def _select(cands: list[Candidate], norms: list[_Norm], pool: list[int], size: int,
            max_per_episode: int) -> list[Ranked]:
    newest = max((c.published_ts for c in cands if c.published_ts is not None), default=None)
    scored = {i: _base_score(cands[i], newest) for i in pool}
    base = {i: s for i, (s, _) in scored.items()}
    closest = dict.fromkeys(pool, 0.0)
    shows, episodes, picks = Counter(), Counter(), []
    pool = list(pool)
    while pool and len(picks) < size:
        best = max(pool, key=lambda i: (_mmr_value(i, cands, base, closest, shows), -cands[i].insight_id))
        value = _mmr_value(best, cands, base, closest, shows)
        reasons = _pick_reasons(best, cands, scored[best][1], closest, shows, len(picks))
        picks.append(Ranked(cands[best], round(value, 4), reasons))
        shows[cands[best].show_id] += 1
        episodes[cands[best].episode_id] += 1
        pool = [i for i in pool if i != best and episodes[cands[i].episode_id] < max_per_episode]
        _update_closest(best, pool, norms, closest)
    return picks


def rank_day(candidates: Sequence[Candidate], already_sent: Sequence[str], *, size: int = 5,
             max_per_episode: int = 2, novelty_threshold: float = 0.6) -> list[Ranked]:
    """Today's top `size` candidates for one subscriber, best first.

    `already_sent` holds the claims this subscriber received before; a candidate whose similarity to any
    of them (or to a more important candidate of today) reaches `novelty_threshold` is left out.
    """
    if size < 1 or max_per_episode < 1:
        raise ValueError(f"size ({size}) and max_per_episode ({max_per_episode}) must be at least 1")
    if not 0.0 < novelty_threshold <= 1.0:
        raise ValueError(f"novelty_threshold must be in (0, 1], got {novelty_threshold}")
    cands = list(candidates)
    norms = [_normalise(c.claim or "") for c in cands]
    fresh = _drop_old_news(cands, norms, already_sent, novelty_threshold)
    distinct = _collapse_duplicates(cands, norms, fresh, novelty_threshold)
    return _select(cands, norms, distinct, size, max_per_episode)
