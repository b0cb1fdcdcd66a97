"""The alias-free synthesis network (paper sec. 3-4, appendix F; official `SynthesisInput`,
`SynthesisLayer`, `SynthesisNetwork` in `training/networks_stylegan3.py`), NHWC.

    x = FourierFeatures(w_0)                          # [N, 36, 36, C0] at 1024
    for i in 0..13: x = L_i(x, w_{i+1})               # modulated conv + filtered leaky ReLU
    image = ToRGB(x, w_15) * 0.25                     # [N, res, res, 3]

Differences in form, not in function, from the official code: weights are stored in Keras
layout (conv [k, k, in, out], dense [in, out]); the modulated convolution is computed
unfused (x * s, one conv with the shared weight, * d), which is the official grouped
convolution's maths exactly; the filters are compile-time constants designed from the
config (the official stores them as buffers).
"""

from __future__ import annotations

import math

import keras
import numpy as np
from keras import ops

from stylegan_tf.networks.layers import EqualizedDense, build_dims, lerp, register
from stylegan_tf.networks.stylegan3.config import StyleGAN3Config
from stylegan_tf.networks.stylegan3.filtered_lrelu import LRELU_GAIN, LRELU_SLOPE, filtered_lrelu
from stylegan_tf.networks.stylegan3.filters import band_schedule, layer_specs


def make_transform(translate=(0.0, 0.0), angle=0.0) -> np.ndarray:
    """The 3x3 matrix that translates by `translate` (in units of the image width, x then y) and
    rotates by `angle` degrees; its inverse is the input `transform` (official `gen_images.py`)."""
    s, c = math.sin(math.radians(angle)), math.cos(math.radians(angle))
    return np.array([[c, s, translate[0]], [-s, c, translate[1]], [0.0, 0.0, 1.0]])


def _fourier_frequencies(channels, bandwidth):
    """Frequencies drawn uniformly from the disc of radius `bandwidth` (official: randn / (r exp(r^2)^(1/4)))."""
    def init(shape, dtype=None):
        f = keras.random.normal((channels, 2), dtype="float32")
        radii = ops.sqrt(ops.sum(ops.square(f), axis=1, keepdims=True))
        return f / (radii * ops.power(ops.exp(ops.square(radii)), 0.25)) * bandwidth
    return init


