"""Procedural toy faces: a dataset the project makes itself, with no download.

Each image is a stylised face drawn from its own random stream
`np.random.default_rng([seed, index])`, so image `index` is the same whatever the
order, the number of workers or the number of images built: a background
gradient, a head ellipse (random skin tone, size, position, tilt up to 15
degrees), hair, two eyes with irises and pupils, eyebrows, a nose and a mouth
whose curve varies from frown to smile. Edges are antialiased analytically (a
one-pixel ramp on each ellipse's boundary). An image takes about a millisecond
(32x32 or 64x64), so thousands are drawn in seconds.

The builder reads them as a `sources.Source` like a folder of photos (`SyntheticSource`:
`--source synthetic:faces --num-images N`, keys "0".."N-1" zero-padded to one width);
`stylegan_tf.data.synthetic.build_synthetic_dataset` builds such a dataset for the training demo.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

KINDS = ("faces",)
SOURCE_PREFIX = "synthetic:"

_GRIDS: dict[int, tuple[np.ndarray, np.ndarray]] = {}


def _grid(resolution: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates in [-1, 1] (x right, y down), cached per resolution."""
    if resolution not in _GRIDS:
        c = (np.arange(resolution, dtype=np.float32) + 0.5) / resolution * 2.0 - 1.0
        _GRIDS[resolution] = (c[None, :], c[:, None])
    return _GRIDS[resolution]


class _Canvas:
    """An RGB float canvas in [0, 1] with antialiased filled ellipses, in a tilted face frame."""

    def __init__(self, resolution: int, background: np.ndarray):
        self.resolution = resolution
        self.x, self.y = _grid(resolution)
        self.image = np.broadcast_to(background, (resolution, resolution, 3)).astype(np.float32)  # writable copy
        self.angle, self.origin = 0.0, (0.0, 0.0)

    def ellipse(self, cx: float, cy: float, rx: float, ry: float, color, angle: float = 0.0,
                clip_y: float | None = None) -> None:
        """Ellipse centred at (cx, cy) in the face frame (units of half the image), radii rx, ry."""
        cos, sin = math.cos(self.angle), math.sin(self.angle)
        ox = self.origin[0] + cx * cos - cy * sin
        oy = self.origin[1] + cx * sin + cy * cos
        a = self.angle + angle
        ca, sa = math.cos(a), math.sin(a)
        # Only the ellipse's bounding square (plus the antialiasing ramp) is computed.
        half = self.resolution / 2.0
        reach = max(rx, ry) * half + 2.0
        px, py = (ox + 1.0) * half, (oy + 1.0) * half
        c0, c1 = max(int(px - reach), 0), min(int(px + reach) + 1, self.resolution)
        r0, r1 = max(int(py - reach), 0), min(int(py + reach) + 1, self.resolution)
        if c1 <= c0 or r1 <= r0:
            return
        dx, dy = self.x[:, c0:c1] - ox, self.y[r0:r1, :] - oy
        u = (dx * ca + dy * sa) / rx
        v = (-dx * sa + dy * ca) / ry
        r = np.sqrt(u * u + v * v)
        # Signed distance ~ (r - 1) * min radius; a ramp one pixel wide (2 / resolution units).
        alpha = np.clip(0.5 - (r - 1.0) * min(rx, ry) * half, 0.0, 1.0)
        if clip_y is not None:
            alpha = alpha * np.clip(0.5 + (v - clip_y) * ry * half, 0.0, 1.0)
        patch = self.image[r0:r1, c0:c1]
        patch += (np.asarray(color, np.float32) - patch) * alpha[:, :, None]


