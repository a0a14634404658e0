"""Publisher transcripts into segments: every format, messy bytes, detection, merging and choosing."""

from __future__ import annotations

import codecs
import json
import os
from pathlib import Path

import pytest

from podsight.errors import TranscriptFormatError
from podsight.records import Segment, TranscriptLink
from podsight.transcripts.parse import choose_transcript, merge_cues, parse_transcript

DATA = Path(__file__).parent / "data" / "transcripts"


def read(name: str) -> bytes:
    return (DATA / name).read_bytes()


def texts(segments: list[Segment]) -> list[str]:
    return [s.text for s in segments]


# --- WebVTT -----------------------------------------------------------------------------------------


def test_vtt_with_voices_note_style_and_cue_settings():
    segments = parse_transcript(read("voices.vtt"), "text/vtt", "https://cdn.example/ep42.vtt")
    assert [(s.speaker, s.text) for s in segments] == [
        ("Alice Chen", "Welcome back to the show. Today we talk about solid-state batteries & why they matter."),
        ("Bob Ruiz", "Thanks for having me. Prices fell 90% in ten years."),
        ("Alice Chen", "Ninety percent?"),  # two voices in one cue become two segments
        ("Bob Ruiz", "Yes, ninety."),
        ("Bob Ruiz", "That's the whole story."),
    ]
    assert (segments[0].start, segments[0].end) == (1.0, 4.5)  # "MM:SS.mmm" without hours
    assert (segments[-1].start, segments[-1].end) == (3723.0, 3725.5)
    joined = " ".join(texts(segments))
    for leaked in ("NOTE", "Transcribed", "::cue", "align:", "position:", "<v", "</i>", "&amp;"):
        assert leaked not in joined


def test_caption_style_vtt_is_merged_into_sentences():
    segments = parse_transcript(read("captions.vtt"), "text/vtt")
    assert texts(segments) == [
        "so the thing about interest rates is that nobody really knows where they will land next year.",
        "But the market is betting on two cuts.",
        "Two cuts seems optimistic to me.",  # the repeated cue is not doubled
        "After a long pause he went on.",  # a 4 s gap starts a new segment
    ]
    assert [(s.start, s.end) for s in segments] == [(0.0, 4.6), (4.6, 7.0), (7.4, 10.0), (14.0, 16.0)]
    # The file opens with a voice, so voice-less cues continue the current speaker's turn.
    assert [s.speaker for s in segments] == ["Dana", "Dana", "Eli", "Eli"]


def test_vtt_that_does_not_open_with_a_voice_invents_no_speakers():
    content = b"WEBVTT\n\n00:01.000 --> 00:02.000\nIntro music.\n\n00:02.000 --> 00:03.000\n<v Ann>Hi.\n\n" \
              b"00:03.000 --> 00:04.000\nWho said this?\n"
    segments = parse_transcript(content, "text/vtt")
    assert [s.speaker for s in segments] == [None, "Ann", None]


def test_vtt_slips_real_files_make_are_forgiven():
    # No header, SRT-style commas in the times: hosts still call it text/vtt.
    content = b"00:00:01,000 --> 00:00:02,500\nFirst line.\n\n00:00:02,500 --> 00:00:04,000\nSecond line.\n"
    segments = parse_transcript(content, "text/vtt", "https://x.example/t.vtt")
    assert [(s.start, s.end, s.text) for s in segments] == [(1.0, 2.5, "First line."), (2.5, 4.0, "Second line.")]


def test_vtt_with_speaker_prefixes_instead_of_voices():
    content = b"WEBVTT\n\n00:01.000 --> 00:02.000\nSam: Hello there.\n\n00:02.000 --> 00:03.000\nKim: Hi Sam.\n\n" \
              b"00:03.000 --> 00:04.000\nSam: Shall we?\n\n00:04.000 --> 00:05.000\nKim: Sure.\n"
    segments = parse_transcript(content, "text/vtt")
    assert [(s.speaker, s.text) for s in segments] == [
        ("Sam", "Hello there."), ("Kim", "Hi Sam."), ("Sam", "Shall we?"), ("Kim", "Sure.")]


def test_vtt_with_header_but_no_cues_has_no_text():
    with pytest.raises(TranscriptFormatError, match="has no text"):
        parse_transcript(b"WEBVTT\n\nNOTE nothing here yet\n", "text/vtt", "https://x.example/a.vtt")


# --- SRT ----------------------------------------------------------------------------------------------


