"""FFHQ face alignment (official `recreate_aligned_images`), fast.

The geometry is the official one (NVlabs/ffhq-dataset `download_ffhq.py`):

- From 68 dlib landmarks: left eye = mean of points 36-41, right eye = mean of 42-47,
  mouth corners = points 48 and 54. From 5 points (a detector such as MTCNN): the
  eye centres and the mouth corners directly. "Left" is the image's left side.
- `eye_avg` = midpoint of the eyes, `eye_to_eye = right - left`,
  `eye_to_mouth = mouth midpoint - eye_avg`.
- Oriented crop: `x = eye_to_eye - flipud(eye_to_mouth) * [-1, 1]`, normalised and
  scaled by `max(|eye_to_eye| * 2.0, |eye_to_mouth| * 1.8)`; `y = flipud(x) * [-1, 1]`;
  centre `c = eye_avg + 0.1 * eye_to_mouth`; quad = [c-x-y, c-x+y, c+x+y, c+x-y]
  (top-left, bottom-left, bottom-right, top-right); `qsize = 2|x|`. Without rotation
  (`rotate=False`, the official `--no-rotation`) x = [1, 0] with the same length.

The image steps are the official ones, computed faster (`align_face`):

1. Shrink by `floor(qsize / output_size * 0.5)` when that is > 1 (Lanczos, i.e. PIL's
   old ANTIALIAS): only the cropped region is resampled (PIL's `box` argument), which
   gives the same pixels as resizing the whole photo and cropping afterwards.
2. Crop to the quad's bounding box plus a border of `max(rint(0.1 qsize), 3)`.
3. If the quad comes within 4 pixels of the crop's edge: reflect-pad by at least
   `rint(0.3 qsize)` per side, blur the padding (Gaussian, sigma `0.02 qsize`) and fade
   it towards the image median. The official code blurs the whole padded image and
   takes the median over all of it; here the blur runs (OpenCV, same kernel and
   border rule; on a downsampled copy for sigma >= 8) only on the band where its
   weight is non-zero, and the median is found exactly from a histogram.
4. Bilinear quad transform to `transform_size` (4x the output; the quad is a
   parallelogram, so the map is affine: OpenCV `warpAffine` with PIL's pixel
   conventions), then the antialiased (Lanczos) resize to `output_size`, computed
   polyphase at the output resolution (`_warp_and_resize`).

Differences from the official pixels come from OpenCV's fixed-point bilinear sample
positions (1/32 pixel), float32 arithmetic and the downsampled large blur; they are
a few hundredths of a gray level on average. `tests/test_data_alignment.py` checks the
result against `alignment_reference` (the plain PIL/SciPy steps; required: within 1
gray level mean absolute difference, tested: within 0.1), and
`benchmarks/bench_dataset.py` times both.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import PIL.Image


_FLOAT_WARP_MAX_VALUES = 4096 * 4096 * 3  # float32 warp source up to 192 MiB, uint16 above


class LandmarkError(ValueError):
    """Landmarks that cannot define a face crop (wrong shape, not finite, degenerate, off the image)."""


def face_points(landmarks) -> np.ndarray:
    """The four points the alignment uses, float64 [4, 2]: eye left, eye right, mouth left, mouth right.

    Args:
        landmarks: [68, 2] dlib points (FFHQ JSON `face_landmarks`), or [5, 2] in the
            MTCNN order (left eye, right eye, nose, mouth left, mouth right), (x, y)
            image coordinates, the image's left first.

    Raises:
        LandmarkError: wrong shape, non-numeric or non-finite values, or coincident eyes.
    """
    try:
        lm = np.asarray(landmarks, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise LandmarkError(f"landmarks are not numbers: {exc}") from None
    if lm.ndim != 2 or lm.shape[1] != 2 or lm.shape[0] not in (68, 5):
        raise LandmarkError(f"expected [68, 2] or [5, 2] landmarks, got shape {list(lm.shape)}")
    if not np.all(np.isfinite(lm)):
        raise LandmarkError("landmarks contain NaN or infinite values")
    if lm.shape[0] == 68:
        points = np.stack([lm[36:42].mean(axis=0), lm[42:48].mean(axis=0), lm[48], lm[54]])
    else:
        points = lm[[0, 1, 3, 4]]
    if np.hypot(*(points[1] - points[0])) < 1e-6:
        raise LandmarkError("the two eye centres coincide")
    return points


def crop_quad(points: np.ndarray, rotate: bool = True) -> tuple[np.ndarray, float]:
    """The official oriented crop rectangle.

    Args:
        points: float [4, 2] from `face_points`.
        rotate: False = axis-aligned crop with the same centre and size (`--no-rotation`).

    Returns:
        (quad, qsize): float64 [4, 2] corners top-left, bottom-left, bottom-right,
        top-right, and the side length `2|x|` in source pixels.
    """
    eye_left, eye_right, mouth_left, mouth_right = np.asarray(points, dtype=np.float64)
    eye_avg = (eye_left + eye_right) * 0.5
    eye_to_eye = eye_right - eye_left
    eye_to_mouth = (mouth_left + mouth_right) * 0.5 - eye_avg
    if rotate:
        # x = eye_to_eye - flipud(eye_to_mouth) * [-1, 1]: the eye line, bent by the mouth direction.
        x = eye_to_eye - np.flipud(eye_to_mouth) * [-1.0, 1.0]
        norm = np.hypot(*x)
        if not norm > 1e-9:
            raise LandmarkError("degenerate landmarks: the crop direction is undefined")
        x = x / norm
    else:
        x = np.array([1.0, 0.0])
    x = x * max(np.hypot(*eye_to_eye) * 2.0, np.hypot(*eye_to_mouth) * 1.8)
    y = np.flipud(x) * [-1.0, 1.0]
    c = eye_avg + eye_to_mouth * 0.1
    quad = np.stack([c - x - y, c - x + y, c + x + y, c + x - y])
    return quad, float(np.hypot(*x) * 2)


def align_face(image: np.ndarray, quad: np.ndarray, qsize: float, output_size: int = 1024,
               transform_size: int | None = None, enable_padding: bool = True) -> np.ndarray:
    """Crops, pads and warps a photo to the aligned square, the official steps (see module docstring).

    Args:
        image: uint8 [H, W, C] (C = 3 RGB or 1 gray) photo.
        quad: float [4, 2] crop corners from `crop_quad`, in `image` pixels.
        qsize: the quad's side length from `crop_quad`.
        output_size: side of the result (official 1024).
        transform_size: side of the intermediate bilinear warp; None = 4 * output_size
            (official 4096 for 1024).
        enable_padding: the official blur padding (False = outside pixels are black).

    Returns:
        uint8 [output_size, output_size, C].

    Raises:
        LandmarkError: the quad is degenerate or lies entirely outside the image.
    """
    img = np.asarray(image)
    if img.ndim == 2:
        img = img[:, :, None]
    if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] not in (1, 3):
        raise ValueError(f"align_face expects uint8 [H, W, 1 or 3], got {img.dtype} {list(img.shape)}")
    transform_size = transform_size or 4 * output_size
    quad = np.array(quad, dtype=np.float64)
    if not (np.all(np.isfinite(quad)) and qsize > 1e-6):
        raise LandmarkError(f"degenerate face crop (size {qsize!r})")
    h, w, channels = img.shape

    # Shrink: resample only the region the crop will keep (identical to shrink-then-crop).
    shrink = int(np.floor(qsize / output_size * 0.5))
    if shrink > 1:
        size = (int(np.rint(float(w) / shrink)), int(np.rint(float(h) / shrink)))
        scale = (w / size[0], h / size[1])
        quad /= shrink
        qsize /= shrink
    else:
        size = (w, h)

    crop, pad = crop_and_padding(quad, qsize, size[0], size[1], enable_padding)
    if shrink > 1:
        pil = PIL.Image.fromarray(img[:, :, 0] if channels == 1 else img)
        box = (crop[0] * scale[0], crop[1] * scale[1], crop[2] * scale[0], crop[3] * scale[1])
        region = np.asarray(pil.resize((crop[2] - crop[0], crop[3] - crop[1]), PIL.Image.Resampling.LANCZOS,
                                       box=box)).reshape(crop[3] - crop[1], crop[2] - crop[0], channels)
    else:
        region = img[crop[1]:crop[3], crop[0]:crop[2]]
    quad -= crop[0:2]
    if pad is not None:
        region = _pad_blur_fade(region, pad, qsize * 0.02)
        quad += pad[0:2]

    # Transform (see `_warp_and_resize`).
    return _warp_and_resize(np.ascontiguousarray(region), quad, transform_size, output_size)


def crop_and_padding(quad: np.ndarray, qsize: float, width: int, height: int, enable_padding: bool = True
                     ) -> tuple[tuple[int, int, int, int], tuple[int, int, int, int] | None]:
    """The official crop box and padding for a quad in a width x height image (after any shrink).

    Crop: the quad's bounding box grown by `border = max(rint(0.1 qsize), 3)`, clipped
    to the image. Padding (left, top, right, bottom), or None: needed when the quad
    comes closer than `border` to the crop's edge by more than 4 pixels; then every
    side gets at least `rint(0.3 qsize)`.

    Raises:
        LandmarkError: the crop is empty (the quad lies outside the image).
    """
    border = max(int(np.rint(qsize * 0.1)), 3)
    crop = (int(np.floor(min(quad[:, 0]))) - border, int(np.floor(min(quad[:, 1]))) - border,
            int(np.ceil(max(quad[:, 0]))) + border, int(np.ceil(max(quad[:, 1]))) + border)
    crop = (max(crop[0], 0), max(crop[1], 0), min(crop[2], width), min(crop[3], height))
    if crop[2] <= crop[0] or crop[3] <= crop[1]:
        raise LandmarkError("the face crop lies outside the image")
    inner = quad - crop[0:2]
    bounds = (int(np.floor(min(inner[:, 0]))), int(np.floor(min(inner[:, 1]))),
              int(np.ceil(max(inner[:, 0]))), int(np.ceil(max(inner[:, 1]))))
    pad = (max(-bounds[0] + border, 0), max(-bounds[1] + border, 0),
           max(bounds[2] - (crop[2] - crop[0]) + border, 0), max(bounds[3] - (crop[3] - crop[1]) + border, 0))
    if not enable_padding or max(pad) <= border - 4:
        return crop, None
    minimum = int(np.rint(qsize * 0.3))
    return crop, tuple(max(p, minimum) for p in pad)


def align(image: np.ndarray, landmarks, output_size: int = 1024, transform_size: int | None = None,
          rotate: bool = True, enable_padding: bool = True) -> np.ndarray:
    """`face_points` + `crop_quad` + `align_face`: the aligned uint8 [S, S, C] face."""
    quad, qsize = crop_quad(face_points(landmarks), rotate=rotate)
    return align_face(image, quad, qsize, output_size, transform_size, enable_padding)


def _warp_and_resize(region: np.ndarray, quad: np.ndarray, transform_size: int, output_size: int) -> np.ndarray:
    """Official bilinear QUAD warp to `transform_size`, then Lanczos resize to `output_size`, polyphase.

    PIL's QUAD maps output pixel centre (u + 0.5, v + 0.5) to
    `nw + (ne - nw) (u + 0.5) / T + (sw - nw) (v + 0.5) / T` in pixel-corner
    coordinates, and the official code passes `quad + 0.5`; OpenCV samples at pixel
    centres, so the half-pixel shifts cancel in the affine map below. PIL's bilinear
    filter truncates to uint8 (floor): the warp runs in float32 and is floored (or, for
    very large regions, on the image times 256 in uint16, dropping 8 fractional bits).

    PIL resizes by r = T / S with Lanczos-3 taps `L((j - r i - (r - 1) / 2) / r)` over
    6r input pixels, horizontally first (kept as uint8), then vertically. Output pixel
    i only reads the intermediate at pixels r i + p, so instead of one T x T warp this
    makes r^2 warps of S x S, one per phase (p, q), and applies each phase's 6 taps
    at the output resolution: the same sums, without a T x T buffer.
    """
    channels = region.shape[2]
    nw, sw, ne = quad[0], quad[1], quad[3]
    ax, ay = (ne - nw) / transform_size, (sw - nw) / transform_size
    base = np.array([[ax[0], ay[0], nw[0] + 0.5 * (ax[0] + ay[0])],
                     [ax[1], ay[1], nw[1] + 0.5 * (ax[1] + ay[1])]])
    ratio = transform_size // output_size
    if ratio * output_size != transform_size or ratio == 1:
        warped = cv2.warpAffine(region, base, (transform_size, transform_size),
                                flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_CONSTANT)
        if transform_size != output_size:
            warped = np.asarray(PIL.Image.fromarray(warped.reshape(transform_size, transform_size, -1).squeeze(2)
                                                    if channels == 1 else warped)
                                .resize((output_size, output_size), PIL.Image.Resampling.LANCZOS))
        return warped.reshape(output_size, output_size, channels)

    kernels, norm = _lanczos_phases(ratio, output_size)
    size = (output_size, output_size)
    # Truncation: float32 samples are floored; for very large regions (a few hundred MB as
    # float) uint16 samples of 256 v are used instead, whose top 8 bits are floor(v).
    as_float = region.size <= _FLOAT_WARP_MAX_VALUES
    source = region.astype(np.float32) if as_float else np.left_shift(region.astype(np.uint16), 8)
    # Buffers are reused across the r^2 phases: fresh large allocations cost page faults.
    shape = (output_size, output_size) if channels == 1 else (output_size, output_size, channels)
    phase = np.empty(shape, source.dtype)
    filtered = np.empty(shape, np.float32)
    rows = np.empty(shape, np.float32)
    out = np.zeros(shape, np.float32)
    norm_rows = norm[None, :, None] if channels > 1 else norm[None, :]
    norm_cols = norm[:, None, None] if channels > 1 else norm[:, None]
    for q in range(ratio):
        rows.fill(0.0)
        for p in range(ratio):
            # Intermediate pixel (u, v) = (r i + p, r j + q) of the T x T warp.
            matrix = base.copy()
            matrix[:, 2] += p * base[:, 0] + q * base[:, 1]
            matrix[:, :2] *= ratio
            cv2.warpAffine(source, matrix, size, dst=phase, flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                           borderMode=cv2.BORDER_CONSTANT)
            if as_float:
                np.floor(phase, out=phase)
            else:
                np.right_shift(phase, 8, out=phase)
            kernel, anchor = kernels[p]
            cv2.filter2D(phase, cv2.CV_32F, kernel.reshape(1, -1), dst=filtered, anchor=(anchor, 0),
                         borderType=cv2.BORDER_CONSTANT)
            rows += filtered
        # Horizontal pass done: PIL keeps it as uint8 (rounded half up).
        rows /= norm_rows
        rows += 0.5
        np.floor(rows, out=rows)
        np.clip(rows, 0.0, 255.0, out=rows)
        kernel, anchor = kernels[q]
        cv2.filter2D(rows, cv2.CV_32F, kernel.reshape(-1, 1), dst=filtered, anchor=(0, anchor),
                     borderType=cv2.BORDER_CONSTANT)
        out += filtered
    out /= norm_cols
    out += 0.5
    np.floor(out, out=out)
    return np.clip(out, 0, 255).astype(np.uint8).reshape(output_size, output_size, channels)


def _lanczos_phases(ratio: int, size: int) -> tuple[list[tuple[np.ndarray, int]], np.ndarray]:
    """Per-phase Lanczos-3 taps for a `ratio`x PIL resize, and each output's weight sum (clipped at borders).

    Output i reads input j = r (i + k) + p with weight `L((j - r i - (r - 1) / 2) / r)`
    (PIL: centre (i + 0.5) r, taps at j + 0.5, support 3r); phase p gets the taps for
    its k, as a correlation kernel with an anchor. Weights are normalised so a full
    window sums to 1; `norm` is the fraction of the window inside the image, which PIL
    renormalises by.
    """
    offsets = np.arange(-3 * ratio + 1, 3 * ratio + ratio) - ratio // 2  # candidate j - r i
    weights = _lanczos3((offsets - (ratio - 1) / 2) / ratio)
    keep = weights != 0
    offsets, weights = offsets[keep], weights[keep] / weights[keep].sum()
    kernels = []
    for p in range(ratio):
        sel = (offsets - p) % ratio == 0
        ks = (offsets[sel] - p) // ratio
        taps = np.zeros(ks.max() - ks.min() + 1, np.float32)
        taps[ks - ks.min()] = weights[sel]
        kernels.append((taps, int(-ks.min())))
    total = size * ratio
    norm = np.array([weights[(i * ratio + offsets >= 0) & (i * ratio + offsets < total)].sum()
                     for i in range(size)], np.float32)
    return kernels, norm


def _lanczos3(x: np.ndarray) -> np.ndarray:
    """PIL's Lanczos filter: sinc(x) sinc(x / 3) on |x| < 3."""
    x = np.asarray(x, dtype=np.float64)
    return np.where(np.abs(x) < 3.0, np.sinc(x) * np.sinc(x / 3.0), 0.0)


