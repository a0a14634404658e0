"""The signing key: generated once per home folder (mode 0600, one key even when processes start together),
or the configured one; never a default that anyone could forge digest links or feed addresses with."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from podsight.config import Settings, load_settings
from podsight.digest.tokens import sign, verify
from podsight.errors import ConfigError
from podsight.pipeline.digest_view import unsubscribe_url
from podsight.store.db import Store
from podsight.store.models import Subscriber
from podsight.store.queries import add_subscriber
from podsight.web import create_app
from podsight.web.feeds import atom_feed_url

OLD_DEFAULT = "change-me"  # the key podsight once used when none was configured: an attacker's first guess
READ_KEY = "import sys; from podsight.config import Settings; print(Settings(home=sys.argv[1]).signing_key())"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


def test_fresh_home_gets_a_private_key_file_used_from_then_on(home):
    key = Settings(home=home).signing_key()
    path = home / "secret_key"
    assert path.read_text().strip() == key and len(key) >= 40  # 32 random bytes, base64
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert Settings(home=home).signing_key() == key
    other_process = subprocess.run([sys.executable, "-c", READ_KEY, str(home)], capture_output=True, text=True, check=True)
    assert other_process.stdout.strip() == key
    assert [p.name for p in home.iterdir()] == ["secret_key"]  # no temporary file left behind


def test_processes_starting_together_agree_on_one_key(home, tmp_path):
    go = tmp_path / "go"
    wait_then_read = f"import os, time\nwhile not os.path.exists({str(go)!r}): time.sleep(0.005)\n{READ_KEY}"
    processes = [subprocess.Popen([sys.executable, "-c", wait_then_read, str(home)], stdout=subprocess.PIPE, text=True)
                 for _ in range(6)]
    go.touch()  # all six have started (or are starting): they race for the file
    keys = {process.communicate(timeout=60)[0].strip() for process in processes}
    assert keys == {(home / "secret_key").read_text().strip()}


def test_configured_key_is_used_and_no_file_written(home, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no stray podsight.toml
    monkeypatch.delenv("PODSIGHT_CONFIG", raising=False)
    monkeypatch.setenv("PODSIGHT_SECRET_KEY", "configured-key-0123456789")
    settings = load_settings(home=home)
    assert settings.signing_key() == "configured-key-0123456789"
    token = atom_feed_url(settings, 7).rsplit("/", 1)[1].removesuffix(".atom")
    assert verify("configured-key-0123456789", "atom", token) == "7"
    assert not (home / "secret_key").exists()


def test_empty_configured_key_means_generated(home):
    settings = Settings(home=home, secret_key="")
    assert settings.secret_key is None
    assert settings.signing_key() == (home / "secret_key").read_text().strip()


def test_key_file_others_can_read_is_refused(home):
    Settings(home=home).signing_key()
    (home / "secret_key").chmod(0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        Settings(home=home).signing_key()


def test_config_show_says_where_the_key_is_and_never_shows_it(home):
    settings = Settings(home=home)
    assert "generated on first use" in settings.redacted()["secret_key"]
    key = settings.signing_key()
    shown = json.dumps(settings.redacted())
    assert key not in shown and str(home / "secret_key") in shown
    configured = Settings(home=home, secret_key="configured-key-0123456789").redacted()
    assert configured["secret_key"] == "******** (configured)"


@pytest.fixture
def app_without_configured_key(home):
    """The real web app as a fresh install runs it: no secret_key set anywhere."""
    settings = Settings(home=home, fetch_timeout_s=2.0)
    store = Store(settings.db_url)
    with store.session() as session:
        subscriber, _ = add_subscriber(session, "victim@example.com", "UTC", 7, "", [])
        subscriber_id = subscriber.id
    with TestClient(create_app(settings, store)) as client:
        yield client, settings, store, subscriber_id
    store.close()


def test_feed_token_forged_with_the_old_default_is_refused(app_without_configured_key):
    client, settings, _, subscriber_id = app_without_configured_key
    forged = sign(OLD_DEFAULT, "atom", str(subscriber_id))
    refused = client.get(f"/feeds/{forged}.atom")
    assert refused.status_code == 404 and "victim@example.com" not in refused.text
    genuine = client.get("/feeds/" + atom_feed_url(settings, subscriber_id).rsplit("/", 1)[1])
    assert genuine.status_code == 200 and "victim@example.com" in genuine.text  # the app itself works


def test_unsubscribe_token_forged_with_the_old_default_is_refused(app_without_configured_key):
    client, settings, store, _ = app_without_configured_key
    forged = sign(OLD_DEFAULT, "unsubscribe", "victim@example.com")
    assert client.post(f"/unsubscribe/{forged}").status_code == 404
    with store.session() as session:
        assert session.scalar(select(Subscriber.status)) == "active"
    genuine = "/unsubscribe/" + unsubscribe_url(settings, "victim@example.com").rsplit("/", 1)[1]
    assert client.post(genuine).status_code == 200
    with store.session() as session:
        assert session.scalar(select(Subscriber.status)) == "unsubscribed"