def test_srt_with_speaker_prefixes_crlf_and_bom():
    content = codecs.BOM_UTF8 + read("speakers.srt").replace(b"\n", b"\r\n")
    segments = parse_transcript(content, "application/x-subrip", "https://x.example/ep.srt")
    assert [(s.speaker, s.text) for s in segments] == [
        ("HOST", "Welcome to Market Hour."),
        ("GUEST", "Glad to be here. Let me start with the numbers."),
        (None, "Inflation came in at 3.2%."),  # no label: nobody is invented, the {\an8} tag is gone
        ("HOST", "And the consensus?"),
        (None, "Note: this was before the revision."),  # a one-off lower-case label stays prose
    ]
    assert (segments[1].start, segments[1].end) == (3.0, 5.5)


def test_srt_with_garbage_between_cues_keeps_the_good_cues():
    content = b"1\n00:00:01,000 --> 00:00:02,000\nGood one.\n\n\x00junk\n\n2\n00:00:02,000 --> 00:00:03,000\nAlso good.\n"
    segments = parse_transcript(content, "application/srt")
    assert "Good one." in texts(segments)[0] and "Also good." in " ".join(texts(segments))


def test_cue_ending_before_it_starts_is_clamped():
    segments = parse_transcript(b"1\n00:00:05,000 --> 00:00:02,000\nBackwards.\n", "application/x-subrip")
    assert [(s.start, s.end) for s in segments] == [(5.0, 5.0)]


# --- Podcasting 2.0 JSON ---------------------------------------------------------------------------


def test_json_with_numeric_strings_and_missing_speaker():
    segments = parse_transcript(read("transcript.json"), "application/json", "https://x.example/t.json")
    assert [(s.speaker, s.text, s.start, s.end) for s in segments] == [
        ("Kevin", "Hello and welcome.", 0.5, 2.0),  # word-sized pieces are merged like captions
        ("Ana", "Thanks, Kevin. Let's dig in.", 2.5, 6.0),
        (None, "A voice nobody named.", 6.0, 8.5),
        ("Ana", "No end time here.", 10.0, pytest.approx(10.0 + 4 * 60 / 150)),  # end estimated
    ]


def test_json_variants_seen_in_the_wild():
    content = json.dumps([  # a bare list, "text" instead of "body", unusable times
        {"speaker": "  Lu ", "startTime": "00:01:02.5", "endTime": -1, "text": "One."},
        {"speaker": None, "startTime": "soon", "endTime": None, "text": "Two."},
        "not a segment",
    ]).encode()
    segments = parse_transcript(content, "application/json")
    assert [(s.speaker, s.text, s.start) for s in segments] == [("Lu", "One.", 62.5), (None, "Two.", 63.5)]


@pytest.mark.parametrize("content", [b'{"version": "1.0.0", "segments": [', b'{"version": "1.0.0"}'])
def test_broken_json_is_a_clear_error(content):
    with pytest.raises(TranscriptFormatError, match="JSON transcript"):
        parse_transcript(content, "application/json", "https://x.example/t.json")


# --- HTML ---------------------------------------------------------------------------------------------


def test_html_with_cite_time_and_paragraphs():
    segments = parse_transcript(read("transcript.html"), "text/html; charset=utf-8")
    assert [(s.speaker, s.start, s.text) for s in segments] == [
        ("Sarah Lee", 0.0, "Welcome to the Garden Hour \u2014 I\u2019m Sarah."),
        ("Tom", 7.0, "Thanks Sarah. Tomatoes need six hours of sun."),
        ("Tom", segments[1].end, "At least six, honestly."),  # an untimed paragraph follows on
        ("Sarah Lee", 62.0, "Good to know."),  # cite and time inside the paragraph
    ]
    assert "Episode 12" not in " ".join(texts(segments))  # the <head> is not transcript


def test_html_without_timestamps_gets_times_estimated_from_word_count():
    words = " ".join(["word"] * 60)
    content = f"<html><body><cite>Ann:</cite><p>{words}.</p><cite>Ben:</cite><p>Short reply.</p></body></html>"
    segments = parse_transcript(content.encode(), "text/html")
    assert [(s.speaker, s.start, s.end) for s in segments] == [
        ("Ann", 0.0, pytest.approx(24.0)), ("Ben", pytest.approx(24.0), pytest.approx(25.0))]


def test_long_untimed_paragraph_is_split_at_sentences():
    paragraph = " ".join(f"Sentence number {i} says a few more words here." for i in range(60))
    segments = parse_transcript(f"<p>{paragraph}</p>".encode(), "text/html")
    assert len(segments) > 5 and all(len(s.text) <= 400 for s in segments)
    assert all(s.text.endswith(".") for s in segments)
    assert all(a.end == pytest.approx(b.start) for a, b in zip(segments, segments[1:]))


def test_long_unpunctuated_text_is_split_at_words():
    segments = parse_transcript(("so " * 2000).encode(), "text/plain")
    assert len(segments) > 10 and all(len(s.text) <= 400 for s in segments)
    assert " ".join(texts(segments)) == ("so " * 2000).strip()


