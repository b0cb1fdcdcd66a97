"""Sampling a generator: seeds to latents and noise, truncation, style mixing, noise variation,
truncation sweeps and interpolation (the library under `python -m stylegan_tf.generate`).

Numpy in, uint8 numpy out. The functions only use the generator protocol shared by every family
and format `stylegan_tf.export.load_generator` opens: `config`, `num_layers`, `mapping(z, labels)`,
`truncate(w, psi, cutoff)`, `mix_styles(w, w_other, layers)`, `synthesis(w, noise_mode=..., noise=...)`,
`noise_size()` and `const_noise()`; whether a network has noise inputs is its family's registry
flag (`Family.noise_inputs`).

Reproducibility: the latent of seed s is `np.random.RandomState(s).randn(1,
latent_size)`, as in the official `pretrained_example.py` and `generate_figures.py`.
Noise is always passed explicitly as one flat [N, noise_size] array, so the same
seed, psi and noise mode give the same image whichever format the generator was
loaded from:

- "random": the same RandomState continues after the latent and draws the flat noise
  (the layers' [H, W] maps in layer order, row-major), as NVlabs' StyleGAN2
  `run_generator.py` seeds its noise variables. Random, but a function of the seed.
- "const": the network's fixed noise maps (official `randomize_noise=False`).
- "none": zeros, i.e. no noise.

Networks without noise inputs (StyleGAN3) get noise [N, 0]: every noise mode is the same for them.
"""

from __future__ import annotations

from typing import Iterator, Sequence

import numpy as np
from tqdm import tqdm

from stylegan_tf import families
from stylegan_tf.errors import UserError
from stylegan_tf.media import to_uint8

NOISE_MODES = ("random", "const", "none")
STYLE_NAMES = ("coarse", "middle", "fine")
# Paper sec. 3.1 / Figure 3: coarse = 4x4-8x8 (layers 0-3), middle = 16x16-32x32 (4-7), fine = 64x64 and up.
STYLE_RANGES = {"coarse": (0, 4), "middle": (4, 8), "fine": (8, None)}
FIGURE3_STYLES = ("coarse", "coarse", "coarse", "middle", "middle", "fine")   # official generate_figures.py


