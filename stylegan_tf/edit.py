"""Semantic editing from the command line (`stylegan_tf.editing`): find directions, draw edits.

    python -m stylegan_tf.edit sefa         --network G.keras --layers 0-3 --num 10 --out out/sefa.npz
    python -m stylegan_tf.edit ganspace     --network G.keras --samples 10000 --out out/ganspace.npz
    python -m stylegan_tf.edit interfacegan --network G.keras --labels smiling.csv --out out/smile.npz
    python -m stylegan_tf.edit figure       --network G.keras --directions out/sefa.npz --index 0 \\
                                            --seeds 0-3 --strengths=-3,-1.5,0,1.5,3
    python -m stylegan_tf.edit figure       --network G.keras --directions out/smile.npz \\
                                            --projected-w out/proj/projected_w.npz --layers 4-7

`interfacegan --labels` takes a CSV of `seed,label` lines (0/1: the attribute absent/present in the
image of that seed, rendered with psi 1) or an `.npz` with `w` and `labels`. `figure` writes
`edit-<method>-<index>.png`: rows = seeds (or projected photos), columns = strengths, the edit
w + strength * d applied to `--layers` (default: the layers the directions were computed for, else all).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Sequence

import numpy as np

from stylegan_tf import cli, editing, media, sampling
from stylegan_tf.errors import UserError
from stylegan_tf.cli import parse_layers


def _network(p: argparse.ArgumentParser) -> None:
    p.add_argument("--network", required=True, help="a .keras generator, training run / checkpoint, or official "
                   ".pkl (sefa needs the layers: not a SavedModel)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m stylegan_tf.edit", description=__doc__.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="\n".join(__doc__.split("\n")[2:10]))
    sub = parser.add_subparsers(dest="command", metavar="command")
    sub.required = True

    p = sub.add_parser("sefa", help="closed-form directions: eigenvectors of the style affines (Shen & Zhou 2021)")
    _network(p)
    p.add_argument("--layers", default=None, help="w rows whose affines are factorised, e.g. 0-3 (default: all)")
    p.add_argument("--num", type=int, default=10, help="directions to keep (default: 10)")
    p.add_argument("--no-normalize", dest="normalize", action="store_false",
                   help="factorise the raw weights (default: each style channel's weight at unit length, as "
                        "the authors' code)")
    p.add_argument("--out", default="out/sefa.npz", help="directions file (default: out/sefa.npz)")
    p.set_defaults(func=_sefa)

    p = sub.add_parser("ganspace", help="principal axes of sampled w (Härkönen et al. 2020)")
    _network(p)
    p.add_argument("--num", type=int, default=10, help="directions to keep (default: 10)")
    p.add_argument("--samples", type=int, default=10000, help="sampled z (default: 10000)")
    p.add_argument("--seed", type=int, default=0, help="seed of the sampled z (default: 0)")
    p.add_argument("--class", dest="class_index", type=int, default=None, help="class of a conditional network")
    p.add_argument("--out", default="out/ganspace.npz", help="directions file (default: out/ganspace.npz)")
    p.set_defaults(func=_ganspace)

    p = sub.add_parser("interfacegan", help="the normal of a linear classifier of a labelled attribute "
                       "(Shen et al. 2020)")
    _network(p)
    p.add_argument("--labels", required=True, help="CSV of seed,label (0/1) lines, or .npz with w and labels")
    p.add_argument("--class", dest="class_index", type=int, default=None, help="class of a conditional network")
    p.add_argument("--out", default="out/interfacegan.npz", help="directions file (default: out/interfacegan.npz)")
    p.set_defaults(func=_interfacegan)

    p = sub.add_parser("figure", help="seeds or projected photos moved along a direction")
    _network(p)
    p.add_argument("--directions", required=True, help="a directions .npz of this command")
    p.add_argument("--index", type=int, default=0, help="which direction of the file (default: 0, the first)")
    p.add_argument("--seeds", default=None, help="one row per seed, e.g. 0-3 (or --projected-w)")
    p.add_argument("--projected-w", default=None, help="projected_w.npz file(s) of stylegan_tf.project: one row "
                   "each, with their optimised noise")
    p.add_argument("--strengths", default="-3,-1.5,0,1.5,3", help="one column per strength, in W units; write --strengths=-3,... (a leading minus) "
                   "(default: -3,-1.5,0,1.5,3)")
    p.add_argument("--layers", default=None, help="w rows to edit, e.g. 0-3 (default: the file's, else all)")
    p.add_argument("--trunc", type=float, default=None, help="truncation psi of the seeds (default: the "
                   "network's, 0.7; 1 = off)")
    p.add_argument("--noise", default="const", help="noise mode of the seeds: random, const, none (default: const)")
    p.add_argument("--class", dest="class_index", type=int, default=None, help="class of a conditional network")
    p.add_argument("--zoom", type=int, default=1, help="enlarge the figure N times (default: 1)")
    p.add_argument("--outdir", default="out", help="output folder (default: out)")
    p.set_defaults(func=_figure)
    return parser


def _count(value: int, option: str) -> int:
    if value < 1:
        raise UserError(f"{option} must be at least 1. Received: {option}={value}")
    return value


def _load(args):
    """The generator of --network (`export.load_generator`) and the parsed --layers (None = all)."""
    from stylegan_tf import export

    G = export.load_generator(cli.existing_path(args.network))
    layers = parse_layers(args.layers, int(G.num_layers)) if getattr(args, "layers", None) else None
    return G, layers


def _done(path) -> list:
    print(path)
    return [str(path)]


def _sefa(args) -> list:
    _count(args.num, "--num")
    G, layers = _load(args)
    directions, values = editing.sefa(G, layers, args.num, args.normalize)
    return _done(editing.save_directions(args.out, directions, "sefa", layers, values))


def _ganspace(args) -> list:
    _count(args.num, "--num")
    _count(args.samples, "--samples")
    G, _ = _load(args)
    directions, variances = editing.ganspace(G, args.num, args.samples, args.seed, args.class_index)
    return _done(editing.save_directions(args.out, directions, "ganspace", None, variances))


def _interfacegan(args) -> list:
    seeds, w, labels = editing.read_labels(args.labels)
    G, _ = _load(args)
    if w is None:
        w = sampling.map_latents(G, sampling.seed_latents(G, [int(s) for s in seeds]),
                                 sampling.class_labels(G, args.class_index, len(seeds)), 1.0)
    direction, offset, accuracy = editing.interfacegan(w, labels)
    print(f"InterFaceGAN: training accuracy {accuracy:.3f} on {len(labels)} labelled latents", file=sys.stderr)
    return _done(editing.save_directions(args.out, direction[None], "interfacegan", None, [accuracy],
                                         offset=np.float64(offset)))


def _figure(args) -> list:
    strengths = cli.parse_floats(args.strengths, "--strengths")
    seeds = cli.parse_seeds(args.seeds) if args.seeds is not None else []
    if bool(seeds) == (args.projected_w is not None):
        raise UserError("figure draws --seeds or --projected-w photos: give one of them.")
    sampling.check_noise_mode(args.noise)
    _count(args.zoom, "--zoom")
    G, layers = _load(args)
    loaded = editing.load_directions(args.directions, int(G.config.w_dim))
    direction = editing.pick_direction(loaded, args.index)
    layers = layers if layers is not None else loaded["layers"]
    if layers is not None and max(layers) >= int(G.num_layers):
        raise UserError(f"--directions: the file's layers {layers} do not exist in this network "
                        f"({G.num_layers} layers); give --layers.")
    if seeds:
        names = [f"seed {s}" for s in seeds]
        w = sampling.map_latents(G, sampling.seed_latents(G, seeds),
                                 sampling.class_labels(G, args.class_index, len(seeds)), args.trunc)
        noise = sampling.seed_noise(G, seeds, args.noise)
    else:
        from stylegan_tf.projection import load_projected

        names, w, noise = load_projected(G, args.projected_w, True, args.noise)
        w = sampling.truncate_w(G, w, 1.0 if args.trunc is None else args.trunc)
    images = editing.edit_images(G, w, noise, direction, strengths, layers)
    where = "all layers" if layers is None else f"layers {sampling.describe_layers(layers)}"
    figure = editing.edit_figure(images, names, strengths, f"{loaded['method']} direction {args.index}, {where}",
                                 zoom=args.zoom)
    return _done(media.save_png(figure, os.path.join(args.outdir, f"edit-{loaded['method']}-{args.index}.png")))


def main(argv: Sequence[str] | None = None) -> int:
    return cli.main(build_parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
