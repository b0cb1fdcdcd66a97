"""Multi-scale sliced Wasserstein distance (Karras et al. 2018, "Progressive Growing of GANs",
sec. 5 and appendix D; official ProGAN `metrics/sliced_wasserstein.py`).

Per image, a Laplacian pyramid from the full resolution down to 16x16 (5x5 binomial
filter, mirror borders, as `cv2.pyrDown`/`pyrUp`); from each level, 128 random 7x7x3
patches ("descriptors", 147 numbers). Per level, each descriptor set is normalised per
colour channel (mean and std over all its patches and pixels, real and fake sets
separately), and the sliced Wasserstein distance between the real and fake sets is the
mean, over 4 x 128 random unit directions, of the mean absolute difference of the
sorted projections. The results are reported x 1e3 per resolution and averaged, as
ProGAN prints them (`SWDx1e3_<res>`, `SWDx1e3_avg`).

Needs no pretrained weights. Differences from the official code:
- patch positions and projection directions come from a seeded `np.random.default_rng`
  instead of numpy's global state, so a fixed seed gives the same number every run;
- the real and the fake sets use the same sequence of patch positions (common random
  numbers): identical image sets give exactly 0, and comparisons carry less sampling
  noise. The official code draws the two sets' positions independently; positions do
  not depend on the images, so this changes no expectation, only the variance;
- the 5x5 filter is applied as two separable 1-D passes (the same filter,
  [1, 4, 6, 4, 1] / 16 twice).
"""

from __future__ import annotations

import numpy as np
import scipy.ndimage

from stylegan_tf.errors import UserError

NHOOD_SIZE = 7
NHOODS_PER_IMAGE = 128
DIR_REPEATS = 4
DIRS_PER_REPEAT = 128
MIN_RESOLUTION = 16
_BINOMIAL = np.float32([1, 4, 6, 4, 1]) / 16.0


def swd_resolutions(resolution: int, min_resolution: int = MIN_RESOLUTION) -> list[int]:
    """Pyramid levels: resolution, resolution / 2, ... down to min_resolution (official: 16)."""
    levels = []
    res = int(resolution)
    while res >= min_resolution:
        levels.append(res)
        res //= 2
    if not levels:
        raise UserError(f"SWD needs images of at least {min_resolution}x{min_resolution}. "
                        f"Received: resolution={resolution}")
    return levels


