"""Fine-tuning a published network: `train.py --data DIR --resume-from x.pkl`.

The run starts from the pickle's G, D and Gs with fresh optimizers at kimg 0 (as
stylegan2-ada-pytorch's `--resume=PKL`); the network configuration is the pickle's,
the training settings (losses, learning rates, minibatch, length) the preset's.
StyleGAN v1 networks train at their full resolution from the first step (lod 0, no
progressive growing: the published networks are fully grown). The dataset must have
the network's resolution and label size. Checkpoints, `--resume` and exports work as
in any run (resume a fine-tuning run with the same command plus `--resume latest`).
"""

from __future__ import annotations

from stylegan_tf import presets
from stylegan_tf.config import Config
from stylegan_tf.errors import UserError


def finetune_config(config: Config, nets, dataset, option: str = "--resume-from") -> Config:
    """`config` with the pickle's network and a schedule at its full resolution; checks the dataset."""
    net = nets.config
    where = f"{option} {nets.path}"
    if config.network.family != net.family:
        same = [n for n in presets.list_presets() if presets.get(n).network.family == net.family]
        raise UserError(f"{where} is a {net.family} network, but --config {config.name} is a "
                        f"{config.network.family} preset: choose a {net.family} preset for the training settings "
                        f"({', '.join(same) or 'none registered yet'}).")
    if dataset.resolution != net.resolution:
        raise UserError(f"{where} is a {net.resolution}x{net.resolution} network, the dataset is "
                        f"{dataset.resolution}x{dataset.resolution}: fine-tuning needs a dataset of the network's "
                        f"resolution (make_tfrecords.py --resolution {net.resolution}).")
    if dataset.label_size != net.label_size:
        raise UserError(f"{where} has label_size {net.label_size}, the dataset has {dataset.label_size} labels: "
                        f"they must match.")
    # As the official --resume: no Gs EMA ramp-up, and the loss's own ramps off (StyleGAN3-R's D-input blur).
    return config.replace(network=net, loss=config.loss.for_finetuning(), schedule__progressive=False,
                          schedule__lod_initial_resolution=net.resolution, training__g_ema_rampup=None).validate()


def _state(model) -> list:
    return [v for v in model.weights if "seed_generator_state" not in v.path]


def copy_networks(trainer, nets) -> None:
    """Sets the trainer's G, D and Gs from the pickle's (same configuration, so the same variables)."""
    for name in ("G", "D", "Gs"):
        target, source = _state(getattr(trainer, name)), _state(getattr(nets, name))
        if len(target) != len(source):
            raise UserError(f"{nets.path}: {name} has {len(source)} variables, the training {name} has "
                            f"{len(target)}")
        for t, s in zip(target, source):
            if tuple(t.shape) != tuple(s.shape):
                raise UserError(f"{nets.path}: {name} variable {s.path} has shape {tuple(s.shape)}, the training "
                                f"{name} expects {tuple(t.shape)} ({t.path})")
            t.assign(s.numpy())
