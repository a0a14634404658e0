"""Quote grounding: the code finds the model's quote in the transcript, or refuses it."""

from __future__ import annotations

import time

from podsight.insights.ground import QuoteFinder, find_quote, normalise
from podsight.records import Segment

SEGMENTS = [
    Segment(0.0, 4.0, "Welcome back to the show, everyone.", "Host"),
    Segment(4.0, 12.0, "The thing about “compound interest” is that it’s boring—until, um, it isn't.", "Ana Ruiz"),
    Segment(12.0, 18.0, "Most people quit in year three, right before it starts paying off.", "Ana Ruiz"),
    Segment(18.0, 25.0, "So what would you tell a twenty-five-year-old with her first paycheck?", "Host"),
    Segment(25.0, 31.0, "Automate the savings so that willpower never enters into it at all.", "Ana Ruiz"),
]


def test_exact_quote_returns_the_transcripts_text_time_and_speaker():
    match = find_quote("Most people quit in year three, right before it starts paying off.", SEGMENTS)
    assert match is not None
    assert match.text == "Most people quit in year three, right before it starts paying off."
    assert (match.start_s, match.end_s) == (12.0, 18.0)
    assert (match.first_segment, match.last_segment, match.speaker) == (2, 2, "Ana Ruiz")
    assert match.score == 100.0


def test_case_punctuation_curly_quotes_dashes_and_fillers_do_not_matter():
    model_quote = 'the thing about "compound interest" is that it\'s boring - until it isnt'
    match = find_quote(model_quote, SEGMENTS)
    assert match is not None
    assert match.text == "The thing about “compound interest” is that it’s boring—until, um, it isn't."
    assert match.start_s == 4.0 and match.speaker == "Ana Ruiz"


def test_a_quote_spanning_two_segments_is_found_with_the_first_segments_time():
    match = find_quote("until it isn't. Most people quit in year three", SEGMENTS)
    assert match is not None
    assert match.text == "until, um, it isn't. Most people quit in year three,"
    assert (match.first_segment, match.last_segment) == (1, 2)
    assert match.start_s == 4.0 and match.end_s == 18.0


def test_a_paraphrase_is_not_found():
    assert find_quote("Most savers give up after about three years, just before the returns arrive.", SEGMENTS) is None
    assert find_quote("Automating savings removes the need for willpower entirely, she said.", SEGMENTS) is None


def test_a_few_changed_words_in_a_long_quote_still_match_but_score_lower():
    match = find_quote("Automate your savings so that willpower never enters into it at all.", SEGMENTS)
    assert match is not None and 88 <= match.score < 100
    assert match.text == "Automate the savings so that willpower never enters into it at all."


def test_too_short_quotes_are_refused():
    assert find_quote("Most people quit", SEGMENTS) is None
    assert find_quote("um, it isn't. Most", SEGMENTS) is None, "fillers do not count as words"


def test_quotes_inside_skipped_segments_are_refused():
    quote = "Automate the savings so that willpower never enters into it at all."
    assert find_quote(quote, SEGMENTS, skip=[False, False, False, False, True]) is None
    assert find_quote(quote, SEGMENTS, skip=[True, False, False, False, False]) is not None


def test_start_time_comes_from_the_right_segment_and_is_interpolated_in_long_ones():
    filler = "We talked about many other things that day and none of them mattered much at all. " * 5
    long_segment = Segment(100.0, 200.0, filler + "Cheap solar changed the economics of the whole grid forever.", "Guest")
    segments = [*SEGMENTS, long_segment]
    match = find_quote("Cheap solar changed the economics of the whole grid forever", segments)
    assert match is not None and match.first_segment == 5
    assert 180.0 < match.start_s < 200.0, "the quote sits at the end of a 100-second segment"
    assert 199.0 < match.end_s <= 200.0
    assert match.text == "Cheap solar changed the economics of the whole grid forever."


def test_near_prefers_the_occurrence_the_model_pointed_at():
    repeated = [Segment(i * 10.0, i * 10.0 + 9, "Prices always fall when production doubles, every time.", "Guest") for i in range(40)]
    assert find_quote("Prices always fall when production doubles, every time.", repeated, near=30).first_segment >= 18
    assert find_quote("Prices always fall when production doubles, every time.", repeated).first_segment == 0


def test_normalise_keeps_words_only():
    assert normalise("Ｆｕｌｌ-width “QUOTES” — don’t, uh, panic!") == "full width quotes dont panic"


def test_searching_an_hour_long_transcript_is_fast():
    words = [f"w{i}" for i in range(9000)]
    segments = [Segment(i * 3.0, i * 3.0 + 3, " ".join(words[i * 30 : i * 30 + 30])) for i in range(300)]
    finder = QuoteFinder(segments)
    started = time.perf_counter()
    for k in range(20):
        quote = " ".join(words[k * 400 + 7 : k * 400 + 30])
        assert finder.find(quote, near=(k * 400) // 30) is not None
        assert finder.find(quote + " and then nothing like this was ever said") is None, "invented words"
        assert finder.find("a sentence that was never said on this show at all") is None
    assert time.perf_counter() - started < 5


def test_a_word_too_many_does_not_drag_in_the_neighbouring_sentence():
    match = find_quote("Speaker: Automate the savings so that willpower never enters into it at all.", SEGMENTS)
    assert match is not None
    assert match.text == "Automate the savings so that willpower never enters into it at all."
    assert match.first_segment == 4 and match.speaker == "Ana Ruiz"


def test_copied_share_tells_lifted_sentences_from_own_words():
    finder = QuoteFinder(SEGMENTS)
    assert finder.copied_share("Most people quit in year three, right before it starts paying off, she says.") > 0.7
    assert finder.copied_share("Investors who stop saving early miss the years when growth accelerates.") == 0.0
