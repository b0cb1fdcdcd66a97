"""The style-based generator G = g(f(z)) (paper sec. 2-3; official `G_style`).

Holds the mapping and synthesis networks, the tracked average w (`w_avg`, for the
truncation trick, sec. 3 and appendix B), and style mixing (sec. 3.1). Usage:

    G = Generator(presets.get("small").network)
    images = G(z)                                   # inference: truncation psi 0.7, cutoff 8, random noise
    images = G(z, truncation_psi=1.0, noise_mode="const")   # no truncation, deterministic
    w = G.mapping(z); w = G.truncate(w, psi=0.5)     # the pieces, for figures and tools
    w = G.mix_styles(w_a, w_b, layers=range(0, 4))   # coarse styles of b into a
    images = G.synthesis(w, resolution=16)           # progressive growing: 16x16 with the lod fade

Like the official network, a plain inference call truncates with the configured
psi (0.7) and cutoff (8); training calls (`training=True`) never truncate, update
`w_avg` and apply style-mixing regularisation.
"""

from __future__ import annotations

import keras
import numpy as np

from stylegan_tf.config import NetworkConfig
from stylegan_tf.networks.generator_base import StyleGenerator
from stylegan_tf.networks.layers import build_dims, register
from stylegan_tf.networks.mapping import MappingNetwork
from stylegan_tf.networks.stylegan1.synthesis import SynthesisNetwork, resolution_log2


def active_layers(resolution: int) -> int:
    """Synthesis layers in use at a resolution: num_layers - 2 * floor(lod) in official terms."""
    return 2 * int(round(np.log2(resolution))) - 2


@register
class Generator(StyleGenerator):
    """The StyleGAN generator.

    Args:
        config: `NetworkConfig` or its dict. Defaults to the official FFHQ 1024 config F.
        seed: optional int seeding the random noise and style-mixing draws.

    Call arguments:
        z: [N, latent_size].
        labels: [N, label_size] one-hot, for conditional networks.
        truncation_psi: float or scalar tensor; None = config default (0.7); 1 = off.
            Ignored in training.
        truncation_cutoff: int; None = config default (8).
        noise_mode, noise, resolution, full_size: as `SynthesisNetwork`.
        training: bool. True: update `w_avg`, mix styles with probability
            `style_mixing_prob`, no truncation (official training graph).

    Returns:
        images [N, H, W, num_channels].
    """

    family = "stylegan1"

    def __init__(self, config=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.config = NetworkConfig.coerce(config if config is not None else NetworkConfig())
        self.seed = seed
        self.mapping_network = MappingNetwork(self.config, name="mapping")
        self.synthesis_network = SynthesisNetwork(self.config, seed=seed, name="synthesis",
                                                  dtype=self.dtype_policy)
        self.build((None, self.config.latent_size))

    def build(self, input_shape=None):
        if getattr(self, "w_avg", None) is not None:
            return
        build_dims(self.mapping_network, None)
        build_dims(self.synthesis_network, None)
        self.w_avg = self.add_weight(name="w_avg", shape=(self.config.w_dim,), initializer="zeros",
                                     trainable=False)

    # Properties ---------------------------------------------------------------------
    @property
    def lod(self):
        """The level-of-detail variable of the synthesis network (0 = full resolution)."""
        return self.synthesis_network.lod

    def active_layers(self, resolution=None) -> int:
        return active_layers(resolution or self.config.resolution)

    def noise_size(self, resolution=None) -> int:
        """Length of a flat noise vector for `synthesis(w, noise=...)` (see `SynthesisNetwork`)."""
        return self.synthesis_network.noise_size(resolution)

    def const_noise(self, resolution=None):
        """The fixed noise maps as one flat [1, noise_size] tensor."""
        return self.synthesis_network.const_noise(resolution)

    def synthesis(self, w, resolution=None, noise_mode="random", noise=None, full_size=False):
        """w [N, num_layers, w_dim] to images; see `SynthesisNetwork`."""
        return self.synthesis_network(w, resolution=resolution, noise_mode=noise_mode, noise=noise,
                                      full_size=full_size)

    # Forward ---------------------------------------------------------------------------
    def call(self, z, labels=None, truncation_psi=None, truncation_cutoff=None, noise_mode="random",
             noise=None, resolution=None, full_size=False, training=False):
        if resolution is not None:
            resolution_log2(resolution, self.config)
        w = self.styles(z, labels, truncation_psi, truncation_cutoff, resolution, training)
        return self.synthesis(w, resolution=resolution, noise_mode=noise_mode, noise=noise, full_size=full_size)

    def get_config(self):
        base = keras.layers.Layer.get_config(self)
        return {**base, "config": self.config.to_dict(), "seed": self.seed}

