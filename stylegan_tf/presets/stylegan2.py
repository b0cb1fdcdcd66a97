"""StyleGAN2 / StyleGAN2-ADA presets (official config F; the ADA paper's `cfg_specs`).

    stylegan2-ffhq   TF StyleGAN2 config F at 1024 (`run_training.py`): gamma 10, batch 32, lr 0.002,
                     25,000 kimg, 8 mapping layers, EMA half-life 10 kimg, mirrored reals.
    paper256/512/1024  StyleGAN2-ADA `train.py --cfg paper256|paper512|paper1024`.
    auto             ADA `--cfg auto`: channels, batch, gamma and EMA from the resolution, which is the
                     dataset's: `train.py --config auto --data DIR` resolves it (`at_resolution`).
    stylegan2-small  CPU demo, 32x32.   stylegan2-tiny  tests and smoke runs, 16x16.

Every preset trains at the full resolution (no growing), with the non-saturating logistic
loss, lazy R1 every 16 and path-length regularisation every 4 minibatches. Adam's epsilon
is in the form of the code each reproduces: TF for stylegan2-ffhq, torch for the ADA presets
and the CPU demo and test presets (which follow ADA's `auto` settings). The ADA presets
keep conv_clamp 256 as ADA does (all of its cfgs, unless --fp32). ADA's 'auto' heuristic
depends on the GPU count; here it is taken for one device ("gpus" = 1): --batch overrides.
Augmentation (ADA's default 'ada', target 0.6) is not switched on here: see `AugmentConfig`.
"""

from __future__ import annotations

from stylegan_tf.config import Config, OptimizerConfig, ScheduleConfig, TrainingConfig
from stylegan_tf.networks.stylegan2.config import StyleGAN2Config, StyleGAN2LossConfig
from stylegan_tf.presets.registry import register_preset, register_resolution_rule

# ADA `cfg_specs` (train.py), 8 GPUs: minibatch, mbstd group, channel multiplier of 32768,
# learning rate, R1 gamma, EMA half-life (kimg), EMA ramp-up, mapping layers.
ADA_SPECS = {
    "paper256":  dict(resolution=256, mb=64, mbstd=8, fmaps=0.5, lrate=0.0025, gamma=1.0, ema=20.0, ramp=None, map=8),
    "paper512":  dict(resolution=512, mb=64, mbstd=8, fmaps=1.0, lrate=0.0025, gamma=0.5, ema=20.0, ramp=None, map=8),
    "paper1024": dict(resolution=1024, mb=32, mbstd=4, fmaps=1.0, lrate=0.002, gamma=2.0, ema=10.0, ramp=None,
                      map=8),
}


def stylegan2_config(name: str, resolution: int, *, batch: int, lrate: float, gamma: float, ema_kimg: float,
                     ema_rampup: float | None = None, total_kimg: float = 25000.0, tick_kimg: float = 4.0,
                     snapshot_ticks: int = 50, mirror: bool = False, r1_interval: int = 16, pl_interval: int = 4,
                     adam: str = "torch", **network) -> Config:
    """A StyleGAN2 experiment: full resolution, logistic loss, lazy R1 and path length (weight 2); Adam's
    epsilon in the `adam` form ("tf" for the TF StyleGAN2 presets, "torch" for the ADA ones)."""
    schedule = ScheduleConfig(progressive=False, lod_initial_resolution=4, total_kimg=total_kimg,
                              minibatch_base=batch, minibatch_dict={}, g_lrate_base=lrate, g_lrate_dict={},
                              d_lrate_base=lrate, d_lrate_dict={}, tick_kimg_base=tick_kimg, tick_kimg_dict={},
                              reset_opt_for_new_lod=False)
    loss = StyleGAN2LossConfig(r1_gamma=gamma, r1_interval=r1_interval, pl_weight=2.0, pl_interval=pl_interval,
                               pl_decay=0.01, pl_batch_shrink=2)
    training = TrainingConfig(mirror_augment=mirror, g_ema_kimg=ema_kimg, g_ema_rampup=ema_rampup,
                              snapshot_ticks=snapshot_ticks)
    return Config(name=name, network=StyleGAN2Config(resolution=resolution, **network), schedule=schedule,
                  loss=loss, training=training, optimizer=OptimizerConfig(epsilon_form=adam))


