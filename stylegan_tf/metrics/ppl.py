"""Perceptual path length (paper sec. 4.1, eq. 2-3; official StyleGAN `perceptual_path_length.py`).

    l_Z = E[ d(G(slerp(z1, z2; t)), G(slerp(z1, z2; t + eps))) / eps^2 ]     (Z, slerp)
    l_W = E[ d(g(lerp(f(z1), f(z2); t)), g(lerp(f(z1), f(z2); t + eps))) / eps^2 ]   (W, lerp)

with t ~ U(0, 1) ("full") or t = 0 ("end"), eps = 1e-4, d the LPIPS VGG16 distance,
no truncation. As the official code: both endpoints of a pair get the same noise (the
noise inputs are redrawn once per minibatch and shared by all its images), images are
cropped to the face region (rows H*3/8..H*7/8, columns W*2/8..W*6/8), box-downsampled
to 256x256 when larger, scaled from [-1, 1] to [0, 255], and the distances outside the
1st..99th percentile are dropped before averaging. The official slerp returns unit
vectors; the mapping network's pixel normalisation makes the length irrelevant.

The distance is injectable (`distance(img0, img1) -> [N]` on [0, 255] images), so the
interpolation and epsilon handling can be checked against a toy distance with a known
path length. The generator must run in float32: differences of eps-close images vanish
in float16.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from stylegan_tf.errors import UserError

EPSILON = 1e-4
SPACES = ("z", "w")
SAMPLINGS = ("full", "end")


def normalize(v: np.ndarray) -> np.ndarray:
    return v / np.sqrt(np.sum(np.square(v), axis=-1, keepdims=True))


def slerp(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Official PPL slerp of batches [N, D] at t [N, 1] (unit-length result), in float64."""
    a, b, t = normalize(np.asarray(a, np.float64)), normalize(np.asarray(b, np.float64)), np.asarray(t, np.float64)
    d = np.sum(a * b, axis=-1, keepdims=True)
    p = t * np.arccos(np.clip(d, -1.0, 1.0))
    c = normalize(b - d * a)
    return normalize(a * np.cos(p) + c * np.sin(p))


def lerp(a, b, t):
    return a + (b - a) * t


def crop_face(images: np.ndarray) -> np.ndarray:
    """Official face crop of NHWC images: c = H // 8; rows c*3 : c*7, columns c*2 : c*6."""
    c = images.shape[1] // 8
    if c == 0:
        raise UserError(f"PPL's face crop needs images of at least 8x8. Received shape: {images.shape}")
    return images[:, c * 3: c * 7, c * 2: c * 6]


