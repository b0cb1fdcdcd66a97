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
from keras import ops

from stylegan_tf.config import NetworkConfig
from stylegan_tf.layers import build_dims, lerp, register
from stylegan_tf.mapping import MappingNetwork
from stylegan_tf.synthesis import SynthesisNetwork, resolution_log2


def active_layers(resolution: int) -> int:
    """Synthesis layers in use at a resolution: num_layers - 2 * floor(lod) in official terms."""
    return 2 * int(round(np.log2(resolution))) - 2


@register
class Generator(keras.Model):
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
    def num_layers(self) -> int:
        return self.config.num_layers

    @property
    def lod(self):
        """The level-of-detail variable of the synthesis network (0 = full resolution)."""
        return self.synthesis_network.lod

    def noise_size(self, resolution=None) -> int:
        """Length of a flat noise vector for `synthesis(w, noise=...)` (see `SynthesisNetwork`)."""
        return self.synthesis_network.noise_size(resolution)

    def const_noise(self, resolution=None):
        """The fixed noise maps as one flat [1, noise_size] tensor."""
        return self.synthesis_network.const_noise(resolution)

    # The pieces ------------------------------------------------------------------------
    def mapping(self, z, labels=None):
        """z (and labels) to w [N, num_layers, w_dim], float32."""
        return self.mapping_network(z, labels)

    def synthesis(self, w, resolution=None, noise_mode="random", noise=None, full_size=False):
        """w [N, num_layers, w_dim] to images; see `SynthesisNetwork`."""
        return self.synthesis_network(w, resolution=resolution, noise_mode=noise_mode, noise=noise,
                                      full_size=full_size)

    def truncate(self, w, psi=None, cutoff=None):
        """Truncation trick: w' = w_avg + psi * (w - w_avg) on layers < cutoff, others unchanged.

        psi may be a Python float or a scalar tensor; psi = 1 returns w unchanged.
        """
        psi = self.config.truncation_psi if psi is None else psi
        cutoff = self.config.truncation_cutoff if cutoff is None else int(cutoff)
        if isinstance(psi, (int, float)) and psi == 1.0:
            return w
        mask = (np.arange(self.num_layers) < cutoff)[None, :, None]
        w = ops.cast(w, "float32")
        truncated = lerp(ops.cast(self.w_avg, "float32"), w, ops.cast(psi, "float32"))
        return ops.where(mask, truncated, w)

    def mix_styles(self, w, w_other, layers):
        """w with the styles of `layers` (indices, a range, or a boolean mask over layers) taken from w_other.

        For figures (paper Figure 3): coarse = range(0, 4), middle = range(4, 8), fine = range(8, num_layers).
        """
        mask = np.zeros(self.num_layers, dtype=bool)
        index = np.asarray(list(layers) if not isinstance(layers, np.ndarray) else layers)
        if index.dtype == bool:
            if index.shape != (self.num_layers,):
                raise ValueError(f"A layer mask must have {self.num_layers} entries. Received: {index.shape}")
            mask = index
        elif index.size:
            if index.min() < 0 or index.max() >= self.num_layers:
                raise ValueError(f"Layer indices must be in [0, {self.num_layers}). Received: {index.tolist()}")
            mask[index] = True
        return ops.where(mask[None, :, None], w_other, w)

    def mix_at(self, w, w_other, crossover):
        """Official mixing regularisation: layers >= crossover take w_other (crossover: scalar or [N] tensor)."""
        crossover = ops.reshape(ops.cast(crossover, "int32"), [-1, 1, 1])
        layer_index = ops.reshape(ops.arange(self.num_layers, dtype="int32"), [1, -1, 1])
        return ops.where(layer_index < crossover, w, w_other)

    def update_w_avg(self, w, beta=None):
        """w_avg <- lerp(mean over the batch of w[:, 0], w_avg, beta) (official dlatent_avg tracking)."""
        beta = self.config.w_avg_beta if beta is None else beta
        batch_avg = ops.mean(ops.cast(w[:, 0], "float32"), axis=0)
        self.w_avg.assign(lerp(batch_avg, self.w_avg, beta))

    def draw_mixing_crossover(self, resolution=None):
        """One crossover index for the minibatch (official): with probability style_mixing_prob
        uniform in [1, active_layers), else active_layers (no mixing)."""
        cur_layers = active_layers(resolution or self.config.resolution)
        seed = self.synthesis_network.seed_generator
        u = keras.random.uniform((), seed=seed)
        k = keras.random.randint((), 1, max(cur_layers, 2), seed=seed)
        return ops.where(u < self.config.style_mixing_prob, k, cur_layers)

    # Forward ---------------------------------------------------------------------------
    def call(self, z, labels=None, truncation_psi=None, truncation_cutoff=None, noise_mode="random",
             noise=None, resolution=None, full_size=False, training=False):
        if resolution is not None:
            resolution_log2(resolution, self.config)
        w = self.mapping(z, labels)
        if training:
            if self.config.w_avg_beta < 1.0:
                self.update_w_avg(w)
            if self.config.style_mixing_prob > 0:
                z2 = keras.random.normal(ops.shape(z), seed=self.synthesis_network.seed_generator)
                w = self.mix_at(w, self.mapping(z2, labels), self.draw_mixing_crossover(resolution))
        else:
            w = self.truncate(w, truncation_psi, truncation_cutoff)
        return self.synthesis(w, resolution=resolution, noise_mode=noise_mode, noise=noise, full_size=full_size)

    def get_config(self):
        base = keras.layers.Layer.get_config(self)
        return {**base, "config": self.config.to_dict(), "seed": self.seed}

    @classmethod
    def from_config(cls, config):
        return cls(**config)
