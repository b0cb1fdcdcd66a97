"""The StyleGAN3 generator G = synthesis(mapping(z)) (official `networks_stylegan3.Generator`).

    G = Generator(StyleGAN3Config(cfg="t", resolution=256))
    images = G(z)                                       # [N, 256, 256, 3], no truncation (psi 1)
    w = G.mapping(z); w = G.truncate(w, psi=0.7)        # the common `StyleGenerator` pieces
    G.set_input_transform(translate=(0.1, 0), angle=10) # move / rotate the output (official gen_images)
    images = G.synthesis(w)

The mapping network is the StyleGAN2-ADA one (2 layers, label embedding). The tracked
average w (`w_avg`, beta 0.998) and the layers' magnitude EMAs are updated together,
only when `update_emas` (official: the discriminator's pass over fakes); it defaults to
`training`. SG3 has no noise inputs: `noise_mode` is accepted and ignored.
"""

from __future__ import annotations

import keras
import numpy as np

from stylegan_tf.networks.generator_base import StyleGenerator
from stylegan_tf.networks.layers import register
from stylegan_tf.networks.stylegan3.config import StyleGAN3Config
from stylegan_tf.networks.stylegan3.synthesis import SynthesisNetwork, make_transform

NOISE_MODES = ("random", "const", "none")


@register
class StyleGAN3Generator(StyleGenerator):
    """The alias-free generator, configs T and R.

    Args:
        config: `StyleGAN3Config` or its dict. Defaults to FFHQ 1024, config T.
        seed: optional int seeding the generator's random draws (style mixing, if enabled).

    Call arguments:
        z: [N, latent_size].
        labels: [N, label_size] one-hot, for conditional networks.
        truncation_psi: float or scalar tensor; None = config default (1 = off). Ignored in training.
        truncation_cutoff: int; None = config default (None = all ws).
        noise_mode: "random", "const" or "none"; ignored (no noise in SG3).
        training: bool. No truncation; style mixing with probability `style_mixing_prob` (0).
        update_emas: bool or None (= training). Update `w_avg` and the magnitude EMAs.

    Returns:
        images [N, resolution, resolution, num_channels] float32.
    """

    family = "stylegan3"
    config_class = StyleGAN3Config
    synthesis_class = SynthesisNetwork

    # The input transform ------------------------------------------------------------------
    @property
    def input_transform(self):
        """The user inverse transform of the Fourier input [3, 3] (a variable; identity = none)."""
        return self.synthesis_network.input_layer.transform

    def set_input_transform(self, translate=(0.0, 0.0), angle=0.0, matrix=None):
        """Translates the output by `translate` (fractions of the image size, x then y) and rotates it
        by `angle` degrees, or sets the inverse transform `matrix` [3, 3] directly."""
        m = np.linalg.inv(make_transform(translate, angle)) if matrix is None else np.asarray(matrix, np.float64)
        if m.shape != (3, 3):
            raise ValueError(f"The input transform must be a 3x3 matrix. Received shape {m.shape}")
        self.input_transform.assign(m.astype(np.float32))

    def summary_layers(self):
        """(name, layer, output shape) per row of `train.py --dry-run` (`stylegan_tf.summary`)."""
        c, m, syn = self.config, self.mapping_network, self.synthesis_network
        rows = [("mapping/embed", m.embed, f"[N, {c.w_dim}]")] if m.embed is not None else []
        rows += [(f"mapping/{layer.name}", layer, f"[N, {layer.units}]") for layer in m.dense_layers]
        first = syn.input_layer
        rows.append(("synthesis/input", first, f"[N, {first.size}, {first.size}, {first.channels}]"))
        rows += [(f"synthesis/{layer.name}", layer, f"[N, {s.out_size}, {s.out_size}, {s.out_channels}]")
                 for layer, s in zip(syn.layers_, syn.specs)]
        return rows

    # The pieces -----------------------------------------------------------------------------
    def synthesis(self, w, noise_mode="const", noise=None, update_emas=False, **kwargs):
        """ws [N, num_ws, w_dim] to images; `noise_mode` checked and ignored (no noise inputs)."""
        if noise_mode not in NOISE_MODES:
            raise ValueError(f"noise_mode must be one of {NOISE_MODES}. Received: noise_mode={noise_mode!r}")
        if noise is not None:
            raise ValueError("StyleGAN3 has no noise inputs: pass noise=None")
        return self.synthesis_network(w, update_emas=update_emas)

    # Forward ---------------------------------------------------------------------------------
    def call(self, z, labels=None, truncation_psi=None, truncation_cutoff=None, noise_mode="const", noise=None,
             training=False, update_emas=None):
        update = bool(training) if update_emas is None else bool(update_emas)
        if training and not update:
            # Official G pass: same mapping and mixing, no EMA updates.
            w = self.mapping(z, labels)
            if self.config.style_mixing_prob > 0:
                z2 = keras.random.normal(keras.ops.shape(z), seed=self.synthesis_network.seed_generator)
                w = self.mix_at(w, self.mapping(z2, labels), self.draw_mixing_crossover())
        else:
            w = self.styles(z, labels, truncation_psi, truncation_cutoff, training=training)
        return self.synthesis(w, noise_mode=noise_mode, noise=noise, update_emas=update)


Generator = StyleGAN3Generator
