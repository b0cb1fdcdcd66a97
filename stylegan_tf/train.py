"""Train a StyleGAN: `python train.py --data DIR --config ffhq` (see --help for examples).

The same command is `python -m stylegan_tf.train` and, installed, `stylegan-train`.
A thin command line over `stylegan_tf.training`: options -> (Config, RunOptions) ->
run directory -> `training.loop.run`. With no --data it builds a small synthetic
dataset (no download) and trains the CPU-sized `small` preset.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from stylegan_tf import presets  # noqa: E402
from stylegan_tf.config import ABLATIONS, Config  # noqa: E402
from stylegan_tf.errors import UserError  # noqa: E402

EXAMPLES = """
examples:
  # The demo: synthetic 32x32 faces, small preset, about ten minutes on 2 CPU cores.
  python train.py

  # Official FFHQ 1024 (config F) on all GPUs of one machine, float16.
  python train.py --data datasets/ffhq --config ffhq --strategy mirrored --mixed-precision fp16

  # CelebA-HQ at 256x256 with WGAN-GP, paper configuration E, resumed after an interruption.
  python train.py --data datasets/celebahq --config celebahq --resolution 256 --ablation E
  python train.py --data datasets/celebahq --config celebahq --resolution 256 --ablation E --resume latest

  # Fine-tune a published network (official .pkl) on a dataset of its resolution.
  python train.py --data datasets/mine-1024 --config ffhq --resume-from karras2019stylegan-ffhq-1024x1024.pkl

  # StyleGAN2: the CPU demo on synthetic faces; config F on FFHQ; ADA's 'auto' for any dataset.
  python train.py --config stylegan2-small
  python train.py --data datasets/ffhq --config stylegan2-ffhq --strategy mirrored --mixed-precision fp16
  python train.py --data datasets/mine --config auto

  # Transfer learning (official switches): freeze D's top 4 layers, 2,000 images, unconditional.
  python train.py --data datasets/mine-256 --config auto --resume-from stylegan2-ffhq-256x256.pkl \
      --freezed 4 --subset 2000 --no-cond --glr 0.002 --dlr 0.002

  # See the networks and the schedule without training.
  python train.py --config ffhq --dry-run