def ada_spec_config(name: str, resolution: int, mb: int, mbstd: int, fmaps: float, lrate: float, gamma: float,
                    ema: float, ramp: float | None, map: int) -> Config:
    """One ADA `cfg_specs` row as a Config (conv_clamp 256, as every ADA cfg)."""
    return stylegan2_config(name, resolution, batch=mb, lrate=lrate, gamma=gamma, ema_kimg=ema, ema_rampup=ramp,
                            mbstd_group_size=mbstd, channel_base=int(fmaps * 32768), mapping_layers=map,
                            conv_clamp=256.0)


def auto_spec(resolution: int, gpus: int = 1) -> dict:
    """ADA's `--cfg auto` heuristics for a resolution and GPU (replica) count."""
    mb = max(min(gpus * min(4096 // resolution, 32), 64), gpus)
    return dict(resolution=resolution, mb=mb, mbstd=min(mb // gpus, 4), fmaps=1.0 if resolution >= 512 else 0.5,
                lrate=0.002 if resolution >= 1024 else 0.0025, gamma=0.0002 * resolution**2 / mb,
                ema=mb * 10 / 32, ramp=0.05, map=2)


def auto_config(resolution: int = 256, gpus: int = 1) -> Config:
    return ada_spec_config("auto", **auto_spec(resolution, gpus))


# 'auto' depends on the dataset's resolution: train.py rebuilds it from it.
register_resolution_rule("auto")(auto_config)


@register_preset("stylegan2-ffhq", "StyleGAN2 config F, FFHQ 1024: gamma 10, batch 32, lr 0.002, lazy R1 + path "
                                   "length, EMA 10 kimg, 25000 kimg.")
def _stylegan2_ffhq() -> Config:
    return stylegan2_config("stylegan2-ffhq", 1024, batch=32, lrate=0.002, gamma=10.0, ema_kimg=10.0, mirror=True,
                            adam="tf")


for _name, _spec in ADA_SPECS.items():
    register_preset(_name, f"StyleGAN2-ADA --cfg {_name}: {_spec['resolution']}x{_spec['resolution']}, batch "
                           f"{_spec['mb']}, gamma {_spec['gamma']}, lr {_spec['lrate']}, EMA {_spec['ema']:g} kimg.")(
        lambda _name=_name, _spec=_spec: ada_spec_config(_name, **_spec))


@register_preset("auto", "StyleGAN2-ADA --cfg auto: channels, batch, gamma = 0.0002 res^2 / batch, EMA from the "
                         "dataset's resolution (256 without one); 2 mapping layers, EMA ramp-up 0.05.")
def _auto() -> Config:
    return auto_config(256)


@register_preset("stylegan2-small", "StyleGAN2 CPU demo: 32x32, 64 feature maps, 2 mapping layers; a few minutes "
                                    "on 2 cores.")
def _stylegan2_small() -> Config:
    return stylegan2_config("stylegan2-small", 32, batch=16, lrate=0.0025, gamma=0.05, ema_kimg=1.0, ema_rampup=0.05,
                            total_kimg=10.0, tick_kimg=1.0, snapshot_ticks=5, mirror=True, channel_base=2048,
                            channel_max=64, latent_size=64, w_dim=64, mapping_layers=2, mapping_fmaps=64)


@register_preset("stylegan2-tiny", "StyleGAN2 16x16 with a handful of feature maps, R1 every 4 and path length "
                                   "every 2 steps: for tests and smoke runs only.")
def _stylegan2_tiny() -> Config:
    return stylegan2_config("stylegan2-tiny", 16, batch=8, lrate=0.002, gamma=1.0, ema_kimg=0.1, total_kimg=0.384,
                            tick_kimg=0.032, snapshot_ticks=1, mirror=True, r1_interval=4, pl_interval=2,
                            channel_base=128, channel_max=16, latent_size=16, w_dim=16, mapping_layers=2,
                            mapping_fmaps=16)
