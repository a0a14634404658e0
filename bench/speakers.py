"""Benchmark: does speaker separation tell one voice from two, with a margin that survives other machines?

    .venv/bin/python bench/speakers.py                      # tiny.en and base, beam 1 and 5
    .venv/bin/python bench/speakers.py --models whisper-tiny.en --beams 1

Recordings: the test dialogue and clip (tests/data/audio), the demo's two audio episodes, and monologues
and dialogues spoken here by espeak-ng (Debian package) in voices of different pitch, timbre and rate,
including one voice read at two speeds. Every two-voice recording also gives two single-voice ones: the
segments of each speaker alone (by overlap with the script's turns). Each is transcribed by each model and
beam (cached under var/bench-speakers), and the voice score (`speakers.cluster_voices`) is taken on the
Whisper segments as they are and on perturbed ones: boundaries moved by up to 0.3 s, neighbours merged,
long segments split. Whisper's segments differ between CPUs (int8 kernels), so a decision that flips under
these perturbations would flip on some machine. Prints one row per recording and model, then the ranges.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "data" / "audio"))
from make_clip import encode_pcm  # noqa: E402

from podsight.asr import load_transcriber  # noqa: E402
from podsight.asr.audio import pcm_windows  # noqa: E402
from podsight.asr.speakers import MIN_PITCH_GAP, cluster_voices, voice_features  # noqa: E402
from podsight.records import Segment  # noqa: E402

CACHE = ROOT / "var" / "bench-speakers"
AUDIO = ROOT / "tests" / "data" / "audio"
DEMO = ROOT / "podsight" / "demo" / "content" / "audio"
ESPEAK_RATE = 22_050
PAUSE_S = 0.6
CLOSE_DEMOS: set[str] = set()  # demo recordings whose two voices are meant to be too close to separate (none since
# Owen Hartley speaks at pitch 75: 6 semitones above the host; at en+m3's own pitch he was 1.5-2.5 apart)

# Demo-script sentences for the espeak recordings (any English prose would do).
LINES = [
    "The muscles in your legs pull glucose out of the blood while they are working, without needing much insulin.",
    "That number came from a marketing campaign for a pedometer, not from a study.",
    "When researchers actually followed people for years, most of the benefit showed up by about seven thousand steps.",
    "After that, the curve flattens, and the biggest gain is going from very little to a bit more.",
    "A good roof can feed a family of four for most of the summer, if the beds get enough sun.",
    "We weigh every harvest and compare it with what the families buy each week.",
    "Prices in a grocery chain are set by people who watch the competitors every single morning.",
    "The umbrella stall taught me one thing: demand depends entirely on the weather.",
    "Most shops never find out which of their products actually make them money.",
    "Sleep debt builds up quietly, and one long lie-in at the weekend does not pay it back.",
    "Small language models now run on an ordinary laptop, slowly but without any cloud at all.",
    "On-call weeks leave a hangover that the rota rarely accounts for.",
]

# (name, [(speaker, espeak options), ...]): each line spoken by the next speaker in turn. "one": a single
# voice; "two": two voices of different pitch, which must be told apart; "close": two voices within two
# semitones of each other, which the rule leaves unlabelled (their timbre did not separate them either).
SPOKEN = [
    ("one: en-us+m3 -p 30 (low man)", [("a", "-v en-us+m3 -p 30 -s 150")]),
    ("one: en-gb+f3 -p 75 (high woman)", [("a", "-v en-gb+f3 -p 75 -s 155")]),
    ("one: en-us+m1", [("a", "-v en-us+m1 -s 155")]),
    ("one: en+m3", [("a", "-v en+m3 -s 155")]),
    ("one: en+f5", [("a", "-v en+f5 -s 155")]),
    ("one: en-us at 120 and 200 wpm", [("a", "-v en-us -s 120")] * 6 + [("a", "-v en-us -s 200")] * 6),
    ("one: en+f5 alternating 130/185 wpm", [("a", "-v en+f5 -s 130"), ("a", "-v en+f5 -s 185")]),
    ("two: en-us+m1 / en+f5", [("a", "-v en-us+m1 -s 155"), ("b", "-v en+f5 -s 155")]),
    ("two: en-us+m3 -p 30 / en-gb+f3 -p 75", [("a", "-v en-us+m3 -p 30 -s 150"), ("b", "-v en-gb+f3 -p 75 -s 155")]),
    ("close: en-us+m1 / en+m3 (two men)", [("a", "-v en-us+m1 -s 155"), ("b", "-v en+m3 -s 155")]),
    ("close: en-us+f2 / en+f5 (two women)", [("a", "-v en-us+f2 -s 155"), ("b", "-v en+f5 -s 155")]),
    ("two: en-us+m3 -p 25 / -p 70 (one timbre, two pitches)", [("a", "-v en-us+m3 -p 25 -s 150"),
                                                                ("b", "-v en-us+m3 -p 70 -s 150")]),
    ("close: en-us / en-gb (accent only)", [("a", "-v en-us -s 155"), ("b", "-v en-gb -s 155")]),
]


def render(name: str, speakers: list[tuple[str, str]]) -> tuple[Path, list[dict]]:
    """The recording as a 32 kbit/s MP3 like the test audio, and its turns (speaker, start, end)."""
    slug = "".join(c if c.isalnum() else "-" for c in name).strip("-")
    mp3, script = CACHE / f"{slug}.mp3", CACHE / f"{slug}.json"
    if mp3.exists() and script.exists():
        return mp3, json.loads(script.read_text())
    if not shutil.which("espeak-ng"):
        sys.exit("bench/speakers.py needs espeak-ng: apt-get install -y espeak-ng")
    pcm, turns = bytearray(b"\0\0" * int(0.4 * ESPEAK_RATE)), []
    for index, line in enumerate(LINES):
        speaker, options = speakers[index % len(speakers)]
        wav = subprocess.run(["espeak-ng", *options.split(), "--stdout", line], check=True,
                             capture_output=True).stdout
        start = len(pcm) / 2 / ESPEAK_RATE
        pcm += wav[44:]  # espeak's WAV header is 44 bytes
        turns.append({"speaker": speaker, "start": start, "end": len(pcm) / 2 / ESPEAK_RATE})
        pcm += b"\0\0" * int(PAUSE_S * ESPEAK_RATE)
    encode_pcm(pcm, ESPEAK_RATE, str(mp3))
    script.write_text(json.dumps(turns))
    return mp3, turns


def committed() -> list[tuple[str, Path, list[dict]]]:
    """The test dialogue and clip and the demo's audio episodes, with their scripted turns."""
    dialogue = json.loads((AUDIO / "dialogue.json").read_text())["turns"]
    found = [("two: test dialogue.mp3", AUDIO / "dialogue.mp3", dialogue),
             ("one: test clip.mp3", AUDIO / "clip.mp3", [{"speaker": "a", "start": 0.0, "end": 1e9}])]
    for record in sorted(DEMO.glob("*.json")):
        turns = [{"speaker": t["speaker"], "start": t["start_s"], "end": t["end_s"]}
                 for t in json.loads(record.read_text())["turns"]]
        kind = "close" if record.stem in CLOSE_DEMOS else "two"
        found.append((f"{kind}: demo {record.stem}", record.with_suffix(".mp3"), turns))
    return found


