"""Equivariance metrics EQ-T / EQ-T_frac / EQ-R (Alias-Free GANs app. E): the PSNR, the image
operators against exact references on band-limited images, toy generators that follow or ignore
their input transform, the tiny StyleGAN3 network through the CLI, and refusal of other families."""

import json
import math
from types import SimpleNamespace

import numpy as np
import pytest

from stylegan_tf import families, metrics, presets
from stylegan_tf.errors import UserError
from stylegan_tf.metrics import equivariance as eq
from stylegan_tf.metrics.__main__ import main

NAMES = ("eqt50k_int", "eqt50k_frac", "eqr50k")
SIDE = 16


def _wave(height, width, matrix=np.eye(3), phases=None, seed=0):
    """Band-limited test images [N, H, W, 3] (|f| <= 2.5 cycles per image): g(M p) at the pixel centres
    p (image widths, origin in the centre), i.e. g moved by the transform inverse(M)."""
    rng = np.random.default_rng(seed)
    freqs = rng.uniform(-1.75, 1.75, (5, 2))
    phases = rng.uniform(0, 1, (1, 5)) if phases is None else np.asarray(phases)[:, :5]
    py, px = np.meshgrid((np.arange(height) + 0.5) / height - 0.5, (np.arange(width) + 0.5) / width - 0.5,
                         indexing="ij")
    m = np.asarray(matrix, np.float64)
    qx, qy = m[0, 0] * px + m[0, 1] * py + m[0, 2], m[1, 0] * px + m[1, 1] * py + m[1, 2]
    arg = freqs[None, :, 0, None, None] * qx + freqs[None, :, 1, None, None] * qy + phases[:, :, None, None]
    img = np.sin(2 * np.pi * arg).sum(axis=1) / 4
    return np.repeat(img[..., None], 3, axis=-1).astype(np.float32)


def _masked_psnr(a, b, mask):
    return eq.psnr(np.sum(np.square(a.astype(np.float64) - b) * mask), np.sum(mask))


class WaveGenerator:
    """Generator protocol of a StyleGAN3 network whose image is `_wave` of the input transform
    (`follow`: exactly equivariant, as the Fourier input) or of the identity (ignores it)."""

    def __init__(self, follow=True, fail_at_call=None):
        self.config = SimpleNamespace(family="stylegan3", resolution=SIDE, latent_size=8, label_size=0)
        self.name, self.follow, self.fail_at_call, self.calls = "toy", follow, fail_at_call, 0
        self.input_transform = np.diag([2.0, 1.0, 1.0])          # Not the identity: must come back.

    def set_input_transform(self, translate=(0.0, 0.0), angle=0.0, matrix=None):
        self.input_transform = np.asarray(matrix, np.float64)

    def mapping(self, z, labels=None):
        return np.asarray(z, np.float32)[:, None, :]

    def synthesis(self, ws, noise_mode="const"):
        self.calls += 1
        if self.calls == self.fail_at_call:
            raise RuntimeError("synthesis failed")
        matrix = self.input_transform if self.follow else np.eye(3)
        return _wave(SIDE, SIDE, matrix, phases=np.asarray(ws)[:, 0] / 4)


def test_psnr_is_the_official_formula():
    rng = np.random.default_rng(0)
    a, b = rng.uniform(-1, 1, (2, 3, 8, 8, 3))
    mask = (rng.uniform(size=a.shape) < 0.5).astype(np.float64)
    mse = np.sum((a - b) ** 2 * mask) / np.sum(mask)
    assert eq.psnr(np.sum((a - b) ** 2 * mask), np.sum(mask)) == pytest.approx(10 * np.log10(4 / mse), rel=1e-12)
    assert eq.psnr(4.0, 1.0) == pytest.approx(0.0, abs=1e-12)
    assert eq.psnr(0.0, 10.0) == math.inf
    with pytest.raises(UserError, match="no valid pixels"):
        eq.psnr(0.0, 0.0)


