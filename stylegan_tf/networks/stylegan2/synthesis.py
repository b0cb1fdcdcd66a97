"""The StyleGAN2 synthesis network (paper sec. 2 and 4, Figure 7; TF `G_synthesis_stylegan2`, ADA
`SynthesisNetwork` / `SynthesisBlock`).

One block per resolution 4, 8, ..., R (no progressive growing): the 4x4 block holds the
learned constant (`const`, N(0, 1)) and one 3x3 modulated conv (`conv1`, TF `4x4/Conv`);
every other block an upsampling 3x3 modulated conv (`conv0`, TF `Conv0_up`) and a 3x3 one
(`conv1`). Architectures (`StyleGAN2Config.architecture_g`):

- "skip" (config F): every block has a ToRGB (`torgb`); img = upsample2d(img) + ToRGB(x).
- "resnet": x = (block(x) + skip(x)) / sqrt(2), skip = 1x1 upsampling conv without bias
  (`skip`); ToRGB only in the last block.
- "orig": ToRGB only in the last block.

Style indices (18 at 1024): conv0 of block 2**r takes w[2r - 5], conv1 w[2r - 4], the
ToRGB w[2r - 3] (shared with the next block's conv0). Noise input i belongs to the i-th
modulated conv (4x4 conv1 first): 2 * log2(R) - 3 of them, 17 at 1024.

Mixed precision: under a mixed policy, the blocks at or above
`config.fp16_resolution()` (the top `num_fp16_res`) compute in the policy's dtype, the
others in float32, as ADA; the image sums (ToRGB outputs and their upsampling) are
float32 and the output is float32. Under mixed_float16 the conv outputs are clamped to
+-256 (ADA's `conv_clamp` with fp16) unless `conv_clamp` is set; under mixed_bfloat16
there is no automatic clamp (bfloat16 has float32's range), and the same blocks run
in bfloat16.
"""

from __future__ import annotations

import math

import keras
from keras import ops

from stylegan_tf.networks.layers import build_dims, register
from stylegan_tf.networks.noise import NoiseInputs
from stylegan_tf.networks.precision import block_dtype, effective_conv_clamp
from stylegan_tf.networks.stylegan2.config import StyleGAN2Config
from stylegan_tf.networks.stylegan2.conv import Conv2DLayer
from stylegan_tf.networks.stylegan2.modconv import ModulatedConv2D
from stylegan_tf.networks.stylegan2.upfirdn import upsample2d

SQRT_HALF = math.sqrt(0.5)


def check_resolution(resolution, config: StyleGAN2Config) -> int:
    """The resolution of a call: None or the network's (StyleGAN2 does not grow)."""
    if resolution is not None and resolution != config.resolution:
        raise ValueError(f"StyleGAN2 networks synthesise at their full resolution only ({config.resolution}). "
                         f"Received: resolution={resolution}")
    return config.resolution


