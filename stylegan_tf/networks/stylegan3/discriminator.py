"""The StyleGAN3 discriminator: the StyleGAN2 residual D, unchanged (official SG3 `train.py` uses
`training.networks_stylegan2.Discriminator`), with the channels, fp16 resolutions, clamp and
minibatch stddev of the StyleGAN3 config (`StyleGAN3Config.discriminator_config`). Config R's
blur of the discriminator's inputs belongs to the loss, not to D.
"""

from __future__ import annotations

from stylegan_tf.networks.stylegan3.config import StyleGAN3Config


def build_discriminator(config, **kwargs):
    """A StyleGAN2 `Discriminator` for a `StyleGAN3Config` (or its dict); it stores its own StyleGAN2Config."""
    from stylegan_tf.networks.stylegan2.discriminator import Discriminator
    return Discriminator(StyleGAN3Config.coerce(config).discriminator_config(), **kwargs)
