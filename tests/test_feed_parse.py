"""parse_feed on the feeds real publishers serve: namespaces, encodings, broken XML, hostile XML."""

from __future__ import annotations

import time
from datetime import datetime, timezone

import pytest

from podsight.errors import FeedParseError
from podsight.feeds.parse import parse_date, parse_duration, parse_feed
from podsight.htmltext import html_to_text

URL = "https://example.com/shows/feed.xml"

RSS_PODCAST = b"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"
     xmlns:podcast="https://podcastindex.org/namespace/1.0"
     xmlns:content="http://purl.org/rss/1.0/modules/content/">
<channel>
  <title>The Data Show</title>
  <link>https://example.com/</link>
  <description>Weekly &amp; nerdy</description>
  <language>en-us</language>
  <itunes:author>Ada Lovelace</itunes:author>
  <itunes:image href="https://example.com/cover.jpg"/>
  <podcast:person role="host" href="https://example.com/ada">Ada Lovelace</podcast:person>
  <item>
    <title>Episode 2: Engines</title>
    <guid isPermaLink="false">ep-2</guid>
    <pubDate>Tue, 05 Mar 2024 10:00:00 -0500</pubDate>
    <enclosure url="https://cdn.example.com/ep2.mp3" type="audio/mpeg" length="123456"/>
    <itunes:duration>01:02:03</itunes:duration>
    <description><![CDATA[<p>Show notes with <b>bold</b> text.</p><p>Second&nbsp;paragraph &amp; more.</p>]]></description>
    <podcast:transcript url="https://example.com/ep2.vtt" type="text/vtt" language="en" rel="captions"/>
    <podcast:transcript url="/t/ep2.json" type="application/json"/>
    <podcast:chapters url="https://example.com/ep2-chapters.json" type="application/json+chapters"/>
    <podcast:person role="Guest" href="https://example.com/charles">Charles Babbage</podcast:person>
  </item>
  <item>
    <title>Episode 1</title>
    <guid>ep-1</guid>
    <pubDate>Mon, 4 Mar 2024 09:30 GMT</pubDate>
    <enclosure url="https://cdn.example.com/ep1.mp3" type="audio/mpeg" length="99"/>
    <itunes:duration>45:30</itunes:duration>
    <content:encoded><![CDATA[<div>The long notes</div><script>alert(1)</script>]]></content:encoded>
    <description>short</description>
  </item>
</channel>
</rss>"""

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"
      xmlns:podcast="https://podcastindex.org/namespace/1.0" xml:lang="de">
  <title>Atom Cast</title>
  <subtitle>Talk in Atom</subtitle>
  <link rel="self" href="https://example.org/atom.xml"/>
  <link rel="alternate" href="https://example.org/"/>
  <author><name>Grace Hopper</name></author>
  <entry>
    <id>urn:uuid:1234</id>
    <title type="html">Compilers &lt;b&gt;rule&lt;/b&gt;</title>
    <link rel="alternate" href="/episodes/1"/>
    <link rel="enclosure" href="/audio/1.m4a" type="audio/x-m4a" length="5000"/>
    <published>2024-03-01T12:00:00+01:00</published>
    <summary>Short summary</summary>
    <content type="html">&lt;p&gt;Full content of the episode&lt;/p&gt;</content>
    <itunes:duration>3600</itunes:duration>
    <podcast:transcript url="https://example.org/1.srt" type="application/x-subrip"/>
  </entry>
</feed>"""


