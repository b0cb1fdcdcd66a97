"""StyleGAN building blocks as Keras 3 layers (NHWC, `keras.ops` only).

Everything here runs under any Keras backend; nothing imports TensorFlow. Layers
create their weights in `build`, serialise exactly their constructor arguments in
`get_config`, and are registered under the package name "stylegan_tf" so `.keras`
files load without `custom_objects`.

Reference: Karras et al., "A Style-Based Generator Architecture for GANs" (2019),
sec. 2 and appendix C, and ProGAN (Karras et al. 2018) sec. 4 for equalized
learning rate, pixel norm and minibatch standard deviation. Constants follow the
official TensorFlow 1 code (NVlabs/stylegan, `training/networks_stylegan.py`).
"""

from __future__ import annotations

import math

import keras
import numpy as np
from keras import ops

PACKAGE = "stylegan_tf"
SQRT2 = math.sqrt(2.0)
LRELU_SLOPE = 0.2
ACTIVATIONS = (None, "linear", "lrelu")


def register(cls):
    """Registers a layer for `.keras` (de)serialisation under the package name."""
    return keras.saving.register_keras_serializable(package=PACKAGE)(cls)


def lrelu(x):
    """Leaky ReLU with slope 0.2; the official code applies no gain after it."""
    return ops.leaky_relu(x, negative_slope=LRELU_SLOPE)


def _activate(x, activation):
    return lrelu(x) if activation == "lrelu" else x


def _check_activation(activation):
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {ACTIVATIONS}. Received: activation={activation!r}")


def lerp(a, b, t):
    """a + (b - a) * t."""
    return a + (b - a) * t


def lerp_clip(a, b, t):
    """Official `lerp_clip`: a + (b - a) * clip(t, 0, 1); the progressive-growing fade."""
    return a + (b - a) * ops.clip(ops.convert_to_tensor(t), 0.0, 1.0)


def upsample_nearest(x, factor=2):
    """Nearest-neighbour upsampling of [N, H, W, C] by an integer factor (official `upscale2d`)."""
    if factor == 1:
        return x
    return ops.repeat(ops.repeat(x, factor, axis=1), factor, axis=2)


def downsample_box(x, factor=2):
    """Box (average) downsampling of [N, H, W, C] by an integer factor (official `downscale2d`)."""
    if factor == 1:
        return x
    return ops.average_pool(x, pool_size=factor, strides=factor, padding="valid")


_BLUR_1D = np.array([1.0, 2.0, 1.0], dtype=np.float32)
BLUR_KERNEL = np.outer(_BLUR_1D, _BLUR_1D) / np.sum(np.outer(_BLUR_1D, _BLUR_1D))


def blur(x):
    """Normalised [1,2,1] x [1,2,1] blur as a depthwise 3x3 conv, zero-padded 'same' (official `blur2d`).

    The filter is symmetric, so its gradient is the same blur, as in the official code.
    """
    channels = x.shape[-1]
    kernel = np.tile(BLUR_KERNEL[:, :, None, None], [1, 1, channels, 1]).astype(np.float32)
    kernel = ops.cast(ops.convert_to_tensor(kernel), x.dtype)
    return ops.depthwise_conv(x, kernel, strides=1, padding="same")


def fused_kernel(kernel):
    """Official fused-resampling kernel: the 3x3 kernel padded to 4x4 and its four shifted copies summed.

    Args:
        kernel: [k, k, in, out] tensor.
    Returns:
        [k + 1, k + 1, in, out] tensor.
    """
    padded = ops.pad(kernel, [[1, 1], [1, 1], [0, 0], [0, 0]])
    return padded[1:, 1:] + padded[:-1, 1:] + padded[1:, :-1] + padded[:-1, :-1]


def pixel_norm(x, epsilon=1e-8):
    """x / sqrt(mean(x^2 over channels) + eps) (ProGAN sec. 4.2), computed in float32."""
    x32 = ops.cast(x, "float32")
    x32 = x32 * ops.rsqrt(ops.mean(ops.square(x32), axis=-1, keepdims=True) + epsilon)
    return ops.cast(x32, x.dtype)