"""


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Train StyleGAN (Karras et al. 2019) with Keras 3 / TensorFlow 2.",
                                epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", help="dataset directory (make_tfrecords.py output or official StyleGAN TFRecords); "
                                  "default: build the synthetic demo dataset")
    p.add_argument("--outdir", default="runs", help="parent of the auto-numbered run directories (default: runs)")
    p.add_argument("--config", default="small", help=f"preset: {', '.join(presets.list_presets())} (default: small)")
    p.add_argument("--ablation", choices=list("ABCDEF"), help="paper configuration A-F (default: the preset's, F)")
    p.add_argument("--resolution", type=int, help="network resolution (default: the dataset's)")
    p.add_argument("--kimg", type=float, help="total length of training in thousands of real images")
    p.add_argument("--batch", type=int, help="global minibatch at every resolution (default: the preset's table)")
    p.add_argument("--gamma", type=float, help="R1 weight (default: the preset's, 10 for ffhq)")
    p.add_argument("--lrate", type=float, help="learning rate of G and D at every resolution")
    p.add_argument("--mirror", action=argparse.BooleanOptionalAction, default=None,
                   help="random horizontal flips of the reals (default: the preset's, on)")
    p.add_argument("--growing", action=argparse.BooleanOptionalAction, default=True,
                   help="progressive growing (--no-growing trains at the full resolution from the start)")
    p.add_argument("--aug", choices=["noaug", "ada", "fixed"],
                   help="discriminator augmentation (StyleGAN2-ADA): ada = adaptive p, fixed = constant --p "
                   "(default: the preset's, noaug; see docs/ada.md)")
    p.add_argument("--p", type=float, help="augmentation probability: initial for --aug ada, constant for fixed")
    p.add_argument("--target", type=float, help="ADA target of r_t = E[sign(D(reals))] (default 0.6)")
    p.add_argument("--augpipe", help="augmentation pipeline: blit, geom, color, bg, bgc (default), noise, cutout")
    p.add_argument("--ada-kimg", type=float, help="ADA speed: p can move by 1 in this many kimg (default 500; "
                   "official fine-tuning/resume value 100)")
    t = p.add_argument_group("transfer learning and capacity (the official StyleGAN2-ADA / StyleGAN3 "
                             "train.py switches)")
    t.add_argument("--freezed", type=int, metavar="N", help="FreezeD (Mo et al. 2020): do not train D's top N layers "
                   "(from the full-resolution block down: fromrgb, conv0, conv1, skip per block; official default 0)")
    t.add_argument("--glr", type=float, help="G learning rate at every resolution (wins over --lrate for G)")
    t.add_argument("--dlr", type=float, help="D learning rate at every resolution (wins over --lrate for D)")
    t.add_argument("--cbase", type=int, help="capacity: channel base of G and D, channels(res) = min(cbase / res, "
                   "cmax) (official 32768; StyleGAN v1: fmap_base = cbase / 2)")
    t.add_argument("--cmax", type=int, help="maximum feature maps of any layer of G and D (official 512)")
    t.add_argument("--map", "--map-depth", dest="map", type=int, metavar="N",
                   help="mapping network depth (official --map-depth: 8 StyleGAN2, 2 StyleGAN3 and ADA auto)")
    t.add_argument("--mbstd-group", type=int, metavar="N", help="minibatch-stddev group size of D (official 4; "
                   "1 turns the layer off here)")
    t.add_argument("--batch-gpu", type=int, metavar="N", help="samples per replica at once: each phase accumulates "
                   "the gradients of batch / (replicas x N) rounds (official batch_gpu; minibatch stddev groups and "
                   "the path-length batch are per round; default: the whole per-replica batch)")
    t.add_argument("--cond", action=argparse.BooleanOptionalAction, default=None,
                   help="train conditionally on the dataset's labels (--no-cond: ignore them; default: conditional "
                   "when the dataset has labels, the official default is off)")
    t.add_argument("--subset", type=int, metavar="N", help="train on N images of the dataset (a fixed random "
                   "subset, the same at every level; default all)")
    p.add_argument("--strategy", default="default", help="default | mirrored | multiworker (reads TF_CONFIG)")
    p.add_argument("--mixed-precision", default="off", help="off | fp16 | bf16")
    p.add_argument("--resume", help="'latest' (newest run in --outdir) or a run/checkpoint directory")
    p.add_argument("--resume-from", metavar="PKL", help="fine-tune an official network pickle: a new run starting "
                   "from its G, D and Gs with fresh optimizers (v1: full resolution, no growing); the dataset "
                   "must have its resolution (see docs/official-networks.md)")
    p.add_argument("--snapshot-kimg", type=float, help="network snapshot (checkpoint, export, metrics) every N kimg")
    p.add_argument("--seed", type=int, default=0, help="seed of everything random (default 0)")
    p.add_argument("--metrics", default="", help="comma-separated metrics at each network snapshot, e.g. swd16k "
                                                  "(python -m stylegan_tf.metrics --list shows them all)")
    p.add_argument("--metrics-num", type=int, default=1000, help="samples per metric during training")
    p.add_argument("--inception", help="Inception weights for fid/kid/pr metrics (see docs/metrics.md)")
    p.add_argument("--lpips", help="LPIPS .npz for ppl metrics (see docs/metrics.md)")
    p.add_argument("--xla", action=argparse.BooleanOptionalAction, default=None,
                   help="compile each phase's network passes with XLA (default: on with GPUs, off on CPUs, "
                   "where it measured slower; see docs/training-on-gpus.md)")
    p.add_argument("--keep-checkpoints", type=int, default=3, help="checkpoints kept (default 3)")
    p.add_argument("--savedmodel", action=argparse.BooleanOptionalAction, default=True,
                   help="also export a SavedModel at each network snapshot (default: on)")
    p.add_argument("--demo-images", type=int, default=4096, help="size of the synthetic demo dataset")
    p.add_argument("--dry-run", action="store_true", help="print the options, schedule and networks, then exit")
    return p.parse_args(argv)


def config_from_args(args: argparse.Namespace, dataset_resolution: int | None = None):
    """The resolved (Config, RunOptions) of a command line; pure, raises UserError on bad values."""
    from stylegan_tf.training.options import RunOptions

    if args.resume and args.resume.endswith(".pkl"):
        raise UserError(f"--resume continues a run of this library (a run or checkpoint directory, or 'latest'); "
                        f"to start from an official network pickle use --resume-from {args.resume}")
    config = presets.get(args.config, ablation=args.ablation)   # with_ablation refuses non-v1 presets
    overrides = {}
    resolution = args.resolution or dataset_resolution
    if resolution is not None and presets.resolution_dependent(args.config):
        # Presets resolved from the resolution (ADA 'auto'): rebuilt for it, before the overrides.
        config = presets.at_resolution(args.config, resolution)
    if resolution is not None:
        if dataset_resolution is not None and resolution > dataset_resolution:
            raise UserError(f"--resolution {resolution} is above the dataset's {dataset_resolution}.")
        overrides["network__resolution"] = resolution
    if args.kimg is not None:
        if args.kimg <= 0:
            raise UserError(f"--kimg must be positive. Received: {args.kimg}")
        overrides["schedule__total_kimg"] = args.kimg
    if args.batch is not None:
        if args.batch < 1:
            raise UserError(f"--batch must be at least 1. Received: {args.batch}")
        config = presets.with_batch(args.config, config, args.batch)
    overrides.update(_lrate_overrides(args))
    if args.gamma is not None:
        overrides["loss__r1_gamma"] = args.gamma
    if args.mirror is not None:
        overrides["training__mirror_augment"] = args.mirror
    if not args.growing:
        overrides["schedule__progressive"] = False
    overrides.update(_augment_overrides(args, config.augment.mode))
    overrides.update(official_overrides(args, config))
    if getattr(args, "batch_gpu", None) is not None:
        if args.batch_gpu < 1:
            raise UserError(f"--batch-gpu must be at least 1. Received: --batch-gpu {args.batch_gpu}")
        overrides["training__batch_gpu"] = args.batch_gpu
    config = config.replace(**overrides)
    if config.schedule.lod_initial_resolution > config.network.resolution:
        config = config.replace(schedule__lod_initial_resolution=config.network.resolution)
    config = config.validate()
    metrics = ()
    if args.metrics.strip():
        from stylegan_tf.metrics.registry import parse_metric_names

        metrics = tuple(parse_metric_names(args.metrics))
    options = RunOptions(data=args.data, subset=args.subset, cond=args.cond, strategy=args.strategy,
                         mixed_precision=args.mixed_precision, xla=args.xla,
                         resume=args.resume, seed=args.seed, snapshot_kimg=args.snapshot_kimg, metrics=metrics,
                         metrics_num=args.metrics_num, keep_checkpoints=args.keep_checkpoints,
                         export_savedmodel=args.savedmodel, inception=args.inception, lpips=args.lpips,
                         extra={"argv": sys.argv}).validate()
    return config, options


def _lrate_overrides(args: argparse.Namespace) -> dict:
    """--lrate (G and D), then --glr / --dlr (one network each; they win over --lrate): the learning
    rate at every resolution (the per-resolution tables cleared), as the official `--glr`/`--dlr`."""
    out = {}
    for flag, value, nets in (("--lrate", args.lrate, "gd"), ("--glr", args.glr, "g"), ("--dlr", args.dlr, "d")):
        if value is None:
            continue
        if not value >= 0:
            raise UserError(f"{flag} must not be negative. Received: {flag} {value}")
        for net in nets:
            out.update({f"schedule__{net}_lrate_base": value, f"schedule__{net}_lrate_dict": {}})
    return out


# The official train.py switches that map to config fields through the network config class's
# OFFICIAL_OPTIONS (option -> (Config.replace key, converter)): argument name -> (flag, minimum).
# Official ranges: --cbase, --cmax, --map-depth, --mbstd-group >= 1; --freezed >= 0.
OFFICIAL_SWITCHES = {"cbase": ("--cbase", 1), "cmax": ("--cmax", 1), "map": ("--map", 1),
                     "mbstd_group": ("--mbstd-group", 1), "freezed": ("--freezed", 0)}


def official_overrides(args: argparse.Namespace, config: Config) -> dict:
    """--cbase, --cmax, --map, --mbstd-group, --freezed -> the overrides the network family names for
    them (`OFFICIAL_OPTIONS` of its config class); a switch the family does not take is an error
    (`--freezed 0`, the official default, is accepted everywhere)."""
    supported = getattr(type(config.network), "OFFICIAL_OPTIONS", {})
    out = {}
    for name, (flag, minimum) in OFFICIAL_SWITCHES.items():
        value = getattr(args, name, None)
        if value is None:
            continue
        if value < minimum:
            raise UserError(f"{flag} must be at least {minimum}. Received: {flag} {value}")
        if name not in supported:
            if value == 0:
                continue
            takes = ", ".join(OFFICIAL_SWITCHES[k][0] for k in supported) or "none of them"
            raise UserError(f"{flag} is not available for preset {config.name!r}: its {config.network.family} "
                            f"networks take {takes}. Received: {flag} {value}")
        key, convert = supported[name]
        try:
            out[key] = convert(value)
        except ValueError as error:
            raise UserError(f"{flag} {error}. Received: {flag} {value}") from None
    return out


def training_dataset(dataset, options):
    """The dataset as the run reads it: `--cond` needs labels, `--no-cond` reads a labelled dataset
    without them (label_size 0), `--subset` must fit the dataset (the loop takes the subset)."""
    if options.cond and not dataset.has_labels:
        raise UserError(f"--cond trains on the dataset's labels, but dataset {dataset.path} has none. "
                        f"Received: --cond")
    if options.subset is not None:
        dataset.subset_indices(options.subset, options.seed)   # A UserError above its image count.
    if options.cond is False and dataset.has_labels:
        from stylegan_tf.data.view import DatasetView

        return DatasetView(dataset, labels=False)
    return dataset


def _augment_overrides(args: argparse.Namespace, preset_mode: str) -> dict:
    """--aug, --p, --target, --augpipe, --ada-kimg -> `augment__*` overrides; options that the
    mode would ignore are an error (as the official train.py)."""
    mode = args.aug or preset_mode
    out = {} if args.aug is None else {"augment__mode": args.aug}
    if mode == "fixed" and args.p is None and args.aug is not None:
        raise UserError("--aug fixed needs --p (the constant augmentation probability).")
    for flag, value, field, modes in (("--p", args.p, "p", ("ada", "fixed")),
                                      ("--target", args.target, "target", ("ada",)),
                                      ("--augpipe", args.augpipe, "pipe", ("ada", "fixed")),
                                      ("--ada-kimg", args.ada_kimg, "kimg", ("ada",))):
        if value is not None:
            if mode not in modes:
                raise UserError(f"{flag} needs --aug {' or '.join(modes)}. Received: {flag} {value} with "
                                f"augmentation mode {mode!r}")
            out[f"augment__{field}"] = value
    return out


def run_description(config: Config, options) -> str:
    """The run directory's name after its number: preset, paper configuration, resolution, choices."""
    parts = [config.name]
    net = config.network
    for letter, switches in ABLATIONS.items() if net.family == "stylegan1" else ():
        if letter != "F" and all(getattr(net, k) == v for k, v in switches.items() if k != "truncation_psi"):
            parts.append(f"config{letter}")
            break
    parts.append(str(net.resolution))
    if options.subset is not None:
        parts.append(f"subset{options.subset}")   # As the official run names.
    if options.strategy != "default":
        parts.append(options.strategy)
    if options.mixed_precision != "off":
        parts.append(options.mixed_precision)
    return "-".join(parts)


