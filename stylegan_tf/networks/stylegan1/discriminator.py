"""The discriminator (ProGAN's, as StyleGAN uses it; official `D_basic`).

fromRGB per resolution (1x1 conv, lrelu); a block per resolution >= 8 (3x3 conv,
blur, downsampling 3x3 conv, fused from 128x128 up by default); a 4x4 head with
minibatch standard deviation, a 3x3 conv and two dense layers. Conditional
networks output one score per class and take `sum(scores * labels)` (projection).

Progressive growing: the input resolution (static, from the image shape) picks
the first block; after each block the features are faded with fromRGB of the
2x2-averaged input, `x = lerp_clip(block(x), fromRGB(downsample(img)), lod - (R - res))`,
with `lod` a non-trainable variable, as the official 'linear' structure does.

Mixed precision (the official v1 code has none; placed as StyleGAN2-ADA's D,
`stylegan_tf.networks.precision`): under a mixed policy only the blocks of the top
`config.num_fp16_res` resolutions and their fromRGB compute in the policy's dtype, the rest
and the 4x4 head in float32 (ADA's epilogue is float32 too); each fade runs in the dtype of
the level below. Under mixed_float16 the outputs of every conv and fromRGB are clamped to
+-256 after their bias and lrelu (ADA's `conv_clamp` with float16) unless `config.conv_clamp`
is set. The images stay float32 until each fromRGB. In float32 (and with `conv_clamp` None)
the function is the official one.
"""

from __future__ import annotations

import math

import keras
from keras import ops

from stylegan_tf.config import NetworkConfig
from stylegan_tf.networks.layers import (EqualizedConv2D, EqualizedDense, blur, build_dims, downsample_box, lerp_clip,
                                minibatch_stddev, register)
from stylegan_tf.networks.precision import block_dtype, clamp, effective_conv_clamp


@register
class DiscriminatorBlock(keras.layers.Layer):
    """The block at 2**res_log2 (>= 8): 3x3 conv to nf(r-1), blur, 3x3 downsampling conv to nf(r-2).

    Args:
        config: `NetworkConfig` or its dict.
        res_log2: int. log2 of the block's input resolution.
        conv_clamp: float or None. Clamp of both convs' outputs (see `effective_conv_clamp`).

    Call arguments:
        x: [N, H, W, nf(res_log2 - 1)]. Returns [N, H/2, W/2, nf(res_log2 - 2)].
    """

    def __init__(self, config, res_log2, conv_clamp=None, **kwargs):
        super().__init__(**kwargs)
        self.config = NetworkConfig.coerce(config)
        self.res_log2 = int(res_log2)
        self.conv_clamp = conv_clamp
        c, policy = self.config, self.dtype_policy
        self.channels, self.out_channels = c.nf(self.res_log2 - 1), c.nf(self.res_log2 - 2)
        self.conv0 = EqualizedConv2D(self.channels, 3, activation="lrelu", name="conv0", dtype=policy)
        self.conv1 = EqualizedConv2D(self.out_channels, 3, activation="lrelu", resample="down",
                                     fused=c.is_fused(self.res_log2), name="conv1_down", dtype=policy)

    def build(self, input_shape=None):
        size = 2**self.res_log2
        build_dims(self.conv0, (None, size, size, self.channels))
        build_dims(self.conv1, (None, size, size, self.channels))

    def call(self, x):
        x = clamp(self.conv0(x), self.conv_clamp)
        if self.config.blur:
            x = blur(x)
        return clamp(self.conv1(x), self.conv_clamp)

    def get_config(self):
        return {**super().get_config(), "config": self.config.to_dict(), "res_log2": self.res_log2,
                "conv_clamp": self.conv_clamp}


@register
class DiscriminatorHead(keras.layers.Layer):
    """The 4x4 head: minibatch stddev, 3x3 conv, dense to nf(0), dense to max(label_size, 1).

    The last dense layer (gain 1) computes in float32 under any mixed-precision policy (the
    Discriminator builds the whole head in float32).

    Args:
        config: `NetworkConfig` or its dict.
        conv_clamp: float or None. Clamp of the 3x3 conv's output (ADA's epilogue conv).

    Call arguments:
        x: [N, 4, 4, nf(1)]. Returns scores [N, max(label_size, 1)] float32.
    """

    def __init__(self, config, conv_clamp=None, **kwargs):
        super().__init__(**kwargs)
        self.config = NetworkConfig.coerce(config)
        self.conv_clamp = conv_clamp
        c, policy = self.config, self.dtype_policy
        self.channels = c.nf(1)
        self.conv = EqualizedConv2D(c.nf(1), 3, activation="lrelu", name="conv", dtype=policy)
        self.dense0 = EqualizedDense(c.nf(0), activation="lrelu", name="dense0", dtype=policy)
        self.dense1 = EqualizedDense(max(c.label_size, 1), gain=1.0, name="dense1", dtype="float32")

    @property
    def mbstd_features(self) -> int:
        return self.config.mbstd_num_features if self.config.mbstd_group_size > 1 else 0

    def build(self, input_shape=None):
        build_dims(self.conv, (None, 4, 4, self.channels + self.mbstd_features))
        build_dims(self.dense0, (None, 16 * self.config.nf(1)))
        build_dims(self.dense1, (None, self.config.nf(0)))

    def call(self, x):
        c = self.config
        if self.mbstd_features:
            x = minibatch_stddev(x, c.mbstd_group_size, c.mbstd_num_features)
        x = clamp(self.conv(x), self.conv_clamp)
        # Flattened in NHWC order; the official NCHW order is converted on weight import.
        x = self.dense0(ops.reshape(x, [-1, 16 * c.nf(1)]))
        return self.dense1(x)

    def get_config(self):
        return {**super().get_config(), "config": self.config.to_dict(), "conv_clamp": self.conv_clamp}