def transcribe(path: Path, model: str, beam: int) -> list[Segment]:
    cached = CACHE / f"{path.stem}.{model}.beam{beam}.json"
    if not cached.exists():
        transcriber = load_transcriber(model, CACHE / "weights", device="cpu", beam_size=beam, speakers=False)
        segments = transcriber.transcribe(path).segments
        cached.write_text(json.dumps([[s.start, s.end, s.text] for s in segments]))
    return [Segment(start, end, text) for start, end, text in json.loads(cached.read_text())]


def who(segment: Segment, turns: list[dict]) -> str | None:
    """The scripted speaker of most of the segment, or None when no one speaks 80% of it."""
    heard: dict[str, float] = {}
    for turn in turns:
        overlap = min(segment.end, turn["end"]) - max(segment.start, turn["start"])
        heard[turn["speaker"]] = heard.get(turn["speaker"], 0.0) + max(0.0, overlap)
    speaker, most = max(heard.items(), key=lambda item: item[1], default=(None, 0.0))
    return speaker if most >= 0.8 * sum(heard.values()) > 0 else None


def perturbed(segments: list[Segment], rng: np.random.Generator, end_s: float) -> list[Segment]:
    """Segments as another machine's Whisper might cut them: each boundary moved by up to 0.3 s, about
    one pair of neighbours in six merged, and about one segment over 4 s in four split in two."""
    moved = []
    for s in segments:
        start = float(np.clip(s.start + rng.uniform(-0.3, 0.3), 0.0, end_s))
        moved.append(Segment(start, float(np.clip(s.end + rng.uniform(-0.3, 0.3), start + 0.1, end_s)), s.text))
    merged: list[Segment] = []
    for s in moved:
        if merged and rng.random() < 1 / 6:
            merged[-1] = replace(merged[-1], end=s.end)
        else:
            merged.append(s)
    cut = []
    for s in merged:
        if s.end - s.start > 4.0 and rng.random() < 0.25:
            middle = (s.start + s.end) / 2
            cut += [replace(s, end=middle), replace(s, start=middle)]
        else:
            cut.append(s)
    return cut


