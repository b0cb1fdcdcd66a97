"""Video grids from the command line (the StyleGAN3 repo's `gen_video.py`; `stylegan_tf.video_grid`).

    python -m stylegan_tf.gen_video --network G.keras --seeds 0-31 --grid 4x2 --output out/lerp.mp4
    python -m stylegan_tf.gen_video --network G.keras --seeds 0-7 --grid 2x2 --num-keyframes 6 --w-frames 60 \\
                                    --kind linear --trunc 0.7

Every cell of the COLUMNSxROWS grid loops through its keyframe seeds (`--num-keyframes` each; by
default the seeds divided evenly over the cells), `--w-frames` frames per keyframe, along a cubic
(`--kind`) spline in W; the video (60 fps, as the official) is written as MP4 through
`stylegan_tf.media.VideoWriter` (a GIF when no MP4 encoder works).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from tqdm import tqdm

from stylegan_tf import cli, media, video_grid
from stylegan_tf.errors import UserError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m stylegan_tf.gen_video", description=__doc__.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="\n".join(__doc__.split("\n")[2:5]))
    parser.add_argument("--network", required=True, help=cli.NETWORK_KINDS)
    parser.add_argument("--seeds", required=True, help="keyframe seeds, e.g. 0-31")
    parser.add_argument("--shuffle-seed", type=int, default=None, help="shuffle the keyframe seeds with this seed")
    parser.add_argument("--grid", default="1x1", help="COLUMNSxROWS of the grid (default: 1x1)")
    parser.add_argument("--num-keyframes", type=int, default=None,
                        help="keyframes per cell (default: the seeds divided evenly over the cells)")
    parser.add_argument("--w-frames", type=int, default=120, help="frames per keyframe (default: 120)")
    parser.add_argument("--kind", default="cubic", help=f"interpolation, one of {', '.join(video_grid.KINDS)} "
                        "(default: cubic)")
    parser.add_argument("--trunc", type=float, default=1.0, help="truncation psi (default: 1 = off)")
    parser.add_argument("--trunc-cutoff", type=int, default=None, help="truncate layers < cutoff (default: all)")
    parser.add_argument("--noise", default="const", help="noise mode: const, random (from each cell's first "
                        "seed) or none (default: const)")
    parser.add_argument("--class", dest="class_index", type=int, default=None, help="class of a conditional network")
    parser.add_argument("--fps", type=float, default=60.0, help="frames per second (default: 60)")
    parser.add_argument("--zoom", type=int, default=1, help="enlarge every frame N times (default: 1)")
    parser.add_argument("--batch", type=int, default=8, help="images per network call (default: 8)")
    parser.add_argument("--output", default="out/video.mp4", help="the .mp4 file (default: out/video.mp4)")
    parser.set_defaults(func=run)
    return parser


def run(args) -> list:
    from stylegan_tf import export

    seeds = cli.parse_seeds(args.seeds)
    grid = video_grid.parse_grid(args.grid)
    output = Path(args.output)
    if output.suffix != ".mp4":
        raise UserError(f"--output must name an .mp4 file. Received: --output={args.output!r}")
    if not args.fps > 0 or args.zoom < 1:
        raise UserError(f"--fps must be positive and --zoom at least 1. Received: --fps={args.fps} --zoom={args.zoom}")
    video_grid.check_kind(args.kind)
    G = export.load_generator(cli.existing_path(args.network))
    video = video_grid.video_grid(G, seeds, grid, args.num_keyframes, args.w_frames, args.kind, args.trunc,
                                  args.trunc_cutoff, args.noise, args.class_index, args.shuffle_seed)
    with media.VideoWriter(output.with_suffix(""), args.fps, total_frames=video.num_frames, zoom=args.zoom) as writer:
        for frame in tqdm(video_grid.grid_frames(G, video, args.batch), total=video.num_frames, unit="frame"):
            writer.write(frame)
    cli.print_written(writer.paths, output.parent)
    return writer.paths


def main(argv: Sequence[str] | None = None) -> int:
    return cli.main(build_parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
