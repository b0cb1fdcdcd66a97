"""ADA augmentation pipeline and adaptive p (stylegan_tf.augment) against numpy references."""

import numpy as np
import pytest
import tensorflow as tf

from stylegan_tf.augment.adaptive import AugmentState, ada_adjust
from stylegan_tf.augment.pipeline import AugmentPipe, cutout_mask, share_params
from stylegan_tf.augment.presets import PRESETS, resolve_multipliers
from stylegan_tf.augment.resample import SYM6, downsample2x, upsample2x
from stylegan_tf.errors import UserError

KEY = tf.constant([3, 7], tf.int64)
V = np.array([1, 1, 1, 0]) / np.sqrt(3)


def _images(n=4, size=16, channels=3, seed=0):
    return tf.constant(np.random.RandomState(seed).uniform(-1, 1, (n, size, size, channels)).astype(np.float32))


def _only(name, **kw):
    return AugmentPipe(pipe=None, multipliers={name: 1}, **kw)


def _reflect(i, n):
    i = np.abs(i)
    return np.where(i > n - 1, 2 * (n - 1) - i, i)


# numpy references of the official matrices -------------------------------------------------------
def _t2(tx, ty):
    return np.array([[1, 0, tx], [0, 1, ty], [0, 0, 1]], np.float64)


def _s2(sx, sy):
    return np.diag([sx, sy, 1.0])


def _r2(t):
    return np.array([[np.cos(t), -np.sin(t), 0], [np.sin(t), np.cos(t), 0], [0, 0, 1]])


def _geom_reference(d, n):
    """G_inv of image n from the drawn parameters, in the official order (right-multiplied inverses)."""
    g = np.eye(3)
    get = lambda k: np.asarray(d[f"draw/{k}"][n], np.float64) if f"draw/{k}" in d else None  # noqa: E731
    if get("xflip") is not None:
        g = g @ _s2(1 / (1 - 2 * get("xflip")), 1)
    if get("rotate90") is not None:
        g = g @ _r2(np.pi / 2 * get("rotate90"))
    if get("xint") is not None:
        g = g @ _t2(-get("xint")[0], -get("xint")[1])
    if get("scale") is not None:
        g = g @ _s2(1 / get("scale"), 1 / get("scale"))
    if get("pre_rotate") is not None:
        g = g @ _r2(get("pre_rotate"))
    if get("aniso") is not None:
        g = g @ _s2(1 / get("aniso"), get("aniso"))
    if get("post_rotate") is not None:
        g = g @ _r2(get("post_rotate"))
    if get("xfrac") is not None:
        g = g @ _t2(-get("xfrac")[0], -get("xfrac")[1])
    return g


def _color_reference(d, n):
    c = np.eye(4)
    vv = np.outer(V, V)
    get = lambda k: float(d[f"draw/{k}"][n]) if f"draw/{k}" in d else None  # noqa: E731
    if get("brightness") is not None:
        b = get("brightness")
        c = np.array([[1, 0, 0, b], [0, 1, 0, b], [0, 0, 1, b], [0, 0, 0, 1]]) @ c
    if get("contrast") is not None:
        c = np.diag([get("contrast")] * 3 + [1.0]) @ c
    if get("lumaflip") is not None:
        c = (np.eye(4) - 2 * vv * get("lumaflip")) @ c
    if get("hue") is not None:
        t = get("hue")
        k = np.array([[0, -V[2], V[1]], [V[2], 0, -V[0]], [-V[1], V[0], 0]])
        r = np.eye(4)
        r[:3, :3] = np.eye(3) + np.sin(t) * k + (1 - np.cos(t)) * (k @ k)  # Rodrigues, independent form.
        c = r @ c
    if get("saturation") is not None:
        c = (vv + (np.eye(4) - vv) * get("saturation")) @ c
    return c


def _draws(pipe, images, p=1.0, key=KEY):
    n, h, w, c = images.shape
    return {k: v.numpy() for k, v in pipe.sample(key, n, p, h, w, c).items()}


