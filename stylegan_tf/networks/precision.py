"""Where mixed precision applies in G and D: the per-block dtype and the float16 clamp.

Shared by StyleGAN (v1) and StyleGAN2 (StyleGAN3 keeps its own placement). They follow
StyleGAN2-ADA (`training/networks.py`): under a mixed policy only the blocks of the top
`num_fp16_res` resolutions compute in the policy's dtype,
`use_fp16 = res >= fp16_resolution` with
`fp16_resolution = max(2 ** (log2(resolution) + 1 - num_fp16_res), 8)`, everything below in
float32; and with float16 the outputs of every conv are clamped to +-`conv_clamp`, 256 in
every ADA configuration (`--fp32` turns both off). bfloat16 has float32's range: no
automatic clamp there.

A config passed here has `resolution`, `conv_clamp` and `fp16_resolution()`
(`stylegan_tf.config.NetworkConfig`, `StyleGAN2Config`).
"""

from __future__ import annotations

import keras
from keras import ops

FP16_CLAMP = 256.0


def block_dtype(config, policy, res: int):
    """The dtype policy of the block at `res`: the mixed policy for the top `num_fp16_res`
    resolutions, "float32" below them (ADA `use_fp16 = res >= fp16_resolution`) and under
    a float32 policy."""
    policy = keras.dtype_policies.get(policy)
    if policy.compute_dtype == "float32" or res < config.fp16_resolution():
        return "float32"
    return policy


def effective_conv_clamp(config, policy):
    """`config.conv_clamp`, or 256 under mixed_float16 with float16 blocks (ADA), else None."""
    if config.conv_clamp is not None:
        return config.conv_clamp
    policy = keras.dtype_policies.get(policy)
    if policy.compute_dtype == "float16" and config.fp16_resolution() <= config.resolution:
        return FP16_CLAMP
    return None


def clamp(x, value):
    """x clipped to [-value, value] (ADA `bias_act(..., clamp=value)`); x itself when value is None."""
    return x if value is None else ops.clip(x, -value, value)