# --- plain text -------------------------------------------------------------------------------------


def test_plain_text_with_timestamps():
    segments = parse_transcript(read("timed.txt"), "text/plain")
    assert [(s.start, s.speaker, s.text) for s in segments] == [
        (0.0, "Maria", "Hi everyone, this is Build Notes."),
        (4.0, "Jon", "Today we cover caching. It is harder than it looks."),  # wrapped line joined
        (70.0, "Maria", "Cache invalidation, right?"),  # "(01:10)" style
        (75.0, "Jon", "Exactly that."),
    ]
    assert segments[0].end == 4.0


def test_plain_text_without_timestamps_is_estimated():
    segments = parse_transcript(read("untimed.txt"), None, "https://x.example/transcript.txt")
    assert [s.speaker for s in segments] == ["Maria", "Jon", None, "Maria", "Jon"]
    assert segments[2].text == "Note: the guest's views are his own."
    assert segments[0].start == 0.0
    assert segments[0].end == pytest.approx(16 * 60 / 150)  # 16 words at 150 words per minute
    assert all(a.end == pytest.approx(b.start) for a, b in zip(segments, segments[1:]))


def test_plain_text_rev_and_otter_style_headers():
    content = b"Speaker 1 (00:00:03):\nWelcome in.\n\nSpeaker 2 (00:00:09):\nThank you.\n\nKevin Rose  1:02\nLater on.\n"
    segments = parse_transcript(content, "text/plain")
    assert [(s.speaker, s.start, s.text) for s in segments] == [
        ("Speaker 1", 3.0, "Welcome in."), ("Speaker 2", 9.0, "Thank you."), ("Kevin Rose", 62.0, "Later on.")]


def test_plain_prose_with_times_in_sentences_is_left_alone():
    segments = parse_transcript(b"We met at 10:30 and talked.\nThe cafe (10:30) was full.\n", "text/plain")
    assert texts(segments) == ["We met at 10:30 and talked. The cafe (10:30) was full."]
    assert segments[0].speaker is None


# --- decoding -----------------------------------------------------------------------------------------


def test_cp1252_text_is_decoded():
    content = "Zoë: Caf\u00e9 prices rose \u20ac2 \u2014 \u201cwild\u201d.\nZoë: Indeed.\n".encode("cp1252")
    segments = parse_transcript(content, "text/plain")
    assert segments[0].text == "Caf\u00e9 prices rose \u20ac2 \u2014 \u201cwild\u201d."
    assert segments[0].speaker == "Zoë"


def test_declared_charset_is_used_but_utf8_beats_a_default_latin1_label():
    assert parse_transcript("Ça va.".encode("iso-8859-15"), "text/plain; charset=iso-8859-15")[0].text == "Ça va."
    assert parse_transcript("Ça va.".encode("utf-8"), "text/plain; charset=ISO-8859-1")[0].text == "Ça va."
    assert parse_transcript("Ça va.".encode("utf-8"), "text/plain; charset=no-such-charset")[0].text == "Ça va."


def test_utf16_with_bom():
    content = codecs.BOM_UTF16_LE + "WEBVTT\n\n00:01.000 --> 00:02.000\nHéllo.\n".encode("utf-16-le")
    assert texts(parse_transcript(content)) == ["Héllo."]


def test_garbage_bytes_are_a_format_error():
    garbage = os.urandom(4096)
    with pytest.raises(TranscriptFormatError, match="transcript at https://x.example/t"):
        parse_transcript(garbage, None, "https://x.example/t")
    with pytest.raises(TranscriptFormatError, match="binary"):
        parse_transcript(b"\x00\x01\x02\x03" * 100, "text/plain")


def test_unknown_format_names_the_formats_podsight_reads():
    with pytest.raises(TranscriptFormatError) as caught:
        parse_transcript(b"just some words", "application/pdf", "https://x.example/t")
    assert str(caught.value) == (
        "transcript at https://x.example/t is in an unknown format (type application/pdf); "
        "podsight reads VTT, SRT, Podcasting 2.0 JSON, HTML and plain text")


@pytest.mark.parametrize("content", [b"", b"  \r\n\t\n", codecs.BOM_UTF8])
def test_empty_file_is_a_format_error(content):
    with pytest.raises(TranscriptFormatError, match=r"transcript at https://x.example/e.vtt is empty"):
        parse_transcript(content, "text/vtt", "https://x.example/e.vtt")


# --- detection ----------------------------------------------------------------------------------------

VTT = b"WEBVTT\n\n00:01.000 --> 00:02.000\n<v Ann>Hello.\n"
SRT = b"1\n00:00:01,000 --> 00:00:02,000\nHello.\n"


