"""The demo's real audio: an MP3 for every audio-only episode, and a record of what was rendered into it.

`content/audio/<slug>.mp3` is speech that `build_audio.py` renders with espeak-ng from the episode's
script. `<slug>.json` beside it records where each turn starts and ends, the voice that spoke it, and the
file's size, SHA-256 and decoded duration. So the server and the feed need neither espeak-ng nor an audio
decoder, tests can line speech-to-text output up with who spoke when, and a script edited without
re-rendering its audio is caught by `build_content --check` (which must run where espeak-ng is absent).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from podsight.demo.catalog import DemoEpisode, DemoShow, all_episodes
from podsight.demo.script import SOURCE_DIR, read_turns

AUDIO_DIR = Path(__file__).parent / "content" / "audio"


@dataclass(frozen=True)
class RenderedTurn:
    """One turn as spoken in the audio: seconds from the start of the file, speech only (no pauses)."""

    speaker: str
    voice: str
    start_s: float
    end_s: float
    text: str


@dataclass(frozen=True)
class RenderedAudio:
    """What an episode's MP3 holds; stored as `<slug>.json` next to it."""

    slug: str
    duration_s: float  # decoded length of the MP3
    size_bytes: int
    sha256: str
    sample_rate: int
    bit_rate: int
    renderer: str  # e.g. "espeak-ng 1.51, -s 155", for reproducibility
    turns: tuple[RenderedTurn, ...]

    @property
    def word_count(self) -> int:
        return sum(len(turn.text.split()) for turn in self.turns)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> RenderedAudio:
        data = json.loads(text)
        data["turns"] = tuple(RenderedTurn(**turn) for turn in data["turns"])
        return cls(**data)


def mp3_path(slug: str, audio_dir: Path = AUDIO_DIR) -> Path:
    return audio_dir / f"{slug}.mp3"


def record_path(slug: str, audio_dir: Path = AUDIO_DIR) -> Path:
    return audio_dir / f"{slug}.json"


def audio_only_episodes() -> list[tuple[DemoShow, DemoEpisode]]:
    """The episodes whose feed item offers no transcript: the demo serves real audio for these."""
    return [(show, episode) for show, episode in all_episodes() if not episode.formats]


def load_rendered(slug: str, audio_dir: Path = AUDIO_DIR) -> RenderedAudio | None:
    """The record of an episode's rendered audio, or None when the episode has none."""
    path = record_path(slug, audio_dir)
    if not path.exists():
        return None
    return RenderedAudio.from_json(path.read_text(encoding="utf-8"))


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def audio_problem(show: DemoShow, episode: DemoEpisode, audio_dir: Path = AUDIO_DIR) -> str | None:
    """Why an audio-only episode's committed audio is missing or stale, or None when it is current."""
    rendered = load_rendered(episode.slug, audio_dir)
    mp3 = mp3_path(episode.slug, audio_dir)
    if rendered is None or not mp3.exists():
        return "missing"
    if mp3.stat().st_size != rendered.size_bytes or file_sha256(mp3) != rendered.sha256:
        return f"{mp3.name} is not the file its record describes"
    turns = read_turns(SOURCE_DIR / f"{episode.slug}.txt", set(show.hosts) | {episode.guest})
    spoken = [(turn.speaker, turn.text) for turn in rendered.turns]
    if spoken != [(turn.speaker, turn.text) for turn in turns]:
        return f"source/{episode.slug}.txt changed since its audio was rendered"
    return None


def stale_audio(audio_dir: Path = AUDIO_DIR) -> list[str]:
    """`audio/<slug>.mp3 (why)` for every audio-only episode whose audio needs rendering again."""
    stale = []
    for show, episode in audio_only_episodes():
        problem = audio_problem(show, episode, audio_dir)
        if problem:
            stale.append(f"audio/{episode.slug}.mp3 ({problem})")
    return stale
