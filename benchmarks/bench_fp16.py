#!/usr/bin/env python
"""float16 stability of StyleGAN (v1) training: N iterations under `--mixed-precision fp16`.

Runs the trainer's iteration (D step with R1, Gs update, G step; the training loop's step without
the schedule) at fixed resolutions (lod = the level of that resolution, no fade) on an in-memory
pool of smooth synthetic images, and prints per run: the fraction of skipped (non-finite) steps of
G and of D, the loss scales at the end and their minimum, whether every loss stayed finite, and the
seconds per iteration (with `--fp32-steps N`, also float32's, for the slowdown). Issue 19: with every
v1 layer in float16, all steps at 4x4 (`tiny`) and at 32x32 (`small`) were skipped and G's loss scale
fell from 32768 to 8; the acceptance is fewer than 5 % skipped and finite losses.

On a CPU float16 is emulated (`stylegan_tf.hardware`): `small` at 32x32 takes about 1.2-1.6 s per
iteration on 2 cores, so 200 steps there take about five minutes.

    python benchmarks/bench_fp16.py                          # tiny at 4, 8, 16; small at 4, 32; 200 steps each
    python benchmarks/bench_fp16.py --runs tiny:16 --steps 50 --fp32-steps 20
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

DEFAULT_RUNS = ("tiny:4", "tiny:8", "tiny:16", "small:4", "small:32")


def image_pool(resolution: int, count: int = 512, seed: int = 0):
    """Smooth synthetic images in [-1, 1]: random 4x4 colour fields, bilinearly upsampled, plus mild noise."""
    import tensorflow as tf

    coarse = tf.random.stateless_uniform([count, 4, 4, 3], [seed, 1], -0.9, 0.9)
    images = tf.image.resize(coarse, [resolution, resolution], method="bilinear")
    images += 0.05 * tf.random.stateless_normal([count, resolution, resolution, 3], [seed, 2])
    return tf.clip_by_value(images, -1.0, 1.0)


def run(preset: str, resolution: int, steps: int, precision: str, batch: int = 8, seed: int = 0) -> dict:
    import keras
    import tensorflow as tf

    from stylegan_tf import presets
    from stylegan_tf.training.options import MIXED_PRECISION
    from stylegan_tf.training.trainer import Trainer

    keras.mixed_precision.set_global_policy(MIXED_PRECISION[precision])
    try:
        config = presets.get(preset)
        trainer = Trainer(config, seed=seed, mixed_precision=precision)
        trainer.build_optimizers()
        lod = float(config.network.resolution_log2 - int(math.log2(resolution)))
        trainer.set_lod(lod)
        trainer.set_learning_rates(config.schedule.g_lrate_base, config.schedule.d_lrate_base)

        @tf.function
        def step(reals, i):
            return trainer.iteration(reals, None, tf.constant(lod), tf.constant(0.99), i,
                                     phases=trainer.step_phases(0))

        pool = image_pool(resolution, seed=seed)
        skipped = {"G": 0, "D": 0, "any": 0}
        finite, min_scale, first_skips = True, {"G": math.inf, "D": math.inf}, []
        start = time.perf_counter()
        for i in range(steps):
            index = tf.random.stateless_uniform([batch], [seed, 3 + i], 0, pool.shape[0], tf.int32)
            stats = {k: float(v) for k, v in step(tf.gather(pool, index), tf.constant(i, tf.int64)).items()}
            if i == 0:
                trace = time.perf_counter() - start
                start = time.perf_counter()
            g, d = stats["nonfinite/G"] > 0, stats["nonfinite/D"] > 0
            skipped["G"] += g
            skipped["D"] += d
            skipped["any"] += g or d
            if (g or d) and len(first_skips) < 10:
                first_skips.append(i)
            finite &= all(math.isfinite(stats[k]) for k in ("loss/G", "loss/D", "loss/r1_penalty"))
            for net in ("G", "D"):
                min_scale[net] = min(min_scale[net], stats[f"loss_scale/{net}"])
        per_step = (time.perf_counter() - start) / max(steps - 1, 1)
        weights_finite = all(bool(tf.reduce_all(tf.math.is_finite(w))) for w in trainer.G.weights + trainer.D.weights)
        return {"preset": preset, "resolution": resolution, "precision": precision, "steps": steps,
                "skipped_fraction": {k: v / steps for k, v in skipped.items()}, "first_skipped_steps": first_skips,
                "loss_scale_final": {n: stats[f"loss_scale/{n}"] for n in ("G", "D")}, "loss_scale_min": min_scale,
                "losses_finite": finite, "weights_finite": weights_finite,
                "loss_final": {n: round(stats[f"loss/{n}"], 4) for n in ("G", "D")},
                "trace_s": round(trace, 2), "sec_per_step": round(per_step, 4)}
    finally:
        keras.mixed_precision.set_global_policy("float32")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", nargs="+", default=list(DEFAULT_RUNS), help="preset:resolution pairs")
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--fp32-steps", type=int, default=0, help="also time N float32 steps of each run")
    p.add_argument("--json", help="write the results to this file")
    args = p.parse_args()
    results = []
    for spec in args.runs:
        preset, res = spec.split(":")
        result = run(preset, int(res), args.steps, "fp16")
        if args.fp32_steps:
            ref = run(preset, int(res), args.fp32_steps, "off")
            result["fp32_sec_per_step"] = ref["sec_per_step"]
            result["fp16_slowdown"] = round(result["sec_per_step"] / ref["sec_per_step"], 2)
        results.append(result)
        print(json.dumps(result), flush=True)
    print(f"\n{'run':<10} {'steps':>5} {'skip G':>7} {'skip D':>7} {'scale G':>8} {'scale D':>8} {'min G':>7} "
          f"{'min D':>7} {'finite':>6} {'s/step':>7} {'vs fp32':>7}")
    for r in results:
        s = r["skipped_fraction"]
        print(f"{r['preset'] + ':' + str(r['resolution']):<10} {r['steps']:>5} {s['G']:>7.1%} {s['D']:>7.1%} "
              f"{r['loss_scale_final']['G']:>8g} {r['loss_scale_final']['D']:>8g} {r['loss_scale_min']['G']:>7g} "
              f"{r['loss_scale_min']['D']:>7g} {str(r['losses_finite'] and r['weights_finite']):>6} "
              f"{r['sec_per_step']:>7.3f} {str(r.get('fp16_slowdown', '-')):>7}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
