"""Sampling a trained generator and drawing the paper's figures.

Library functions (numpy in, uint8 numpy out) plus a thin command line:

    python -m stylegan_tf.generate images       --network G.keras --seeds 0-99,200 --trunc 0.7 --grid
    python -m stylegan_tf.generate style-mixing --network G.keras --row-seeds 1,2,3 --col-seeds 4,5 --styles coarse
    python -m stylegan_tf.generate noise        --network G.keras --seeds 1157,1012 --samples 100
    python -m stylegan_tf.generate truncation   --network G.keras --seeds 91,388 --psis 1,0.7,0.5,0,-0.5,-1
    python -m stylegan_tf.generate interpolate  --network G.keras --seeds 0,1,2 --space w --frames 30
    python -m stylegan_tf.generate images       --network G.keras --projected-w out/proj/projected_w.npz
    python -m stylegan_tf.generate images       --network sg3.keras --seeds 0-3 --translate 0.1,0 --rotate 15
    python -m stylegan_tf.generate pan          --network sg3.keras --seed 0 --path circle --distance 0.2

`--translate TX,TY` / `--rotate DEG` (images, style-mixing, truncation, interpolate, pan) set a
StyleGAN3 network's input transform for the command, as the official `gen_images.py`
(`transform = inv(make_transform(translate, rotate))`; translate in image widths, +x right,
+y down), and restore it afterwards; other families have no Fourier input and refuse them.
`pan` writes a GIF (and MP4) of one seed or projected w while the output moves along a line or
a circle and/or turns (`--rotate-speed` degrees per frame), as the StyleGAN3 paper's
equivariance videos. StyleGAN3 networks have no noise inputs: `--noise` is ignored for them.

`--projected-w` (images, style-mixing, truncation, interpolate) takes `projected_w.npz`
files of `stylegan_tf.project` (or the official projector's): their w are rendered,
used as the style-mixing rows, truncated, or walked through (in W) instead of seeds,
with the projection's optimised noise (`--no-projected-noise`: the `--noise` mode).

`--network` takes anything `stylegan_tf.export.load_generator` opens: a `.keras`
generator, a SavedModel directory, or a training run directory / checkpoint (its
EMA generator Gs). The functions here only use the generator protocol shared by all
of them: `config`, `num_layers`, `mapping(z, labels)`, `truncate(w, psi, cutoff)`,
`mix_styles(w, w_other, layers)`, `synthesis(w, noise_mode=..., noise=...)`,
`noise_size()` and `const_noise()`.

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
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import math
import os
import sys
from typing import Any, Iterator, Sequence

import numpy as np
from tqdm import tqdm

from stylegan_tf import families, figures
from stylegan_tf.errors import UserError
from stylegan_tf.images import to_uint8

NOISE_MODES = ("random", "const", "none")
STYLE_NAMES = ("coarse", "middle", "fine")
# Paper sec. 3.1 / Figure 3: coarse = 4x4-8x8 (layers 0-3), middle = 16x16-32x32 (4-7), fine = 64x64 and up.
STYLE_RANGES = {"coarse": (0, 4), "middle": (4, 8), "fine": (8, None)}
# Official generate_figures.py values.
FIGURE3_ROW_SEEDS = (888, 829, 1898, 1733, 1614, 845)
FIGURE3_COL_SEEDS = (639, 701, 687, 615, 2268)
FIGURE3_STYLES = ("coarse", "coarse", "coarse", "middle", "middle", "fine")
FIGURE4_SEEDS = (1157, 1012)
FIGURE8_SEEDS = (91, 388)
FIGURE8_PSIS = (1.0, 0.7, 0.5, 0.0, -0.5, -1.0)
PAN_PATHS = ("line", "circle")   # The paths of the `pan` video.


# Loading -----------------------------------------------------------------------------
def load_network(path: str, option: str = "--network") -> Any:
    """Opens a generator: through `stylegan_tf.export.load_generator` when that module exists,
    else a `.keras` file directly. A missing path is a `UserError` naming `option`."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise UserError(f"{option}: no such file or directory. Expected a .keras generator, a SavedModel "
                        f"directory, or a training run directory / checkpoint. Received: {option}={path!r}")
    if importlib.util.find_spec("stylegan_tf.export") is not None:
        from stylegan_tf import export

        if hasattr(export, "load_generator"):
            return export.load_generator(path)
    if path.endswith(".keras") and os.path.isfile(path):
        import keras

        families.register_keras_classes()
        return keras.models.load_model(path)
    raise UserError(f"{option}: cannot open this kind of network without stylegan_tf.export; only .keras "
                    f"files are supported here. Received: {option}={path!r}")