@register
class StyleGAN3SynthesisInput(keras.layers.Layer):
    """Fourier features with a learned rotation and translation (paper sec. 3.1, appendix F.1).

    The affine layer (weights 0, bias [1, 0, 0, 0] at init) maps w to (r_c, r_s, t_x, t_y);
    after normalising (r_c, r_s) the features are sampled on a `size` x `size` grid of
    spacing 1 / sampling_rate centred on the origin:

        T = R(r_c, r_s) @ Tr(-t_x, -t_y) @ transform      (transform: user inverse transform)
        x = sin(2 pi (grid . (f T) + phase + f . T[:2, 2])) * clip(1 - (|f T| - bw) / (s/2 - bw), 0, 1)
        out = x @ weight / sqrt(C)

    Args:
        w_dim: int. Width of w.
        channels: int. Number of features C.
        size: int. Output size.
        sampling_rate: float. Output sampling rate s.
        bandwidth: float. Radius of the frequency disc (the first cutoff).

    Call arguments:
        w: [N, w_dim].

    Returns:
        [N, size, size, channels].
    """

    def __init__(self, w_dim, channels, size, sampling_rate, bandwidth, **kwargs):
        super().__init__(**kwargs)
        self.w_dim, self.channels, self.size = int(w_dim), int(channels), int(size)
        self.sampling_rate, self.bandwidth = float(sampling_rate), float(bandwidth)
        if self.sampling_rate / 2 <= self.bandwidth:
            raise ValueError(f"bandwidth must be below sampling_rate / 2. Received: bandwidth={bandwidth}, "
                             f"sampling_rate={sampling_rate}")
        self.affine = EqualizedDense(4, gain=1.0, use_bias=True, name="affine", dtype="float32")

    def build(self, input_shape=None):
        c = self.channels
        build_dims(self.affine, (None, self.w_dim))
        self.affine.kernel.assign(np.zeros(self.affine.kernel.shape, np.float32))
        self.affine.bias.assign(np.array([1.0, 0.0, 0.0, 0.0], np.float32))
        self.weight = self.add_weight(name="weight", shape=(c, c), initializer=keras.initializers.RandomNormal(0, 1))
        self.transform = self.add_weight(name="transform", shape=(3, 3), trainable=False,
                                         initializer=keras.initializers.Identity())
        self.freqs = self.add_weight(name="freqs", shape=(c, 2), trainable=False,
                                     initializer=_fourier_frequencies(c, self.bandwidth))
        self.phases = self.add_weight(name="phases", shape=(c,), trainable=False,
                                      initializer=keras.initializers.RandomUniform(-0.5, 0.5))
        # Sample positions (official affine_grid, align_corners False): (j + 0.5 - size/2) / s.
        axis = (np.arange(self.size) + 0.5 - self.size / 2) / self.sampling_rate
        gx, gy = np.meshgrid(axis, axis)
        self.grid = np.stack([gx, gy], axis=-1).astype(np.float32)          # [H, W, (x, y)]

    def call(self, w):
        t = self.affine(ops.cast(w, "float32"))                             # (r_c, r_s, t_x, t_y)
        t = t / ops.sqrt(ops.sum(ops.square(t[:, :2]), axis=1, keepdims=True))
        rc, rs, tx, ty = t[:, 0], t[:, 1], t[:, 2], t[:, 3]
        zeros, ones = ops.zeros_like(rc), ops.ones_like(rc)
        m_r = ops.stack([ops.stack([rc, -rs, zeros], -1), ops.stack([rs, rc, zeros], -1),
                         ops.stack([zeros, zeros, ones], -1)], axis=1)       # inverse rotation [N, 3, 3]
        m_t = ops.stack([ops.stack([ones, zeros, -tx], -1), ops.stack([zeros, ones, -ty], -1),
                         ops.stack([zeros, zeros, ones], -1)], axis=1)       # inverse translation
        transforms = ops.matmul(ops.matmul(m_r, m_t), ops.cast(self.transform, "float32")[None])
        freqs = ops.cast(self.freqs, "float32")[None]                        # [1, C, 2]
        phases = ops.cast(self.phases, "float32")[None] + ops.matmul(freqs, transforms[:, :2, 2:])[..., 0]
        freqs = ops.matmul(freqs, transforms[:, :2, :2])                     # [N, C, 2]
        # Dampen frequencies pushed out of band by the user transform.
        norms = ops.sqrt(ops.sum(ops.square(freqs), axis=2))
        amplitudes = ops.clip(1 - (norms - self.bandwidth) / (self.sampling_rate / 2 - self.bandwidth), 0, 1)
        x = ops.einsum("hwk,nck->nhwc", self.grid, freqs) + phases[:, None, None, :]
        x = ops.sin(x * (2 * np.pi)) * amplitudes[:, None, None, :]
        x = ops.matmul(x, ops.cast(self.weight, "float32") / np.sqrt(self.channels))
        return ops.cast(x, self.compute_dtype)

    def compute_output_shape(self, w_shape):
        return (w_shape[0], self.size, self.size, self.channels)

    def get_config(self):
        return {**super().get_config(), "w_dim": self.w_dim, "channels": self.channels, "size": self.size,
                "sampling_rate": self.sampling_rate, "bandwidth": self.bandwidth}