def minibatch_stddev(x, group_size=4, num_new_features=1):
    """Appends the minibatch standard deviation as extra feature maps (ProGAN sec. 3; official rule).

    The batch is split into M = N / G groups of G = min(group_size, N) samples, sample n
    belonging to group n % M (the official reshape to [G, M, ...]). Channels are split
    into `num_new_features` groups; each new map holds, per group of samples, the
    average over pixels and channels of the per-pixel standard deviation. N must be
    divisible by G, as in the official code. Computed in float32.

    Args:
        x: [N, H, W, C].
    Returns:
        [N, H, W, C + num_new_features].
    """
    height, width, channels = x.shape[1], x.shape[2], x.shape[3]
    static_n = x.shape[0]
    if static_n is not None:
        group = min(group_size, static_n)
        if static_n % group:
            raise ValueError(
                f"Minibatch stddev needs the batch size to be divisible by the group size "
                f"min({group_size}, N). Received: N={static_n}")
    else:
        group = ops.minimum(group_size, ops.shape(x)[0])
    y = ops.cast(x, "float32")
    y = ops.reshape(y, [group, -1, height, width, num_new_features, channels // num_new_features])
    y = y - ops.mean(y, axis=0, keepdims=True)                    # [G, M, H, W, n, c]
    y = ops.sqrt(ops.mean(ops.square(y), axis=0) + 1e-8)          # [M, H, W, n, c]
    y = ops.mean(y, axis=[1, 2, 4])                               # [M, n]
    y = ops.cast(y, x.dtype)
    y = ops.reshape(y, [-1, 1, 1, num_new_features])
    y = ops.tile(y, [group, height, width, 1])                    # [N, H, W, n]
    return ops.concatenate([x, y], axis=-1)


def resampled_shape(input_shape, resample, channels):
    """[N, H, W, C] after a conv with `resample` None, "up" (x2) or "down" (/2), to `channels` maps."""
    n, h, w = input_shape[0], input_shape[1], input_shape[2]
    scale = {None: 1.0, "up": 2.0, "down": 0.5}[resample]
    return (n, None if h is None else int(h * scale), None if w is None else int(w * scale), channels)


@register
class EqualizedDense(keras.layers.Layer):
    """Dense layer with equalized learning rate (ProGAN sec. 4.1; official `dense` + `apply_bias`).

    The stored kernel is drawn from N(0, 1/lr_multiplier) and multiplied at run time
    by `gain / sqrt(fan_in) * lr_multiplier`; the bias starts at zero and is multiplied
    by `lr_multiplier`. The optimizer therefore sees weights of unit scale, and the
    multiplier scales both the effective weight and its gradient.

    Args:
        units: int. Output features.
        gain: float. He gain; sqrt(2) for lrelu layers, 1 for linear ones. Defaults to sqrt(2).
        lr_multiplier: float. Learning-rate multiplier (0.01 in the mapping network). Defaults to 1.
        use_bias: bool. Defaults to True.
        activation: None/"linear" or "lrelu". Defaults to None.
        bias_init: float. Initial value of the stored bias (StyleGAN2's style affine: 1). Defaults to 0.
        act_gain: float. Gain applied after the activation (StyleGAN2 `bias_act`: sqrt(2) for lrelu,
            with `gain=1`; v1 puts its gain in the weight instead). Defaults to 1.

    Call arguments:
        x: [N, in_features].
    """

    def __init__(self, units, gain=SQRT2, lr_multiplier=1.0, use_bias=True, activation=None, bias_init=0.0,
                 act_gain=1.0, **kwargs):
        super().__init__(**kwargs)
        if int(units) < 1:
            raise ValueError(f"units must be positive. Received: units={units}")
        if lr_multiplier <= 0:
            raise ValueError(f"lr_multiplier must be positive. Received: lr_multiplier={lr_multiplier}")
        _check_activation(activation)
        self.units = int(units)
        self.gain = float(gain)
        self.lr_multiplier = float(lr_multiplier)
        self.use_bias = bool(use_bias)
        self.activation = activation
        self.bias_init = float(bias_init)
        self.act_gain = float(act_gain)

    def build(self, input_shape):
        fan_in = int(input_shape[-1])
        self.weight_scale = self.gain / math.sqrt(fan_in) * self.lr_multiplier
        self.kernel = self.add_weight(
            name="kernel", shape=(fan_in, self.units),
            initializer=keras.initializers.RandomNormal(0.0, 1.0 / self.lr_multiplier))
        self.bias = (self.add_weight(name="bias", shape=(self.units,),
                                     initializer=keras.initializers.Constant(self.bias_init))
                     if self.use_bias else None)

    def call(self, x):
        # Equalized lr: effective W = stored W * gain / sqrt(fan_in) * lrmul.
        y = ops.matmul(x, ops.cast(self.kernel * self.weight_scale, x.dtype))
        if self.bias is not None:
            y = y + ops.cast(self.bias * self.lr_multiplier, y.dtype)
        y = _activate(y, self.activation)
        return y * self.act_gain if self.act_gain != 1.0 else y

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "gain": self.gain,
                "lr_multiplier": self.lr_multiplier, "use_bias": self.use_bias, "activation": self.activation,
                "bias_init": self.bias_init, "act_gain": self.act_gain}


@register
class EqualizedConv2D(keras.layers.Layer):
    """2-D convolution with equalized learning rate and optional 2x up/downsampling (official `conv2d`).

    `resample="up"` doubles the resolution: nearest-neighbour upsampling then the conv,
    or, `fused=True`, one stride-2 transposed conv with the kernel padded to 4x4 and its
    shifted copies summed (official `upscale2d_conv2d`). The official fused form applies
    the kernel spatially flipped compared to the plain form: fused(w) equals
    plain(flip(w)) exactly, borders included (tested), so weights trained with one form
    are converted to the other by a flip. `resample="down"` halves it: the conv then a
    2x2 average, or, fused, one stride-2 conv with the summed kernel times 0.25 (official
    `conv2d_downscale2d`), which is the same function exactly.

    Args:
        filters: int. Output channels.
        kernel_size: int. Odd kernel size.
        gain: float. He gain. Defaults to sqrt(2).
        lr_multiplier: float. Defaults to 1.
        use_bias: bool. Defaults to True.
        activation: None/"linear" or "lrelu". Defaults to None.
        resample: None, "up" or "down". Defaults to None.
        fused: bool. Fused resampling (needs a 3x3 kernel and `resample`). Defaults to False.

    Call arguments:
        x: [N, H, W, C_in].
    """

    def __init__(self, filters, kernel_size, gain=SQRT2, lr_multiplier=1.0, use_bias=True, activation=None,
                 resample=None, fused=False, **kwargs):
        super().__init__(**kwargs)
        if int(filters) < 1:
            raise ValueError(f"filters must be positive. Received: filters={filters}")
        if int(kernel_size) < 1 or int(kernel_size) % 2 == 0:
            raise ValueError(f"kernel_size must be a positive odd integer. Received: kernel_size={kernel_size}")
        if resample not in (None, "up", "down"):
            raise ValueError(f"resample must be None, 'up' or 'down'. Received: resample={resample!r}")
        if fused and resample is None:
            raise ValueError("fused=True needs resample='up' or 'down'. Received: resample=None")
        _check_activation(activation)
        self.filters = int(filters)
        self.kernel_size = int(kernel_size)
        self.gain = float(gain)
        self.lr_multiplier = float(lr_multiplier)
        self.use_bias = bool(use_bias)
        self.activation = activation
        self.resample = resample
        self.fused = bool(fused)

    def build(self, input_shape):
        in_channels = int(input_shape[-1])
        fan_in = self.kernel_size * self.kernel_size * in_channels
        self.weight_scale = self.gain / math.sqrt(fan_in) * self.lr_multiplier
        self.kernel = self.add_weight(
            name="kernel", shape=(self.kernel_size, self.kernel_size, in_channels, self.filters),
            initializer=keras.initializers.RandomNormal(0.0, 1.0 / self.lr_multiplier))
        self.bias = (self.add_weight(name="bias", shape=(self.filters,), initializer="zeros")
                     if self.use_bias else None)

    def call(self, x):
        w = ops.cast(self.kernel * self.weight_scale, x.dtype)
        if self.resample == "up" and self.fused:
            # Transposed conv: Keras wants [k, k, out, in].
            w = ops.transpose(fused_kernel(w), [0, 1, 3, 2])
            y = ops.conv_transpose(x, w, strides=2, padding="same")
        elif self.resample == "up":
            y = ops.conv(upsample_nearest(x), w, strides=1, padding="same")
        elif self.resample == "down" and self.fused:
            y = ops.conv(x, fused_kernel(w) * 0.25, strides=2, padding="same")
        elif self.resample == "down":
            y = downsample_box(ops.conv(x, w, strides=1, padding="same"))
        else:
            y = ops.conv(x, w, strides=1, padding="same")
        if self.bias is not None:
            y = y + ops.cast(self.bias * self.lr_multiplier, y.dtype)
        return _activate(y, self.activation)

    def compute_output_shape(self, input_shape):
        return resampled_shape(input_shape, self.resample, self.filters)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size,
                "gain": self.gain, "lr_multiplier": self.lr_multiplier, "use_bias": self.use_bias,
                "activation": self.activation, "resample": self.resample, "fused": self.fused}


def build_dims(layer, *shapes):
    """Builds a layer on explicit shapes (parents build children this way, so every
    weight exists before the first call and `.keras` reloads find them)."""
    if not layer.built:
        layer.build(*shapes)
