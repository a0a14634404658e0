"""Benchmark: podsight's speech-to-text against the plain faster-whisper call other podcast tools make.

    .venv/bin/python bench/asr.py                 # a 10-minute recording, tiny.en and base
    .venv/bin/python bench/asr.py --minutes 3
    .venv/bin/python bench/asr.py --minutes 180 --models whisper-tiny.en --runs podsight   # memory on 3 hours

The recording is spoken by espeak-ng (Debian package) from the demo shows' scripts, so its exact words are
known. Each configuration runs in its own process, so peak memory (ru_maxrss) is its own. Side by side, on
the same audio and weights: real-time factor, CPU seconds per audio hour, peak RSS and word error rate for

- podsight: `WhisperTranscriber` (int8, VAD, greedy, no previous-text conditioning, 20-minute windows);
- plain: `WhisperModel(path).transcribe(audio)` with default settings (whole file, no VAD, no batching).
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORDS_PER_MINUTE = 160  # espeak-ng's pace at -s 160


def script_words(minutes: float) -> str:
    """About `minutes` of speech from the demo scripts, speaker labels removed."""
    lines = []
    for source in sorted((ROOT / "podsight" / "demo" / "source").glob("*.txt")):
        for line in source.read_text(encoding="utf-8").splitlines():
            text = line.split(":", 1)[1] if ":" in line else line
            if text.strip():
                lines.append(text.strip())
    words = " ".join(lines).split()
    wanted = int(minutes * WORDS_PER_MINUTE)
    repeats = -(-wanted // len(words))  # the scripts hold ~23 minutes: longer recordings repeat them
    return " ".join((words * repeats)[:wanted])


def speak(text: str, folder: Path) -> Path:
    if not shutil.which("espeak-ng"):
        sys.exit("bench/asr.py needs espeak-ng: apt-get install -y espeak-ng")
    (folder / "script.txt").write_text(text, encoding="utf-8")
    wav = folder / "speech.wav"
    subprocess.run(["espeak-ng", "-s", str(WORDS_PER_MINUTE), "-f", str(folder / "script.txt"), "-w", str(wav)], check=True)
    return wav


def run_podsight(model: str, audio: str, out, beam_size: int = 1) -> None:
    from podsight.asr import load_transcriber

    transcriber = load_transcriber(model, ROOT / "var" / "bench-cache", device="cpu", beam_size=beam_size)
    started, cpu = time.perf_counter(), time.process_time()
    result = transcriber.transcribe(Path(audio))
    out.send((time.perf_counter() - started, time.process_time() - cpu, result.text, _peak_mb()))


def run_plain(model: str, audio: str, out, _beam_size: int = 0) -> None:
    from faster_whisper import WhisperModel

    from podsight.asr import resolve_whisper_model

    path = resolve_whisper_model(model, ROOT / "var" / "bench-cache")
    started, cpu = time.perf_counter(), time.process_time()
    segments, _info = WhisperModel(path).transcribe(audio)
    text = " ".join(segment.text for segment in segments)
    out.send((time.perf_counter() - started, time.process_time() - cpu, text, _peak_mb()))


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # this process's own peak (Linux: KiB)


def measure(target, model: str, audio: Path, beam_size: int) -> tuple[float, float, str, float]:
    """(wall s, CPU s, text, peak RSS MB) of one configuration in a fresh process."""
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(target=target, args=(model, str(audio), child, beam_size))
    process.start()
    wall, cpu, text, peak_mb = parent.recv()
    process.join()
    return wall, cpu, text, peak_mb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--models", default="whisper-tiny.en,whisper-base")
    parser.add_argument("--beam-sizes", default="1,5", help="podsight's beams to run (1: greedy, its default)")
    parser.add_argument("--runs", default="podsight,plain", help="which to run (a 3-hour episode: --runs podsight)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        reference = script_words(args.minutes)
        audio = speak(reference, Path(tmp))
        from podsight.asr import probe_duration
        from podsight.asr.metrics import word_error_rate

        seconds = probe_duration(audio)
        print(f"{seconds / 60:.1f} min of espeak-ng speech, {len(reference.split())} words\n")
        print(f"{'model':<17}{'run':<12}{'x real time':>10}{'CPU s / audio h':>17}{'peak MB':>10}{'WER':>8}")
        for model in args.models.split(","):
            results = {}
            runs = [(f"podsight b{beam}", run_podsight, int(beam)) for beam in args.beam_sizes.split(",")
                    if "podsight" in args.runs.split(",")]
            runs += [("plain", run_plain, 0)] if "plain" in args.runs.split(",") else []
            for label, target, beam in runs:
                wall, cpu, text, peak = measure(target, model, audio, beam)
                results[label] = wall
                print(f"{model:<17}{label:<12}{seconds / wall:>9.1f}x{cpu * 3600 / seconds:>17.0f}"
                      f"{peak:>10.0f}{word_error_rate(reference, text):>8.3f}", flush=True)
            for label in results:
                if label != "plain" and "plain" in results:
                    print(f"{'':<17}{label:<12}{results['plain'] / results[label]:>9.2f}x the plain call's speed")
            print()


if __name__ == "__main__":
    main()
