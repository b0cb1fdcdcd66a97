#!/usr/bin/env python
"""StyleGAN3 generator forward time on this machine, against StyleGAN2 (prints figures; never a timed test).

Each (network, resolution, precision) runs in its own subprocess (its own precision policy):
one traced (`tf.function`) forward z -> image, batch N, best of `--repeats` after a warm-up.
Networks: StyleGAN3-T, StyleGAN3-R (official channels), StyleGAN2 config F with a 2-layer
mapping (the ADA 'auto' G that SG3 compares against).

    python benchmarks/bench_stylegan3.py                                # 256, float32 and mixed_bfloat16
    python benchmarks/bench_stylegan3.py --resolutions 256,1024 --networks t,r,sg2 --repeats 1
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


def bench(network: str, resolution: int, precision: str, batch: int, repeats: int) -> dict:
    import keras
    import numpy as np
    import tensorflow as tf

    from stylegan_tf import families

    keras.mixed_precision.set_global_policy(precision)
    if network == "sg2":
        from stylegan_tf.networks.stylegan2.config import StyleGAN2Config
        config = StyleGAN2Config(resolution=resolution, mapping_layers=2)
    else:
        from stylegan_tf.networks.stylegan3.config import StyleGAN3Config
        config = StyleGAN3Config(cfg=network, resolution=resolution)
    G = families.build_generator(config)
    z = tf.constant(np.random.default_rng(0).standard_normal((batch, config.latent_size)).astype(np.float32))
    forward = tf.function(lambda z: G(z, truncation_psi=1.0, noise_mode="const"))
    start = time.perf_counter()
    forward(z).numpy()
    first = time.perf_counter() - start
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        forward(z).numpy()
        best = min(best, time.perf_counter() - start)
    params = int(sum(np.prod(w.shape) for w in G.trainable_weights))
    return {"network": network, "resolution": resolution, "precision": precision, "batch": batch,
            "params": params, "trace_and_first_s": round(first, 2), "forward_s": round(best, 3),
            "images_per_s": round(batch / best, 3)}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--networks", default="t,r,sg2", help="comma-separated: t, r, sg2")
    p.add_argument("--resolutions", default="256")
    p.add_argument("--precisions", default="float32,mixed_bfloat16")
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--one", nargs=3, metavar=("NETWORK", "RES", "PRECISION"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.one:
        network, res, precision = args.one
        print(json.dumps(bench(network, int(res), precision, args.batch, args.repeats)))
        return 0
    for res in args.resolutions.split(","):
        for network in args.networks.split(","):
            for precision in args.precisions.split(","):
                cmd = [sys.executable, __file__, "--one", network, res, precision, "--batch", str(args.batch),
                       "--repeats", str(args.repeats)]
                out = subprocess.run(cmd, capture_output=True, text=True)
                line = out.stdout.strip().splitlines()[-1] if out.returncode == 0 and out.stdout.strip() else \
                    json.dumps({"network": network, "resolution": int(res), "precision": precision,
                                "error": out.stderr.strip().splitlines()[-1:] or ["failed"]})
                print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