@register
class StyleGAN3SynthesisLayer(keras.layers.Layer):
    """One layer (appendix F.2): magnitude-normalised modulated conv + filtered leaky ReLU; or ToRGB.

    The input is divided by sqrt(magnitude_ema), the running mean of E[x^2] (updated only
    when `update_emas`). Modulated conv as SG3: W / rms(W) per output channel, styles /
    rms(styles) over the whole [N, C_in] tensor, modulate, demodulate (eps 1e-8), padding
    k - 1. ToRGB: styles / sqrt(C_in k^2), no demodulation, linear, no filters. Then
    `filtered_lrelu` with the layer's factors, filters and padding, clamp `conv_clamp`.

    Args:
        config: `StyleGAN3Config` or its dict.
        index: int. Layer index, 0..synthesis_layers (the last is ToRGB).

    Call arguments:
        x: [N, in_size, in_size, in_channels].
        w: [N, w_dim].
        update_emas: bool. Update magnitude_ema (official: the discriminator's fake pass).

    Returns:
        [N, out_size, out_size, out_channels].
    """

    def __init__(self, config, index, **kwargs):
        super().__init__(**kwargs)
        self.config = StyleGAN3Config.coerce(config)
        specs = layer_specs(self.config)
        if not 0 <= int(index) < len(specs):
            raise ValueError(f"index must be in [0, {len(specs)}). Received: index={index}")
        self.index = int(index)
        self.spec = specs[self.index]
        self.up_filter = self.spec.up_filter()
        self.down_filter = self.spec.down_filter()
        self.affine = EqualizedDense(self.spec.in_channels, gain=1.0, use_bias=True, bias_init=1.0, name="affine",
                                     dtype="float32")

    def build(self, x_shape=None, w_shape=None):
        s = self.spec
        build_dims(self.affine, (None, self.config.w_dim))
        k = s.conv_kernel
        self.weight = self.add_weight(name="weight", shape=(k, k, s.in_channels, s.out_channels),
                                      initializer=keras.initializers.RandomNormal(0, 1))
        self.bias = self.add_weight(name="bias", shape=(s.out_channels,), initializer="zeros")
        # aggregation "mean": an update in a replica context of tf.distribute averages over replicas.
        self.magnitude_ema = self.add_weight(name="magnitude_ema", shape=(), trainable=False, initializer="ones",
                                             aggregation="mean")

    def call(self, x, w, update_emas=False):
        s = self.spec
        if update_emas:
            # Statistics in float32: the mean of squares overflows in float16.
            magnitude = ops.mean(ops.square(ops.cast(x, "float32")))
            self.magnitude_ema.assign(lerp(magnitude, self.magnitude_ema, self.config.magnitude_ema_beta))
        input_gain = ops.rsqrt(ops.cast(self.magnitude_ema, "float32"))
        styles = self.affine(ops.cast(w, "float32"))                          # [N, I]
        weight = ops.cast(self.weight, "float32")                             # [k, k, I, O]
        if s.is_torgb:
            styles = styles / np.sqrt(s.in_channels * s.conv_kernel**2)
            out_scale = input_gain
        else:
            # Pre-normalise, then demodulate: d[n, o] = rsqrt(sum_{k,i} (W[k, i, o] s[n, i])^2 + 1e-8).
            weight = weight * ops.rsqrt(ops.mean(ops.square(weight), axis=[0, 1, 2], keepdims=True))
            styles = styles * ops.rsqrt(ops.mean(ops.square(styles)))
            w_sq = ops.sum(ops.square(weight), axis=[0, 1])                   # [I, O]
            out_scale = ops.rsqrt(ops.matmul(ops.square(styles), w_sq) + 1e-8) * input_gain   # [N, O]
        dtype = self.compute_dtype
        x = ops.cast(x, dtype) * ops.cast(styles[:, None, None, :], dtype)
        pad = s.conv_kernel - 1
        if pad:
            x = ops.pad(x, [[0, 0], [pad, pad], [pad, pad], [0, 0]])
        x = ops.conv(x, ops.cast(weight, dtype), strides=1, padding="valid")
        x = x * ops.cast(ops.reshape(out_scale, [-1, 1, 1, s.out_channels if not s.is_torgb else 1]), dtype)
        return filtered_lrelu(
            x, self.up_filter, self.down_filter, self.bias, up=s.up_factor, down=s.down_factor,
            padding=s.padding, gain=1.0 if s.is_torgb else LRELU_GAIN, slope=1.0 if s.is_torgb else LRELU_SLOPE,
            clamp=self.config.conv_clamp)

    def compute_output_shape(self, x_shape, w_shape=None):
        return (x_shape[0], self.spec.out_size, self.spec.out_size, self.spec.out_channels)

    def get_config(self):
        return {**super().get_config(), "config": self.config.to_dict(), "index": self.index}


