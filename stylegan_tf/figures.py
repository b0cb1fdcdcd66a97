"""Figure building: image grids, annotated grids, the paper's figure layouts, GIF/MP4 writing.

Everything here works on uint8 numpy images [..., H, W, C] and returns PIL images;
no network is involved (the images come from `stylegan_tf.generate`). The layouts
follow the official `generate_figures.py` of NVlabs/stylegan:

- Figure 3 (style mixing): an empty corner, the column ("source") images along the
  top, the row ("destination") images down the left, and in each cell the row's
  w with the listed layers copied from the column's w.
- Figure 4 (noise): per seed, the image, then a 2x2 block of zoomed crops of four
  other noise realisations, then the per-pixel standard deviation map.
- Figure 8 (truncation): one row per seed, one column per psi.

Labels are drawn in margins around the grid, never over the images, so grids of
16x16 test images stay readable; `zoom` enlarges small images (nearest neighbour).
"""

from __future__ import annotations

import math
import os
from typing import Iterable, Sequence

import numpy as np
import PIL.Image
import PIL.ImageDraw
import PIL.ImageFont

from stylegan_tf.errors import UserError

# Official Figure 4 crop of each realisation: (650, 180, 906, 436) in a 1024x1024 image.
NOISE_CROP = (650 / 1024, 180 / 1024, 906 / 1024, 436 / 1024)
LABEL_COLOR = (0, 0, 0)
BACKGROUND = (255, 255, 255)


def _font(size: int = 12):
    try:
        return PIL.ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1: fixed-size bitmap font.
        return PIL.ImageFont.load_default()


def _text_size(draw: PIL.ImageDraw.ImageDraw, text: str, font) -> tuple[int, int]:
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    return right - left, bottom - top


def to_pil(image: np.ndarray, zoom: int = 1) -> PIL.Image.Image:
    """A uint8 image [H, W, C] (C = 1 or 3) or [H, W] as a PIL image, enlarged `zoom` times (nearest)."""
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise ValueError(f"Expected a uint8 image. Received dtype: {image.dtype}")
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    mode = "L" if image.ndim == 2 else "RGB"
    pil = PIL.Image.fromarray(image, mode)
    if zoom != 1:
        pil = pil.resize((pil.width * zoom, pil.height * zoom), PIL.Image.NEAREST)
    return pil


def grid_shape(count: int, columns: int | None = None) -> tuple[int, int]:
    """(rows, columns) of a grid for `count` images: about square unless `columns` is given."""
    if count < 1:
        raise ValueError(f"A grid needs at least one image. Received: count={count}")
    columns = columns or max(1, int(math.ceil(math.sqrt(count))))
    return int(math.ceil(count / columns)), columns


