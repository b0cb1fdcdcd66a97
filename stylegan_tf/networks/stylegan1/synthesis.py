"""The synthesis network g (paper sec. 2, Figure 1b; official `G_synthesis`).

Layout: a 4x4 input block (learned constant, or z through a dense layer for the
configurations without it) and one block per higher resolution, each of two
"layers" (conv + epilogue); a toRGB 1x1 conv per resolution. Layer i takes style
w[:, i] and noise input i; the block at 2**r holds layers 2r-4 and 2r-3.

Progressive growing: every block exists from the start. A call at resolution
2**r runs only blocks 4..2**r; each level's toRGB output is faded with the upsampled
image of the level below, `img = lerp_clip(toRGB_res(x), upsample(img), lod - (R - res))`
(official 'linear' structure), where `lod` is a non-trainable variable (the fade
changes every step without retracing) and r is static. A call at a resolution above
the one `lod` selects gives the official full-size output (the upsampled lower level).

Mixed precision (the official v1 code has none; placed as StyleGAN2-ADA does,
`stylegan_tf.networks.precision`): under a mixed policy only the blocks of the top
`config.num_fp16_res` resolutions (at or above `config.fp16_resolution()`, with their
toRGB) compute in the policy's dtype; the 4x4 block and every block below in float32, as are
the image fades and the output. With 4 (the default) the 4x4 and 8x8 blocks of a 1024 network
and the 4x4 block of a 16 or 32 one run in float32. Under mixed_float16 the activations of every
layer and the toRGB outputs are clamped to +-256 (ADA's `conv_clamp` with float16) unless
`config.conv_clamp` is set; the clamp follows the bias and lrelu of each layer's epilogue, where
ADA's `bias_act` clamps. In float32 (and with `conv_clamp` None) the function is the official one.
"""

from __future__ import annotations

import math

import keras
from keras import ops

from stylegan_tf.config import NetworkConfig
from stylegan_tf.networks.layers import (SQRT2, EqualizedConv2D, EqualizedDense, blur, build_dims, lerp_clip,
                                         register, upsample_nearest)
from stylegan_tf.networks.noise import NOISE_MODES, NoiseInputs  # noqa: F401 (NOISE_MODES re-exported)
from stylegan_tf.networks.precision import block_dtype, clamp, effective_conv_clamp
from stylegan_tf.networks.stylegan1.adain import LayerEpilogue