# Parsing -----------------------------------------------------------------------------
def parse_int_list(text: str, option: str) -> list[int]:
    """'0-99,200' -> [0, ..., 99, 200]; ranges are inclusive (official `num_range`)."""
    values: list[int] = []
    try:
        for part in str(text).split(","):
            part = part.strip()
            if not part:
                continue
            head, sep, tail = part.partition("-") if not part.startswith("-") else (part, "", "")
            if sep:
                start, stop = int(head), int(tail)
                if stop < start:
                    raise ValueError
                values.extend(range(start, stop + 1))
            else:
                values.append(int(part))
    except ValueError:
        raise UserError(f"{option} must be a comma-separated list of integers and inclusive ranges like "
                        f"0-99,200. Received: {option}={text!r}") from None
    if not values:
        raise UserError(f"{option} names no value. Received: {option}={text!r}")
    return values


def parse_seeds(text: str, option: str = "--seeds") -> list[int]:
    """Seeds as ranges and lists: '0-99,200'. Seeds must be in [0, 2**32) (numpy RandomState)."""
    seeds = parse_int_list(text, option)
    bad = [s for s in seeds if not 0 <= s < 2**32]
    if bad:
        raise UserError(f"{option}: seeds must be in [0, 2**32). Received: {option}={text!r}")
    return seeds


def parse_floats(text: str, option: str) -> list[float]:
    """'1,0.7,-0.5' -> [1.0, 0.7, -0.5]."""
    try:
        values = [float(v) for v in str(text).split(",") if v.strip()]
    except ValueError:
        raise UserError(f"{option} must be a comma-separated list of numbers. Received: {option}={text!r}") from None
    if not values:
        raise UserError(f"{option} names no value. Received: {option}={text!r}")
    return values


def parse_layers(text: str, num_layers: int, option: str = "--layers") -> list[int]:
    """Layer indices as ranges and lists ('0-3', '4,5'), each in [0, num_layers)."""
    layers = parse_int_list(text, option)
    bad = [i for i in layers if not 0 <= i < num_layers]
    if bad:
        raise UserError(f"{option}: layer indices must be in [0, {num_layers}) for this network. "
                        f"Received: {option}={text!r}")
    return sorted(set(layers))


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


def load_projected(G, paths: str, use_file_noise: bool = True, noise_mode: str = "const",
                   option: str = "--projected-w") -> tuple[list[str], np.ndarray, np.ndarray]:
    """Projected photos from comma-separated `projected_w.npz` files (`stylegan_tf.project`'s or the
    official projector's): names `projected00`, ..., w [S, num_layers, w_dim] and flat noise
    [S, noise_size]: the file's optimised noise when it has one and `use_file_noise`, else `noise_mode`'s
    ("random": drawn from seed i, i = 0..S-1)."""
    from stylegan_tf.project import load_projected_w

    files = [p.strip() for p in str(paths).split(",") if p.strip()]
    if not files:
        raise UserError(f"{option} names no file. Received: {option}={paths!r}")
    ws, noises = [], []
    for path in files:
        data = load_projected_w(path, int(G.num_layers), int(G.config.w_dim), option)
        w = data["w"]
        noise = data.get("noise") if use_file_noise else None
        if noise is not None and noise.shape[-1] != noise_size(G):
            raise UserError(f"{option}: the noise in {path!r} has {noise.shape[-1]} values, this network "
                            f"{noise_size(G)}: it was projected into another network.")
        if noise is None:
            noise = seed_noise(G, range(len(noises), len(noises) + len(w)), noise_mode)
        ws.append(w)
        noises.append(np.broadcast_to(noise, (len(w), noise.shape[-1])))
    w, noise = np.concatenate(ws), np.concatenate(noises).astype(np.float32)
    return [f"projected{i:02d}" for i in range(len(w))], w, noise


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
    labels = class_labels(G, class_index, len(seeds))
    w = map_latents(G, seed_latents(G, seeds), labels, 1.0) if w is None else np.asarray(w, np.float32)
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