# p = 0 and presets ---------------------------------------------------------------------------------
@pytest.mark.parametrize("pipe", ["blit", "geom", "color", "bg", "bgc", "noise", "cutout"])
def test_p0_is_identity_bit_for_bit(pipe):
    x = _images()
    aug = AugmentPipe(pipe)
    for key in ([0, 0], [5, 9]):
        y = aug(x, tf.constant(0.0), tf.constant(key, tf.int64))
        assert y.dtype == x.dtype
        np.testing.assert_array_equal(y.numpy(), x.numpy())
    y = tf.function(lambda a: aug(a, tf.constant(0.0), KEY))(x)
    np.testing.assert_array_equal(y.numpy(), x.numpy())


def test_p1_changes_every_image():
    x = _images(n=6)
    y = AugmentPipe("bgc")(x, tf.constant(1.0), KEY).numpy()
    assert np.all(np.abs(y - x.numpy()).max(axis=(1, 2, 3)) > 0.05)


def test_presets_and_bad_names():
    assert set(PRESETS) == {"blit", "geom", "color", "filter", "noise", "cutout", "bg", "bgc", "bgcf", "bgcfn",
                            "bgcfnc"}
    bgc = resolve_multipliers("bgc")
    assert [k for k, v in bgc.items() if v] == ["xflip", "rotate90", "xint", "scale", "rotate", "aniso", "xfrac",
                                                "brightness", "contrast", "lumaflip", "hue", "saturation"]
    for name in ("filter", "bgcf", "bgcfn", "bgcfnc"):
        with pytest.raises(UserError, match="not implemented"):
            AugmentPipe(name)
    with pytest.raises(UserError, match="Unknown augmentation pipeline"):
        AugmentPipe("bgcx")
    with pytest.raises(UserError, match="Unknown augmentation transform"):
        AugmentPipe(None, multipliers={"flip": 1})
    with pytest.raises(UserError, match="must not be negative"):
        AugmentPipe(None, multipliers={"xflip": -1})
    with pytest.raises(UserError, match="RGB or grayscale"):
        AugmentPipe("color")(_images(channels=2), tf.constant(1.0), KEY)


def test_get_config_round_trip():
    aug = AugmentPipe("bg", multipliers={"xflip": 0.5}, name="aug")
    again = AugmentPipe.from_config(aug.get_config())
    assert again.get_config() == aug.get_config() and again.multipliers["xflip"] == 0.5
    state = AugmentState(mode="ada", p=0.2, target=0.7, interval=2, kimg=100)
    assert AugmentState.from_config(state.get_config()).get_config() == state.get_config()


# Geometric transforms -----------------------------------------------------------------------------
def test_sym6_is_orthonormal_and_up_down_is_identity():
    assert abs(SYM6.sum() - np.sqrt(2)) < 1e-12 and abs((SYM6**2).sum() - 1) < 1e-11
    for shift in range(1, 6):
        assert abs(np.dot(SYM6[2 * shift:], SYM6[:-2 * shift])) < 1e-11
    x = _images(n=2, size=24)
    up = upsample2x(tf.pad(x, [[0, 0], [6, 6], [6, 6], [0, 0]], mode="REFLECT"))
    assert up.shape[1:3] == (72, 72)
    np.testing.assert_allclose(downsample2x(up, crop=12).numpy(), x.numpy(), atol=2e-5)


