"""Loading weights stored under the official StyleGAN variable names into our networks.

The official networks (NVlabs/stylegan, TensorFlow 1, NCHW) store raw variables:
the equalized-lr scale is applied at run time, exactly as our layers do, so values
carry over unscaled. What changes is layout:

- the 4x4 constant [1, C, 4, 4] and the fixed noise inputs [1, 1, H, W] are NCHW;
  ours are NHWC;
- the dense layer that feeds the 4x4 input in configurations A-C writes an NCHW
  4x4 map, and D's first dense layer reads an NCHW-flattened 4x4 map (channel-major);
  ours use NHWC order, so those columns / rows are permuted;
- StyleMod weights [w_dim, 2C] keep their layout (first C outputs = y_s, used as 1 + y_s);
- conv kernels are HWIO in both. Where our choice of fused resampling differs from the
  one the weights were trained with, the kernel is flipped spatially (fused(w) equals
  plain(flip(w)) for the generator's upsampling; the discriminator's two forms are equal).

Names (for resolution R = 2**r, k = r - log2(res)):
    G_mapping/Dense{i}/{weight,bias}, G_mapping/LabelConcat/weight,
    G_synthesis/4x4/{Const/const | Dense/weight}, G_synthesis/{res}x{res}/{Const,Dense,Conv,Conv0_up,Conv1}/
        {weight, bias, Noise/weight, StyleMod/weight, StyleMod/bias},
    G_synthesis/ToRGB_lod{k}/{weight,bias}, G_synthesis/noise{i}, dlatent_avg, lod, G_synthesis/lod;
    FromRGB_lod{k}/{weight,bias}, {res}x{res}/{Conv0,Conv1_down}/{weight,bias},
    4x4/{Conv,Dense0,Dense1}/{weight,bias}, lod (discriminator; an optional leading "D/" is accepted).

Every official variable must be consumed and every weight of ours set, or a
`UserError` lists what is missing, unexpected or misshaped.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from stylegan_tf.config import FUSED_SCALE_CHOICES, NetworkConfig
from stylegan_tf.errors import UserError
from stylegan_tf.official.weight_plan import Converter, WeightPlan, apply_plan
from stylegan_tf.official.weight_plan import same as _same


def _nchw_to_nhwc(x: np.ndarray) -> np.ndarray:
    return np.transpose(x, (0, 2, 3, 1))


def _flip_kernel(x: np.ndarray) -> np.ndarray:
    return x[::-1, ::-1]


def _dense_to_nhwc_map(x: np.ndarray) -> np.ndarray:
    """Columns of a dense layer writing an NCHW 4x4 map (c*16 + h*4 + w) to NHWC order."""
    fan_in, out = x.shape
    channels = out // 16
    return x.reshape(fan_in, channels, 4, 4).transpose(0, 2, 3, 1).reshape(fan_in, out)


def _dense_from_nchw_flatten(x: np.ndarray) -> np.ndarray:
    """Rows of a dense layer reading an NCHW-flattened 4x4 map to NHWC-flatten order."""
    fan_in, out = x.shape
    channels = fan_in // 16
    return x.reshape(channels, 4, 4, out).transpose(1, 2, 0, 3).reshape(fan_in, out)


class _Plan(WeightPlan):
    """Official name -> (our variable, official shape, converter), with v1's layer helpers."""

    def add_epilogue(self, scope: str, epilogue) -> None:
        self.add(f"{scope}/bias", epilogue.bias, epilogue.bias.shape)
        if epilogue.noise is not None:
            self.add(f"{scope}/Noise/weight", epilogue.noise.strength, epilogue.noise.strength.shape)
        if epilogue.style is not None:
            affine = epilogue.style.affine
            self.add(f"{scope}/StyleMod/weight", affine.kernel, affine.kernel.shape)
            self.add(f"{scope}/StyleMod/bias", affine.bias, affine.bias.shape)

    def add_conv(self, scope: str, conv, convert: Converter = _same) -> None:
        self.add(f"{scope}/weight", conv.kernel, conv.kernel.shape, convert)
        if conv.bias is not None:
            self.add(f"{scope}/bias", conv.bias, conv.bias.shape)


