"""Command line: measure a generator.

    python -m stylegan_tf.metrics --network G.keras --data datasets/ffhq --metrics swd16k,fid50k \\
        --inception classify_image_graph_def.pb --outdir eval
    python -m stylegan_tf.metrics --list

Thin over `stylegan_tf.metrics.compute_many`: options are checked (metric names, weights
files, data path) before the network is loaded; each metric appends a JSON line to
`<outdir>/metrics.jsonl` and prints it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Sequence

from stylegan_tf import cli
from stylegan_tf.errors import UserError


def build_parser() -> argparse.ArgumentParser:
    from stylegan_tf.metrics import list_metrics

    table = "\n".join(f"  {name:<12} {text}" for name, text in list_metrics().items())
    parser = argparse.ArgumentParser(
        prog="python -m stylegan_tf.metrics", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Measure a StyleGAN generator: SWD, FID, KID, precision/recall, PPL, EQ-T/EQ-R (StyleGAN3).",
        epilog=f"metrics:\n{table}\n\nexamples:\n"
               "  python -m stylegan_tf.metrics --network G.keras --data datasets/ffhq --metrics swd16k --num 4096\n"
               "  python -m stylegan_tf.metrics --network G.keras --data datasets/ffhq --metrics fid50k,kid50k,pr50k3 "
               "--inception classify_image_graph_def.pb\n"
               "  python -m stylegan_tf.metrics --network G.keras --metrics ppl_wend --lpips lpips_vgg16.npz\n")
    parser.add_argument("--network", help=cli.NETWORK_KINDS)
    parser.add_argument("--data", default=None, help="real images: a dataset directory, an image folder, or .npy")
    parser.add_argument("--metrics", default="swd16k", help="comma-separated metric names (default: swd16k)")
    parser.add_argument("--num", type=int, default=None, help="images/samples per metric (default: the metric's)")
    parser.add_argument("--batch", type=int, default=16, help="images per network call (default: 16)")
    parser.add_argument("--inception", default=None, help="Inception weights: the TTUR classify_image_graph_def.pb "
                        "(paper-comparable) or Keras' inception_v3_..._notop.h5")
    parser.add_argument("--lpips", default=None, help="LPIPS VGG16 weights .npz (from stylegan_tf.metrics.convert_lpips)")
    parser.add_argument("--outdir", default="metrics-out", help="folder of metrics.jsonl (default: metrics-out)")
    parser.add_argument("--cache-dir", default=None, help="cache of real statistics (default: <outdir>/metric-cache)")
    parser.add_argument("--seed", type=int, default=0, help="seed of latents, noise, patches, subsets (default: 0)")
    parser.add_argument("--no-ppl-crop", action="store_true", help="PPL without the face crop (non-face datasets)")
    parser.add_argument("--list", action="store_true", help="list the metrics and exit")
    parser.set_defaults(func=_handle)
    return parser


def run(args) -> list[dict]:
    from stylegan_tf import export, metrics

    names = metrics.parse_metric_names(args.metrics)
    if not args.network:
        raise UserError("--network is required: a .keras generator, SavedModel directory, or run directory")
    needs = {need for name in names for need in metrics.get_metric(name).needs}
    if "reals" in needs and args.data is None:
        raise UserError(f"--data is required by {[n for n in names if 'reals' in metrics.get_metric(n).needs]}")
    if args.data is not None and not os.path.exists(args.data):
        raise UserError(f"--data: no such file or directory. Received: --data={args.data!r}")
    if "inception" in needs:
        from stylegan_tf.metrics.inception import load_inception

        users = ", ".join(n for n in names if "inception" in metrics.get_metric(n).needs)
        inception = load_inception(args.inception, metric=users)
    else:
        inception = None
    distance = None
    if "lpips" in needs:
        from stylegan_tf.metrics.lpips import LPIPS

        from stylegan_tf.metrics.lpips import load_weights

        users = ", ".join(n for n in names if "lpips" in metrics.get_metric(n).needs)
        distance = LPIPS(load_weights(args.lpips, metric=users))
    G = export.load_generator(cli.existing_path(args.network))
    source = None
    if args.data is not None and "reals" in needs:
        source = metrics.open_real_source(args.data, resolution=int(G.config.resolution))
    cache_dir = args.cache_dir or os.path.join(args.outdir, "metric-cache")
    return metrics.compute_many(names, G, source, outdir=args.outdir, info={"network": args.network,
                                                                         "data": args.data},
                                num=args.num, batch_size=args.batch, seed=args.seed, inception=inception,
                                distance=distance, cache_dir=cache_dir, progress=True,
                                ppl_crop=not args.no_ppl_crop)


def _handle(args) -> None:
    """--list prints the metrics; otherwise each measured metric's JSON line."""
    if args.list:
        from stylegan_tf.metrics import list_metrics

        for name, text in list_metrics().items():
            print(f"{name:<12} {text}")
        return
    for line in run(args):
        print(json.dumps(line))
    print(f"appended to {os.path.join(args.outdir, 'metrics.jsonl')}")


def main(argv: Sequence[str] | None = None) -> int:
    return cli.main(build_parser, argv)


if __name__ == "__main__":
    sys.exit(main())
