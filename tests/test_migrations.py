"""The Alembic migrations build exactly the schema the models describe, and upgrading a database that
already holds a digest keeps every row."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from podsight.store.db import Store, alembic_config, make_engine
from podsight.store.models import Base


def test_migrated_schema_matches_the_models(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'p.db'}")
    with store.engine.connect() as connection:
        # FTS5 virtual tables (and their shadow tables) are made by raw SQL, not by the models
        context = MigrationContext.configure(connection, opts={"include_name": _not_fts})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


def _not_fts(name, type_, parent_names) -> bool:
    return not (type_ == "table" and "_fts" in (name or ""))


def test_full_text_index_follows_inserts_updates_and_deletes(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'p.db'}")
    with store.engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO feeds (id, url, status, consecutive_errors, created_at) VALUES (1, 'http://x/f', 'active', 0, '2026-01-01')"))
        connection.execute(text(
            "INSERT INTO episodes (id, feed_id, key, title, description, transcript_links, persons, state, attempts,"
            " first_seen_at) VALUES (1, 1, 'k', 'T', '', '[]', '[]', 'extracted', 0, '2026-01-01')"))
        connection.execute(text(
            "INSERT INTO segments (id, episode_id, idx, start_s, end_s, text) VALUES (1, 1, 0, 0, 1, 'Heat pumps in Oslo')"))
        connection.execute(text("UPDATE segments SET text = 'Heat pumps in Bergen' WHERE id = 1"))
        find = text("SELECT rowid FROM segments_fts WHERE segments_fts MATCH :q")
        assert connection.execute(find, {"q": "bergen"}).all() == [(1,)]
        assert connection.execute(find, {"q": "oslo"}).all() == []
        connection.execute(text("DELETE FROM segments WHERE id = 1"))
        assert connection.execute(find, {"q": "bergen"}).all() == []


def test_upgrade_from_the_first_schema_keeps_digests(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = make_engine(url)
    cfg = alembic_config()
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "0001")
        _feed_and_episode(connection)
        connection.execute(text(
            "INSERT INTO insights (id, episode_id, claim, why, quote, kind, importance, start_s, end_s, match_score,"
            " model, prompt_version, created_at) VALUES (1, 1, 'c', '', 'q', 'claim', 0.5, 0, 1, 100, 'm', 'v',"
            " '2026-01-01')"))
        connection.execute(text(
            "INSERT INTO subscribers (id, email, timezone, send_hour, interests, follows_all, status, created_at)"
            " VALUES (1, 'a@b.c', 'UTC', 7, '', 1, 'active', '2026-01-01')"))
        connection.execute(text("INSERT INTO digests (id, subscriber_id, day, created_at) VALUES (1, 1, '2026-01-01', '2026-01-01')"))
        connection.execute(text(
            "INSERT INTO digest_items (id, digest_id, insight_id, position, score, reasons) VALUES (1, 1, 1, 0, 1, '[]')"))
    engine.dispose()

    store = Store(url)  # migrates to the newest revision
    with store.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM digest_items")).scalar() == 1
        assert connection.execute(text("SELECT embedding FROM insights WHERE id = 1")).scalar() is None
        assert connection.execute(text("SELECT count(*) FROM insight_links")).scalar() == 0


def test_insights_embedded_before_0004_count_as_linked(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = make_engine(url)
    cfg = alembic_config()
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "0003")
        _feed_and_episode(connection)
        for insight_id, vector in ((1, "x'00'"), (2, "NULL")):  # linked in the old stage / not yet
            connection.execute(text(
                "INSERT INTO insights (id, episode_id, claim, why, quote, kind, importance, start_s, end_s, match_score,"
                f" model, prompt_version, created_at, embedding, embed_model) VALUES ({insight_id}, 1, 'c', '', 'q',"
                f" 'claim', 0.5, 0, 1, 100, 'm', 'v', '2026-01-01', {vector}, 'all-minilm-l6-v2')"))
    engine.dispose()

    store = Store(url)
    with store.engine.connect() as connection:
        linked = connection.execute(text("SELECT id, linked_model FROM insights ORDER BY id")).all()
    assert linked == [(1, "all-minilm-l6-v2"), (2, None)]


def _feed_and_episode(connection) -> None:
    """Feed 1 with episode 1, in columns every revision has."""
    connection.execute(text(
        "INSERT INTO feeds (id, url, status, consecutive_errors, created_at) VALUES (1, 'http://x/f', 'active', 0, '2026-01-01')"))
    connection.execute(text(
        "INSERT INTO episodes (id, feed_id, key, title, description, transcript_links, persons, state, attempts,"
        " first_seen_at) VALUES (1, 1, 'k', 'T', '', '[]', '[]', 'extracted', 0, '2026-01-01')"))