def _blur(x: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Separable 5x5 filter over the last two axes of NCHW, mirror borders (cv2 BORDER_REFLECT_101)."""
    x = scipy.ndimage.correlate1d(x, kernel, axis=2, mode="mirror")
    return scipy.ndimage.correlate1d(x, kernel, axis=3, mode="mirror")


def pyr_down(x: np.ndarray) -> np.ndarray:
    """Gaussian blur then keep every other pixel (matches `cv2.pyrDown`); NCHW float32."""
    return _blur(x, _BINOMIAL)[:, :, ::2, ::2]


def pyr_up(x: np.ndarray) -> np.ndarray:
    """Zero-interleave then blur with 4x the filter (matches `cv2.pyrUp`); NCHW float32."""
    n, c, h, w = x.shape
    out = np.zeros((n, c, h * 2, w * 2), x.dtype)
    out[:, :, ::2, ::2] = x
    return _blur(out, _BINOMIAL * 2.0)


def laplacian_pyramid(images: np.ndarray, num_levels: int) -> list[np.ndarray]:
    """Levels [finest, ..., coarsest] of NCHW images; the last level is the Gaussian residual."""
    pyramid = [np.asarray(images, np.float32)]
    for _ in range(1, num_levels):
        pyramid.append(pyr_down(pyramid[-1]))
        pyramid[-2] = pyramid[-2] - pyr_up(pyramid[-1])
    return pyramid


def patch_descriptors(level: np.ndarray, rng: np.random.Generator, nhood_size: int = NHOOD_SIZE,
                      nhoods_per_image: int = NHOODS_PER_IMAGE) -> np.ndarray:
    """`nhoods_per_image` random patches per image: [N * nhoods, C, size, size] (official layout)."""
    n, c, h, w = level.shape
    half = nhood_size // 2
    count = n * nhoods_per_image
    image = (np.arange(count) // nhoods_per_image)[:, None, None, None]
    chan = np.arange(c)[None, :, None, None]
    dy = np.arange(-half, half + 1)[None, None, :, None]
    dx = np.arange(-half, half + 1)[None, None, None, :]
    # One (y, x) pair per patch, drawn in patch order: the positions do not depend on the batching.
    yx = rng.integers(half, np.array([h - half, w - half]), size=(count, 2))
    y = dy + yx[:, 0, None, None, None]
    x = dx + yx[:, 1, None, None, None]
    return level[image, chan, y, x]


def finalize_descriptors(descriptors) -> np.ndarray:
    """Concatenate, normalise each channel to zero mean / unit std over all patches, flatten: [M, C*s*s]."""
    desc = np.concatenate(descriptors, axis=0) if isinstance(descriptors, list) else np.array(descriptors)
    desc = desc.astype(np.float32)
    desc -= desc.mean(axis=(0, 2, 3), keepdims=True)
    desc /= desc.std(axis=(0, 2, 3), keepdims=True)
    return desc.reshape(len(desc), -1)


def sliced_wasserstein(a: np.ndarray, b: np.ndarray, rng: np.random.Generator, dir_repeats: int = DIR_REPEATS,
                       dirs_per_repeat: int = DIRS_PER_REPEAT) -> float:
    """Mean over random unit directions of the 1-D Wasserstein-1 distance between the projections.

    a, b: descriptors [M, D] of the same shape (equal counts, so sorted projections pair up).
    """
    if a.ndim != 2 or a.shape != b.shape:
        raise ValueError(f"Descriptor sets must have the same [M, D] shape. Received: {a.shape} and {b.shape}")
    results = []
    for _ in range(dir_repeats):
        dirs = rng.standard_normal((a.shape[1], dirs_per_repeat))
        dirs /= np.sqrt(np.sum(np.square(dirs), axis=0, keepdims=True))
        dirs = dirs.astype(np.float32)
        # Projections as [direction, descriptor] rows: sorting contiguous rows is several times faster.
        proj_a = np.sort(dirs.T @ a.T, axis=1)
        proj_b = np.sort(dirs.T @ b.T, axis=1)
        results.append(np.mean(np.abs(proj_a - proj_b)))
    return float(np.mean(results))


class DescriptorSet:
    """Accumulates per-level patch descriptors of uint8 NHWC batches (RGB, 3 channels).

    Args:
        resolution: image size; levels from it down to `min_resolution`.
        rng: the generator of patch positions; each level draws from its own child
            generator (`rng.spawn`), so the positions do not depend on the batching.
    """

    def __init__(self, resolution: int, rng: np.random.Generator, min_resolution: int = MIN_RESOLUTION,
                 nhood_size: int = NHOOD_SIZE, nhoods_per_image: int = NHOODS_PER_IMAGE):
        self.resolutions = swd_resolutions(resolution, min_resolution)
        self.rngs = rng.spawn(len(self.resolutions))
        self.nhood_size, self.nhoods_per_image = nhood_size, nhoods_per_image
        self.levels: list[list[np.ndarray]] = [[] for _ in self.resolutions]
        self.count = 0

    def feed(self, images: np.ndarray) -> None:
        images = np.asarray(images)
        if images.ndim != 4 or images.shape[1] != self.resolutions[0] or images.shape[2] != self.resolutions[0]:
            raise UserError(f"SWD expects {self.resolutions[0]}x{self.resolutions[0]} images. "
                            f"Received shape: {images.shape}")
        nchw = np.transpose(images, (0, 3, 1, 2))
        for i, level in enumerate(laplacian_pyramid(nchw, len(self.resolutions))):
            self.levels[i].append(patch_descriptors(level, self.rngs[i], self.nhood_size, self.nhoods_per_image))
        self.count += len(images)

    def finalize(self) -> list[np.ndarray]:
        if not self.count:
            raise UserError("SWD got no images")
        return [finalize_descriptors(d) for d in self.levels]


def swd_from_descriptors(real: list[np.ndarray], fake: list[np.ndarray], resolutions: list[int],
                         rng: np.random.Generator, dir_repeats: int = DIR_REPEATS,
                         dirs_per_repeat: int = DIRS_PER_REPEAT) -> dict[str, float]:
    """{"<res>": SWD x 1e3 per level, ..., "avg": their mean}."""
    dist = [sliced_wasserstein(r, f, rng, dir_repeats, dirs_per_repeat) * 1e3 for r, f in zip(real, fake)]
    results = {str(res): d for res, d in zip(resolutions, dist)}
    results["avg"] = float(np.mean(dist))
    return results


def compute_swd(real_batches, fake_batches, resolution: int, seed: int = 0, min_resolution: int = MIN_RESOLUTION,
                dir_repeats: int = DIR_REPEATS, dirs_per_repeat: int = DIRS_PER_REPEAT) -> dict[str, float]:
    """SWD between two iterables of uint8 NHWC batches with the same total count.

    Seeds: patch positions of both sets from `default_rng([seed, 0])` (the same sequence),
    projection directions from `[seed, 2]`.
    """
    real = DescriptorSet(resolution, np.random.default_rng([seed, 0]), min_resolution)
    for batch in real_batches:
        real.feed(batch)
    fake = DescriptorSet(resolution, np.random.default_rng([seed, 0]), min_resolution)
    for batch in fake_batches:
        fake.feed(batch)
    if real.count != fake.count:
        raise ValueError(f"SWD needs as many real as fake images. Received: {real.count} and {fake.count}")
    return swd_from_descriptors(real.finalize(), fake.finalize(), real.resolutions, np.random.default_rng([seed, 2]),
                                dir_repeats, dirs_per_repeat)


# Registry -------------------------------------------------------------------------------
from stylegan_tf.metrics.registry import register_metric  # noqa: E402


@register_metric("swd16k", num=16384, needs=("reals",),
                 description="ProGAN multi-scale sliced Wasserstein distance x1e3 per level and avg, 16384 images "
                             "(no pretrained weights: the training-snapshot default)")
def swd16k(ctx) -> dict[str, float]:
    """Reals first (as many as available up to num), then as many fakes; results keyed '<name>/<res>'."""
    shape = ctx.image_shape()
    real = DescriptorSet(shape[1], np.random.default_rng([ctx.seed, 0]))
    for batch in ctx.real_batches(ctx.count()):
        if not real.count:
            ctx.check_shapes(batch, shape)
        real.feed(batch)
    fake = DescriptorSet(shape[1], np.random.default_rng([ctx.seed, 0]))  # Same positions as the reals.
    for batch in ctx.fake_batches(real.count):
        fake.feed(batch)
    results = swd_from_descriptors(real.finalize(), fake.finalize(), real.resolutions,
                                   np.random.default_rng([ctx.seed, 2]))
    out = {f"{ctx.metric}/avg": results.pop("avg")}
    out.update({f"{ctx.metric}/{res}": value for res, value in results.items()})
    ctx.info["num_reals"] = real.count
    return out
