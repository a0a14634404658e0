"""OPML import/export: round trip, folders, app quirks, and clear errors for files that are not OPML."""

from __future__ import annotations

import pytest

from podsight.feeds.opml import OpmlError, OpmlFeed, build_opml, parse_opml

NESTED = b"""<?xml version="1.0" encoding="utf-8"?>
<opml version="1.0">
  <head><title>Exported from SomeApp</title></head>
  <body>
    <outline text="Tech">
      <outline type="rss" text="Show &amp; Tell" xmlUrl="https://a.example/feed.xml"/>
      <outline text="Deeper">
        <outline type="rss" title="Deep Show" text="ignored" xmlUrl="https://b.example/rss"/>
      </outline>
    </outline>
    <outline type="rss" text="Duplicate" xmlUrl="https://a.example/feed.xml"/>
    <outline text="itpc app link" xmlurl="itpc://c.example/podcast.xml"/>
    <outline text="feed scheme" xmlUrl="feed:https://d.example/rss"/>
    <outline text="a note, not a feed"/>
    <outline text="broken" xmlUrl="mailto:someone@example.com"/>
  </body>
</opml>"""


def test_nested_outlines_are_flattened_deduplicated_and_schemes_fixed():
    feeds = parse_opml(NESTED)
    assert feeds == [
        OpmlFeed("https://a.example/feed.xml", "Show & Tell"),
        OpmlFeed("https://b.example/rss", "Deep Show"),
        OpmlFeed("http://c.example/podcast.xml", "itpc app link"),
        OpmlFeed("https://d.example/rss", "feed scheme"),
    ]


def test_round_trip_keeps_urls_and_titles():
    feeds = [OpmlFeed("https://a.example/feed?x=1&y=2", 'Quotes "and" <brackets>'), OpmlFeed("https://b.example/rss")]
    text = build_opml(feeds, title="mine")
    assert text.startswith("<?xml") and "<title>mine</title>" in text
    assert parse_opml(text.encode("utf-8")) == [
        OpmlFeed("https://a.example/feed?x=1&y=2", 'Quotes "and" <brackets>'),
        OpmlFeed("https://b.example/rss", "https://b.example/rss"),  # no title: the URL stands in
    ]


def test_entities_are_not_resolved():
    hostile = b"""<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY x SYSTEM "file:///etc/passwd">]>
      <opml><body><outline text="&x;" xmlUrl="https://a.example/rss"/></body></opml>"""
    (feed,) = parse_opml(hostile)
    assert "root:" not in (feed.title or "")


@pytest.mark.parametrize("content, message", [
    (b"", "empty"),
    (b"definitely not xml", "not XML"),
    (b"<rss><channel><title>x</title></channel></rss>", "root element is <rss>, expected <opml>.*that is a feed"),
    (b"<html><body>hi</body></html>", "root element is <html>"),
])
def test_non_opml_is_refused_with_a_clear_message(content, message):
    with pytest.raises(OpmlError, match=message):
        parse_opml(content)