@pytest.mark.parametrize("name", ["xflip", "rotate90"])
def test_xflip_and_rotate90_match_numpy(name):
    """Flips and quarter turns go through the band-limited warp, as official: on a smooth image they
    match numpy's within the filter tolerance. (Not bit-exact: the official half-pixel centre
    convention (-0.5) differs from sym6's delay (-0.40 of a 2x pixel), which moves mirrored content
    by ~0.1 px; the same holds for the official code.)"""
    image, _ = _smooth(32)
    x = tf.constant(np.repeat(image[None], 12, axis=0))
    aug = _only(name)
    d = _draws(aug, x)
    i = d[f"draw/{name}"]
    assert set(i) == ({0.0, 1.0} if name == "xflip" else {0.0, 1.0, 2.0, 3.0})
    y = aug.apply(x, {k: tf.constant(v) for k, v in d.items()}).numpy()
    for n in range(12):
        ref = image[:, ::-1] if (name == "xflip" and i[n]) else np.rot90(image, k=int(i[n])) if name == "rotate90" \
            else image
        np.testing.assert_allclose(y[n], ref, atol=0.05)
        if i[n] == 0:
            np.testing.assert_array_equal(y[n], image)
        else:
            assert np.abs(y[n] - image).max() > 0.3


def test_integer_translation_with_reflect_padding_matches_numpy():
    x = _images(n=8, size=16)
    aug = _only("xint")
    d = _draws(aug, x)
    t = d["draw/xint"]
    assert np.all(t == np.round(t)) and np.abs(t).max() <= 2 and np.abs(t).max() > 0
    y = aug(x, tf.constant(1.0), KEY).numpy()
    idx = np.arange(16)
    for n in range(8):
        tx, ty = int(t[n, 0]), int(t[n, 1])
        ref = x.numpy()[n][_reflect(idx - ty, 16)][:, _reflect(idx - tx, 16)]
        np.testing.assert_allclose(y[n], ref, atol=2e-5)


def _smooth(size):
    """A smooth test image f(x, y) on centred pixel coordinates, and f itself."""
    def f(xc, yc):
        u, v = xc / size, yc / size
        return np.stack([np.cos(2 * np.pi * 1.1 * u + 0.3) * np.cos(2 * np.pi * 0.7 * v),
                         np.sin(2 * np.pi * (0.8 * u + 0.5 * v)), 0.5 * np.cos(2 * np.pi * 1.3 * v - 0.2)], -1)

    c = (size - 1) / 2
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64) - c
    return f(xx, yy).astype(np.float32), f


@pytest.mark.parametrize("preset", [{"scale": 1}, {"rotate": 1}, {"aniso": 1}, {"xfrac": 1}, "bg"])
def test_warp_matches_reference_warp(preset):
    """The drawn matrices compose as the official ones; the band-limited warp samples the image at
    G_inv @ (output pixel) within the filters' tolerance (checked where that lies inside the image)."""
    size, n = 32, 6
    image, f = _smooth(size)
    x = tf.constant(np.repeat(image[None], n, axis=0))
    aug = AugmentPipe("bg") if preset == "bg" else AugmentPipe(None, multipliers=preset)
    d = _draws(aug, x)
    y = aug.apply(x, {k: tf.constant(v) for k, v in d.items()}).numpy()
    c = (size - 1) / 2
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64) - c
    checked = 0
    for i in range(n):
        g = _geom_reference(d, i)
        np.testing.assert_allclose(d["geom"][i], g, atol=1e-5)
        sx, sy = (g[0, 0] * xx + g[0, 1] * yy + g[0, 2]), (g[1, 0] * xx + g[1, 1] * yy + g[1, 2])
        inside = (np.abs(sx) < c - 3) & (np.abs(sy) < c - 3)
        ref = f(sx, sy)
        np.testing.assert_allclose(y[i][inside], ref[inside], atol=0.03)
        checked += inside.sum()
    assert checked > n * size * size * 0.2
    assert np.abs(y - x.numpy()).max() > 0.1


def test_margin_covers_the_corners():
    aug = AugmentPipe("bg")
    d = _draws(aug, _images(n=8, size=16))
    x0, y0, x1, y1 = d["margin"]
    assert 6 <= min(x0, y0, x1, y1) and max(x0, y0, x1, y1) <= 15


