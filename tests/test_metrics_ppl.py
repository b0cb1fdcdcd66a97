"""Perceptual path length: interpolation and epsilon handling on toy generators with known path
lengths, outlier rejection, face crop, and the LPIPS distance plumbing (random weights)."""

from types import SimpleNamespace

import numpy as np
import pytest

from stylegan_tf import presets
from stylegan_tf.errors import UserError
from stylegan_tf.metrics import lpips, ppl
from stylegan_tf.metrics.convert_lpips import TORCHVISION_CONV_INDICES, convert_state_dicts

SIDE = 4
KERNEL_ULPS = 8  # How many units in the last place two float32 kernels of a network may disagree by.
D = SIDE * SIDE * 3  # latent size = pixels of the 4x4x3 toy image


class ToyGenerator:
    """Generator protocol with an explicit map: w = mapping(z) (per layer), image = f(w[:, 0]).

    mapping: "identity" (w = z) or "unit" (w = z / |z|, a pixel-norm-like normalisation).
    image:   "linear" (image = w) or "square" (image = w * w), reshaped to [N, 4, 4, 3].
    """

    def __init__(self, mapping="identity", image="linear"):
        self.config = SimpleNamespace(latent_size=D, label_size=0, resolution=SIDE)
        self.num_layers = 2
        self.kind = (mapping, image)
        self.calls = []

    def mapping(self, z, labels=None):
        z = np.asarray(z, np.float32)
        if self.kind[0] == "unit":
            z = z / np.linalg.norm(z, axis=1, keepdims=True)
        return np.repeat(z[:, None], self.num_layers, axis=1)

    def synthesis(self, w, noise_mode="const", noise=None):
        self.calls.append((len(w), None if noise is None else np.array(noise)))
        x = np.asarray(w, np.float32)[:, 0]
        if self.kind[1] == "square":
            x = x * x
        return x.reshape(-1, SIDE, SIDE, 3)

    def noise_size(self):
        return 5


def squared_l2(img0, img1):
    """|x0 - x1|^2 in the [-1, 1] units of the generator (PPL hands over (x + 1) * 127.5)."""
    return np.sum(((img0 - img1) / 127.5) ** 2, axis=(1, 2, 3))


def _pairs(n, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, D)), rng.standard_normal((n, D))


def test_lerp_in_w_of_a_linear_generator_is_the_squared_segment_length():
    G = ToyGenerator()
    z0, z1 = _pairs(6)
    t = np.linspace(0, 0.9, 6)
    d = ppl.path_length_distances(G, z0, z1, t, "w", squared_l2, crop=False)
    expected = np.sum((z1.astype(np.float32) - z0.astype(np.float32)) ** 2, axis=1)
    np.testing.assert_allclose(d, expected, rtol=2e-2)


def test_slerp_in_z_has_the_angle_as_speed():
    G = ToyGenerator(mapping="unit")
    z0, z1 = _pairs(6, seed=1)
    t = np.linspace(0, 0.9, 6)
    d = ppl.path_length_distances(G, z0, z1, t, "z", squared_l2, crop=False)
    cos = np.sum(z0 * z1, 1) / (np.linalg.norm(z0, axis=1) * np.linalg.norm(z1, axis=1))
    theta = np.arccos(cos)
    eps = ppl.EPSILON
    np.testing.assert_allclose(d, 4 * np.sin(eps * theta / 2) ** 2 / eps**2, rtol=2e-2)
    np.testing.assert_allclose(d, theta**2, rtol=2e-2)


def test_epsilon_and_position_matter_for_a_curved_generator():
    # image = w^2: the derivative at t is 2 (w0 + t dw) dw, so d / eps^2 -> |2 (w0 + t dw) dw|^2.
    G = ToyGenerator(image="square")
    z0, z1 = _pairs(4, seed=2)
    z0, z1 = z0.astype(np.float32).astype(np.float64), z1.astype(np.float32).astype(np.float64)
    dw = z1 - z0
    for t in (0.0, 0.5):
        expected = np.sum((2 * (z0 + t * dw) * dw) ** 2, axis=1)
        d = ppl.path_length_distances(G, z0, z1, np.full(4, t), "w", squared_l2, crop=False)
        np.testing.assert_allclose(d, expected, rtol=2e-2)
    # A coarse epsilon shows the curvature: the finite difference is (2 (w0 + t dw) + eps dw) dw.
    eps = 0.5
    expected = np.sum(((2 * z0 + eps * dw) * dw) ** 2, axis=1)
    d = ppl.path_length_distances(G, z0, z1, np.zeros(4), "w", squared_l2, epsilon=eps, crop=False)
    np.testing.assert_allclose(d, expected, rtol=1e-4)


