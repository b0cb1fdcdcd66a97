"""Equivariance metrics EQ-T, EQ-T_frac and EQ-R (Karras et al. 2021, "Alias-Free Generative
Adversarial Networks", sec. 3 and appendix E; official StyleGAN3 `metrics/equivariance.py`).

For a StyleGAN3 generator, each group of images (w = mapping(z), no truncation) is rendered
twice: with the identity input transform ("orig") and with the Fourier input moved by the
inverse of a random transform A. If the generator is equivariant the second render is A
applied to orig. The metric is the PSNR of the difference over the valid pixels,

    PSNR = 10 log10(2^2 / MSE),   MSE = sum of squared errors / number of valid pixel values,

with the images' dynamic range 2 ([-1, 1]), the sums taken over all samples (one MSE, not a
mean of PSNRs). The three official metrics:

- `eqt50k_int` (EQ-T, app. E.1): t ~ U(-1/8, 1/8)^2 of the image size, rounded to whole
  pixels; A = integer shift (zero fill), valid pixels = those shifted in from the image.
- `eqt50k_frac` (EQ-T_frac, app. E.2): the same t unrounded; A = separable Lanczos (a = 3)
  interpolation, valid pixels = those whose 6x6 taps all fall inside the image.
- `eqr50k` (EQ-R, app. E.3): angle ~ U(-pi, pi); A = rotation through a x4 upsampling with
  an oriented windowed-sinc low-pass and bilinear resampling; the network's render goes
  through the matching "pseudo-rotation" low-pass (same band limit, no rotation); valid
  pixels = the product of both masks.

As the official `metric_main.py`: 50k images, 4 per drawn transform (one input transform per
network call), the generator in float32 (`force_fp32`), the stored input transform replaced
by the metric's (it is restored afterwards). Deviations: latents, labels (uniform classes of
conditional networks, as the other metrics; official: the dataset's labels) and transforms
are drawn from numpy generators seeded by `--seed`, not torch's global state; `--batch` is
not used (always 4 images per transform, so the value does not depend on it).
"""

from __future__ import annotations

import math
import weakref

import numpy as np

from stylegan_tf.errors import UserError

TRANSLATE_MAX = 0.125     # Official translate_max: fraction of the image size.
ROTATE_MAX = 1.0          # Official rotate_max: in units of pi radians.
GROUP = 4                 # Images per drawn transform (official batch_size=4).
LANCZOS_A = 3             # Official `a`: Lanczos window radius, in pixels.
UPSAMPLE = 4              # Official `up` of the rotation.
FILTER_FFT_RADIUS = 64    # Official `aflt`: half-size of the grid the filter is designed on.
KINDS = ("int", "frac", "rot")


# PSNR -----------------------------------------------------------------------------------
def psnr(sum_squared_error: float, count: float) -> float:
    """10 log10(4 / MSE) in dB for images of dynamic range 2 (official `20 log10(2) - 10 log10(mse)`);
    +inf for a zero error."""
    if count <= 0:
        raise UserError("Equivariance PSNR: no valid pixels to compare (every mask was empty)")
    mse = float(sum_squared_error) / float(count)
    if mse == 0.0:
        return math.inf
    return 20.0 * math.log10(2.0) - 10.0 * math.log10(mse)


