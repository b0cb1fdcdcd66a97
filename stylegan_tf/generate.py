"""Command line for sampling a generator and drawing the paper's figures.

One subcommand, one handler over the library (`stylegan_tf.sampling`, `stylegan_tf.input_transform`,
`stylegan_tf.projection.load_projected`, `stylegan_tf.figures`, `stylegan_tf.media`):

    python -m stylegan_tf.generate images       --network G.keras --seeds 0-99,200 --trunc 0.7 --grid
    python -m stylegan_tf.generate style-mixing --network G.keras --row-seeds 1,2,3 --col-seeds 4,5 --styles coarse
    python -m stylegan_tf.generate noise        --network G.keras --seeds 1157,1012 --samples 100
    python -m stylegan_tf.generate truncation   --network G.keras --seeds 91,388 --psis 1,0.7,0.5,0,-0.5,-1
    python -m stylegan_tf.generate interpolate  --network G.keras --seeds 0,1,2 --space w --frames 30
    python -m stylegan_tf.generate images       --network G.keras --projected-w out/proj/projected_w.npz
    python -m stylegan_tf.generate images       --network sg3.keras --seeds 0-3 --translate 0.1,0 --rotate 15
    python -m stylegan_tf.generate pan          --network sg3.keras --seed 0 --path circle --distance 0.2

`--translate TX,TY` / `--rotate DEG` (images, style-mixing, truncation, interpolate, pan) set a
StyleGAN3 network's input transform for the command, as the official `gen_images.py`
(`transform = inv(make_transform(translate, rotate))`; translate in image widths, +x right,
+y down), and restore it afterwards; other families have no Fourier input and refuse them.
`pan` writes a GIF (and MP4) of one seed or projected w while the output moves along a line or
a circle and/or turns (`--rotate-speed` degrees per frame), as the StyleGAN3 paper's
equivariance videos. StyleGAN3 networks have no noise inputs: `--noise` is ignored for them.

`--projected-w` (images, style-mixing, truncation, interpolate) takes `projected_w.npz`
files of `stylegan_tf.project` (or the official projector's): their w are rendered,
used as the style-mixing rows, truncated, or walked through (in W) instead of seeds,
with the projection's optimised noise (`--no-projected-noise`: the `--noise` mode).

`--class N` (every subcommand): a conditional network (label_size > 0) generates every image of a
seed with the one-hot label of class N, as the official `gen_images.py --class`; it is required for
such a network whenever seeds are mapped, and an error for an unconditional one or N outside
[0, label_size). Projected w need no class.

`--network` takes anything `stylegan_tf.export.load_generator` opens: a `.keras` generator,
a SavedModel directory, a training run directory / checkpoint (its EMA generator Gs), or an
official network pickle. Seeds, noise modes and reproducibility: `stylegan_tf.sampling`.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Sequence

import numpy as np

from stylegan_tf import cli, families, figures, media, sampling
from stylegan_tf.cli import parse_floats, parse_layers, parse_seeds
from stylegan_tf.errors import UserError
from stylegan_tf.input_transform import input_transform, pan, pan_transforms, transform_variable

# Official generate_figures.py values.
FIGURE3_ROW_SEEDS = (888, 829, 1898, 1733, 1614, 845)
FIGURE3_COL_SEEDS = (639, 701, 687, 615, 2268)
FIGURE4_SEEDS = (1157, 1012)
FIGURE8_SEEDS = (91, 388)
FIGURE8_PSIS = (1.0, 0.7, 0.5, 0.0, -0.5, -1.0)


# Option parsing ------------------------------------------------------------------------------
def parse_translate(text: str | None, option: str = "--translate") -> tuple[float, float] | None:
    """'0.25,-0.1' -> (0.25, -0.1): x then y, in image widths (official gen_images `parse_vec2`)."""
    if text is None:
        return None
    values = parse_floats(text, option)
    if len(values) != 2:
        raise UserError(f"{option} takes two numbers TX,TY (fractions of the image size). Received: {option}={text!r}")
    return values[0], values[1]


# Parser -------------------------------------------------------------------------
def _common(parser: argparse.ArgumentParser, noise_default: str, trunc_help: str) -> None:
    parser.add_argument("--network", required=True, help="a .keras generator, SavedModel directory, or training "
                        "run directory / checkpoint")
    parser.add_argument("--outdir", default="out", help="output folder (default: out)")
    parser.add_argument("--trunc", type=float, default=None, help=trunc_help)
    parser.add_argument("--trunc-cutoff", type=int, default=None,
                        help="truncate only layers < cutoff (default: the network's, 8)")
    parser.add_argument("--noise", default=noise_default, help=f"noise mode: random (drawn from the seed), "
                        f"const (fixed maps) or none (default: {noise_default})")
    parser.add_argument("--class", dest="class_index", type=int, default=None, metavar="N",
                        help="conditional networks: the class of every image generated from a seed (its "
                        "one-hot label; required for them, refused for unconditional networks)")
    parser.add_argument("--batch", type=int, default=8, help="images per network call (default: 8)")
    parser.add_argument("--zoom", type=int, default=1, help="enlarge figures N times, nearest neighbour "
                        "(for small networks; default: 1)")


def _projected_options(parser: argparse.ArgumentParser, use: str) -> None:
    parser.add_argument("--projected-w", default=None, help=f"projected_w.npz file(s) of stylegan_tf.project, "
                        f"comma-separated: {use} (truncation default: 1 = off)")
    parser.add_argument("--projected-noise", action=argparse.BooleanOptionalAction, default=True,
                        help="render projected photos with the noise optimised with them (default: on; "
                             "off: the --noise mode)")


def _transform_options(parser: argparse.ArgumentParser, pan: bool = False) -> None:
    start = " at the first frame" if pan else ""
    parser.add_argument("--translate", default=None, metavar="TX,TY",
                        help=f"StyleGAN3: move the output{start} by TX,TY image widths (+x right, +y down; "
                             "official gen_images --translate)")
    parser.add_argument("--rotate", type=float, default=None, metavar="DEG",
                        help=f"StyleGAN3: rotate the output{start} by DEG degrees (official gen_images --rotate)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m stylegan_tf.generate",
        description="Sample a StyleGAN generator and draw the paper's figures.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n"
               "  python -m stylegan_tf.generate images --network G.keras --seeds 0-15 --grid\n"
               "  python -m stylegan_tf.generate style-mixing --network G.keras --row-seeds 1-3 --col-seeds 4-7 "
               "--styles coarse\n"
               "  python -m stylegan_tf.generate noise --network G.keras --seeds 1157,1012\n"
               "  python -m stylegan_tf.generate truncation --network G.keras --seeds 91,388\n"
               "  python -m stylegan_tf.generate interpolate --network G.keras --seeds 0-3 --space z --frames 24\n"
               "  python -m stylegan_tf.generate images --network sg3.keras --seeds 0-3 --translate 0.1,0 --rotate 15\n"
               "  python -m stylegan_tf.generate pan --network sg3.keras --seed 0 --path circle --distance 0.2\n")
    sub = parser.add_subparsers(dest="command", metavar="command")
    sub.required = True

    p = sub.add_parser("images", help="one PNG per seed, and optionally a grid")
    p.set_defaults(func=_images)
    _common(p, "random", "truncation psi (default: the network's, 0.7; 1 = off)")
    p.add_argument("--seeds", default=None, help="seeds as lists and inclusive ranges, e.g. 0-99,200 "
                   "(required unless --projected-w)")
    _projected_options(p, "rendered as projectedNN.png, before the seeds")
    p.add_argument("--grid", action="store_true", help="also write grid.png")
    p.add_argument("--grid-columns", type=int, default=None, help="columns of the grid (default: about square)")
    _transform_options(p)

    p = sub.add_parser("style-mixing", help="paper Figure 3: copy coarse/middle/fine styles between seeds")
    p.set_defaults(func=_style_mixing)
    _common(p, "const", "truncation psi (default: 1 = off, as the official figure)")
    p.add_argument("--row-seeds", default=",".join(map(str, FIGURE3_ROW_SEEDS)),
                   help="destination seeds, one per row (default: the official figure's)")
    p.add_argument("--col-seeds", default=",".join(map(str, FIGURE3_COL_SEEDS)),
                   help="source seeds, one per column (default: the official figure's)")
    p.add_argument("--styles", default=None, help="coarse, middle or fine, one for all rows or one per row "
                   "(default: coarse x3, middle x2, fine as the paper; for smaller networks or other row "
                   "counts, the groups the network has, spread over the rows)")
    p.add_argument("--layers", default=None, help="explicit layer range for every row, e.g. 0-3 (overrides --styles)")
    _projected_options(p, "the rows (destinations) instead of --row-seeds")
    _transform_options(p)

    p = sub.add_parser("noise", help="paper Figure 4: noise realisations and their per-pixel std")
    p.set_defaults(func=_noise)
    _common(p, "random", "truncation psi (default: 1 = off, as the official figure)")
    p.add_argument("--seeds", default=",".join(map(str, FIGURE4_SEEDS)), help="one row per seed")
    p.add_argument("--samples", type=int, default=100, help="noise realisations for the std map (default: 100)")

    p = sub.add_parser("truncation", help="paper Figure 8: each seed across a list of psi")
    p.set_defaults(func=_truncation)
    _common(p, "const", "unused here: see --psis")
    p.add_argument("--seeds", default=",".join(map(str, FIGURE8_SEEDS)), help="one row per seed")
    p.add_argument("--psis", default=",".join(f"{p:g}" for p in FIGURE8_PSIS),
                   help="psi values, one column each (default: 1,0.7,0.5,0,-0.5,-1); cutoff default: all layers")
    _projected_options(p, "the rows instead of --seeds")
    _transform_options(p)

    p = sub.add_parser("interpolate", help="GIF (and MP4) walking between seeds")
    p.set_defaults(func=_interpolate)
    _common(p, "const", "truncation psi (default: the network's, 0.7; 1 = off)")
    p.add_argument("--seeds", default=None, help="the seeds to walk through, in order (or --projected-w)")
    _projected_options(p, "the photos to walk through in W, in order, instead of --seeds")
    p.add_argument("--space", default="w", help="w (lerp in W) or z (slerp in Z) (default: w)")
    p.add_argument("--frames", type=int, default=30, help="frames per transition (default: 30)")
    p.add_argument("--fps", type=float, default=24.0, help="frames per second (default: 24)")
    p.add_argument("--loop", action="store_true", help="walk back from the last seed to the first")
    _transform_options(p)

    p = sub.add_parser("pan", help="StyleGAN3: GIF (and MP4) of one image moving along a line or circle "
                       "and/or turning")
    p.set_defaults(func=_pan)
    _common(p, "const", "truncation psi (default: the network's, 1 for StyleGAN3; 1 = off)")
    p.add_argument("--seed", type=int, default=None, help="the seed to render (or --projected-w)")
    _projected_options(p, "its first w is rendered instead of --seed")
    p.add_argument("--frames", type=int, default=60, help="number of frames (default: 60)")
    p.add_argument("--path", default="line", help="line: move --distance along --direction; circle: once "
                   "round a circle of radius --distance (a seamless loop) (default: line)")
    p.add_argument("--distance", type=float, default=0.5, help="length of the line / radius of the circle, "
                   "in image widths (default: 0.5)")
    p.add_argument("--direction", type=float, default=0.0, help="direction of the line / start point on the "
                   "circle, degrees (0 = right, 90 = down; default: 0)")
    p.add_argument("--rotate-speed", type=float, default=0.0, help="rotation per frame, degrees (default: 0)")
    p.add_argument("--fps", type=float, default=24.0, help="frames per second (default: 24)")
    _transform_options(p, pan=True)
    return parser


# Handlers: one per subcommand ------------------------------------------------------------------
def _check_common(args) -> None:
    sampling.check_noise_mode(args.noise)
    if args.zoom < 1:
        raise UserError(f"--zoom must be at least 1. Received: --zoom={args.zoom}")
    if args.batch < 1:
        raise UserError(f"--batch must be at least 1. Received: --batch={args.batch}")
    if args.trunc_cutoff is not None and args.trunc_cutoff < 0:
        raise UserError(f"--trunc-cutoff must not be negative. Received: --trunc-cutoff={args.trunc_cutoff}")


def _check_fps(fps: float) -> None:
    if fps <= 0:
        raise UserError(f"--fps must be positive. Received: --fps={fps}")


def _fixed_transform(args) -> tuple:
    """(translate, angle, the options given) of a command's --translate/--rotate (see `input_transform`)."""
    translate = parse_translate(args.translate)
    given = "/".join(name for name, value in (("--translate", translate), ("--rotate", args.rotate)) if value is not None)
    return translate, args.rotate, given