def downsample_to_256(images: np.ndarray) -> np.ndarray:
    """Box-average NHWC images down to 256x256 when larger (official: integer factor H // 256)."""
    n, h, w, ch = images.shape
    if h <= 256:
        return images
    f = h // 256
    return images.reshape(n, h // f, f, w // f, f, ch).mean(axis=(2, 4))


def path_length_distances(G, z0: np.ndarray, z1: np.ndarray, t: np.ndarray, space: str,
                          distance: Callable, epsilon: float = EPSILON, noise: np.ndarray | None = None,
                          labels: np.ndarray | None = None, crop: bool = True,
                          synthesize: Callable | None = None) -> np.ndarray:
    """d(image(t), image(t + eps)) / eps^2 for each pair of latents: [N].

    Args:
        G: the generator (protocol of `stylegan_tf.generate`).
        z0, z1: endpoints [N, latent_size]. t: [N] interpolation positions.
        space: "z" (slerp of z) or "w" (lerp of w = mapping(z)).
        distance: fn(img0, img1) -> [N], images NHWC in [0, 255].
        noise: flat noise [1 or 2N, noise_size] shared by both endpoints; None = the fixed noise.
        labels: one-hot [N, label_size] for conditional networks (same label at both endpoints).
        crop: apply the official face crop.
        synthesize: fn(w, noise) -> float images; default `G.synthesis(w, noise_mode=..., noise=...)`.
    """
    if space not in SPACES:
        raise UserError(f"PPL space must be one of {list(SPACES)}. Received: space={space!r}")
    t = np.asarray(t, np.float64).reshape(-1, 1)
    pair_labels = None if labels is None else np.concatenate([labels, labels])
    if space == "w":
        w = np.asarray(_mapping(G, np.concatenate([z0, z1]).astype(np.float32), pair_labels), np.float64)
        w0, w1 = w[:len(z0)], w[len(z0):]
        w_e0 = lerp(w0, w1, t[:, :, None])
        w_e1 = lerp(w0, w1, t[:, :, None] + epsilon)
        w_pairs = np.concatenate([w_e0, w_e1]).astype(np.float32)
    else:
        z_e0 = slerp(z0, z1, t)
        z_e1 = slerp(z0, z1, t + epsilon)
        w_pairs = np.asarray(_mapping(G, np.concatenate([z_e0, z_e1]).astype(np.float32), pair_labels), np.float32)
    if noise is None:
        noise_mode, noise_arg = "const", None
    else:
        noise_mode, noise_arg = "random", np.asarray(noise, np.float32)
        if len(noise_arg) == 1:
            noise_arg = np.repeat(noise_arg, len(w_pairs), axis=0)
    if synthesize is None:
        images = G.synthesis(w_pairs, noise_mode=noise_mode, noise=noise_arg)
    else:
        images = synthesize(w_pairs, noise_arg)
    images = np.asarray(images, np.float32)
    if crop:
        images = crop_face(images)
    images = (downsample_to_256(images) + 1.0) * (255.0 / 2.0)
    n = len(z0)
    return np.asarray(distance(images[:n], images[n:]), np.float64).reshape(n) / epsilon**2


def _mapping(G, z, labels):
    return G.mapping(z, labels) if labels is not None else G.mapping(z)


def filtered_mean(distances: np.ndarray) -> float:
    """Mean of the distances within the 1st..99th percentile (official: 'lower' / 'higher' interpolation)."""
    d = np.asarray(distances, np.float64)
    lo = np.percentile(d, 1, method="lower")
    hi = np.percentile(d, 99, method="higher")
    return float(np.mean(d[(lo <= d) & (d <= hi)]))


def sample_path_lengths(G, num: int, space: str, sampling: str, distance: Callable, epsilon: float = EPSILON,
                        batch_size: int = 16, seed: int = 0, crop: bool = True, noise_mode: str = "random",
                        progress=None, synthesize: Callable | None = None, noise_size: int | None = None
                        ) -> np.ndarray:
    """`num` path-length samples [num] (before outlier rejection).

    Latent pairs from `default_rng(seed)`, t from `[seed, 3]`, per-batch shared noise from
    `[seed, 1]`, labels of conditional networks from `[seed, 2]`.
    """
    if sampling not in SAMPLINGS:
        raise UserError(f"PPL sampling must be one of {list(SAMPLINGS)}. Received: sampling={sampling!r}")
    if noise_mode not in ("random", "const", "none"):
        raise UserError(f"PPL noise_mode must be random, const or none. Received: noise_mode={noise_mode!r}")
    latent = int(G.config.latent_size)
    z = np.random.default_rng(seed).standard_normal((2, num, latent)).astype(np.float32)
    t = np.random.default_rng([seed, 3]).uniform(0.0, 1.0, num) if sampling == "full" else np.zeros(num)
    label_size = int(G.config.label_size)
    labels = None
    if label_size:
        labels = np.eye(label_size, dtype=np.float32)[np.random.default_rng([seed, 2]).integers(0, label_size, num)]
    noise_rng = np.random.default_rng([seed, 1])
    size = int(noise_size if noise_size is not None else G.noise_size())
    out = []
    for start in range(0, num, batch_size):
        stop = min(num, start + batch_size)
        if noise_mode == "random":
            noise = noise_rng.standard_normal((1, size), np.float32)
        elif noise_mode == "none":
            noise = np.zeros((1, size), np.float32)
        else:
            noise = None if synthesize is None else np.asarray(G.const_noise(), np.float32).reshape(1, size)
        out.append(path_length_distances(G, z[0, start:stop], z[1, start:stop], t[start:stop], space, distance,
                                         epsilon, noise, None if labels is None else labels[start:stop], crop,
                                         synthesize))
        if progress is not None:
            progress.update(stop - start)
    return np.concatenate(out)


# Registry -------------------------------------------------------------------------------
from stylegan_tf.metrics.registry import register_metric  # noqa: E402


def _register(space: str, sampling: str) -> None:
    name = f"ppl_{space}{sampling}"
    interpolation = "slerp in Z" if space == "z" else "lerp in W"

    @register_metric(name, num=100_000, needs=("lpips",),
                     description=f"Perceptual path length, {interpolation}, t {'~ U(0,1)' if sampling == 'full' else '= 0'}"
                                 f", eps 1e-4, LPIPS VGG16, 100k samples (paper Table 3)")
    def metric(ctx) -> dict[str, float]:
        distance = ctx.require_distance()
        source = ctx.generated()  # Its synthesis: compiled, and at `ctx.resolution` while growing.
        num = ctx.count()
        with ctx.bar(num, name) as bar:
            d = sample_path_lengths(ctx.generator, num, space, sampling, distance, ctx.ppl_epsilon, ctx.batch_size,
                                    ctx.seed, ctx.ppl_crop, "random", bar, source.synthesize, source.noise_size())
        return {name: filtered_mean(d)}

    metric.__name__ = name


for _space in SPACES:
    for _sampling in SAMPLINGS:
        _register(_space, _sampling)
