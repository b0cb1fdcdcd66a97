"""Video grids (`stylegan_tf.video_grid`, `python -m stylegan_tf.gen_video`): the official seed layout,
looping keyframe curves, frames equal to the keyframes' own renders, and the MP4 on a tiny StyleGAN2."""

import cv2
import keras
import numpy as np
import pytest

import stylegan_tf  # noqa: F401  (registers the Keras classes)
from stylegan_tf import export, families, gen_video, presets, sampling, video_grid
from stylegan_tf.errors import UserError


@pytest.fixture(scope="module")
def G():
    keras.utils.set_random_seed(2)
    return families.build_generator(presets.get("stylegan2-tiny").network, name="G")


def test_keyframe_seeds_follow_the_official_layout():
    layout = video_grid.keyframe_seeds(list(range(12)), grid=(3, 2))      # 3 columns, 2 rows, 2 keyframes
    assert layout.shape == (2, 3, 2)
    assert layout[1, 2].tolist() == [10, 11] and layout[0, 1].tolist() == [2, 3]
    cyclic = video_grid.keyframe_seeds([5, 6, 7], grid=(2, 1), num_keyframes=2)
    assert cyclic.tolist() == [[[5, 6], [7, 5]]]
    shuffled = video_grid.keyframe_seeds(list(range(12)), grid=(3, 2), shuffle_seed=1)
    assert sorted(shuffled.reshape(-1).tolist()) == list(range(12)) and not np.array_equal(shuffled, layout)
    with pytest.raises(UserError, match="do not fill a 3x2 grid evenly"):
        video_grid.keyframe_seeds(list(range(7)), grid=(3, 2))
    assert video_grid.parse_grid("4x2") == (4, 2)
    with pytest.raises(UserError, match="--grid must be COLUMNSxROWS"):
        video_grid.parse_grid("4by2")


@pytest.mark.parametrize("kind", ["cubic", "linear"])
def test_curves_pass_through_the_keyframes_and_loop(kind):
    keys = np.random.RandomState(0).randn(3, 2, 4)
    curve = video_grid.looping_curve(keys, kind)
    for k in range(3):
        np.testing.assert_allclose(curve(k), keys[k], atol=1e-9)
    np.testing.assert_allclose(curve(3), keys[0], atol=1e-9)                 # the loop closes
    np.testing.assert_allclose(curve(3 - 1e-6), curve(-1e-6), atol=1e-6)     # continuously
    if kind == "linear":
        np.testing.assert_allclose(curve(2.5), (keys[2] + keys[0]) / 2, atol=1e-9)
    else:   # a cubic, not a polyline
        assert np.abs(curve(0.5) - (keys[0] + keys[1]) / 2).max() > 1e-3


def test_frames_show_the_keyframes_in_a_grid(G):
    seeds = list(range(8))
    video = video_grid.video_grid(G, seeds, grid=(2, 2), w_frames=3, psi=0.7)
    assert video.num_frames == 6 and video.seeds.shape == (2, 2, 2)
    frames = list(video_grid.grid_frames(G, video))
    assert len(frames) == 6 and frames[0].shape == (32, 32, 3)
    cutoff = G.num_layers
    for frame_index, k in ((0, 0), (3, 1)):
        cell_seeds = video.seeds[:, :, k].reshape(-1).tolist()
        w = sampling.map_latents(G, sampling.seed_latents(G, cell_seeds), None, 0.7, cutoff)
        expected = sampling.synthesize(G, w, sampling.seed_noise(G, cell_seeds, "const"))
        got = frames[frame_index]
        cells = [got[y * 16:(y + 1) * 16, x * 16:(x + 1) * 16] for y in range(2) for x in range(2)]
        assert np.abs(np.stack(cells).astype(int) - expected.astype(int)).max() <= 1
    assert np.abs(frames[1].astype(int) - frames[0].astype(int)).mean() > 0.5    # in-between frames move


def test_command_writes_a_looping_mp4(G, tmp_path, capsys):
    network = str(export.save_keras(G, tmp_path / "G.keras"))
    out = tmp_path / "video" / "grid.mp4"
    assert gen_video.main(["--network", network, "--seeds", "0-5", "--grid", "3x1", "--w-frames", "4",
                           "--kind", "linear", "--output", str(out), "--zoom", "2", "--fps", "30"]) == 0
    capture = cv2.VideoCapture(str(out))
    try:
        assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 8
        assert (int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)), int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))) == (96, 32)
    finally:
        capture.release()
    assert gen_video.main(["--network", network, "--seeds", "0-4", "--grid", "3x1",
                           "--output", str(out)]) == 2
    assert "do not fill a 3x1 grid evenly" in capsys.readouterr().err
    assert gen_video.main(["--network", network, "--seeds", "0-2", "--kind", "spline", "--output", str(out)]) == 2
    assert "--kind must be one of" in capsys.readouterr().err
