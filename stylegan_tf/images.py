"""Image conversion and grids shared by training snapshots, generation and figures."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np


def to_uint8(images, drange=(-1.0, 1.0)) -> np.ndarray:
    """Network output (NHWC float in `drange`) to uint8, as the official `convert_images_to_uint8`:
    scale to [0, 255], add 0.5, truncate with saturation."""
    x = np.asarray(images, dtype=np.float32)
    scale = 255.0 / (drange[1] - drange[0])
    return np.clip(x * scale + (0.5 - drange[0] * scale), 0, 255).astype(np.uint8)


def grid(images: np.ndarray, cols: int) -> np.ndarray:
    """[N, H, W, C] to one [rows * H, cols * W, C] image; empty cells are black."""
    n, h, w, c = images.shape
    cols = max(1, min(cols, n))
    rows = -(-n // cols)
    canvas = np.zeros((rows * h, cols * w, c), dtype=images.dtype)
    for i in range(n):
        r, col = divmod(i, cols)
        canvas[r * h:(r + 1) * h, col * w:(col + 1) * w] = images[i]
    return canvas


def save_png(image: np.ndarray, path) -> Path:
    """Writes an HWC (C = 1 or 3) uint8 image as PNG, atomically."""
    from PIL import Image

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    array = image[..., 0] if image.ndim == 3 and image.shape[-1] == 1 else image
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    Image.fromarray(array).save(tmp, format="PNG")
    os.replace(tmp, path)
    return path
