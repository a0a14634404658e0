"""Pick each subscriber's daily top N insights: novel, important, wanted, and varied.

Every comparison is the cosine of two claim embeddings (all-MiniLM-L6-v2 by default, see podsight.embed),
plus the links the links stage stored: an insight the language model judged to say the same as another
counts as the same claim, whatever its cosine.

1. **Novelty**: drop candidates that repeat something this subscriber was already sent, then fold
   near-duplicates among today's candidates into the most important copy (their episodes become its
   other sources).
2. **Score**: the extractor's importance (the passage's salience rank), small bonuses for concrete kinds,
   recent episodes and support (another episode says the same, or disputes it), and the subscriber's own
   signal: closeness to their interests and to insights they voted up or down.
3. **Select** greedily, MMR-style: each pick's value is its score minus a penalty for resembling what is
   already picked and for coming from a show already in the digest; at most `max_per_episode` per episode.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from podsight.embed import VectorIndex

log = logging.getLogger("podsight.rank")

KIND_BONUS = {"data_point": 0.05, "prediction": 0.05}
RECENCY_BONUS = 0.05  # for the newest episode of the day, halving every RECENCY_HALF_LIFE_DAYS
RECENCY_HALF_LIFE_DAYS = 2.0
# Another episode makes the same claim or disputes it: a claim with a life beyond one show, which is what
# podsight's links are for. Worth about one rank of salience in a 4-minute episode (ranks are 0.5/(n-1)
# apart) and ten in an hour-long one, where the salience order is the less certain signal.
SUPPORT_BONUS = 0.2
SIMILARITY_PENALTY = 0.3  # for a copy of an item already picked, less for a looser resemblance
SIMILARITY_FLOOR = 0.3  # cosine below which two claims are unrelated (MiniLM scores unrelated texts 0-0.25)
SAME_SHOW_PENALTY = 0.1  # per item already picked from the same show
INTEREST_WEIGHT = 0.3  # bonus for a perfect match with one of the subscriber's interests
INTEREST_FLOOR = 0.25  # cosine below which a claim has nothing to do with an interest (MiniLM: unrelated ~0.1)
VOTE_WEIGHT = 0.2  # bonus (or penalty) for a claim as close as can be to one voted up (down)
VOTE_FLOOR = 0.45  # cosine below which a vote says nothing about a claim (same topic starts near 0.45)
SENT_NEIGHBOURS = 8  # closest sent claims checked per candidate (a disputed one may be the closest)


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
    vector: np.ndarray | None = field(default=None, compare=False, repr=False)  # unit claim embedding
    same_as: frozenset[int] = frozenset()  # insights linked to this one as the same claim
    disputes: frozenset[int] = frozenset()  # insights the LLM judged to contradict this one


@dataclass(frozen=True)
class Preferences:
    """What one subscriber told us: interests (one vector per phrase) and votes on insights sent."""

    interests: tuple[tuple[str, np.ndarray], ...] = ()
    liked: np.ndarray | None = None  # (n, dim) vectors of insights voted up
    disliked: np.ndarray | None = None


@dataclass(frozen=True)
class Ranked:
    """A picked candidate, its selection score, the reasons for it in words, and today's other
    candidates that say the same thing (folded into this one)."""

    candidate: Candidate
    score: float
    reasons: tuple[str, ...]
    same_claim: tuple[Candidate, ...] = ()


def rank_day(candidates: Sequence[Candidate], sent_vectors: np.ndarray | None = None, *,
             sent_ids: Sequence[int] = (), preferences: Preferences = Preferences(), size: int = 5,
             max_per_episode: int = 2, novelty_threshold: float = 0.53) -> list[Ranked]:
    """Today's top `size` candidates for one subscriber, best first.

    `sent_vectors` are the embeddings of the claims this subscriber received before and `sent_ids` their
    insight ids, row for row; a candidate whose cosine to any of them (or to a more important candidate of
    today) reaches `novelty_threshold`, or that is linked as the same claim to one, is left out (folded).
    A claim judged to contradict another is never old news of it: a dispute is news."""
    if size < 1 or max_per_episode < 1:
        raise ValueError(f"size ({size}) and max_per_episode ({max_per_episode}) must be at least 1")
    if not 0.0 < novelty_threshold <= 1.0:
        raise ValueError(f"novelty_threshold must be in (0, 1], got {novelty_threshold}")
    cands = [c for c in candidates if c.vector is not None]
    if len(cands) < len(candidates):
        log.warning("%d candidates have no embedding and are left out", len(candidates) - len(cands))
    if not cands:
        return []
    vectors = np.vstack([c.vector for c in cands]).astype(np.float32)
    fresh = _drop_old_news(cands, vectors, sent_vectors, sent_ids, novelty_threshold)
    similar = vectors[fresh] @ vectors[fresh].T  # n x n cosines: 2,000 candidates is 16 MB
    kept, folded = _fold_duplicates([cands[i] for i in fresh], similar, novelty_threshold)
    picks = _select([cands[i] for i in fresh], similar, kept, preferences, size, max_per_episode)
    fresh_cands = [cands[i] for i in fresh]
    return [Ranked(p.candidate, p.score, p.reasons, tuple(fresh_cands[j] for j in folded[p.position]))
            for p in picks]


def _drop_old_news(cands: list[Candidate], vectors: np.ndarray, sent_vectors: np.ndarray | None,
                   sent_ids: Sequence[int], threshold: float) -> list[int]:
    sent = frozenset(sent_ids)
    keep = [i for i, c in enumerate(cands) if not c.same_as & sent]
    if sent_vectors is not None and len(sent_vectors) and keep:
        if len(sent_ids) != len(sent_vectors):
            raise ValueError(f"{len(sent_ids)} sent ids for {len(sent_vectors)} sent vectors: they go row for row")
        index = VectorIndex(vectors.shape[1])
        index.add(list(sent_ids), sent_vectors)
        ids, scores = index.search(vectors[keep], SENT_NEIGHBOURS)
        keep = [i for i, row_ids, row_scores in zip(keep, ids, scores)
                if not any(score >= threshold and int(j) not in cands[i].disputes for j, score in zip(row_ids, row_scores))]
    log.debug("novelty: %d of %d candidates repeat something already sent", len(cands) - len(keep), len(cands))
    return keep


def _fold_duplicates(cands: list[Candidate], similar: np.ndarray, threshold: float) -> tuple[list[int], dict[int, list[int]]]:
    """Keep the most important of each group of same claims (ties: lowest insight id); the others are
    listed under the one they fold into."""
    order = sorted(range(len(cands)), key=lambda i: (-_importance(cands[i]), cands[i].insight_id))
    kept: list[int] = []
    folded: dict[int, list[int]] = {}
    for i in order:
        same = [k for k in kept if _same_claim(cands[i], cands[k], similar[i, k], threshold)]
        if same:
            folded[max(same, key=lambda k: similar[i, k])].append(i)
        else:
            kept.append(i)
            folded[i] = []
    return kept, folded


def _same_claim(a: Candidate, b: Candidate, cosine: float, threshold: float) -> bool:
    if a.insight_id in b.disputes or b.insight_id in a.disputes:
        return False
    return cosine >= threshold or a.insight_id in b.same_as or b.insight_id in a.same_as


def _importance(cand: Candidate) -> float:
    # Model output: a missing, NaN or out-of-range value must not poison the ordering.
    value = 0.0 if cand.importance is None else float(cand.importance)
    return 0.0 if math.isnan(value) else min(max(value, 0.0), 1.0)


def _base_score(cand: Candidate, newest_ts: float | None, prefs: Preferences) -> tuple[float, list[str]]:
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
    for bonus, reason in (_support_bonus(cand), _interest_bonus(cand.vector, prefs), _vote_bonus(cand.vector, prefs)):
        if reason:
            score += bonus
            reasons.append(reason)
    return score, reasons


def _support_bonus(cand: Candidate) -> tuple[float, str | None]:
    if cand.disputes:
        return SUPPORT_BONUS, f"disputed on another episode (+{SUPPORT_BONUS:.2f})"
    if cand.same_as:
        return SUPPORT_BONUS, f"also said on another episode (+{SUPPORT_BONUS:.2f})"
    return 0.0, None


def _scaled(cosine: float, floor: float, weight: float) -> float:
    """0 at `floor`, `weight` at a cosine of 1: how strongly a closeness counts."""
    return weight * max(0.0, (cosine - floor) / (1.0 - floor))


def _interest_bonus(vector: np.ndarray, prefs: Preferences) -> tuple[float, str | None]:
    if not prefs.interests:
        return 0.0, None
    label, cosine = max(((label, float(v @ vector)) for label, v in prefs.interests), key=lambda lc: lc[1])
    bonus = _scaled(cosine, INTEREST_FLOOR, INTEREST_WEIGHT)
    return (bonus, f"matches your interest \u201c{label}\u201d (+{bonus:.2f})") if bonus >= 0.01 else (0.0, None)


def _vote_bonus(vector: np.ndarray, prefs: Preferences) -> tuple[float, str | None]:
    up = _scaled(float((prefs.liked @ vector).max()), VOTE_FLOOR, VOTE_WEIGHT) if _some(prefs.liked) else 0.0
    down = _scaled(float((prefs.disliked @ vector).max()), VOTE_FLOOR, VOTE_WEIGHT) if _some(prefs.disliked) else 0.0
    if up >= down and up >= 0.01:
        return up, f"like an insight you voted up (+{up:.2f})"
    if down > up and down >= 0.01:
        return -down, f"like an insight you voted down (-{down:.2f})"
    return 0.0, None


def _some(vectors: np.ndarray | None) -> bool:
    return vectors is not None and len(vectors) > 0


@dataclass(frozen=True)
class _Pick:
    position: int
    candidate: Candidate
    score: float
    reasons: tuple[str, ...]


def _pick_reasons(base_reasons: list[str], same_show: bool, closest: float, picked: int) -> tuple[str, ...]:
    reasons = list(base_reasons)
    if picked == 0:
        return (*reasons, "highest score today")
    reasons.append(f"another item from a show already in today's digest (-{SAME_SHOW_PENALTY:.2f})" if same_show
                   else "from a show not yet in today's digest")
    reasons.append(f"overlaps an earlier pick (similarity {closest:.2f})" if closest >= SIMILARITY_FLOOR
                   else "unlike anything picked so far")
    return tuple(reasons)


def _select(cands: list[Candidate], similar: np.ndarray, pool: list[int], prefs: Preferences, size: int,
            max_per_episode: int) -> list[_Pick]:
    newest = max((c.published_ts for c in cands if c.published_ts is not None), default=None)
    scored = {i: _base_score(cands[i], newest, prefs) for i in pool}
    closest = dict.fromkeys(pool, 0.0)
    shows, episodes, picks = Counter(), Counter(), []

    def value(i: int) -> float:
        resemblance = _scaled(closest[i], SIMILARITY_FLOOR, SIMILARITY_PENALTY)
        return scored[i][0] - resemblance - SAME_SHOW_PENALTY * shows[cands[i].show_id]

    while pool and len(picks) < size:
        best = max(pool, key=lambda i: (value(i), -cands[i].insight_id))
        reasons = _pick_reasons(scored[best][1], bool(shows[cands[best].show_id]), closest[best], len(picks))
        picks.append(_Pick(best, cands[best], round(value(best), 4), reasons))
        shows[cands[best].show_id] += 1
        episodes[cands[best].episode_id] += 1
        pool = [i for i in pool if i != best and episodes[cands[i].episode_id] < max_per_episode]
        for i in pool:
            closest[i] = max(closest[i], max(0.0, float(similar[i, best])))
    return picks
