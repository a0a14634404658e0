"""Shared fixtures: a settings object on a temporary home, its store, a real SMTP server on loopback."""

from __future__ import annotations

import socket
import sys
from email import message_from_bytes
from email.message import Message
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # tests import servers.py, fake_llm_server.py

from podsight.config import Settings  # noqa: E402
from podsight.store.db import Store  # noqa: E402


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # tests serve feeds, audio and webhooks on 127.0.0.1: they opt in to private addresses explicitly
    # The fakes standing in for the model script chunk answers ({"insights": [...]}), so these tests take the
    # chunk extractor; passage extraction (the default) has tests of its own (tests/test_insights_passages.py).
    return Settings(home=tmp_path / "home", fetch_timeout_s=2.0, secret_key="test-secret", allow_private_addresses=True,
                    extraction="chunks")


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
