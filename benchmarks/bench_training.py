#!/usr/bin/env python
"""Training throughput: one full iteration (D step with R1 + Gs update + G step), per configuration.

Prints, for each configuration and precision: seconds per iteration, images/s, the
FLOPs of one iteration (TensorFlow's graph profiler: convolutions, matmuls and their
gradients), the achieved GFLOP/s and its fraction of this machine's matmul peak
measured in the same run (float32 and bfloat16), and the peak resident memory of
the process. Each configuration runs in its own subprocess so that its memory peak
and precision policy are its own.

    python benchmarks/bench_training.py                # small preset and official channels at 16, 32, 64
    python benchmarks/bench_training.py --quick        # official channels at 32x32 only
    python benchmarks/bench_training.py --stylegan3    # stylegan3-small against stylegan2-small
    python benchmarks/bench_training.py --gpu-readiness   # ops per replica, host reads, input bytes, XLA
                                                          # (1 and 2 replicas; benchmarks/gpu_readiness.py)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def matmul_peak(dtype: str, n: int = 2048, repeats: int = 10) -> float:
    """GFLOP/s of a square matmul in TensorFlow (the machine's practical peak)."""
    import tensorflow as tf

    a = tf.random.normal([n, n], dtype=tf.float32)
    b = tf.random.normal([n, n], dtype=tf.float32)
    a, b = tf.cast(a, dtype), tf.cast(b, dtype)
    f = tf.function(lambda x, y: tf.matmul(x, y))
    f(a, b).numpy()
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        f(a, b).numpy()
        best = min(best, time.perf_counter() - t)
    return 2 * n**3 / best / 1e9


def graph_flops(concrete) -> int:
    import tensorflow as tf

    opts = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
    opts["output"] = "none"
    info = tf.compat.v1.profiler.profile(concrete.graph, options=opts)
    return int(info.total_float_ops)


def configure(spec: dict):
    """The `Config` of a benchmark spec: the preset at `resolution`, with config-F channels if asked."""
    from stylegan_tf import presets

    config = presets.get(spec["preset"])
    overrides = {"network__resolution": spec["resolution"]}
    if spec.get("official_channels") and config.network.family == "stylegan2":   # config F channels (512 up to 64x64), 8-layer 512 mapping
        overrides.update(network__channel_base=32768, network__channel_max=512, network__latent_size=512,
                         network__w_dim=512, network__mapping_fmaps=512, network__mapping_layers=8)
    elif spec.get("official_channels"):
        overrides.update(network__fmap_base=8192, network__fmap_max=512, network__latent_size=512,
                         network__dlatent_size=512, network__mapping_fmaps=512)
    return config.replace(**overrides).replace(
        schedule__lod_initial_resolution=min(config.schedule.lod_initial_resolution, spec["resolution"])).validate()


def build_step(spec: dict, strategy=None):
    """(trainer, step): the spec's Trainer (built in `strategy`'s scope, XLA with `spec["xla"]`) and one
    iteration of its fixed phases under `strategy.run` in a `tf.function`, step(reals, lod, beta, i),
    as the training loop calls it (reals: each replica's share)."""
    import keras
    import tensorflow as tf

    from stylegan_tf.training.options import MIXED_PRECISION
    from stylegan_tf.training.trainer import Trainer

    keras.mixed_precision.set_global_policy(MIXED_PRECISION[spec["precision"]])
    config = configure(spec)
    strategy = strategy or tf.distribute.get_strategy()
    with strategy.scope():
        trainer = Trainer(config, seed=0, mixed_precision=spec["precision"], xla=spec.get("xla", False))
        trainer.build_optimizers()
    if config.schedule.progressive:
        trainer.set_lod(0.0)
    sg2 = config.network.family != "stylegan1"   # the StyleGAN2 iteration (also StyleGAN3's)
    # StyleGAN2: the iteration's lazy phases, fixed for the measurement ("plain", "r1" or "pl").
    phases = {"plain": ("Gmain", "Dmain"), "r1": ("Gmain", "Dmain", "Dreg"),
              "pl": ("Gmain", "Greg", "Dmain")}[spec.get("phase", "plain")] if sg2 else ("D", "G")

    @tf.function(autograph=False)
    def step(reals, lod, beta, i):
        return strategy.run(trainer.iteration, args=(reals, None, lod, beta, i), kwargs={"phases": phases})

    return trainer, step


def step_args(reals):
    """The arguments of `build_step`'s step besides the reals: lod, Gs beta, iteration."""
    import tensorflow as tf

    return reals, tf.constant(0.0), tf.constant(0.999), tf.constant(0, tf.int64)


def time_steps(step, args, warmup: int, iters: int) -> tuple[float, float]:
    """(seconds of the first call: trace, compilation and one step; lower median seconds of `iters` calls
    after `warmup` calls, the first included). A call is waited for by reading its D loss on every replica."""
    import tensorflow as tf

    def call(i):
        out = step(args[0], args[1], args[2], tf.constant(i, tf.int64))["loss/D"]
        for value in getattr(out, "values", (out,)):
            value.numpy()

    t = time.perf_counter()
    call(0)
    first = time.perf_counter() - t
    for i in range(1, warmup):
        call(i)
    times = []
    for i in range(iters):
        t = time.perf_counter()
        call(100 + i)
        times.append(time.perf_counter() - t)
    times.sort()
    return first, times[(len(times) - 1) // 2]   # the lower median: with 2 repeats, the faster


def run_one(spec: dict) -> dict:
    """Times one configuration in this process."""
    import resource

    import tensorflow as tf

    _, step = build_step(spec)
    batch, res = spec["batch"], spec["resolution"]
    args = step_args(tf.random.uniform([batch, res, res, 3], -1, 1))
    flops = graph_flops(step.get_concrete_function(*args))
    _, median = time_steps(step, args, spec["warmup"], spec["iters"])
    return {**spec, "sec_per_iter": median, "img_per_sec": batch / median, "flops": flops,
            "gflops_per_sec": flops / median / 1e9,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def run_in_subprocess(spec: dict, flag: str = "--one") -> dict | None:
    """`run_one` (or what `flag` names) of a spec in a fresh process: its result, or None (failure printed)."""
    out = subprocess.run([sys.executable, __file__, flag, json.dumps(spec)], capture_output=True, text=True)
    lines = [line for line in out.stdout.splitlines() if line.startswith("RESULT ")]
    if not lines:
        print(f"{spec}: failed\n{out.stderr[-2000:]}", flush=True)
        return None
    return json.loads(lines[0][7:])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="official channels at 32x32, batch 8, only")
    p.add_argument("--official-only", action="store_true", help="official channel counts only")
    p.add_argument("--iters", type=int, default=5)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--stylegan2", action="store_true", help="StyleGAN2 iterations (plain, with R1, with path "
                   "length) at 32 and 64 with config-F channels and with the stylegan2-small preset")
    p.add_argument("--stylegan3", action="store_true", help="the stylegan3-small iteration (plain, with R1) "
                   "against stylegan2-small's at 32x32, batch 8")
    p.add_argument("--gpu-readiness", action="store_true", help="per preset and replica count (1, 2 logical "
                   "CPU devices): ops per replica, host reads per step and tick, bytes host->device per step, "
                   "step time with and without XLA")
    p.add_argument("--presets", help="--gpu-readiness: comma-separated presets of its rows (default: all)")
    p.add_argument("--replicas", type=int, nargs="+", default=[1, 2], help="--gpu-readiness: replica counts")
    p.add_argument("--no-reads", action="store_true", help="--gpu-readiness: skip the training-loop runs")
    p.add_argument("--verbose", action="store_true", help="--gpu-readiness: print each row's raw results")
    p.add_argument("--one", help=argparse.SUPPRESS)
    p.add_argument("--readiness-one", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.one:
        print("RESULT " + json.dumps(run_one(json.loads(args.one))), flush=True)
        return
    if args.readiness_one:
        import gpu_readiness

        print("RESULT " + json.dumps(gpu_readiness.readiness_one(json.loads(args.readiness_one))), flush=True)
        return

    peak32, peak16 = matmul_peak("float32"), matmul_peak("bfloat16")
    print(f"matmul peak (2048^2, TensorFlow): float32 {peak32:.1f} GFLOP/s, bfloat16 {peak16:.1f} GFLOP/s "
          f"({peak16 / peak32:.2f}x)")
    if args.gpu_readiness:
        import gpu_readiness

        gpu_readiness.main(args, run_in_subprocess, peak32)
        return
    specs = []
    shapes = [(32, True)] if args.quick else [(16, False), (32, False), (64, False), (16, True), (32, True),
                                              (64, True)]
    if args.official_only:
        shapes = [s for s in shapes if s[1]]
    if args.stylegan2:
        shapes = [(32, False), (32, True), (64, True)]
    if args.stylegan3:
        shapes = [(32, False)]
    for res, official in shapes:
        for precision in ("off", "bf16"):
            if args.stylegan3:
                specs += [{"preset": preset, "resolution": res, "official_channels": False, "batch": 8,
                           "precision": precision, "phase": phase, "iters": args.iters, "warmup": args.warmup}
                          for phase in ("plain", "r1") for preset in ("stylegan2-small", "stylegan3-small")]
                continue
            # bfloat16 is emulated on CPUs without AVX512_BF16 (about 10x slower): fewer repeats.
            slow = (official and res >= 64) or (precision == "bf16" and official)
            for phase in ("plain", "r1", "pl") if args.stylegan2 else ("plain",):
                specs.append({"preset": "stylegan2-small" if args.stylegan2 else "small", "resolution": res,
                              "official_channels": official, "batch": 8, "precision": precision, "phase": phase,
                              "iters": 2 if slow else args.iters, "warmup": 1 if slow else args.warmup})
    print(f"{'network':<30}{'precision':<10}{'s/iter':>8}{'img/s':>8}{'GFLOP/iter':>12}{'GFLOP/s':>9}"
          f"{'of peak':>9}{'vs fp32':>9}{'peak MB':>9}")
    fp32_time = {}
    for spec in specs:
        r = run_in_subprocess(spec)
        if r is None:
            continue
        name = f"{'official' if r['official_channels'] else 'small'} {r['resolution']}x{r['resolution']} b{r['batch']}"
        if args.stylegan2 or args.stylegan3:
            name = f"{r['preset'].split('-')[0].replace('stylegan', 'sg')} {name} {r['phase']}"
        peak = peak16 if r["precision"] == "bf16" else peak32
        key = (name,)
        if r["precision"] == "off":
            fp32_time[key] = r["sec_per_iter"]
        speedup = fp32_time.get(key, float("nan")) / r["sec_per_iter"]
        print(f"{name:<30}{r['precision']:<10}{r['sec_per_iter']:>8.3f}{r['img_per_sec']:>8.1f}"
              f"{r['flops'] / 1e9:>12.2f}{r['gflops_per_sec']:>9.1f}{100 * r['gflops_per_sec'] / peak:>8.1f}%"
              f"{speedup:>8.2f}x{r['peak_rss_mb']:>9.0f}", flush=True)


if __name__ == "__main__":
    main()
