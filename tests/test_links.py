"""Links between insights: close pairs by cosine across episodes, the language model's verdict on the
closest (through the real OpenAI-compatible client against a scripted fake endpoint), and the stage that
embeds with the real all-MiniLM-L6-v2 and stores each link once."""

from __future__ import annotations

import json

import numpy as np
import pytest
from fake_llm_server import FakeLLMServer
from sqlalchemy import select

from podsight.embed import load_embedder, pack_vector, unpack_vectors
from podsight.links import Pair, PairJudge, Ref, classify, close_pairs
from podsight.llm.openai_compat import OpenAICompatible
from podsight.pipeline.links import link_insights
from podsight.store.models import Episode, Feed, InsightLink, InsightRow

pytestmark = pytest.mark.both_backends  # SQLite and a real PostgreSQL (tests/conftest.py)


def unit(*values: float) -> np.ndarray:
    vector = np.array(values, dtype=np.float32)
    return vector / np.linalg.norm(vector)


def ref(insight_id: int, episode_id: int) -> Ref:
    return Ref(insight_id, episode_id, f"claim {insight_id}", f"quote {insight_id}")


def test_close_pairs_skip_the_same_episode_and_far_insights():
    stored = [ref(1, 10), ref(2, 11), ref(3, 12)]
    stored_vectors = np.vstack([unit(1, 0, 0), unit(1, 0.1, 0), unit(0, 0, 1)])
    new = [ref(4, 10), ref(5, 13)]
    new_vectors = np.vstack([unit(1, 0.05, 0), unit(1, 0.02, 0)])
    pool, pool_vectors = stored + new, np.vstack([stored_vectors, new_vectors])  # new ones pair up with each other too
    pairs = close_pairs(new, new_vectors, pool, pool_vectors, min_similarity=0.9)
    keys = [(p.first.insight_id, p.second.insight_id) for p in pairs]
    assert (1, 4) not in keys  # same episode
    assert set(keys) == {(2, 4), (4, 5), (1, 5), (2, 5)}  # 3 is far away; (4, 5) both new, listed once
    assert [p.similarity for p in pairs] == sorted((p.similarity for p in pairs), reverse=True)


def pair(similarity: float, a: int = 1, b: int = 2) -> Pair:
    return Pair(ref(a, a), ref(b, b), similarity)


def verdict_answer(relation: str, reason: str) -> str:
    return json.dumps({"relation": relation, "reason": reason})


def test_the_judge_decides_close_pairs_and_similarity_the_rest():
    script = [verdict_answer("contradicting", "one says rates rose, the other that they fell"),
              verdict_answer("unrelated", "different topics"), "not json at all", "still not json"]
    with FakeLLMServer(script) as fake:
        judge = PairJudge(OpenAICompatible(fake.base_url, "fake-model"))
        links = classify([pair(0.95, 1, 2), pair(0.9, 3, 4), pair(0.85, 5, 6), pair(0.8, 7, 8), pair(0.6, 9, 10)],
                         judge, budget=3, corroborating=0.78, judge_from=0.62)
    by_pair = {(l.pair.first.insight_id, l.pair.second.insight_id): l for l in links}
    assert by_pair[(1, 2)].kind == "contradicting" and "rates" in by_pair[(1, 2)].reason
    assert by_pair[(1, 2)].judged_by.startswith("fake-model")
    assert (3, 4) not in by_pair  # the judge said unrelated
    assert by_pair[(5, 6)].kind == "corroborating" and by_pair[(5, 6)].judged_by is None  # judge failed twice
    assert by_pair[(7, 8)].kind == "corroborating"  # over budget: similarity only
    assert by_pair[(9, 10)].kind == "related"
    assert judge.calls == 3 and judge.failures == 1


def add_insight(session, episode: Episode, claim: str) -> InsightRow:
    row = InsightRow(episode=episode, claim=claim, quote=claim, kind="claim", importance=0.5, start_s=0, end_s=1,
                     match_score=100, model="m", prompt_version="v")
    session.add(row)
    return row


