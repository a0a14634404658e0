"""Digest rendering: HTML email, plain text, Atom, timestamp links; and the signed link tokens."""

from __future__ import annotations

import pytest
from lxml import etree, html as lxml_html

from podsight.digest import tokens
from podsight.digest.render import format_timestamp, render_atom, render_html, render_text, timestamp_url
from podsight.records import Digest, DigestItem

ATOM = "{http://www.w3.org/2005/Atom}"


def item(n: int = 1, **changes) -> DigestItem:
    values = dict(
        insight_id=n,
        claim="Open-source models now match GPT-4 on most coding benchmarks, and the gap closes every month.",
        why="Self-hosting becomes a real option for small teams that cannot send their code to a vendor.",
        quote="We ran every benchmark again last week and the open models were within a point on all of them.",
        speaker="Jane Doe",
        kind="data_point",
        start_s=754.0,
        show_title="The AI Show",
        episode_title="Ep 12: Open models",
        episode_url="https://cdn.example.com/ep12.mp3#t=754",
        score=0.9,
    )
    values.update(changes)
    return DigestItem(**values)


def digest(*items: DigestItem, day: str = "2026-11-30") -> Digest:
    return Digest("reader@example.com", day, tuple(items), unsubscribe_url="https://podsight.example/u/tok123")


def test_html_shows_everything_an_item_needs():
    page = render_html(digest(item()))
    doc = lxml_html.fromstring(page)
    assert "30 Nov 2026" in doc.text_content()
    quote = doc.xpath("//blockquote")[0].text_content()
    assert "within a point on all of them" in quote and "Jane Doe" in quote
    listen = doc.xpath("//a[contains(., 'Listen at')]")[0]
    assert listen.get("href") == "https://cdn.example.com/ep12.mp3#t=754"
    assert listen.text_content().strip().endswith("Listen at 12:34")
    assert doc.xpath("//a[.='Unsubscribe']/@href") == ["https://podsight.example/u/tok123"]
    text = doc.text_content()
    assert "Data point" in text and "The AI Show" in text and "Ep 12: Open models" in text
    assert "Why it matters" in text


def test_html_is_self_contained_email_markup():
    page = render_html(digest(item(), item(2)))
    assert "<link" not in page and "<script" not in page and "<style" not in page
    assert 'role="presentation"' in page and "max-width:600px" in page


def test_html_escapes_hostile_text():
    hostile = item(claim='<script>alert("x")</script> rates', speaker="<b>Eve</b>",
                   episode_url='https://e.example/a.mp3"><script>x</script>#t=1')
    page = render_html(digest(hostile))
    assert "<script>" not in page and "<b>Eve</b>" not in page
    assert "&lt;script&gt;alert(" in page
    doc = lxml_html.fromstring(page)
    assert not doc.xpath("//script")


def test_empty_digest_says_nothing_new():
    page = render_html(digest())
    assert "Nothing new today" in page
    assert "Nothing new today" in render_text(digest())


def test_text_version_wraps_at_72_columns_and_keeps_links_whole():
    long_url = "https://cdn.example.com/" + "x" * 90 + ".mp3#t=754"
    text = render_text(digest(item(episode_url=long_url), item(2, speaker=None, episode_url=None)))
    for line in text.splitlines():
        assert len(line) <= 72 or long_url in line
    assert long_url in text
    assert "Listen at 12:34" in text and "> -- Jane Doe" in text
    assert "1. [Data point] Open-source models" in text
    assert "Unsubscribe: https://podsight.example/u/tok123" in text


def test_atom_parses_with_one_stable_entry_per_digest():
    digests = [digest(item(), day="2026-11-29"), digest(item(2, claim="A\x0cB control char"), day="2026-11-30"),
               digest(day="2026-11-28")]
    xml = render_atom(digests, "tag:podsight.local,2026:reader", "Reader's digests", "https://p.example/feed.xml")
    root = etree.fromstring(xml.encode("utf-8"))
    entries = root.findall(f"{ATOM}entry")
    assert [e.findtext(f"{ATOM}id") for e in entries] == [
        "tag:podsight.local,2026:reader/2026-11-30",
        "tag:podsight.local,2026:reader/2026-11-29",
        "tag:podsight.local,2026:reader/2026-11-28",
    ]
    assert root.findtext(f"{ATOM}updated") == "2026-11-30T00:00:00Z"
    assert root.find(f"{ATOM}link").get("href") == "https://p.example/feed.xml"
    content = entries[1].findtext(f"{ATOM}content")
    assert "Listen at 12:34" in content and "Jane Doe" in content
    again = render_atom(digests, "tag:podsight.local,2026:reader", "Reader's digests", None)
    assert [e.findtext(f"{ATOM}id") for e in etree.fromstring(again.encode()).findall(f"{ATOM}entry")] == \
        [e.findtext(f"{ATOM}id") for e in entries]