def synthetic_face(resolution: int, index: int, seed: int = 0) -> np.ndarray:
    """The toy face number `index` of stream `seed`: uint8 [resolution, resolution, 3]."""
    rng = np.random.default_rng([seed, index])
    top, bottom = rng.uniform(0.1, 0.9, 3), rng.uniform(0.1, 0.9, 3)
    _, y = _grid(resolution)
    t = (y + 1.0) / 2.0
    canvas = _Canvas(resolution, np.zeros(3, np.float32))
    canvas.image = (top * (1.0 - t[:, :, None]) + bottom * t[:, :, None]).astype(np.float32) \
        * np.ones((1, resolution, 1), np.float32)

    canvas.origin = (rng.uniform(-0.12, 0.12), rng.uniform(-0.08, 0.12))
    canvas.angle = math.radians(rng.uniform(-15.0, 15.0))
    head_rx, head_ry = rng.uniform(0.42, 0.56), rng.uniform(0.55, 0.7)
    skin = np.array([rng.uniform(0.45, 1.0), 0.0, 0.0])
    skin[1] = skin[0] * rng.uniform(0.65, 0.85)
    skin[2] = skin[1] * rng.uniform(0.6, 0.85)
    hair = rng.uniform(0.0, 0.6, 3) * rng.uniform(0.2, 1.0)

    canvas.ellipse(0.0, -0.12, head_rx * 1.08, head_ry * 0.92, hair)           # hair behind the head
    canvas.ellipse(0.0, 0.0, head_rx, head_ry, skin)                            # head
    canvas.ellipse(0.0, -head_ry * 0.78, head_rx * 0.95, head_ry * 0.35, hair)  # fringe
    eye_dx, eye_y = head_rx * rng.uniform(0.36, 0.46), -head_ry * rng.uniform(0.05, 0.2)
    eye_rx, eye_ry = head_rx * rng.uniform(0.16, 0.22), head_ry * rng.uniform(0.08, 0.13)
    iris = rng.uniform(0.0, 0.7, 3)
    gaze = rng.uniform(-0.3, 0.3) * eye_rx
    for side in (-1.0, 1.0):
        cx = side * eye_dx
        canvas.ellipse(cx, eye_y - eye_ry * 2.2, eye_rx * 1.1, eye_ry * 0.35, hair, angle=-side * 0.15)  # brow
        canvas.ellipse(cx, eye_y, eye_rx, eye_ry, (0.95, 0.95, 0.95))                                   # eye white
        canvas.ellipse(cx + gaze, eye_y, eye_ry * 0.9, eye_ry * 0.9, iris)                              # iris
        canvas.ellipse(cx + gaze, eye_y, eye_ry * 0.4, eye_ry * 0.4, (0.02, 0.02, 0.02))                # pupil
    canvas.ellipse(0.0, head_ry * 0.12, head_rx * 0.09, head_ry * 0.14, skin * 0.8)                      # nose
    mouth_y = head_ry * rng.uniform(0.38, 0.5)
    mouth_rx, mouth_ry = head_rx * rng.uniform(0.25, 0.45), head_ry * rng.uniform(0.05, 0.12)
    lips = np.array([rng.uniform(0.5, 0.9), rng.uniform(0.1, 0.3), rng.uniform(0.15, 0.35)])
    smile = rng.uniform(-0.6, 0.9)
    if smile > 0.2:    # smile: the lower half of an ellipse
        canvas.ellipse(0.0, mouth_y - mouth_ry, mouth_rx, mouth_ry * (1.0 + 2.0 * smile), lips, clip_y=0.0)
    elif smile < -0.2:  # frown: the upper half
        canvas.ellipse(0.0, mouth_y + mouth_ry, mouth_rx, mouth_ry * (1.0 - 2.0 * smile), lips)
        canvas.ellipse(0.0, mouth_y + mouth_ry * 1.6, mouth_rx * 1.02, mouth_ry * (1.0 - 2.0 * smile), skin)
    else:
        canvas.ellipse(0.0, mouth_y, mouth_rx, mouth_ry, lips)
    return np.clip(np.rint(canvas.image * 255.0), 0, 255).astype(np.uint8)


def synthetic_image(kind: str, resolution: int, index: int, seed: int = 0) -> np.ndarray:
    """Image `index` of a synthetic source `kind` (see `KINDS`)."""
    if kind == "faces":
        return synthetic_face(resolution, index, seed)
    raise ValueError(f"unknown synthetic kind {kind!r}; known: {KINDS}")


def parse_source(source: str | None) -> str | None:
    """The kind of a `synthetic:<kind>` source string, or None for any other source."""
    if source is None or not source.startswith(SOURCE_PREFIX):
        return None
    return source[len(SOURCE_PREFIX):]


@dataclass(frozen=True)
class SyntheticSource:
    """`--source synthetic:<kind>` as a `sources.Source`: `num_images` images drawn at `resolution`
    (square, so the builder's resize is the identity) from stream `seed`; RGB only (the build
    options refuse `--channels 1` with it)."""

    kind: str
    num_images: int
    seed: int
    resolution: int

    def keys(self, exclude: tuple[str, ...] = ()) -> list[str]:
        width = len(str(self.num_images - 1))
        return [str(i).zfill(width) for i in range(self.num_images)]

    def image(self, key: str, channels: int = 3, draft_size: int | None = None) -> np.ndarray:
        return synthetic_image(self.kind, self.resolution, int(key), self.seed)

    def info(self) -> dict[str, Any]:
        return {"path": SOURCE_PREFIX + self.kind, "kind": "synthetic", "num_images": self.num_images,
                "seed": self.seed}

    def chunk_size(self, resolution: int) -> int:
        return 64 if resolution <= 64 else 8