@pytest.mark.parametrize("dx,dy", [(3, -2), (-4, 1), (0, 0)])
def test_integer_translation_is_np_roll_on_the_valid_region(dx, dy):
    x = np.random.default_rng(1).standard_normal((2, 8, 10, 3)).astype(np.float32)
    out, mask = eq.apply_integer_translation(x, dx / 10, dy / 8)
    rolled = np.roll(x, (dy, dx), axis=(1, 2))
    assert mask.shape == x.shape and mask.sum() == 2 * 3 * (8 - abs(dy)) * (10 - abs(dx))
    np.testing.assert_array_equal(out * mask, rolled * mask)
    np.testing.assert_array_equal(out * (1 - mask), 0)
    # The valid region is the one the shifted image covers.
    assert mask[0, max(dy, 0), max(dx, 0), 0] == 1 and mask[0, -1 if dy < 0 else 0, -1 if dx < 0 else 0, 0] == (
        1 if dx == 0 and dy == 0 else 0)


def test_fractional_translation_interpolates_a_band_limited_image():
    x = _wave(24, 20)
    for t in [(0.1, -0.05), (0.013, 0.07)]:
        out, mask = eq.apply_fractional_translation(x, *t)
        exact = _wave(24, 20, np.array([[1, 0, -t[0]], [0, 1, -t[1]], [0, 0, 1]]))
        assert _masked_psnr(out, exact, mask) > 45
        whole = [math.floor(t[0] * 20), math.floor(t[1] * 24)]
        assert mask.sum() == 3 * (24 - 5) * (20 - 5)
        assert mask[0, whole[1] + 3, whole[0] + 3, 0] == 1 and mask[0, whole[1] + 2, whole[0] + 3, 0] == 0
    # Whole pixels: the Lanczos weights are a unit impulse, so it is the integer shift.
    out, mask = eq.apply_fractional_translation(x, 3 / 20, -2 / 24)
    ref, _ = eq.apply_integer_translation(x, 3 / 20, -2 / 24)
    np.testing.assert_allclose(out * mask, ref * mask, atol=1e-6)


@pytest.mark.parametrize("up,padding", [(4, 23), (1, 0), (2, 3)])
def test_polyphase_upsampling_is_zero_insertion_and_convolution(up, padding):
    """Official upfirdn2d.upsample2d: zero insertion (sample i at up * i), zero padding
    (p + (k + up - 1) // 2, p + (k - up) // 2), true convolution with f * up^2 (valid)."""
    from scipy.signal import convolve2d

    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 7, 5, 3)).astype(np.float32)
    f = rng.standard_normal((9, 9)) if up != 4 else eq.bandlimit_filter(eq.rotation_matrix(0.2))
    k = f.shape[0]
    lo, hi = padding + (k + up - 1) // 2, padding + (k - up) // 2
    ref = np.zeros((2, 7 * up + lo + hi - k + 1, 5 * up + lo + hi - k + 1, 3))
    for i in range(2):
        for c in range(3):
            u = np.zeros((7 * up, 5 * up))
            u[::up, ::up] = x[i, :, :, c]
            ref[i, :, :, c] = convolve2d(np.pad(u, [(lo, hi), (lo, hi)]), f * up**2, mode="valid")
    np.testing.assert_allclose(np.asarray(eq._upfirdn_up(x, f, up, padding)), ref, atol=1e-4 * np.abs(ref).max())


def test_bandlimit_filter_phases_each_sum_to_one_sixteenth():
    f = eq.bandlimit_filter(eq.rotation_matrix(0.4))
    assert f.shape == (47, 47)
    phases = np.pad(f, [(0, 1), (0, 1)]).reshape(12, 4, 12, 4).sum(axis=(0, 2))
    np.testing.assert_allclose(phases, 1 / 16, rtol=1e-9)
    assert eq.bandlimit_filter(np.eye(3), up=1).shape == (11, 11)


