"""StyleGAN2's plain convolution: runtime weight scaling, FIR resampling, `bias_act` (official
`conv2d_layer` + `apply_bias_act`; ADA `Conv2dLayer`, `conv2d_resample`, `bias_act`).

Differences from v1's `EqualizedConv2D`: the gain sits after the activation
(`bias_act`: x + b -> lrelu(0.2) -> * gain -> clamp), not in the weight; up/down
sampling is the [1, 3, 3, 1] FIR of `upfirdn`, not nearest/box with a blur.
"""

from __future__ import annotations

import math

import keras
from keras import ops

from stylegan_tf.networks.layers import SQRT2, lrelu, register, resampled_shape
from stylegan_tf.networks.stylegan2.upfirdn import downsample2d, upfirdn2d, upsample2d

ACTIVATIONS = ("linear", "lrelu")
DEFAULT_GAINS = {"linear": 1.0, "lrelu": SQRT2}


def bias_act(x, bias=None, activation="linear", gain=1.0, clamp=None):
    """Official `bias_act`: x + b (per channel, last axis), activation, * (default gain * gain), clamp.

    The default gain is sqrt(2) for lrelu and 1 for linear; `clamp` (if not None) limits
    the result to [-clamp, clamp] after the gain, as ADA's `conv_clamp` (scaled by the
    caller's `gain`).
    """
    if bias is not None:
        x = x + ops.cast(bias, x.dtype)
    if activation == "lrelu":
        x = lrelu(x)
    elif activation != "linear":
        raise ValueError(f"activation must be one of {ACTIVATIONS}. Received: activation={activation!r}")
    total_gain = DEFAULT_GAINS[activation] * gain
    if total_gain != 1.0:
        x = x * total_gain
    if clamp is not None:
        x = ops.clip(x, -clamp, clamp)
    return x


def conv_transpose_up(x, kernel):
    """TF `upsample_conv_2d`'s transposed conv: [N, H, W, I] -> [N, 2H + k - 2, 2W + k - 2, O].

    The stored HWIO kernel acts as an ordinary correlation on the zero-inserted input
    (official TF semantics): a stride-2 transposed conv (VALID) with the kernel flipped.
    """
    flipped = ops.transpose(kernel[::-1, ::-1], [0, 1, 3, 2])  # Keras wants [k, k, out, in].
    return ops.conv_transpose(x, flipped, strides=2, padding="valid")


def conv_up(x, kernel, resample_filter):
    """Official up-conv: transposed conv stride 2, then the FIR (gain 4); 1x1 kernels: conv, then upsample2d.

    For a k x k kernel the transposed conv gives 2H + k - 2 pixels (2H + 1 for 3x3); the
    FIR, padded as TF `upsample_conv_2d` ((1, 1) for a 3x3 kernel and 4 taps), brings it
    back to 2H.
    """
    k = kernel.shape[0]
    if k == 1:
        return upsample2d(ops.conv(x, kernel, padding="valid"), resample_filter)
    y = conv_transpose_up(x, kernel)
    p = (len(resample_filter) - 2) - (k - 1)
    return upfirdn2d(y, resample_filter, padding=((p + 1) // 2 + 1, p // 2 + 1), gain=4.0)


def conv_down(x, kernel, resample_filter):
    """Official down-conv: FIR padded (2, 2) for 3x3 (then conv stride 2 VALID); 1x1: downsample2d then conv."""
    k = kernel.shape[0]
    if k == 1:
        return ops.conv(downsample2d(x, resample_filter), kernel, padding="valid")
    taps = len(resample_filter)
    pad0, pad1 = (taps - 2 + 1) // 2 + k // 2, (taps - 2) // 2 + k // 2
    x = upfirdn2d(x, resample_filter, padding=(pad0, pad1, pad0, pad1))
    return ops.conv(x, kernel, strides=2, padding="valid")


def check_conv_args(filters, kernel_size, activation):
    """The constructor checks shared by the convolution layers (messages name the argument)."""
    if int(filters) < 1:
        raise ValueError(f"filters must be positive. Received: filters={filters}")
    if int(kernel_size) < 1 or int(kernel_size) % 2 == 0:
        raise ValueError(f"kernel_size must be a positive odd integer. Received: kernel_size={kernel_size}")
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {ACTIVATIONS}. Received: activation={activation!r}")


def conv_same(x, kernel):
    return ops.conv(x, kernel, strides=1, padding="same")


@register
class Conv2DLayer(keras.layers.Layer):
    """Convolution with runtime 1/sqrt(fan_in) weight scaling, optional FIR up/down, bias and `bias_act`.

    Weights (official names in brackets): `weight` [k, k, in, out] HWIO, N(0, 1)
    (TF `weight`; ADA `weight` [out, in, k, k]); `bias` [out] (TF/ADA `bias`).

    Args:
        filters: int. Output channels.
        kernel_size: int. Odd (or 1).
        activation: "linear" or "lrelu". Defaults to "linear".
        use_bias: bool. Defaults to True.
        resample: None, "up" (G's resnet skip) or "down" (D). Defaults to None.
        resample_filter: FIR taps. Defaults to (1, 3, 3, 1).
        conv_clamp: float or None. Clamp of the output (scaled by the call's gain).
        lr_multiplier: float. Defaults to 1.

    Call arguments:
        x: [N, H, W, in].
        gain: float. Extra gain after the activation (ADA: sqrt(0.5) in residual branches).
    """

    def __init__(self, filters, kernel_size, activation="linear", use_bias=True, resample=None,
                 resample_filter=(1, 3, 3, 1), conv_clamp=None, lr_multiplier=1.0, **kwargs):
        super().__init__(**kwargs)
        check_conv_args(filters, kernel_size, activation)
        if resample not in (None, "up", "down"):
            raise ValueError(f"resample must be None, 'up' or 'down'. Received: resample={resample!r}")
        self.filters = int(filters)
        self.kernel_size = int(kernel_size)
        self.activation = activation
        self.use_bias = bool(use_bias)
        self.resample = resample
        self.resample_filter = tuple(float(t) for t in resample_filter)
        self.conv_clamp = None if conv_clamp is None else float(conv_clamp)
        self.lr_multiplier = float(lr_multiplier)

    def build(self, input_shape):
        in_channels = int(input_shape[-1])
        k = self.kernel_size
        self.weight_scale = self.lr_multiplier / math.sqrt(k * k * in_channels)
        self.weight = self.add_weight(name="weight", shape=(k, k, in_channels, self.filters),
                                      initializer=keras.initializers.RandomNormal(0.0, 1.0 / self.lr_multiplier))
        self.bias = (self.add_weight(name="bias", shape=(self.filters,), initializer="zeros")
                     if self.use_bias else None)

    def call(self, x, gain=1.0):
        x = ops.cast(x, self.compute_dtype)
        w = ops.cast(self.weight * self.weight_scale, x.dtype)
        if self.resample == "up":
            x = conv_up(x, w, self.resample_filter)
        elif self.resample == "down":
            x = conv_down(x, w, self.resample_filter)
        else:
            x = conv_same(x, w)
        bias = None if self.bias is None else self.bias * self.lr_multiplier
        clamp = None if self.conv_clamp is None else self.conv_clamp * gain
        return bias_act(x, bias, self.activation, gain=gain, clamp=clamp)

    def compute_output_shape(self, input_shape):
        return resampled_shape(input_shape, self.resample, self.filters)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size,
                "activation": self.activation, "use_bias": self.use_bias, "resample": self.resample,
                "resample_filter": list(self.resample_filter), "conv_clamp": self.conv_clamp,
                "lr_multiplier": self.lr_multiplier}