# Translations (operators T_x of app. E.1 and E.2) ----------------------------------------
def _shift_axis(images: np.ndarray, shift: int, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """`images` moved by `shift` whole pixels along `axis` (1 = down, 2 = right), zero-filled, and
    the 0/1 mask [length] of the positions that received a pixel of the image."""
    length = images.shape[axis]
    out = np.zeros_like(images)
    mask = np.zeros(length, np.float32)
    if abs(shift) < length:
        src = [slice(None)] * images.ndim
        dst = [slice(None)] * images.ndim
        src[axis] = slice(max(-shift, 0), length + min(-shift, 0))
        dst[axis] = slice(max(shift, 0), length + min(shift, 0))
        out[tuple(dst)] = images[tuple(src)]
        mask[dst[axis]] = 1.0
    return out, mask


def _full_mask(images: np.ndarray, mask_y: np.ndarray, mask_x: np.ndarray) -> np.ndarray:
    return np.broadcast_to((mask_y[:, None] * mask_x[None, :])[None, :, :, None], images.shape).astype(np.float32)


def apply_integer_translation(images: np.ndarray, tx: float, ty: float) -> tuple[np.ndarray, np.ndarray]:
    """NHWC images moved right by round(tx * W) and down by round(ty * H) pixels (tx, ty: fractions
    of the image size), zero-filled, and the mask of valid pixels (official `apply_integer_translation`)."""
    h, w = images.shape[1:3]
    dx, dy = int(np.round(tx * w)), int(np.round(ty * h))
    out, mask_x = _shift_axis(images, dx, 2)
    out, mask_y = _shift_axis(out, dy, 1)
    return out, _full_mask(images, mask_y, mask_x)


def lanczos_weights(frac: float, a: int = LANCZOS_A) -> np.ndarray:
    """Weights of the pixels at offsets -(a-1)..a behind a point `frac` in [0, 1) past a pixel:
    sinc(t - frac) sinc((t - frac) / a), normalised to sum 1 (official `apply_fractional_translation`)."""
    t = np.arange(-(a - 1), a + 1) - frac
    weights = np.sinc(t) * np.sinc(t / a)
    return weights / weights.sum()


def _fractional_shift_axis(images: np.ndarray, shift: float, axis: int, a: int) -> tuple[np.ndarray, np.ndarray]:
    """Sub-pixel shift along one axis: out[X] = sum_t w_t x[X - floor(shift) - t] (the Lanczos
    interpolation of x at X - shift), as a weighted sum of whole-pixel shifts; the mask keeps the
    positions whose 2a taps all come from inside the image."""
    whole = math.floor(shift)
    out = np.zeros_like(images)
    mask = np.ones(images.shape[axis], np.float32)
    for offset, weight in zip(range(-(a - 1), a + 1), lanczos_weights(shift - whole, a)):
        moved, valid = _shift_axis(images, whole + offset, axis)
        out += np.float32(weight) * moved
        mask *= valid
    return out, mask


def apply_fractional_translation(images: np.ndarray, tx: float, ty: float,
                                 a: int = LANCZOS_A) -> tuple[np.ndarray, np.ndarray]:
    """NHWC images moved by (tx * W, ty * H) pixels through separable Lanczos-`a` interpolation, and
    the mask of pixels all of whose taps lie inside the image (official `apply_fractional_translation`:
    the same values and mask; outside the mask it leaves partial sums, we too, with other values)."""
    h, w = images.shape[1:3]
    out, mask_x = _fractional_shift_axis(images, tx * w, 2, a)
    out, mask_y = _fractional_shift_axis(out, ty * h, 1, a)
    return out, _full_mask(images, mask_y, mask_x)


# Rotations (operators R_alpha and R*_alpha of app. E.3) ----------------------------------
def rotation_matrix(angle: float) -> np.ndarray:
    """[[cos, sin, 0], [-sin, cos, 0], [0, 0, 1]] for `angle` radians (official `rotation_matrix`;
    = `make_transform((0, 0), degrees(angle))` of the generator)."""
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[c, s, 0.0], [-s, c, 0.0], [0.0, 0.0, 1.0]])


def _lanczos_window(x: np.ndarray, a: float) -> np.ndarray:
    x = np.abs(x) / a
    return np.where(x < 1, np.sinc(x), 0.0)


