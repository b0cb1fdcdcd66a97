"""Adaptive instance normalisation and its epilogue (StyleGAN v1, paper sec. 2, eq. 1).

Each synthesis layer of v1 ends with the `LayerEpilogue`: per-pixel noise with a
per-channel learned strength, bias, lrelu, pixel or instance norm, and the style
modulation `y_s * x + y_b` (AdaIN: instance norm followed by the style affine).
StyleGAN2 replaces all of this by the (de)modulated convolution.
"""

from __future__ import annotations

import keras
from keras import ops

from stylegan_tf.networks.layers import EqualizedDense, build_dims, lrelu, pixel_norm, register
from stylegan_tf.networks.precision import clamp


def instance_norm(x, epsilon=1e-8):
    """Per-sample, per-channel normalisation over H and W (official `instance_norm`).

    Computed in float32: the mean of squares overflows easily in float16.
    """
    x32 = ops.cast(x, "float32")
    x32 = x32 - ops.mean(x32, axis=[1, 2], keepdims=True)
    x32 = x32 * ops.rsqrt(ops.mean(ops.square(x32), axis=[1, 2], keepdims=True) + epsilon)
    return ops.cast(x32, x.dtype)



@register
class NoiseInjection(keras.layers.Layer):
    """Adds per-pixel noise scaled by a learned per-channel strength (paper sec. 3.2; official `apply_noise`).

    `x + noise * strength`, with one noise map [N, H, W, 1] shared by all channels and
    `strength` [C] initialised to zeros, so noise has no effect at initialisation. The
    layer also owns a fixed noise map [1, H, W, 1] drawn from N(0, 1) at build time
    (official `noise{i}` variables), used when no noise is passed: deterministic images.

    Call arguments:
        x: [N, H, W, C].
        noise: optional [N or 1, H, W, 1]; None uses the fixed noise map.
    """

    def build(self, input_shape):
        height, width, channels = int(input_shape[1]), int(input_shape[2]), int(input_shape[3])
        self.strength = self.add_weight(name="strength", shape=(channels,), initializer="zeros")
        self.fixed_noise = self.add_weight(name="fixed_noise", shape=(1, height, width, 1),
                                           initializer=keras.initializers.RandomNormal(0.0, 1.0),
                                           trainable=False)

    def call(self, x, noise=None):
        if noise is None:
            noise = self.fixed_noise
        return x + ops.cast(noise, x.dtype) * ops.cast(self.strength, x.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape


@register
class StyleModulation(keras.layers.Layer):
    """AdaIN's style part: `x * (1 + y_s) + y_b` with (y_s, y_b) = A(w) (paper eq. 1; official `style_mod`).

    A is an equalized-lr dense layer with gain 1 mapping w to 2C numbers: the first C
    are y_s (used as 1 + y_s, so a zero style leaves x unchanged), the next C are y_b.
    The instance normalisation of AdaIN is a separate step (`instance_norm`), as in the
    official epilogue.

    Args:
        channels: int. C, the feature maps modulated.

    Call arguments:
        x: [N, H, W, C].
        w: [N, w_dim].
    """

    def __init__(self, channels, **kwargs):
        super().__init__(**kwargs)
        self.channels = int(channels)
        self.affine = EqualizedDense(2 * self.channels, gain=1.0, name="affine", dtype=self.dtype_policy)

    def build(self, x_shape, w_shape=None):
        if w_shape is None:
            raise ValueError("StyleModulation.build needs the shape of w: build(x_shape, w_shape)")
        self.affine.build(w_shape)

    def call(self, x, w):
        style = ops.cast(self.affine(w), x.dtype)
        y_s = ops.reshape(style[:, : self.channels], [-1, 1, 1, self.channels])
        y_b = ops.reshape(style[:, self.channels:], [-1, 1, 1, self.channels])
        return x * (y_s + 1.0) + y_b

    def compute_output_shape(self, x_shape, w_shape=None):
        return x_shape

    def get_config(self):
        return {**super().get_config(), "channels": self.channels}


@register
class LayerEpilogue(keras.layers.Layer):
    """The official per-layer epilogue of the synthesis network, in its order.

    (1) noise `x + noise * strength`, (2) bias, (3) lrelu, [clamp], (4) pixel norm (ProGAN
    baseline only), (5) instance norm, (6) style modulation `x * (1 + y_s) + y_b`.
    Steps 1, 4, 5, 6 are switched by the paper's configurations A-F.

    Args:
        channels: int. Feature maps C.
        use_noise, use_pixel_norm, use_instance_norm, use_styles: bool switches.
        conv_clamp: float or None. Clamp of the activations to +-conv_clamp after the bias and
            lrelu, where ADA's `bias_act` clamps a conv's output (`stylegan_tf.networks.precision`;
            the official v1 code has none). None (default) = off, the official function.

    Call arguments:
        x: [N, H, W, C].
        w: [N, w_dim], the style of this layer (ignored without styles).
        noise: optional [N or 1, H, W, 1]; None = the layer's fixed noise; ignored without noise.
        use_noise_input: bool. False skips the noise (noise mode "none"). Defaults to True.
    """

    def __init__(self, channels, use_noise=True, use_pixel_norm=False, use_instance_norm=True,
                 use_styles=True, conv_clamp=None, **kwargs):
        super().__init__(**kwargs)
        self.channels = int(channels)
        self.conv_clamp = None if conv_clamp is None else float(conv_clamp)
        self.use_noise = bool(use_noise)
        self.use_pixel_norm = bool(use_pixel_norm)
        self.use_instance_norm = bool(use_instance_norm)
        self.use_styles = bool(use_styles)
        policy = self.dtype_policy
        self.noise = NoiseInjection(name="noise", dtype=policy) if self.use_noise else None
        self.style = StyleModulation(self.channels, name="style", dtype=policy) if self.use_styles else None

    def build(self, x_shape, w_shape=None):
        if self.noise is not None:
            self.noise.build(x_shape)
        self.bias = self.add_weight(name="bias", shape=(self.channels,), initializer="zeros")
        if self.style is not None:
            if w_shape is None:
                raise ValueError("LayerEpilogue.build needs the shape of w when use_styles=True")
            self.style.build(x_shape, w_shape)

    def call(self, x, w=None, noise=None, use_noise_input=True):
        if self.noise is not None and use_noise_input:
            x = self.noise(x, noise)
        x = lrelu(x + ops.cast(self.bias, x.dtype))
        x = clamp(x, self.conv_clamp)
        if self.use_pixel_norm:
            x = pixel_norm(x)
        if self.use_instance_norm:
            x = instance_norm(x)
        if self.style is not None:
            x = self.style(x, w)
        return x

    def compute_output_shape(self, x_shape, w_shape=None):
        return x_shape

    def get_config(self):
        return {**super().get_config(), "channels": self.channels, "use_noise": self.use_noise,
                "use_pixel_norm": self.use_pixel_norm, "use_instance_norm": self.use_instance_norm,
                "use_styles": self.use_styles, "conv_clamp": self.conv_clamp}


