"""The demo's disputes start where the code chooses: each side of a planted contradiction that a publisher's
transcript carries is among the passages its episode asks the model about first.

Whether the model then writes it well is the model's business (no test requires the digest's dispute); where the
script puts it is ours. An edit to a script that pushes a disputed passage out of its episode's budget would make
the demo's "Disputed by" vanish on every CPU, as the audio-only side did on an Intel CPU (Whisper heard it
differently and it fell below the salience floor).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from podsight.embed import load_embedder
from podsight.insights.passages import _pieces
from podsight.insights.select import budget, choose_passages
from podsight.transcripts.parse import parse_transcript

CONTENT = Path(__file__).parent.parent / "podsight" / "demo" / "content"
CLAIMS = json.loads((CONTENT / "claims.json").read_text(encoding="utf-8"))["claims"]
DISPUTED_IN_TRANSCRIPTS = list(dict.fromkeys((mention["episode"], mention["transcripts"][0], mention["sentence"])
                                             for claim in CLAIMS if claim["relation"] == "contradicts"
                                             for mention in claim["mentions"] if mention["transcripts"]))


@pytest.fixture(scope="module")
def embedder():
    return load_embedder()


def test_both_sides_of_a_dispute_are_planted_in_publisher_transcripts():
    episodes = {episode for episode, _, _ in DISPUTED_IN_TRANSCRIPTS}
    assert {"ai-assistants-productivity", "attention-budget"} <= episodes


@pytest.mark.parametrize(("episode", "transcript", "sentence"), DISPUTED_IN_TRANSCRIPTS,
                         ids=[f"{e}:{t}" for e, t, _ in DISPUTED_IN_TRANSCRIPTS])
def test_a_disputed_passage_is_among_those_its_episode_asks_about_first(embedder, episode, transcript, sentence):
    path = CONTENT / "transcripts" / transcript
    pieces, skip = _pieces(parse_transcript(path.read_bytes(), url=path.name))
    wanted = budget(pieces[-1].end - pieces[0].start)
    chosen = choose_passages(pieces, skip, embedder.embed)
    asked_first = [passage.text for passage in chosen[:wanted]]
    assert any(sentence in text for text in asked_first), (wanted, [text[:80] for text in asked_first])
