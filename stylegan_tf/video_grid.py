"""Video grids: a grid of latents, each looping through keyframes (the StyleGAN3 repo's `gen_video.py`).

As the official `gen_interp_video`: the seeds are laid out as `grid_h x grid_w` cells of
`num_keyframes` keyframes each (seeds repeated cyclically to fill them, optionally shuffled by
`shuffle_seed`); each keyframe is w = mapping(z(seed)) truncated by psi (all layers by default,
as the official call); each cell's w follows a spline through its keyframes (`kind`: scipy
`interp1d` kinds, cubic by default) that wraps round, so the last frame leads back to the first
and the video loops; frame f shows t = f / w_frames keyframes along, num_keyframes * w_frames
frames in all, and every cell is rendered with the constant noise (other noise modes draw each
cell's noise from its first seed, `stylegan_tf.sampling.seed_noise`).

    frames = grid_frames(G, seeds=range(16), grid=(4, 2), num_keyframes=2, w_frames=120)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Sequence

import numpy as np

from stylegan_tf import media, sampling
from stylegan_tf.errors import UserError

KINDS = ("linear", "nearest", "zero", "slinear", "quadratic", "cubic", "previous", "next")
WRAPS = 2   # Official: the keyframes are repeated 2 * wraps + 1 times around the loop before fitting.


def parse_grid(text: str, option: str = "--grid") -> tuple[int, int]:
    """'4x2' -> (4, 2): columns x rows (official `parse_tuple`)."""
    parts = str(text).lower().split("x")
    try:
        width, height = (int(p) for p in parts)
    except ValueError:
        raise UserError(f"{option} must be COLUMNSxROWS, e.g. 4x2. Received: {option}={text!r}") from None
    if width < 1 or height < 1:
        raise UserError(f"{option} needs at least one column and one row. Received: {option}={text!r}")
    return width, height


def keyframe_seeds(seeds: Sequence[int], grid: tuple[int, int] = (1, 1), num_keyframes: int | None = None,
                   shuffle_seed: int | None = None) -> np.ndarray:
    """The seed of each keyframe of each cell, int64 [grid_h, grid_w, num_keyframes].

    Without `num_keyframes` the seeds must fill the cells evenly (len(seeds) / cells keyframes
    each); with it, the seeds are repeated cyclically. Cell (y, x) holds the consecutive seeds
    from (y * grid_w + x) * num_keyframes, after the optional shuffle."""
    grid_w, grid_h = grid
    cells = grid_w * grid_h
    if not len(seeds):
        raise UserError("--seeds names no seed.")
    if num_keyframes is None:
        if len(seeds) % cells:
            raise UserError(f"--seeds: {len(seeds)} seeds do not fill a {grid_w}x{grid_h} grid evenly; give a "
                            f"multiple of {cells} seeds or --num-keyframes.")
        num_keyframes = len(seeds) // cells
    if num_keyframes < 1:
        raise UserError(f"--num-keyframes must be at least 1. Received: --num-keyframes={num_keyframes}")
    all_seeds = np.asarray([seeds[i % len(seeds)] for i in range(num_keyframes * cells)], np.int64)
    if shuffle_seed is not None:
        np.random.RandomState(shuffle_seed).shuffle(all_seeds)
    return all_seeds.reshape(grid_h, grid_w, num_keyframes)


def check_kind(kind: str, option: str = "--kind") -> str:
    if kind not in KINDS:
        raise UserError(f"{option} must be one of {list(KINDS)}. Received: {option}={kind!r}")
    return kind


def looping_curve(keyframes: np.ndarray, kind: str = "cubic"):
    """t -> w: a spline of `kind` through keyframes [K, ...] at t = 0..K-1 that is periodic with
    period K (fitted on the keyframes repeated 2 * WRAPS + 1 times, as the official code)."""
    import scipy.interpolate

    check_kind(kind)
    keyframes = np.asarray(keyframes, np.float64)
    k = len(keyframes)
    x = np.arange(-k * WRAPS, k * (WRAPS + 1))
    y = np.tile(keyframes, [WRAPS * 2 + 1] + [1] * (keyframes.ndim - 1))
    return scipy.interpolate.interp1d(x, y, kind=kind, axis=0)


@dataclass
class VideoGrid:
    """The keyframes of a video grid and how to render its frames."""
    seeds: np.ndarray          # [grid_h, grid_w, K]
    curves: list               # one looping curve per cell, row-major
    noise: np.ndarray          # [cells, noise_size]
    w_frames: int

    @property
    def num_frames(self) -> int:
        return self.seeds.shape[2] * self.w_frames

    @property
    def grid(self) -> tuple[int, int]:
        return self.seeds.shape[1], self.seeds.shape[0]

    def w_at(self, frame: int) -> np.ndarray:
        """The w of every cell [cells, L, D] float32 at frame index `frame`."""
        t = (frame % self.num_frames) / self.w_frames
        return np.stack([curve(t) for curve in self.curves]).astype(np.float32)


def video_grid(G, seeds: Sequence[int], grid: tuple[int, int] = (1, 1), num_keyframes: int | None = None,
               w_frames: int = 120, kind: str = "cubic", psi: float = 1.0, cutoff: int | None = None,
               noise_mode: str = "const", class_index: int | None = None,
               shuffle_seed: int | None = None) -> VideoGrid:
    """Maps the keyframe seeds and fits each cell's looping curve (see the module docstring).
    `cutoff` None truncates every layer (official gen_video)."""
    if w_frames < 1:
        raise UserError(f"--w-frames must be at least 1. Received: --w-frames={w_frames}")
    check_kind(kind)
    sampling.check_noise_mode(noise_mode)
    layout = keyframe_seeds(seeds, grid, num_keyframes, shuffle_seed)
    flat = [int(s) for s in layout.reshape(-1)]
    w = sampling.map_latents(G, sampling.seed_latents(G, flat), sampling.class_labels(G, class_index, len(flat)),
                             psi, int(G.num_layers) if cutoff is None else cutoff)
    w = w.reshape(layout.shape + w.shape[1:])
    curves = [looping_curve(w[y, x], kind) for y in range(layout.shape[0]) for x in range(layout.shape[1])]
    noise = sampling.seed_noise(G, [int(s) for s in layout[:, :, 0].reshape(-1)], noise_mode)
    return VideoGrid(layout, curves, noise, int(w_frames))


def grid_frames(G, video: VideoGrid, batch_size: int = 8, start: int = 0,
                stop: int | None = None) -> Iterator[np.ndarray]:
    """The frames start..stop-1 (default: all) of a video grid, uint8 [grid_h * H, grid_w * W, C] each."""
    for frame in range(start, video.num_frames if stop is None else stop):
        images = sampling.synthesize(G, video.w_at(frame), video.noise, batch_size)
        yield media.grid(images, columns=video.grid[0])
