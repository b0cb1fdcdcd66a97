"""Named configurations: a registry from preset name to a function building a `Config`.

    from stylegan_tf import presets
    config = presets.get("ffhq")                   # official FFHQ 1024, config F
    config = presets.get("small", ablation="E")    # CPU-sized, paper config E

`list_presets()` names them all; an unknown name is a `UserError` listing the valid ones.
The v1 presets are here; each further family registers its own from a module of this
package (`presets/stylegan2.py`, `presets/stylegan3.py`), imported at the end.
"""

from __future__ import annotations

from typing import Callable

from stylegan_tf.config import (Config, LossConfig, NetworkConfig, ScheduleConfig, TrainingConfig,
                                with_ablation)
from stylegan_tf.errors import UserError

_PRESETS: dict[str, tuple[str, Callable[[], Config]]] = {}


def register_preset(name: str, description: str) -> Callable[[Callable[[], Config]], Callable[[], Config]]:
    """Decorator adding a config factory to the registry under `name`."""

    def wrap(factory: Callable[[], Config]) -> Callable[[], Config]:
        if name in _PRESETS:
            raise ValueError(f"Preset {name!r} is registered twice")
        _PRESETS[name] = (description, factory)
        return factory

    return wrap


# Presets whose settings follow the minibatch (official StyleGAN3 train.py): name -> rule(config, batch).
_BATCH_RULES: dict[str, Callable[[Config, int], Config]] = {}


def register_batch_rule(name: str):
    """Decorator: `rule(config, batch) -> Config` re-derives preset `name`'s batch-dependent settings."""

    def wrap(rule: Callable[[Config, int], Config]) -> Callable[[Config, int], Config]:
        _BATCH_RULES[name] = rule
        return rule

    return wrap


def with_batch(name: str, config: Config, batch: int) -> Config:
    """`config` (built from preset `name`) at global minibatch `batch`, with the preset's
    batch-dependent settings (EMA half-lives, ...) re-derived where it has a rule."""
    config = config.replace(schedule__minibatch_base=int(batch), schedule__minibatch_dict={})
    rule = _BATCH_RULES.get(name)
    return rule(config, int(batch)) if rule is not None else config


def list_presets() -> dict[str, str]:
    """Preset names and their one-line descriptions."""
    return {name: description for name, (description, _) in _PRESETS.items()}


def get(name: str, ablation: str | None = None) -> Config:
    """Builds, optionally switches to a paper configuration A-F, and validates a preset."""
    if name not in _PRESETS:
        raise UserError(f"Unknown config preset. Received: config={name!r}; valid presets: {sorted(_PRESETS)}")
    config = _PRESETS[name][1]()
    if ablation is not None:
        config = with_ablation(config, ablation)
    return config.validate()


@register_preset("ffhq", "Official FFHQ 1024x1024: config F, logistic loss + R1 (gamma 10), mirror augment.")
def _ffhq() -> Config:
    return Config(name="ffhq")


@register_preset("celebahq", "Official CelebA-HQ 1024x1024: config F with WGAN-GP, as the paper trained it.")
def _celebahq() -> Config:
    return Config(name="celebahq", loss=LossConfig(g_loss="wgan", d_loss="wgan_gp"))


@register_preset("small", "CPU-sized 32x32 (fmap_max 64, 128-d latents): the demo that trains in about ten minutes.")
def _small() -> Config:
    network = NetworkConfig(resolution=32, fmap_base=1024, fmap_max=64, latent_size=128, dlatent_size=128,
                            mapping_fmaps=128)
    schedule = ScheduleConfig(
        lod_initial_resolution=8, lod_training_kimg=3.0, lod_transition_kimg=3.0, total_kimg=20.0,
        minibatch_base=16, minibatch_dict={},
        g_lrate_base=0.002, g_lrate_dict={}, d_lrate_base=0.002, d_lrate_dict={},
        tick_kimg_base=1.0, tick_kimg_dict={})
    return Config(name="small", network=network, schedule=schedule,
                  training=TrainingConfig(g_ema_kimg=1.0, snapshot_ticks=4))


@register_preset("tiny", "16x16 with a handful of feature maps: for tests and smoke runs only.")
def _tiny() -> Config:
    network = NetworkConfig(resolution=16, fmap_base=64, fmap_max=16, latent_size=16, dlatent_size=16,
                            mapping_layers=2, mapping_fmaps=16)
    schedule = ScheduleConfig(
        lod_initial_resolution=4, lod_training_kimg=0.064, lod_transition_kimg=0.064, total_kimg=0.384,
        minibatch_base=8, minibatch_dict={}, g_lrate_dict={}, d_lrate_dict={},
        tick_kimg_base=0.032, tick_kimg_dict={})
    return Config(name="tiny", network=network, schedule=schedule,
                  training=TrainingConfig(g_ema_kimg=0.1, snapshot_ticks=1))


# The other families' presets register themselves on import (kept last: they use register_preset).
from stylegan_tf.presets import stylegan2 as _stylegan2  # noqa: E402,F401
from stylegan_tf.presets import stylegan3 as _stylegan3  # noqa: E402,F401
