"""What every style-based generator shares: w_avg, truncation, style mixing (all families).

The families' generators (`stylegan1.Generator`, `stylegan2.Generator`, ...) subclass
`StyleGenerator` and provide `mapping_network`, `synthesis_network` and `synthesis()`;
this class gives them one interface, which training, generation, figures, metrics,
export and the official-weight importers rely on:

    w = G.mapping(z, labels)                         # [N, num_ws, w_dim], float32
    w = G.truncate(w, psi, cutoff)                   # truncation trick (v1 paper sec. 3, appendix B)
    w = G.mix_styles(w, w_other, layers)             # figures: layers taken from w_other
    w = G.mix_at(w, w_other, crossover)              # training: layers >= crossover from w_other
    images = G.synthesis(w, noise_mode=..., noise=...)
    images = G(z, labels, truncation_psi=..., noise_mode=...)

Subclasses set `family` (the registry key of `stylegan_tf.families`), `config_class` (the
family's network config) and `synthesis_class` (its synthesis network); construction, building,
`w_avg` and `get_config` (what `.keras` files store) are shared. Families with per-pixel noise
inputs add `NoiseInputs` (the flat-noise delegates to the synthesis network).
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from stylegan_tf.networks.layers import build_dims, lerp
from stylegan_tf.networks.mapping import MappingNetwork


class StyleGenerator(keras.Model):
    """Base class: the mapping -> (truncation | mixing) -> synthesis forward and its pieces.

    Args:
        config: the family's network config (`config_class`) or its dict; None = its defaults.
        seed: optional int seeding the generator's random draws (noise, style mixing).

    Holds `self.config` (with `num_layers`, `w_dim`, `truncation_psi`, `truncation_cutoff`,
    `w_avg_beta`, `style_mixing_prob`, `resolution`), `self.mapping_network` (the shared
    `MappingNetwork`), `self.synthesis_network` (a `synthesis_class`, holding a
    `seed_generator`) and a non-trainable `self.w_avg` [w_dim].
    """

    family = None
    config_class = None
    synthesis_class = None

    def __init__(self, config=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.config = self.config_class.coerce(config if config is not None else self.config_class())
        self.seed = seed
        self.mapping_network = MappingNetwork(self.config, name="mapping")
        self.synthesis_network = self.synthesis_class(self.config, seed=seed, name="synthesis",
                                                      dtype=self.dtype_policy)
        self.build((None, self.config.latent_size))

    def build(self, input_shape=None):
        if getattr(self, "w_avg", None) is not None:
            return
        build_dims(self.mapping_network, None)
        build_dims(self.synthesis_network, None)
        self.w_avg = self.add_weight(name="w_avg", shape=(self.config.w_dim,), initializer="zeros",
                                     trainable=False)

    def get_config(self):
        base = keras.layers.Layer.get_config(self)
        return {**base, "config": self.config.to_dict(), "seed": self.seed}

    # Properties ---------------------------------------------------------------------
    @property
    def num_layers(self) -> int:
        """Number of style inputs (official num_ws)."""
        return self.config.num_layers

    @property
    def num_ws(self) -> int:
        return self.config.num_layers

    # The pieces ------------------------------------------------------------------------
    def mapping(self, z, labels=None):
        """z (and labels) to w [N, num_layers, w_dim], float32."""
        return self.mapping_network(z, labels)

    def truncate(self, w, psi=None, cutoff=None):
        """Truncation trick: w' = w_avg + psi * (w - w_avg) on layers < cutoff, others unchanged.

        psi may be a Python float or a scalar tensor; psi = 1 returns w unchanged; cutoff
        None (where the config's is None too) truncates every layer.
        """
        psi = self.config.truncation_psi if psi is None else psi
        cutoff = self.config.truncation_cutoff if cutoff is None else int(cutoff)
        cutoff = self.num_layers if cutoff is None else cutoff
        if isinstance(psi, (int, float)) and psi == 1.0:
            return w
        mask = (np.arange(self.num_layers) < cutoff)[None, :, None]
        w = ops.cast(w, "float32")
        truncated = lerp(ops.cast(self.w_avg, "float32"), w, ops.cast(psi, "float32"))
        return ops.where(mask, truncated, w)

    def mix_styles(self, w, w_other, layers):
        """w with the styles of `layers` (indices, a range, or a boolean mask over layers) taken from w_other.

        For figures (v1 paper Figure 3): coarse = range(0, 4), middle = range(4, 8), fine = the rest.
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

    def active_layers(self, resolution=None) -> int:
        """Style inputs in use at a resolution (all of them for families without growing)."""
        return self.num_layers

    def draw_mixing_crossover(self, resolution=None):
        """One crossover index for the minibatch (official): with probability style_mixing_prob
        uniform in [1, active_layers), else active_layers (no mixing)."""
        cur_layers = self.active_layers(resolution)
        seed = self.synthesis_network.seed_generator
        u = keras.random.uniform((), seed=seed)
        k = keras.random.randint((), 1, max(cur_layers, 2), seed=seed)
        return ops.where(u < self.config.style_mixing_prob, k, cur_layers)

    def styles(self, z, labels=None, truncation_psi=None, truncation_cutoff=None, resolution=None,
               training=False):
        """The w a forward call synthesises from: truncated in inference; in training, `w_avg`
        updated and styles mixed with probability `style_mixing_prob` (official training graph)."""
        w = self.mapping(z, labels)
        if training:
            if self.config.w_avg_beta < 1.0:
                self.update_w_avg(w)
            if self.config.style_mixing_prob > 0:
                z2 = keras.random.normal(ops.shape(z), seed=self.synthesis_network.seed_generator)
                w = self.mix_at(w, self.mapping(z2, labels), self.draw_mixing_crossover(resolution))
            return w
        return self.truncate(w, truncation_psi, truncation_cutoff)

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class NoiseInputs:
    """The noise delegates of a generator with per-pixel noise inputs (v1, StyleGAN2)."""

    def noise_size(self, resolution=None) -> int:
        """Length of a flat noise vector for `synthesis(w, noise=...)`."""
        return self.synthesis_network.noise_size(resolution)

    def const_noise(self, resolution=None):
        """The fixed noise maps as one flat [1, noise_size] tensor."""
        return self.synthesis_network.const_noise(resolution)

    def noise_shapes(self, resolution=None):
        """[(h, w)] of each noise input at `resolution` (default: the full one)."""
        return self.synthesis_network.noise_shapes(resolution)
