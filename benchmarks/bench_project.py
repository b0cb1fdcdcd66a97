#!/usr/bin/env python
"""Projection throughput on this machine (prints figures; never a timed test).

For each resolution, a v1 generator with the official channel counts (fmap_base 8192,
fmap_max 512; random weights) and the real LPIPS VGG16 architecture (random weights:
the same compute as the converted ones) run `stylegan_tf.project.project`: one step is
synthesis + area-downsampling to 256 + VGG16 features + the noise regulariser, their
gradients, Adam and the noise renormalisation. Steps/s comes from the difference of two
runs of different lengths, so the tf.function tracing cancels out.

    python benchmarks/bench_project.py                  # 256 and 1024 (a few minutes on 2 cores)
    python benchmarks/bench_project.py --resolutions 256 --steps 4
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


def bench(resolution: int, steps: int, w_plus: bool) -> dict:
    import keras
    import numpy as np

    from stylegan_tf import project as P
    from stylegan_tf.config import NetworkConfig
    from stylegan_tf.metrics import lpips
    from stylegan_tf.networks.stylegan1.generator import Generator

    keras.utils.set_random_seed(0)
    start = time.perf_counter()
    G = Generator(NetworkConfig(resolution=resolution), seed=0)
    features = P.LPIPSFeatures(lpips.LPIPS(lpips.random_weights(seed=0)))
    build_s = time.perf_counter() - start
    target = np.random.default_rng(0).integers(0, 256, (resolution, resolution, 3)).astype(np.uint8)
    start = time.perf_counter()
    stats = P.w_statistics(G)  # the official 10000 samples
    stats_s = time.perf_counter() - start

    def run(n):
        config = P.ProjectionConfig(num_steps=n, w_plus=w_plus)
        start = time.perf_counter()
        P.project(G, target, features, config, progress=False, w_stats=stats)
        return time.perf_counter() - start

    short, long = run(1), run(1 + steps)
    step_s = (long - short) / steps
    return dict(resolution=resolution, w_plus=w_plus, steps_per_s=1.0 / step_s, s_per_step=step_s,
                first_call_s=short, build_s=build_s, w_stats_s=stats_s,
                est_1000_steps_min=1000 * step_s / 60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--resolutions", default="256,1024", help="comma-separated (default: 256,1024)")
    parser.add_argument("--steps", type=int, default=5, help="timed steps per resolution (default: 5)")
    parser.add_argument("--w-plus", action="store_true", help="time W+ projection instead of W")
    args = parser.parse_args()
    import tensorflow as tf

    print(f"TensorFlow {tf.__version__}, {os.cpu_count()} CPU cores, devices: "
          f"{[d.device_type for d in tf.config.list_physical_devices()]}")
    for res in (int(r) for r in args.resolutions.split(",")):
        r = bench(res, args.steps, args.w_plus)
        print(f"projection {res}x{res} ({'W+' if r['w_plus'] else 'W'}): {r['steps_per_s']:.3f} steps/s "
              f"({r['s_per_step']:.2f} s/step; 1000 steps ~ {r['est_1000_steps_min']:.0f} min); "
              f"first call incl. tracing {r['first_call_s']:.1f} s, w_avg of 10000 z {r['w_stats_s']:.1f} s, "
              f"build {r['build_s']:.1f} s", flush=True)


if __name__ == "__main__":
    main()