@register
class StyleGAN2SynthesisBlock(keras.layers.Layer):
    """The block at resolution `res` (ADA `SynthesisBlock`; TF scope `{res}x{res}`).

    Sublayers / weights: `const` [1, 4, 4, C] (4x4 only; TF `4x4/Const/const` [1, C, 4, 4],
    ADA `b4.const` [C, 4, 4]); `conv0` (res > 4, up); `conv1`; `torgb` (skip G, or the
    last block); `skip` (resnet G, res > 4: 1x1 up, no bias; TF `Skip/weight`).

    Args:
        config: `StyleGAN2Config` or its dict.
        res: int. The block's resolution.
        conv_clamp: float or None. The clamp of every conv (see `effective_conv_clamp`).

    Call arguments:
        x: [N, res/2, res/2, channels(res/2)] or None (4x4).
        img: [N, res/2, res/2, num_channels] float32 or None.
        w: [N, num_ws, w_dim] (all styles; the block picks its own).
        noise: list of its noise maps (None = fixed); use_noise: bool; training: bool.

    Returns:
        (x [N, res, res, channels(res)], img [N, res, res, num_channels] float32 or None).
    """

    def __init__(self, config, res, conv_clamp=None, **kwargs):
        super().__init__(**kwargs)
        self.autocast = False  # Cast explicitly: img and w stay float32 under mixed policies.
        self.config = StyleGAN2Config.coerce(config)
        self.res = int(res)
        self.conv_clamp = conv_clamp
        c, policy = self.config, self.dtype_policy
        self.in_channels = c.channels(self.res // 2) if self.res > 4 else 0
        self.channels = c.channels(self.res)
        common = dict(resample_filter=c.resample_filter, conv_clamp=conv_clamp, fused_modconv=c.fused_modconv,
                      dtype=policy)
        self.conv0 = (ModulatedConv2D(self.channels, 3, up=True, name="conv0", **common)
                      if self.res > 4 else None)
        self.conv1 = ModulatedConv2D(self.channels, 3, name="conv1", **common)
        self.has_torgb = c.architecture_g == "skip" or self.res == c.resolution
        self.torgb = (ModulatedConv2D(c.num_channels, 1, demodulate=False, use_noise=False, activation="linear",
                                      name="torgb", **common) if self.has_torgb else None)
        self.skip = (Conv2DLayer(self.channels, 1, use_bias=False, resample="up",
                                 resample_filter=c.resample_filter, conv_clamp=conv_clamp, name="skip",
                                 dtype=policy)
                     if c.architecture_g == "resnet" and self.res > 4 else None)

    @property
    def num_conv(self) -> int:
        return 1 if self.res == 4 else 2

    @property
    def w_index(self) -> int:
        """Style index of the block's first conv (= its first noise input)."""
        return 0 if self.res == 4 else 2 * int(math.log2(self.res)) - 5

    def conv_layers(self):
        return [self.conv1] if self.conv0 is None else [self.conv0, self.conv1]

    def build(self, input_shape=None):
        c, res = self.config, self.res
        w_shape = (None, c.w_dim)
        if self.conv0 is None:
            self.const = self.add_weight(name="const", shape=(1, 4, 4, self.channels),
                                         initializer=keras.initializers.RandomNormal(0.0, 1.0))
        else:
            build_dims(self.conv0, (None, res // 2, res // 2, self.in_channels), w_shape)
        build_dims(self.conv1, (None, res, res, self.channels), w_shape)
        if self.torgb is not None:
            build_dims(self.torgb, (None, res, res, self.channels), w_shape)
        if self.skip is not None:
            build_dims(self.skip, (None, res // 2, res // 2, self.in_channels))

    def call(self, x, img, w, noise=(None, None), use_noise=True, training=None):
        i = self.w_index
        if self.conv0 is None:
            batch = ops.shape(w)[0]
            x = ops.broadcast_to(ops.cast(self.const, self.compute_dtype), (batch, 4, 4, self.channels))
            x = self.conv1(x, w[:, i], noise[0], use_noise=use_noise, training=training)
        elif self.skip is not None:
            y = self.skip(x, gain=SQRT_HALF)
            x = self.conv0(x, w[:, i], noise[0], use_noise=use_noise, training=training)
            x = self.conv1(x, w[:, i + 1], noise[1], use_noise=use_noise, gain=SQRT_HALF, training=training)
            x = x + ops.cast(y, x.dtype)
        else:
            x = self.conv0(x, w[:, i], noise[0], use_noise=use_noise, training=training)
            x = self.conv1(x, w[:, i + 1], noise[1], use_noise=use_noise, training=training)
        if img is not None:
            img = upsample2d(img, self.config.resample_filter)
        if self.torgb is not None:
            y = ops.cast(self.torgb(x, w[:, i + self.num_conv], training=training), "float32")
            img = y if img is None else img + y
        return x, img

    def get_config(self):
        return {**super().get_config(), "config": self.config.to_dict(), "res": self.res,
                "conv_clamp": self.conv_clamp}


@register
class StyleGAN2SynthesisNetwork(NoiseInputs, keras.layers.Layer):
    """w [N, num_ws, w_dim] to images [N, R, R, num_channels] float32 (nominally in [-1, 1]).

    Args:
        config: `StyleGAN2Config` (or its dict).
        seed: optional int seeding the random-noise generator.

    Call arguments:
        w: [N, num_ws, w_dim].
        resolution: None or config.resolution (ValueError otherwise).
        noise_mode: "random" (fresh N(0, 1) maps, the official default), "const" (the
            fixed per-layer maps), or "none".
        noise: optional explicit noise: a list with one map [N, h, w, 1] per noise input
            (`noise_shapes()`), or one flat tensor [N, noise_size()]; overrides `noise_mode`.
        full_size: accepted for the common interface; ignored (always full size).
        training: bool. With `fused_modconv="auto"`, inference calls use the grouped form.
    """

    def __init__(self, config, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.autocast = False  # Cast explicitly: w stays float32 for the style affines.
        self.config = StyleGAN2Config.coerce(config)
        self.seed = seed
        c = self.config
        self.conv_clamp = effective_conv_clamp(c, self.dtype_policy)
        self.blocks = [StyleGAN2SynthesisBlock(c, 2**r, conv_clamp=self.conv_clamp, name=f"b{2**r}",
                                               dtype=block_dtype(c, self.dtype_policy, 2**r))
                       for r in range(2, c.resolution_log2 + 1)]
        self.seed_generator = keras.random.SeedGenerator(seed, name="noise_seed")

    def build(self, input_shape=None):
        for block in self.blocks:
            build_dims(block, None)

    # Noise bookkeeping (`NoiseInputs`) -----------------------------------------------
    def conv_layers(self):
        """The modulated convs with noise, in noise-input order (TF `noise0`, `noise1`, ...)."""
        return [layer for block in self.blocks for layer in block.conv_layers()]

    def noise_shapes(self, resolution=None):
        """[(h, w)] of each noise input: 4x4, then two per resolution 8 .. R."""
        check_resolution(resolution, self.config)
        return [(layer.noise_const.shape[1], layer.noise_const.shape[2]) for layer in self.conv_layers()]

    def fixed_noise_maps(self):
        return [layer.noise_const for layer in self.conv_layers()]

    # Forward -----------------------------------------------------------------------
    def call(self, w, resolution=None, noise_mode="random", noise=None, full_size=False, training=None):
        c = self.config
        check_resolution(resolution, c)
        if w.shape[1] is not None and w.shape[1] != c.num_layers:
            raise ValueError(f"w must have {c.num_layers} styles. Received: shape {tuple(w.shape)}")
        noise, use_noise = self._resolve_noise(ops.shape(w)[0], len(self.conv_layers()), None, noise_mode, noise)
        w = ops.cast(w, "float32")
        x = img = None
        for block in self.blocks:
            i = block.w_index
            x, img = block(x, img, w, noise=tuple(noise[i: i + block.num_conv]), use_noise=use_noise,
                           training=training)
        return img

    def compute_output_shape(self, w_shape, **kwargs):
        c = self.config
        return (w_shape[0], c.resolution, c.resolution, c.num_channels)

    def get_config(self):
        return {**super().get_config(), "config": self.config.to_dict(), "seed": self.seed}
