"""The filtered leaky ReLU (paper sec. 3.2, Figure 4; official `filtered_lrelu`, reference
implementation `_filtered_lrelu_ref`), NHWC, `keras.ops` only.

    x + bias -> zero-insert x up -> pad (negative = crop) -> FIR up filter (gain up^2)
      -> leaky ReLU (slope) * gain -> clamp +-clamp -> FIR down filter -> keep every down-th

Filters act as convolutions (official `flip_filter=False`); the designed ones are symmetric.
Separable filters are [taps] and applied along H and W; a 2-D filter (R's radial
downsampling filter) is [taps, taps]. The upsampling is computed in polyphase form (one
depthwise conv with `up` output phases per input channel, then interleaved), which equals
zero insertion followed by the FIR without multiplying the inserted zeros; the
downsampling FIR is a strided depthwise conv, computing only the kept samples.
"""

from __future__ import annotations

import math

import numpy as np
from keras import ops

LRELU_SLOPE = 0.2
LRELU_GAIN = math.sqrt(2.0)


def _pad_axis(x, axis, lo, hi):
    """Zero-pads (positive) or crops (negative) `x` along spatial `axis` (1 = H, 2 = W)."""
    if lo > 0 or hi > 0:
        widths = [[0, 0]] * 4
        widths[axis] = [max(lo, 0), max(hi, 0)]
        x = ops.pad(x, widths)
    if lo < 0 or hi < 0:
        length = x.shape[axis]
        start, stop = max(-lo, 0), length - max(-hi, 0)
        x = x[:, start:stop] if axis == 1 else x[:, :, start:stop]
    return x


def _upfir_axis(x, f, up, pad_lo, pad_hi, axis):
    """Zero insertion by `up`, padding (lo, hi) and convolution with the 1-D filter f, along `axis`.

    Polyphase form: the full convolution Y of the zero-inserted signal with f has
    Y[u q + c] = sum_s x[q - s] f[u s + c], one short filter per phase c; the padded,
    valid convolution is then y[m] = Y[m + K - 1 - pad_lo].
    """
    f = np.ones([1], np.float32) if f is None else np.asarray(f, np.float32)
    if up == 1 and f.size == 1:
        return _pad_axis(x * float(f[0]), axis, pad_lo, pad_hi)
    channels, length = x.shape[-1], x.shape[axis]
    taps = f.size
    phase_taps = -(-taps // up)
    phases = np.pad(f, [0, phase_taps * up - taps]).reshape(phase_taps, up)[::-1]  # [S, up], correlation order
    shape = [phase_taps, 1] if axis == 1 else [1, phase_taps]
    kernel = np.tile(phases.reshape(shape + [1, up]), [1, 1, channels, 1]).astype(np.float32)
    y = _pad_axis(x, axis, phase_taps - 1, phase_taps - 1)
    y = ops.depthwise_conv(y, ops.cast(kernel, x.dtype), strides=1, padding="valid")  # [.., C * up]
    n, h, w = ops.shape(y)[0], y.shape[1], y.shape[2]
    if axis == 1:
        y = ops.reshape(ops.transpose(ops.reshape(y, [n, h, w, channels, up]), [0, 1, 4, 2, 3]),
                        [n, h * up, w, channels])
    else:
        y = ops.reshape(ops.transpose(ops.reshape(y, [n, h, w, channels, up]), [0, 1, 2, 4, 3]),
                        [n, h, w * up, channels])
    full = y.shape[axis]                       # = length * up + phase_taps * up - up
    start = taps - 1 - pad_lo
    stop = length * up + pad_hi                 # exclusive end of the needed Y indices
    return _pad_axis(y, axis, -start, stop - full)


def _firdown(x, f, down):
    """Convolution with the filter f ([taps] separable or [taps, taps]), valid, keeping every down-th sample."""
    if f is None:
        return x[:, ::down, ::down] if down > 1 else x
    f = np.asarray(f, np.float32)
    channels = x.shape[-1]
    if f.ndim == 2:
        kernel = np.tile(f[::-1, ::-1, None, None], [1, 1, channels, 1])
        return ops.depthwise_conv(x, ops.cast(kernel, x.dtype), strides=down, padding="valid")
    g = f[::-1]
    kernel_h = np.tile(g.reshape(-1, 1, 1, 1), [1, 1, channels, 1])
    kernel_w = np.tile(g.reshape(1, -1, 1, 1), [1, 1, channels, 1])
    x = ops.depthwise_conv(x, ops.cast(kernel_h, x.dtype), strides=(down, 1), padding="valid")
    return ops.depthwise_conv(x, ops.cast(kernel_w, x.dtype), strides=(1, down), padding="valid")


def output_size(in_size, up_taps, down_taps, up, down, padding):
    """Official output size: (in * up + lo + hi - (fu - 1) - (fd - 1) + (down - 1)) // down."""
    lo, hi = padding
    return (in_size * up + lo + hi - (up_taps - 1) - (down_taps - 1) + (down - 1)) // down


def filtered_lrelu(x, up_filter=None, down_filter=None, bias=None, up=1, down=1, padding=(0, 0),
                   gain=LRELU_GAIN, slope=LRELU_SLOPE, clamp=None):
    """Filtered leaky ReLU of [N, H, W, C] (official reference semantics; square padding).

    Args:
        x: [N, H, W, C] tensor.
        up_filter: None or [taps] separable upsampling filter (numpy, unit DC gain; x up^2 applied here).
        down_filter: None, [taps] separable or [taps, taps] 2-D downsampling filter (numpy).
        bias: None or [C] tensor, added first.
        up, down: int factors.
        padding: (lo, hi) on the upsampled grid, same for both axes; negative crops.
        gain, slope: leaky ReLU gain and negative slope (ToRGB: 1 and 1 = linear).
        clamp: None or float, clamp after the gain.

    Returns:
        [N, H', W', C], H' = (H * up + lo + hi - (taps_up - 1) - (taps_down - 1) + down - 1) // down.
    """
    if bias is not None:
        x = x + ops.cast(ops.reshape(bias, [1, 1, 1, -1]), x.dtype)
    lo, hi = padding
    fu = None if up_filter is None else np.asarray(up_filter, np.float32) * up  # gain up per axis = up^2
    if fu is not None and fu.ndim != 1:
        raise ValueError(f"The upsampling filter must be separable ([taps]). Received shape {fu.shape}")
    x = _upfir_axis(x, fu, up, lo, hi, axis=1)
    x = _upfir_axis(x, fu, up, lo, hi, axis=2)
    if slope != 1:
        x = ops.leaky_relu(x, negative_slope=slope)
    if gain != 1:
        x = x * gain
    if clamp is not None:
        x = ops.clip(x, -clamp, clamp)
    return _firdown(x, down_filter, down)