def test_sampling_end_uses_t_zero_and_shares_noise_per_batch():
    G = ToyGenerator(image="square")
    num, seed = 10, 5
    d = ppl.sample_path_lengths(G, num, "w", "end", squared_l2, batch_size=4, seed=seed, crop=False)
    z = np.random.default_rng(seed).standard_normal((2, num, D)).astype(np.float32)  # the documented draw
    expected = ppl.path_length_distances(G, z[0], z[1], np.zeros(num), "w", squared_l2, crop=False)
    np.testing.assert_allclose(d, expected, rtol=1e-6)
    calls = G.calls[:3]
    assert [n for n, _ in calls] == [8, 8, 4]  # both endpoints of each pair in one call
    for _, noise in calls:
        assert noise.shape == (len(noise), 5) and np.all(noise == noise[0])  # one noise for the batch
    assert not np.array_equal(calls[0][1][0], calls[1][1][0])  # redrawn per batch
    full = ppl.sample_path_lengths(G, num, "w", "full", squared_l2, batch_size=4, seed=seed, crop=False)
    assert not np.allclose(full, d)


def test_filtered_mean_drops_outside_1st_to_99th_percentile():
    values = np.concatenate([np.arange(199.0), [1e6]])
    assert ppl.filtered_mean(values) == pytest.approx(99.5)  # keeps 1..198
    assert ppl.filtered_mean(np.full(10, 3.0)) == 3.0


def test_face_crop_and_downsampling():
    images = np.arange(1024, dtype=np.float32).reshape(1, 32, 32, 1)
    crop = ppl.crop_face(images)
    assert crop.shape == (1, 16, 16, 1)
    assert crop[0, 0, 0, 0] == images[0, 12, 8, 0]  # rows H*3/8.., columns W*2/8..
    big = np.random.default_rng(0).random((1, 512, 512, 3)).astype(np.float32)
    small = ppl.downsample_to_256(big)
    assert small.shape == (1, 256, 256, 3)
    np.testing.assert_allclose(small[0, 0, 0], big[0, :2, :2].mean(axis=(0, 1)), rtol=1e-6)
    assert ppl.downsample_to_256(images) is images
    with pytest.raises(UserError, match="face crop needs images of at least 8x8"):
        ppl.crop_face(np.zeros((1, 4, 4, 3)))


def test_argument_errors():
    G = ToyGenerator()
    z0, z1 = _pairs(2)
    with pytest.raises(UserError, match="PPL space must be one of"):
        ppl.path_length_distances(G, z0, z1, np.zeros(2), "x", squared_l2)
    with pytest.raises(UserError, match="PPL sampling must be one of"):
        ppl.sample_path_lengths(G, 2, "w", "middle", squared_l2)


# LPIPS ------------------------------------------------------------------------------------------
SMALL = (4, 8, 8, 8, 8)


@pytest.fixture(scope="module")
def small_lpips():
    return lpips.LPIPS(lpips.random_weights(channels=SMALL, seed=1))


def test_lpips_is_a_distance(small_lpips):
    rng = np.random.default_rng(0)
    x, y = rng.uniform(0, 255, (2, 3, 32, 32, 3)).astype(np.float32)
    d_xy, d_yx, d_xx = small_lpips(x, y), small_lpips(y, x), small_lpips(x, x)
    assert d_xy.shape == (3,) and np.all(d_xy > 0)
    np.testing.assert_allclose(d_xy, d_yx, rtol=1e-5)
    np.testing.assert_allclose(d_xx, 0, atol=1e-7)


def test_lpips_formula(small_lpips):
    """Channel-normalised features, squared difference, linear weights, spatial mean, sum of layers."""
    rng = np.random.default_rng(1)
    x, y = rng.uniform(0, 255, (2, 2, 32, 32, 3)).astype(np.float32)

    def features(images):
        scaled = (images / 127.5 - 1 - np.float32(lpips.LPIPS_SHIFT)) / np.float32(lpips.LPIPS_SCALE)
        return [np.asarray(f) for f in small_lpips.net(scaled)]

    total = 0
    for fx, fy, lin in zip(features(x), features(y), small_lpips.lins):
        fx = fx / (np.sqrt(np.sum(fx**2, axis=-1, keepdims=True)) + 1e-10)
        fy = fy / (np.sqrt(np.sum(fy**2, axis=-1, keepdims=True)) + 1e-10)
        total = total + np.mean(np.sum((fx - fy) ** 2 * lin, axis=-1), axis=(1, 2))
    np.testing.assert_allclose(small_lpips(x, y), total, rtol=1e-4)
    with pytest.raises(UserError, match="LPIPS needs images of at least 16x16"):
        small_lpips(x[:, :8, :8], y[:, :8, :8])


