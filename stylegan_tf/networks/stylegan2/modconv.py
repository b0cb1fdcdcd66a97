"""Modulated convolution with weight demodulation (StyleGAN2 sec. 2.2, eq. 1-3; official
`modulated_conv2d_layer` / ADA `modulated_conv2d`, `SynthesisLayer`, `ToRGBLayer`).

    s = A(w)                                    # style per input channel (affine, bias init 1)
    w'_ijk = s_i * w_ijk                        # modulate (eq. 1)
    d_j = rsqrt(sum_{i,k} w'_ijk^2 + 1e-8)      # demodulate (eq. 3), per output channel
    w''_ijk = d_j * w'_ijk

Two forms compute the same function: the "fused" one builds per-sample kernels and runs
one grouped convolution (the batch folded into the channels, groups = N), the other
scales the activations instead (x * s, the shared conv, * d). ADA uses the fused form
for inference only; `StyleGAN2Config.fused_modconv` picks ("auto": fused when not
training and float32 or batch 1).
"""

from __future__ import annotations

import math

import sys

import keras
from keras import ops

from stylegan_tf.networks.layers import EqualizedDense, build_dims, register
from stylegan_tf.networks.stylegan2.conv import bias_act, check_conv_args, conv_up
from stylegan_tf.networks.stylegan2.upfirdn import pad_or_crop, upfirdn2d, zero_insert

FUSED_MODES = ("auto", "always", "never")


