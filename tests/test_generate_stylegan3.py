"""`python -m stylegan_tf.generate` with StyleGAN3 networks: --translate / --rotate (official
gen_images.py) and the `pan` video, on 16x16 tiny nets saved as .keras.

The tiny nets are built with output_scale 4 (the preset's 0.25 gives images of about 4 gray
levels of contrast, too little to see a shift through uint8 rounding)."""

import dataclasses
import math
import os

import keras
import numpy as np
import PIL.Image
import pytest

import stylegan_tf  # noqa: F401  (registers the Keras classes)
from stylegan_tf import export, families, presets
from stylegan_tf import sampling
from stylegan_tf import generate as gen
from stylegan_tf import input_transform as transform
from stylegan_tf.errors import UserError

RES = 16
INTERIOR = slice(3, RES - 3)   # away from the border, where the rolled image wraps round


def _tiny_sg3(cfg="t", seed=0):
    keras.utils.set_random_seed(seed)
    config = dataclasses.replace(presets.get("stylegan3-tiny").network, cfg=cfg, output_scale=4.0)
    return families.build_generator(config, name="G")


@pytest.fixture(scope="module")
def sg3_file(tmp_path_factory):
    return str(export.save_keras(_tiny_sg3(), tmp_path_factory.mktemp("sg3") / "G.keras"))


def _png(path):
    with PIL.Image.open(path) as image:
        return np.asarray(image.convert("RGB"), np.float64)


def _official_inverse(tx, ty, degrees):
    """gen_images.py: m = make_transform(translate, rotate); m = np.linalg.inv(m), written out here."""
    s, c = math.sin(math.radians(degrees)), math.cos(math.radians(degrees))
    return np.linalg.inv(np.array([[c, s, tx], [-s, c, ty], [0, 0, 1]]))


def test_translate_by_whole_pixels_shifts_the_image(sg3_file, tmp_path):
    """SG3-T is (roughly) translation equivariant: --translate 2/16,-2/16 moves the 16x16 image 2 px
    right and 2 px up. Measured on this net (and 3 other inits): mean |error| 0.28-0.68 gray levels
    in the interior, against 8-13 levels between the shifted and the unshifted image."""
    base_dir, moved_dir = str(tmp_path / "base"), str(tmp_path / "moved")
    assert gen.main(["images", "--network", sg3_file, "--seeds", "0,1", "--outdir", base_dir]) == 0
    assert gen.main(["images", "--network", sg3_file, "--seeds", "0,1", "--translate", "0.125,-0.125",
                     "--outdir", moved_dir]) == 0
    for name in ("seed0000.png", "seed0001.png"):
        base, moved = _png(os.path.join(base_dir, name)), _png(os.path.join(moved_dir, name))
        error = np.abs(moved - np.roll(base, (-2, 2), axis=(0, 1)))[INTERIOR, INTERIOR].mean()
        wrong_way = np.abs(moved - np.roll(base, (2, -2), axis=(0, 1)))[INTERIOR, INTERIOR].mean()
        unmoved = np.abs(moved - base)[INTERIOR, INTERIOR].mean()
        assert error < 1.5, error
        assert min(wrong_way, unmoved) > 4.0, (wrong_way, unmoved)


def test_rotate_90_turns_an_r_network_counter_clockwise():
    """SG3-R (radial filters, 1x1 convs) on a 16x16 grid: --rotate 90 is an exact quarter turn,
    counter-clockwise on screen (np.rot90). Measured error: 0.0 levels; the clockwise turn 12."""
    G = _tiny_sg3("r")
    base = sampling.generate_images(G, [0, 1], psi=1.0).astype(np.float64)
    with transform.input_transform(G, None, 90.0):
        turned = sampling.generate_images(G, [0, 1], psi=1.0).astype(np.float64)
    ccw = np.abs(turned - np.rot90(base, 1, axes=(1, 2)))[:, INTERIOR, INTERIOR].mean()
    cw = np.abs(turned - np.rot90(base, -1, axes=(1, 2)))[:, INTERIOR, INTERIOR].mean()
    assert ccw < 1.0 and cw > 4.0, (ccw, cw)


def test_transform_is_the_official_matrix_while_rendering_and_restored(sg3_file, tmp_path, monkeypatch):
    G = export.load_generator(sg3_file)
    G.set_input_transform(translate=(0.05, 0.0))        # a stored, non-identity transform
    stored = np.array(G.input_transform.numpy())
    seen = []
    synthesis = G.synthesis

    def spy(w, **kwargs):
        seen.append(np.array(G.input_transform.numpy()))
        return synthesis(w, **kwargs)

    monkeypatch.setattr(G, "synthesis", spy)
    monkeypatch.setattr(export, "load_generator", lambda path: G)
    commands = [["images", "--seeds", "0"], ["style-mixing", "--row-seeds", "1", "--col-seeds", "2",
                                             "--styles", "coarse"],
                ["truncation", "--seeds", "1", "--psis", "1,0.5"], ["interpolate", "--seeds", "0,1", "--frames", "2"]]
    expected = _official_inverse(0.1, -0.2, 30.0)
    for argv in commands:
        seen.clear()
        assert gen.main(argv + ["--network", sg3_file, "--outdir", str(tmp_path), "--translate", "0.1,-0.2",
                                "--rotate", "30"]) == 0
        assert seen, argv
        for matrix in seen:
            np.testing.assert_allclose(matrix, expected, atol=1e-6)   # float32 of the float64 inverse
        np.testing.assert_array_equal(G.input_transform.numpy(), stored)
    # Restored after an error inside the command too (no layer 40).
    assert gen.main(["style-mixing", "--network", sg3_file, "--layers", "40", "--row-seeds", "1", "--col-seeds",
                     "2", "--translate", "0.1,0", "--outdir", str(tmp_path)]) == 2
    np.testing.assert_array_equal(G.input_transform.numpy(), stored)
    # No --translate / --rotate: the stored transform is used as it is.
    seen.clear()
    assert gen.main(["images", "--network", sg3_file, "--seeds", "0", "--outdir", str(tmp_path)]) == 0
    np.testing.assert_array_equal(seen[0], stored)