def _network(args, from_seeds: bool):
    """The generator of --network (`export.load_generator`, as every command), its --class checked
    before anything is written (required when the command maps seeds through a conditional network,
    `from_seeds`); creates --outdir."""
    from stylegan_tf import export

    G = export.load_generator(cli.existing_path(args.network))
    if from_seeds or args.class_index is not None:
        sampling.class_labels(G, args.class_index, 0)
    os.makedirs(args.outdir, exist_ok=True)
    return G


def _projected(G, args) -> dict:
    """--projected-w's names, w, noise and psi (default 1 = off), or {} without it."""
    if args.projected_w is None:
        return {}
    from stylegan_tf.projection import load_projected

    names, w, noise = load_projected(G, args.projected_w, args.projected_noise, args.noise)
    return dict(names=names, w=w, noise=noise, psi=1.0 if args.trunc is None else args.trunc)


def _write_video(frames: np.ndarray, stem: str, fps: float, zoom: int) -> list:
    """`stem`.gif and, when OpenCV's FFmpeg writer works, `stem`.mp4; returns the files written."""
    with media.VideoWriter(stem, fps, total_frames=len(frames), zoom=zoom, gif="always") as video:
        for frame in frames:
            video.write(frame)
    if not any(path.suffix == ".mp4" for path in video.paths):
        print("No MP4 writer available (OpenCV with FFmpeg); wrote the GIF only.", file=sys.stderr)
    return video.paths


