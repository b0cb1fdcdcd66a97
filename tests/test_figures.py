"""Figure layouts: grids, annotated grids, the Figure 4 crop and std scaling, GIF/MP4 writing."""

import numpy as np
import PIL.Image
import pytest

from stylegan_tf import figures


def _images(n, size=8, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, size, size, 3)).astype(np.uint8)


def test_image_grid_layout():
    images = _images(5)
    grid = figures.image_grid(images)
    assert grid.size == (24, 16)  # 3 columns x 2 rows of 8x8
    array = np.asarray(grid)
    np.testing.assert_array_equal(array[8:16, 0:8], images[3])
    assert (array[8:16, 16:24] == 255).all()  # empty cell
    assert figures.image_grid(images, columns=5, zoom=2).size == (80, 16)
    assert figures.grid_shape(16) == (4, 4)


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


def test_gif_and_mp4(tmp_path):
    frames = list(_images(4, size=16))
    gif = figures.save_gif(frames, str(tmp_path / "a.gif"), fps=10)
    with PIL.Image.open(gif) as image:
        assert image.n_frames == 4 and image.size == (16, 16)
    mp4 = figures.save_mp4(frames, str(tmp_path / "a.mp4"), fps=10, zoom=2)
    if figures.mp4_writer_available():
        assert mp4 is not None and (tmp_path / "a.mp4").stat().st_size > 0
    with pytest.raises(ValueError, match="No frames"):
        figures.save_gif([], str(tmp_path / "b.gif"))


def test_to_pil_rejects_floats():
    with pytest.raises(ValueError, match="uint8"):
        figures.to_pil(np.zeros((4, 4, 3), np.float32))
