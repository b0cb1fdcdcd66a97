"""Builds a StyleGAN training dataset (official multi-resolution TFRecords) from images.

The dataset tool: the command line over `stylegan_tf.data.builder.build_dataset` (see docs/datasets.md); installed as
`stylegan-dataset`, and `python data_prep/make_tfrecords.py` from a checkout.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading

from stylegan_tf import cli
from stylegan_tf.data.builder import build_dataset
from stylegan_tf.data.options import ALIGNMENTS, CROPS, OFFICIAL_SHUFFLE_SEED, BuildOptions
from stylegan_tf.data.sources import SKIP_REASONS
from stylegan_tf.errors import UserError

COMMAND = ("stylegan-dataset",)
"""How the tool was started, for messages, the examples and `dataset.json`'s command_line."""

EXAMPLES_TEMPLATE = """examples:
  # FFHQ from the in-the-wild photos and the official landmark JSON (exact FFHQ alignment):
  {command} --source ffhq/in-the-wild-images --landmarks ffhq-dataset-v2.json \\
      --alignment ffhq-json --resolution 1024 --dest datasets/ffhq

  # The official aligned 1024x1024 FFHQ PNGs (or any aligned square images), at 256x256:
  {command} --source ffhq/images1024x1024 --alignment none --resolution 256 \\
      --dest datasets/ffhq256

  # Your own photos: MTCNN finds the faces, then the same alignment:
  {command} --source my_photos.zip --alignment detect --faces all \\
      --min-face-size 128 --resolution 256 --dest datasets/myfaces

  # An official StyleGAN TFRecord dataset, cut to 256x256 and split into 8 shards per level:
  {command} --from-tfrecords official/ffhq --resolution 256 --shards 8 \\
      --dest datasets/ffhq256

  # Check a dataset (levels, counts, shapes, labels, checksums, every record's CRC):
  {command} --inspect datasets/ffhq

  # StyleGAN2-ADA / StyleGAN3 datasets (zip or folder of PNGs + dataset.json), both ways:
  {command} --to-ada datasets/ffhq256 --dest ffhq256.zip
  {command} --from-ada ffhq256.zip --dest datasets/ffhq256-again

  # The official transforms and the CIFAR-10 python archive as sources:
  {command} --source lsun_cats/ --transform center-crop-wide --resolution 256x192 --dest datasets/cats
  {command} --source cifar-10-python.tar.gz --resolution 32 --dest datasets/cifar10

  # Toy faces drawn by the project itself (no download):
  {command} --source synthetic:faces --num-images 5000 --resolution 64 \\
      --dest datasets/toyfaces

skip reasons (skipped.jsonl, dataset.json):
""" + "\n".join(f"  {code:20s} {text}" for code, text in SKIP_REASONS.items())


def examples(command: tuple[str, ...] = COMMAND) -> str:
    return EXAMPLES_TEMPLATE.replace("{command}", " ".join(command))