def new_run_dir(outdir: Path, desc: str) -> Path:
    outdir.mkdir(parents=True, exist_ok=True)
    ids = [int(m.group(1)) for p in outdir.iterdir() if (m := re.match(r"^(\d{5})-", p.name))]
    return outdir / f"{max(ids, default=-1) + 1:05d}-{desc}"


def latest_run_dir(outdir: Path) -> Path:
    from stylegan_tf.training.checkpoint import list_checkpoints

    runs = sorted((p for p in outdir.glob("[0-9][0-9][0-9][0-9][0-9]-*") if list_checkpoints(p)),
                  key=lambda p: p.name)
    if not runs:
        raise UserError(f"--resume latest: no run with a checkpoint in {outdir}")
    return runs[-1]


def open_training_data(args):
    """The dataset to train on: --data, or the synthetic demo dataset (built once, cached in --outdir)."""
    from stylegan_tf.data.dataset import open_dataset

    if args.data:
        return open_dataset(args.data)
    from stylegan_tf.data.synthetic import build_synthetic_dataset

    resolution = args.resolution or presets.get(args.config).network.resolution
    path = Path(args.outdir) / "datasets" / f"synthetic-faces-{resolution}-{args.demo_images}"
    if not (path / "dataset.json").is_file():
        print(f"Building the synthetic demo dataset in {path} ...", flush=True)
    build_synthetic_dataset(path, resolution=resolution, num_images=args.demo_images, seed=0, exist_ok=True)
    return open_dataset(path)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        if args.dry_run:
            config, options = config_from_args(args)
            return dry_run(config, options)
        from stylegan_tf.training import loop
        from stylegan_tf.training.distribute import make_strategy

        placement = make_strategy(args.strategy)  # first: multi-worker needs it before other TF work
        dataset = open_training_data(args)
        config, options = config_from_args(args, dataset_resolution=dataset.resolution)
        dataset = training_dataset(dataset, options)
        from stylegan_tf.hardware import warn_if_emulated

        import tensorflow as tf

        warn_if_emulated(options.mixed_precision, has_gpu=bool(tf.config.list_physical_devices("GPU")))
        pretrained = None
        if args.resume_from:
            from stylegan_tf.official import load_pickle
            from stylegan_tf.official.finetune import finetune_config

            pretrained = load_pickle(args.resume_from)
            config = finetune_config(config, pretrained, dataset)
            options = dataclasses.replace(options, extra={**options.extra, "resume_from": args.resume_from})
        elif config.network.label_size == 0 and dataset.label_size:
            config = config.replace(network__label_size=dataset.label_size).validate()
        outdir = Path(args.outdir)
        if options.resume:
            run_dir = latest_run_dir(outdir) if options.resume == "latest" else _run_dir_of(Path(options.resume))
            if options.resume == "latest":
                options = dataclasses.replace(options, resume=str(run_dir))
        elif placement.is_chief:
            run_dir = new_run_dir(outdir, run_description(config, options))
            loop.write_options(run_dir, config, options)
        else:
            run_dir = Path(tempfile.mkdtemp(prefix=f"stylegan-worker{placement.worker_index}-"))
        print(f"Run directory: {run_dir}\nSchedule:\n{loop.describe_schedule(config)}", flush=True)
        with dataset.translate_errors():   # A damaged dataset file: a UserError naming it.
            summary = loop.run(config, options, run_dir, dataset, placement, pretrained=pretrained)
        final = run_dir / f"network-snapshot-{summary['state']['cur_nimg'] // 1000:06d}.keras"
        print(f"Done: {summary['state']['cur_nimg'] / 1000:g} kimg in {run_dir}; final export {final}")
        return 0
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


