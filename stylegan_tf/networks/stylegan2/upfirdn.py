"""FIR resampling: upfirdn2d, upsample2d, downsample2d (StyleGAN2 sec. 4 / appendix; official `upfirdn_2d.py`).

StyleGAN2 low-pass filters every up- and downsampling with the separable [1, 3, 3, 1]
filter (outer product, normalised to sum 1), as ADA's `upfirdn2d.setup_filter`.
`upfirdn2d` follows the official order: zero-insert `up - 1` zeros after every pixel,
pad (negative = crop), convolve with the filter (times `gain`), keep every `down`-th
pixel. NHWC throughout; `keras.ops` only.

    x2 = upsample2d(x, f)        # filter gain up^2 = 4, pad (2, 1): [N, 2H, 2W, C]
    x_half = downsample2d(x, f)  # gain 1, pad (1, 1): [N, H/2, W/2, C]
"""

from __future__ import annotations

import numpy as np
from keras import ops


def setup_filter(f=(1, 3, 3, 1)) -> np.ndarray:
    """A 1-D FIR filter normalised so that its 2-D outer product sums to 1 (float32).

    The 2-D filter is separable: outer(f1, f1) with f1 = f / sum(f), so it is applied as
    two 1-D passes.
    """
    f = np.asarray(f, dtype=np.float64)
    if f.ndim != 1 or f.size == 0 or f.sum() == 0:
        raise ValueError(f"The resampling filter must be a non-empty 1-D list with a non-zero sum. "
                         f"Received: {f.tolist()}")
    return (f / f.sum()).astype(np.float32)


def filter_2d(f=(1, 3, 3, 1)) -> np.ndarray:
    """The 2-D filter outer(f, f), normalised to sum 1 (official `_setup_kernel`)."""
    f1 = setup_filter(f)
    return np.outer(f1, f1)


def _parse_padding(padding):
    """int, (px, py) or (x0, x1, y0, y1) (the official order) -> (x0, x1, y0, y1)."""
    if isinstance(padding, int):
        return (padding,) * 4
    padding = tuple(int(p) for p in padding)
    if len(padding) == 2:
        return (padding[0], padding[0], padding[1], padding[1])
    if len(padding) != 4:
        raise ValueError(f"padding must be an int, (px, py) or (x0, x1, y0, y1). Received: {padding}")
    return padding


def zero_insert(x, up):
    """[N, H, W, C] -> [N, H*up, W*up, C], each pixel followed by up - 1 zeros (per axis)."""
    if up == 1:
        return x
    h, w, c = x.shape[1], x.shape[2], x.shape[3]
    x = ops.reshape(x, [-1, h, 1, w, 1, c])
    x = ops.pad(x, [[0, 0], [0, 0], [0, up - 1], [0, 0], [0, up - 1], [0, 0]])
    return ops.reshape(x, [-1, h * up, w * up, c])


def pad_or_crop(x, x0, x1, y0, y1):
    x = ops.pad(x, [[0, 0], [max(y0, 0), max(y1, 0)], [max(x0, 0), max(x1, 0)], [0, 0]])
    h, w = x.shape[1], x.shape[2]
    return x[:, max(-y0, 0): h - max(-y1, 0), max(-x0, 0): w - max(-x1, 0), :]


def upfirdn2d(x, f=(1, 3, 3, 1), up=1, down=1, padding=0, gain=1.0, flip_filter=False):
    """Upsample (zero insertion), pad, FIR filter, downsample (official `upfirdn2d`).

    The filter is convolved (flipped), as the official code does unless `flip_filter`;
    the [1, 3, 3, 1] filter is symmetric, so both agree for it.

    Args:
        x: [N, H, W, C] with static H, W, C.
        f: 1-D separable filter taps (normalised by `setup_filter`).
        up, down: int factors.
        padding: int, (px, py) or (x0, x1, y0, y1), applied after zero insertion; negative crops.
        gain: float multiplying the filter (upsampling by `up` needs up**2 to keep the mean).
        flip_filter: bool. True correlates instead of convolving.

    Returns:
        [N, (H*up + y0 + y1 - len(f) + 1) // down, ..., C], in x's dtype.
    """
    up, down = int(up), int(down)
    if up < 1 or down < 1:
        raise ValueError(f"up and down must be positive integers. Received: up={up}, down={down}")
    x0, x1, y0, y1 = _parse_padding(padding)
    f1 = setup_filter(f)
    if not flip_filter:
        f1 = f1[::-1].copy()
    channels = x.shape[-1]
    x = zero_insert(x, up)
    x = pad_or_crop(x, x0, x1, y0, y1)
    # Separable FIR: a vertical then a horizontal depthwise pass; `gain` goes into the first one.
    taps = f1.size
    fy = np.tile((f1 * gain).reshape(taps, 1, 1, 1), [1, 1, channels, 1]).astype(np.float32)
    fx = np.tile(f1.reshape(1, taps, 1, 1), [1, 1, channels, 1]).astype(np.float32)
    # Unequal strides are not supported by every backend kernel (TF CPU float16): subsample by slicing.
    x = ops.depthwise_conv(x, ops.cast(fy, x.dtype), strides=1, padding="valid")
    if down > 1:
        x = x[:, ::down]
    x = ops.depthwise_conv(x, ops.cast(fx, x.dtype), strides=1, padding="valid")
    return x[:, :, ::down] if down > 1 else x


def upsample2d(x, f=(1, 3, 3, 1), up=2, padding=0, gain=1.0):
    """2x (or `up`x) upsampling with the FIR low-pass (official `upsample_2d` / ADA `upsample2d`).

    Zero insertion, pad ((taps + up - 1) // 2, (taps - up) // 2) (plus `padding`), filter
    times gain * up**2 so that a constant image stays constant: [N, H*up, W*up, C].
    """
    taps = len(f)
    x0, x1, y0, y1 = _parse_padding(padding)
    p0, p1 = (taps + up - 1) // 2, (taps - up) // 2
    return upfirdn2d(x, f, up=up, padding=(x0 + p0, x1 + p1, y0 + p0, y1 + p1), gain=gain * up * up)


def downsample2d(x, f=(1, 3, 3, 1), down=2, padding=0, gain=1.0):
    """2x (or `down`x) downsampling with the FIR low-pass (official `downsample_2d` / ADA `downsample2d`).

    Pad ((taps - down + 1) // 2, (taps - down) // 2) (plus `padding`), filter, keep every
    `down`-th pixel: [N, H/down, W/down, C].
    """
    taps = len(f)
    x0, x1, y0, y1 = _parse_padding(padding)
    p0, p1 = (taps - down + 1) // 2, (taps - down) // 2
    return upfirdn2d(x, f, down=down, padding=(x0 + p0, x1 + p1, y0 + p0, y1 + p1), gain=gain)
