#!/usr/bin/env python
"""Generation and metric throughput on this machine (prints figures; never a timed test).

For each configuration, in its own subprocess (so each has its own precision policy):
- generation images/s: mapping + synthesis with explicit noise, eager Keras and the
  traced `tf.function` the metrics use, at the `small` preset (32x32) and at 256x256 with
  the official channel counts (fmap_base 8192, fmap_max 512), float32 and mixed_bfloat16;
- SWD: descriptor extraction images/s (Laplacian pyramid + 128 patches per level) and the
  time of the distance on the resulting descriptor sets;
- FID features: Keras InceptionV3 (random weights: the same compute as the real ones)
  images/s, including the resize to 299;
- LPIPS VGG16 (random weights) image pairs/s at 256x256 (the PPL distance);
- StyleGAN2 (config F, 1024x1024, batch 1): one G forward, float32 and mixed_bfloat16.

    python benchmarks/bench_generate.py              # everything (several minutes on 2 cores)
    python benchmarks/bench_generate.py --quick      # small preset and the metric parts only
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


def _timed(fn, repeats: int) -> float:
    """Best wall time of `repeats` calls after one warm-up call."""
    fn()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def bench_generation(preset: str, precision: str, batch: int, repeats: int) -> dict:
    import keras
    import numpy as np
    import tensorflow as tf

    from stylegan_tf import presets
    from stylegan_tf.config import NetworkConfig
    from stylegan_tf.networks.stylegan1.generator import Generator

    keras.mixed_precision.set_global_policy(precision)
    # "small" is the CPU preset; "officialN" the official channel counts at N x N (official1024 = ffhq).
    config = presets.get("small").network if preset == "small" else NetworkConfig(resolution=int(preset.removeprefix("official")))
    G = Generator(config, seed=0)
    z = np.random.default_rng(0).standard_normal((batch, config.latent_size)).astype(np.float32)
    noise = np.random.default_rng(1).standard_normal((batch, G.noise_size())).astype(np.float32)

    def eager():
        return np.asarray(G.synthesis(G.mapping(z), noise=noise), np.float32)

    traced = tf.function(lambda z, n: G.synthesis(G.mapping(z), noise=n), autograph=False, reduce_retracing=True)

    def compiled():
        return np.asarray(traced(z, noise), np.float32)

    out = {"what": "generation", "preset": preset, "resolution": config.resolution, "precision": precision,
           "batch": batch}
    out["eager_img_s"] = batch / _timed(eager, repeats)
    out["traced_img_s"] = batch / _timed(compiled, repeats)
    out["finite"] = bool(np.all(np.isfinite(compiled())))
    return out


def bench_stylegan2(resolution: int, precision: str, batch: int, repeats: int) -> dict:
    """One StyleGAN2 G forward (config F channels at `resolution`), inference: fused modconv, const noise."""
    import keras
    import numpy as np
    import tensorflow as tf

    from stylegan_tf.networks.stylegan2.config import StyleGAN2Config
    from stylegan_tf.networks.stylegan2.generator import Generator

    keras.mixed_precision.set_global_policy(precision)
    G = Generator(StyleGAN2Config(resolution=resolution), seed=0)
    z = np.random.default_rng(0).standard_normal((batch, G.config.latent_size)).astype(np.float32)

    def eager():
        return np.asarray(G(z, truncation_psi=1.0, noise_mode="const"), np.float32)

    traced = tf.function(lambda z: G(z, truncation_psi=1.0, noise_mode="const"), autograph=False)

    def compiled():
        return np.asarray(traced(z), np.float32)

    out = {"what": "generation", "preset": f"sg2-f{resolution}", "resolution": resolution, "precision": precision,
           "batch": batch}
    out["eager_img_s"] = batch / _timed(eager, repeats)
    out["traced_img_s"] = batch / _timed(compiled, repeats)
    out["finite"] = bool(np.all(np.isfinite(compiled())))
    return out


def bench_swd(resolution: int, images: int) -> dict:
    import numpy as np

    from stylegan_tf.metrics import swd

    batch = np.random.default_rng(0).integers(0, 256, (images, resolution, resolution, 3)).astype(np.uint8)

    def extract():
        descriptors = swd.DescriptorSet(resolution, np.random.default_rng(0))
        for start in range(0, images, 64):
            descriptors.feed(batch[start:start + 64])
        return descriptors

    seconds = _timed(extract, 1)
    real = extract().finalize()
    start = time.perf_counter()
    swd.swd_from_descriptors(real, [d[::-1].copy() for d in real], swd.swd_resolutions(resolution),
                             np.random.default_rng(0))
    return {"what": "swd", "resolution": resolution, "images": images, "descriptor_img_s": images / seconds,
            "distance_s": time.perf_counter() - start, "descriptors_per_level": len(real[0])}


def bench_inception(resolution: int, batch: int, repeats: int) -> dict:
    import numpy as np

    from stylegan_tf.metrics.inception import KerasInception

    extractor = KerasInception(None, allow_random=True)
    images = np.random.default_rng(0).integers(0, 256, (batch, resolution, resolution, 3)).astype(np.uint8)
    return {"what": "inception", "resolution": resolution, "batch": batch,
            "img_s": batch / _timed(lambda: extractor(images), repeats)}


def bench_lpips(batch: int, repeats: int) -> dict:
    import numpy as np

    from stylegan_tf.metrics.lpips import LPIPS, random_weights

    distance = LPIPS(random_weights())
    rng = np.random.default_rng(0)
    a, b = rng.uniform(0, 255, (2, batch, 256, 256, 3)).astype(np.float32)
    return {"what": "lpips", "resolution": 256, "batch": batch, "pairs_s": batch / _timed(lambda: distance(a, b),
                                                                                         repeats)}


def run_one(spec: dict) -> dict:
    kind = spec.pop("what")
    fn = {"generation": bench_generation, "stylegan2": bench_stylegan2, "swd": bench_swd,
          "inception": bench_inception, "lpips": bench_lpips}[kind]
    return fn(**spec)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small preset and the metric parts only")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print("RESULT " + json.dumps(run_one(json.loads(args.one))), flush=True)
        return

    specs = [dict(what="generation", preset="small", precision=p, batch=64, repeats=args.repeats)
             for p in ("float32", "mixed_bfloat16")]
    if not args.quick:
        specs += [dict(what="generation", preset=f"official{res}", precision=p, batch=batch, repeats=args.repeats)
                  for res, batch in ((256, 4), (1024, 1)) for p in ("float32", "mixed_bfloat16")]
        specs += [dict(what="stylegan2", resolution=1024, precision=p, batch=1, repeats=args.repeats)
                  for p in ("float32", "mixed_bfloat16")]
    specs += [dict(what="swd", resolution=32, images=2048), dict(what="inception", resolution=32, batch=32,
                                                                   repeats=args.repeats),
              dict(what="lpips", batch=8, repeats=args.repeats)]
    if not args.quick:
        specs.insert(-2, dict(what="swd", resolution=256, images=256))
    results = []
    for spec in specs:
        proc = subprocess.run([sys.executable, __file__, "--one", json.dumps(spec)], capture_output=True, text=True)
        lines = [l for l in proc.stdout.splitlines() if l.startswith("RESULT ")]
        if proc.returncode or not lines:
            print(f"FAILED {spec}: {proc.stderr[-2000:]}")
            continue
        result = json.loads(lines[-1][len("RESULT "):])
        results.append(result)
        print(json.dumps(result), flush=True)

    print("\nSummary (images/s on this machine):")
    for r in results:
        if r["what"] == "generation":
            print(f"  generate {r['preset']:>12} {r['resolution']:>4}px {r['precision']:>15} batch {r['batch']:>3}: "
                  f"eager {r['eager_img_s']:8.2f}  traced {r['traced_img_s']:8.2f}"
                  f"  (traced/eager x{r['traced_img_s'] / r['eager_img_s']:.2f}; traced "
                  f"{r['batch'] / r['traced_img_s']:.3f} s per forward){'' if r['finite'] else '  NON-FINITE'}")
        elif r["what"] == "swd":
            print(f"  SWD descriptors {r['resolution']:>4}px: {r['descriptor_img_s']:8.1f} img/s; distance over "
                  f"{r['descriptors_per_level']} descriptors/level: {r['distance_s']:.2f} s")
        elif r["what"] == "inception":
            print(f"  Inception-v3 features ({r['resolution']}px -> 299): {r['img_s']:8.2f} img/s")
        else:
            print(f"  LPIPS VGG16 256px: {r['pairs_s']:8.2f} pairs/s")
    by = {(r.get("preset"), r.get("precision")): r for r in results if r["what"] == "generation"}
    for preset in ("small", "official256", "official1024", "sg2-f1024"):
        f32, bf16 = by.get((preset, "float32")), by.get((preset, "mixed_bfloat16"))
        if f32 and bf16:
            print(f"  {preset}: mixed_bfloat16 / float32 (traced) = x{bf16['traced_img_s'] / f32['traced_img_s']:.2f}")


if __name__ == "__main__":
    main()