# The StyleGAN3 input transform -------------------------------------------------------------
def parse_translate(text: str | None, option: str = "--translate") -> tuple[float, float] | None:
    """'0.25,-0.1' -> (0.25, -0.1): x then y, in image widths (official gen_images `parse_vec2`)."""
    if text is None:
        return None
    values = parse_floats(text, option)
    if len(values) != 2:
        raise UserError(f"{option} takes two numbers TX,TY (fractions of the image size). Received: {option}={text!r}")
    return values[0], values[1]


def transform_matrix(translate: Sequence[float] = (0.0, 0.0), angle: float = 0.0) -> np.ndarray:
    """The inverse input transform [3, 3] float32 that moves the output by `translate` (image widths;
    +x right, +y down) and rotates it by `angle` degrees: official gen_images.py
    `np.linalg.inv(make_transform(translate, rotate))`."""
    from stylegan_tf.networks.stylegan3.synthesis import make_transform

    return np.linalg.inv(make_transform(tuple(translate), float(angle))).astype(np.float32)


def transform_variable(G, option: str = "--translate/--rotate"):
    """The [3, 3] input transform variable of a StyleGAN3 network: `G.input_transform` of a Keras
    generator, or the restored `synthesis/input/transform` variable of an exported SavedModel (its
    endpoints read the variable, so assigning it moves their output too). Other families have no
    Fourier input: a `UserError` naming `option` and the family."""
    family = families.family_name(G.config)
    if not families.get(family).input_transform:
        raise UserError(f"{option}: only StyleGAN3 networks have an input transform (their Fourier-feature "
                        f"input); this is a {family} network.")
    variable = getattr(G, "input_transform", None)   # Keras G, or export.SavedModelGenerator's restored one
    if variable is None:
        raise UserError(f"{option}: cannot find the input transform of this {family} network "
                        f"({type(G).__name__}); use its .keras file.")
    return variable


@contextlib.contextmanager
def input_transform(G, translate: Sequence[float] | None = None, angle: float | None = None,
                    option: str = "--translate/--rotate"):
    """Renders inside the block see the output moved by `translate` and rotated by `angle` (see
    `transform_matrix`); the network's transform is restored afterwards. As official gen_images.py the
    transform replaces the stored one (not composed with it). Nothing requested: nothing is touched
    (any family)."""
    if translate is None and angle is None:
        yield
        return
    variable = transform_variable(G, option)
    saved = np.array(variable.numpy())
    variable.assign(transform_matrix((0.0, 0.0) if translate is None else translate, angle or 0.0))
    try:
        yield
    finally:
        variable.assign(saved)


def pan_transforms(frames: int, path: str = "line", distance: float = 1.0, direction: float = 0.0,
                   rotate_speed: float = 0.0, translate: Sequence[float] = (0.0, 0.0),
                   angle: float = 0.0) -> list[tuple[tuple[float, float], float]]:
    """(translate, angle) of each frame of a pan: `line`: from `translate` to `translate` + `distance`
    image widths along `direction` degrees (0 = right, 90 = down), the last frame at the end;
    `circle`: once round the circle of radius `distance` centred on `translate`, starting at its
    `direction` point, the last frame one step before the first (a seamless loop).
    The angle is `angle` + i * `rotate_speed` degrees at frame i."""
    if frames < 1:
        raise UserError(f"--frames must be at least 1. Received: --frames={frames}")
    if path not in PAN_PATHS:
        raise UserError(f"--path must be one of {list(PAN_PATHS)}. Received: --path={path!r}")
    a = math.radians(direction)
    out = []
    for i in range(frames):
        if path == "line":
            r, phi = distance * (i / (frames - 1) if frames > 1 else 0.0), a
        else:
            r, phi = distance, a + 2.0 * math.pi * i / frames
        out.append(((translate[0] + r * math.cos(phi), translate[1] + r * math.sin(phi)), angle + i * rotate_speed))
    return out