def _generator_plan(G, official_fused_scale: str) -> _Plan:
    c: NetworkConfig = G.config
    plan = _Plan()
    mapping = G.mapping_network
    for i, layer in enumerate(mapping.dense_layers):
        plan.add(f"G_mapping/Dense{i}/weight", layer.kernel, layer.kernel.shape)
        plan.add(f"G_mapping/Dense{i}/bias", layer.bias, layer.bias.shape)
    if c.label_size:
        plan.add("G_mapping/LabelConcat/weight", mapping.label_embedding, mapping.label_embedding.shape)

    synthesis = G.synthesis_network
    block4 = synthesis.input_block
    channels = c.nf(1)
    if c.const_input:
        plan.add("G_synthesis/4x4/Const/const", block4.const, (1, channels, 4, 4), _nchw_to_nhwc)
        plan.add_epilogue("G_synthesis/4x4/Const", block4.epilogue0)
    else:
        plan.add("G_synthesis/4x4/Dense/weight", block4.dense.kernel, block4.dense.kernel.shape,
                 _dense_to_nhwc_map)
        plan.add_epilogue("G_synthesis/4x4/Dense", block4.epilogue0)
    plan.add_conv("G_synthesis/4x4/Conv", block4.conv)
    plan.add_epilogue("G_synthesis/4x4/Conv", block4.epilogue1)

    if official_fused_scale not in FUSED_SCALE_CHOICES:
        raise UserError(f"official_fused_scale must be one of {FUSED_SCALE_CHOICES}. "
                        f"Received: official_fused_scale={official_fused_scale!r}")
    official = NetworkConfig(resolution=c.resolution, fused_scale=official_fused_scale)
    for block in synthesis.blocks:
        r, res = block.res_log2, 2**block.res_log2
        flip = _flip_kernel if official.is_fused(r) != c.is_fused(r) else _same
        plan.add_conv(f"G_synthesis/{res}x{res}/Conv0_up", block.conv0, flip)
        plan.add_epilogue(f"G_synthesis/{res}x{res}/Conv0_up", block.epilogue0)
        plan.add_conv(f"G_synthesis/{res}x{res}/Conv1", block.conv1)
        plan.add_epilogue(f"G_synthesis/{res}x{res}/Conv1", block.epilogue1)

    for r, to_rgb in zip(range(2, c.resolution_log2 + 1), synthesis.to_rgb):
        plan.add_conv(f"G_synthesis/ToRGB_lod{c.resolution_log2 - r}", to_rgb)

    for i, epilogue in enumerate(synthesis.epilogues()):
        if epilogue.noise is not None:
            h, w = epilogue.noise.fixed_noise.shape[1:3]
            plan.add(f"G_synthesis/noise{i}", epilogue.noise.fixed_noise, (1, 1, h, w),
                     lambda x: np.transpose(x, (0, 2, 3, 1)))
    plan.add("dlatent_avg", G.w_avg, G.w_avg.shape)
    plan.add("G_synthesis/lod", synthesis.lod, ())
    plan.ignored.add("lod")
    return plan


def _discriminator_plan(D) -> _Plan:
    c: NetworkConfig = D.config
    plan = _Plan()
    for r, layer in zip(range(2, c.resolution_log2 + 1), D.from_rgb):
        plan.add_conv(f"FromRGB_lod{c.resolution_log2 - r}", layer)
    for block in D.blocks:
        res = 2**block.res_log2
        plan.add_conv(f"{res}x{res}/Conv0", block.conv0)
        plan.add_conv(f"{res}x{res}/Conv1_down", block.conv1)
    plan.add_conv("4x4/Conv", D.head.conv)
    plan.add_conv("4x4/Dense0", D.head.dense0, _dense_from_nchw_flatten)
    plan.add_conv("4x4/Dense1", D.head.dense1)
    plan.add("lod", D.lod, ())
    return plan


_apply = apply_plan


def _strip_prefix(variables: Mapping[str, np.ndarray], prefix: str) -> dict[str, np.ndarray]:
    return {(k[len(prefix):] if k.startswith(prefix) else k): v for k, v in variables.items()}


def load_official_generator(G, variables: Mapping[str, np.ndarray], official_fused_scale: str = "auto") -> None:
    """Sets every weight of `G` (mapping, synthesis, w_avg, fixed noise, lod) from official names.

    Args:
        G: a `Generator` whose config matches the official network.
        variables: official name -> array (see the module docstring); a leading "G/" is accepted.
        official_fused_scale: the `fused_scale` the weights were trained with ("auto" for
            every published StyleGAN network).
    """
    _apply(_generator_plan(G, official_fused_scale), _strip_prefix(variables, "G/"), "generator")


def load_official_discriminator(D, variables: Mapping[str, np.ndarray]) -> None:
    """Sets every weight of `D` from official names (a leading "D/" is accepted)."""
    _apply(_discriminator_plan(D), _strip_prefix(variables, "D/"), "discriminator")


def official_generator_shapes(G) -> dict[str, tuple[int, ...]]:
    """Official variable names and shapes (official layout) that `load_official_generator` consumes."""
    return {name: shape for name, (_, shape, _) in _generator_plan(G, "auto").entries.items()}


def official_discriminator_shapes(D) -> dict[str, tuple[int, ...]]:
    """Official variable names and shapes that `load_official_discriminator` consumes."""
    return {name: shape for name, (_, shape, _) in _discriminator_plan(D).entries.items()}