def layer_resolution(layer_index: int) -> int:
    """Resolution of synthesis layer i (two layers per resolution, from 4x4)."""
    return 2 ** (layer_index // 2 + 2)


def resolution_log2(resolution: int, config: NetworkConfig) -> int:
    """log2 of a requested resolution, checked against the network."""
    r = int(round(math.log2(resolution))) if resolution and resolution > 0 else -1
    if r < 2 or 2**r != resolution or resolution > config.resolution:
        raise ValueError(f"resolution must be a power of two between 4 and {config.resolution}. "
                         f"Received: resolution={resolution}")
    return r


def _epilogue(config: NetworkConfig, channels: int, name: str, dtype, conv_clamp=None) -> LayerEpilogue:
    return LayerEpilogue(channels, use_noise=config.use_noise, use_pixel_norm=config.use_pixel_norm,
                         use_instance_norm=config.use_instance_norm, use_styles=config.use_styles,
                         conv_clamp=conv_clamp, name=name, dtype=dtype)


@register
class SynthesisInput(keras.layers.Layer):
    """The 4x4 block: constant (or dense from w[:, 0]) + epilogue, 3x3 conv + epilogue.

    Config D onwards starts from a learned constant [1, 4, 4, nf(1)] initialised to ones.
    Configs A-C map w[:, 0] (there: the normalised z) through a dense layer to 4x4xC
    with gain sqrt(2)/4, as the official code does to match ProGAN.

    Args:
        config: `NetworkConfig` or its dict.
        conv_clamp: float or None. The epilogues' clamp (see `effective_conv_clamp`).

    Call arguments:
        w: [N, num_layers, w_dim]; layers 0 and 1 are used.
        noise: pair of noise maps (each [N or 1, 4, 4, 1] or None = fixed noise).
        use_noise_input: bool, False = no noise at all.
    """

    def __init__(self, config, conv_clamp=None, **kwargs):
        super().__init__(**kwargs)
        self.config = NetworkConfig.coerce(config)
        self.conv_clamp = conv_clamp
        c, policy = self.config, self.dtype_policy
        self.channels = c.nf(1)
        self.dense = (None if c.const_input else
                      EqualizedDense(16 * self.channels, gain=SQRT2 / 4, use_bias=False, name="dense",
                                     dtype=policy))
        self.epilogue0 = _epilogue(c, self.channels, "epilogue0", policy, conv_clamp)
        self.conv = EqualizedConv2D(self.channels, 3, use_bias=False, name="conv", dtype=policy)
        self.epilogue1 = _epilogue(c, self.channels, "epilogue1", policy, conv_clamp)

    def build(self, input_shape=None):
        c = self.config
        x_shape, w_shape = (None, 4, 4, self.channels), (None, c.w_dim)
        if c.const_input:
            self.const = self.add_weight(name="const", shape=(1, 4, 4, self.channels), initializer="ones")
        else:
            build_dims(self.dense, w_shape)
        build_dims(self.epilogue0, x_shape, w_shape)
        build_dims(self.conv, x_shape)
        build_dims(self.epilogue1, x_shape, w_shape)

    def call(self, w, noise=(None, None), use_noise_input=True):
        if self.config.const_input:
            batch = ops.shape(w)[0]
            x = ops.broadcast_to(ops.cast(self.const, self.compute_dtype), (batch, 4, 4, self.channels))
        else:
            x = ops.reshape(self.dense(w[:, 0]), [-1, 4, 4, self.channels])
        x = self.epilogue0(x, w[:, 0], noise[0], use_noise_input=use_noise_input)
        x = self.epilogue1(self.conv(x), w[:, 1], noise[1], use_noise_input=use_noise_input)
        return x

    def get_config(self):
        return {**super().get_config(), "config": self.config.to_dict(), "conv_clamp": self.conv_clamp}


@register
class SynthesisBlock(keras.layers.Layer):
    """The block at 2**res_log2: upsampling 3x3 conv, blur, epilogue; 3x3 conv, epilogue.

    The upsampling conv is fused (transposed stride-2 conv) where the official code
    fuses it, from 128x128 up by default (`NetworkConfig.fused_scale`).

    Args:
        config: `NetworkConfig` or its dict.
        res_log2: int. log2 of the block's resolution.
        conv_clamp: float or None. The epilogues' clamp (see `effective_conv_clamp`).

    Call arguments:
        x: [N, H/2, W/2, nf(res_log2 - 2)].
        w: [N, num_layers, w_dim]; layers 2*res_log2 - 4 and 2*res_log2 - 3 are used.
        noise: pair of noise maps ([N or 1, H, W, 1] or None = fixed noise).
        use_noise_input: bool.
    """

    def __init__(self, config, res_log2, conv_clamp=None, **kwargs):
        super().__init__(**kwargs)
        self.config = NetworkConfig.coerce(config)
        self.res_log2 = int(res_log2)
        self.conv_clamp = conv_clamp
        c, policy = self.config, self.dtype_policy
        self.in_channels, self.channels = c.nf(self.res_log2 - 2), c.nf(self.res_log2 - 1)
        self.conv0 = EqualizedConv2D(self.channels, 3, use_bias=False, resample="up",
                                     fused=c.is_fused(self.res_log2), name="conv0_up", dtype=policy)
        self.epilogue0 = _epilogue(c, self.channels, "epilogue0", policy, conv_clamp)
        self.conv1 = EqualizedConv2D(self.channels, 3, use_bias=False, name="conv1", dtype=policy)
        self.epilogue1 = _epilogue(c, self.channels, "epilogue1", policy, conv_clamp)

    def build(self, input_shape=None):
        size = 2**self.res_log2
        x_shape, w_shape = (None, size, size, self.channels), (None, self.config.w_dim)
        build_dims(self.conv0, (None, size // 2, size // 2, self.in_channels))
        build_dims(self.epilogue0, x_shape, w_shape)
        build_dims(self.conv1, x_shape)
        build_dims(self.epilogue1, x_shape, w_shape)

    def call(self, x, w, noise=(None, None), use_noise_input=True):
        i = 2 * self.res_log2 - 4
        x = self.conv0(x)
        if self.config.blur:
            x = blur(x)
        x = self.epilogue0(x, w[:, i], noise[0], use_noise_input=use_noise_input)
        x = self.epilogue1(self.conv1(x), w[:, i + 1], noise[1], use_noise_input=use_noise_input)
        return x

    def get_config(self):
        return {**super().get_config(), "config": self.config.to_dict(), "res_log2": self.res_log2,
                "conv_clamp": self.conv_clamp}


@register
class SynthesisNetwork(NoiseInputs, keras.layers.Layer):
    """w to images, at any resolution of the progressive schedule.

    Args:
        config: `NetworkConfig` (or its dict).
        seed: optional int seeding the random-noise generator.

    Call arguments:
        w: [N, num_layers, w_dim].
        resolution: static int, the resolution to synthesise (default: full). Only
            the blocks up to it run; the fade with the level below uses `lod`.
        noise_mode: "random" (fresh N(0, 1) maps, the official default), "const" (the
            fixed per-layer maps: deterministic), or "none" (no noise).
        noise: optional explicit noise: a list with one map [N, h, w, 1] per layer up
            to `resolution`, or one flat tensor [N, noise_size(resolution)]; overrides
            `noise_mode`.
        full_size: bool. Upsample (nearest) the result to the full resolution, as the
            official network outputs at every level of detail.

    Returns:
        images [N, H, W, num_channels] float32, nominally in [-1, 1].
    """

    def __init__(self, config, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.autocast = False  # Cast explicitly: w, lod and the images stay float32 under mixed policies.
        self.config = NetworkConfig.coerce(config)
        self.seed = seed
        c, policy = self.config, self.dtype_policy
        self.conv_clamp = effective_conv_clamp(c, policy)
        self.input_block = SynthesisInput(c, conv_clamp=self.conv_clamp, name="b4", dtype=block_dtype(c, policy, 4))
        self.blocks = [SynthesisBlock(c, r, conv_clamp=self.conv_clamp, name=f"b{2**r}",
                                      dtype=block_dtype(c, policy, 2**r))
                       for r in range(3, c.resolution_log2 + 1)]
        self.to_rgb = [EqualizedConv2D(c.num_channels, 1, gain=1.0, name=f"to_rgb_{2**r}",
                                       dtype=block_dtype(c, policy, 2**r))
                       for r in range(2, c.resolution_log2 + 1)]
        self.seed_generator = keras.random.SeedGenerator(seed, name="noise_seed")

    def build(self, input_shape=None):
        build_dims(self.input_block, None)
        for block in self.blocks:
            build_dims(block, None)
        for r, to_rgb in zip(range(2, self.config.resolution_log2 + 1), self.to_rgb):
            build_dims(to_rgb, (None, 2**r, 2**r, self.config.nf(r - 1)))
        self.lod = self.add_weight(name="lod", shape=(), initializer="zeros", trainable=False)

    # Noise bookkeeping (`NoiseInputs`) -----------------------------------------------
    @property
    def noise_enabled(self):
        return self.config.use_noise

    def noise_shapes(self, resolution=None):
        """[(h, w)] of the noise map of each layer used at `resolution` (default: full)."""
        r = resolution_log2(resolution or self.config.resolution, self.config)
        return [(layer_resolution(i), layer_resolution(i)) for i in range(2 * r - 2)]

    def fixed_noise_maps(self):
        """Per layer, its fixed noise map [1, h, w, 1] (None for layers without noise)."""
        return [layer.noise.fixed_noise if layer.noise is not None else None for layer in self.epilogues()]

    def epilogues(self):
        """The per-layer epilogues in layer order (layer i of the official network)."""
        layers = [self.input_block.epilogue0, self.input_block.epilogue1]
        for block in self.blocks:
            layers += [block.epilogue0, block.epilogue1]
        return layers

    # Forward -----------------------------------------------------------------------
    def call(self, w, resolution=None, noise_mode="random", noise=None, full_size=False):
        c = self.config
        resolution = resolution or c.resolution
        r = resolution_log2(resolution, c)
        num_layers = 2 * r - 2
        noise, use_noise = self._resolve_noise(ops.shape(w)[0], num_layers, resolution, noise_mode, noise)
        w = ops.cast(w, "float32")  # each block casts w, x and the noise to its own dtype

        # The official 'linear' structure: every level's toRGB output is faded with the upsampled
        # image of the level below, by lod - lod_of_level (clipped to [0, 1]). When lod selects
        # this resolution only the newest level's fade is partial; below it the weight is 0.
        lod = ops.cast(self.lod, "float32")
        x = self.input_block(w, noise=(noise[0], noise[1]), use_noise_input=use_noise)
        images = self._rgb(0, x)
        for block in self.blocks[: r - 2]:
            i = 2 * block.res_log2 - 4
            x = block(x, w, noise=(noise[i], noise[i + 1]), use_noise_input=use_noise)
            images = lerp_clip(self._rgb(block.res_log2 - 2, x), upsample_nearest(images),
                               lod - float(c.resolution_log2 - block.res_log2))
        if full_size:
            images = upsample_nearest(images, 2 ** (c.resolution_log2 - r))
        return images

    def _rgb(self, index, x):
        """toRGB of level `index` (0 = 4x4) in the level's dtype, clamped, as float32."""
        return ops.cast(clamp(self.to_rgb[index](x), self.conv_clamp), "float32")

    def get_config(self):
        return {**super().get_config(), "config": self.config.to_dict(), "seed": self.seed}