def _run_dir_of(path: Path) -> Path:
    if (path / "meta.json").is_file():
        return path.parent.parent
    return path


def dry_run(config: Config, options) -> int:
    from stylegan_tf import summary
    from stylegan_tf import families
    from stylegan_tf.training.loop import describe_schedule

    print(json.dumps({"config": config.to_dict(), "options": options.to_dict()}, indent=2, default=str))
    print(f"\nSchedule:\n{describe_schedule(config)}\n")
    print(describe_training(config) + "\n")
    from stylegan_tf.training.freeze import freeze_discriminator

    D = families.build_discriminator(config.network)
    frozen = freeze_discriminator(D, config.training.freeze_d)   # As the Trainer does (--freezed).
    if frozen:
        print(f"FreezeD (--freezed {config.training.freeze_d}): {len(frozen)} of {len(D.freezable_layers())} "
              f"D block layers frozen (not trained): {', '.join(frozen)}\n")
    print(summary.describe_networks(families.build_generator(config.network), D))
    return 0


def describe_training(config: Config) -> str:
    """The optimizer (Adam's form, betas and the lazy-regularisation ratios) and every loss setting."""
    from stylegan_tf import families

    loss = families.get(config.network.family).loss_class()(config)
    o = config.optimizer
    lines = [f"Optimizer: Adam, epsilon {o.epsilon:g} in the {o.epsilon_form} form "
             f"({'added after the bias correction, torch.optim.Adam' if o.epsilon_form == 'torch' else 'added to sqrt(v) before the bias correction, TensorFlow/Keras'}), "
             f"beta1 {o.beta_1:g}, beta2 {o.beta_2:g}",
             f"Loss ({type(loss).__name__}):"]
    lines += [f"  {k}: {v}" for k, v in loss.describe().items() if k != "loss"]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
