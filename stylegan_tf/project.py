"""Command line of the projector (`stylegan_tf.projection`, the StyleGAN2 projector):

    python -m stylegan_tf.project --network G.keras --target photo.png --outdir out/proj \\
        --lpips lpips_vgg16.npz [--align] [--num-steps 1000] [--seed 303] [--w-plus]

writes target.png, proj.png, target-proj.png, proj.mp4 and projected_w.npz (see
`stylegan_tf.projection` for the method and the file formats, docs/projection.md for the guide).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from stylegan_tf import cli


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m stylegan_tf.project",
        description="Project a photo into a generator's latent space (StyleGAN2 projector).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n"
               "  python -m stylegan_tf.project --network G.keras --target face.png --outdir out/proj "
               "--lpips lpips_vgg16.npz\n"
               "  python -m stylegan_tf.project --network run/ --target photo.jpg --align --w-plus "
               "--outdir out/proj --lpips lpips_vgg16.npz\n"
               "  python -m stylegan_tf.generate images --network G.keras --projected-w out/proj/projected_w.npz\n")
    parser.add_argument("--network", required=True, help=cli.NETWORK_KINDS)
    parser.add_argument("--target", required=True, help="the photo to project (PNG, JPEG, ...)")
    parser.add_argument("--outdir", required=True, help="output folder")
    parser.add_argument("--lpips", default=None, help="LPIPS VGG16 weights (.npz from "
                        "stylegan_tf.metrics.convert_lpips; see docs/metrics.md)")
    parser.add_argument("--align", action="store_true", help="FFHQ-align the largest face first (MTCNN)")
    parser.add_argument("--num-steps", type=int, default=1000, help="optimisation steps (default: 1000)")
    parser.add_argument("--seed", type=int, default=303, help="seed of the initial noise maps and the w noise "
                        "(default: 303)")
    parser.add_argument("--w-plus", action="store_true", help="optimise one w per layer (W+) instead of one w")
    parser.add_argument("--save-video", action=argparse.BooleanOptionalAction, default=True,
                        help="write proj.mp4: the target beside every step's image (default: on)")
    parser.set_defaults(func=run)
    return parser


def run(args) -> list[Path]:
    """Runs the parsed command line; prints and returns the files written."""
    from stylegan_tf import export, projection
    from stylegan_tf.data import photos
    from stylegan_tf.metrics import lpips

    config = projection.ProjectionConfig(num_steps=args.num_steps, seed=args.seed, w_plus=args.w_plus).validate()
    photos.read_photo(args.target)  # Fail early, before loading networks.
    features = lpips.load_lpips_features(args.lpips)
    G = export.load_generator(cli.existing_path(args.network))
    projection.noise_shapes(G)
    target = photos.prepare_target(args.target, int(G.config.resolution), align=args.align)
    result = projection.project(G, target, features, config)
    written = projection.write_outputs(G, result, target, args.outdir, save_video=args.save_video)
    cli.print_written(written, args.outdir, limit=len(written))
    return written


def main(argv: Sequence[str] | None = None) -> int:
    return cli.main(build_parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
