"""Speech-to-text settings for the CPU at hand: compute type, parallel windows and threads per window.

`choose(flags, cores)` is a pure function from the CPU's feature flags (as /proc/cpuinfo spells them) and
the cores this process may use to an `AsrCpuChoice`, with the reason in words (`podsight config show`
prints it). `detect()` reads the flags and the core count. Explicit settings (compute_type, cpu_threads,
workers given to `WhisperTranscriber`) always win over the choice.

What the choice rests on (bench/asr.py; numbers in the README):

- int8 on every x86 class. With VNNI (AVX-512 VNNI or AVX-VNNI) oneDNN's int8 GEMMs are fast; on AVX2
  only they are slower but int8 still beat float32 there (less memory traffic in the decoder's small
  matrix products), so the compute type does not change between classes; what changes is how much the
  default gains over the plain call.
- Two windows transcribed at once, one CTranslate2 thread each, rather than one window on two threads:
  Whisper's decoder works on one token at a time with small matrices, which two threads split badly, and
  feature extraction and VAD run on one thread; two independent windows keep both cores busy through the
  whole run. From 4 cores on, 2 windows with cores // 2 threads each.
- Which ISA CTranslate2 really runs matters more than the flags: CTranslate2 uses AVX-512 for its own
  kernels only on Intel CPUs, and on AMD its GEMMs go to oneDNN (not MKL), which reads
  ONEDNN_MAX_CPU_ISA. `forced_isa`/`limit_flags` apply such a cap (CT2_FORCE_CPU_ISA, ONEDNN_MAX_CPU_ISA,
  MKL_ENABLE_INSTRUCTIONS) to the flags before choosing, and `isa_environment` sets all three (bench/asr.py
  `--isa AVX2` measures the AVX2-only class on an AVX-512 machine that way).
"""

from __future__ import annotations

import os
import platform
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

VNNI_FLAGS = frozenset({"avx512_vnni", "avx_vnni"})
AVX512_FLAGS = frozenset({"avx512f", "avx512bw", "avx512dq", "avx512vl", "avx512cd", "avx512_vnni", "avx512_bf16",
                          "avx512_vbmi", "avx512_vbmi2", "avx512_bitalg", "avx512_vpopcntdq", "avx512ifma",
                          "avx512_fp16", "amx_int8", "amx_bf16", "amx_tile"})
# The flags bench/asr.py prints: the ones the choice or the kernels depend on.
RELEVANT_FLAGS = ("avx", "avx2", "fma", "f16c", "avx_vnni", "avx512f", "avx512bw", "avx512_vnni", "avx512_bf16",
                  "amx_int8")
# Environment variables that cap the instruction set of each library podsight's speech-to-text runs on.
ISA_VARIABLES = ("CT2_FORCE_CPU_ISA", "ONEDNN_MAX_CPU_ISA", "MKL_ENABLE_INSTRUCTIONS")
ISAS = ("AVX2", "AVX512")


@dataclass(frozen=True)
class AsrCpuChoice:
    """faster-whisper settings for one CPU: `workers` windows at once, `threads` CTranslate2 threads each."""

    compute_type: str
    workers: int
    threads: int
    cpu_class: str  # "avx512-vnni", "avx512", "avx2", "older"
    reason: str

    def describe(self) -> str:
        return (f"{self.compute_type}, {self.workers} window(s) at once x {self.threads} thread(s): {self.reason}")


@dataclass(frozen=True)
class CpuInfo:
    model: str
    flags: frozenset[str]
    cores: int
    forced_isa: str | None = None

    def relevant_flags(self) -> list[str]:
        return [flag for flag in RELEVANT_FLAGS if flag in self.flags]


def cpu_class(flags: Iterable[str]) -> str:
    flags = frozenset(flags)
    if "avx512f" in flags:
        return "avx512-vnni" if "avx512_vnni" in flags else "avx512"
    if "avx2" in flags:
        return "avx2-vnni" if "avx_vnni" in flags else "avx2"
    return "older"