def pan(G, w: np.ndarray, noise: np.ndarray, transforms: Sequence[tuple[Sequence[float], float]],
        progress: bool = False) -> np.ndarray:
    """Frames uint8 [F, H, W, C] of one w [1, L, D] (flat noise [1, noise_size]) under each
    (translate, angle) of `transforms` (`pan_transforms`): a StyleGAN3 network's output moving and
    turning, as the paper's equivariance videos. One frame per call (the transform is per network)."""
    frames = []
    for translate, angle in tqdm(transforms, desc="frames", disable=not progress, unit="frame"):
        with input_transform(G, translate, angle, option="pan"):
            frames.append(synthesize(G, w[:1], noise[:1], 1))
    return np.concatenate(frames)


# Command line -------------------------------------------------------------------------
def _common(parser: argparse.ArgumentParser, noise_default: str, trunc_help: str) -> None:
    parser.add_argument("--network", required=True, help="a .keras generator, SavedModel directory, or training "
                        "run directory / checkpoint")
    parser.add_argument("--outdir", default="out", help="output folder (default: out)")
    parser.add_argument("--trunc", type=float, default=None, help=trunc_help)
    parser.add_argument("--trunc-cutoff", type=int, default=None,
                        help="truncate only layers < cutoff (default: the network's, 8)")
    parser.add_argument("--noise", default=noise_default, help=f"noise mode: random (drawn from the seed), "
                        f"const (fixed maps) or none (default: {noise_default})")
    parser.add_argument("--class", dest="class_index", type=int, default=None,
                        help="class index, for conditional networks")
    parser.add_argument("--batch", type=int, default=8, help="images per network call (default: 8)")
    parser.add_argument("--zoom", type=int, default=1, help="enlarge figures N times, nearest neighbour "
                        "(for small networks; default: 1)")


def _projected_options(parser: argparse.ArgumentParser, use: str) -> None:
    parser.add_argument("--projected-w", default=None, help=f"projected_w.npz file(s) of stylegan_tf.project, "
                        f"comma-separated: {use} (truncation default: 1 = off)")
    parser.add_argument("--projected-noise", action=argparse.BooleanOptionalAction, default=True,
                        help="render projected photos with the noise optimised with them (default: on; "
                             "off: the --noise mode)")


