"""Links with pgvector: a real PostgreSQL 16 with the extension (the `pgserver` wheel, started here), against
the exact numpy search on SQLite, which stays the reference.

pgvector's HNSW index is approximate; at this size it finds every neighbour, so both searches must give the
same links. Pairs within 0.01 of the `related` threshold are left out of the comparison: float32 on two
engines may round them either way.
"""

from __future__ import annotations

import tempfile
from itertools import count

import pytest
import sqlalchemy
from sqlalchemy import select, text

from podsight.config import Settings
from podsight.embed import load_embedder
from podsight.links import RELATED
from podsight.pipeline.links import link_insights
from podsight.store.db import Store
from podsight.store.models import Episode, Feed, InsightLink, InsightRow
from podsight.store.vectors import search_for

# Four shows that say some of the same things in other words, and some things nobody else says.
CLAIMS = [
    ["Battery pack prices fell by ninety percent over the last decade.",
     "Remote teams ship faster when decisions are written down instead of discussed in meetings.",
     "Sourdough starter needs feeding twice a day in a warm kitchen."],
    ["Batteries cost a tenth of what they did ten years ago.",
     "Most startups die because they run out of money before finding customers.",
     "Written decisions make distributed teams faster than meetings do."],
    ["Startups usually fail from running out of cash, not from competition.",
     "Grid-scale storage became affordable because lithium cells got so cheap.",
     "A dog needs two walks a day."],
    ["Meetings slow remote engineering teams down; writing things down speeds them up.",
     "Lithium battery costs dropped about ninety percent in ten years.",
     "Interest rates shape how much venture money reaches young companies."],
]
_databases = count(1)


@pytest.fixture(scope="module")
def pgvector_server():
    pgserver = pytest.importorskip("pgserver", reason="the test extra's pgserver (PostgreSQL 16 + pgvector)")
    folder = tempfile.mkdtemp(prefix="podsight-pgvector-")
    server = pgserver.get_server(folder, cleanup_mode="delete")
    yield folder
    server.cleanup()


def new_database(folder: str) -> str:
    name = f"links_{next(_databases)}"
    admin = sqlalchemy.create_engine(f"postgresql+psycopg://postgres@/postgres?host={folder}", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return f"postgresql+psycopg://postgres@/{name}?host={folder}"


def fill(store: Store) -> None:
    with store.session() as session:
        for n, claims in enumerate(CLAIMS):
            episode = Episode(feed=Feed(url=f"http://show/{n}.xml"), key="e", title=f"E{n}")
            session.add_all(InsightRow(episode=episode, claim=c, quote=c, kind="claim", importance=0.5, start_s=0,
                                       end_s=1, match_score=100, model="m", prompt_version="v") for c in claims)


def links_of(store: Store) -> dict[frozenset[str], tuple[str, float]]:
    with store.session() as session:
        claim = dict(session.execute(select(InsightRow.id, InsightRow.claim)).all())
        return {frozenset((claim[l.insight_id], claim[l.other_id])): (l.kind, l.similarity)
                for l in session.scalars(select(InsightLink))}


def away_from_threshold(links: dict) -> dict:
    return {pair: link for pair, link in links.items() if abs(link[1] - RELATED) > 0.01}


def linked(tmp_path, database_url: str | None) -> Store:
    settings = Settings(home=tmp_path / "home", database_url=database_url, link_judge_pairs=0)
    store = Store(settings.db_url)
    fill(store)
    link_insights(store, settings, embedder=load_embedder())
    return store


def test_pgvector_finds_the_same_links_as_the_exact_search(tmp_path, pgvector_server):
    exact = linked(tmp_path / "sqlite", None)
    indexed = linked(tmp_path / "pg", new_database(pgvector_server))
    assert search_for(exact) is None and search_for(indexed) is not None
    want, got = links_of(exact), links_of(indexed)
    assert len(want) >= 4, "the claims were written so that each idea recurs across shows"
    assert away_from_threshold(got).keys() == away_from_threshold(want).keys()
    for pair, (kind, similarity) in away_from_threshold(want).items():
        assert got[pair][0] == kind and got[pair][1] == pytest.approx(similarity, abs=2e-3)


def test_the_neighbour_query_is_answered_by_the_hnsw_index(tmp_path, pgvector_server):
    store = linked(tmp_path, new_database(pgvector_server))
    dim = load_embedder().dim
    with store.session() as session:
        session.execute(text("SET LOCAL enable_seqscan = off"))  # eleven rows: the planner would rather scan
        plan = "\n".join(session.execute(text(
            f"EXPLAIN SELECT id FROM insights WHERE vector_dims(claim_vector) = {dim} AND linked_model = 'x' "
            f"ORDER BY claim_vector::vector({dim}) <=> (SELECT claim_vector::vector({dim}) FROM insights LIMIT 1) "
            f"LIMIT 10")).scalars())
    assert f"ix_insights_claim_vector_{dim}" in plan


def test_insights_linked_before_the_extension_are_indexed_and_found(tmp_path, pgvector_server):
    settings = Settings(home=tmp_path / "home", database_url=new_database(pgvector_server), link_judge_pairs=0)
    store = Store(settings.db_url)
    fill(store)
    embedder = load_embedder()
    link_insights(store, settings, embedder=embedder)
    before = links_of(store)
    with store.session() as session:  # as if linked by a podsight before the server had pgvector
        session.execute(text("UPDATE insights SET claim_vector = NULL"))
        episode = Episode(feed=Feed(url="http://show/late.xml"), key="e", title="Late")
        late = "Battery prices have come down by roughly ninety percent within a decade."
        session.add(InsightRow(episode=episode, claim=late, quote=late, kind="claim", importance=0.5, start_s=0,
                               end_s=1, match_score=100, model="m", prompt_version="v"))
    link_insights(store, settings, embedder=embedder)
    with store.session() as session:
        assert session.scalar(text("SELECT count(*) FROM insights WHERE claim_vector IS NULL")) == 0
    new = links_of(store).keys() - before.keys()
    assert frozenset((late, CLAIMS[0][0])) in new and frozenset((late, CLAIMS[1][0])) in new


def test_a_postgresql_without_the_extension_keeps_the_exact_search(settings, postgres):
    store = Store(postgres.new_database())
    try:
        with store.session() as session:
            assert session.scalar(text("SELECT count(*) FROM pg_extension WHERE extname = 'vector'")) == 0
        assert search_for(store) is None
    finally:
        store.close()
