"""Digest email: built as multipart/alternative, delivered to a real aiosmtpd server on 127.0.0.1."""

from __future__ import annotations

import email
import email.policy
import shutil
import socket
import ssl
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from podsight.digest.email import build_message, send_message
from podsight.digest.render import render_html, render_text
from podsight.errors import DeliveryError
from podsight.records import Digest, DigestItem

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


class Inbox:
    """An aiosmtpd handler that keeps every message it receives, parsed."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes: list = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 OK"


class RefusingInbox(Inbox):
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        return "550 mailbox unavailable"


def password_check(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == b"alice" and auth_data.password == b"wonder"
    return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 itself


@contextmanager
def smtp_server(handler, **smtp_options) -> Iterator[int]:
    port = free_port()
    controller = Controller(handler, hostname=HOST, port=port, **smtp_options)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


def sample_digest(items: int = 2) -> Digest:
    item = DigestItem(1, "Open models match GPT-4 on coding.", "Self-hosting is viable.", "within a point",
                      "Jane Doe", "data_point", 754.0, "The AI Show", "Ep 12", "https://a.example/e.mp3#t=754", 0.9)
    return Digest("reader@example.com", "2026-11-30", (item,) * items, "https://p.example/u/tok")


def sample_message(digest: Digest | None = None, **options):
    digest = digest or sample_digest()
    return build_message(digest, render_html(digest), render_text(digest), from_addr="podsight <digest@p.example>",
                         unsubscribe_url="https://p.example/u/tok", **options)


def test_message_shape_and_headers():
    msg = sample_message(unsubscribe_mailto="unsubscribe@p.example")
    assert msg.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in msg.iter_parts()] == ["text/plain", "text/html"]
    assert msg["Subject"] == "Your podsight digest for 30 Nov 2026: 2 insights"
    assert msg["List-Unsubscribe"] == "<https://p.example/u/tok>, <mailto:unsubscribe@p.example>"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert msg["Date"] and msg["To"] == "reader@example.com"
    assert "reader" not in msg["Message-ID"] and msg["Message-ID"].endswith("@podsight.local>")


def test_message_id_is_stable_per_subscriber_and_day():
    first, again = sample_message(), sample_message()
    assert first["Message-ID"] == again["Message-ID"]
    other_day = Digest("reader@example.com", "2026-12-01", (), None)
    assert sample_message(other_day)["Message-ID"] != first["Message-ID"]
    assert sample_message(other_day)["Subject"].endswith(": nothing new")
    assert sample_message(sample_digest(1))["Subject"].endswith(": 1 insight")


def test_unusable_address_is_a_delivery_error():
    bad = Digest("reader@example.com\r\nBcc: victim@example.com", "2026-11-30", (), None)
    with pytest.raises(DeliveryError, match="cannot build"):
        sample_message(bad)


def test_delivered_to_a_real_smtp_server():
    inbox = Inbox()
    with smtp_server(inbox) as port:
        send_message(sample_message(), host=HOST, port=port, security="none", timeout_s=5)
    (received,) = inbox.messages
    assert inbox.envelopes[0].rcpt_tos == ["reader@example.com"]
    assert received.get_content_type() == "multipart/alternative"
    text, html = received.iter_parts()
    assert "Listen at 12:34" in text.get_content() and "<blockquote" in html.get_content()
    assert received["List-Unsubscribe"] == "<https://p.example/u/tok>"
    assert received["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert received["Subject"] == "Your podsight digest for 30 Nov 2026: 2 insights"


def test_refused_recipient_is_a_delivery_error_with_the_code():
    with smtp_server(RefusingInbox()) as port:
        with pytest.raises(DeliveryError, match="550 mailbox unavailable"):
            send_message(sample_message(), host=HOST, port=port, security="none", timeout_s=5)


def test_nothing_listening_is_a_delivery_error():
    with pytest.raises(DeliveryError, match="smtp_host and smtp_port"):
        send_message(sample_message(), host=HOST, port=free_port(), security="none", timeout_s=5)


def test_login_over_plain_connection():
    inbox = Inbox()
    with smtp_server(inbox, authenticator=password_check, auth_require_tls=False) as port:
        send_message(sample_message(), host=HOST, port=port, security="none", username="alice", password="wonder",
                     timeout_s=5)
        with pytest.raises(DeliveryError, match="535.*smtp_username and smtp_password"):
            send_message(sample_message(), host=HOST, port=port, security="none", username="alice",
                         password="wrong", timeout_s=5)
    assert len(inbox.messages) == 1


def test_unknown_security_names_the_choices():
    with pytest.raises(Exception, match="starttls, tls, none"):
        send_message(sample_message(), host=HOST, port=25, security="ssl")


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 made with the openssl command (the cryptography package is not a
    dependency)."""
    if not shutil.which("openssl"):
        pytest.skip("the openssl command is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True, timeout=30)
    return cert, key


def server_context(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


def test_starttls_with_login(self_signed):
    cert, key = self_signed
    inbox = Inbox()
    trusting = ssl.create_default_context(cafile=str(cert))
    with smtp_server(inbox, tls_context=server_context(cert, key), require_starttls=True,
                     authenticator=password_check) as port:
        send_message(sample_message(), host=HOST, port=port, security="starttls", username="alice",
                     password="wonder", timeout_s=5, ssl_context=trusting)
        # Without trusting our test CA, the system's default context must refuse the certificate.
        with pytest.raises(DeliveryError, match="TLS .*certificate"):
            send_message(sample_message(), host=HOST, port=port, security="starttls", timeout_s=5)
    assert len(inbox.messages) == 1


def test_starttls_refused_by_a_server_that_does_not_offer_it():
    with smtp_server(Inbox()) as port:
        with pytest.raises(DeliveryError, match="does not support"):
            send_message(sample_message(), host=HOST, port=port, security="starttls", timeout_s=5)


def test_implicit_tls(self_signed):
    cert, key = self_signed
    inbox = Inbox()
    with smtp_server(inbox, ssl_context=server_context(cert, key)) as port:
        send_message(sample_message(), host=HOST, port=port, security="tls", timeout_s=5,
                     ssl_context=ssl.create_default_context(cafile=str(cert)))
    assert len(inbox.messages) == 1


def test_silent_server_times_out_as_a_delivery_error():
    with socket.socket() as listener:  # accepts connections (the kernel does) but never greets
        listener.bind((HOST, 0))
        listener.listen()
        with pytest.raises(DeliveryError, match="did not answer in time"):
            send_message(sample_message(), host=HOST, port=listener.getsockname()[1], security="none", timeout_s=0.5)
