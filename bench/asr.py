"""Benchmark: podsight's speech-to-text against the plain faster-whisper call other podcast tools make.

    .venv/bin/python bench/asr.py                 # a 10-minute recording, tiny.en and base
    .venv/bin/python bench/asr.py --minutes 3
    .venv/bin/python bench/asr.py --minutes 180 --models whisper-tiny.en --runs default   # memory on 3 hours
    .venv/bin/python bench/asr.py --isa AVX2      # the AVX2-only CPU class, on an AVX-512 machine
    .venv/bin/python bench/asr.py --runs default,5-int8-1x2,5-float32-2x1,plain   # compare settings

The recording is spoken by espeak-ng (Debian package) from the demo shows' scripts, so its exact words are
known. Each configuration runs in its own process, so peak memory (ru_maxrss) is its own. Side by side, on
the same audio and weights: real-time factor, CPU seconds per audio hour, CPU seconds per wall second (2.0
on 2 cores: both busy all through), peak RSS and word error rate for

- podsight: `WhisperTranscriber` (VAD, no previous-text conditioning; beam, compute type, windows at once
  and threads as configured or as `podsight.asr.cpu.choose` picks for this CPU);
- plain: `WhisperModel(path).transcribe(audio)` with default settings (whole file, no VAD, no batching).

It prints the CPU model, its relevant flags, the ISA forced (`--isa`) and the load average before each run:
numbers from a busy machine are only good for comparisons within one invocation.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
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


def run_podsight(model: str, audio: str, out, spec: str = "default") -> None:
    """`spec`: "default" (podsight's settings: the configured beam, compute type and threads chosen for this
    CPU), or BEAM[-COMPUTE[-WORKERSxTHREADS]] such as "1", "5-float32", "5-int8-1x2"."""
    from podsight.asr import load_transcriber
    from podsight.config import Settings

    beam, compute_type, workers, threads = Settings().asr_beam_size, None, 0, 0
    if spec != "default":
        parts = spec.split("-")
        beam = int(parts[0])
        compute_type = parts[1] if len(parts) > 1 else None
        if len(parts) > 2:
            workers, threads = (int(n) for n in parts[2].split("x"))
    transcriber = load_transcriber(model, ROOT / "var" / "bench-cache", device="cpu", beam_size=beam,
                                   compute_type=compute_type, cpu_threads=threads)
    if workers:
        transcriber.workers = workers
    started, cpu = time.perf_counter(), time.process_time()
    result = transcriber.transcribe(Path(audio))
    options = result.options
    out.send((time.perf_counter() - started, time.process_time() - cpu, result.text, _peak_mb(),
              f"b{options['beam_size']} {options['compute_type']} {options['workers']}x{options['cpu_threads']}"))


def run_plain(model: str, audio: str, out, _spec: str = "") -> None:
    from faster_whisper import WhisperModel

    from podsight.asr import resolve_whisper_model

    path = resolve_whisper_model(model, ROOT / "var" / "bench-cache")
    started, cpu = time.perf_counter(), time.process_time()
    segments, _info = WhisperModel(path).transcribe(audio)
    text = " ".join(segment.text for segment in segments)
    out.send((time.perf_counter() - started, time.process_time() - cpu, text, _peak_mb(), "b5 default 1x4"))


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # this process's own peak (Linux: KiB)


def measure(target, model: str, audio: Path, spec: str, env: dict[str, str]) -> tuple[float, float, str, float, str]:
    """(wall s, CPU s, text, peak RSS MB, settings) of one configuration in a fresh process, started with
    `env` added to this one's environment (the ISA caps: read when ctranslate2 and oneDNN load)."""
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(target=target, args=(model, str(audio), child, spec))
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    try:
        process.start()
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    wall, cpu, text, peak_mb, settings = parent.recv()
    process.join()
    return wall, cpu, text, peak_mb, settings


def describe_cpu(isa: str | None) -> str:
    from podsight.asr import cpu

    raw = cpu.detect({})
    env = cpu.isa_environment(isa) if isa else {}
    seen = cpu.detect(env)
    choice = cpu.choose(seen.flags, seen.cores)
    lines = [f"CPU: {raw.model}, {raw.cores} usable cores; flags: {' '.join(raw.relevant_flags()) or 'none'}",
             f"ISA forced: {isa or 'none'}" + (f" ({', '.join(f'{k}={v}' for k, v in env.items())}); "
                                               f"flags as seen: {' '.join(seen.relevant_flags())}" if isa else ""),
             "  (onnxruntime, which runs Silero VAD, has no such switch: VAD keeps the CPU's full ISA)",
             f"class {choice.cpu_class}: default {choice.describe()}"]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--models", default="whisper-tiny.en,whisper-base")
    parser.add_argument("--runs", default="default,1,plain",
                        help="comma-separated: default (podsight as configured), plain (the plain call), or "
                             "BEAM[-COMPUTE[-WORKERSxTHREADS]] e.g. 1, 5-float32, 5-int8-1x2")
    parser.add_argument("--isa", choices=("AVX2", "AVX512"), default=None,
                        help="cap CTranslate2/oneDNN/MKL at this instruction set in every configuration's process")
    args = parser.parse_args()
    from podsight.asr import cpu

    env = cpu.isa_environment(args.isa) if args.isa else {}
    print(describe_cpu(args.isa))
    with tempfile.TemporaryDirectory() as tmp:
        reference = script_words(args.minutes)
        audio = speak(reference, Path(tmp))
        from podsight.asr import probe_duration
        from podsight.asr.metrics import word_error_rate

        seconds = probe_duration(audio)
        print(f"{seconds / 60:.1f} min of espeak-ng speech, {len(reference.split())} words\n")
        print(f"{'model':<16}{'run':<14}{'settings':<22}{'x real time':>11}{'CPU s/audio h':>14}{'CPU/wall':>9}"
              f"{'peak MB':>8}{'WER':>7}{'vs plain':>9}  load avg (1 min) before")
        for model in args.models.split(","):
            rows, plain_wall = [], None
            for spec in args.runs.split(","):
                target = run_plain if spec == "plain" else run_podsight
                load = os.getloadavg()[0]
                wall, cpu_s, text, peak, settings = measure(target, model, audio, spec, env)
                if spec == "plain":
                    plain_wall = wall
                rows.append((spec, settings, wall, cpu_s, peak, word_error_rate(reference, text), load))
                print(f"{model:<16}{spec:<14}{settings:<22}{seconds / wall:>10.1f}x{cpu_s * 3600 / seconds:>14.0f}"
                      f"{cpu_s / wall:>9.2f}{peak:>8.0f}{rows[-1][5]:>7.3f}{'':>9}  {load:.2f}", flush=True)
            if plain_wall:
                for spec, settings, wall, *_ in rows:
                    if spec != "plain":
                        print(f"{'':<16}{spec:<14}{settings:<22}{plain_wall / wall:>10.2f}x the plain call's speed")
            print()


if __name__ == "__main__":
    main()