def _circular_convolution(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.real(np.fft.ifft2(np.fft.fft2(a) * np.fft.fft2(b)))


def bandlimit_filter(matrix: np.ndarray, a: int = LANCZOS_A, radius: int = 2 * LANCZOS_A, up: int = UPSAMPLE,
                     fft_radius: int = FILTER_FFT_RADIUS) -> np.ndarray:
    """The oriented low-pass [2 radius up - 1]^2 (odd, centred) that band-limits to one cycle per two
    pixels both before and after the affine `matrix` (official `construct_affine_bandlimit_filter`,
    cutoffs 1): the convolution of an axis-aligned and a transformed 2-D sinc, windowed by the
    convolution of the matching Lanczos-`a` windows, designed on a circular grid of step 1/up and
    half-size `fft_radius`, then normalised so that each of the up^2 polyphase components sums to
    1 / up^2. In float64 (official: float32)."""
    if not a <= radius < fft_radius:
        raise ValueError(f"bandlimit_filter needs a <= radius < fft_radius. Received: {a}, {radius}, {fft_radius}")
    m = np.asarray(matrix, np.float64)[:2, :2]
    n = fft_radius * up * 2 - 1
    k = np.arange(n)
    taps = np.where(k <= n // 2, k, k - n) / up              # Circular coordinates, 0 at index 0.
    yi, xi = np.meshgrid(taps, taps, indexing="ij")
    xo = m[0, 0] * xi + m[0, 1] * yi
    yo = m[1, 0] * xi + m[1, 1] * yi
    f = _circular_convolution(np.sinc(xi) * np.sinc(yi), np.sinc(xo) * np.sinc(yo))
    f *= _circular_convolution(_lanczos_window(xi, a) * _lanczos_window(yi, a),
                               _lanczos_window(xo, a) * _lanczos_window(yo, a))
    c = (fft_radius - radius) * up
    f = np.fft.fftshift(f)[c:n - c, c:n - c]                 # [2 radius up - 1]^2, centre in the middle.
    side = radius * 2
    f = np.pad(f, [(0, 1), (0, 1)]).reshape(side, up, side, up)
    f = f / f.sum(axis=(0, 2), keepdims=True) / up**2
    return f.reshape(side * up, side * up)[:-1, :-1]


def _upfirdn_up(images, f: np.ndarray, up: int, padding: int):
    """Official `upfirdn2d.upsample2d(x, f, up, padding)` for a square odd 2-D filter f, NHWC:
    zero insertion, true convolution with f * up^2, padding (p + (k + up - 1) // 2, p + (k - up) // 2);
    up = 1, padding 0 is `upfirdn2d.filter2d`. Returns [N, H up + 2 p, W up + 2 p, C] (a tensor).

    Polyphase: the full convolution Y[m] = sum_i x[i] f[m - up i] has Y[up q + r] = sum_s x[q - s]
    f[up s + r], so one convolution of x with the up^2 phase kernels [S, S] (S = ceil(k / up))
    and a depth-to-space give Y without multiplying the inserted zeros (16x fewer operations).
    """
    import tensorflow as tf

    x = tf.convert_to_tensor(images, tf.float32)
    n, h, w, ch = x.shape
    k = f.shape[0]
    taps = -(-k // up)
    g = np.pad(f * up**2, [(0, taps * up - k)] * 2).reshape(taps, up, taps, up)     # [s_y, r_y, s_x, r_x]
    kernel = g[::-1, :, ::-1].transpose(0, 2, 1, 3).reshape(taps, taps, 1, up * up)  # Flipped: correlation.
    x = tf.reshape(tf.transpose(x, [0, 3, 1, 2]), [n * ch, h, w, 1])                # Channels as images.
    x = tf.pad(x, [[0, 0], [taps - 1, taps - 1], [taps - 1, taps - 1], [0, 0]])
    full = tf.nn.conv2d(x, tf.constant(kernel, tf.float32), strides=1, padding="VALID")
    full = tf.nn.depth_to_space(full, up) if up > 1 else full                      # Y, [(h + S - 1) up]^2
    lo, hi = padding + (k + up - 1) // 2, padding + (k - up) // 2
    start = k - 1 - lo                                                              # y[o] = Y[o + start]
    size_h, size_w = h * up + lo + hi - k + 1, w * up + lo + hi - k + 1
    before = max(-start, 0)
    full = tf.pad(full, [[0, 0], [before, max(start + size_h - full.shape[1], 0)],
                         [before, max(start + size_w - full.shape[2], 0)], [0, 0]])
    y = full[:, start + before:start + before + size_h, start + before:start + before + size_w]
    return tf.transpose(tf.reshape(y, [n, ch, size_h, size_w]), [0, 2, 3, 1])


def apply_affine_transformation(images: np.ndarray, matrix: np.ndarray, up: int = UPSAMPLE, **filter_kwargs
                                ) -> tuple[np.ndarray, np.ndarray]:
    """NHWC images under the affine `matrix` (normalised coordinates, x right, y down, origin in the
    centre; the output at p is the input at inverse(matrix) p), and the mask of valid pixels
    (official `apply_affine_transformation`): x`up` upsampling with `bandlimit_filter(matrix)`,
    bilinear sampling (zeros outside), mask = the nearest upsampled sample lies at least 2p + 1
    samples inside the upsampled image (p = the filter's half-size)."""
    from stylegan_tf.augment.resample import affine_grid, grid_sample

    images = np.asarray(images, np.float32)
    n, h, w, _ = images.shape
    f = bandlimit_filter(matrix, up=up, **filter_kwargs)
    p = f.shape[0] // 2
    theta = np.linalg.inv(np.asarray(matrix, np.float64))
    theta[:2, 2] *= 2                                        # Image fractions -> normalised [-1, 1] units.
    theta[0, 2] += 1 / up / w                                # The upsampled grid is offset by half a sample.
    theta[1, 2] += 1 / up / h
    theta[0, :] *= w / (w + p / up * 2)                      # The upsampled image is p / up pixels wider per side.
    theta[1, :] *= h / (h + p / up * 2)
    grid = affine_grid(np.repeat(theta[None, :2].astype(np.float32), n, axis=0), h, w)
    upsampled = _upfirdn_up(images, f, up, p)
    out = np.asarray(grid_sample(upsampled, grid), np.float32)
    # Mask: grid_sample(box, mode="nearest") of a box 2p + 1 samples inside the upsampled image.
    grid = np.asarray(grid, np.float64)
    c = 2 * p + 1
    valid = np.ones(grid.shape[:3], bool)
    for axis, size in ((0, upsampled.shape[2]), (1, upsampled.shape[1])):
        index = np.rint(((grid[..., axis] + 1) * size - 1) / 2)
        valid &= (index >= c) & (index < size - c)
    return out, np.broadcast_to(valid[..., None], out.shape).astype(np.float32)


def apply_fractional_rotation(images: np.ndarray, angle: float, a: int = LANCZOS_A) -> tuple[np.ndarray, np.ndarray]:
    """NHWC images rotated by `angle` radians (`rotation_matrix`) and the valid mask (official
    `apply_fractional_rotation`: filter radius 2a)."""
    return apply_affine_transformation(images, rotation_matrix(angle), a=a, radius=2 * a)


def apply_fractional_pseudo_rotation(images: np.ndarray, angle: float, a: int = LANCZOS_A
                                     ) -> tuple[np.ndarray, np.ndarray]:
    """NHWC images low-passed as if rotated by `angle` and back, without moving them (official
    `apply_fractional_pseudo_rotation`): `bandlimit_filter(rotation_matrix(-angle), up=1)`, same size,
    mask = pixels at least the filter's half-size inside."""
    f = bandlimit_filter(rotation_matrix(-angle), a=a, radius=2 * a, up=1)
    out = np.asarray(_upfirdn_up(np.asarray(images, np.float32), f, 1, 0), np.float32)
    c = f.shape[0] // 2
    mask = np.zeros(out.shape, np.float32)
    mask[:, c:-c, c:-c] = 1.0
    return out, mask


# The metric -----------------------------------------------------------------------------
def equivariance_generator(G, metric: str = "equivariance"):
    """G itself, or its float32 copy under a mixed-precision policy (official `force_fp32=True`).
    Anything without a StyleGAN3 input transform is a `UserError` saying why."""
    from stylegan_tf import families

    config = getattr(G, "config", None)
    family = families.family_name(config) if config is not None else "unknown"
    label = getattr(G, "path", None) or getattr(G, "name", None)          # A SavedModel's folder, a model's name.
    what = f"{type(G).__name__}{f' {str(label)!r}' if label else ''} ({family})"
    if family not in families.FAMILIES or not families.get(family).input_transform:   # the registry flag
        raise UserError(f"Metric {metric} measures a StyleGAN3 network (it moves the Fourier-feature input "
                        f"through its input transform); --network is a {what} network, which has no such input.")
    if not (hasattr(G, "set_input_transform") and hasattr(G, "input_transform")):
        raise UserError(f"Metric {metric} needs the StyleGAN3 Keras generator (its set_input_transform); "
                        f"--network is a {what}, e.g. an exported SavedModel: pass the .keras file, "
                        f"checkpoint or run directory it came from.")
    policy = getattr(G, "dtype_policy", None)
    if policy is not None and policy.compute_dtype != "float32":
        from stylegan_tf.saving import float32_copy

        return float32_copy(G)
    return G


_TRACED: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _synthesis_fn(G):
    """`G.synthesis(ws)`, traced by `tf.function` for Keras generators on TensorFlow, once per
    generator (the three metrics of an evaluation share it; tracing costs more than a metric of a
    few images). The traced graph reads the input transform variable at each call; it holds G by a
    weak reference, so the cache does not keep G alive."""
    import keras

    if not (isinstance(G, keras.Model) and keras.backend.backend() == "tensorflow"):
        return lambda ws: np.asarray(G.synthesis(np.asarray(ws, np.float32), noise_mode="const"), np.float32)
    fn = _TRACED.get(G)
    if fn is None:
        import tensorflow as tf

        ref = weakref.ref(G)
        fn = _TRACED[G] = tf.function(lambda ws: ref().synthesis(ws, noise_mode="const"), autograph=False,
                                      reduce_retracing=True)
    return lambda ws: np.asarray(fn(np.asarray(ws, np.float32)), np.float32)


def _draw(kind: str, rng: np.random.Generator, resolution: int) -> np.ndarray:
    """The transform A [3, 3] of one group (official draws: t ~ U(-1, 1)^2 * translate_max, rounded to
    whole pixels for "int"; angle ~ U(-1, 1) * rotate_max * pi)."""
    if kind == "rot":
        return rotation_matrix(float(rng.uniform(-1.0, 1.0)) * ROTATE_MAX * math.pi)
    t = rng.uniform(-1.0, 1.0, 2) * TRANSLATE_MAX
    if kind == "int":
        t = np.round(t * resolution) / resolution
    return np.array([[1.0, 0.0, t[0]], [0.0, 1.0, t[1]], [0.0, 0.0, 1.0]])


def _group_sums(kind: str, orig: np.ndarray, moved_render: np.ndarray, A: np.ndarray) -> tuple[float, float]:
    """(sum of squared errors, mask sum) of A(orig) against the render with input transform inverse(A)."""
    if kind == "rot":
        angle = math.atan2(A[0, 1], A[0, 0])
        ref, ref_mask = apply_fractional_rotation(orig, angle)
        img, img_mask = apply_fractional_pseudo_rotation(moved_render, angle)
        mask = ref_mask * img_mask
    else:
        translate = apply_integer_translation if kind == "int" else apply_fractional_translation
        ref, mask = translate(orig, A[0, 2], A[1, 2])
        img = moved_render
    error = np.square(ref.astype(np.float64) - img.astype(np.float64)) * mask
    return float(error.sum()), float(mask.sum(dtype=np.float64))


def compute_equivariance(G, kind: str, num: int, seed: int = 0, psi: float = 1.0, progress=None) -> float:
    """The PSNR (dB) of one equivariance metric over `num` images.

    Args:
        G: a StyleGAN3 generator (`equivariance_generator` checks it): `mapping`, `synthesis(ws)`,
            `input_transform` and `set_input_transform(matrix=...)`.
        kind: "int" (EQ-T), "frac" (EQ-T_frac) or "rot" (EQ-R).
        num: images, in groups of `GROUP` sharing one transform.
        seed: latents and labels as `GeneratedSource(seed)`; transforms from `default_rng([seed, 4])`.
        psi: truncation psi (1 = off, official).
        progress: an object with `update(n)` (a tqdm bar), or None.
    """
    from stylegan_tf.metrics.sources import GeneratedSource

    if kind not in KINDS:
        raise UserError(f"Equivariance kind must be one of {list(KINDS)}. Received: kind={kind!r}")
    import keras

    source = GeneratedSource(G, seed, psi)
    z, labels = source.latents(num)
    resolution = int(G.config.resolution)
    rng = np.random.default_rng([seed, 4])
    synthesize = _synthesis_fn(G)
    saved = np.array(keras.ops.convert_to_numpy(G.input_transform), np.float32)
    sums = np.zeros(2, np.float64)
    try:
        for start in range(0, num, GROUP):
            stop = min(num, start + GROUP)
            ws = source.mapping(z[start:stop], None if labels is None else labels[start:stop])
            G.set_input_transform(matrix=np.eye(3))
            orig = synthesize(ws)
            A = _draw(kind, rng, resolution)
            G.set_input_transform(matrix=np.linalg.inv(A))    # Official: M = inverse of the transform.
            sums += _group_sums(kind, orig, synthesize(ws), A)
            if progress is not None:
                progress.update(stop - start)
    finally:
        G.set_input_transform(matrix=saved)
    return psnr(sums[0], sums[1])


# Registry -------------------------------------------------------------------------------
from stylegan_tf.metrics.registry import register_metric  # noqa: E402

_DESCRIPTIONS = {
    "int": ("eqt50k_int", "EQ-T: PSNR (dB) of the render moved by whole pixels vs the shifted image, StyleGAN3"),
    "frac": ("eqt50k_frac", "EQ-T_frac: PSNR (dB) of the render moved by sub-pixel amounts vs the Lanczos-shifted "
                            "image, StyleGAN3"),
    "rot": ("eqr50k", "EQ-R: PSNR (dB) of the rotated render vs the sinc-rotated image, StyleGAN3"),
}


def _register(kind: str) -> None:
    name, description = _DESCRIPTIONS[kind]

    @register_metric(name, num=50_000, description=description + ", 50k images (Alias-Free GANs, app. E)")
    def metric(ctx) -> dict[str, float]:
        G = equivariance_generator(ctx.generator, name)
        num = ctx.count()
        with ctx.bar(num, name) as bar:
            return {name: compute_equivariance(G, kind, num, ctx.seed, ctx.psi, bar)}

    metric.__name__ = name


for _kind in KINDS:
    _register(_kind)
