"""Resampling for the geometric augmentations (StyleGAN2-ADA `training/augment.py`, Sec. 2.2 / App. B.2).

The official pipeline warps an image band-limited: reflect padding, x2 upsampling with the
sym6 wavelet low-pass filter (`upfirdn2d.upsample2d`), bilinear `grid_sample` (zero
padding, `align_corners=False`) at the warped pixel centres, then x2 downsampling with the
flipped filter (`upfirdn2d.downsample2d`, `flip_filter=True`). This module holds those
building blocks in TensorFlow, on NHWC float32 tensors with dynamic height and width
(the padding depends on the drawn transforms).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

# Daubechies' symlet with 6 vanishing moments, decomposition low-pass (12 taps, sum sqrt(2)),
# as published (PyWavelets `sym6.dec_lo`, the `wavelets['sym6']` table of ADA `augment.py`).
SYM6 = np.array([
    0.015404109327027373, 0.0034907120842174702, -0.11799011114819057, -0.048311742585633,
    0.4910559419267466, 0.787641141030194, 0.3379294217276218, -0.07263752278646252,
    -0.021060292512300564, 0.04472490177066578, 0.0017677118642428036, -0.007800708325034148,
])

# Padding the geometric filter needs, in pixels of the input (official `Hz_pad` = taps // 4).
FILTER_PAD = SYM6.size // 4


def normalized_filter(taps=SYM6) -> np.ndarray:
    """The 1-D filter normalised to sum 1 (official `upfirdn2d.setup_filter`)."""
    taps = np.asarray(taps, np.float64)
    return taps / taps.sum()


def _separable(x, taps, axis, stride=1):
    """Correlates every channel of x [N, H, W, C] with the 1-D `taps` along axis 1 or 2 (VALID)."""
    channels = int(x.shape[-1])
    k = tf.constant(np.asarray(taps, np.float32))
    shape = [len(taps), 1] if axis == 1 else [1, len(taps)]
    kernel = tf.tile(tf.reshape(k, shape + [1, 1]), [1, 1, channels, 1])
    y = tf.nn.depthwise_conv2d(x, kernel, strides=[1, 1, 1, 1], padding="VALID")
    if stride > 1:
        y = y[:, ::stride] if axis == 1 else y[:, :, ::stride]
    return y


def upsample2x(x, taps=SYM6):
    """x2 upsampling as `upfirdn2d.upsample2d(x, f, up=2)`: zero insertion, pad (6, 5), convolution
    with the normalised filter times gain 2 per axis (4 in all). [N, H, W, C] -> [N, 2H, 2W, C]."""
    f = normalized_filter(taps)
    n = len(f)
    shape = tf.shape(x)
    channels = int(x.shape[-1])
    zeros = tf.zeros_like(x)
    x = tf.reshape(tf.stack([x, zeros], axis=2), [shape[0], shape[1] * 2, shape[2], channels])
    x = tf.reshape(tf.stack([x, tf.zeros_like(x)], axis=3), [shape[0], shape[1] * 2, shape[2] * 2, channels])
    pad = [(n + 1) // 2, (n - 2) // 2]
    x = tf.pad(x, [[0, 0], pad, pad, [0, 0]])
    # A convolution is a correlation with the flipped filter.
    g = f[::-1] * 2.0
    return _separable(_separable(x, g, axis=1), g, axis=2)


def downsample2x(x, taps=SYM6, crop=0):
    """x2 downsampling as `upfirdn2d.downsample2d(x, f, down=2, padding=-crop, flip_filter=True)`:
    pad (5, 5) - crop per side, correlation with the normalised filter, every second pixel."""
    f = normalized_filter(taps)
    n = len(f)
    before, after = (n - 1) // 2 - crop, (n - 2) // 2 - crop
    if before < 0 or after < 0:
        x = x[:, -min(before, 0):tf.shape(x)[1] + min(after, 0), -min(before, 0):tf.shape(x)[2] + min(after, 0)]
    pads = [max(before, 0), max(after, 0)]
    if pads != [0, 0]:
        x = tf.pad(x, [[0, 0], pads, pads, [0, 0]])
    return _separable(_separable(x, f, axis=1, stride=2), f, axis=2, stride=2)


def affine_grid(theta, height, width):
    """`torch.nn.functional.affine_grid(theta, size, align_corners=False)` in NHWC.

    theta [N, 2, 3] maps normalised output coordinates (x, y, 1) in [-1, 1] to normalised
    input coordinates; returns [N, height, width, 2] (x, y).
    """
    xs = (2.0 * tf.range(width, dtype=tf.float32) + 1.0) / width - 1.0
    ys = (2.0 * tf.range(height, dtype=tf.float32) + 1.0) / height - 1.0
    gx, gy = tf.meshgrid(xs, ys)
    base = tf.stack([gx, gy, tf.ones_like(gx)], axis=-1)  # [H, W, 3]
    return tf.einsum("hwk,nik->nhwi", base, theta)


def grid_sample(images, grid):
    """Bilinear `grid_sample(images, grid, padding_mode='zeros', align_corners=False)` in NHWC.

    images [N, Hi, Wi, C]; grid [N, Ho, Wo, 2] normalised (x, y). Samples outside the image
    read zeros. Differentiable with respect to the images.
    """
    shape = tf.shape(images)
    n, hi, wi = shape[0], shape[1], shape[2]
    channels = int(images.shape[-1])
    ix = ((grid[..., 0] + 1.0) * tf.cast(wi, tf.float32) - 1.0) * 0.5
    iy = ((grid[..., 1] + 1.0) * tf.cast(hi, tf.float32) - 1.0) * 0.5
    x0, y0 = tf.floor(ix), tf.floor(iy)
    wx1, wy1 = ix - x0, iy - y0
    x0, y0 = tf.cast(x0, tf.int32), tf.cast(y0, tf.int32)
    flat = tf.reshape(images, [-1, channels])
    batch = tf.reshape(tf.range(n), [-1, 1, 1]) * (hi * wi)
    out = 0.0
    for dy, wy in ((0, 1.0 - wy1), (1, wy1)):
        for dx, wx in ((0, 1.0 - wx1), (1, wx1)):
            x, y = x0 + dx, y0 + dy
            valid = (x >= 0) & (x < wi) & (y >= 0) & (y < hi)
            index = batch + tf.clip_by_value(y, 0, hi - 1) * wi + tf.clip_by_value(x, 0, wi - 1)
            weight = tf.where(valid, wx * wy, 0.0)
            out = out + tf.gather(flat, index) * weight[..., None]
    return out