def part_scores(name: str, path: Path, turns: list[dict], segments: list[Segment],
                perturbations: int) -> dict[str, list[float]]:
    """Per part of the recording (the whole; for two voices also each speaker's segments alone, those
    that are 80% theirs), the voice score of the segments as Whisper cut them (first), then of each
    perturbed cut."""
    (offset, samples), = pcm_windows(path, window_s=3600)
    rng = np.random.default_rng(0)
    speakers = sorted({t["speaker"] for t in turns})
    found: dict[str, list[float]] = {}
    for cut in [segments] + [perturbed(segments, rng, offset + len(samples) / 16_000) for _ in range(perturbations)]:
        features, durations = voice_features(samples, cut, offset), np.array([s.end - s.start for s in cut])
        parts = {name: np.ones(len(cut), dtype=bool)}
        if not name.startswith("one") and len(speakers) == 2:
            owners = [who(s, turns) for s in cut]
            parts |= {f"one: {speaker} alone, from {name.split(': ')[1]}":
                      np.array([owner == speaker for owner in owners], dtype=bool) for speaker in speakers}
        for label, mine in parts.items():
            found.setdefault(label, []).append(cluster_voices(features[mine], durations[mine])[1])
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=["whisper-tiny.en", "whisper-base"])
    parser.add_argument("--beams", nargs="+", type=int, default=[1, 5])
    parser.add_argument("--perturbations", type=int, default=10)
    args = parser.parse_args()
    CACHE.mkdir(parents=True, exist_ok=True)
    recordings = committed() + [(name, *render(name, speakers)) for name, speakers in SPOKEN]
    ranges: dict[str, list[float]] = {}
    print(f"{'recording':58} {'model':22} {'as cut':>7} {'perturbed':>13}")
    for name, path, turns in recordings:
        for model in args.models:
            for beam in args.beams:
                segments = transcribe(path, model, beam)
                for label, found in part_scores(name, path, turns, segments, args.perturbations).items():
                    ranges.setdefault(label.split(":")[0], []).extend(found)
                    print(f"{label[:58]:58} {model + ' beam ' + str(beam):22} {found[0]:7.2f} "
                          f"{min(found):6.2f}-{max(found):.2f}", flush=True)
    print(f"\nthreshold {MIN_PITCH_GAP} semitones (pitch gap between the groups' typical pitches)")
    for kind, found in ranges.items():
        print(f"{kind:5} {len(found):5} cuts: {min(found):.2f} to {max(found):.2f}")


if __name__ == "__main__":
    main()