def _transform_options(parser: argparse.ArgumentParser, pan: bool = False) -> None:
    start = " at the first frame" if pan else ""
    parser.add_argument("--translate", default=None, metavar="TX,TY",
                        help=f"StyleGAN3: move the output{start} by TX,TY image widths (+x right, +y down; "
                             "official gen_images --translate)")
    parser.add_argument("--rotate", type=float, default=None, metavar="DEG",
                        help=f"StyleGAN3: rotate the output{start} by DEG degrees (official gen_images --rotate)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m stylegan_tf.generate",
        description="Sample a StyleGAN generator and draw the paper's figures.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n"
               "  python -m stylegan_tf.generate images --network G.keras --seeds 0-15 --grid\n"
               "  python -m stylegan_tf.generate style-mixing --network G.keras --row-seeds 1-3 --col-seeds 4-7 "
               "--styles coarse\n"
               "  python -m stylegan_tf.generate noise --network G.keras --seeds 1157,1012\n"
               "  python -m stylegan_tf.generate truncation --network G.keras --seeds 91,388\n"
               "  python -m stylegan_tf.generate interpolate --network G.keras --seeds 0-3 --space z --frames 24\n"
               "  python -m stylegan_tf.generate images --network sg3.keras --seeds 0-3 --translate 0.1,0 --rotate 15\n"
               "  python -m stylegan_tf.generate pan --network sg3.keras --seed 0 --path circle --distance 0.2\n")
    sub = parser.add_subparsers(dest="command", metavar="command")
    sub.required = True

    p = sub.add_parser("images", help="one PNG per seed, and optionally a grid")
    _common(p, "random", "truncation psi (default: the network's, 0.7; 1 = off)")
    p.add_argument("--seeds", default=None, help="seeds as lists and inclusive ranges, e.g. 0-99,200 "
                   "(required unless --projected-w)")
    _projected_options(p, "rendered as projectedNN.png, before the seeds")
    p.add_argument("--grid", action="store_true", help="also write grid.png")
    p.add_argument("--grid-columns", type=int, default=None, help="columns of the grid (default: about square)")
    _transform_options(p)

    p = sub.add_parser("style-mixing", help="paper Figure 3: copy coarse/middle/fine styles between seeds")
    _common(p, "const", "truncation psi (default: 1 = off, as the official figure)")
    p.add_argument("--row-seeds", default=",".join(map(str, FIGURE3_ROW_SEEDS)),
                   help="destination seeds, one per row (default: the official figure's)")
    p.add_argument("--col-seeds", default=",".join(map(str, FIGURE3_COL_SEEDS)),
                   help="source seeds, one per column (default: the official figure's)")
    p.add_argument("--styles", default=None, help="coarse, middle or fine, one for all rows or one per row "
                   "(default: coarse x3, middle x2, fine as the paper; for smaller networks or other row "
                   "counts, the groups the network has, spread over the rows)")
    p.add_argument("--layers", default=None, help="explicit layer range for every row, e.g. 0-3 (overrides --styles)")
    _projected_options(p, "the rows (destinations) instead of --row-seeds")
    _transform_options(p)

    p = sub.add_parser("noise", help="paper Figure 4: noise realisations and their per-pixel std")
    _common(p, "random", "truncation psi (default: 1 = off, as the official figure)")
    p.add_argument("--seeds", default=",".join(map(str, FIGURE4_SEEDS)), help="one row per seed")
    p.add_argument("--samples", type=int, default=100, help="noise realisations for the std map (default: 100)")

    p = sub.add_parser("truncation", help="paper Figure 8: each seed across a list of psi")
    _common(p, "const", "unused here: see --psis")
    p.add_argument("--seeds", default=",".join(map(str, FIGURE8_SEEDS)), help="one row per seed")
    p.add_argument("--psis", default=",".join(f"{p:g}" for p in FIGURE8_PSIS),
                   help="psi values, one column each (default: 1,0.7,0.5,0,-0.5,-1); cutoff default: all layers")
    _projected_options(p, "the rows instead of --seeds")
    _transform_options(p)

    p = sub.add_parser("interpolate", help="GIF (and MP4) walking between seeds")
    _common(p, "const", "truncation psi (default: the network's, 0.7; 1 = off)")
    p.add_argument("--seeds", default=None, help="the seeds to walk through, in order (or --projected-w)")
    _projected_options(p, "the photos to walk through in W, in order, instead of --seeds")
    p.add_argument("--space", default="w", help="w (lerp in W) or z (slerp in Z) (default: w)")
    p.add_argument("--frames", type=int, default=30, help="frames per transition (default: 30)")
    p.add_argument("--fps", type=float, default=24.0, help="frames per second (default: 24)")
    p.add_argument("--loop", action="store_true", help="walk back from the last seed to the first")
    _transform_options(p)

    p = sub.add_parser("pan", help="StyleGAN3: GIF (and MP4) of one image moving along a line or circle "
                       "and/or turning")
    _common(p, "const", "truncation psi (default: the network's, 1 for StyleGAN3; 1 = off)")
    p.add_argument("--seed", type=int, default=None, help="the seed to render (or --projected-w)")
    _projected_options(p, "its first w is rendered instead of --seed")
    p.add_argument("--frames", type=int, default=60, help="number of frames (default: 60)")
    p.add_argument("--path", default="line", help="line: move --distance along --direction; circle: once "
                   "round a circle of radius --distance (a seamless loop) (default: line)")
    p.add_argument("--distance", type=float, default=0.5, help="length of the line / radius of the circle, "
                   "in image widths (default: 0.5)")
    p.add_argument("--direction", type=float, default=0.0, help="direction of the line / start point on the "
                   "circle, degrees (0 = right, 90 = down; default: 0)")
    p.add_argument("--rotate-speed", type=float, default=0.0, help="rotation per frame, degrees (default: 0)")
    p.add_argument("--fps", type=float, default=24.0, help="frames per second (default: 24)")
    _transform_options(p, pan=True)
    return parser