def test_lpips_weights_file_and_errors(tmp_path):
    weights = lpips.random_weights(channels=SMALL)
    np.savez(tmp_path / "w.npz", **weights)
    loaded = lpips.load_weights(str(tmp_path / "w.npz"))
    assert set(loaded) == set(weights)
    with pytest.raises(UserError, match="PPL needs the LPIPS VGG16 weights: pass --lpips"):
        lpips.load_weights(None)
    with pytest.raises(UserError, match="--lpips: file not found.*vgg16-397923af.pth"):
        lpips.load_weights(str(tmp_path / "missing.npz"))
    del weights["lin3"]
    np.savez(tmp_path / "bad.npz", **weights)
    with pytest.raises(UserError, match=r"lacks \['lin3'\]"):
        lpips.load_weights(str(tmp_path / "bad.npz"))
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(UserError, match="is not an .npz file"):
        lpips.load_weights(str(tmp_path / "junk.npz"))


def test_convert_pytorch_state_dicts():
    """The torchvision VGG16 + LPIPS v0.1 layouts map onto the NPZ layout (fake arrays, no torch)."""
    rng = np.random.default_rng(0)
    vgg_state, cin = {}, 3
    for index, cout in zip(TORCHVISION_CONV_INDICES, [4, 4, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8]):
        vgg_state[f"features.{index}.weight"] = rng.standard_normal((cout, cin, 3, 3)).astype(np.float32)
        vgg_state[f"features.{index}.bias"] = rng.standard_normal(cout).astype(np.float32)
        cin = cout
    lin_state = {f"lin{l}.model.1.weight": rng.random((1, c, 1, 1)).astype(np.float32)
                 for l, c in enumerate(SMALL)}
    converted = convert_state_dicts(lin_state, vgg_state)
    np.testing.assert_array_equal(converted["vgg16/conv1_2/kernel"][1, 2, 3, 0], vgg_state["features.2.weight"][0, 3, 1, 2])
    np.testing.assert_array_equal(converted["lin2"], lin_state["lin2.model.1.weight"].reshape(-1))
    model = lpips.LPIPS(converted)
    assert model(np.zeros((1, 16, 16, 3)), np.full((1, 16, 16, 3), 255.0)).shape == (1,)
    with pytest.raises(UserError, match="no linear weights"):
        convert_state_dicts({}, vgg_state)
    with pytest.raises(UserError, match="no features.0.weight"):
        convert_state_dicts(lin_state, {})


def float32_relative_error_bound(G, num, seed=0, ulps=KERNEL_ULPS):
    """How far float32 rounding can move PPL (W space, t = 0, the metric's latents), relative.

    Each sample is d(x0, x1) / eps^2 with x1 - x0 = O(eps): an error e in the images moves a distance
    quadratic in x1 - x0 by about 2 |e| / |x1 - x0| relative (Cauchy-Schwarz; LPIPS is locally such a
    quadratic form). Kernel choices (batch size -> algorithm, thread split) reorder float32 sums in G
    and in LPIPS: allow `ulps` units in the last place of each pixel. The mean of the samples moves by
    at most the largest of their bounds.
    """
    z = np.random.default_rng(seed).standard_normal((2, num, G.config.latent_size)).astype(np.float32)
    w = np.asarray(G.mapping(np.concatenate(z)), np.float64)
    w_pairs = np.concatenate([w[:num], ppl.lerp(w[:num], w[num:], ppl.EPSILON)]).astype(np.float32)
    x = np.asarray(G.synthesis(w_pairs, noise_mode="const"), np.float32).reshape(2, num, -1)
    error = ulps * np.spacing(np.maximum(np.abs(x[0]), np.abs(x[1])))
    return float(np.max(2 * np.linalg.norm(error, axis=1) / np.linalg.norm(x[1] - x[0], axis=1)))


def test_ppl_metric_on_a_tiny_generator(small_lpips, tmp_path):
    from stylegan_tf import metrics
    from stylegan_tf.networks.stylegan1.generator import Generator

    G = Generator(presets.get("tiny").network, seed=0)
    options = dict(num=12, distance=small_lpips, ppl_crop=False, progress=False)
    line = metrics.compute("ppl_wend", G, batch_size=6, outdir=str(tmp_path), **options)
    assert line["metric"] == "ppl_wend" and line["num"] == 12 and np.isfinite(line["value"]) and line["value"] > 0
    # Seeded: the same batch size runs the same kernels and gives the same number, bit for bit.
    assert metrics.compute("ppl_wend", G, batch_size=6, **options)["value"] == line["value"]
    # Another batch size regroups the noise draws (no effect: the noise strengths start at 0) and may pick
    # other kernels, which move the last bits of the images; d / eps^2 amplifies that (see the bound).
    again = metrics.compute("ppl_wend", G, batch_size=4, **options)
    tolerance = float32_relative_error_bound(G, num=12)
    assert 0 < tolerance < 0.1
    assert again["value"] == pytest.approx(line["value"], rel=tolerance)
    with pytest.raises(UserError, match="LPIPS needs images of at least 16x16"):
        metrics.compute("ppl_zfull", G, num=4, distance=small_lpips, progress=False)  # the face crop leaves 8x8
    with pytest.raises(UserError, match="ppl_zfull needs the LPIPS VGG16 weights"):
        metrics.compute("ppl_zfull", G, num=4, progress=False)
