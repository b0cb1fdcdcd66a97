"""The StyleGAN2 projector: schedule, noise regulariser, LPIPS features, self-projection, CLI, errors."""

import math

import keras
import numpy as np
import pytest

from stylegan_tf import project as P
from stylegan_tf import projection, sampling
from stylegan_tf.data import photos
from stylegan_tf import presets
from stylegan_tf.errors import UserError
from stylegan_tf.metrics import lpips

SMALL_LPIPS = (4, 8, 8, 8, 8)  # channels of a random LPIPS VGG16 small enough for tests


@pytest.fixture(scope="module")
def tiny_G():
    from stylegan_tf.networks.stylegan1.generator import Generator

    keras.utils.set_random_seed(0)
    return Generator(presets.get("tiny").network, seed=1)


@pytest.fixture(scope="module")
def tiny_stats(tiny_G):
    return projection.w_statistics(tiny_G)


@pytest.fixture(scope="module")
def generated(tiny_G):
    """A w of the tiny G and its unclipped image in [0, 255] (float; no uint8 clipping)."""
    w = np.asarray(tiny_G.mapping(np.random.RandomState(5).randn(1, 16).astype(np.float32)))
    image = (np.asarray(tiny_G.synthesis(w, noise_mode="const"))[0] + 1.0) * 127.5
    return w, image


# Schedule ------------------------------------------------------------------------------------
@pytest.mark.parametrize("step", [0, 1, 25, 50, 300, 750, 800, 900, 999])
def test_schedule_equals_the_official_formulas(step):
    t = step / 1000
    ramp = 0.5 - 0.5 * np.cos(min(1.0, (1.0 - t) / 0.25) * np.pi)
    assert projection.learning_rate(step) == pytest.approx(0.1 * ramp * min(1.0, t / 0.05), rel=1e-12, abs=1e-15)
    assert projection.w_noise_scale(step, 2.0) == pytest.approx(2.0 * 0.05 * max(0.0, 1.0 - t / 0.75) ** 2, abs=1e-15)


def test_schedule_landmarks():
    assert projection.learning_rate(0) == 0.0                       # ramp-up starts at 0
    assert projection.learning_rate(50) == pytest.approx(0.1)       # full after 5 %
    assert projection.learning_rate(750) == pytest.approx(0.1)      # ramp-down starts at 75 %
    assert projection.learning_rate(875) == pytest.approx(0.05)     # half way down the cosine
    assert projection.w_noise_scale(0, 3.0) == pytest.approx(0.15)
    assert projection.w_noise_scale(375, 3.0) == pytest.approx(0.15 / 4)
    assert projection.w_noise_scale(750, 3.0) == 0.0
    short = projection.ProjectionConfig(num_steps=100)
    assert projection.learning_rate(5, short) == pytest.approx(0.1)


