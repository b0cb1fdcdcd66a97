"""The paper's figure layouts: annotated grids for Figures 3, 4 and 8.

Everything here works on uint8 numpy images [..., H, W, C] and returns PIL images;
no network is involved (the images come from `stylegan_tf.sampling`; plain grids, PNG,
GIF and video files are `stylegan_tf.media`'s). The layouts
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

from typing import Sequence

import numpy as np
import PIL.Image
import PIL.ImageDraw
import PIL.ImageFont

from stylegan_tf.media import to_pil

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