def test_rss_with_itunes_and_podcast_namespace():
    feed = parse_feed(RSS_PODCAST, URL)
    assert (feed.title, feed.link, feed.language, feed.author) == ("The Data Show", "https://example.com/", "en-us", "Ada Lovelace")
    assert feed.description == "Weekly & nerdy"
    assert feed.image_url == "https://example.com/cover.jpg"
    assert [(p.name, p.role, p.href) for p in feed.persons] == [("Ada Lovelace", "host", "https://example.com/ada")]
    ep2, ep1 = feed.episodes
    assert ep2.guid == "ep-2" and ep2.key == "ep-2"
    assert ep2.published == datetime(2024, 3, 5, 15, 0, tzinfo=timezone.utc)
    assert (ep2.audio_url, ep2.audio_type, ep2.audio_bytes) == ("https://cdn.example.com/ep2.mp3", "audio/mpeg", 123456)
    assert ep2.duration_s == 3723
    assert ep2.description == "Show notes with bold text.\nSecond paragraph & more."
    assert [(t.url, t.mime_type, t.language, t.rel) for t in ep2.transcripts] == [
        ("https://example.com/ep2.vtt", "text/vtt", "en", "captions"),
        ("https://example.com/t/ep2.json", "application/json", None, None),
    ]
    assert ep2.chapters_url == "https://example.com/ep2-chapters.json"
    assert [(p.name, p.role) for p in ep2.persons] == [("Charles Babbage", "guest")]
    assert ep1.duration_s == 45 * 60 + 30
    assert ep1.published == datetime(2024, 3, 4, 9, 30, tzinfo=timezone.utc)
    assert ep1.description == "The long notes"  # content:encoded is fuller; <script> is dropped


def test_atom_feed_with_enclosure_links():
    feed = parse_feed(ATOM, "https://example.org/atom.xml")
    assert (feed.title, feed.description, feed.language, feed.author) == ("Atom Cast", "Talk in Atom", "de", "Grace Hopper")
    assert feed.link == "https://example.org/"
    (entry,) = feed.episodes
    assert entry.guid == "urn:uuid:1234"
    assert entry.title == "Compilers rule"
    assert entry.link == "https://example.org/episodes/1"
    assert (entry.audio_url, entry.audio_type, entry.audio_bytes) == ("https://example.org/audio/1.m4a", "audio/x-m4a", 5000)
    assert entry.published == datetime(2024, 3, 1, 11, 0, tzinfo=timezone.utc)
    assert entry.duration_s == 3600
    assert entry.description == "Full content of the episode"
    assert entry.transcripts[0].url == "https://example.org/1.srt"


def test_windows_1252_feed_is_decoded():
    body = ('<?xml version="1.0" encoding="windows-1252"?><rss version="2.0"><channel><title>Caf\u00e9 \u201cTalk\u201d</title>'
            '<item><title>R\u00e9sum\u00e9 \u2013 part 1</title><guid>x</guid></item></channel></rss>').encode("cp1252")
    feed = parse_feed(body, URL)
    assert feed.title == "Caf\u00e9 \u201cTalk\u201d"
    assert feed.episodes[0].title == "R\u00e9sum\u00e9 \u2013 part 1"


def test_undeclared_latin1_bytes_do_not_truncate_the_feed():
    # Declared UTF-8 (by default) but really windows-1252: libxml2 alone would stop at the first bad byte.
    items = "".join(f"<item><title>Caf\u00e9 {i}</title></item>" for i in range(3))
    body = f"<rss><channel><title>x</title>{items}</channel></rss>".encode("cp1252")
    feed = parse_feed(body, URL)
    assert [ep.title for ep in feed.episodes] == ["Caf\u00e9 0", "Caf\u00e9 1", "Caf\u00e9 2"]


def test_bom_and_leading_blanks_are_accepted():
    body = b"\xef\xbb\xbf\n  " + RSS_PODCAST
    assert parse_feed(body, URL).title == "The Data Show"
    utf16 = RSS_PODCAST.decode().replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16")
    assert parse_feed(utf16, URL).title == "The Data Show"


def test_missing_guid_gets_a_stable_key_and_relative_urls_resolve():
    body = b"""<rss><channel><title>T</title><link>/home</link><image><url>img/cover.png</url></image>
      <item><title> Ep A </title><link>ep/a</link><enclosure url="../audio/a.mp3" type="audio/mpeg"/></item>
      <item><title>Ep B</title><enclosure url="javascript:alert(1)"/></item>
    </channel></rss>"""
    feed = parse_feed(body, URL)
    a, b = feed.episodes
    assert feed.link == "https://example.com/home"
    assert feed.image_url == "https://example.com/shows/img/cover.png"
    assert a.guid is None and a.audio_url == "https://example.com/audio/a.mp3"
    assert a.link == "https://example.com/shows/ep/a"
    assert a.key.startswith("sha1:") and a.key == parse_feed(body, URL).episodes[0].key
    assert b.audio_url is None  # a javascript: URL must never reach a downloader
    assert a.key != b.key


