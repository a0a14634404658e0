"""Chunking: the whole transcript is covered, chunks overlap, walls of text are split, ads are left out."""

from __future__ import annotations

import json
from pathlib import Path

from podsight.insights.chunk import chunk_segments, short_labels, split_long_segments, split_sentences
from podsight.insights.sponsor import intro_mask, skip_mask, sponsor_mask
from podsight.records import Segment

DATA = Path(__file__).parent / "data" / "insights"


def interview() -> list[Segment]:
    return [Segment(**item) for item in json.loads((DATA / "interview.json").read_text(encoding="utf-8"))]


def numbered_segments(count: int, words_each: int = 30) -> list[Segment]:
    """Segments whose words are unique (`s12w3`), so a chunk's text shows exactly what it holds."""
    return [
        Segment(
            start=i * 10.0,
            end=i * 10.0 + 9.5,
            text=" ".join(f"s{i}w{w}" for w in range(words_each)) + ".",
            speaker="Host" if i % 2 else "Guest",
        )
        for i in range(count)
    ]


def covered(chunks) -> set[int]:
    return {i for chunk in chunks for i in range(chunk.first, chunk.last + 1)}


def test_an_hour_long_transcript_is_covered_to_the_end():
    segments = numbered_segments(300)  # 9,000 words, about an hour of talk
    chunks = chunk_segments(segments, words=450, overlap_words=40)
    assert 19 <= len(chunks) <= 24
    assert covered(chunks) == set(range(300))
    assert chunks[-1].last == 299
    assert "s299w29" in chunks[-1].text
    assert all(chunk.words <= 450 + 30 * 3 for chunk in chunks)
    assert [chunk.index for chunk in chunks] == list(range(len(chunks)))


def test_consecutive_chunks_overlap_by_about_the_overlap():
    chunks = chunk_segments(numbered_segments(60), words=300, overlap_words=40)
    for before, after in zip(chunks, chunks[1:]):
        assert after.first <= before.last, "consecutive chunks share at least one segment"
        assert after.first > before.first, "every chunk moves forward"
    no_overlap = chunk_segments(numbered_segments(60), words=300, overlap_words=0)
    for before, after in zip(no_overlap, no_overlap[1:]):
        assert after.first == before.last + 1


def test_lines_are_numbered_from_one_in_each_chunk_and_map_back_to_segments():
    segments = [
        Segment(0, 2, "Interest compounds quietly.", "Ana"),
        Segment(2, 4, "Very quietly.", None),
        Segment(4, 6, "Then loudly.", "Ben"),
    ]
    (chunk,) = chunk_segments(segments)
    assert chunk.text.splitlines() == ["Ana:", "[1] Interest compounds quietly.", "[2] Very quietly.", "Ben:", "[3] Then loudly."]
    assert (chunk.first, chunk.last, chunk.words) == (0, 2, 7)
    assert [chunk.segment_of_line(n) for n in (0, 1, 2, 3, 4)] == [None, 0, 1, 2, None]


def test_speakers_are_labelled_by_first_name_unless_ambiguous():
    assert short_labels({"Dr. Luis Ortega", "Maya Chen", None}) == {"Dr. Luis Ortega": "Luis", "Maya Chen": "Maya", None: ""}
    assert short_labels({"Ana Ruiz", "Ana Lopez", "SPEAKER_01"}) == {
        "Ana Ruiz": "Ana Ruiz", "Ana Lopez": "Ana Lopez", "SPEAKER_01": "SPEAKER_01"}


def test_caption_cues_are_joined_into_sentence_lines_per_speaker_turn():
    cues = [Segment(0, 1, "And I'm Sam, and, um,", "Sam"), Segment(1, 2, "I've still got dirt under my nails.", "Sam"),
            Segment(2, 3, "Ha, lovely.", "Jo"), Segment(3, 4, "So this week we finally do the results.", "Jo")]
    (chunk,) = chunk_segments(cues)
    assert chunk.text == ("Sam:\n[1] And I'm Sam, and, um, I've still got dirt under my nails.\n"
                          "Jo:\n[2] Ha, lovely. So this week we finally do the results.")
    assert chunk.lines == (0, 2)


def test_a_line_closes_at_a_sentence_end_once_long_enough_and_never_passes_the_word_cap():
    sentence = "Battery prices fell by a fifth in the third quarter this year."  # 12 words
    turn = [Segment(i, i + 1, sentence, "Ana") for i in range(3)] + [Segment(3, 4, "word " * 35, "Ana")]
    (chunk,) = chunk_segments(turn)
    assert chunk.lines == (0, 1, 2, 3)
    fragments = [Segment(i, i + 1, "eight words of a sentence that goes on", "Ana") for i in range(5)]
    (chunk,) = chunk_segments(fragments)
    assert chunk.lines == (0, 3), "three fragments (24 words) fit in a line, a fourth would pass 30"


def test_skipped_segments_break_a_line():
    cues = [Segment(i, i + 1, f"fragment {i} of a long sentence", "Ana") for i in range(3)]
    (chunk,) = chunk_segments(cues, skip=[False, True, False])
    assert chunk.lines == (0, 2) and "fragment 1" not in chunk.text


def test_a_tiny_last_chunk_is_folded_into_the_one_before():
    segments = numbered_segments(16)  # 480 words: 450 + a 30-word tail
    chunks = chunk_segments(segments, words=450, overlap_words=0)
    assert len(chunks) == 1 and chunks[0].last == 15