# Style groups (paper Figure 3) ---------------------------------------------------------------
def style_layers(name: str, num_layers: int, option: str = "--styles") -> list[int]:
    """The layer indices of a style group: coarse (4-8 px: 0-3), middle (16-32 px: 4-7), fine (64 px up: 8-)."""
    if name not in STYLE_RANGES:
        raise UserError(f"{option} must name one of {list(STYLE_NAMES)}. Received: {option}={name!r}")
    start, stop = STYLE_RANGES[name]
    layers = list(range(start, num_layers if stop is None else min(stop, num_layers)))
    if not layers:
        resolution = 2 ** (num_layers // 2 + 1)
        raise UserError(f"{option}={name}: a {resolution}x{resolution} network ({num_layers} layers) has no "
                        f"{name} layers; use coarse/middle or --layers.")
    return layers


def default_styles(num_rows: int, num_layers: int) -> list[str]:
    """Figure 3's rows: the paper's coarse x3, middle x2, fine for 6 rows of a network with all three
    groups; otherwise the groups the network has, spread over the rows in order."""
    groups = [name for name in STYLE_NAMES if STYLE_RANGES[name][0] < num_layers]
    if num_rows == len(FIGURE3_STYLES) and len(groups) == len(STYLE_NAMES):
        return list(FIGURE3_STYLES)
    return [groups[i * len(groups) // num_rows] for i in range(num_rows)]


def describe_layers(layers: Sequence[int]) -> str:
    """[4, 5, 6, 7] -> '4-7'; [0, 2] -> '0,2'."""
    layers = list(layers)
    if layers and layers == list(range(layers[0], layers[-1] + 1)):
        return f"{layers[0]}-{layers[-1]}" if len(layers) > 1 else str(layers[0])
    return ",".join(str(i) for i in layers)


def check_noise_mode(mode: str, option: str = "--noise") -> str:
    if mode not in NOISE_MODES:
        raise UserError(f"{option} must be one of {list(NOISE_MODES)}. Received: {option}={mode!r}")
    return mode


# Latents, noise, labels ----------------------------------------------------------------
def latent_size(G) -> int:
    return int(G.config.latent_size)


def seed_latents(G, seeds: Sequence[int]) -> np.ndarray:
    """[N, latent_size] float32: `np.random.RandomState(seed).randn(1, latent_size)` per seed (official)."""
    return np.concatenate([np.random.RandomState(s).randn(1, latent_size(G)) for s in seeds]).astype(np.float32)


def noise_size(G) -> int:
    """The flat noise width of G: 0 for networks without noise inputs (StyleGAN3, any format)."""
    return int(G.noise_size()) if families.has_noise_inputs(G) else 0


def seed_noise_stream(G, seed: int) -> Iterator[np.ndarray]:
    """Successive random noise realisations [noise_size] of a seed: the RandomState of the seed,
    after its latent, draws them one after the other (realisation 0 = `seed_noise(..., "random")`)."""
    rnd = np.random.RandomState(seed)
    rnd.randn(1, latent_size(G))
    size = noise_size(G)
    while True:
        yield rnd.randn(size).astype(np.float32)


def seed_noise(G, seeds: Sequence[int], mode: str) -> np.ndarray:
    """Flat noise [N, noise_size] float32 for each seed under a noise mode (see the module docstring)."""
    check_noise_mode(mode)
    size, n = noise_size(G), len(seeds)
    if size == 0:   # StyleGAN3: nothing to draw; [N, 0] keeps the batching code uniform.
        return np.zeros((n, 0), np.float32)
    if mode == "random":
        return np.stack([next(seed_noise_stream(G, s)) for s in seeds])
    if mode == "const":
        const = np.asarray(G.const_noise(), np.float32).reshape(1, size)
        return np.repeat(const, n, axis=0)
    return np.zeros((n, size), np.float32)


def class_labels(G, class_index: int | None, count: int, option: str = "--class") -> np.ndarray | None:
    """One-hot labels [count, label_size] for a conditional network; None for an unconditional one."""
    label_size = int(G.config.label_size)
    if label_size == 0:
        if class_index is not None:
            raise UserError(f"{option}: the network is unconditional (label_size=0). Received: "
                            f"{option}={class_index}")
        return None
    if class_index is None:
        raise UserError(f"{option} is required: the network is conditional with {label_size} classes "
                        f"(0..{label_size - 1}).")
    if not 0 <= class_index < label_size:
        raise UserError(f"{option} must be in [0, {label_size}) for this network. Received: {option}={class_index}")
    labels = np.zeros((count, label_size), np.float32)
    labels[:, class_index] = 1.0
    return labels


# Generation ------------------------------------------------------------------------------
def map_latents(G, z: np.ndarray, labels: np.ndarray | None = None, psi: float | None = 1.0,
                cutoff: int | None = None) -> np.ndarray:
    """w [N, num_layers, w_dim] float32 = truncate(mapping(z, labels), psi, cutoff); psi None = network default."""
    return truncate_w(G, G.mapping(z, labels) if labels is not None else G.mapping(z), psi, cutoff)


def truncate_w(G, w, psi: float | None = 1.0, cutoff: int | None = None) -> np.ndarray:
    """G.truncate(w, psi, cutoff) as float32 numpy; psi 1 leaves w as it is, None = network default."""
    if psi is None or float(psi) != 1.0:
        w = G.truncate(w, psi, cutoff)
    return np.asarray(w, np.float32)


def synthesize(G, w: np.ndarray, noise: np.ndarray, batch_size: int = 8, progress: bool = False,
               desc: str = "synthesis") -> np.ndarray:
    """Images uint8 [N, H, W, C] from w [N, L, D] and flat noise [N, noise_size], in batches
    (noise [N, 0]: a network without noise inputs, StyleGAN3)."""
    if batch_size < 1:
        raise UserError(f"--batch must be at least 1. Received: --batch={batch_size}")
    out = []
    noise_free = noise.shape[-1] == 0
    for start in tqdm(range(0, len(w), batch_size), desc=desc, disable=not progress, unit="batch"):
        if noise_free:
            images = G.synthesis(w[start:start + batch_size], noise_mode="const")
        else:
            images = G.synthesis(w[start:start + batch_size], noise_mode="random",
                                 noise=np.ascontiguousarray(noise[start:start + batch_size]))
        out.append(to_uint8(images))
    return np.concatenate(out) if out else np.zeros((0,), np.uint8)


def iter_images(G, seeds: Sequence[int], psi: float | None = None, cutoff: int | None = None,
                noise_mode: str = "random", class_index: int | None = None, batch_size: int = 8,
                progress: bool = False) -> Iterator[np.ndarray]:
    """The images of `generate_images`, one uint8 batch [<= batch_size, H, W, C] at a time (latents and
    noise are made per batch, so long seed lists at high resolution stay within memory)."""
    check_noise_mode(noise_mode)
    if len(seeds):
        class_labels(G, class_index, 0)
    if batch_size < 1:
        raise UserError(f"--batch must be at least 1. Received: --batch={batch_size}")
    for start in tqdm(range(0, len(seeds), batch_size), desc="images", disable=not progress, unit="batch"):
        batch = list(seeds[start:start + batch_size])
        w = map_latents(G, seed_latents(G, batch), class_labels(G, class_index, len(batch)), psi, cutoff)
        yield synthesize(G, w, seed_noise(G, batch, noise_mode), batch_size)


def generate_images(G, seeds: Sequence[int], psi: float | None = None, cutoff: int | None = None,
                    noise_mode: str = "random", class_index: int | None = None, batch_size: int = 8,
                    progress: bool = False) -> np.ndarray:
    """One image per seed, uint8 [N, H, W, C].

    Args:
        psi: truncation psi; None = the network's default (0.7), 1 = off.
        cutoff: truncate layers < cutoff; None = the network's default (8).
        noise_mode: "random" (drawn from the seed), "const" or "none".
        class_index: class of a conditional network.
        batch_size: images per network call.
    """
    return np.concatenate(list(iter_images(G, seeds, psi, cutoff, noise_mode, class_index, batch_size, progress)))


def style_mixing(G, row_seeds: Sequence[int], col_seeds: Sequence[int], row_layers: Sequence[Sequence[int]],
                 psi: float = 1.0, cutoff: int | None = None, noise_mode: str = "const",
                 class_index: int | None = None, batch_size: int = 8, progress: bool = False,
                 row_w: np.ndarray | None = None, row_noise: np.ndarray | None = None) -> dict:
    """Paper Figure 3: each row seed's w with `row_layers[r]` copied from each column seed's w.

    `row_w` [R, L, D] (e.g. projected photos; truncated as the seeds') and their flat noise
    `row_noise` [R, noise_size] replace the row seeds' w and noise; `row_seeds` then only names the rows.

    As the official figure, the defaults use no truncation and the constant noise; with
    noise "random" every cell keeps the noise of its row (destination) seed.

    Returns:
        dict with `row_images` [R, H, W, C], `col_images` [K, H, W, C], `mixed` [R, K, H, W, C],
        and the w tensors `row_w` [R, L, D], `col_w` [K, L, D], `mixed_w` [R, K, L, D].
    """
    if len(row_layers) != len(row_seeds):
        raise ValueError(f"Expected one layer list per row seed ({len(row_seeds)}). Received: {len(row_layers)}")
    labels = class_labels(G, class_index, len(row_seeds) + len(col_seeds))
    if row_w is None:
        w = map_latents(G, seed_latents(G, list(row_seeds) + list(col_seeds)), labels, psi, cutoff)
        row_w, col_w = w[:len(row_seeds)], w[len(row_seeds):]
    else:
        row_w = truncate_w(G, row_w, psi, cutoff)
        col_w = map_latents(G, seed_latents(G, col_seeds), class_labels(G, class_index, len(col_seeds)), psi, cutoff)
    mixed_w = np.stack([np.asarray(G.mix_styles(np.repeat(row_w[r:r + 1], len(col_seeds), axis=0), col_w,
                                                list(row_layers[r])), np.float32)
                        for r in range(len(row_seeds))])
    row_noise = seed_noise(G, row_seeds, noise_mode) if row_noise is None else np.asarray(row_noise, np.float32)
    col_noise = seed_noise(G, col_seeds, noise_mode)
    mixed_noise = np.repeat(row_noise, len(col_seeds), axis=0)
    all_w = np.concatenate([row_w, col_w, mixed_w.reshape((-1,) + row_w.shape[1:])])
    all_noise = np.concatenate([row_noise, col_noise, mixed_noise])
    images = synthesize(G, all_w, all_noise, batch_size, progress, desc="style mixing")
    r, k = len(row_seeds), len(col_seeds)
    return dict(row_images=images[:r], col_images=images[r:r + k],
                mixed=images[r + k:].reshape((r, k) + images.shape[1:]),
                row_w=row_w, col_w=col_w, mixed_w=mixed_w)


def noise_variation(G, seeds: Sequence[int], num_samples: int = 100, psi: float = 1.0, cutoff: int | None = None,
                    class_index: int | None = None, batch_size: int = 8, keep: int = 5,
                    progress: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Paper Figure 4: one latent per seed under `num_samples` random noise realisations.

    Realisation i of seed s is the i-th draw of `seed_noise_stream(G, s)` (so realisation 0
    is the `images` result with noise "random"). The official figure uses psi = 1.

    Returns:
        (images uint8 [S, keep, H, W, C], the first `keep` realisations;
         std [S, H, W] float64: per-pixel std over all realisations of the channel-mean uint8
         intensity, as the official `np.std(np.mean(images, axis=3), axis=0)`).
    """
    if num_samples < max(keep, 2):
        raise UserError(f"--samples must be at least {max(keep, 2)}. Received: --samples={num_samples}")
    labels = class_labels(G, class_index, len(seeds))
    w_all = map_latents(G, seed_latents(G, seeds), labels, psi, cutoff)
    kept, stds = [], []
    bar = tqdm(total=len(seeds) * num_samples, desc="noise", disable=not progress, unit="img")
    for i, seed in enumerate(seeds):
        stream = seed_noise_stream(G, seed)
        total = total_sq = reference = None
        first = []
        for start in range(0, num_samples, batch_size):
            n = min(batch_size, num_samples - start)
            noise = np.stack([next(stream) for _ in range(n)])
            images = synthesize(G, np.repeat(w_all[i:i + 1], n, axis=0), noise, batch_size)
            first.extend(images[: max(0, keep - len(first))])
            intensity = images.astype(np.float64).mean(axis=-1)
            if total is None:  # Sums of deviations from the first image: exact zeros for equal images.
                reference, total, total_sq = intensity[0], 0.0, 0.0
            deviation = intensity - reference
            total, total_sq = total + deviation.sum(0), total_sq + (deviation**2).sum(0)
            bar.update(n)
        mean = total / num_samples
        stds.append(np.sqrt(np.maximum(total_sq / num_samples - mean**2, 0.0)))
        kept.append(np.stack(first))
    bar.close()
    return np.stack(kept), np.stack(stds)


def truncation_sweep(G, seeds: Sequence[int], psis: Sequence[float], cutoff: int | None = None,
                     noise_mode: str = "const", class_index: int | None = None, batch_size: int = 8,
                     progress: bool = False, w: np.ndarray | None = None,
                     noise: np.ndarray | None = None) -> np.ndarray:
    """Paper Figure 8: images uint8 [S, P, H, W, C] of each seed at each psi.

    `cutoff` None truncates every layer, as the official figure
    (`w_avg + psi * (w - w_avg)` on all of w); the official figure uses the constant noise.
    `w` [S, L, D] (e.g. projected photos) and flat `noise` [S, noise_size] replace the seeds'
    w and noise; `seeds` then only names the rows.
    """
    cutoff = int(G.num_layers) if cutoff is None else int(cutoff)
    if w is None:
        w = map_latents(G, seed_latents(G, seeds), class_labels(G, class_index, len(seeds)), 1.0)
    w = np.asarray(w, np.float32)
    rows_w = np.stack([np.asarray(G.truncate(w, float(p), cutoff), np.float32) for p in psis], axis=1)
    noise = np.repeat(seed_noise(G, seeds, noise_mode) if noise is None else noise, len(psis), axis=0)
    images = synthesize(G, rows_w.reshape((-1,) + w.shape[1:]), noise, batch_size, progress, desc="truncation")
    return images.reshape((len(seeds), len(psis)) + images.shape[1:])


def slerp(a: np.ndarray, b: np.ndarray, t) -> np.ndarray:
    """Spherical interpolation of directions, with the norms interpolated linearly.

    The direction follows the official PPL `slerp` (great circle from a/|a| to b/|b|); the
    length is lerp(|a|, |b|, t), so frames keep the scale of Gaussian latents (which matters
    for conditional networks, where z is normalised together with the label embedding).
    """
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    t = np.asarray(t, np.float64)[..., None]
    na, nb = np.linalg.norm(a, axis=-1, keepdims=True), np.linalg.norm(b, axis=-1, keepdims=True)
    ua, ub = a / na, b / nb
    d = np.clip(np.sum(ua * ub, axis=-1, keepdims=True), -1.0, 1.0)
    theta = np.arccos(d)
    ortho = ub - d * ua
    ortho_norm = np.linalg.norm(ortho, axis=-1, keepdims=True)
    ortho = np.where(ortho_norm > 1e-12, ortho / np.maximum(ortho_norm, 1e-12), 0.0)
    direction = ua * np.cos(t * theta) + ortho * np.sin(t * theta)
    return direction * (na + (nb - na) * t)


def interpolation_points(num_seeds: int, frames: int, loop: bool = False) -> list[tuple[int, int, float]]:
    """(from, to, t) per frame: `frames` per transition between consecutive seeds, plus the last seed
    (or back to the first seed when `loop`)."""
    if frames < 1:
        raise UserError(f"--frames must be at least 1. Received: --frames={frames}")
    if num_seeds < 2:
        raise UserError(f"--seeds needs at least two seeds to interpolate. Received: {num_seeds} seed(s)")
    points = []
    transitions = num_seeds if loop else num_seeds - 1
    for k in range(transitions):
        for j in range(frames):
            points.append((k, (k + 1) % num_seeds, j / frames))
    if not loop:
        points.append((num_seeds - 2, num_seeds - 1, 1.0))
    return points


def interpolate(G, seeds: Sequence[int], frames: int = 30, space: str = "w", psi: float | None = None,
                cutoff: int | None = None, noise_mode: str = "const", class_index: int | None = None,
                loop: bool = False, batch_size: int = 8, progress: bool = False,
                w: np.ndarray | None = None, noise: np.ndarray | None = None) -> np.ndarray:
    """Frames uint8 [F, H, W, C] walking through the seeds: lerp in W or slerp in Z (paper sec. 4).

    The noise is fixed for the whole walk (const, none, or the first seed's "random"
    noise), so only the latent moves. Truncation is applied to every frame's w.
    `w` [S, L, D] (e.g. projected photos; space "w" only) and flat `noise` [1, noise_size]
    replace the seeds' w and noise.
    """
    if space not in ("w", "z"):
        raise UserError(f"--space must be 'w' or 'z'. Received: --space={space!r}")
    if w is not None:
        if space != "w":
            raise UserError(f"--projected-w walks in W: use --space w. Received: --space={space!r}")
        points = interpolation_points(len(w), frames, loop)
        src, dst = np.array([p[0] for p in points]), np.array([p[1] for p in points])
        t = np.array([p[2] for p in points], np.float32)[:, None, None]
        w_points = truncate_w(G, w, psi, cutoff)
        w_frames = w_points[src] + (w_points[dst] - w_points[src]) * t
        noise = np.repeat(seed_noise(G, [0], noise_mode) if noise is None else noise[:1], len(points), axis=0)
        return synthesize(G, w_frames.astype(np.float32), noise, batch_size, progress, desc="frames")
    points = interpolation_points(len(seeds), frames, loop)
    z = seed_latents(G, seeds)
    src, dst = np.array([p[0] for p in points]), np.array([p[1] for p in points])
    t = np.array([p[2] for p in points], np.float64)
    labels = class_labels(G, class_index, len(points))
    if space == "w":
        w_seeds = map_latents(G, z, class_labels(G, class_index, len(seeds)), psi, cutoff)
        w = (w_seeds[src] + (w_seeds[dst] - w_seeds[src]) * t[:, None, None].astype(np.float32))
    else:
        z_frames = slerp(z[src], z[dst], t).astype(np.float32)
        w = map_latents(G, z_frames, labels, psi, cutoff)
    noise = np.repeat(seed_noise(G, seeds[:1], noise_mode), len(points), axis=0)
    return synthesize(G, w.astype(np.float32), noise, batch_size, progress, desc="frames")
