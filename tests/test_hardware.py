"""The bf16 warning on CPUs without native bfloat16 (from fake /proc/cpuinfo texts), and the fp16 one on CPUs."""

import warnings

import pytest

from stylegan_tf import hardware

AVX2_ONLY = """processor\t: 0
vendor_id\t: GenuineIntel
model name\t: Intel(R) Core(TM) i7-8700 CPU @ 3.20GHz
flags\t\t: fpu vme sse sse2 ssse3 sse4_1 sse4_2 avx avx2 fma bmi2
"""
COOPER_LAKE = AVX2_ONLY.replace("bmi2", "bmi2 avx512f avx512_vnni avx512_bf16")
SAPPHIRE_RAPIDS = AVX2_ONLY.replace("bmi2", "bmi2 avx512f amx_tile amx_bf16 amx_int8")
ARM = "processor\t: 0\nFeatures\t: fp asimd evtstrm bf16\n"


def test_cpu_flags():
    assert {"avx2", "fma", "avx512_bf16"} <= hardware.cpu_flags(COOPER_LAKE)
    assert "avx512_bf16" not in hardware.cpu_flags(AVX2_ONLY)
    assert "bf16" in hardware.cpu_flags(ARM)


def test_warning_names_the_missing_feature_on_avx2_only():
    message = hardware.bf16_warning(AVX2_ONLY, "x86_64")
    assert "avx512_bf16 nor amx_bf16" in message and "slower than float32" in message
    assert hardware.bf16_warning(COOPER_LAKE, "x86_64") is None
    assert hardware.bf16_warning(SAPPHIRE_RAPIDS, "x86_64") is None
    assert hardware.bf16_warning(ARM, "aarch64") is None
    assert "unknown" in hardware.bf16_warning(None, "arm64")  # not Linux: no cpuinfo to read


def test_warns_once_only_for_bf16_on_a_cpu():
    with pytest.warns(RuntimeWarning, match="avx512_bf16 nor amx_bf16"):
        assert hardware.warn_if_bf16_is_emulated("bf16", AVX2_ONLY, "x86_64")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert hardware.warn_if_bf16_is_emulated("off", AVX2_ONLY, "x86_64") is None
        assert hardware.warn_if_bf16_is_emulated("bf16", COOPER_LAKE, "x86_64") is None
        assert hardware.warn_if_bf16_is_emulated("bf16", AVX2_ONLY, "x86_64", has_gpu=True) is None


def test_warns_for_fp16_on_any_cpu_and_never_with_a_gpu():
    for cpuinfo, machine in ((AVX2_ONLY, "x86_64"), (COOPER_LAKE, "x86_64"), (SAPPHIRE_RAPIDS, "x86_64"),
                             (ARM, "aarch64"), (None, "arm64")):
        with pytest.warns(RuntimeWarning, match="fp16 without a GPU") as record:
            message = hardware.warn_if_emulated("fp16", cpuinfo, machine)
        assert len(record) == 1 and str(record[0].message) == message
        assert "emulates float16" in message and hardware.FP16_SLOWDOWN in message and "--mixed-precision off" in message
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert hardware.warn_if_emulated("fp16", AVX2_ONLY, "x86_64", has_gpu=True) is None
        assert hardware.warn_if_emulated("off", AVX2_ONLY, "x86_64") is None
    # The former name, which `stylegan_tf.train.main` calls, is the same function.
    assert hardware.warn_if_bf16_is_emulated is hardware.warn_if_emulated