def _done(written: list, args) -> list:
    cli.print_written(written, args.outdir)
    return written


def _seeds_or_projected(args) -> list[int]:
    """The --seeds of a command that renders seeds and/or --projected-w ([] without --seeds); one is needed."""
    seeds = parse_seeds(args.seeds) if args.seeds is not None else []
    if not seeds and args.projected_w is None:
        raise UserError(f"{args.command} needs --seeds (or --projected-w for projected photos).")
    return seeds


def _images(args) -> list:
    _check_common(args)
    seeds = _seeds_or_projected(args)
    translate, angle, given = _fixed_transform(args)
    G = _network(args, from_seeds=bool(seeds))
    projected = _projected(G, args)
    written, kept = [], []
    with input_transform(G, translate, angle, option=given):
        if projected:
            w = sampling.truncate_w(G, projected["w"], projected["psi"], args.trunc_cutoff)
            images = sampling.synthesize(G, w, projected["noise"], args.batch, True, desc="projected")
            written += [media.save_png(image, os.path.join(args.outdir, f"{name}.png"))
                        for name, image in zip(projected["names"], images)]
            kept.append(images)
        names = iter(seeds)
        for batch in sampling.iter_images(G, seeds, args.trunc, args.trunc_cutoff, args.noise, args.class_index,
                                          args.batch, progress=True):
            written += [media.save_png(image, os.path.join(args.outdir, f"seed{next(names):04d}.png"))
                        for image in batch]
            if args.grid:
                kept.append(batch)
    if args.grid:
        grid = media.grid(np.concatenate(kept), args.grid_columns, zoom=args.zoom, fill=255)
        written.append(media.save_png(grid, os.path.join(args.outdir, "grid.png")))
    return _done(written, args)