# Noise regulariser ------------------------------------------------------------------------------
def _reference_regularization(maps):
    total = 0.0
    for n in maps:
        n = n[0, :, :, 0].astype(np.float64)
        while True:
            total += np.mean(n * np.roll(n, 1, axis=1)) ** 2 + np.mean(n * np.roll(n, 1, axis=0)) ** 2
            if n.shape[0] <= 8:
                break
            n = n.reshape(n.shape[0] // 2, 2, n.shape[1] // 2, 2).mean(axis=(1, 3))
    return total


def test_noise_regularization_equals_numpy_reference():
    rng = np.random.RandomState(0)
    maps = [rng.randn(1, s, s, 1).astype(np.float32) for s in (4, 8, 16, 32, 64)]
    # A correlated map: large autocorrelation, so the terms are not all near zero.
    maps.append(np.repeat(np.repeat(rng.randn(1, 8, 8, 1), 4, axis=1), 4, axis=2).astype(np.float32))
    reference = _reference_regularization(maps)
    assert reference > 0.1
    np.testing.assert_allclose(float(projection.noise_regularization([keras.ops.convert_to_tensor(m) for m in maps])),
                               reference, rtol=1e-5)


def test_area_downsample_is_the_box_mean():
    x = np.random.RandomState(1).rand(1, 512, 512, 3).astype(np.float32)
    np.testing.assert_allclose(np.asarray(projection.area_downsample(x, 256)),
                               x.reshape(1, 256, 2, 256, 2, 3).mean(axis=(2, 4)), rtol=1e-6)
    assert projection.area_downsample(x[:, :128, :128], 256) is not None
    np.testing.assert_array_equal(np.asarray(projection.area_downsample(x[:, :128, :128], 256)), x[:, :128, :128])


# LPIPS ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def small_lpips():
    return lpips.LPIPS(lpips.random_weights(channels=SMALL_LPIPS, seed=2))


def test_lpips_features_squared_distance_is_lpips(small_lpips):
    rng = np.random.RandomState(3)
    x, y = (rng.rand(2, 32, 32, 3) * 255).astype(np.float32), (rng.rand(2, 32, 32, 3) * 255).astype(np.float32)
    features = lpips.LPIPSFeatures(small_lpips)
    fx, fy = np.asarray(features(x)), np.asarray(features(y))
    np.testing.assert_allclose(np.sum((fx - fy) ** 2, axis=1), small_lpips(x, y), rtol=1e-4)
    with pytest.raises(UserError, match="LPIPS needs images of at least 16x16"):
        features(x[:, :8, :8])


# Projection -----------------------------------------------------------------------------------
def test_w_statistics_follow_the_official_definition(tiny_G):
    w_avg, w_std = projection.w_statistics(tiny_G, num_samples=300, seed=123, batch_size=64)
    z = np.random.RandomState(123).randn(300, 16).astype(np.float32)
    w = np.asarray(tiny_G.mapping(z))[:, 0].astype(np.float64)
    np.testing.assert_allclose(w_avg, w.mean(0), rtol=1e-5, atol=1e-6)
    assert w_std == pytest.approx(math.sqrt(np.sum((w - w.mean(0)) ** 2) / 300), rel=1e-5)


def test_projection_of_a_generated_image_recovers_its_w(tiny_G, tiny_stats, generated):
    w_true, target = generated
    w_avg, w_std = tiny_stats
    result = projection.project(tiny_G, target, lpips.pixel_features, projection.ProjectionConfig(num_steps=200), progress=False,
                       w_stats=tiny_stats)
    assert result.w_steps.shape == (200, 1, 16) and result.w.shape == (1, tiny_G.num_layers, 16)
    assert np.all(result.w[0] == result.w[0, :1])                       # W: one w broadcast to all layers
    np.testing.assert_array_equal(result.w_steps[0, 0], w_avg)          # lr is 0 at step 0 (official)
    assert np.all(result.w_steps[1, 0] != w_avg)
    start = np.linalg.norm(w_true[0, 0] - w_avg)
    assert start > 0.5 * w_std
    assert result.dist[-1] < result.dist[0] / 1000
    assert np.linalg.norm(result.w[0, 0] - w_true[0, 0]) < 0.02 * w_std  # lands on the generating w
    # The noise maps are renormalised after every step.
    offset = 0
    for h, w in projection.noise_shapes(tiny_G):
        n = result.noise[0, offset:offset + h * w]
        offset += h * w
        assert abs(n.mean()) < 1e-4 and abs(n.var() - 1.0) < 1e-3
    assert offset == result.noise.shape[1] == tiny_G.noise_size()


def test_projection_is_reproducible_and_seeded(tiny_G, tiny_stats, generated):
    config = projection.ProjectionConfig(num_steps=15, seed=7)
    a = projection.project(tiny_G, generated[1], lpips.pixel_features, config, progress=False, w_stats=tiny_stats)
    b = projection.project(tiny_G, generated[1], lpips.pixel_features, config, progress=False, w_stats=tiny_stats)
    c = projection.project(tiny_G, generated[1], lpips.pixel_features, projection.ProjectionConfig(num_steps=15, seed=8),
                  progress=False, w_stats=tiny_stats)
    np.testing.assert_allclose(a.w_steps, b.w_steps, rtol=1e-5, atol=1e-6)
    assert not np.allclose(a.noise, c.noise)


def test_w_plus_projection_has_one_w_per_layer(tiny_G, tiny_stats, generated):
    result = projection.project(tiny_G, generated[1], lpips.pixel_features, projection.ProjectionConfig(num_steps=100, w_plus=True),
                       progress=False, w_stats=tiny_stats)
    assert result.w_steps.shape == (100, tiny_G.num_layers, 16)
    assert not np.allclose(result.w[0, 0], result.w[0, -1])
    assert result.dist[-1] < result.dist[0] / 50


def test_lpips_projection_lowers_the_distance(tiny_G, tiny_stats, generated, small_lpips):
    features = lpips.LPIPSFeatures(small_lpips)
    result = projection.project(tiny_G, generated[1], features, projection.ProjectionConfig(num_steps=60), progress=False,
                       w_stats=tiny_stats)
    # A random 16x16 VGG is a rough landscape (the pixel test above checks convergence); the
    # plumbing (features of the target once, gradients through VGG) must still make progress.
    assert result.dist[-1] < result.dist[0] / 2


def test_project_argument_errors(tiny_G, tiny_stats, generated):
    with pytest.raises(UserError, match="must be 16x16x3 for this network"):
        projection.project(tiny_G, generated[1][:8], lpips.pixel_features, w_stats=tiny_stats)
    with pytest.raises(UserError, match="needs a distance"):
        projection.project(tiny_G, generated[1], None, w_stats=tiny_stats)
    with pytest.raises(UserError, match="--num-steps must be at least 1"):
        projection.project(tiny_G, generated[1], lpips.pixel_features, projection.ProjectionConfig(num_steps=0), w_stats=tiny_stats)


# Targets -----------------------------------------------------------------------------------------
def test_target_errors_and_preparation(tmp_path):
    from PIL import Image

    with pytest.raises(UserError, match="--target: no such file.*missing.png"):
        photos.prepare_target(tmp_path / "missing.png", 16)
    (tmp_path / "junk.png").write_bytes(b"this is not a png")
    with pytest.raises(UserError, match="--target: .*junk.png' is not a readable image"):
        photos.prepare_target(tmp_path / "junk.png", 16)
    photo = np.zeros((40, 60, 3), np.uint8)
    photo[:, 10:50] = 200  # the centred 40x40 square is all 200
    Image.fromarray(photo).save(tmp_path / "photo.png")
    target = photos.prepare_target(tmp_path / "photo.png", 16)
    assert target.shape == (16, 16, 3) and target.dtype == np.uint8
    np.testing.assert_array_equal(target, 200)


def test_align_without_a_face_is_a_user_error(tmp_path):
    class NoFaces:
        def detect(self, image):
            return []

    with pytest.raises(UserError, match="--align: no face found in 'gray.png' \\(30x20\\)"):
        photos.align_photo(np.full((20, 30, 3), 128, np.uint8), NoFaces(), source="'gray.png'")


def test_missing_lpips_weights_are_a_user_error(tmp_path):
    with pytest.raises(UserError, match="Projection needs the LPIPS VGG16 weights: pass --lpips"):
        lpips.load_lpips_features(None)
    with pytest.raises(UserError, match="--lpips: file not found.*nothing.npz"):
        lpips.load_lpips_features(tmp_path / "nothing.npz")


def test_load_projected_w_errors(tmp_path):
    np.savez(tmp_path / "bad.npz", w=np.zeros((1, 3, 16), np.float32))
    with pytest.raises(UserError, match="must be \\[N, 8, 16\\] for this network. Received shape: \\(1, 3, 16\\)"):
        projection.load_projected_w(tmp_path / "bad.npz", 8, 16)
    np.savez(tmp_path / "now.npz", x=np.zeros(3))
    with pytest.raises(UserError, match="has no 'w' array"):
        projection.load_projected_w(tmp_path / "now.npz")
    with pytest.raises(UserError, match="--projected-w: no such file"):
        projection.load_projected_w(tmp_path / "none.npz")


# Command line ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def cli_files(tiny_G, generated, tmp_path_factory):
    from PIL import Image

    from stylegan_tf.export import save_keras

    folder = tmp_path_factory.mktemp("project")
    save_keras(tiny_G, folder / "G.keras")
    np.savez(folder / "lpips.npz", **lpips.random_weights(channels=SMALL_LPIPS, seed=2))
    Image.fromarray(np.clip(generated[1] + 0.5, 0, 255).astype(np.uint8)).resize((64, 64)).save(folder / "t.png")
    return folder


@pytest.fixture(scope="module")
def projected_run(cli_files, tmp_path_factory):
    out = tmp_path_factory.mktemp("proj")
    assert P.main(["--network", str(cli_files / "G.keras"), "--target", str(cli_files / "t.png"),
                   "--outdir", str(out), "--lpips", str(cli_files / "lpips.npz"), "--num-steps", "12"]) == 0
    return out


def test_cli_writes_the_projection_and_generate_renders_it(cli_files, projected_run, tmp_path):
    from PIL import Image

    from stylegan_tf import generate

    out = projected_run
    for name in ("target.png", "proj.png", "target-proj.png", "projected_w.npz", "proj.mp4"):
        assert (out / name).is_file(), name
    with np.load(out / "projected_w.npz") as data:
        assert data["w"].shape == (1, 6, 16) and data["w_steps"].shape == (12, 6, 16)
        assert data["noise"].shape == (1, 2 * (16 + 64 + 256))  # two maps at each of 4, 8, 16
        assert data["dist"].shape == (12,) and not bool(data["w_plus"])
        np.testing.assert_array_equal(data["w"][0], data["w_steps"][-1])
    side = np.asarray(Image.open(out / "target-proj.png"))
    assert side.shape == (16, 32, 3)
    np.testing.assert_array_equal(side[:, :16], np.asarray(Image.open(out / "target.png")))

    # generate --projected-w renders the same image (w and the optimised noise from the file).
    assert generate.main(["images", "--network", str(cli_files / "G.keras"), "--projected-w",
                          str(out / "projected_w.npz"), "--outdir", str(tmp_path / "gen")]) == 0
    rendered = np.asarray(Image.open(tmp_path / "gen" / "projected00.png"))
    np.testing.assert_array_equal(rendered, np.asarray(Image.open(out / "proj.png")))


def test_generate_figures_of_projected_photos(cli_files, projected_run, tmp_path, tiny_G):
    from PIL import Image

    from stylegan_tf import generate

    path = str(projected_run / "projected_w.npz")
    names, w, noise = projection.load_projected(tiny_G, f"{path},{path}")
    assert names == ["projected00", "projected01"] and w.shape == (2, 6, 16) and noise.shape == (2, 672)
    proj = np.asarray(Image.open(projected_run / "proj.png"))
    sweep = sampling.truncation_sweep(tiny_G, names, [1.0, 0.0], w=w, noise=noise)
    np.testing.assert_array_equal(sweep[0, 0], proj)                     # psi 1: the projection itself
    frames = sampling.interpolate(tiny_G, names, frames=3, psi=1.0, w=w[:1].repeat(2, 0), noise=noise)
    assert frames.shape == (4, 16, 16, 3)
    np.testing.assert_array_equal(frames[0], proj)
    mixed = sampling.style_mixing(tiny_G, names[:1], [1, 2], [[0, 1]], row_w=w[:1], row_noise=noise[:1])
    np.testing.assert_array_equal(mixed["row_images"][0], proj)

    network, out = str(cli_files / "G.keras"), str(tmp_path / "fig")
    for command in (["style-mixing", "--col-seeds", "1,2"], ["truncation"], ["interpolate", "--frames", "2"]):
        assert generate.main(command + ["--network", network, "--projected-w", f"{path},{path}",
                                        "--outdir", out]) == 0, command
    for name in ("style-mixing.png", "truncation.png", "interpolation-w.gif"):
        assert (tmp_path / "fig" / name).is_file()
    assert generate.main(["interpolate", "--network", network, "--projected-w", path, "--seeds", "1,2",
                          "--outdir", out]) == 2
    assert generate.main(["images", "--network", network, "--outdir", out]) == 2


def test_stylegan2_projection_recovers_its_w():
    pytest.importorskip("stylegan_tf.networks.stylegan2.generator")
    from stylegan_tf import families
    from stylegan_tf.networks.stylegan2.config import StyleGAN2Config

    keras.utils.set_random_seed(0)
    G = families.build_generator(StyleGAN2Config(resolution=16, latent_size=16, w_dim=16, mapping_layers=2,
                                                 mapping_fmaps=16, channel_base=256, channel_max=16))
    w = np.asarray(G.mapping(np.random.RandomState(5).randn(1, 16).astype(np.float32)))
    target = (np.asarray(G.synthesis(keras.ops.convert_to_tensor(w), noise_mode="const"))[0] + 1.0) * 127.5
    stats = projection.w_statistics(G, num_samples=2000)
    result = projection.project(G, target, lpips.pixel_features, projection.ProjectionConfig(num_steps=200), progress=False,
                       w_stats=stats)
    assert result.noise.shape == (1, G.noise_size())
    assert result.dist[-1] < result.dist[0] / 1000
    assert np.linalg.norm(result.w[0, 0] - w[0, 0]) < 0.02 * stats[1]


def test_cli_errors(cli_files, tmp_path, capsys):
    common = ["--network", str(cli_files / "G.keras"), "--outdir", str(tmp_path / "o"), "--num-steps", "2"]
    assert P.main(common + ["--target", str(tmp_path / "none.png"), "--lpips", str(cli_files / "lpips.npz")]) == 2
    assert "--target: no such file" in capsys.readouterr().err
    assert P.main(common + ["--target", str(cli_files / "t.png")]) == 2
    assert "needs the LPIPS VGG16 weights" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_align_with_mtcnn_crops_the_face_or_names_the_photo(tmp_path):
    pytest.importorskip("mtcnn")
    skimage_data = pytest.importorskip("skimage.data")
    from PIL import Image

    from stylegan_tf.data import alignment
    from stylegan_tf.data.detect import FaceDetector

    detector = FaceDetector(faces="largest")
    photo = skimage_data.astronaut()
    Image.fromarray(photo).save(tmp_path / "astronaut.png")
    target = photos.prepare_target(tmp_path / "astronaut.png", 64, align=True, detector=detector)
    face = detector.detect(photo)[0]
    quad, qsize = alignment.crop_quad(alignment.face_points(face.points))
    expected = photos.center_crop_resize(alignment.align_face(photo, quad, qsize, output_size=1024), 64)
    np.testing.assert_array_equal(target, expected)
    Image.fromarray(np.full((120, 160, 3), 90, np.uint8)).save(tmp_path / "wall.png")
    with pytest.raises(UserError, match="--align: no face found in '.*wall.png' \\(160x120\\)"):
        photos.prepare_target(tmp_path / "wall.png", 64, align=True, detector=detector)


def test_saved_model_projection_follows_the_keras_trajectory(tiny_G, tiny_stats, generated, small_lpips, tmp_path):
    from types import SimpleNamespace

    import tensorflow as tf

    from stylegan_tf.export import float32_copy, load_generator, save_saved_model

    G = float32_copy(tiny_G)
    for weight in G.weights:  # official init is 0: make the noise maps matter, so their gradients do
        if weight.path.endswith("noise/strength"):
            weight.assign(np.full(weight.shape, 0.3, np.float32))
    served = load_generator(save_saved_model(G, tmp_path / "served"))
    assert projection.noise_shapes(served) == projection.noise_shapes(G)
    features, config = lpips.LPIPSFeatures(small_lpips), projection.ProjectionConfig(num_steps=6)
    ours, theirs = (projection.project(g, generated[1], features, config, progress=False, w_stats=tiny_stats)
                    for g in (G, served))
    assert np.all(np.diff(ours.dist[1:]) != 0)
    np.testing.assert_allclose(theirs.dist, ours.dist, rtol=1e-4)
    np.testing.assert_allclose(theirs.w_steps, ours.w_steps, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(theirs.noise, ours.noise, rtol=1e-4, atol=1e-4)
    a, b = (next(projection.render(g, ours.w, ours.noise))[0].astype(int) for g in (G, served))
    assert np.abs(a - b).max() <= 1
    maps = [tf.Variable(np.ones((1, h, w, 1), np.float32)) for h, w in projection.noise_shapes(served)]
    with tf.GradientTape() as tape:
        total = tf.reduce_sum(served.synthesis_tensors(tf.constant(ours.w), maps))
    assert all(float(tf.reduce_max(tf.abs(g))) > 0 for g in tape.gradient(total, maps))  # every map matters
    # A SavedModel written before the noise_shapes endpoint existed: re-export.
    served._model = SimpleNamespace(synthesis_noise=served._model.synthesis_noise)
    with pytest.raises(UserError, match="served was exported without its noise shapes.*re-export it"):
        projection.noise_shapes(served)


def test_stylegan3_projection_optimises_w_alone(tmp_path):
    from stylegan_tf import families

    keras.utils.set_random_seed(0)
    G = families.build_generator(presets.get("stylegan3-tiny").network, name="G")
    assert projection.noise_shapes(G) == [] and not projection.uses_noise(G)
    w = np.asarray(G.mapping(np.random.RandomState(5).randn(1, 16).astype(np.float32)))
    target = (np.asarray(G.synthesis(keras.ops.convert_to_tensor(w)))[0] + 1.0) * 127.5
    stats = projection.w_statistics(G, num_samples=2000)
    result = projection.project(G, target, lpips.pixel_features, projection.ProjectionConfig(num_steps=30), progress=False,
                       w_stats=stats)
    assert result.noise.shape == (1, 0) and np.all(result.loss == result.dist)  # no noise, no regulariser
    # A random tiny SG3 barely depends on w (w is not recoverable); the gradient must still lower the distance.
    assert result.dist[-1] < 0.75 * result.dist[0]
    written = projection.write_outputs(G, result, np.clip(target + 0.5, 0, 255).astype(np.uint8), tmp_path,
                              save_video=False, progress=False)
    assert [p.name for p in written] == ["target.png", "proj.png", "target-proj.png", "projected_w.npz"]
    with np.load(tmp_path / "projected_w.npz") as data:
        assert data["w"].shape == (1, G.num_layers, 16) and data["noise"].shape == (1, 0)
