"""What the CPU can do natively: a warning when `--mixed-precision bf16` or `fp16` would be emulated.

float16 on a CPU: TensorFlow has no fast float16 kernels for the convolutions and their
gradients on CPUs (oneDNN takes DT_HALF only on CPUs with native float16, e.g. AVX512_FP16 /
AMX-FP16; otherwise the Eigen fallback converts element by element), so `--mixed-precision
fp16` is for GPUs. Measured on the 2-core AVX-512 (AVX512_BF16, no AVX512_FP16) development
machine, TF 2.21: a 3x3 conv forward + backward [8, 32, 32, 64] 12.6x slower than float32,
a stride-2 transposed conv 10.7x, one `small` 32x32 training iteration (batch 8) 6.1x
(1.21 s against 0.198 s), a `tiny` 16x16 one 2.2x; 1024² matmuls about as fast
(`FP16_SLOWDOWN`). The warning is given whenever fp16 trains without a GPU (CPUs with
AVX512_FP16 were not measured).

On x86, bfloat16 matrix arithmetic is native with AVX512_BF16 (Cooper Lake, Zen 4 and later) or
AMX-BF16 (Sapphire Rapids); on an AVX2-only CPU TensorFlow emulates it and bf16 trains slower than
float32. Linux names these `avx512_bf16` / `amx_bf16` in the flags of /proc/cpuinfo; elsewhere the
features are not read (reported as unknown).
"""

from __future__ import annotations

import platform
import warnings

BF16_FLAGS = ("avx512_bf16", "amx_bf16")
FP16_SLOWDOWN = "6x (a 32x32 `small` iteration) to 13x (a 3x3 conv with its gradients)"
CPUINFO = "/proc/cpuinfo"


def cpu_flags(cpuinfo_text: str) -> set[str]:
    """The `flags` (x86) / `Features` (ARM) words of a /proc/cpuinfo text."""
    flags: set[str] = set()
    for line in cpuinfo_text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip().lower() in ("flags", "features"):
            flags.update(value.split())
    return flags


def read_cpuinfo(path: str = CPUINFO) -> str | None:
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def bf16_warning(cpuinfo_text: str | None, machine: str | None = None) -> str | None:
    """The warning to print for bf16 on this CPU, or None when bf16 is native (or not an x86 CPU).

    `cpuinfo_text` None = unknown (not Linux, or unreadable)."""
    machine = (platform.machine() if machine is None else machine).lower()
    if cpuinfo_text is None:
        return ("--mixed-precision bf16: cannot tell whether this CPU computes bfloat16 natively "
                f"({' / '.join(BF16_FLAGS)} unknown here); without it bf16 is emulated and slower than float32.")
    if machine not in ("x86_64", "amd64", "i386", "i686"):
        return None
    flags = cpu_flags(cpuinfo_text)
    if flags & set(BF16_FLAGS):
        return None
    return (f"--mixed-precision bf16: this CPU has neither {' nor '.join(BF16_FLAGS)} (no native bfloat16), so "
            f"bf16 is emulated and slower than float32 here; consider --mixed-precision off.")


def fp16_warning() -> str:
    """The warning to print for fp16 training on a CPU (always emulated there)."""
    return ("--mixed-precision fp16 without a GPU: TensorFlow emulates float16 on CPUs (no fast float16 "
            f"convolutions), measured {FP16_SLOWDOWN} slower than float32; fp16 is for GPUs. On a CPU use "
            "--mixed-precision off, or bf16 where the CPU has avx512_bf16 / amx_bf16.")


def warn_if_emulated(mixed_precision: str, cpuinfo_text: str | None = None,
                     machine: str | None = None, has_gpu: bool = False) -> str | None:
    """Warns once at start-up when bf16 is chosen to train on a CPU without native bfloat16, or fp16 on
    any CPU (no GPU); returns the text."""
    if mixed_precision not in ("bf16", "fp16") or has_gpu:
        return None
    if mixed_precision == "fp16":
        message = fp16_warning()
    else:
        if cpuinfo_text is None and platform.system() == "Linux":
            cpuinfo_text = read_cpuinfo()
        message = bf16_warning(cpuinfo_text, machine)
    if message is not None:
        warnings.warn(message, RuntimeWarning, stacklevel=2)
    return message


warn_if_bf16_is_emulated = warn_if_emulated  # The former name (tests/test_hardware.py still checks it).