def image_grid(images: np.ndarray, columns: int | None = None, zoom: int = 1) -> PIL.Image.Image:
    """Tiles uint8 images [N, H, W, C] row by row into one image (empty cells are white)."""
    images = np.asarray(images)
    rows, columns = grid_shape(len(images), columns)
    h, w = images.shape[1] * zoom, images.shape[2] * zoom
    canvas = PIL.Image.new("RGB", (w * columns, h * rows), BACKGROUND)
    for i, image in enumerate(images):
        canvas.paste(to_pil(image, zoom).convert("RGB"), ((i % columns) * w, (i // columns) * h))
    return canvas


def annotated_grid(cells: Sequence[Sequence[np.ndarray | None]], row_labels: Sequence[str] = (),
                   col_labels: Sequence[str] = (), title: str | None = None, zoom: int = 1,
                   font_size: int = 12) -> PIL.Image.Image:
    """A table of images with a label margin on the left (rows) and on top (columns).

    Args:
        cells: rows of uint8 images [H, W, C] (all the same size), None = empty cell.
        row_labels: one text per row (may contain newlines), drawn in a left margin.
        col_labels: one text per column, drawn in a top margin.
        title: optional line above everything.
        zoom: nearest-neighbour enlargement of every image.
    """
    first = next(c for row in cells for c in row if c is not None)
    h, w = first.shape[0] * zoom, first.shape[1] * zoom
    rows, columns = len(cells), max(len(row) for row in cells)
    font = _font(font_size)
    probe = PIL.ImageDraw.Draw(PIL.Image.new("RGB", (1, 1)))
    pad = 4
    left = max([_text_size(probe, t, font)[0] for t in row_labels] + [0])
    left = left + 2 * pad if row_labels else 0
    top = max([_text_size(probe, t, font)[1] for t in col_labels] + [0])
    top = top + 2 * pad if col_labels else 0
    title_h = _text_size(probe, title, font)[1] + 2 * pad if title else 0
    # Columns are at least as wide as their label; images are centred in wider columns.
    pitch = max([w] + [_text_size(probe, t, font)[0] + 2 * pad for t in col_labels])
    width = max(left + pitch * columns, (_text_size(probe, title, font)[0] + 2 * pad) if title else 0)
    canvas = PIL.Image.new("RGB", (width, title_h + top + h * rows), BACKGROUND)
    draw = PIL.ImageDraw.Draw(canvas)
    if title:
        draw.text((pad, pad), title, fill=LABEL_COLOR, font=font)
    for j, label in enumerate(col_labels):
        tw, _ = _text_size(draw, label, font)
        draw.text((left + j * pitch + max(0, (pitch - tw) // 2), title_h + pad), label, fill=LABEL_COLOR,
                  font=font)
    for i, label in enumerate(row_labels):
        _, th = _text_size(draw, label, font)
        draw.multiline_text((pad, title_h + top + i * h + max(0, (h - th) // 2)), label, fill=LABEL_COLOR,
                            font=font)
    for i, row in enumerate(cells):
        for j, cell in enumerate(row):
            if cell is not None:
                canvas.paste(to_pil(cell, zoom).convert("RGB"),
                             (left + j * pitch + (pitch - w) // 2, title_h + top + i * h))
    return canvas


# The paper's figures ----------------------------------------------------------------
def style_mixing_figure(row_images: np.ndarray, col_images: np.ndarray, mixed: np.ndarray,
                        row_seeds: Sequence[int], col_seeds: Sequence[int], row_styles: Sequence[str],
                        zoom: int = 1) -> PIL.Image.Image:
    """Figure 3: corner empty, column (source) images on top, row (destination) images on the left.

    Args:
        row_images: [R, H, W, C], the destination images (their own styles).
        col_images: [K, H, W, C], the source images.
        mixed: [R, K, H, W, C], row r's w with row r's layers taken from column k.
        row_styles: per row, a description of the copied layers (e.g. "coarse 0-3").
    """
    cells = [[None] + list(col_images)]
    cells += [[row_images[r]] + list(mixed[r]) for r in range(len(row_images))]
    col_labels = [""] + [f"src {s}" for s in col_seeds]
    row_labels = ["sources"] + [f"dst {s}\n{style}" for s, style in zip(row_seeds, row_styles)]
    return annotated_grid(cells, row_labels, col_labels, title="Style mixing (paper Figure 3)", zoom=zoom)


def noise_crop_box(height: int, width: int) -> tuple[int, int, int, int]:
    """The official Figure 4 crop (650, 180, 906, 436 of 1024x1024) scaled to an image, at least 1 pixel."""
    x0, y0, x1, y1 = NOISE_CROP
    box = (int(round(x0 * width)), int(round(y0 * height)), int(round(x1 * width)), int(round(y1 * height)))
    return box[0], box[1], max(box[2], box[0] + 1), max(box[3], box[1] + 1)


def std_map_to_uint8(std: np.ndarray) -> np.ndarray:
    """Official Figure 4 scaling of the per-pixel std of uint8 intensities: clip(4 * std + 0.5, 0, 255)."""
    return np.clip(np.asarray(std) * 4 + 0.5, 0, 255).astype(np.uint8)


def noise_figure(images: np.ndarray, std_maps: np.ndarray, seeds: Sequence[int], num_samples: int,
                 zoom: int = 1) -> PIL.Image.Image:
    """Figure 4: per seed, image 0 | 2x2 zoomed crops of realisations 1-4 | per-pixel std map.

    Args:
        images: [S, >=5, H, W, C] uint8, the first realisations of each seed.
        std_maps: [S, H, W] float, std over `num_samples` realisations of the channel-mean intensity.
    """
    num_seeds, _, h, w = images.shape[:4]
    x0, y0, x1, y1 = noise_crop_box(h, w)
    cells = []
    for s in range(num_seeds):
        crops = PIL.Image.new("RGB", (w, h), BACKGROUND)
        for i in range(4):
            crop = to_pil(images[s, i + 1]).convert("RGB").crop((x0, y0, x1, y1))
            crop = crop.resize((w // 2, h // 2), PIL.Image.NEAREST)
            crops.paste(crop, ((i % 2) * (w // 2), (i // 2) * (h // 2)))
        std = np.repeat(std_map_to_uint8(std_maps[s])[..., None], 3, axis=-1)
        cells.append([images[s, 0], np.asarray(crops), std])
    return annotated_grid(cells, [f"seed {s}" for s in seeds],
                          ["image", "4 noises (crop)", f"std of {num_samples}"],
                          title="Stochastic variation (paper Figure 4)", zoom=zoom)


def truncation_figure(images: np.ndarray, seeds: Sequence[int], psis: Sequence[float], cutoff_label: str,
                      zoom: int = 1) -> PIL.Image.Image:
    """Figure 8: images [S, P, H, W, C], one row per seed, one column per psi."""
    cells = [list(row) for row in images]
    return annotated_grid(cells, [f"seed {s}" for s in seeds], [f"psi {p:g}" for p in psis],
                          title=f"Truncation trick (paper Figure 8), {cutoff_label}", zoom=zoom)


# Animations --------------------------------------------------------------------------
def save_gif(frames: Iterable[np.ndarray], path: str, fps: float = 24.0, zoom: int = 1) -> str:
    """Writes uint8 frames [H, W, C] as a looping GIF with PIL; returns the path."""
    pil_frames = [to_pil(f, zoom).convert("RGB") for f in frames]
    if not pil_frames:
        raise ValueError("No frames to write")
    pil_frames[0].save(path, save_all=True, append_images=pil_frames[1:], loop=0,
                       duration=max(1, int(round(1000.0 / fps))), optimize=False)
    return path


def mp4_writer_available() -> bool:
    """True when OpenCV (a runtime dependency) can encode MP4 ('mp4v') in this installation."""
    try:
        import cv2  # noqa: F401
    except ImportError:
        return False
    return True


def save_mp4(frames: Sequence[np.ndarray], path: str, fps: float = 24.0, zoom: int = 1) -> str | None:
    """Writes uint8 RGB frames as MP4 through OpenCV's FFmpeg backend; None when no writer works."""
    if not mp4_writer_available():
        return None
    import cv2

    frames = [np.asarray(to_pil(f, zoom).convert("RGB")) for f in frames]
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"mp4v"), float(fps), (w, h))
    if not writer.isOpened():
        return None
    try:
        for frame in frames:
            writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    finally:
        writer.release()
    if not os.path.isfile(path) or os.path.getsize(path) == 0:
        return None
    return path


def save_png(image: PIL.Image.Image | np.ndarray, path: str) -> str:
    """Saves a PIL image or a uint8 array as PNG, creating the folder."""
    folder = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as error:
        raise UserError(f"Cannot create the output folder {folder!r}: {error}") from error
    if not isinstance(image, PIL.Image.Image):
        image = to_pil(np.asarray(image))
    image.save(path)
    return path