def _gaussian_kernel(sigma: float) -> np.ndarray:
    """SciPy's `gaussian_filter` kernel (truncate 4.0), as a column vector."""
    radius = int(4.0 * sigma + 0.5)
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    phi = np.exp(-0.5 / (sigma * sigma) * x * x)
    return (phi / phi.sum()).reshape(-1, 1)


class _Blur:
    """Gaussian blur (sigma) of a uint8 [H, W, C] image with SciPy's 'reflect' border, read region by region.

    Small sigma: the exact SciPy kernel (OpenCV `sepFilter2D`, BORDER_REFLECT is SciPy's
    'reflect'), run on the region plus the kernel radius. Large sigma (>= 8 pixels, a
    face crop >= 400 pixels): the image is area-downsampled by d = sigma // 4,
    blurred there with `sqrt((sigma/d)^2 - 1/4)` (the box and the bilinear upsampling
    add d^2/12 + d^2/6 of variance) and read back bilinearly; the difference to the
    full-resolution blur is far below one gray level, and the blurred values only
    enter the padding band, where they are faded towards the median.
    """

    def __init__(self, image: np.ndarray, sigma: float):
        self.image, self.sigma = image, sigma
        self.factor = int(sigma // 4.0)
        h, w, channels = image.shape
        if self.factor >= 2:
            small_size = (max(w // self.factor, 1), max(h // self.factor, 1))
            small = cv2.resize(image, small_size, interpolation=cv2.INTER_AREA).astype(np.float32)
            self.scale = (small_size[0] / w, small_size[1] / h)
            sigma_small = math.sqrt(max((sigma / self.factor) ** 2 - 0.25, 0.25))
            kernel = _gaussian_kernel(sigma_small)
            self.small = cv2.sepFilter2D(small, cv2.CV_32F, kernel, kernel, borderType=cv2.BORDER_REFLECT)
            self.small = self.small.reshape(small_size[1], small_size[0], channels)
        else:
            self.kernel = _gaussian_kernel(sigma)

    def region(self, rows: slice, cols: slice) -> np.ndarray:
        h, w, channels = self.image.shape
        shape = (rows.stop - rows.start, cols.stop - cols.start, channels)
        if self.factor >= 2:
            # Full-resolution pixel centre x + 0.5 sits at (x + 0.5) * scale - 0.5 in the small image.
            sx, sy = self.scale
            matrix = np.array([[sx, 0.0, (cols.start + 0.5) * sx - 0.5], [0.0, sy, (rows.start + 0.5) * sy - 0.5]])
            out = cv2.warpAffine(self.small, matrix, (shape[1], shape[0]), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                                 borderMode=cv2.BORDER_REPLICATE)
            return out.reshape(shape)
        radius = self.kernel.shape[0] // 2
        r0, r1 = max(rows.start - radius, 0), min(rows.stop + radius, h)
        c0, c1 = max(cols.start - radius, 0), min(cols.stop + radius, w)
        window = self.image[r0:r1, c0:c1].astype(np.float32)
        out = cv2.sepFilter2D(window, cv2.CV_32F, self.kernel, self.kernel, borderType=cv2.BORDER_REFLECT)
        out = out.reshape(window.shape)
        return out[rows.start - r0:rows.stop - r0, cols.start - c0:cols.stop - c0]


def _pad_blur_fade(region: np.ndarray, pad: tuple[int, int, int, int], sigma: float) -> np.ndarray:
    """Official padding step on uint8 [h, w, C]: reflect pad (left, top, right, bottom), blur, fade to median.

    With `mask = max(1 - min(x / pad_l, (W-1-x) / pad_r), 1 - min(y / pad_t, (H-1-y) / pad_b))`
    the official update is `img += (blur(img) - img) * clip(3 mask + 1, 0, 1)` then
    `img += (median(img) - img) * clip(mask, 0, 1)`. Both weights vanish where
    `mask <= -1/3`, an inner rectangle, so only the band around it is computed.
    """
    pl, pt, pr, pb = pad
    # np.pad 'reflect' (no edge repeat) is OpenCV's BORDER_REFLECT_101.
    padded = cv2.copyMakeBorder(region, pt, pb, pl, pr, cv2.BORDER_REFLECT_101)
    padded = padded.reshape(padded.shape[0], padded.shape[1], region.shape[2])
    h, w, channels = padded.shape
    xs, ys = np.arange(w, dtype=np.float64), np.arange(h, dtype=np.float64)
    mask_x = (1.0 - np.minimum(xs / pl, (w - 1 - xs) / pr)).astype(np.float32)
    mask_y = (1.0 - np.minimum(ys / pt, (h - 1 - ys) / pb)).astype(np.float32)
    inner_x = np.nonzero(mask_x <= -1.0 / 3.0)[0]
    inner_y = np.nonzero(mask_y <= -1.0 / 3.0)[0]
    if inner_x.size and inner_y.size:
        x0, x1, y0, y1 = int(inner_x[0]), int(inner_x[-1]) + 1, int(inner_y[0]), int(inner_y[-1]) + 1
        strips = [(slice(0, y0), slice(0, w)), (slice(y1, h), slice(0, w)),
                  (slice(y0, y1), slice(0, x0)), (slice(y0, y1), slice(x1, w))]
    else:
        x0 = x1 = y0 = y1 = 0
        strips = [(slice(0, h), slice(0, w))]
    strips = [(r, c) for r, c in strips if r.stop > r.start and c.stop > c.start]

    blur = _Blur(padded, sigma)
    band = []
    for rows, cols in strips:
        values = padded[rows, cols].astype(np.float32)
        smooth = blur.region(rows, cols)
        mask = np.maximum(mask_x[cols][None, :], mask_y[rows][:, None])
        values += (smooth - values) * np.clip(mask * 3.0 + 1.0, 0.0, 1.0)[:, :, None]
        band.append((rows, cols, values, mask))

    # Median of the whole (partly blurred) image, per channel: the interior is uint8.
    interior = padded[y0:y1, x0:x1] if (x1 > x0 and y1 > y0) else padded[:0, :0]
    median = np.array([_union_median(np.bincount(interior[:, :, ch].ravel(), minlength=256),
                                     [v[:, :, ch] for _, _, v, _ in band]) for ch in range(channels)],
                      dtype=np.float32)
    for rows, cols, values, mask in band:
        values += (median - values) * np.clip(mask, 0.0, 1.0)[:, :, None]
        np.rint(values, out=values)
        padded[rows, cols] = np.clip(values, 0, 255).astype(np.uint8)
    return padded


def _union_median(int_hist: np.ndarray, float_parts: list[np.ndarray]) -> float:
    """`np.median` of (integers counted by `int_hist`) united with float values near [0, 255].

    Values are binned at 1/64 (cv2.calcHist); the bin holding each middle rank is then
    resolved exactly (integers sit at the bottom of their bin), so the result equals
    np.median of the union.
    """
    per_unit, low = 64, -1.0
    nbins = 258 * per_unit  # [-1, 257): float error may leave values a hair outside [0, 255]
    counts = np.zeros(nbins, np.int64)
    parts = [np.ascontiguousarray(p, dtype=np.float32) for p in float_parts if p.size]
    for part in parts:
        counts += cv2.calcHist([part], [0], None, [nbins], [low, low + nbins / per_unit]).ravel().astype(np.int64)
    integer_bins = (np.arange(256) - low).astype(np.int64) * per_unit
    counts[integer_bins] += int_hist
    cumulative = np.cumsum(counts)
    total = int(cumulative[-1])

    def kth(k: int) -> float:
        b = int(np.searchsorted(cumulative, k + 1))
        rank = k - (int(cumulative[b - 1]) if b > 0 else 0)
        lo = low + b / per_unit
        integers = int(int_hist[int(lo)]) if (b % per_unit == 0 and 0 <= lo <= 255) else 0
        if rank < integers:
            return lo
        hi = low + (b + 1) / per_unit
        in_bin = np.sort(np.concatenate([p[(p >= lo) & (p < hi)] for p in parts]))
        return float(in_bin[rank - integers])

    if total % 2:
        return kth(total // 2)
    return 0.5 * (kth(total // 2 - 1) + kth(total // 2))


def map_points(points: np.ndarray, quad: np.ndarray, output_size: int) -> np.ndarray:
    """Where image points land in the aligned output, float [N, 2] (x, y), continuous pixel coordinates.

    The quad's top-left corner maps to (0, 0) and its far corners to `output_size`.
    For an upright face (eye distance e, eye-to-mouth distance m, s = max(2e, 1.8m))
    the eye centres land at x = S/2 -+ S e / (4 s) and y = S/2 - 0.1 m S / (2 s);
    with FFHQ's usual proportions (2e >= 1.8m) that is x = 0.375 S and 0.625 S.
    """
    nw, sw, ne = quad[0], quad[1], quad[3]
    basis = np.stack([ne - nw, sw - nw], axis=1)  # columns: output x and y directions
    uv = np.linalg.solve(basis, (np.asarray(points, np.float64) - nw).T).T
    return uv * output_size