def _check_common(args) -> None:
    check_noise_mode(args.noise)
    if args.zoom < 1:
        raise UserError(f"--zoom must be at least 1. Received: --zoom={args.zoom}")
    if args.batch < 1:
        raise UserError(f"--batch must be at least 1. Received: --batch={args.batch}")
    if args.trunc_cutoff is not None and args.trunc_cutoff < 0:
        raise UserError(f"--trunc-cutoff must not be negative. Received: --trunc-cutoff={args.trunc_cutoff}")


def _write_video(frames: np.ndarray, stem: str, fps: float, zoom: int) -> list[str]:
    """`stem`.gif and, when OpenCV's FFmpeg writer works, `stem`.mp4; returns the files written."""
    written = [figures.save_gif(frames, stem + ".gif", fps, zoom=zoom)]
    mp4 = figures.save_mp4(frames, stem + ".mp4", fps, zoom=zoom)
    if mp4:
        written.append(mp4)
    else:
        print("No MP4 writer available (OpenCV with FFmpeg); wrote the GIF only.", file=sys.stderr)
    return written


def run_command(args) -> list[str]:
    """Runs a parsed command; returns the files written."""
    _check_common(args)
    # Parse everything that does not need the network before loading it.
    if args.command == "style-mixing":
        row_seeds, col_seeds = parse_seeds(args.row_seeds, "--row-seeds"), parse_seeds(args.col_seeds, "--col-seeds")
    elif args.command == "pan":
        seeds = parse_seeds(str(args.seed), "--seed") if args.seed is not None else []
    else:
        seeds = parse_seeds(args.seeds) if args.seeds is not None else []
    projected_w = getattr(args, "projected_w", None)
    translate = parse_translate(getattr(args, "translate", None))
    if args.command == "pan":
        if (args.seed is None) == (projected_w is None):
            raise UserError("pan renders one --seed or the first w of --projected-w: give one of them.")
        if args.fps <= 0:
            raise UserError(f"--fps must be positive. Received: --fps={args.fps}")
        transforms = pan_transforms(args.frames, args.path, args.distance, args.direction, args.rotate_speed,
                                    translate or (0.0, 0.0), args.rotate or 0.0)
    if args.command in ("images", "interpolate") and not seeds and projected_w is None:
        raise UserError(f"{args.command} needs --seeds (or --projected-w for projected photos).")
    if args.command == "interpolate" and seeds and projected_w is not None:
        raise UserError("interpolate walks through --seeds or through --projected-w photos: give one of them.")
    if args.command == "truncation":
        psis = parse_floats(args.psis, "--psis")
    if args.command == "interpolate":
        if args.fps <= 0:
            raise UserError(f"--fps must be positive. Received: --fps={args.fps}")
        if args.space not in ("w", "z"):
            raise UserError(f"--space must be 'w' or 'z'. Received: --space={args.space!r}")
        if projected_w is None:
            interpolation_points(len(seeds), args.frames, args.loop)
    if args.command == "noise" and args.samples < 5:
        raise UserError(f"--samples must be at least 5. Received: --samples={args.samples}")
    G = load_network(args.network)
    if args.command == "pan":
        transform_variable(G, "pan")
    if args.command == "noise" and not families.has_noise_inputs(G):
        raise UserError("noise (Figure 4): this StyleGAN3 network has no noise inputs.")
    os.makedirs(args.outdir, exist_ok=True)
    out = args.outdir
    written = []
    common = dict(class_index=args.class_index, batch_size=args.batch, progress=True)
    projected = {}
    if projected_w is not None:
        names, w, noise = load_projected(G, projected_w, args.projected_noise, args.noise)
        projected = dict(names=names, w=w, noise=noise, psi=1.0 if args.trunc is None else args.trunc)

    # StyleGAN3 --translate/--rotate hold for every render of the command (pan sets its own per frame).
    fixed = (translate, args.rotate) if args.command != "pan" and hasattr(args, "rotate") else (None, None)
    given = "/".join(name for name, value in zip(("--translate", "--rotate"), fixed) if value is not None)
    with input_transform(G, *fixed, option=given):
        if args.command == "images":
            kept, seed_iter = [], iter(seeds)
            if projected:
                images = synthesize(G, truncate_w(G, projected["w"], projected["psi"], args.trunc_cutoff),
                                    projected["noise"], args.batch, True, desc="projected")
                for name, image in zip(projected["names"], images):
                    written.append(figures.save_png(image, os.path.join(out, f"{name}.png")))
                kept.append(images)
            for batch in iter_images(G, seeds, args.trunc, args.trunc_cutoff, args.noise, **common):
                for image in batch:
                    written.append(figures.save_png(image, os.path.join(out, f"seed{next(seed_iter):04d}.png")))
                if args.grid:
                    kept.append(batch)
            if args.grid:
                grid = figures.image_grid(np.concatenate(kept), args.grid_columns, zoom=args.zoom)
                written.append(figures.save_png(grid, os.path.join(out, "grid.png")))

        elif args.command == "style-mixing":
            n = int(G.num_layers)
            if projected:
                row_seeds = projected["names"]
            if args.layers is not None:
                layers = parse_layers(args.layers, n)
                row_layers, labels = [layers] * len(row_seeds), [f"layers {describe_layers(layers)}"] * len(row_seeds)
            else:
                if args.styles is None:
                    names = default_styles(len(row_seeds), n)
                else:
                    names = [s.strip() for s in args.styles.split(",")]
                    if len(names) == 1:
                        names = names * len(row_seeds)
                    elif len(names) != len(row_seeds):
                        raise UserError(f"--styles needs one value, or one per row seed ({len(row_seeds)}). "
                                        f"Received: --styles={args.styles!r}")
                row_layers = [style_layers(name, n) for name in names]
                labels = [f"{name} {describe_layers(layers)}" for name, layers in zip(names, row_layers)]
            psi = 1.0 if args.trunc is None else args.trunc
            result = style_mixing(G, row_seeds, col_seeds, row_layers, psi, args.trunc_cutoff, args.noise, **common,
                                  row_w=projected.get("w"), row_noise=projected.get("noise"))
            figure = figures.style_mixing_figure(result["row_images"], result["col_images"], result["mixed"],
                                                 row_seeds, col_seeds, labels, zoom=args.zoom)
            written.append(figures.save_png(figure, os.path.join(out, "style-mixing.png")))

        elif args.command == "noise":
            psi = 1.0 if args.trunc is None else args.trunc
            images, stds = noise_variation(G, seeds, args.samples, psi, args.trunc_cutoff, **common)
            figure = figures.noise_figure(images, stds, seeds, args.samples, zoom=args.zoom)
            written.append(figures.save_png(figure, os.path.join(out, "noise.png")))

        elif args.command == "truncation":
            if projected:
                seeds = projected["names"]
            images = truncation_sweep(G, seeds, psis, args.trunc_cutoff, args.noise, **common,
                                      w=projected.get("w"), noise=projected.get("noise"))
            label = "all layers" if args.trunc_cutoff is None else f"layers < {args.trunc_cutoff}"
            figure = figures.truncation_figure(images, seeds, psis, label, zoom=args.zoom)
            written.append(figures.save_png(figure, os.path.join(out, "truncation.png")))

        elif args.command == "interpolate":
            frames = interpolate(G, projected.get("names", seeds), args.frames, args.space,
                                 projected.get("psi", args.trunc), args.trunc_cutoff, args.noise, loop=args.loop,
                                 **common, w=projected.get("w"), noise=projected.get("noise"))
            written += _write_video(frames, os.path.join(out, f"interpolation-{args.space}"), args.fps, args.zoom)

        elif args.command == "pan":
            if projected:
                name, w, noise = projected["names"][0], projected["w"][:1], projected["noise"][:1]
                w = truncate_w(G, w, projected["psi"], args.trunc_cutoff)
            else:
                name, noise = f"seed{seeds[0]:04d}", seed_noise(G, seeds, args.noise)
                w = map_latents(G, seed_latents(G, seeds), class_labels(G, args.class_index, 1), args.trunc,
                                args.trunc_cutoff)
            frames = pan(G, w, noise, transforms, progress=True)
            written += _write_video(frames, os.path.join(out, f"pan-{name}"), args.fps, args.zoom)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        written = run_command(args)
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for path in written[:10]:
        print(path)
    if len(written) > 10:
        print(f"... and {len(written) - 10} more files in {args.outdir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
