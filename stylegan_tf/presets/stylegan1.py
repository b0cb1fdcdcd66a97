"""StyleGAN (v1) presets: the official FFHQ and CelebA-HQ runs, and CPU-sized demo and test presets.

Adam in the TF form (`optimizer.epsilon_form="tf"`), as the official TF code.
"""

from __future__ import annotations

from stylegan_tf.config import Config, LossConfig, NetworkConfig, ScheduleConfig, TrainingConfig
from stylegan_tf.presets.registry import register_preset


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