@pytest.mark.parametrize("angle", [math.pi / 2, 0.3, -2.0])
def test_fractional_rotation_rotates_a_band_limited_image(angle):
    x = _wave(SIDE * 2, SIDE * 2)
    out, mask = eq.apply_fractional_rotation(x, angle)
    exact = _wave(SIDE * 2, SIDE * 2, eq.rotation_matrix(-angle))    # g(R^-1 p): g rotated by angle.
    assert mask.sum() > 0.2 * mask.size
    assert _masked_psnr(out, exact, mask) > 50
    if angle == math.pi / 2:
        assert _masked_psnr(out, np.rot90(x, 1, axes=(1, 2)), mask) > 50
    # The pseudo-rotation only low-passes: a band-limited image stays as it is.
    pseudo, pseudo_mask = eq.apply_fractional_pseudo_rotation(x, angle)
    assert pseudo_mask[0, 5:-5, 5:-5].all() and pseudo_mask.sum() == 3 * (SIDE * 2 - 10) ** 2
    assert _masked_psnr(pseudo, x, pseudo_mask) > 50


def test_a_generator_following_its_transform_is_equivariant_and_one_ignoring_it_is_not():
    follow = {name: metrics.compute(name, WaveGenerator(), num=16, progress=False)["value"] for name in NAMES}
    ignore = {name: metrics.compute(name, WaveGenerator(follow=False), num=16, progress=False)["value"]
              for name in NAMES}
    assert follow["eqt50k_int"] > 80                                      # Exact up to float32 rounding (or inf).
    assert follow["eqt50k_frac"] > 40 and follow["eqr50k"] > 40
    for name in NAMES:
        assert ignore[name] < 30 and follow[name] > ignore[name] + 15, (name, follow, ignore)


def test_the_input_transform_is_restored_even_when_synthesis_fails():
    G = WaveGenerator(fail_at_call=2)
    saved = G.input_transform.copy()
    with pytest.raises(RuntimeError, match="synthesis failed"):
        eq.compute_equivariance(G, "rot", 8)
    np.testing.assert_array_equal(G.input_transform, saved)
    G = WaveGenerator()
    eq.compute_equivariance(G, "frac", 4)
    np.testing.assert_array_equal(G.input_transform, saved)


def _tiny_stylegan3():
    G = families.build_generator(presets.get("stylegan3-tiny").network, name="G")
    G.set_input_transform(translate=(0.05, -0.02), angle=7)             # Not the identity: must come back.
    return G


def test_tiny_stylegan3_through_the_cli(tmp_path):
    _tiny_stylegan3().save(tmp_path / "G.keras")
    assert main(["--network", str(tmp_path / "G.keras"), "--metrics", ",".join(NAMES), "--num", "4",
                 "--outdir", str(tmp_path / "eval")]) == 0
    lines = [json.loads(line) for line in (tmp_path / "eval" / "metrics.jsonl").read_text().splitlines()]
    assert [line["metric"] for line in lines] == list(NAMES)
    for line in lines:
        assert np.isfinite(line["value"]) and 10 < line["value"] < 200 and line["num"] == 4, line


def test_tiny_stylegan3_keeps_its_input_transform():
    G = _tiny_stylegan3()
    before = np.array(G.input_transform.numpy())
    value = metrics.compute("eqt50k_int", G, num=8, progress=False)["value"]
    np.testing.assert_array_equal(G.input_transform.numpy(), before)
    # Its renders do follow the transform: far closer than the unmoved image is to the shifted one.
    ws = np.asarray(G.mapping(np.random.default_rng(0).standard_normal((4, 16)).astype(np.float32)))
    G.set_input_transform()
    orig = np.asarray(G.synthesis(ws))
    ref, mask = eq.apply_integer_translation(orig, 2 / SIDE, -1 / SIDE)
    assert value > _masked_psnr(orig, ref, mask) + 10


@pytest.mark.parametrize("preset", ["tiny", "stylegan2-tiny"])
def test_other_families_and_exports_are_refused(preset):
    G = families.build_generator(presets.get(preset).network, name="G")
    family = "stylegan1" if preset == "tiny" else "stylegan2"
    with pytest.raises(UserError, match=f"eqr50k measures a StyleGAN3 network.*{family}"):
        metrics.compute("eqr50k", G, num=4, progress=False)
    exported = SimpleNamespace(config=presets.get("stylegan3-tiny").network)   # No set_input_transform.
    with pytest.raises(UserError, match="eqt50k_int needs the StyleGAN3 Keras generator.*SavedModel"):
        metrics.compute("eqt50k_int", exported, num=4, progress=False)
