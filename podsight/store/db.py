"""Opening the database: engine, SQLite pragmas, migrations, sessions."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).parent / "migrations"


def make_engine(url: str) -> Engine:
    """An engine for `url`; SQLite gets WAL, foreign keys and a busy timeout."""
    if url.startswith("sqlite:///") and not url.endswith(":memory:"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, future=True)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cursor = dbapi_conn.cursor()
    # WAL lets `podsight serve` read while `podsight run` writes
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest migration: all pending migrations and the version row in one
    transaction, so a process killed midway leaves the database at the version it started from."""
    cfg = alembic_config()
    with engine.connect() as connection, _transactional_ddl(connection):
        with connection.begin():
            if connection.dialect.name == "sqlite":
                # IMMEDIATE: take the write lock before alembic reads the version, so a second process
                # starting at the same time waits (busy_timeout) and then finds nothing left to do
                connection.exec_driver_sql("BEGIN IMMEDIATE")
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, "head")


@contextmanager
def _transactional_ddl(connection: Connection) -> Iterator[None]:
    """SQLAlchemy's "transactional DDL" recipe for pysqlite, for this one connection.

    Python's sqlite3 opens a transaction only before INSERT/UPDATE/DELETE, so CREATE TABLE and ALTER TABLE
    ran in autocommit: an upgrade killed after its third CREATE kept the first two, stayed at the old
    version, and failed on every later start ("duplicate column name"). With isolation_level=None the
    driver leaves transactions alone and `migrate` emits BEGIN itself, which SQLite honours for DDL too.

    Only migrations get this. The app's own sessions keep the driver's default (BEGIN at the first
    write): a WAL reader that began with BEGIN and later writes fails at once with SQLITE_BUSY_SNAPSHOT
    when another process committed in between, without waiting for busy_timeout.
    """
    if connection.dialect.name != "sqlite":
        yield  # PostgreSQL runs DDL inside transactions already
        return
    driver = connection.connection.driver_connection
    saved = driver.isolation_level
    driver.isolation_level = None  # no transaction is open yet, so this commits nothing
    try:
        yield
    finally:
        if connection.in_transaction():
            connection.rollback()
        driver.isolation_level = saved  # back to the pool as it came out


class Store:
    """The database of one podsight installation."""

    def __init__(self, url: str):
        self.url = url
        self.engine = make_engine(url)
        migrate(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session committed on success, rolled back on error."""
        with self._sessions() as session:
            with session.begin():
                yield session

    def close(self) -> None:
        self.engine.dispose()