def _row_styles(args, num_rows: int, num_layers: int) -> tuple[list, list]:
    """Style mixing: the copied layers of each row and their labels, from --layers or --styles."""
    if args.layers is not None:
        layers = parse_layers(args.layers, num_layers)
        return [layers] * num_rows, [f"layers {sampling.describe_layers(layers)}"] * num_rows
    if args.styles is None:
        names = sampling.default_styles(num_rows, num_layers)
    else:
        names = [s.strip() for s in args.styles.split(",")]
        if len(names) == 1:
            names = names * num_rows
        elif len(names) != num_rows:
            raise UserError(f"--styles needs one value, or one per row seed ({num_rows}). "
                            f"Received: --styles={args.styles!r}")
    row_layers = [sampling.style_layers(name, num_layers) for name in names]
    return row_layers, [f"{name} {sampling.describe_layers(layers)}" for name, layers in zip(names, row_layers)]


def _style_mixing(args) -> list:
    _check_common(args)
    row_seeds, col_seeds = parse_seeds(args.row_seeds, "--row-seeds"), parse_seeds(args.col_seeds, "--col-seeds")
    translate, angle, given = _fixed_transform(args)
    G = _network(args, from_seeds=True)   # the columns are seeds
    projected = _projected(G, args)
    row_seeds = projected.get("names", row_seeds)
    with input_transform(G, translate, angle, option=given):
        row_layers, labels = _row_styles(args, len(row_seeds), int(G.num_layers))
        result = sampling.style_mixing(G, row_seeds, col_seeds, row_layers, 1.0 if args.trunc is None else args.trunc,
                                       args.trunc_cutoff, args.noise, args.class_index, args.batch, progress=True,
                                       row_w=projected.get("w"), row_noise=projected.get("noise"))
    figure = figures.style_mixing_figure(result["row_images"], result["col_images"], result["mixed"],
                                         row_seeds, col_seeds, labels, zoom=args.zoom)
    return _done([media.save_png(figure, os.path.join(args.outdir, "style-mixing.png"))], args)


