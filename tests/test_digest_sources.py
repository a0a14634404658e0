"""'Also said on' and 'Disputed by' name each other episode once, however many of its insights are linked."""

from podsight.digest.sources import add_once
from podsight.records import Source


def source(episode: str, quote: str) -> Source:
    return Source(show_title="Field Notes", episode_title=episode, speaker="Sam Okafor", quote=quote,
                  url="https://example.com/a.mp3#t=10", reason="")


def test_an_episode_with_two_linked_insights_is_listed_once():
    bucket: list[Source] = []
    for item in (source("Ep 1", "first"), source("Ep 1", "second"), source("Ep 2", "third")):
        add_once(bucket, item, limit=3)
    assert [s.episode_title for s in bucket] == ["Ep 1", "Ep 2"] and bucket[0].quote == "first"


def test_the_limit_holds():
    bucket: list[Source] = []
    for n in range(5):
        add_once(bucket, source(f"Ep {n}", "q"), limit=3)
    assert len(bucket) == 3
