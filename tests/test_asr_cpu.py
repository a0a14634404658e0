"""Speech-to-text settings per CPU class (synthetic flag sets), the background window decoder, and windows
transcribed in parallel giving the same transcript as one at a time."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from podsight.asr import cpu
from podsight.asr.audio import prefetched

AUDIO_DIR = Path(__file__).parent / "data" / "audio"

ZEN4 = frozenset("fpu sse sse2 ssse3 sse4_1 sse4_2 avx avx2 fma f16c avx512f avx512bw avx512dq avx512vl "
                 "avx512_vnni avx512_bf16".split())
SKYLAKE_X = frozenset("sse4_2 avx avx2 fma f16c avx512f avx512bw avx512dq avx512vl".split())
ZEN2 = frozenset("sse4_2 avx avx2 fma f16c".split())
ALDER_LAKE = frozenset("sse4_2 avx avx2 fma f16c avx_vnni".split())
OLD = frozenset("sse sse2 sse4_1 sse4_2".split())


@pytest.mark.parametrize("flags, kind", [
    (ZEN4, "avx512-vnni"), (SKYLAKE_X, "avx512"), (ZEN2, "avx2"), (ALDER_LAKE, "avx2-vnni"), (OLD, "older"),
    (frozenset(), "older"),
])
def test_cpu_class_from_flags(flags, kind):
    assert cpu.cpu_class(flags) == kind
    assert cpu.choose(flags, 2).cpu_class == kind


@pytest.mark.parametrize("flags", [ZEN4, SKYLAKE_X, ZEN2, ALDER_LAKE, OLD])
def test_two_cores_run_two_windows_on_one_thread_each(flags):
    choice = cpu.choose(flags, 2)
    assert (choice.compute_type, choice.workers, choice.threads) == ("int8", 2, 1)
    assert "2 windows at once" in choice.describe() and choice.reason


@pytest.mark.parametrize("cores, workers, threads", [(1, 1, 1), (0, 1, 1), (3, 2, 1), (4, 2, 2), (16, 2, 8)])
def test_threads_follow_the_core_count(cores, workers, threads):
    choice = cpu.choose(ZEN2, cores)
    assert (choice.workers, choice.threads) == (workers, threads)


def test_an_isa_cap_removes_the_flags_above_it():
    assert cpu.limit_flags(ZEN4, "AVX2") == ZEN4 - {"avx512f", "avx512bw", "avx512dq", "avx512vl", "avx512_vnni",
                                                    "avx512_bf16"}
    assert cpu.cpu_class(cpu.limit_flags(ZEN4, "AVX2")) == "avx2"
    assert cpu.limit_flags(ZEN4, "AVX512_CORE_VNNI") == ZEN4
    assert cpu.limit_flags(ZEN4, None) == ZEN4
    assert cpu.cpu_class(cpu.limit_flags(ZEN4, "AVX")) == "older"


def test_forced_isa_is_read_from_any_library_variable():
    assert cpu.forced_isa({}) is None
    assert cpu.forced_isa({"CT2_FORCE_CPU_ISA": "avx2"}) == "AVX2"
    assert cpu.forced_isa({"ONEDNN_MAX_CPU_ISA": "AVX2"}) == "AVX2"
    assert cpu.forced_isa({"CT2_FORCE_CPU_ISA": "AVX512", "ONEDNN_MAX_CPU_ISA": "AVX2"}) == "AVX2"  # the lowest


def test_isa_environment_caps_ctranslate2_onednn_and_mkl():
    env = cpu.isa_environment("avx2")
    assert env == {"CT2_FORCE_CPU_ISA": "AVX2", "ONEDNN_MAX_CPU_ISA": "AVX2", "MKL_ENABLE_INSTRUCTIONS": "AVX2"}
    assert cpu.forced_isa(env) == "AVX2"
    with pytest.raises(ValueError):
        cpu.isa_environment("SSE2")


def test_detect_reads_proc_cpuinfo(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nmodel name\t: AMD EPYC 7B12\nflags\t\t: " + " ".join(sorted(ZEN2))
                    + "\n\nprocessor\t: 1\nmodel name\t: AMD EPYC 7B12\nflags\t\t: sse\n")
    found = cpu.detect({}, cpuinfo=str(info))
    assert found.model == "AMD EPYC 7B12" and found.flags == ZEN2 and found.cores >= 1
    assert found.relevant_flags() == ["avx", "avx2", "fma", "f16c"]
    capped = cpu.detect({"ONEDNN_MAX_CPU_ISA": "AVX2"}, cpuinfo=str(tmp_path / "missing"))
    assert capped.flags == frozenset() and capped.forced_isa == "AVX2"


# --- background decoding ----------------------------------------------------------------------------

def test_prefetched_yields_in_order_and_runs_ahead():
    produced = []

    def items():
        for n in range(5):
            produced.append(n)
            yield n

    ahead = prefetched(items(), depth=1)
    time.sleep(0.2)
    assert produced[:2] == [0, 1]  # one handed over, one waiting in the queue, before anyone asked
    assert list(ahead) == [0, 1, 2, 3, 4]


def test_prefetched_raises_the_producers_error():
    def items():
        yield 1
        raise ValueError("damaged")

    ahead = prefetched(items())
    assert next(ahead) == 1
    with pytest.raises(ValueError, match="damaged"):
        next(ahead)


def test_prefetched_close_stops_the_producer():
    stopped = threading.Event()

    def items():
        try:
            n = 0
            while True:
                yield n
                n += 1
        finally:
            stopped.set()

    ahead = prefetched(items(), depth=2)
    assert next(ahead) == 0
    ahead.close()
    assert stopped.wait(5)


# --- parallel windows ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    from podsight.asr import resolve_whisper_model

    return resolve_whisper_model("whisper-tiny.en", tmp_path_factory.mktemp("cache"))


def test_window_length_gives_every_worker_a_window(tiny_dir):
    from podsight.asr.whisper import WhisperTranscriber

    two = WhisperTranscriber(tiny_dir, device="cpu", cpu_threads=1, workers=2, window_s=300)
    assert two.window_seconds(600) == pytest.approx(305)
    assert two.window_seconds(180) == pytest.approx(95)
    assert two.window_seconds(20) == 30
    assert two.window_seconds(1000) == pytest.approx(255)  # 4 windows, not 300+300+300+100
    one = WhisperTranscriber(tiny_dir, device="cpu", cpu_threads=2, window_s=300)
    assert one.workers == 1 and one.window_seconds(600) == 300


def test_defaults_come_from_the_cpu_choice(tiny_dir, monkeypatch):
    from podsight.asr import whisper

    monkeypatch.setattr(cpu, "available_cores", lambda: 2)
    monkeypatch.setattr(cpu, "choice_for_this_cpu", lambda env=None: (None, cpu.choose(ZEN2, 2)))
    auto = whisper.WhisperTranscriber(tiny_dir, device="cpu")
    assert (auto.compute_type, auto.workers, auto.cpu_threads) == ("int8", 2, 1)
    explicit = whisper.WhisperTranscriber(tiny_dir, device="cpu", compute_type="float32", cpu_threads=2)
    assert (explicit.compute_type, explicit.workers, explicit.cpu_threads) == ("float32", 1, 2)
    assert explicit.options["workers"] == 1


def test_parallel_windows_give_the_serial_transcript(tiny_dir):
    """dialogue.mp3 cut into 6-second windows: two at a time, or one at a time, the same words in order."""
    from podsight.asr.metrics import word_error_rate
    from podsight.asr.whisper import WhisperTranscriber

    results = []
    for workers in (1, 2):  # one thread each: the same arithmetic, only the scheduling differs
        transcriber = WhisperTranscriber(tiny_dir, device="cpu", cpu_threads=1, workers=workers,
                                         window_s=6, beam_size=1, speakers=False)
        transcriber.window_seconds = lambda total: 6.0  # many windows, whatever the worker count
        seen = []
        result = transcriber.transcribe(AUDIO_DIR / "dialogue.mp3", language="en",
                                        progress=lambda done, total: seen.append(done))
        assert seen == sorted(seen) and seen[-1] == result.duration_s
        starts = [segment.start for segment in result.segments]
        assert starts == sorted(starts)
        results.append(result)
    # Not identical: a window Whisper is unsure of falls back to sampling at a higher temperature.
    assert word_error_rate(results[0].text, results[1].text) < 0.15 and len(results[0].segments) > 3
    assert results[1].options["workers"] == 2 and results[1].options["cpu_threads"] == 1


def test_language_detected_in_the_first_window_is_kept(tiny_dir):
    from podsight.asr.whisper import WhisperTranscriber

    transcriber = WhisperTranscriber(tiny_dir, device="cpu", cpu_threads=1, workers=2, beam_size=1, speakers=False)
    transcriber.window_seconds = lambda total: 6.0
    result = transcriber.transcribe(AUDIO_DIR / "dialogue.mp3")
    assert result.language == "en" and result.segments


def test_config_show_says_what_speech_to_text_runs_with(tmp_path):
    from podsight.cli.run import _asr_cpu_choice
    from podsight.config import Settings

    shown = _asr_cpu_choice(Settings(home=tmp_path, asr_device="cpu"))
    choice = cpu.choice_for_this_cpu()[1]
    assert shown.startswith("beam 5 (asr_beam_size), int8") and choice.reason in shown and "cores" in shown
    assert _asr_cpu_choice(Settings(home=tmp_path, asr_enabled=False)).startswith("none")
    assert _asr_cpu_choice(Settings(home=tmp_path)).startswith("on a CUDA GPU: float16; on CPU: beam 5")


def test_asr_compute_type_overrides_the_cpu_s_choice(tmp_path):
    from podsight.cli.run import _asr_cpu_choice
    from podsight.config import Settings
    from podsight.pipeline.asr import transcriber_for

    settings = Settings(home=tmp_path, asr_device="cpu", asr_compute_type="float32", asr_model="whisper-tiny.en")
    assert "float32 (asr_compute_type; the CPU's choice: int8" in _asr_cpu_choice(settings)
    assert transcriber_for(settings).compute_type == "float32"
    assert transcriber_for(Settings(home=tmp_path, asr_device="cpu", asr_model="whisper-tiny.en")).compute_type == "int8"