def test_a_wall_of_text_is_split_at_sentences_with_interpolated_times():
    sentence = "Batteries get cheaper every year because factories learn by doing. "
    wall = Segment(start=100.0, end=1100.0, text=sentence * 300, speaker="Host")  # 3,000 words, one segment
    pieces = split_long_segments([wall], max_words=120)
    assert len(pieces) >= 25
    assert all(len(p.text.split()) <= 120 for p in pieces)
    assert " ".join(p.text for p in pieces).split() == wall.text.split(), "no word lost or added"
    assert pieces[0].start == 100.0 and abs(pieces[-1].end - 1100.0) < 0.01
    assert all(a.end <= b.start + 0.01 for a, b in zip(pieces, pieces[1:])), "times increase"
    assert abs(pieces[len(pieces) // 2].start - 600.0) < 60, "the middle piece starts near the middle"
    assert all(p.speaker == "Host" for p in pieces)
    chunks = chunk_segments(pieces, words=450)
    assert len(chunks) >= 6 and covered(chunks) == set(range(len(pieces)))


def test_text_without_punctuation_is_still_split():
    wall = Segment(0.0, 600.0, " ".join(["word"] * 1000))
    pieces = split_long_segments([wall], max_words=120)
    assert max(len(p.text.split()) for p in pieces) <= 120
    assert sum(len(p.text.split()) for p in pieces) == 1000


def test_split_sentences_keeps_closing_quotes_and_empty_segments_go():
    assert split_sentences('He said "stop." Then left! Why? ok') == ['He said "stop."', "Then left!", "Why?", "ok"]
    assert split_long_segments([Segment(0, 1, "   "), Segment(1, 2, "kept")]) == [Segment(1, 2, "kept")]


def test_sponsor_read_is_detected_and_left_out_of_the_chunk_text():
    segments = interview()
    ads = sponsor_mask(segments)
    ad_lines = [s.text for s, is_ad in zip(segments, ads) if is_ad]
    assert any("brought to you by DreamWell" in t for t in ad_lines)
    assert any("risk-free trial" in t for t in ad_lines), "the ad's middle line, same voice, is part of the block"
    assert any("use code MAYA" in t for t in ad_lines)
    assert any("rate and review" in t for t in ad_lines), "housekeeping outro"
    assert not any("Caffeine has a half-life" in t for t in ad_lines)
    assert not any("back to the science" in t for t in ad_lines), "the show has resumed"
    text = "\n".join(chunk.text for chunk in chunk_segments(segments, skip=skip_mask(segments)))
    assert "DreamWell" not in text and "20% off" not in text
    assert "Caffeine has a half-life" in text


def test_percent_off_alone_is_not_an_ad():
    segments = [Segment(0, 5, "Shares traded 30% off their peak after the report.", "Guest")]
    assert sponsor_mask(segments) == [False]


def test_ad_block_does_not_swallow_the_other_speaker():
    segments = [
        Segment(0, 5, "Support for this podcast comes from Acme.", "Host"),
        Segment(5, 10, "Acme makes spreadsheets less painful.", "Host"),
        Segment(10, 15, "Visit acme.com slash pod for a free trial.", "Host"),
        Segment(15, 20, "Most forecasting errors come from anchoring on last year.", "Guest"),
    ]
    assert sponsor_mask(segments) == [True, True, True, False]


def test_an_ad_read_is_one_block_from_its_sponsor_line_to_visit_its_url():
    """Lenny's Podcast reads its ads itself: 'brought to you by', three lines of pitch with no ad words, then
    'Visit useparagon.com/Lenny'. The pitch between the two hits is the ad, with or without speaker labels."""
    lines = ["This episode is brought to you by Paragon, the platform for building integrations.",
             "Building these integrations in-house costs three months of engineering.",
             "This is why engineering teams at over 100 companies use Paragon.",
             "Visit useparagon.com/Lenny to see how Paragon can help your roadmap.",
             "So let's talk about your book. Why did you write it now?"]
    for speaker in ("Lenny", None):
        segments = [Segment(10.0 * i, 10.0 * i + 9, text, speaker) for i, text in enumerate(lines)]
        assert sponsor_mask(segments) == [True, True, True, True, False]


def test_guest_biography_in_the_intro_is_detected():
    segments = interview()
    intro = intro_mask(segments)
    bio = [s.text for s, flag in zip(segments, intro) if flag]
    assert any(t.startswith("My guest today is Dr. Luis Ortega") for t in bio)
    assert any("previously worked" in t for t in bio)
    assert any(t.startswith("Thanks for having me") for t in bio)
    assert not any("hippocampus replays" in t for t in bio)
    late = [Segment(i, i + 1, "plain talk " * 20) for i in range(100)] + [Segment(200, 201, "She is the author of it.")]
    assert intro_mask(late)[-1] is False, "bio patterns are trusted only near the start"


def test_the_show_introducing_itself_is_masked_near_the_start_only():
    opening = [Segment(0, 4, "This is Tokens and Tradeoffs, I'm Maya Okafor. Today: models on your laptop.", "Maya"),
               Segment(4, 9, "Hello and welcome, this is Ledger Lines, I'm Dev.", "Dev"),
               Segment(9, 15, "Quantization cuts memory by about seventy percent on most laptops.", "Priya")]
    assert intro_mask(opening) == [True, True, False]
    late = [Segment(i, i + 1, "plain talk " * 20, "Ana") for i in range(100)] + [
        Segment(200, 201, "This is hard, I'm afraid, because the data are thin.", "Ana")]
    assert intro_mask(late)[-1] is False
