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

import numpy as np

from stylegan_tf.config import NetworkConfig
from stylegan_tf.networks.generator_base import NoiseInputs, StyleGenerator
from stylegan_tf.networks.layers import register
from stylegan_tf.networks.stylegan1.synthesis import SynthesisNetwork, resolution_log2


def active_layers(resolution: int) -> int:
    """Synthesis layers in use at a resolution: num_layers - 2 * floor(lod) in official terms."""
    return 2 * int(round(np.log2(resolution))) - 2


@register
class Generator(NoiseInputs, StyleGenerator):
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
    config_class = NetworkConfig
    synthesis_class = SynthesisNetwork

    # Properties ---------------------------------------------------------------------
    @property
    def lod(self):
        """The level-of-detail variable of the synthesis network (0 = full resolution)."""
        return self.synthesis_network.lod

    def summary_layers(self):
        """(name, layer, output shape) rows of the `--dry-run` table (`stylegan_tf.summary`)."""
        c, m, syn = self.config, self.mapping_network, self.synthesis_network
        rows = [(f"mapping/{layer.name}", layer, f"[N, {layer.units}]") for layer in m.dense_layers]
        rows.append(("synthesis/4x4", syn.input_block, f"[N, 4, 4, {c.nf(1)}]"))
        rows += [(f"synthesis/{2**b.res_log2}x{2**b.res_log2}", b,
                  f"[N, {2**b.res_log2}, {2**b.res_log2}, {b.channels}]") for b in syn.blocks]
        rows += [(f"synthesis/to_rgb_{2**r}", layer, f"[N, {2**r}, {2**r}, {c.num_channels}]")
                 for r, layer in zip(range(2, c.resolution_log2 + 1), syn.to_rgb)]
        return rows

    def active_layers(self, resolution=None) -> int:
        return active_layers(resolution or self.config.resolution)

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

