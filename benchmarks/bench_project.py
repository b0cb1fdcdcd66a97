#!/usr/bin/env python
"""Projection throughput on this machine (prints figures; never a timed test).

For each resolution, a generator of the official size (default: StyleGAN2 config F,
`StyleGAN2Config(resolution=R)`: channel_base 32768, channel_max 512, 8 mapping layers;
`--family stylegan1`: v1 with fmap_base 8192, fmap_max 512; random weights) and the LPIPS
VGG16 distance run `stylegan_tf.projection.project`. One step is synthesis + area-downsampling
to 256 + VGG16 features + the noise regulariser, their gradients, Adam and the noise
renormalisation. LPIPS uses `--lpips` weights when given, else random weights of the same
VGG16 architecture (the same compute; the output says which). Steps/s comes from the
difference of two runs of different lengths, so the tf.function tracing cancels out.
Besides wall time it reports the process CPU time per step and the load average: on a
shared machine wall time depends on the other jobs; CPU s/step / cores is the wall time an
otherwise idle machine would need at best.

    python benchmarks/bench_project.py                          # 256 and 1024 (several minutes on 2 cores)
    python benchmarks/bench_project.py --resolutions 256 --steps 8
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


def official_network(family: str, resolution: int):
    """The official-size network config of `family` at `resolution`."""
    if family == "stylegan2":
        from stylegan_tf.networks.stylegan2.config import StyleGAN2Config

        return StyleGAN2Config(resolution=resolution)
    from stylegan_tf.config import NetworkConfig

    return NetworkConfig(resolution=resolution)


def bench(resolution: int, steps: int, w_plus: bool, family: str, features) -> dict:
    import keras
    import numpy as np

    from stylegan_tf import families
    from stylegan_tf import projection as P

    keras.utils.set_random_seed(0)
    start = time.perf_counter()
    G = families.build_generator(official_network(family, resolution), name="G")
    build_s = time.perf_counter() - start
    target = np.random.default_rng(0).integers(0, 256, (resolution, resolution, 3)).astype(np.uint8)
    start = time.perf_counter()
    stats = P.w_statistics(G)  # the official 10000 samples
    stats_s = time.perf_counter() - start

    def run(n):
        config = P.ProjectionConfig(num_steps=n, w_plus=w_plus)
        start, cpu = time.perf_counter(), time.process_time()
        P.project(G, target, features, config, progress=False, w_stats=stats)
        return time.perf_counter() - start, time.process_time() - cpu

    (short, short_cpu), (long, long_cpu) = run(1), run(1 + steps)
    step_s = (long - short) / steps
    return dict(resolution=resolution, w_plus=w_plus, steps_per_s=1.0 / step_s, s_per_step=step_s,
                cpu_s_per_step=(long_cpu - short_cpu) / steps, load=os.getloadavg()[0],
                first_call_s=short, build_s=build_s, w_stats_s=stats_s, params=G.count_params(),
                est_1000_steps_min=1000 * step_s / 60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--resolutions", default="256,1024", help="comma-separated (default: 256,1024)")
    parser.add_argument("--steps", type=int, default=5, help="timed steps per resolution (default: 5)")
    parser.add_argument("--family", choices=("stylegan2", "stylegan1"), default="stylegan2",
                        help="official-size network family (default: stylegan2, config F)")
    parser.add_argument("--lpips", default=None, help="LPIPS VGG16 weights .npz (default: random weights of the "
                        "same architecture, the same cost)")
    parser.add_argument("--w-plus", action="store_true", help="time W+ projection instead of W")
    args = parser.parse_args()
    import tensorflow as tf

    from stylegan_tf import projection as P
    from stylegan_tf.metrics import lpips

    if args.lpips:
        features, lpips_note = lpips.load_lpips_features(args.lpips), f"LPIPS weights {args.lpips}"
    else:
        features = lpips.LPIPSFeatures(lpips.LPIPS(lpips.random_weights(seed=0)))
        lpips_note = "LPIPS VGG16 with random weights (no --lpips; same architecture, same cost)"
    print(f"TensorFlow {tf.__version__}, {os.cpu_count()} CPU cores, devices: "
          f"{[d.device_type for d in tf.config.list_physical_devices()]}; {args.family} official size, "
          f"random weights; {lpips_note}", flush=True)
    for res in (int(r) for r in args.resolutions.split(",")):
        r = bench(res, args.steps, args.w_plus, args.family, features)
        print(f"projection {res}x{res} ({'W+' if r['w_plus'] else 'W'}, G {r['params'] / 1e6:.1f}M params): "
              f"{r['steps_per_s']:.3f} steps/s ({r['s_per_step']:.2f} s/step; 1000 steps ~ "
              f"{r['est_1000_steps_min']:.0f} min); CPU {r['cpu_s_per_step']:.2f} s/step (/{os.cpu_count()} "
              f"cores = {r['cpu_s_per_step'] / os.cpu_count():.2f} s); load average {r['load']:.1f}; first call "
              f"incl. tracing {r['first_call_s']:.1f} s, w_avg of 10000 z {r['w_stats_s']:.1f} s, build "
              f"{r['build_s']:.1f} s", flush=True)


if __name__ == "__main__":
    main()