def test_atom_without_entries_is_still_valid():
    root = etree.fromstring(render_atom([], "urn:x", "Empty", None).encode())
    assert root.findall(f"{ATOM}entry") == [] and root.findtext(f"{ATOM}updated")


@pytest.mark.parametrize(("url", "seconds", "expected"), [
    ("https://a.example/ep.mp3", 754.9, "https://a.example/ep.mp3#t=754"),
    ("https://a.example/ep.mp3?token=abc&x=1", 5, "https://a.example/ep.mp3?token=abc&x=1#t=5"),
    ("https://a.example/ep.mp3?x=1#t=99", 10, "https://a.example/ep.mp3?x=1#t=10"),
    ("https://a.example/ep.mp3#chapter2", 0, "https://a.example/ep.mp3#t=0"),
    ("https://a.example/ep.mp3", -3, "https://a.example/ep.mp3#t=0"),
    (None, 10, None),
    ("  ", 10, None),
])
def test_timestamp_url(url, seconds, expected):
    assert timestamp_url(url, seconds) == expected


@pytest.mark.parametrize(("seconds", "expected"), [(0, "0:00"), (59.9, "0:59"), (754, "12:34"), (3723, "1:02:03"),
                                                   (-5, "0:00")])
def test_format_timestamp(seconds, expected):
    assert format_timestamp(seconds) == expected


def test_token_roundtrip_and_tamper():
    token = tokens.sign("s3cret", "unsubscribe", "subscriber:42")
    assert tokens.verify("s3cret", "unsubscribe", token) == "subscriber:42"
    assert tokens.verify("other", "unsubscribe", token) is None
    payload, mac = token.split(".")
    forged = tokens.sign("s3cret", "unsubscribe", "subscriber:43").split(".")[0] + "." + mac
    assert tokens.verify("s3cret", "unsubscribe", forged) is None
    assert tokens.verify("s3cret", "unsubscribe", token[:-2] + ("AA" if token[-2:] != "AA" else "BB")) is None
    for garbage in ("", "abc", "a.b.c", "é.é", "!!!.???", None):
        assert tokens.verify("s3cret", "unsubscribe", garbage) is None


def test_token_bound_to_purpose():
    token = tokens.sign("s3cret", "unsubscribe", "7")
    assert tokens.verify("s3cret", "feedback", token) is None


def test_token_expiry_and_unicode_subject():
    token = tokens.sign("k", "feedback", "7:insight:9:ü", expires_at=1000)
    assert tokens.verify("k", "feedback", token, now=999) == "7:insight:9:ü"
    assert tokens.verify("k", "feedback", token, now=1000) is None
    assert all(c.isalnum() or c in "-_." for c in token)


def linked_item() -> DigestItem:
    from podsight.records import Source

    return item(
        also_said=(Source("Ledger Lines", "Ep 17", "Élise", "open models caught up", "https://l.example/17.mp3#t=60"),
                   Source("Tokens", "Ep 41", None, "they are level now", None)),
        disputed_by=(Source("Skeptics", "Ep 3", "Bo", "they are still far behind", "https://s.example/3.mp3#t=5",
                            "one says level, the other far behind"),),
        vote_up_url="https://podsight.example/feedback/up", vote_down_url="https://podsight.example/feedback/down",
    )


def test_every_format_shows_other_sources_disputes_and_vote_links():
    page = lxml_html.fromstring(render_html(digest(linked_item())))
    text = page.text_content()
    assert "Also said on" in text and "Ledger Lines" in text and "Tokens" in text
    assert "Disputed" in text and "still far behind" in text and "one says level" in text
    assert page.xpath("//a[contains(., 'Yes')]/@href") == ["https://podsight.example/feedback/up"]
    assert page.xpath("//a[contains(., 'No')]/@href") == ["https://podsight.example/feedback/down"]
    plain = render_text(digest(linked_item()))
    assert "Also said on: Ledger Lines; Tokens" in plain and "still far behind" in plain
    assert "https://podsight.example/feedback/down" in plain
    atom = render_atom([digest(linked_item())], feed_id="urn:x", title="t", self_url=None)
    assert "Disputed" in atom and "Ledger Lines" in atom


def test_an_item_without_links_shows_no_empty_sections():
    text = lxml_html.fromstring(render_html(digest(item()))).text_content()
    assert "Also said on" not in text and "Disputed" not in text and "Worth it" not in text
