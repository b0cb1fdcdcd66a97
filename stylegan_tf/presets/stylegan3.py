"""StyleGAN3 presets (official `train.py` settings; the paper's FFHQ 1024 runs, docs/configs.md).

Both configs: batch 32, G lr 0.0025, D lr 0.002, R1 gamma 32.8 every 16 minibatches,
no path-length regularisation, no style mixing, no G lazy regularisation, G EMA
batch * 10 / 32 kimg with ramp-up 0.05, magnitude EMA beta 0.5 ** (batch / 20000), ADA
(target 0.6, 'bgc'), x-flips. R blurs the discriminator's images (sigma 10, faded over
batch * 200 / 32 kimg; `loss.blur_init_sigma`, `loss.blur_fade_kimg`, applied by
`training/stylegan3_loss.py`). Adam's epsilon in the torch form, as the official PyTorch code.
"""

from __future__ import annotations

from stylegan_tf.config import AugmentConfig, Config, OptimizerConfig, ScheduleConfig, TrainingConfig
from stylegan_tf.networks.stylegan3.config import StyleGAN3Config, StyleGAN3LossConfig
from stylegan_tf.presets.registry import register_batch_rule, register_preset


def batch_settings(config: Config, batch: int) -> Config:
    """The settings official `train.py` derives from the minibatch: G EMA half-life batch * 10 / 32
    kimg, magnitude EMA beta 0.5 ** (batch / 20000), D-blur fade batch * 200 / 32 kimg (when on)."""
    blur = {"loss__blur_fade_kimg": batch * 200 / 32} if config.loss.blur_init_sigma > 0 else {}
    return config.replace(schedule__minibatch_base=batch, training__g_ema_kimg=batch * 10 / 32,
                          network__magnitude_ema_beta=0.5 ** (batch / 20000), **blur)


def _config(name: str, network: StyleGAN3Config, batch: int = 32, gamma: float = 32.8, total_kimg: float = 25000.0,
            tick_kimg: float = 4.0, snapshot_ticks: int = 50, augment: str = "ada") -> Config:
    blur = dict(blur_init_sigma=10.0) if network.cfg == "r" else {}
    res = network.resolution
    schedule = ScheduleConfig(
        progressive=False, lod_initial_resolution=res, total_kimg=total_kimg, minibatch_base=batch,
        minibatch_dict={}, g_lrate_base=0.0025, g_lrate_dict={}, d_lrate_base=0.002, d_lrate_dict={},
        tick_kimg_base=tick_kimg, tick_kimg_dict={})
    loss = StyleGAN3LossConfig(r1_gamma=gamma, r1_interval=16, pl_weight=0.0, **blur)
    training = TrainingConfig(g_ema_rampup=0.05, snapshot_ticks=snapshot_ticks)
    return batch_settings(Config(name=name, network=network, schedule=schedule, loss=loss, training=training,
                                 augment=AugmentConfig(mode=augment), optimizer=OptimizerConfig(epsilon_form="torch")),
                          batch)


@register_preset("stylegan3-t", "StyleGAN3-T FFHQ 1024 (official): translation-equivariant, 22.3M G params, gamma 32.8.")
def _stylegan3_t() -> Config:
    return _config("stylegan3-t", StyleGAN3Config(cfg="t"))


@register_preset("stylegan3-r", "StyleGAN3-R FFHQ 1024 (official): rotation-equivariant (1x1 convs, radial filters), "
                                "15.1M G params, gamma 32.8, D blur.")
def _stylegan3_r() -> Config:
    return _config("stylegan3-r", StyleGAN3Config(cfg="r"))


@register_preset("stylegan3-small", "StyleGAN3-T CPU demo: 32x32, 64 feature maps, 64-d latents, the D of "
                                    "stylegan2-small; 5 kimg, about 30 minutes on 2 cores.")
def _stylegan3_small() -> Config:
    network = StyleGAN3Config(cfg="t", resolution=32, channel_base=2048, channel_max=64, latent_size=64, w_dim=64,
                              mapping_fmaps=64)
    # gamma by the official docs' rule 0.0002 * res^2 / batch; ADA as the official configs.
    return _config("stylegan3-small", network, batch=16, gamma=0.0002 * 32**2 / 16, total_kimg=5.0, tick_kimg=0.5,
                   snapshot_ticks=5)


@register_preset("stylegan3-tiny", "StyleGAN3-T at 16x16 with a handful of feature maps: for tests and smoke runs only.")
def _stylegan3_tiny() -> Config:
    network = StyleGAN3Config(cfg="t", resolution=16, channel_base=256, channel_max=16, latent_size=16, w_dim=16,
                              mapping_fmaps=16)
    # gamma by the official docs' rule 0.0002 * res^2 / batch.
    return _config("stylegan3-tiny", network, batch=4, gamma=0.0002 * 16**2 / 4, total_kimg=0.064,
                   tick_kimg=0.016, snapshot_ticks=1, augment="noaug")


for _name in ("stylegan3-t", "stylegan3-r", "stylegan3-small", "stylegan3-tiny"):
    register_batch_rule(_name)(batch_settings)
