"""stylegan_tf.media: uint8 conversion, grids, atomic PNG/GIF files, the one video writer."""

import numpy as np
import PIL.Image
import pytest

from stylegan_tf import media


def _images(n, size=8, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, size, size, 3)).astype(np.uint8)


def test_to_uint8_is_the_official_conversion():
    x = np.array([-1.0, -0.999, 0.0, 1.0, 2.0], np.float32)
    np.testing.assert_array_equal(media.to_uint8(x), [0, 0, 128, 255, 255])
    np.testing.assert_array_equal(media.to_uint8(np.array([0.0, 1.0]), drange=(0, 1)), [0, 255])


def test_grid_layout_fill_and_zoom():
    images = _images(5)
    grid = media.grid(images, fill=255)
    assert grid.shape == (16, 24, 3)  # 3 columns x 2 rows of 8x8
    np.testing.assert_array_equal(grid[8:16, 0:8], images[3])
    assert (grid[8:16, 16:24] == 255).all()  # empty cell
    assert (media.grid(images)[8:16, 16:24] == 0).all()  # default: black, as training snapshots
    zoomed = media.grid(images, columns=5, zoom=2)
    assert zoomed.shape == (16, 80, 3)
    np.testing.assert_array_equal(zoomed[0:16, 16:32], np.asarray(media.to_pil(images[1], 2)))
    assert media.grid(images, columns=9).shape == (8, 40, 3)  # at most one column per image
    assert media.grid_shape(16) == (4, 4)
    assert media.grid(np.zeros((3, 4, 4, 1), np.float32), 2).dtype == np.float32


def test_save_png_is_atomic_and_round_trips(tmp_path):
    image = _images(1)[0]
    path = media.save_png(image, tmp_path / "sub" / "a.png")
    with PIL.Image.open(path) as saved:
        np.testing.assert_array_equal(np.asarray(saved), image)
    media.save_png(media.to_pil(image[..., :1]), tmp_path / "sub" / "b.png")
    with PIL.Image.open(tmp_path / "sub" / "b.png") as saved:
        assert saved.mode == "L"
    assert sorted(p.name for p in (tmp_path / "sub").iterdir()) == ["a.png", "b.png"]


def test_to_pil_rejects_floats():
    with pytest.raises(ValueError, match="uint8"):
        media.to_pil(np.zeros((4, 4, 3), np.float32))


def test_gif(tmp_path):
    frames = list(_images(4, size=16))
    gif = media.save_gif(frames, tmp_path / "a.gif", fps=10)
    with PIL.Image.open(gif) as image:
        assert image.n_frames == 4 and image.size == (16, 16)
    with pytest.raises(ValueError, match="No frames"):
        media.save_gif([], tmp_path / "b.gif")
    assert [p.name for p in tmp_path.iterdir()] == ["a.gif"]


def test_video_writer_streams_mp4_or_falls_back_to_a_gif(tmp_path, monkeypatch):
    import cv2

    frames = [np.full((8, 16, 3), i, np.uint8) for i in range(250)]
    mp4 = media.VideoWriter(tmp_path / "a", fps=10, total_frames=len(frames))
    for frame in frames:
        mp4.write(frame)
    assert mp4.close() == tmp_path / "a.mp4" and (tmp_path / "a.mp4").stat().st_size > 0
    assert mp4.paths == [tmp_path / "a.mp4"]

    class Closed:
        def __init__(self, *args):
            pass

        def isOpened(self):
            return False

    monkeypatch.setattr(cv2, "VideoWriter", Closed)
    gif = media.VideoWriter(tmp_path / "b", fps=10, total_frames=len(frames))
    for frame in frames:
        gif.write(frame)
    assert gif.close() == tmp_path / "b.gif"
    with PIL.Image.open(tmp_path / "b.gif") as image:
        assert 2 <= image.n_frames <= media.GIF_MAX_FRAMES
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.mp4", "b.gif"]  # no temporary files left


def test_video_writer_always_gif_keeps_every_zoomed_frame(tmp_path):
    frames = list(_images(3, size=8))
    with media.VideoWriter(tmp_path / "v", fps=5, zoom=2, gif="always") as video:
        for frame in frames:
            video.write(frame)
    assert video.paths[0] == tmp_path / "v.gif"
    with PIL.Image.open(tmp_path / "v.gif") as image:
        assert image.n_frames == 3 and image.size == (16, 16)
    if media.mp4_writer_available():
        assert video.paths[1:] == [tmp_path / "v.mp4"] and (tmp_path / "v.mp4").stat().st_size > 0
