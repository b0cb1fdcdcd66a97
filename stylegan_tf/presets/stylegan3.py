"""StyleGAN3 presets (official `train.py` settings; the paper's FFHQ 1024 runs, docs/configs.md).

Both configs: batch 32, G lr 0.0025, D lr 0.002, R1 gamma 32.8 every 16 minibatches,
no path-length regularisation, no style mixing, no G lazy regularisation, G EMA
batch * 10 / 32 kimg with ramp-up 0.05, magnitude EMA beta 0.5 ** (batch / 20000), ADA
(target 0.6, 'bgc'), x-flips. R blurs the discriminator's images (sigma 10, faded over
batch * 200 / 32 kimg): that is the training model's job, from the preset's family config.
"""

from __future__ import annotations

import dataclasses

from stylegan_tf.config import AugmentConfig, Config, LossConfig, ScheduleConfig, TrainingConfig
from stylegan_tf.networks.stylegan3.config import StyleGAN3Config
from stylegan_tf.presets import register_preset


def _config(name: str, network: StyleGAN3Config, batch: int = 32, gamma: float = 32.8, total_kimg: float = 25000.0,
            tick_kimg: float = 4.0, snapshot_ticks: int = 50, augment: str = "ada") -> Config:
    network = dataclasses.replace(network, magnitude_ema_beta=0.5 ** (batch / 20000))
    res = network.resolution
    schedule = ScheduleConfig(
        progressive=False, lod_initial_resolution=res, total_kimg=total_kimg, minibatch_base=batch,
        minibatch_dict={}, g_lrate_base=0.0025, g_lrate_dict={}, d_lrate_base=0.002, d_lrate_dict={},
        tick_kimg_base=tick_kimg, tick_kimg_dict={})
    loss = LossConfig(r1_gamma=gamma, r1_interval=16, pl_weight=0.0)
    training = TrainingConfig(g_ema_kimg=batch * 10 / 32, g_ema_rampup=0.05, snapshot_ticks=snapshot_ticks)
    return Config(name=name, network=network, schedule=schedule, loss=loss, training=training,
                  augment=AugmentConfig(mode=augment))


@register_preset("stylegan3-t", "StyleGAN3-T FFHQ 1024 (official): translation-equivariant, 22.3M G params, gamma 32.8.")
def _stylegan3_t() -> Config:
    return _config("stylegan3-t", StyleGAN3Config(cfg="t"))


@register_preset("stylegan3-r", "StyleGAN3-R FFHQ 1024 (official): rotation-equivariant (1x1 convs, radial filters), "
                                "15.1M G params, gamma 32.8, D blur.")
def _stylegan3_r() -> Config:
    return _config("stylegan3-r", StyleGAN3Config(cfg="r"))


@register_preset("stylegan3-tiny", "StyleGAN3-T at 16x16 with a handful of feature maps: for tests and smoke runs only.")
def _stylegan3_tiny() -> Config:
    network = StyleGAN3Config(cfg="t", resolution=16, channel_base=256, channel_max=16, latent_size=16, w_dim=16,
                              mapping_fmaps=16)
    # gamma by the official docs' rule 0.0002 * res^2 / batch.
    return _config("stylegan3-tiny", network, batch=4, gamma=0.0002 * 16**2 / 4, total_kimg=0.064,
                   tick_kimg=0.016, snapshot_ticks=1, augment="noaug")
