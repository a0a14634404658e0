"""An episode's script, timed: the single source every transcript format is rendered from.

A script is `source/<slug>.txt`: one turn per line, `Speaker Name: what they say`; lines starting with
`#` are notes. Each sentence becomes one cue. Times come from a speaking rate of 150 words a minute
(400 ms a word), a short breath after each sentence and a longer pause between speakers, after a
few seconds of intro music, so every format of one episode carries exactly the same timings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from podsight.demo.catalog import DemoEpisode, DemoShow

SOURCE_DIR = Path(__file__).parent / "source"

MS_PER_WORD = 400  # 150 words per minute
SENTENCE_PAUSE_MS = 250
TURN_PAUSE_MS = 600
INTRO_MUSIC_MS = 4_000
OUTRO_MUSIC_MS = 6_000

# A sentence ends at . ! ? (optionally followed by a closing quote) before whitespace. Spoken
# transcripts have few abbreviations; "Dr." and "a.m."/"p.m." are the ones ours use. A trailing
# ellipsis is a hesitation, not the end of a sentence.
_SENTENCE_END = re.compile(r"(?<!\bDr\.)(?<![ap]\.m\.)(?<!\.\.\.)(?<=[.!?])\s+(?=\S)")


class ScriptError(ValueError):
    """A demo script is malformed (unknown speaker, missing colon...). Only build-time input."""


@dataclass(frozen=True)
class Cue:
    """One sentence on screen: caption-sized, with its speaker and its turn."""

    start_ms: int
    end_ms: int
    speaker: str
    text: str
    turn: int


@dataclass(frozen=True)
class Turn:
    """What one speaker says before the other speaks."""

    speaker: str
    text: str


@dataclass(frozen=True)
class TimedScript:
    """An episode's cues plus the totals the feed needs."""

    cues: tuple[Cue, ...]
    duration_s: int  # whole seconds, as itunes:duration states it

    @property
    def word_count(self) -> int:
        return sum(len(cue.text.split()) for cue in self.cues)

    def turns(self) -> list[list[Cue]]:
        """Cues grouped by turn, in order."""
        grouped: dict[int, list[Cue]] = {}
        for cue in self.cues:
            grouped.setdefault(cue.turn, []).append(cue)
        return list(grouped.values())


def read_turns(path: Path, speakers: set[str]) -> list[Turn]:
    """Parse a script file; every speaker must be one of `speakers` (catches typos in names)."""
    turns = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        speaker, colon, text = line.partition(": ")
        if not colon or not text.strip():
            raise ScriptError(f"{path.name}:{number}: expected 'Speaker Name: text'")
        if speaker not in speakers:
            expected = ", ".join(sorted(speakers))
            raise ScriptError(f"{path.name}:{number}: unknown speaker {speaker!r}; expected one of: {expected}")
        turns.append(Turn(speaker, " ".join(text.split())))
    return turns


def split_sentences(text: str) -> list[str]:
    """Split a turn into sentences (caption cues)."""
    return [part for part in _SENTENCE_END.split(text) if part]


def time_turns(turns: list[Turn]) -> TimedScript:
    """Lay the turns out on a clock: one cue per sentence, integer milliseconds so nothing drifts."""
    cues = []
    clock = INTRO_MUSIC_MS
    for index, turn in enumerate(turns):
        if index:
            clock += TURN_PAUSE_MS - SENTENCE_PAUSE_MS
        for sentence in split_sentences(turn.text):
            end = clock + MS_PER_WORD * len(sentence.split())
            cues.append(Cue(clock, end, turn.speaker, sentence, index))
            clock = end + SENTENCE_PAUSE_MS
    total_ms = (cues[-1].end_ms if cues else 0) + OUTRO_MUSIC_MS
    return TimedScript(tuple(cues), duration_s=-(-total_ms // 1000))


def load_script(show: DemoShow, episode: DemoEpisode) -> TimedScript:
    """The timed script of an episode (every demo episode has one, audio-only ones included)."""
    speakers = set(show.hosts) | {episode.guest}
    return time_turns(read_turns(SOURCE_DIR / f"{episode.slug}.txt", speakers))