# Colour transforms --------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["brightness", "contrast", "lumaflip", "hue", "saturation", "color"])
def test_color_matrices_match_numpy(name):
    x = _images(n=8)
    aug = AugmentPipe("color") if name == "color" else _only(name)
    d = _draws(aug, x)
    y = aug.apply(x, {k: tf.constant(v) for k, v in d.items()}).numpy()
    for n in range(8):
        c = _color_reference(d, n)
        np.testing.assert_allclose(d["color"][n], c, atol=1e-6)
        ref = x.numpy()[n] @ c[:3, :3].T + c[:3, 3]
        np.testing.assert_allclose(y[n], ref, atol=1e-5)


def test_color_semantics():
    """Luma flip negates gray, hue rotation and saturation keep the luma (the mean of r, g, b)."""
    x = _images(n=8)
    gray = tf.tile(x[..., :1], [1, 1, 1, 3])
    aug = _only("lumaflip")
    d = _draws(aug, gray)
    y = aug.apply(gray, {k: tf.constant(v) for k, v in d.items()}).numpy()
    flipped = d["draw/lumaflip"] == 1
    assert flipped.any() and (~flipped).any()
    np.testing.assert_allclose(y[flipped], -gray.numpy()[flipped], atol=1e-6)
    for name in ("hue", "saturation"):
        y = _only(name)(x, tf.constant(1.0), KEY).numpy()
        np.testing.assert_allclose(y.mean(-1), x.numpy().mean(-1), atol=1e-5)


def test_grayscale_color_uses_the_mean_row():
    x = _images(n=4, channels=1)
    aug = AugmentPipe("color")
    d = _draws(aug, x)
    y = aug.apply(x, {k: tf.constant(v) for k, v in d.items()}).numpy()
    assert "draw/hue" not in d and "draw/saturation" not in d
    for n in range(4):
        row = _color_reference(d, n)[:3].mean(axis=0)
        np.testing.assert_allclose(y[n], x.numpy()[n] * row[:3].sum() + row[3], atol=1e-5)


# Noise and cutout --------------------------------------------------------------------------------
def test_cutout_and_noise():
    x = _images(n=6)
    aug = AugmentPipe("cutout")
    d = _draws(aug, x)
    y = aug(x, tf.constant(1.0), KEY).numpy()
    size, cx, cy = d["cutout"][0]
    assert size == 0.5
    coords = (np.arange(16) + 0.5) / 16
    inside = (np.abs(coords[:, None] - cy) < 0.25) & (np.abs(coords[None, :] - cx) < 0.25)
    np.testing.assert_array_equal(y[0][inside], 0.0)
    np.testing.assert_array_equal(y[0][~inside], x.numpy()[0][~inside])
    np.testing.assert_array_equal(cutout_mask(tf.constant(d["cutout"]), 16, 16).numpy()[0, ..., 0], ~inside)
    aug = AugmentPipe("noise")
    d = _draws(aug, x)
    y = aug(x, tf.constant(1.0), KEY).numpy()
    np.testing.assert_allclose(y, x.numpy() + d["noise"] * d["noise_sigma"][:, None, None, None], atol=1e-6)
    assert np.all(d["noise_sigma"] > 0)


# Gradients, determinism, replica shares -------------------------------------------------------------
def test_gradients_flow_through_the_pipeline():
    x = _images(n=4)
    weights = tf.constant(np.random.RandomState(1).randn(4, 16, 16, 3).astype(np.float32))
    aug = AugmentPipe("bgc")
    for p, identity in ((1.0, False), (0.0, True)):
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_sum(aug(x, tf.constant(p), KEY) * weights)
        grad = tape.gradient(loss, x).numpy()
        assert np.all(np.isfinite(grad)) and np.abs(grad).max() > 0
        if identity:
            np.testing.assert_array_equal(grad, weights.numpy())
        else:
            assert np.all(np.abs(grad).sum(axis=(1, 2, 3)) > 0)