def test_xxe_entity_is_never_resolved():
    xxe = b"""<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
      <rss><channel><title>A&xxe;B</title><item><title>x</title></item></channel></rss>"""
    feed = parse_feed(xxe, URL)
    assert "root:" not in feed.title and feed.title.startswith("A")
    assert len(feed.episodes) == 1


def test_billion_laughs_is_refused_quickly():
    lol = b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY lol "lol">' + b"".join(
        b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10) for i in range(1, 10)
    ) + b"]><rss><channel><title>t&lol9;</title><item><title>x</title></item></channel></rss>"
    started = time.perf_counter()
    with pytest.raises(FeedParseError, match="billion laughs"):
        parse_feed(lol, URL)
    assert time.perf_counter() - started < 1


def test_bare_ampersands_and_html_entities_are_kept():
    body = b"""<rss><channel><title>Tom & Jerry&nbsp;&copy; 2024</title>
      <item><title>Q&A</title><link>https://x.example/?a=1&b=2</link><guid>g&amp;1</guid></item>
    </channel></rss>"""
    feed = parse_feed(body, URL)
    assert feed.title == "Tom & Jerry \u00a9 2024"
    (item,) = feed.episodes
    assert (item.title, item.link, item.guid) == ("Q&A", "https://x.example/?a=1&b=2", "g&1")


def test_truncated_feed_keeps_the_items_before_the_cut():
    body = RSS_PODCAST[: RSS_PODCAST.index(b"<title>Episode 1")]  # a download cut off mid-item
    feed = parse_feed(body, URL)
    assert feed.title == "The Data Show"
    assert feed.episodes[0].guid == "ep-2"


@pytest.mark.parametrize("body, message", [
    (b"", "is empty"),
    (b"   \n ", "is empty"),
    (b"\x00\x01\x02 binary garbage", "not XML"),
    (b"just some text", "not XML"),
    (b'<?xml version="1.0"?><config><a>1</a></config>', "root <config>, not an RSS or Atom feed"),
    (b"<rss version='2.0'><nochannel/></rss>", "without a <channel>"),
])
def test_unreadable_documents_raise_clear_errors(body, message):
    with pytest.raises(FeedParseError, match=message):
        parse_feed(body, URL)


def test_html_page_is_named_and_its_feed_link_suggested():
    page = b"""<!DOCTYPE html><html><head><title>My show</title>
      <link rel="alternate" type="application/rss+xml" href="/feed.rss"></head><body>Hi</body></html>"""
    with pytest.raises(FeedParseError, match="is an HTML page, not an RSS or Atom feed.*https://example.com/feed.rss"):
        parse_feed(page, URL)
    with pytest.raises(FeedParseError, match="HTML page"):
        parse_feed(b'<html xmlns="http://www.w3.org/1999/xhtml"><body/></html>', URL)


@pytest.mark.parametrize("value, seconds", [
    ("01:02:03", 3723), ("45:30", 2730), ("3600", 3600), ("90.5", 90.5), ("", None), ("abc", None),
    ("1:2:3:4", None), (None, None),
])
def test_durations(value, seconds):
    assert parse_duration(value) == seconds


@pytest.mark.parametrize("value, expected", [
    ("Tue, 05 Mar 2024 10:00:00 EST", datetime(2024, 3, 5, 15, tzinfo=timezone.utc)),
    ("Tue, 05 Mar 2024 10:00:00 +05:30", datetime(2024, 3, 5, 4, 30, tzinfo=timezone.utc)),
    ("5 Mar 2024 10:00:00 CEST", datetime(2024, 3, 5, 10, tzinfo=timezone.utc)),  # unknown zone: taken as UTC
    ("2024-03-05T10:00:00Z", datetime(2024, 3, 5, 10, tzinfo=timezone.utc)),
    ("2024-03-05", datetime(2024, 3, 5, tzinfo=timezone.utc)),
    ("yesterday-ish", None), ("", None),
])
def test_dates(value, expected):
    assert parse_date(value) == expected


def test_html_to_text_keeps_less_than_signs_and_paragraphs():
    assert html_to_text("<p>a &lt; b</p><p>c<br/>d</p>") == "a < b\nc\nd"
    assert html_to_text("x < y and y > z") == "x < y and y > z"