def build_parser(command: tuple[str, ...] = COMMAND) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=os.path.basename(command[-1]), description=__doc__.splitlines()[0], epilog=examples(command),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    io = p.add_argument_group("input and output")
    io.add_argument("--source", metavar="PATH", help="folder (searched recursively) or zip of images, "
                    "or synthetic:faces")
    io.add_argument("--dest", metavar="DIR", help="dataset directory to create (its name is the file prefix)")
    io.add_argument("--resolution", type=_resolution, metavar="N", help="top resolution, a power of two 4..1024; "
                    "WxH (W = the resolution) with --transform center-crop-wide")
    io.add_argument("--from-tfrecords", metavar="DIR", help="an existing (official) TFRecord dataset as input: "
                    "re-shard and/or cut to a lower --resolution; records are copied unchanged")
    io.add_argument("--to-ada", metavar="DIR", help="write the TFRecord dataset DIR as a StyleGAN2-ADA/StyleGAN3 "
                    "dataset at --dest (a .zip, else a folder): PNGs + dataset.json, record order")
    io.add_argument("--from-ada", metavar="PATH", help="a StyleGAN2-ADA/StyleGAN3 dataset (zip or folder) as "
                    "TFRecords at --dest: file order, every level, its labels")
    io.add_argument("--transform", choices=("center-crop", "center-crop-wide"),
                    help="the official dataset_tool crop: largest centred square, or the aspect of --resolution WxH "
                         "on a black WxW canvas (narrower inputs are skipped)")
    io.add_argument("--inspect", metavar="DIR", help="print what a dataset holds, verify it, and exit")
    io.add_argument("--overwrite", action="store_true", help="replace an existing dataset at --dest")
    io.add_argument("--save-aligned", metavar="DIR", help="also write every image's top level as a PNG")
    io.add_argument("--shards", type=int, default=1, metavar="N", help="files per level (default 1, official)")
    io.add_argument("--num-images", type=int, metavar="N", help="images to draw for a synthetic source")
    io.add_argument("--seed", type=int, default=0, help="synthetic source: random stream (default 0)")

    al = p.add_argument_group("alignment")
    al.add_argument("--alignment", choices=ALIGNMENTS, default="none",
                    help="none: resize only; ffhq-json: FFHQ alignment from --landmarks; detect: MTCNN landmarks "
                         "then FFHQ alignment (default none)")
    al.add_argument("--landmarks", metavar="FILE", help="ffhq-dataset-v2.json (68 landmarks per face)")
    al.add_argument("--no-rotation", action="store_true", help="axis-aligned face crop (same centre and size)")
    al.add_argument("--align-size", type=int, default=1024, metavar="N",
                    help="size the face is aligned at before the levels are computed (default 1024, official)")
    al.add_argument("--crop", choices=CROPS, default="center",
                    help="alignment none: centre crop or black padding to a square (default center)")
    al.add_argument("--faces", choices=("largest", "all"), default="largest",
                    help="alignment detect: the largest face or all faces (default largest)")
    al.add_argument("--min-face-size", type=int, default=64, metavar="PX",
                    help="alignment detect: ignore faces whose box is smaller (default 64)")
    al.add_argument("--allow-upscale", action="store_true", default=None,
                    help="keep inputs (faces) smaller than --resolution instead of skipping them as too_small "
                         "(always on for ffhq-json, as the official alignment)")
    al.add_argument("--channels", type=int, choices=(1, 3), default=3, help="3 = RGB (default), 1 = grayscale")

    bd = p.add_argument_group("build")
    bd.add_argument("--labels", metavar="FILE", help="JSON or CSV mapping file name to class (conditional)")
    bd.add_argument("--workers", type=int, default=0, metavar="N", help="processes (default 0 = all cores)")
    bd.add_argument("--shuffle-seed", type=int, default=OFFICIAL_SHUFFLE_SEED, metavar="N",
                    help=f"seed of the one shuffle at write time (default {OFFICIAL_SHUFFLE_SEED}, official)")
    bd.add_argument("--no-shuffle", action="store_true", help="keep the sorted input order")
    bd.add_argument("--max-images", type=int, metavar="N", help="stop after writing N images")
    bd.add_argument("--strict", action="store_true", help="fail at the first skipped input")
    bd.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def _resolution(text: str) -> tuple[int, int]:
    """`N` or `WxH` (the official tool's --resolution) as (W, H)."""
    parts = text.lower().split("x")
    if len(parts) in (1, 2) and all(p.strip().isdigit() for p in parts):
        width, height = int(parts[0]), int(parts[-1])
        return width, height
    raise argparse.ArgumentTypeError(f"expected N or WxH (e.g. 256 or 256x192), got {text!r}")


def parse_args(argv: list[str] | None = None, command: tuple[str, ...] = COMMAND) -> argparse.Namespace:
    return build_parser(command).parse_args(argv)