def _grouped(x, kernels, up, resample_filter):
    """Per-sample kernels [N, k, k, I, O] as one grouped conv over [1, H, W, N*I] (official fused form)."""
    n, h, w, i = x.shape
    k, o = kernels.shape[1], kernels.shape[4]
    if n == 1:  # One group: the per-sample kernel in the ordinary (transposed) convolution.
        return conv_up(x, kernels[0], resample_filter) if up else ops.conv(x, kernels[0], strides=1, padding="same")
    xg = ops.reshape(ops.transpose(x, [1, 2, 0, 3]), [1, h, w, n * i])
    wg = ops.reshape(ops.transpose(kernels, [1, 2, 3, 0, 4]), [k, k, i, n * o])
    if up:
        # The transposed conv of `conv_up` as a correlation on the zero-inserted grid (grouped
        # transposed convs are not in keras.ops); the FIR (gain 4) is the same.
        y = pad_or_crop(zero_insert(xg, 2), k - 1, k - 2, k - 1, k - 2)
        y = ops.conv(y, wg, strides=1, padding="valid")
        p = (len(resample_filter) - 2) - (k - 1)
        y = upfirdn2d(y, resample_filter, padding=((p + 1) // 2 + 1, p // 2 + 1), gain=4.0)
    else:
        y = ops.conv(xg, wg, strides=1, padding="same")
    hh, ww = y.shape[1], y.shape[2]
    return ops.transpose(ops.reshape(y, [hh, ww, n, o]), [2, 0, 1, 3])


def _eager_tensorflow() -> bool:
    """True when running eagerly on the TensorFlow backend. Keras runs TF's grouped convolution
    through a new XLA-compiled function on every eager call (TF has no CPU kernel for it), so
    "auto" then takes the non-fused form, which computes the same function (tested equal)."""
    if keras.config.backend() != "tensorflow":
        return False
    tf = sys.modules.get("tensorflow")
    return tf is not None and tf.executing_eagerly()


def modulated_conv2d(x, weight, styles, demodulate=True, up=False, fused=False, resample_filter=(1, 3, 3, 1)):
    """The (de)modulated convolution of x [N, H, W, I] with weight [k, k, I, O] and styles [N, I].

    `weight` is the effective (already 1/sqrt(fan_in)-scaled) kernel and `styles` the
    affine output, both float32: the modulation and demodulation coefficients are
    computed in float32, the convolution in x's dtype. Under float16 the ADA guard
    rescales the weight per output channel and the styles per sample by their maxima
    first (demodulation cancels both). `up` doubles the resolution as `conv.conv_up`.

    Returns:
        [N, H', W', O] in x's dtype (H' = 2H with `up`).
    """
    dtype = x.dtype
    weight = ops.cast(weight, "float32")
    styles = ops.cast(styles, "float32")
    k, in_channels = weight.shape[0], weight.shape[2]
    if demodulate and str(dtype) == "float16":
        weight = weight * (1.0 / math.sqrt(k * k * in_channels)
                           / ops.max(ops.abs(weight), axis=[0, 1, 2], keepdims=True))
        styles = styles / ops.max(ops.abs(styles), axis=1, keepdims=True)
    dcoefs = None
    if demodulate:
        # d_j = rsqrt(sum_i s_i^2 * sum_k w_ijk^2 + eps): eq. 3 without forming w'.
        dcoefs = ops.rsqrt(ops.matmul(ops.square(styles), ops.sum(ops.square(weight), axis=[0, 1])) + 1e-8)
    if fused:
        kernels = weight[None] * styles[:, None, None, :, None]
        if dcoefs is not None:
            kernels = kernels * dcoefs[:, None, None, None, :]
        return _grouped(x, ops.cast(kernels, dtype), up, resample_filter)
    x = x * ops.cast(styles[:, None, None, :], dtype)
    w = ops.cast(weight, dtype)
    x = conv_up(x, w, resample_filter) if up else ops.conv(x, w, strides=1, padding="same")
    if dcoefs is not None:
        x = x * ops.cast(dcoefs[:, None, None, :], dtype)
    return x


@register
class ModulatedConv2D(keras.layers.Layer):
    """A synthesis layer: modulated conv, noise, bias, activation (ADA `SynthesisLayer`; `ToRGBLayer` with
    `demodulate=False, use_noise=False, activation="linear"`).

    Weights, in the official creation order (TF name / ADA name):
        `weight` [k, k, in, out] HWIO, N(0, 1), scaled at run time by 1/sqrt(k*k*in)
            (TF `weight`; ADA `weight` [out, in, k, k], spatially flipped for up-convs);
        `affine/kernel` [w_dim, in], `affine/bias` [in] init 1 (TF `mod_weight`, `mod_bias` + 1;
            ADA `affine.weight` [in, w_dim], `affine.bias`);
        `noise_strength` [] init 0 (with noise; TF/ADA `noise_strength`);
        `bias` [out] init 0 (TF/ADA `bias`);
        `noise_const` [1, H, W, 1] N(0, 1), non-trainable (TF `noise{i}` [1, 1, H, W];
            ADA `noise_const` [H, W]).

    Args:
        filters: int. Output channels.
        kernel_size: int. 3 (conv) or 1 (ToRGB).
        demodulate: bool. Defaults to True.
        up: bool. Upsampling conv (`Conv0_up`). Defaults to False.
        use_noise: bool. Defaults to True.
        activation: "lrelu" or "linear". Defaults to "lrelu".
        resample_filter: FIR taps. Defaults to (1, 3, 3, 1).
        conv_clamp: float or None. Output clamp (scaled by the call's gain).
        fused_modconv: "auto", "always" or "never". Defaults to "auto".

    Call arguments:
        x: [N, H, W, in] (H, W, in static). w: [N, w_dim].
        noise: [N or 1, H', W', 1] or None (= the fixed `noise_const`).
        use_noise: bool. False adds no noise.
        gain: float. Extra gain after the activation (ADA: sqrt(0.5) in resnet blocks).
        fused: None (from `fused_modconv` and `training`) or bool.
        training: bool. "auto" fuses only when not training.
    """

    def __init__(self, filters, kernel_size=3, demodulate=True, up=False, use_noise=True, activation="lrelu",
                 resample_filter=(1, 3, 3, 1), conv_clamp=None, fused_modconv="auto", **kwargs):
        super().__init__(**kwargs)
        self.autocast = False  # Cast explicitly: w stays float32 for the style affine.
        check_conv_args(filters, kernel_size, activation)
        if fused_modconv not in FUSED_MODES:
            raise ValueError(f"fused_modconv must be one of {FUSED_MODES}. Received: {fused_modconv!r}")
        self.filters = int(filters)
        self.kernel_size = int(kernel_size)
        self.demodulate = bool(demodulate)
        self.up = bool(up)
        self.use_noise = bool(use_noise)
        self.activation = activation
        self.resample_filter = tuple(float(t) for t in resample_filter)
        self.conv_clamp = None if conv_clamp is None else float(conv_clamp)
        self.fused_modconv = fused_modconv

    def build(self, x_shape, w_shape=None):
        in_channels = int(x_shape[-1])
        k = self.kernel_size
        self.weight_scale = 1.0 / math.sqrt(k * k * in_channels)
        # Created first: official order weight, mod_weight, mod_bias, noise_strength, bias.
        self.weight = self.add_weight(name="weight", shape=(k, k, in_channels, self.filters),
                                      initializer=keras.initializers.RandomNormal(0.0, 1.0), autocast=False)
        # The style affine (one style per input channel) runs in float32 under any policy, as ADA.
        self.affine = EqualizedDense(in_channels, gain=1.0, bias_init=1.0, name="affine", dtype="float32")
        build_dims(self.affine, (None, int(w_shape[-1])))
        self.noise_strength = (self.add_weight(name="noise_strength", shape=(), initializer="zeros")
                               if self.use_noise else None)
        self.bias = self.add_weight(name="bias", shape=(self.filters,), initializer="zeros")
        scale = 2 if self.up else 1
        self.noise_const = (self.add_weight(name="noise_const", shape=(1, int(x_shape[1]) * scale,
                                                                     int(x_shape[2]) * scale, 1),
                                            initializer=keras.initializers.RandomNormal(0.0, 1.0),
                                            trainable=False)
                            if self.use_noise else None)

    def resolve_fused(self, batch, training=False) -> bool:
        """Whether this call uses the grouped form: needs a static batch size."""
        if batch is None or self.fused_modconv == "never":
            return False
        if self.fused_modconv == "always":
            return True
        if training or _eager_tensorflow():
            return False
        return self.compute_dtype == "float32" or batch == 1

    def call(self, x, w, noise=None, use_noise=True, gain=1.0, fused=None, training=None):
        x = ops.cast(x, self.compute_dtype)
        styles = self.affine(ops.cast(w, "float32"))
        if not self.demodulate:
            # ToRGB: no demodulation, the 1/sqrt(fan_in) goes on the styles (ADA), same function.
            styles = styles * self.weight_scale
            weight = self.weight
        else:
            weight = self.weight * self.weight_scale
        if fused is None:
            fused = self.resolve_fused(x.shape[0], bool(training))
        x = modulated_conv2d(x, weight, styles, demodulate=self.demodulate, up=self.up, fused=fused,
                             resample_filter=self.resample_filter)
        if self.use_noise and use_noise:
            # Noise: one map for all channels, one learned scalar strength (init 0), before the bias.
            noise = self.noise_const if noise is None else noise
            x = x + ops.cast(noise, x.dtype) * ops.cast(self.noise_strength, x.dtype)
        clamp = None if self.conv_clamp is None else self.conv_clamp * gain
        return bias_act(x, self.bias, self.activation, gain=gain, clamp=clamp)

    def compute_output_shape(self, x_shape, w_shape=None):
        scale = 2 if self.up else 1
        return (x_shape[0], x_shape[1] * scale, x_shape[2] * scale, self.filters)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size,
                "demodulate": self.demodulate, "up": self.up, "use_noise": self.use_noise,
                "activation": self.activation, "resample_filter": list(self.resample_filter),
                "conv_clamp": self.conv_clamp, "fused_modconv": self.fused_modconv}

