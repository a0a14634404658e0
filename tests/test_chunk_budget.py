"""Chunks are budgeted by characters as well as words: text written without spaces (Japanese) must not
become one chunk the size of the episode (issue 11, finding 9)."""

from __future__ import annotations

import unicodedata

from podsight.insights.chunk import (CHARS_PER_WORD, char_count, chunk_segments, split_by_chars,
                                     split_long_segments, split_sentences)
from podsight.records import Segment

# Real Japanese as a podcast transcript has it: no spaces, sentences ended by 。？！, clauses by 、.
SENTENCES = (
    "今日は金利と住宅価格の関係について、専門家の方をお招きしてお話を伺います。",
    "日本銀行が政策金利を引き上げたことで、住宅ローンの変動金利も少しずつ上がり始めています。",
    "実際に私たちの調査では、首都圏の新築マンションの平均価格は前年比で八パーセント上昇しました。",
    "それでも購入希望者が減らないのは、賃料のほうがもっと速いペースで上がっているからなんですね。",
    "つまり、借りるより買ったほうが得だと考える人が増えているということでしょうか？",
    "そうです、ただし金利がさらに一パーセント上がれば、返済額は月に二万円ほど増える計算になります！",
    "若い世代にとっては、頭金をどう用意するかが一番の悩みだと思います。",
    "地方では逆に空き家が増えていて、価格が下がっている地域も少なくありません。",
)


def japanese_segments(count: int = 200, sentences_each: int = 8) -> list[Segment]:
    """`count` segments of about 330 characters each, with no whitespace at all (like the 64,227-character
    chunk of the report)."""
    segments = []
    for n in range(count):
        text = "".join(SENTENCES[(n + k) % len(SENTENCES)] for k in range(sentences_each))
        segments.append(Segment(start=n * 60.0, end=n * 60.0 + 59.0, text=text, speaker="田中" if n % 2 else "佐藤"))
    return segments


def test_japanese_sentences_split_without_spaces():
    assert split_sentences("金利が上がりました。価格は？上がります！") == ["金利が上がりました。", "価格は？", "上がります！"]
    assert split_sentences("「そうです。」と彼は言った。") == ["「そうです。」", "と彼は言った。"]
    assert split_sentences('He said "stop." Then left! Why? ok') == ['He said "stop."', "Then left!", "Why?", "ok"]


def test_a_japanese_transcript_is_cut_into_chunks_that_fit_the_budget():
    segments = japanese_segments()
    assert all(" " not in s.text for s in segments)
    total_chars = sum(len(s.text) for s in segments)
    assert total_chars > 60_000  # the size of the one chunk the report saw
    chunks = chunk_segments(segments, words=450, overlap_words=40)
    budget = 450 * CHARS_PER_WORD
    assert len(chunks) >= total_chars // budget
    for chunk in chunks:
        body = "\n".join(line for line in chunk.text.splitlines() if line.startswith("["))
        assert char_count(body) <= budget + 20 * len(chunk.lines), chunk.index  # line numbers aside
    assert {i for c in chunks for i in range(c.first, c.last + 1)} == set(range(len(segments)))
    for before, after in zip(chunks, chunks[1:]):
        assert after.first > before.first


def test_the_extraction_path_splits_long_japanese_segments_into_sentences_and_bounds_every_chunk():
    # extract.py calls split_long_segments(max_words=40) then chunk_segments(words=450)
    segments = japanese_segments(count=200, sentences_each=20)  # ~1,000 characters a segment
    pieces = split_long_segments(segments, max_words=40)
    assert len(pieces) > len(segments)
    assert all(char_count(p.text) <= 40 * CHARS_PER_WORD for p in pieces)
    assert "".join(p.text for p in pieces) == "".join(s.text for s in segments)  # nothing lost or added
    assert all(p.text.endswith(("。", "？", "！")) for p in pieces)  # cut at sentence ends
    assert pieces[0].start == 0 and 0 < pieces[1].start < 59  # times interpolated by position
    chunks = chunk_segments(pieces, words=450, overlap_words=40)
    assert max(len(c.text) for c in chunks) < 450 * CHARS_PER_WORD * 1.3
    assert {i for c in chunks for i in range(c.first, c.last + 1)} == set(range(len(pieces)))
    # lines stay about a sentence or two, so the model can point at a quote
    assert max(len(line) for c in chunks for line in c.text.splitlines()) < 300


def test_a_sentence_without_punctuation_or_spaces_is_cut_by_characters_at_graphemes():
    text = ("かが\u3099" + "é" + "👩\u200d💻" + "🇯🇵" + "👍🏽" + "漢字") * 300  # combining dakuten, e + U+0301
    text = unicodedata.normalize("NFD", text)
    pieces = split_by_chars(text, 100)
    assert "".join(pieces) == text
    assert all(0 < char_count(p) <= 104 for p in pieces)
    for piece in pieces[1:]:
        assert not unicodedata.combining(piece[0]) and piece[0] not in "\u200d\u3099" and not (
            "\U0001f3fb" <= piece[0] <= "\U0001f3ff"), repr(piece[:3])
    for piece in pieces[:-1]:
        assert piece[-1] != "\u200d"
    segment = Segment(0.0, 100.0, text, "A")
    split = split_long_segments([segment], max_words=20)
    assert all(char_count(p.text) <= 20 * CHARS_PER_WORD + 4 for p in split)
    assert "".join(p.text for p in split) == text
    assert split[-1].end == 100.0


def test_a_long_clause_list_is_cut_after_a_comma():
    text = "、".join(["住宅価格が上がり続けている"] * 40) + "。"
    pieces = split_by_chars(text, 60)
    assert all(p.endswith(("、", "。")) for p in pieces)
    assert "".join(pieces) == text


def test_english_chunks_are_unchanged_by_the_character_budget():
    words = "the rate rose by two percent in the third quarter as demand shifted".split()
    segments = [Segment(i * 5.0, i * 5.0 + 4.0, " ".join(words[(i + k) % len(words)] for k in range(30)) + ".", "A")
                for i in range(300)]
    chunks = chunk_segments(segments, words=450, overlap_words=40)
    assert all(c.words > 400 for c in chunks[:-1])  # still bounded by words, not characters