def options_from_args(args: argparse.Namespace, argv: list[str], command: tuple[str, ...] = COMMAND) -> BuildOptions:
    """The build options of a parsed command line (a pure function)."""
    missing = [flag for flag, value in (("--dest", args.dest), ("--resolution", args.resolution)) if value is None]
    width, height = args.resolution or (None, None)
    if missing:
        raise UserError(f"Missing {' and '.join(missing)} (or use --inspect DIR). See --help.")
    return BuildOptions(
        dest=args.dest, resolution=width, source=args.source, alignment=args.alignment,
        landmarks=args.landmarks, rotate=not args.no_rotation, crop=args.crop, faces=args.faces,
        min_face_size=args.min_face_size, align_size=args.align_size, allow_upscale=args.allow_upscale,
        channels=args.channels, labels=args.labels, workers=args.workers, shuffle=not args.no_shuffle,
        shuffle_seed=args.shuffle_seed, max_images=args.max_images, num_images=args.num_images,
        synthetic_seed=args.seed, shards=args.shards, strict=args.strict, save_aligned=args.save_aligned,
        from_tfrecords=args.from_tfrecords, overwrite=args.overwrite, progress=not args.no_progress,
        command_line=(*command, *argv), transform=args.transform,
        transform_height=height if height != width or args.transform else None)


def inspect(path: str) -> None:
    from stylegan_tf.data.dataset import ImageDataset

    dataset = ImageDataset(path)
    print(dataset.describe(), flush=True)
    print("Verifying every record (CRC, shape) and checksum ...", flush=True)
    counts = dataset.verify(checksums=True, progress=sys.stdout.isatty())
    print(f"OK: {len(counts)} levels, {next(iter(counts.values()))} images each.")


def convert_ada(args: argparse.Namespace, argv: list[str], command: tuple[str, ...] = COMMAND) -> None:
    """--to-ada / --from-ada (stylegan_tf.data.ada_format)."""
    from stylegan_tf.data import ada_convert

    if bool(args.to_ada) == bool(args.from_ada) or args.source or args.from_tfrecords:
        raise UserError("Give one input: --to-ada DIR or --from-ada PATH (not with --source or --from-tfrecords).")
    if not args.dest:
        raise UserError("Missing --dest (the .zip or folder to write). See --help.")
    width, height = args.resolution or (None, None)
    if width != height:
        raise UserError(f"--resolution must be N with --to-ada/--from-ada. Received: --resolution {width}x{height}")
    if args.to_ada:
        count = ada_convert.tfrecords_to_ada(args.to_ada, args.dest, resolution=width, overwrite=args.overwrite,
                                            max_images=args.max_images, progress=not args.no_progress)
        print(f"Wrote {count} images to {os.path.abspath(args.dest)} (StyleGAN2-ADA/StyleGAN3 format).")
    else:
        summary = ada_convert.ada_to_tfrecords(args.from_ada, args.dest, resolution=width, shards=args.shards,
                                              overwrite=args.overwrite, max_images=args.max_images,
                                              progress=not args.no_progress, command_line=(*command, *argv))
        print(summary.format())


def _terminate(signum, frame):
    raise KeyboardInterrupt  # `kill` cleans up like Ctrl-C: nothing half-built is left behind


def run(args: argparse.Namespace, argv: list[str], command: tuple[str, ...] = COMMAND) -> None:
    """--inspect a dataset, or build one."""
    if args.inspect:
        inspect(args.inspect)
    elif args.to_ada or args.from_ada:
        convert_ada(args, argv, command)
    else:
        print(build_dataset(options_from_args(args, argv, command)).format())


def main(argv: list[str] | None = None, command: tuple[str, ...] = COMMAND) -> int:
    """Runs the tool; returns the exit status (2: a `UserError`, printed without a trace; 130: interrupted,
    by Ctrl-C or SIGTERM, with nothing published)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(command)
    parser.set_defaults(func=lambda args: run(args, argv, command))
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _terminate) if in_main_thread else None
    try:
        return cli.main(parser, argv, prefix=os.path.basename(command[-1]),
                        interrupted="interrupted; nothing was published.")
    finally:
        if in_main_thread:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