@register
class Discriminator(keras.Model):
    """The StyleGAN discriminator.

    Args:
        config: `NetworkConfig` or its dict. Defaults to the official FFHQ 1024 configuration.

    Call arguments:
        images: [N, H, W, num_channels] at any resolution 4 .. config.resolution (static
            shape); H selects the level of detail, `lod` the fade.
        labels: [N, label_size] one-hot, for conditional networks.

    Returns:
        scores [N, 1] float32.
    """

    family = "stylegan1"

    def __init__(self, config=None, **kwargs):
        super().__init__(**kwargs)
        self.autocast = False  # Cast explicitly: the images stay float32 until each fromRGB.
        self.config = NetworkConfig.coerce(config if config is not None else NetworkConfig())
        c, policy = self.config, self.dtype_policy
        self.conv_clamp = effective_conv_clamp(c, policy)
        self.from_rgb = [EqualizedConv2D(c.nf(r - 1), 1, activation="lrelu", name=f"from_rgb_{2**r}",
                                         dtype=block_dtype(c, policy, 2**r)) for r in range(2, c.resolution_log2 + 1)]
        self.blocks = [DiscriminatorBlock(c, r, conv_clamp=self.conv_clamp, name=f"b{2**r}",
                                          dtype=block_dtype(c, policy, 2**r))
                       for r in range(3, c.resolution_log2 + 1)]
        self.head = DiscriminatorHead(c, conv_clamp=self.conv_clamp, name="b4", dtype=block_dtype(c, policy, 4))
        self.build((None, c.resolution, c.resolution, c.num_channels))

    def build(self, input_shape=None):
        if getattr(self, "lod", None) is not None:
            return
        c = self.config
        for r, layer in zip(range(2, c.resolution_log2 + 1), self.from_rgb):
            build_dims(layer, (None, 2**r, 2**r, c.num_channels))
        for block in self.blocks:
            build_dims(block, None)
        build_dims(self.head, None)
        self.lod = self.add_weight(name="lod", shape=(), initializer="zeros", trainable=False)

    def summary_layers(self):
        """(name, layer, output shape) rows of the `--dry-run` table (`stylegan_tf.summary`)."""
        c = self.config
        rows = [(f"from_rgb_{2**r}", layer, f"[N, {2**r}, {2**r}, {c.nf(r - 1)}]")
                for r, layer in zip(range(2, c.resolution_log2 + 1), self.from_rgb)]
        rows += [(f"{2**b.res_log2}x{2**b.res_log2}", b, f"[N, {2**b.res_log2 // 2}, {2**b.res_log2 // 2}, "
                  f"{b.out_channels}]") for b in reversed(self.blocks)]
        rows.append(("4x4 (mbstd, conv, dense0, dense1)", self.head, f"[N, {max(c.label_size, 1)}]"))
        return rows

    def call(self, images, labels=None):
        c = self.config
        size = images.shape[1]
        r = int(round(math.log2(size))) if size else -1
        if size is None or r < 2 or 2**r != size or size > c.resolution or images.shape[2] != size:
            raise ValueError(f"Discriminator input must be square with a power-of-two side between 4 and "
                             f"{c.resolution}. Received: shape {tuple(images.shape)}")
        # The official 'linear' structure: after each block, fade with fromRGB of the 2x2-averaged
        # image by lod - lod_of_level (clipped); below the newest level the weight is 0.
        images = ops.cast(images, "float32")
        lod = ops.cast(self.lod, "float32")
        x = self._from_rgb(r - 2, images)
        for res in range(r, 2, -1):
            x = self.blocks[res - 3](x)
            images = downsample_box(images)
            y = self._from_rgb(res - 3, images)
            x = lerp_clip(ops.cast(x, y.dtype), y, ops.cast(lod - float(c.resolution_log2 - res), y.dtype))
        scores = self.head(x)
        if c.label_size:
            if labels is None:
                raise ValueError(f"This discriminator is conditional (label_size={c.label_size}): pass labels")
            scores = ops.sum(scores * ops.cast(labels, scores.dtype), axis=1, keepdims=True)
        return scores

    def _from_rgb(self, index, images):
        """fromRGB of level `index` (0 = 4x4) in the level's dtype, clamped."""
        return clamp(self.from_rgb[index](images), self.conv_clamp)

    def get_config(self):
        base = keras.layers.Layer.get_config(self)
        return {**base, "config": self.config.to_dict()}

    @classmethod
    def from_config(cls, config):
        return cls(**config)
