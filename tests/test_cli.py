"""The `podsight` command as a user types it (Typer's CliRunner, real SQLite, feeds on 127.0.0.1)."""

from __future__ import annotations

import json

import pytest
from servers import Static, serve
from typer.main import get_command
from typer.testing import CliRunner

from podsight.cli import app

runner = CliRunner()
OPML = """<?xml version="1.0"?><opml version="2.0"><head><title>mine</title></head><body>
<outline text="Tech"><outline type="rss" text="Show A" xmlUrl="https://a.example/feed.xml"/>
<outline type="rss" text="Show B" xmlUrl="https://b.example/rss"/></outline></body></opml>"""


@pytest.fixture
def cli(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no stray podsight.toml
    for name in ("PODSIGHT_CONFIG", "PODSIGHT_HOME"):
        monkeypatch.delenv(name, raising=False)

    def invoke(*args: str):
        result = runner.invoke(app, ["--home", str(tmp_path / "home"), *args])
        result.text = " ".join(result.output.split())  # rich wraps lines at the terminal width
        return result

    return invoke


def test_feeds_add_list_and_opml_round_trip(cli, tmp_path):
    (tmp_path / "in.opml").write_text(OPML)
    assert cli("feeds", "add", "https://c.example/feed").exit_code == 0
    result = cli("feeds", "import-opml", str(tmp_path / "in.opml"))
    assert result.exit_code == 0 and "2 added" in result.text
    again = cli("feeds", "import-opml", str(tmp_path / "in.opml"))
    assert "0 added, 2 already followed" in again.text
    listed = json.loads(cli("feeds", "list", "--json").output)
    assert [f["url"] for f in listed] == ["https://c.example/feed", "https://a.example/feed.xml", "https://b.example/rss"]
    exported = cli("feeds", "export-opml").output
    assert 'xmlUrl="https://a.example/feed.xml"' in exported and 'text="Show B"' in exported


def test_import_opml_from_a_url(cli, monkeypatch):
    monkeypatch.setenv("PODSIGHT_ALLOW_PRIVATE_ADDRESSES", "true")  # served on 127.0.0.1
    with serve({"/subs.opml": Static(body=OPML, headers={"Content-Type": "text/x-opml"})}) as base:
        result = cli("feeds", "import-opml", base + "/subs.opml")
    assert result.exit_code == 0 and "2 added" in result.text


def test_bad_input_gives_one_clear_line(cli, tmp_path):
    bad_url = cli("feeds", "add", "not-a-url")
    assert bad_url.exit_code != 0 and "not an http(s) URL" in str(bad_url.exception)
    (tmp_path / "bad.opml").write_text("<html><body>nope</body></html>")
    assert cli("feeds", "import-opml", str(tmp_path / "bad.opml")).exit_code != 0
    bad_tz = cli("subscribers", "add", "a@example.com", "--tz", "Mars/Olympus")
    assert "unknown timezone" in str(bad_tz.exception)


def test_subscribers_and_status_and_config(cli, monkeypatch):
    cli("feeds", "add", "https://a.example/feed.xml")
    added = cli("subscribers", "add", "Reader@Example.com", "--tz", "Europe/Paris", "--send-hour", "6")
    assert added.exit_code == 0 and "reader@example.com" in added.text
    subs = json.loads(cli("subscribers", "list", "--json").output)
    assert subs[0]["timezone"] == "Europe/Paris" and subs[0]["follows_all"] is True
    status = json.loads(cli("status", "--json").output)
    assert status["feeds"][0]["url"] == "https://a.example/feed.xml" and status["subscribers"] == 1
    monkeypatch.setenv("PODSIGHT_SMTP_PASSWORD", "hunter2")
    monkeypatch.setenv("PODSIGHT_SMTP_USERNAME", "me")
    shown = cli("config", "show", "--json")
    assert "hunter2" not in shown.output and json.loads(shown.output)["smtp_password"] == "********"


def test_unknown_environment_setting_is_named(cli, monkeypatch):
    monkeypatch.setenv("PODSIGHT_SMTP_HOTS", "x")
    result = cli("config", "show")
    assert result.exit_code != 0 and "PODSIGHT_SMTP_HOTS" in str(result.exception)


def test_digest_show_without_digest_says_what_to_do(cli):
    cli("subscribers", "add", "a@example.com")
    result = cli("digest", "show")
    assert result.exit_code != 0 and "podsight run" in str(result.exception)


def _commands(group, prefix: str = ""):
    for name, command in group.commands.items():
        yield f"{prefix}{name}", command
        if hasattr(command, "commands"):  # a group: walk its subcommands
            yield from _commands(command, f"{prefix}{name} ")


def test_every_command_has_help_text():
    missing = [name for name, command in _commands(get_command(app)) if not (command.help or "").strip()]
    assert missing == []
