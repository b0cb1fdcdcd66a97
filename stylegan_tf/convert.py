"""Convert an official network pickle into Keras files: `python -m stylegan_tf.convert x.pkl DEST`.

Writes, in the directory DEST:

    Gs.keras      the averaged generator (TF `Gs`, PyTorch `G_ema`): the one to generate with
    G.keras       the trained generator
    D.keras       the discriminator
    saved_model/  a serving SavedModel of Gs (`stylegan_tf.export.save_saved_model` endpoints)
    network.json  the family, network config, source file and parameter counts

and prints the family, resolution and parameter counts. Everything is written into a
temporary directory beside DEST, renamed to DEST only when complete: a failed or
interrupted conversion leaves nothing in DEST. An existing DEST is replaced only with
`--overwrite`. The pickle is read without running anything it contains
(`stylegan_tf.official.pickle_reader`).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Sequence

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from stylegan_tf import cli  # noqa: E402
from stylegan_tf.errors import UserError  # noqa: E402

INFO_FILE = "network.json"


def convert(pickle_path, dest, overwrite: bool = False, saved_model: bool = True, log=print) -> dict:
    """Converts `pickle_path` into the directory `dest` (see the module docstring); returns the summary."""
    from stylegan_tf.export import save_keras, save_saved_model
    from stylegan_tf.official import load_pickle

    dest = Path(dest)
    if dest.exists() and not overwrite:
        raise UserError(f"{dest} already exists: choose another destination or pass --overwrite.")
    if dest.exists() and not dest.is_dir():
        raise UserError(f"{dest} exists and is not a directory.")
    start = time.time()
    nets = load_pickle(pickle_path)
    log(f"Read {pickle_path} in {time.time() - start:.1f} s: {nets.describe()}")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.tmp-{os.getpid()}")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    try:
        for name in ("Gs", "G", "D"):
            save_keras(getattr(nets, name), tmp / f"{name}.keras")
        if saved_model:
            save_saved_model(nets.Gs, tmp / "saved_model")
        c = nets.config
        summary = {"family": nets.family, "resolution": c.resolution, "source": os.fspath(pickle_path),
                   "source_format": nets.source_format, "parameters": nets.parameter_counts(),
                   "config": c.to_dict()}
        (tmp / INFO_FILE).write_text(json.dumps(summary, indent=1, default=str))
        if dest.exists():
            old = dest.with_name(f".{dest.name}.old-{os.getpid()}")
            os.replace(dest, old)
            os.replace(tmp, dest)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, dest)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    summary["seconds"] = time.time() - start
    return summary


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m stylegan_tf.convert",
        description="Convert an official StyleGAN network pickle (TensorFlow v1 / StyleGAN2, or "
                    "stylegan2-ada-pytorch) into Keras files: Gs.keras, G.keras, D.keras and a SavedModel of Gs.",
        epilog="example:\n  python -m stylegan_tf.convert karras2019stylegan-ffhq-1024x1024.pkl ffhq-1024\n"
               "  python -m stylegan_tf.generate images --network ffhq-1024/Gs.keras --seeds 0-7 --grid",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("pickle", help="the official .pkl file")
    p.add_argument("dest", help="output directory (must not exist, unless --overwrite)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing DEST (after the new one is complete)")
    p.add_argument("--savedmodel", action=argparse.BooleanOptionalAction, default=True,
                   help="also write the SavedModel of Gs (default: on)")
    p.set_defaults(func=_handle)
    return p


def _handle(args) -> None:
    summary = convert(args.pickle, args.dest, overwrite=args.overwrite, saved_model=args.savedmodel)
    counts = summary["parameters"]
    print(f"family:     {summary['family']}\n"
          f"resolution: {summary['resolution']}x{summary['resolution']}\n"
          f"parameters: G {counts['G']:,}  D {counts['D']:,}  Gs {counts['Gs']:,}\n"
          f"wrote {args.dest}/ (Gs.keras, G.keras, D.keras{', saved_model/' if args.savedmodel else ''}, "
          f"{INFO_FILE}) in {summary['seconds']:.1f} s")


def main(argv: Sequence[str] | None = None) -> int:
    return cli.main(build_parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