@pytest.mark.parametrize(
    ("content", "mime_type", "url"),
    [
        (VTT, "text/vtt; charset=utf-8", None),
        (VTT, "application/octet-stream", "https://x.example/ep.vtt?sig=abc"),  # extension, not query
        (VTT, None, None),  # sniffed
        (VTT, "text/plain", None),  # hosts serve .vtt as text/plain
        (SRT, "text/plain", "https://x.example/ep"),
        (SRT, None, None),
        (SRT, "text/vtt", None),  # mislabelled: VTT finds no cues, the content reads as SRT
        (json.dumps({"segments": [{"startTime": 1, "endTime": 2, "body": "Hello."}]}).encode(), None, None),
        (b"<html><body><p>Hello.</p></body></html>", None, None),
    ],
)
def test_format_detection(content, mime_type, url):
    segments = parse_transcript(content, mime_type, url)
    assert texts(segments) == ["Hello."]
    assert segments[0].start == 1.0 or b"<html" in content


# --- big files ----------------------------------------------------------------------------------------


def test_ten_thousand_cues_parse():
    cues = "".join(
        f"{i}\n{i // 3600:02d}:{i // 60 % 60:02d}:{i % 60:02d}.000 --> {i // 3600:02d}:{i // 60 % 60:02d}:{i % 60:02d}.900\n"
        f"<v Host>word {i} goes here.\n\n"
        for i in range(10_000)
    )
    segments = parse_transcript(("WEBVTT\n\n" + cues).encode(), "text/vtt")
    assert len(segments) == 10_000 and segments[-1].text == "word 9999 goes here."
    srt_text = cues.replace(".000 -->", ",000 -->").replace(".900\n", ",900\n").replace("<v Host>", "HOST: ")
    assert len(parse_transcript(srt_text.encode(), "application/x-subrip")) == 10_000


# --- merge_cues ---------------------------------------------------------------------------------------


def test_merge_cues_rules():
    cues = [
        Segment(0.0, 1.0, "one two", "A"),
        Segment(1.0, 2.0, "three four.", "A"),  # joins; ends the sentence
        Segment(2.0, 3.0, "five", "A"),  # new sentence
        Segment(3.0, 4.0, "six", "B"),  # other speaker
        Segment(6.5, 7.0, "seven", "B"),  # gap over 1 s
        Segment(7.0, 8.0, "eight", None),  # None is not B
        Segment(8.0, 9.0, "nine", None),
    ]
    assert [(s.start, s.end, s.text, s.speaker) for s in merge_cues(cues)] == [
        (0.0, 2.0, "one two three four.", "A"),
        (2.0, 3.0, "five", "A"),
        (3.0, 4.0, "six", "B"),
        (6.5, 7.0, "seven", "B"),
        (7.0, 9.0, "eight nine", None),
    ]


def test_merge_cues_respects_max_chars_and_gap():
    cues = [Segment(float(i), i + 1.0, f"{i}" + "x" * 29) for i in range(10)]
    merged = merge_cues(cues, max_chars=100)
    assert all(len(s.text) <= 100 for s in merged) and len(merged) == 4
    assert len(merge_cues(cues, max_gap_s=-1)) == 10
    assert merge_cues([]) == []


# --- choose_transcript --------------------------------------------------------------------------------


def link(url: str, mime_type: str | None = None, language: str | None = None) -> TranscriptLink:
    return TranscriptLink(url=url, mime_type=mime_type, language=language)


def test_choose_prefers_json_then_vtt_srt_html_text():
    links = [link("t.txt", "text/plain"), link("t.html", "text/html"), link("t.srt", "application/x-subrip"),
             link("t.vtt", "text/vtt"), link("t.json", "application/json")]
    assert choose_transcript(links).url == "t.json"
    assert choose_transcript(links[:4]).url == "t.vtt"
    assert choose_transcript(links[:3]).url == "t.srt"
    assert choose_transcript(links[:2]).url == "t.html"
    assert choose_transcript([link("a/captions.vtt"), link("b", "text/plain")]).url == "a/captions.vtt"


def test_choose_prefers_the_language_asked_for():
    links = [link("es.json", "application/json", "es"), link("en.srt", "application/x-subrip", "en-US"),
             link("any.vtt", "text/vtt")]
    assert choose_transcript(links, "en").url == "en.srt"
    assert choose_transcript(links, "EN_gb").url == "en.srt"
    assert choose_transcript(links, "de").url == "any.vtt"  # unknown language beats a wrong one
    assert choose_transcript(links).url == "es.json"


def test_choose_unknown_types_only_when_nothing_known():
    unknown = [link("a", "application/pdf"), link("b", None)]
    assert choose_transcript(unknown).url == "a"
    assert choose_transcript([*unknown, link("c", "text/html")]).url == "c"
    assert choose_transcript([]) is None
