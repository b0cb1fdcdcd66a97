#!/usr/bin/env python
"""ADA cost: the augmentation pipeline alone, and one training iteration with ADA on and off.

Prints images/s of `AugmentPipe` (p = 1, every transform of the preset fires; forward only and
forward + backward to the images) at 32 and 256 px, and seconds per iteration of the v1
`small` preset at 32 px (D step with R1 + Gs update + G step) with `--aug noaug` and
`--aug fixed --p 1`, and their ratio.

    python benchmarks/bench_augment.py              # 32 and 256 px, pipe bgc, batch 32 / 8
    python benchmarks/bench_augment.py --iters 3
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _median_time(fn, warmup: int, iters: int) -> float:
    for i in range(warmup):
        fn(i)
    times = []
    for i in range(iters):
        t = time.perf_counter()
        fn(100 + i)
        times.append(time.perf_counter() - t)
    times.sort()
    return times[(len(times) - 1) // 2]


def bench_pipeline(pipe: str, resolution: int, batch: int, warmup: int, iters: int) -> dict:
    import tensorflow as tf

    from stylegan_tf.augment.pipeline import AugmentPipe

    aug = AugmentPipe(pipe)
    images = tf.random.uniform([batch, resolution, resolution, 3], -1, 1)

    @tf.function(autograph=False)
    def forward(x, key):
        return aug(x, tf.constant(1.0), key)

    @tf.function(autograph=False)
    def backward(x, key):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = tf.reduce_sum(aug(x, tf.constant(1.0), key))
        return tape.gradient(y, x)

    key = lambda i: tf.constant([0, i], tf.int64)  # noqa: E731
    fwd = _median_time(lambda i: forward(images, key(i)).numpy(), warmup, iters)
    bwd = _median_time(lambda i: backward(images, key(i)).numpy(), warmup, iters)
    return {"forward_img_s": batch / fwd, "fwd_bwd_img_s": batch / bwd}


def bench_iteration(mode: str, resolution: int, batch: int, warmup: int, iters: int) -> float:
    import tensorflow as tf

    from stylegan_tf import presets
    from stylegan_tf.training.trainer import Trainer

    config = presets.get("small").replace(network__resolution=resolution, augment__mode=mode,
                                          augment__p=1.0 if mode == "fixed" else 0.0)
    config = config.replace(schedule__lod_initial_resolution=min(config.schedule.lod_initial_resolution,
                                                                 resolution)).validate()
    trainer = Trainer(config, seed=0)
    trainer.build_optimizers()
    trainer.set_lod(0.0)
    strategy = tf.distribute.get_strategy()

    @tf.function(autograph=False)
    def step(reals, i):
        return strategy.run(trainer.iteration, args=(reals, None, tf.constant(0.0), tf.constant(0.999), i),
                            kwargs={"phases": ("D", "G")})

    reals = tf.random.uniform([batch, resolution, resolution, 3], -1, 1)
    return _median_time(lambda i: step(reals, tf.constant(i, tf.int64))["loss/D"].numpy(), warmup, iters)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--pipe", default="bgc")
    p.add_argument("--iters", type=int, default=5)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--train-batch", type=int, default=32, help="minibatch of the training iteration (default 32)")
    args = p.parse_args()

    for resolution, batch in ((32, 32), (256, 8)):
        r = bench_pipeline(args.pipe, resolution, batch, args.warmup, args.iters)
        print(f"pipeline {args.pipe} p=1 {resolution:>3}px batch {batch:>2}: forward {r['forward_img_s']:8.1f} img/s, "
              f"forward+backward {r['fwd_bwd_img_s']:8.1f} img/s", flush=True)
    off = bench_iteration("noaug", 32, args.train_batch, args.warmup, args.iters)
    on = bench_iteration("fixed", 32, args.train_batch, args.warmup, args.iters)
    b = args.train_batch
    print(f"v1 small 32px batch {b}: iteration noaug {off:.3f} s ({b / off:.1f} img/s), "
          f"ADA p=1 {args.pipe} {on:.3f} s ({b / on:.1f} img/s), ratio {on / off:.2f}x", flush=True)


if __name__ == "__main__":
    main()