@register
class StyleGAN3SynthesisNetwork(keras.layers.Layer):
    """Fourier input, `synthesis_layers` layers and ToRGB, times `output_scale` (official `SynthesisNetwork`).

    Layer names are the official module names (`L0_36_512`, ..., `L14_1024_3` for T at 1024).
    Under a mixed policy, layers with `use_fp16` (official) compute in its dtype, the others
    (and the Fourier input) in float32; the image is float32.
    SG3 has no noise inputs; `noise_mode` is accepted for the common generator interface
    and ignored, as in the official code.

    Args:
        config: `StyleGAN3Config` or its dict.
        seed: optional int seeding `seed_generator` (draws of the common interface, e.g. style mixing).

    Call arguments:
        ws: [N, num_ws, w_dim] (num_ws = synthesis_layers + 2).
        update_emas: bool. Update the layers' magnitude EMAs.

    Returns:
        images [N, resolution, resolution, num_channels] float32.
    """

    def __init__(self, config, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.config = StyleGAN3Config.coerce(config)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        c = self.config
        b = band_schedule(c)
        self.specs = layer_specs(c)
        self.input_layer = StyleGAN3SynthesisInput(
            c.w_dim, int(b.channels[0]), int(b.sizes[0]), float(b.sampling_rates[0]), float(b.cutoffs[0]),
            name="input", dtype="float32")
        self.layers_ = [StyleGAN3SynthesisLayer(c, spec.index, name=spec.name, dtype=self._layer_policy(spec))
                        for spec in self.specs]

    def _layer_policy(self, spec):
        """Mixed precision as the official `use_fp16`: the policy's dtype for layers with
        sampling rate * 2**num_fp16_res > resolution, float32 for the others (and the input)."""
        if self.dtype_policy.compute_dtype == "float32" or not spec.use_fp16:
            return "float32"
        return self.dtype_policy

    def build(self, input_shape=None):
        c = self.config
        build_dims(self.input_layer, (None, c.w_dim))
        for layer, spec in zip(self.layers_, self.specs):
            build_dims(layer, (None, spec.in_size, spec.in_size, spec.in_channels), (None, c.w_dim))

    def call(self, ws, update_emas=False):
        c = self.config
        if ws.shape[1] is not None and ws.shape[1] != c.num_ws or ws.shape[-1] != c.w_dim:
            raise ValueError(f"ws must have shape [N, {c.num_ws}, {c.w_dim}]. Received: {tuple(ws.shape)}")
        ws = ops.cast(ws, "float32")
        x = self.input_layer(ws[:, 0])
        for i, layer in enumerate(self.layers_):
            x = layer(x, ws[:, i + 1], update_emas=update_emas)
        return ops.cast(x, "float32") * c.output_scale

    def compute_output_shape(self, ws_shape):
        c = self.config
        return (ws_shape[0], c.resolution, c.resolution, c.num_channels)

    def get_config(self):
        return {**super().get_config(), "config": self.config.to_dict(), "seed": self.seed}


SynthesisInput = StyleGAN3SynthesisInput
SynthesisLayer = StyleGAN3SynthesisLayer
SynthesisNetwork = StyleGAN3SynthesisNetwork