@pytest.mark.slow
def test_savedmodel_takes_the_transform(sg3_file, tmp_path):
    """An exported SG3 SavedModel: its restored transform variable is set and restored the same way.
    Slow (about 14 s on 2 cores): `export.save_saved_model` of the tiny SG3 net alone takes 8 s."""
    G = export.load_generator(sg3_file)
    served = export.load_generator(str(export.save_saved_model(G, tmp_path / "saved_model")))
    with transform.input_transform(G, (0.125, 0.0), 20.0):
        expected = sampling.generate_images(G, [0, 1], psi=1.0)
    with transform.input_transform(served, (0.125, 0.0), 20.0):
        actual = sampling.generate_images(served, [0, 1], psi=1.0)
    np.testing.assert_allclose(actual.astype(int), expected.astype(int), atol=1)   # optimised graph rounding
    assert np.abs(actual.astype(int) - sampling.generate_images(served, [0, 1], psi=1.0)).mean() > 4.0
    np.testing.assert_array_equal(transform.transform_variable(served).numpy(), np.eye(3, dtype=np.float32))


def test_pan_video_frames(sg3_file, tmp_path):
    out = str(tmp_path / "pan")
    assert gen.main(["pan", "--network", sg3_file, "--seed", "3", "--frames", "7", "--path", "circle",
                     "--distance", "0.1", "--rotate-speed", "5", "--zoom", "2", "--outdir", out]) == 0
    with PIL.Image.open(os.path.join(out, "pan-seed0003.gif")) as gif:
        assert gif.n_frames == 7 and gif.size == (2 * RES, 2 * RES)
    if os.path.exists(os.path.join(out, "pan-seed0003.mp4")):
        import cv2

        video = cv2.VideoCapture(os.path.join(out, "pan-seed0003.mp4"))
        assert int(video.get(cv2.CAP_PROP_FRAME_COUNT)) == 7
        assert (int(video.get(cv2.CAP_PROP_FRAME_WIDTH)), int(video.get(cv2.CAP_PROP_FRAME_HEIGHT))) == (32, 32)
        video.release()


def test_pan_frames_are_the_translated_images(sg3_file):
    """Frame i of `pan` is the image rendered with frame i's transform; the line ends at --distance."""
    G = export.load_generator(sg3_file)
    transforms = transform.pan_transforms(3, "line", 0.125, 90.0, rotate_speed=10.0, translate=(0.0625, 0.0), angle=5.0)
    np.testing.assert_allclose([t for t, _ in transforms], [(0.0625, 0), (0.0625, 0.0625), (0.0625, 0.125)],
                               atol=1e-12)
    assert [a for _, a in transforms] == [5.0, 15.0, 25.0]
    w = sampling.map_latents(G, sampling.seed_latents(G, [4]))
    frames = transform.pan(G, w, sampling.seed_noise(G, [4], "const"), transforms)
    assert frames.shape == (3, RES, RES, 3) and frames.dtype == np.uint8
    with transform.input_transform(G, transforms[2][0], transforms[2][1]):
        np.testing.assert_array_equal(frames[2], sampling.generate_images(G, [4], psi=1.0)[0])
    np.testing.assert_array_equal(G.input_transform.numpy(), np.eye(3, dtype=np.float32))
    circle = transform.pan_transforms(4, "circle", 0.2, 0.0)
    np.testing.assert_allclose([t for t, _ in circle], [(0.2, 0), (0, 0.2), (-0.2, 0), (0, -0.2)], atol=1e-12)


@pytest.mark.parametrize("preset, family", [("tiny", "stylegan1"), ("stylegan2-tiny", "stylegan2")])
def test_other_families_refuse_the_transform(preset, family, tmp_path, capsys):
    G = families.build_generator(presets.get(preset).network, name="G")
    path = str(export.save_keras(G, tmp_path / "G.keras"))
    for argv, option in [(["images", "--seeds", "0", "--translate", "0.1,0"], "--translate"),
                         (["truncation", "--seeds", "0", "--rotate", "10"], "--rotate"),
                         (["pan", "--seed", "0"], "pan")]:
        assert gen.main(argv + ["--network", path, "--outdir", str(tmp_path / "out")]) == 2
        message = capsys.readouterr().err
        assert option in message and family in message and "StyleGAN3" in message, message
    assert not os.path.exists(tmp_path / "out" / "seed0000.png")


def test_option_errors(sg3_file, tmp_path, capsys):
    for argv, message in [(["images", "--seeds", "0", "--translate", "0.1"], "--translate takes two numbers"),
                          (["pan", "--seed", "0", "--path", "spiral"], "--path must be one of"),
                          (["pan"], "pan renders one --seed"),
                          (["noise", "--seeds", "1"], "no noise inputs")]:
        assert gen.main(argv + ["--network", sg3_file, "--outdir", str(tmp_path)]) == 2
        assert message in capsys.readouterr().err
    with pytest.raises(UserError, match="--translate"):
        gen.parse_translate("a,b")
