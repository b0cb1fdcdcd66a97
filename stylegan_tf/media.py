"""Pictures and videos on disk: uint8 conversion, image grids, atomic PNG/GIF files, one video writer.

Everything here works on uint8 numpy images [..., H, W, C] (C = 1 or 3); no network is involved.
Training snapshots (`fakes*.png`), `generate`, the paper figures (`figures`), the projector's
`proj.mp4` and the interpolation / pan videos all go through these functions, so every picture
the package writes is written the same way: to a temporary name in the target folder, then
`os.replace`d, so an interrupted run never leaves a complete-looking, truncated file.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Iterable

import numpy as np
import PIL.Image

from stylegan_tf.errors import UserError

GIF_MAX_FRAMES = 100    # VideoWriter's GIF fallback keeps at most this many frames (evenly spaced).


def to_uint8(images, drange=(-1.0, 1.0)) -> np.ndarray:
    """Network output (NHWC float in `drange`) to uint8, as the official `convert_images_to_uint8`:
    scale to [0, 255], add 0.5, truncate with saturation."""
    x = np.asarray(images, dtype=np.float32)
    scale = 255.0 / (drange[1] - drange[0])
    return np.clip(x * scale + (0.5 - drange[0] * scale), 0, 255).astype(np.uint8)


def to_pil(image: np.ndarray, zoom: int = 1) -> PIL.Image.Image:
    """A uint8 image [H, W, C] (C = 1 or 3) or [H, W] as a PIL image, enlarged `zoom` times (nearest)."""
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise ValueError(f"Expected a uint8 image. Received dtype: {image.dtype}")
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    pil = PIL.Image.fromarray(np.ascontiguousarray(image), "L" if image.ndim == 2 else "RGB")
    if zoom != 1:
        pil = pil.resize((pil.width * zoom, pil.height * zoom), PIL.Image.NEAREST)
    return pil


def grid_shape(count: int, columns: int | None = None) -> tuple[int, int]:
    """(rows, columns) of a grid for `count` images: about square unless `columns` is given
    (at most `count` columns)."""
    if count < 1:
        raise ValueError(f"A grid needs at least one image. Received: count={count}")
    columns = max(1, min(columns or int(math.ceil(math.sqrt(count))), count))
    return int(math.ceil(count / columns)), columns


def grid(images: np.ndarray, columns: int | None = None, zoom: int = 1, fill: int = 0) -> np.ndarray:
    """Tiles images [N, H, W, C] row by row into one [rows * H * zoom, columns * W * zoom, C] array
    of the same dtype; empty cells are `fill` (training snapshots: black; `generate --grid`: white)."""
    images = np.asarray(images)
    n, h, w, c = images.shape
    rows, columns = grid_shape(n, columns)
    if zoom != 1:
        images = images.repeat(zoom, axis=1).repeat(zoom, axis=2)
        h, w = h * zoom, w * zoom
    canvas = np.full((rows * h, columns * w, c), fill, dtype=images.dtype)
    for i in range(n):
        r, col = divmod(i, columns)
        canvas[r * h:(r + 1) * h, col * w:(col + 1) * w] = images[i]
    return canvas


def _temporary(path: Path) -> Path:
    """A hidden name next to `path`, with its suffix (so PIL / OpenCV pick the format)."""
    return path.with_name(f".{path.stem}.tmp-{os.getpid()}{path.suffix}")


def _folder_of(path) -> Path:
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UserError(f"Cannot create the output folder {str(path.parent)!r}: {error}") from error
    return path


def save_png(image: PIL.Image.Image | np.ndarray, path) -> Path:
    """Writes a PIL image or a uint8 array [H, W, C] / [H, W] as PNG, atomically, creating the folder."""
    path = _folder_of(path)
    if not isinstance(image, PIL.Image.Image):
        image = to_pil(np.asarray(image))
    tmp = _temporary(path)
    try:
        image.save(tmp, format="PNG")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def save_gif(frames: Iterable[np.ndarray], path, fps: float = 24.0, zoom: int = 1) -> Path:
    """Writes uint8 frames [H, W, C] as a looping GIF with PIL, atomically; returns the path."""
    pil_frames = [to_pil(f, zoom).convert("RGB") for f in frames]
    if not pil_frames:
        raise ValueError("No frames to write")
    path = _folder_of(path)
    tmp = _temporary(path)
    try:
        pil_frames[0].save(tmp, format="GIF", save_all=True, append_images=pil_frames[1:], loop=0,
                           duration=max(1, int(round(1000.0 / fps))), optimize=False)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def mp4_writer_available() -> bool:
    """True when OpenCV (a runtime dependency) is importable, i.e. MP4 ('mp4v') can be tried."""
    try:
        import cv2  # noqa: F401
    except ImportError:
        return False
    return True


class VideoWriter:
    """Streams uint8 RGB frames [H, W, 3] to `stem`.mp4 (OpenCV 'mp4v', the official projector's
    format), written atomically on `close`.

    Args:
        stem: the output path without suffix.
        fps: frames per second.
        total_frames: the number of frames to come, when known (spaces out the GIF fallback).
        zoom: nearest-neighbour enlargement of every frame.
        gif: "fallback" writes `stem`.gif (at most `GIF_MAX_FRAMES` evenly spaced frames) only when no
            MP4 writer works; "always" also writes every frame to `stem`.gif (`generate interpolate/pan`).

    `close()` returns the main file (the MP4, else the GIF, else None); `paths` lists every file written.
    """

    def __init__(self, stem, fps: float = 24.0, total_frames: int | None = None, zoom: int = 1,
                 gif: str = "fallback"):
        if gif not in ("fallback", "always"):
            raise ValueError(f"gif must be 'fallback' or 'always'. Received: {gif!r}")
        if not fps > 0:
            raise ValueError(f"fps must be positive. Received: {fps}")
        self.stem, self.fps, self.total, self.zoom, self.gif = Path(stem), float(fps), total_frames, zoom, gif
        self.paths: list[Path] = []
        self._writer, self._frames, self._count = None, [], 0
        self._tmp = _temporary(self.stem.with_suffix(".mp4"))

    def _open(self, frame: np.ndarray) -> None:
        _folder_of(self.stem)
        if not mp4_writer_available():
            return
        import cv2

        h, w = frame.shape[:2]
        writer = cv2.VideoWriter(str(self._tmp), cv2.VideoWriter_fourcc(*"mp4v"), self.fps, (w, h))
        self._writer = writer if writer.isOpened() else None

    def write(self, frame: np.ndarray) -> None:
        if self.zoom != 1:
            frame = np.asarray(to_pil(frame, self.zoom).convert("RGB"))
        if self._count == 0:
            self._open(frame)
        if self._writer is not None:
            import cv2

            self._writer.write(cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2BGR))
        if self.gif == "always":
            self._frames.append(frame)
        elif self._writer is None:
            every = max(1, -(-(self.total or GIF_MAX_FRAMES) // GIF_MAX_FRAMES))
            if self._count % every == 0 or (self.total and self._count == self.total - 1):
                self._frames.append(frame)
        self._count += 1

    def close(self) -> Path | None:
        mp4 = None
        if self._writer is not None:
            self._writer.release()
            self._writer = None
            if self._tmp.is_file() and self._tmp.stat().st_size > 0:
                mp4 = self.stem.with_suffix(".mp4")
                os.replace(self._tmp, mp4)
            self._tmp.unlink(missing_ok=True)
        gif = None
        if self._frames and (self.gif == "always" or mp4 is None):
            # Fallback frames are spaced out: keep the video's duration.
            fps = self.fps if self.gif == "always" else self.fps * len(self._frames) / max(self._count, 1)
            gif = save_gif(self._frames, self.stem.with_suffix(".gif"), fps=fps)
        self._frames = []
        self.paths = [p for p in (gif, mp4) if p is not None]
        return mp4 or gif

    def __enter__(self) -> "VideoWriter":
        return self

    def __exit__(self, *exc) -> None:
        if exc[0] is None:
            self.close()
        elif self._writer is not None:   # an error: leave no partial video behind
            self._writer.release()
            self._tmp.unlink(missing_ok=True)
