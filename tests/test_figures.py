"""Figure layouts: annotated grids, the Figure 4 crop and std scaling (plain grids and files: test_media.py)."""

import numpy as np
import pytest

from stylegan_tf import figures


def _images(n, size=8, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, size, size, 3)).astype(np.uint8)


def test_annotated_grid_places_images_after_the_label_margins():
    cells = [[None, _images(1)[0]], [_images(1, seed=1)[0], _images(1, seed=2)[0]]]
    plain = figures.annotated_grid(cells)
    assert plain.size == (16, 16)
    np.testing.assert_array_equal(np.asarray(plain)[8:16, 0:8], cells[1][0])
    labelled = figures.annotated_grid(cells, ["a", "b"], ["x", "y"], title="t", zoom=4)
    assert labelled.width > 64 and labelled.height > 64
    bottom_right = np.asarray(labelled)[-32:, -32:]
    np.testing.assert_array_equal(bottom_right, np.asarray(figures.to_pil(cells[1][1], 4)))


def test_noise_crop_box_is_the_official_one_at_1024():
    assert figures.noise_crop_box(1024, 1024) == (650, 180, 906, 436)
    x0, y0, x1, y1 = figures.noise_crop_box(16, 16)
    assert x1 > x0 and y1 > y0


def test_std_map_scaling():
    np.testing.assert_array_equal(figures.std_map_to_uint8(np.array([0.0, 1.0, 100.0])), [0, 4, 255])


def test_style_mixing_and_noise_figures_sizes():
    rows, cols = _images(2), _images(3, seed=1)
    mixed = np.stack([_images(3, seed=2), _images(3, seed=3)])
    figure = figures.style_mixing_figure(rows, cols, mixed, [1, 2], [3, 4, 5], ["coarse 0-3", "fine 8-17"])
    assert figure.width >= 4 * 8 and figure.height >= 3 * 8
    noise = figures.noise_figure(_images(5).reshape(1, 5, 8, 8, 3), np.ones((1, 8, 8)), [7], 5)
    assert noise.height >= 8 and noise.width >= 3 * 8


def test_to_pil_rejects_floats():
    with pytest.raises(ValueError, match="uint8"):
        figures.to_pil(np.zeros((4, 4, 3), np.float32))