def test_second_order_gradient_for_r1():
    """R1 through the augmentation: the gradient of a squared input gradient exists and is finite."""
    x = _images(n=2, size=8)
    w = tf.Variable(tf.random.stateless_normal([8, 8, 3], [1, 2]))
    aug = AugmentPipe("bgc")
    with tf.GradientTape() as outer:
        with tf.GradientTape() as inner:
            inner.watch(x)
            score = tf.reduce_sum(tf.tanh(aug(x, tf.constant(1.0), KEY) * w))
        penalty = tf.reduce_sum(tf.square(inner.gradient(score, x)))
    grad = outer.gradient(penalty, w).numpy()
    assert np.all(np.isfinite(grad)) and np.abs(grad).max() > 0


def test_deterministic_given_the_key():
    x = _images(n=4)
    aug = AugmentPipe("bgc")
    a = aug(x, tf.constant(0.5), KEY).numpy()
    b = aug(x, tf.constant(0.5), tf.constant([3, 7], tf.int64)).numpy()
    c = aug(x, tf.constant(0.5), tf.constant([3, 8], tf.int64)).numpy()
    np.testing.assert_array_equal(a, b)
    assert np.abs(a - c).max() > 0.01


def test_a_share_of_global_draws_is_the_share_of_the_global_result():
    x = _images(n=8)
    aug = AugmentPipe("bgc")
    params = aug.sample(KEY, 8, tf.constant(0.7), 16, 16, 3)
    full = aug.apply(x, params).numpy()
    for r in range(2):
        part = aug.apply(x[r::2], share_params(params, lambda v: v[r::2])).numpy()
        np.testing.assert_allclose(part, full[r::2], atol=1e-5)


def test_probability_of_firing():
    x = _images(n=256, size=8)
    d = _draws(AugmentPipe("bgc"), x, p=0.25)
    assert 0.15 < np.mean(d["draw/scale"] != 1) < 0.35
    assert 0.15 < np.mean(d["draw/brightness"] != 0) < 0.35
    either = (d["draw/pre_rotate"] != 0) | (d["draw/post_rotate"] != 0)
    assert 0.15 < np.mean(either) < 0.35


# Adaptive p ---------------------------------------------------------------------------------------
def _state(**kw):
    s = AugmentState(**{"mode": "ada", "interval": 4, "kimg": 1.0, **kw})
    s.build()
    return s


def test_p_rises_on_positive_signs_by_the_official_step():
    s = _state(target=0.6)
    step_size = 8 * 4 / (1.0 * 1000)
    for step in range(3):
        s.update(8.0, 8, step, batch=8)
        assert float(s.p) == 0.0
    s.update(8.0, 8, 3, batch=8)
    np.testing.assert_allclose(float(s.p), step_size, rtol=1e-6)
    assert float(s.rt) == 1.0 and np.all(s.signs.numpy() == 0)
    for step in range(4, 8):
        s.update(4.0, 8, step, batch=8)  # r_t = 0.5 < 0.6: falls back
    np.testing.assert_allclose(float(s.p), 0.0, atol=1e-7)
    np.testing.assert_allclose(float(s.rt), 0.5)
    for step in range(8, 16):
        s.update(-8.0, 8, step, batch=8)
    assert float(s.p) == 0.0  # never below 0
    assert ada_adjust(0.0, -1.0, 0.6, 8, 4, 1.0) == 0.0
    np.testing.assert_allclose(ada_adjust(0.5, 0.9, 0.6, 8, 4, 1.0), 0.5 + step_size)


def test_p_is_not_clamped_above_one_as_official():
    s = _state(p=0.99)
    for step in range(4):
        s.update(8.0, 8, step, batch=8)
    assert float(s.p) > 1.0


def test_fixed_and_noaug_keep_p():
    for mode, p in (("fixed", 0.3), ("noaug", 0.0)):
        s = _state(mode=mode, p=0.3)
        for step in range(8):
            s.update(8.0, 8, step, batch=8)
        np.testing.assert_allclose(float(s.current_p()), p)
        assert float(s.rt) == 1.0
    with pytest.raises(UserError, match="mode"):
        AugmentState(mode="adaptive")
