"""Render the audio-only episodes to speech: `python -m podsight.demo.build_content --audio`.

Each turn of the script is spoken by espeak-ng (Debian package `espeak-ng`) in its speaker's voice,
trimmed of espeak's own leading and trailing silence, and laid end to end with a short pause between
turns. The whole is resampled to 16 kHz mono and encoded as a 24 kbit/s MP3 with PyAV (bundled FFmpeg:
no ffmpeg binary needed), the size and quality of a spoken-word podcast squeezed for a repository.
The MP3 and its record (`audio.RenderedAudio`: per-turn times, voices, size, hash, duration) are
committed, so nothing else in the project needs espeak-ng.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from podsight.asr.audio import import_av
from podsight.demo.audio import AUDIO_DIR, RenderedAudio, RenderedTurn, file_sha256, mp3_path, record_path
from podsight.demo.catalog import DemoEpisode, DemoShow
from podsight.demo.script import SOURCE_DIR, TURN_PAUSE_MS, Turn, read_turns
from podsight.errors import PodsightError

# espeak-ng's `-s` counts words a minute of continuous speech; its pauses at commas and full stops bring
# the overall pace of our scripts down to about 150 words a minute, a typical conversational podcast.
ESPEAK_SPEED = 155
LEAD_IN_MS = 500
TAIL_MS = 1_000
SAMPLE_RATE = 16_000  # what Whisper decodes to anyway
BIT_RATE = 24_000  # keeps a four-minute episode near 700 kB
SILENCE_THRESHOLD = 200  # int16 amplitude under which espeak's output counts as silence
ENCODE_CHUNK = 4_096  # samples handed to the resampler at a time


class AudioBuildError(PodsightError):
    """The demo audio could not be rendered (espeak-ng missing, a speaker without a voice...)."""


@dataclass(frozen=True)
class Voice:
    """An espeak-ng voice, `language+variant`, and optionally a pitch (0-99). `-p` replaces the variant's
    own pitch rather than shifting it (measured: `+f3 -p 50` speaks at a man's 100 Hz, `+f3` near 220 Hz),
    so female variants keep theirs."""

    espeak: str
    pitch: int | None = None

    @property
    def name(self) -> str:
        return self.espeak if self.pitch is None else f"{self.espeak} -p {self.pitch}"

    def options(self) -> list[str]:
        return ["-v", self.espeak] + ([] if self.pitch is None else ["-p", str(self.pitch)])


#: Every speaker of an audio-only episode: an American host, British guests (a woman, a deeper man).
#: `en` is espeak-ng's British English; write `en+f5`, not `en-gb+f5`: an alias drops the variant silently.
#: Variants chosen for whisper-base's word error rate on our scripts (greedy, 24 kbit/s), measured on
#: one speaker's turns: host en-us+m1 0.13 (m3 0.17); Élise en+f5 0.16 (f2 0.18, f3 0.26, f4 0.39);
#: Owen, on his whole episode: en+m3 0.10 (m2 0.11, m1 0.12, m7 0.15). At its own pitch en+m3 (107 Hz) is
#: within 2 semitones of the host (95 Hz), closer than two people's voices usually are, and too close for
#: podsight to tell apart (README, "Speakers"); at -p 75 (136 Hz, 6 semitones up) he is a tenor to the
#: host's baritone.
VOICES: dict[str, Voice] = {
    "Daniel Reyes": Voice("en-us+m1"),
    "Élise Fontaine": Voice("en+f5"),
    "Owen Hartley": Voice("en+m3", pitch=75),
}


def espeak_version() -> str:
    """`espeak-ng 1.51`-style version of the installed espeak-ng; AudioBuildError when it is absent."""
    binary = shutil.which("espeak-ng")
    if binary is None:
        raise AudioBuildError(
            "rendering the demo audio needs espeak-ng: apt-get install espeak-ng "
            "(only to re-render it; the committed MP3s serve without it)"
        )
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, check=True).stdout
    found = re.search(r"\d+\.\d+\S*", out)  # "eSpeak NG text-to-speech: 1.51  Data at: ..."
    return f"espeak-ng {found.group(0) if found else 'unknown version'}"


def speak(text: str, voice: Voice, work_dir: Path) -> tuple[np.ndarray, int]:
    """One turn as int16 samples (espeak's own silence at both ends trimmed) and their sample rate."""
    wav = work_dir / "turn.wav"
    command = ["espeak-ng", *voice.options(), "-s", str(ESPEAK_SPEED), "-w", str(wav)]
    result = subprocess.run([*command, "--", text], capture_output=True, text=True)
    if result.returncode != 0:
        raise AudioBuildError(f"espeak-ng failed for voice {voice.espeak}: {result.stderr.strip()}")
    with wave.open(str(wav)) as reader:
        if reader.getnchannels() != 1 or reader.getsampwidth() != 2:
            raise AudioBuildError("espeak-ng did not write 16-bit mono audio")
        rate = reader.getframerate()
        samples = np.frombuffer(reader.readframes(reader.getnframes()), dtype="<i2")
    return trim_silence(samples), rate


def trim_silence(samples: np.ndarray) -> np.ndarray:
    """The samples from the first to the last one above the silence threshold."""
    loud = np.flatnonzero(np.abs(samples.astype(np.int32)) > SILENCE_THRESHOLD)
    return samples[loud[0]:loud[-1] + 1] if len(loud) else samples[:0]


def _silence(ms: int, rate: int) -> np.ndarray:
    return np.zeros(rate * ms // 1000, dtype=np.int16)


def speak_turns(turns: list[Turn]) -> tuple[np.ndarray, int, list[RenderedTurn]]:
    """The whole episode: samples, their rate, and where each turn's speech lies (seconds)."""
    missing = sorted({turn.speaker for turn in turns} - set(VOICES))
    if missing:
        raise AudioBuildError(f"no voice for {', '.join(missing)}: add them to build_audio.VOICES")
    pieces: list[np.ndarray] = []
    placed: list[RenderedTurn] = []
    clock, rate = 0, 0
    with tempfile.TemporaryDirectory(prefix="podsight-demo-audio-") as tmp:
        for index, turn in enumerate(turns):
            voice = VOICES[turn.speaker]
            speech, rate = speak(turn.text, voice, Path(tmp))
            gap = _silence(TURN_PAUSE_MS if index else LEAD_IN_MS, rate)
            clock += len(gap)
            placed.append(RenderedTurn(turn.speaker, voice.name, round(clock / rate, 3),
                                       round((clock + len(speech)) / rate, 3), turn.text))
            pieces += [gap, speech]
            clock += len(speech)
    pieces.append(_silence(TAIL_MS, rate))
    return np.concatenate(pieces), rate, placed


def encode_mp3(samples: np.ndarray, rate: int, path: Path) -> None:
    """Resample int16 mono samples to 16 kHz and write them as a constant-bit-rate MP3."""
    av = import_av()
    with av.open(str(path), "w", format="mp3") as out:
        stream = out.add_stream("libmp3lame", rate=SAMPLE_RATE, layout="mono")
        stream.bit_rate = BIT_RATE
        resampler = av.AudioResampler(format="s16p", layout="mono", rate=SAMPLE_RATE)
        for start in range(0, len(samples), ENCODE_CHUNK):
            frame = av.AudioFrame.from_ndarray(samples[None, start:start + ENCODE_CHUNK], format="s16", layout="mono")
            frame.sample_rate = rate
            for piece in resampler.resample(frame):
                out.mux(stream.encode(piece))
        for piece in resampler.resample(None):
            out.mux(stream.encode(piece))
        out.mux(stream.encode(None))


def decoded_seconds(path: Path) -> float:
    """Length of an audio file as a decoder plays it (samples decoded / rate)."""
    av = import_av()
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        samples = sum(frame.samples for frame in container.decode(stream))
        return samples / stream.rate


def render_episode(show: DemoShow, episode: DemoEpisode, audio_dir: Path = AUDIO_DIR) -> RenderedAudio:
    """Speak one episode's script into `<slug>.mp3` and write its record `<slug>.json`."""
    version = espeak_version()
    turns = read_turns(SOURCE_DIR / f"{episode.slug}.txt", set(show.hosts) | {episode.guest})
    samples, rate, placed = speak_turns(turns)
    audio_dir.mkdir(parents=True, exist_ok=True)
    mp3 = mp3_path(episode.slug, audio_dir)
    encode_mp3(samples, rate, mp3)
    rendered = RenderedAudio(
        slug=episode.slug, duration_s=round(decoded_seconds(mp3), 3), size_bytes=mp3.stat().st_size,
        sha256=file_sha256(mp3), sample_rate=SAMPLE_RATE, bit_rate=BIT_RATE,
        renderer=f"{version}, -s {ESPEAK_SPEED}", turns=tuple(placed),
    )
    record_path(episode.slug, audio_dir).write_text(rendered.to_json(), encoding="utf-8")
    return rendered