def choose(flags: Iterable[str], cores: int) -> AsrCpuChoice:
    """The settings for a CPU with these /proc/cpuinfo `flags` and `cores` usable cores (pure)."""
    kind = cpu_class(flags)
    cores = max(1, int(cores))
    workers = 1 if cores < 2 else 2
    threads = max(1, cores // workers)
    kernels = {
        "avx512-vnni": "AVX-512 with VNNI: fast int8 matrix products",
        "avx512": "AVX-512 without VNNI: int8 matrix products on AVX-512BW",
        "avx2-vnni": "AVX2 with AVX-VNNI: int8 matrix products with VNNI",
        "avx2": "AVX2 only, no VNNI: int8 still measured faster than float32",
        "older": "no AVX2: int8 kept (smallest memory traffic)",
    }[kind]
    if workers == 1:
        layout = "1 core: one window at a time"
    else:
        layout = (f"{cores} cores: {workers} windows at once keep every core busy (decoder steps are too small "
                  "to split well across threads; feature extraction and VAD are single-threaded)")
    return AsrCpuChoice("int8", workers, threads, kind, f"{kernels}; {layout}")


def limit_flags(flags: Iterable[str], isa: str | None) -> frozenset[str]:
    """`flags` as seen under an instruction-set cap (`AVX2`: every AVX-512 and AMX flag removed)."""
    flags = frozenset(flags)
    if isa is None or isa.upper().startswith("AVX512"):
        return flags
    if isa.upper() == "AVX2":
        return flags - AVX512_FLAGS
    return flags - AVX512_FLAGS - {"avx2", "avx_vnni", "fma"}  # AVX, SSE4...: older than AVX2


def forced_isa(env: Mapping[str, str]) -> str | None:
    """The lowest instruction-set cap set in `env` for CTranslate2, oneDNN or MKL, or None."""
    caps = [env.get(name, "").strip().upper() for name in ISA_VARIABLES]
    caps = [cap for cap in caps if cap]
    if not caps:
        return None
    return min(caps, key=lambda cap: (not cap.startswith("AVX2"), not cap.startswith("AVX512"), cap))


def isa_environment(isa: str) -> dict[str, str]:
    """Environment variables that make CTranslate2 (own kernels), oneDNN (its GEMMs on AMD) and MKL (its
    GEMMs on Intel) run no instructions above `isa` ("AVX2" or "AVX512"). Set them before ctranslate2 loads."""
    isa = isa.upper()
    if isa not in ISAS:
        raise ValueError(f"unknown ISA {isa!r}; valid: {', '.join(ISAS)}")
    return {"CT2_FORCE_CPU_ISA": isa, "ONEDNN_MAX_CPU_ISA": "AVX2" if isa == "AVX2" else "AVX512_CORE_VNNI",
            "MKL_ENABLE_INSTRUCTIONS": "AVX2" if isa == "AVX2" else "AVX512"}


def read_cpuinfo(text: str) -> tuple[str, frozenset[str]]:
    """(model name, flags) of the first processor in /proc/cpuinfo's `text`."""
    model, flags = "", frozenset()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "model name" and not model:
            model = value.strip()
        elif key == "flags" and not flags:
            flags = frozenset(value.split())
    return model, flags


def available_cores() -> int:
    if hasattr(os, "sched_getaffinity"):  # Linux: honours taskset and container CPU sets
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def detect(env: Mapping[str, str] | None = None, cpuinfo: str = "/proc/cpuinfo") -> CpuInfo:
    """This machine's CPU model, flags (under any ISA cap in `env`) and usable cores. Without
    /proc/cpuinfo (macOS, Windows) the flags are empty and the choice falls back to the "older" class."""
    env = os.environ if env is None else env
    try:
        with open(cpuinfo, encoding="utf-8", errors="replace") as handle:
            model, flags = read_cpuinfo(handle.read())
    except OSError:
        model, flags = platform.processor() or platform.machine(), frozenset()
    isa = forced_isa(env)
    return CpuInfo(model=model, flags=limit_flags(flags, isa), cores=available_cores(), forced_isa=isa)


def choice_for_this_cpu(env: Mapping[str, str] | None = None) -> tuple[CpuInfo, AsrCpuChoice]:
    info = detect(env)
    return info, choose(info.flags, info.cores)
