"""The StyleGAN2 generator G = g(f(z)) (paper sec. 2-4; TF `G_main`, ADA `Generator`).

    G = Generator(StyleGAN2Config())                 # FFHQ 1024, config F: 30,370,060 parameters
    images = G(z)                                    # inference: truncation psi 0.5 on all layers, random noise
    images = G(z, truncation_psi=1.0, noise_mode="const")
    w = G.mapping(z); w = G.truncate(w, psi=0.7)
    images = G.synthesis(w, noise_mode="none")

The mapping network is the shared `MappingNetwork` (ADA label embedding for conditional
networks); the synthesis network is `StyleGAN2SynthesisNetwork`. As the official network,
a plain inference call truncates with the configured psi (0.5) and cutoff (None = all
layers); training calls (`training=True`) never truncate, update `w_avg` (beta 0.995)
and mix styles with probability `style_mixing_prob` (0.9).
"""

from __future__ import annotations

from stylegan_tf.networks.generator_base import NoiseInputs, StyleGenerator
from stylegan_tf.networks.layers import register
from stylegan_tf.networks.stylegan2.config import StyleGAN2Config
from stylegan_tf.networks.stylegan2.synthesis import StyleGAN2SynthesisNetwork, check_resolution


@register
class StyleGAN2Generator(NoiseInputs, StyleGenerator):
    """The StyleGAN2 generator.

    Weights: `mapping/dense{i}/{kernel,bias}` (TF `G_mapping/Dense{i}`, ADA `mapping.fc{i}`),
    `mapping/embed/*` (conditional; ADA `mapping.embed`), `synthesis/b{res}/...` (see
    `StyleGAN2SynthesisBlock`), `w_avg` [w_dim] non-trainable (TF `dlatent_avg`, ADA
    `mapping.w_avg`).

    Args:
        config: `StyleGAN2Config` or its dict. Defaults to FFHQ 1024 config F.
        seed: optional int seeding the random noise and style-mixing draws.

    Call arguments:
        z: [N, latent_size].
        labels: [N, label_size] one-hot, for conditional networks.
        truncation_psi: float or scalar tensor; None = config default (0.5); 1 = off. Ignored in training.
        truncation_cutoff: int; None = config default (None: all layers).
        noise_mode, noise, resolution, full_size: as `StyleGAN2SynthesisNetwork`.
        training: bool. True: update `w_avg`, style mixing, no truncation, non-fused modconv ("auto").

    Returns:
        images [N, R, R, num_channels] float32.
    """

    family = "stylegan2"
    config_class = StyleGAN2Config
    synthesis_class = StyleGAN2SynthesisNetwork

    def summary_layers(self):
        """(name, layer, output shape) rows of the `--dry-run` table (`stylegan_tf.summary`)."""
        m = self.mapping_network
        rows = [(f"mapping/{layer.name}", layer, f"[N, {layer.units}]")
                for layer in ([m.embed] if m.embed is not None else []) + m.dense_layers]
        rows += [(f"synthesis/b{b.res}", b, f"[N, {b.res}, {b.res}, {b.channels}] (+ image)")
                 for b in self.synthesis_network.blocks]
        return rows

    def synthesis(self, w, resolution=None, noise_mode="random", noise=None, full_size=False, training=None):
        """w [N, num_ws, w_dim] to images; see `StyleGAN2SynthesisNetwork`."""
        return self.synthesis_network(w, resolution=resolution, noise_mode=noise_mode, noise=noise,
                                      full_size=full_size, training=training)

    def call(self, z, labels=None, truncation_psi=None, truncation_cutoff=None, noise_mode="random",
             noise=None, resolution=None, full_size=False, training=False):
        check_resolution(resolution, self.config)
        w = self.styles(z, labels, truncation_psi, truncation_cutoff, resolution, training)
        return self.synthesis(w, resolution=resolution, noise_mode=noise_mode, noise=noise, full_size=full_size,
                              training=training)


Generator = StyleGAN2Generator
