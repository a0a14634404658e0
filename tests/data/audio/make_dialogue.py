"""How dialogue.mp3 and dialogue.json were made (kept for reproducibility; tests do not run it).

    python tests/data/audio/make_dialogue.py tests/data/audio

A two-person interview of about 70 seconds, rendered with espeak-ng in two clearly different voices
(host: American male, low pitch; guest: British female, high pitch), with a self-introduction, a welcome
that names the guest, and one short (< 1 s) backchannel ("Right.") from the host. Each turn is rendered
on its own, then the turns are joined with pauses; dialogue.json records who says what and when, in
seconds from the start (exact: computed from sample counts), so tests can align a transcript with it.
Encoded to mono 16 kHz MP3 at 32 kbit/s by make_clip.encode (PyAV, no ffmpeg binary needed).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import wave
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from make_clip import encode_pcm  # noqa: E402

ESPEAK_RATE = 22_050  # espeak-ng's output sample rate
PAUSE_S = 0.7  # silence between turns
LEAD_S = 0.4  # silence before the first turn
SPEAKERS = {
    "host": {"name": "Dana Reyes", "voice": ["-v", "en-us+m3", "-p", "30", "-s", "150"]},
    "guest": {"name": "Sam Okafor", "voice": ["-v", "en-gb+f3", "-p", "75", "-s", "155"]},
}
TURNS = [
    ("host", "Hello and welcome to Field Notes. I'm Dana Reyes. My guest today studies city farms. "
             "Welcome to the show, Sam."),
    ("guest", "Thanks for having me, Dana. It is great to be here."),
    ("host", "So what got you started with rooftop gardens?"),
    ("guest", "I grew up in a flat with no garden at all. When I moved to London, I saw tomatoes growing "
              "on a bus shelter, and I was hooked."),
    ("host", "Right."),
    ("guest", "Since then we have measured more than two hundred roofs. A good roof can feed a family of "
              "four for most of the summer."),
    ("host", "That is a bold claim. How do you know?"),
    ("guest", "We weigh every harvest and compare it with what the families buy each week."),
    ("host", "And what does it cost to set one up?"),
    ("guest", "About two thousand pounds for the beds and the water tank, less if neighbours share the work."),
    ("host", "Sam Okafor, thank you so much for coming in."),
    ("guest", "Thank you, Dana. It was a pleasure."),
]


def render(text: str, voice: list[str]) -> bytes:
    """16-bit mono PCM at ESPEAK_RATE for one turn (the WAV header stripped)."""
    wav = subprocess.run(["espeak-ng", *voice, "--stdout", text], check=True, capture_output=True).stdout
    with tempfile.NamedTemporaryFile(suffix=".wav") as tmp:
        Path(tmp.name).write_bytes(wav)
        with wave.open(tmp.name) as reader:
            assert reader.getframerate() == ESPEAK_RATE and reader.getnchannels() == 1
            return reader.readframes(reader.getnframes())


def silence(seconds: float) -> bytes:
    return b"\0\0" * int(seconds * ESPEAK_RATE)


def build(out_dir: Path) -> None:
    pcm, turns = bytearray(silence(LEAD_S)), []
    for role, text in TURNS:
        speech = render(text, SPEAKERS[role]["voice"])
        start = len(pcm) / 2 / ESPEAK_RATE
        pcm += speech
        turns.append({"speaker": role, "start": round(start, 3), "end": round(len(pcm) / 2 / ESPEAK_RATE, 3),
                      "text": text})
        pcm += silence(PAUSE_S)
    encode_pcm(pcm, ESPEAK_RATE, str(out_dir / "dialogue.mp3"))
    script = {"speakers": {role: {"name": spec["name"], "espeak": " ".join(spec["voice"])}
                           for role, spec in SPEAKERS.items()},
              "pause_s": PAUSE_S, "turns": turns}
    (out_dir / "dialogue.json").write_text(json.dumps(script, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    build(Path(sys.argv[1]))
