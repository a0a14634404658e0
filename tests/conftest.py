"""Shared fixtures: a settings object on a temporary home, its store, a real SMTP server on loopback."""

from __future__ import annotations

import os
import socket
import sys
from email import message_from_bytes
from email.message import Message
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # tests import servers.py, fake_llm_server.py

from podsight.config import Settings  # noqa: E402
from podsight.store.db import Store  # noqa: E402
from postgres_server import PostgresServer, find_binaries  # noqa: E402


def pytest_configure(config):
    config.addinivalue_line("markers", "both_backends: run the test on SQLite and on a real PostgreSQL")
    config.addinivalue_line("markers", "sqlite_only: the test reads the SQLite file itself (never on PostgreSQL)")


def pytest_generate_tests(metafunc):
    """Tests marked both_backends run twice, once per database; the rest on SQLite alone, or all of them on
    PostgreSQL with TEST_DATABASE=postgresql."""
    if "database_url" in metafunc.fixturenames:
        both = metafunc.definition.get_closest_marker("both_backends") is not None
        only = os.environ.get("TEST_DATABASE")
        if metafunc.definition.get_closest_marker("sqlite_only"):
            backends = ["sqlite"]
        else:
            backends = [only] if only else ["sqlite", "postgresql"] if both else ["sqlite"]
        metafunc.parametrize("database_url", backends, indirect=True)


@pytest.fixture(scope="session")
def postgres():
    """One PostgreSQL cluster for the whole test run (a second or so to start), or a skip saying why."""
    bin_dir = find_binaries()
    if bin_dir is None:
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql; `make test` does it as root)")
    with PostgresServer.start(bin_dir) as server:
        yield server


@pytest.fixture
def database_url(request) -> str | None:
    """None: SQLite in the test's home (the default); else a new empty PostgreSQL database."""
    if request.param == "postgresql":
        return request.getfixturevalue("postgres").new_database()
    return None


@pytest.fixture
def settings(tmp_path: Path, database_url: str | None, monkeypatch) -> Settings:
    if database_url:  # the CLI a test invokes (`--home` alone) reads the same database
        monkeypatch.setenv("PODSIGHT_DATABASE_URL", database_url)
    # tests serve feeds, audio and webhooks on 127.0.0.1: they opt in to private addresses explicitly
    # The fakes standing in for the model script chunk answers ({"insights": [...]}), so these tests take the
    # chunk extractor; passage extraction (the default) has tests of its own (tests/test_insights_passages.py).
    # The scripted fakes also answer in the order they are asked, so episodes are extracted one at a time here
    # (llm_concurrency 1); tests/test_pipeline_concurrency.py runs them side by side.
    return Settings(home=tmp_path / "home", fetch_timeout_s=2.0, secret_key="test-secret", allow_private_addresses=True,
                    extraction="chunks", database_url=database_url, llm_concurrency=1)


@pytest.fixture
def store(settings: Settings):
    store = Store(settings.db_url)
    yield store
    store.close()


class MailSink:
    """aiosmtpd handler that keeps every message; `refuse` makes it answer RCPT with 550."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.refuse = False

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 (aiosmtpd API)
        if self.refuse:
            return "550 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.messages.append(message_from_bytes(envelope.content))
        return "250 Message accepted"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def mail_sink():
    """A real SMTP server (aiosmtpd) on 127.0.0.1; yields (sink, port)."""
    from aiosmtpd.controller import Controller

    sink = MailSink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield sink, controller.port
    controller.stop()
