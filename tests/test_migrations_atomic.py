"""An upgrade is all or nothing: a process killed in the middle of one (power cut, OOM killer, Ctrl-C twice)
leaves the database at the version it started from, and the next start upgrades it cleanly.

The kill is real: a subprocess runs `Store(url)` with a SQLAlchemy listener that SIGKILLs its own process
just before the Nth CREATE statement reaches SQLite, so nothing gets to clean up."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import threading

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from podsight.store.db import Store, alembic_config, make_engine
from podsight.store.models import Base

KILLER = textwrap.dedent("""
    import os, signal, sys
    from sqlalchemy import Engine, event
    from podsight.store.db import Store

    url, kill_at = sys.argv[1], int(sys.argv[2])
    creates = 0

    @event.listens_for(Engine, "before_cursor_execute")
    def die_midway(conn, cursor, statement, parameters, context, executemany):
        global creates
        if statement.lstrip().upper().startswith("CREATE"):
            creates += 1
            if creates == kill_at:
                os.kill(os.getpid(), signal.SIGKILL)

    Store(url)
    print("upgrade finished before the kill")
""")


def _database_at(tmp_path, revision: str) -> str:
    url = f"sqlite:///{tmp_path / 'p.db'}"
    engine = make_engine(url)
    cfg = alembic_config()
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)
        connection.execute(text(
            "INSERT INTO subscribers (id, email, timezone, send_hour, interests, follows_all, status, created_at)"
            " VALUES (1, 'a@b.c', 'UTC', 7, '', 1, 'active', '2026-01-01')"))
    engine.dispose()
    return url


def _version(url: str) -> str | None:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def _head() -> str:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def _kill_upgrade(url: str, kill_at: int) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", KILLER, url, str(kill_at)], capture_output=True, text=True,
                          timeout=120)


def _not_fts(name, type_, parent_names) -> bool:
    return not (type_ == "table" and "_fts" in (name or ""))


def test_an_upgrade_killed_after_the_third_create_rolls_back_and_the_next_start_succeeds(tmp_path):
    url = _database_at(tmp_path, "0002")
    killed = _kill_upgrade(url, kill_at=3)  # 0003: three ADD COLUMNs, an index, a table, then this CREATE
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr

    # nothing of 0003 stayed behind: the version row and the schema are both still 0002's
    assert _version(url) == "0002"
    engine = make_engine(url)
    columns = {column["name"] for column in inspect(engine).get_columns("subscribers")}
    assert "email_enabled" not in columns and not inspect(engine).has_table("admin_users")
    engine.dispose()

    store = Store(url)  # the next start upgrades from 0002 again, all the way
    with store.engine.connect() as connection:
        assert MigrationContext.configure(connection).get_current_revision() == _head()
        diff = compare_metadata(MigrationContext.configure(connection, opts={"include_name": _not_fts}),
                                Base.metadata)
        assert diff == []
        assert connection.execute(text("SELECT email FROM subscribers")).scalars().all() == ["a@b.c"]
    store.close()


def test_a_kill_at_any_create_of_a_fresh_install_leaves_an_empty_or_whole_schema(tmp_path):
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    for kill_at in (1, 5, 12):
        killed = _kill_upgrade(url, kill_at)
        assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
        assert _version(url) is None
    store = Store(url)
    with store.engine.connect() as connection:
        assert MigrationContext.configure(connection).get_current_revision() == _head()
    store.close()


def test_two_processes_starting_at_once_upgrade_once(tmp_path):
    """Both take the write lock before reading the version, so the second waits and finds nothing to do."""
    url = _database_at(tmp_path, "0002")
    errors: list[BaseException] = []

    def start() -> None:
        try:
            Store(url).close()
        except BaseException as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == [] and _version(url) == _head()


def test_sessions_still_commit_roll_back_and_read_in_wal_mode(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'p.db'}")
    with store.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    insert = text("INSERT INTO subscribers (email, timezone, send_hour, interests, follows_all, status, created_at,"
                  " email_enabled) VALUES (:email, 'UTC', 7, '', 1, 'active', '2026-01-01', 1)")
    with store.session() as session:
        session.execute(insert, {"email": "kept@example.com"})
    try:
        with store.session() as session:
            session.execute(insert, {"email": "dropped@example.com"})
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    with store.session() as session:
        assert session.execute(text("SELECT email FROM subscribers")).scalars().all() == ["kept@example.com"]
    store.close()