def _noise(args) -> list:
    _check_common(args)
    seeds = parse_seeds(args.seeds)
    if args.samples < 5:
        raise UserError(f"--samples must be at least 5. Received: --samples={args.samples}")
    G = _network(args, from_seeds=True)
    if not families.has_noise_inputs(G):
        raise UserError(f"noise (Figure 4): this {families.family_name(G.config)} network has no noise inputs.")
    images, stds = sampling.noise_variation(G, seeds, args.samples, 1.0 if args.trunc is None else args.trunc,
                                            args.trunc_cutoff, args.class_index, args.batch, progress=True)
    figure = figures.noise_figure(images, stds, seeds, args.samples, zoom=args.zoom)
    return _done([media.save_png(figure, os.path.join(args.outdir, "noise.png"))], args)


def _truncation(args) -> list:
    _check_common(args)
    seeds, psis = parse_seeds(args.seeds), parse_floats(args.psis, "--psis")
    translate, angle, given = _fixed_transform(args)
    G = _network(args, from_seeds=args.projected_w is None)
    projected = _projected(G, args)
    seeds = projected.get("names", seeds)
    with input_transform(G, translate, angle, option=given):
        images = sampling.truncation_sweep(G, seeds, psis, args.trunc_cutoff, args.noise, args.class_index,
                                           args.batch, progress=True, w=projected.get("w"),
                                           noise=projected.get("noise"))
    label = "all layers" if args.trunc_cutoff is None else f"layers < {args.trunc_cutoff}"
    figure = figures.truncation_figure(images, seeds, psis, label, zoom=args.zoom)
    return _done([media.save_png(figure, os.path.join(args.outdir, "truncation.png"))], args)


def _interpolate(args) -> list:
    _check_common(args)
    seeds = _seeds_or_projected(args)
    translate, angle, given = _fixed_transform(args)
    if seeds and args.projected_w is not None:
        raise UserError("interpolate walks through --seeds or through --projected-w photos: give one of them.")
    _check_fps(args.fps)
    if args.space not in ("w", "z"):
        raise UserError(f"--space must be 'w' or 'z'. Received: --space={args.space!r}")
    if args.projected_w is None:
        sampling.interpolation_points(len(seeds), args.frames, args.loop)
    G = _network(args, from_seeds=args.projected_w is None)
    projected = _projected(G, args)
    with input_transform(G, translate, angle, option=given):
        frames = sampling.interpolate(G, projected.get("names", seeds), args.frames, args.space,
                                      projected.get("psi", args.trunc), args.trunc_cutoff, args.noise,
                                      args.class_index, args.loop, args.batch, progress=True,
                                      w=projected.get("w"), noise=projected.get("noise"))
    return _done(_write_video(frames, os.path.join(args.outdir, f"interpolation-{args.space}"), args.fps,
                              args.zoom), args)


def _pan(args) -> list:
    _check_common(args)
    seeds = parse_seeds(str(args.seed), "--seed") if args.seed is not None else []
    translate = parse_translate(args.translate)
    if (args.seed is None) == (args.projected_w is None):
        raise UserError("pan renders one --seed or the first w of --projected-w: give one of them.")
    _check_fps(args.fps)
    transforms = pan_transforms(args.frames, args.path, args.distance, args.direction, args.rotate_speed,
                                translate or (0.0, 0.0), args.rotate or 0.0)
    G = _network(args, from_seeds=args.projected_w is None)
    transform_variable(G, "pan")
    projected = _projected(G, args)
    if projected:
        name, noise = projected["names"][0], projected["noise"][:1]
        w = sampling.truncate_w(G, projected["w"][:1], projected["psi"], args.trunc_cutoff)
    else:
        name, noise = f"seed{seeds[0]:04d}", sampling.seed_noise(G, seeds, args.noise)
        w = sampling.map_latents(G, sampling.seed_latents(G, seeds), sampling.class_labels(G, args.class_index, 1),
                                 args.trunc, args.trunc_cutoff)
    frames = pan(G, w, noise, transforms, progress=True)
    return _done(_write_video(frames, os.path.join(args.outdir, f"pan-{name}"), args.fps, args.zoom), args)


def main(argv: Sequence[str] | None = None) -> int:
    return cli.main(build_parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