@pytest.fixture
def two_shows(store):
    with store.session() as session:
        feeds = [Feed(url=f"http://x/{n}.xml") for n in range(2)]
        episodes = [Episode(feed=feed, key=f"e{n}", title=f"E{n}") for n, feed in enumerate(feeds)]
        session.add_all(episodes)
        add_insight(session, episodes[0], "The central bank raised interest rates by half a point in March.")
        add_insight(session, episodes[0], "Walking for ten minutes after dinner lowers blood sugar spikes.")
        add_insight(session, episodes[1], "In March the central bank did not raise interest rates at all.")
        add_insight(session, episodes[1], "Most startups fail because they run out of money.")
    return store


def test_stored_vectors_are_linked_as_they_are_and_old_insights_pair_with_new_ones_once(settings, store):
    settings.link_judge_pairs = 0
    embedder = load_embedder()
    claims = ["Battery pack prices fell ninety percent in ten years.", "Battery packs cost a tenth of what they did ten years ago."]
    with store.session() as session:
        episodes = [Episode(feed=Feed(url=f"http://x/{n}.xml"), key="e", title="E") for n in range(2)]
        old = add_insight(session, episodes[0], claims[0])
        new = add_insight(session, episodes[1], claims[1])
        old.embedding, old.embed_model, old.linked_model = pack_vector(embedder.embed([claims[0]])[0], "float16"), embedder.name, embedder.name
        # What the insights stage stores: a vector that the links stage must use, not make again.
        marker = pack_vector(embedder.embed(["Battery packs are a tenth of the old price."])[0], "float16")
        new.embedding, new.embed_model = marker, embedder.name
    counts = link_insights(store, settings, embedder=embedder)
    assert counts == {"linked": 1, "links": 1, "judged": 0}
    with store.session() as session:
        rows = {r.claim: r for r in session.scalars(select(InsightRow))}
        (link,) = session.scalars(select(InsightLink))
    assert rows[claims[1]].embedding == marker and rows[claims[1]].linked_model == embedder.name
    stored = unpack_vectors([rows[c].embedding for c in claims], embedder.dim)
    assert (link.insight_id, link.other_id) == (1, 2)
    assert link.similarity == pytest.approx(float(stored[0] @ stored[1]), abs=1e-3), "the stored vectors were compared"


def test_stage_embeds_links_and_reruns_for_free(settings, two_shows):
    settings.link_judge_pairs = 5
    answers = [verdict_answer("contradicting", "raised by half a point vs not raised")] * 5
    with FakeLLMServer(answers) as fake:
        settings.llm_base_url = fake.base_url
        first = link_insights(two_shows, settings)
        again = link_insights(two_shows, settings)
    assert first["linked"] == 4 and again == {"linked": 0, "links": 0, "judged": 0}
    with two_shows.session() as session:
        links = list(session.scalars(select(InsightLink)))
        rows = {r.id: r for r in session.scalars(select(InsightRow))}
    assert all(r.embedding is not None and r.embed_model == "all-minilm-l6-v2" for r in rows.values())
    rates = [l for l in links if {l.insight_id, l.other_id} == {1, 3}]
    assert len(rates) == 1 and rates[0].kind == "contradicting" and rates[0].judged_by
    assert not any({l.insight_id, l.other_id} == {2, 4} for l in links)  # unrelated topics are not linked
    assert first["judged"] == len(fake.requests) >= 1


def test_stage_without_judge_never_says_contradicting(settings, two_shows):
    settings.link_judge_pairs = 0
    link_insights(two_shows, settings)
    with two_shows.session() as session:
        kinds = {l.kind for l in session.scalars(select(InsightLink))}
    assert "contradicting" not in kinds


def test_a_new_claim_against_a_stored_one_in_the_opposite_direction_is_contradicting_without_a_judge(settings, store):
    settings.link_judge_pairs = 0  # no model: only the direction check can tell
    embedder = load_embedder()
    with store.session() as session:
        episodes = [Episode(feed=Feed(url=f"http://x/{n}.xml"), key="e", title="E") for n in range(2)]
        add_insight(session, episodes[0], "Freight rates on the Pacific route rose sharply this spring.")
    link_insights(store, settings, embedder=embedder)  # the first is stored and linked before the second comes
    with store.session() as session:
        add_insight(session, session.merge(episodes[1]), "Freight rates on the Pacific route fell sharply this spring.")
    link_insights(store, settings, embedder=embedder)
    with store.session() as session:
        (link,) = session.scalars(select(InsightLink))
    assert link.kind == "contradicting" and link.judged_by == "direction check", \
        "the stored claim's text is read for every pair close enough to corroborate"
