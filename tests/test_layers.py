"""Layer-level behaviour pinned to the official implementation."""

import json
import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from stylegan_tf.networks import layers as L
from stylegan_tf.networks.stylegan1 import adain as A


def test_equalized_dense_effective_weight_std_and_lrmul_gradient():
    layer = L.EqualizedDense(256, gain=math.sqrt(2), lr_multiplier=0.01)
    layer.build((None, 1024))
    stored = layer.kernel.numpy()
    # Stored weights ~ N(0, 1/lrmul); effective ~ N(0, gain / sqrt(fan_in)).
    assert np.std(stored) == pytest.approx(100.0, rel=0.02)
    effective = stored * layer.weight_scale
    assert np.std(effective) == pytest.approx(math.sqrt(2) / math.sqrt(1024), rel=0.02)

    x = tf.random.normal((8, 1024))
    with tf.GradientTape() as tape:
        y = layer(x)
        loss = tf.reduce_sum(y * tf.random.stateless_normal(y.shape, [1, 2]))
    grad_stored = tape.gradient(loss, layer.kernel.value)
    # The same loss as a function of the effective weight: grad_stored = he_std * lrmul * grad_effective.
    w_eff = tf.Variable(effective)
    with tf.GradientTape() as tape:
        y2 = tf.nn.leaky_relu(x @ w_eff, 0.2) if layer.activation == "lrelu" else x @ w_eff
        loss2 = tf.reduce_sum(y2 * tf.random.stateless_normal(y2.shape, [1, 2]))
    grad_effective = tape.gradient(loss2, w_eff)
    np.testing.assert_allclose(grad_stored, grad_effective.numpy() * math.sqrt(2) / 32 * 0.01, rtol=1e-4, atol=1e-9)


def test_equalized_dense_bias_is_scaled_by_lrmul():
    layer = L.EqualizedDense(4, gain=1.0, lr_multiplier=0.01)
    layer.build((None, 3))
    layer.kernel.assign(np.zeros((3, 4), np.float32))
    layer.bias.assign(np.array([1, 2, 3, 4], np.float32))
    np.testing.assert_allclose(layer(np.ones((2, 3), np.float32)), [[0.01, 0.02, 0.03, 0.04]] * 2, rtol=1e-6)


def test_equalized_conv_effective_std_uses_full_fan_in():
    layer = L.EqualizedConv2D(64, 3, gain=1.0)
    layer.build((None, 8, 8, 128))
    effective = layer.kernel.numpy() * layer.weight_scale
    assert np.std(effective) == pytest.approx(1.0 / math.sqrt(3 * 3 * 128), rel=0.02)


def _conv_pair(resample, fused_weight_transform):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 8, 8, 5)).astype(np.float32)
    plain = L.EqualizedConv2D(7, 3, resample=resample, fused=False)
    fused = L.EqualizedConv2D(7, 3, resample=resample, fused=True)
    plain.build(x.shape)
    fused.build(x.shape)
    fused.kernel.assign(plain.kernel.numpy())
    plain.kernel.assign(fused_weight_transform(plain.kernel.numpy()))
    return np.asarray(plain(x)), np.asarray(fused(x))


def test_fused_upsampling_equals_plain_with_flipped_kernel_including_borders():
    plain, fused = _conv_pair("up", lambda w: w[::-1, ::-1])
    assert plain.shape == fused.shape == (2, 16, 16, 7)
    np.testing.assert_allclose(fused, plain, rtol=1e-4, atol=1e-4)


def test_fused_downsampling_equals_plain():
    plain, fused = _conv_pair("down", lambda w: w)
    assert plain.shape == fused.shape == (2, 4, 4, 7)
    np.testing.assert_allclose(fused, plain, rtol=1e-4, atol=1e-4)


def test_blur_is_normalised_121_filter():
    x = np.zeros((1, 5, 5, 2), np.float32)
    x[0, 2, 2, 0] = 16.0
    y = np.asarray(L.blur(x))
    np.testing.assert_allclose(y[0, 1:4, 1:4, 0], np.outer([1, 2, 1], [1, 2, 1]), atol=1e-6)
    assert np.all(y[..., 1] == 0)
    # Constant input keeps its value in the interior (the filter sums to 1).
    np.testing.assert_allclose(np.asarray(L.blur(np.ones((1, 6, 6, 1), np.float32)))[0, 1:-1, 1:-1], 1.0, rtol=1e-6)


def test_upsample_and_downsample():
    x = np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1)
    up = np.asarray(L.upsample_nearest(x))
    assert up.shape == (1, 8, 8, 1) and np.all(up[0, 0:2, 0:2, 0] == 0) and np.all(up[0, 6:8, 6:8, 0] == 15)
    np.testing.assert_allclose(np.asarray(L.downsample_box(up)), x)
    np.testing.assert_allclose(np.asarray(L.downsample_box(x))[0, :, :, 0], [[2.5, 4.5], [10.5, 12.5]])


def test_noise_strength_starts_at_zero_so_noise_has_no_effect():
    layer = A.NoiseInjection()
    x = np.random.default_rng(1).normal(size=(2, 8, 8, 4)).astype(np.float32)
    layer.build(x.shape)
    assert np.all(layer.strength.numpy() == 0)
    noise = np.random.default_rng(2).normal(size=(2, 8, 8, 1)).astype(np.float32)
    np.testing.assert_array_equal(np.asarray(layer(x, noise)), x)
    layer.strength.assign(np.array([0, 1, 2, 3], np.float32))
    out = np.asarray(layer(x, noise))
    np.testing.assert_allclose(out - x, noise * np.array([0, 1, 2, 3]), atol=1e-6)
    fixed = layer.fixed_noise.numpy()
    assert fixed.shape == (1, 8, 8, 1)
    np.testing.assert_allclose(np.asarray(layer(x)) - x, np.broadcast_to(fixed * [0, 1, 2, 3], x.shape), atol=1e-6)


def test_instance_norm_matches_numpy():
    x = np.random.default_rng(3).normal(2.0, 3.0, size=(2, 4, 4, 3)).astype(np.float32)
    ref = (x - x.mean(axis=(1, 2), keepdims=True))
    ref = ref / np.sqrt(np.mean(ref**2, axis=(1, 2), keepdims=True) + 1e-8)
    np.testing.assert_allclose(np.asarray(A.instance_norm(x)), ref, rtol=1e-5, atol=1e-5)


def test_style_modulation_uses_one_plus_ys_so_zero_style_is_identity():
    mod = A.StyleModulation(3)
    mod.build((None, 4, 4, 3), (None, 6))
    mod.affine.kernel.assign(np.zeros((6, 6), np.float32))
    x = A.instance_norm(np.random.default_rng(4).normal(size=(2, 4, 4, 3)).astype(np.float32))
    w = np.ones((2, 6), np.float32)
    np.testing.assert_allclose(np.asarray(mod(x, w)), np.asarray(x), atol=1e-6)
    mod.affine.bias.assign(np.array([1, 0, 0, 0.5, 0, 0], np.float32))  # y_s = (1, 0, 0), y_b = (0.5, 0, 0)
    out = np.asarray(mod(x, w))
    np.testing.assert_allclose(out[..., 0], 2 * np.asarray(x)[..., 0] + 0.5, atol=1e-5)
    np.testing.assert_allclose(out[..., 1:], np.asarray(x)[..., 1:], atol=1e-6)


def test_pixel_norm():
    x = np.random.default_rng(5).normal(size=(3, 7)).astype(np.float32)
    ref = x / np.sqrt(np.mean(x**2, axis=1, keepdims=True) + 1e-8)
    np.testing.assert_allclose(np.asarray(L.pixel_norm(x)), ref, rtol=1e-5)


def _mbstd_reference(x, group_size, num_new):
    # Official rule in NHWC: sample n belongs to group n % M, M = N / G.
    n, h, w, c = x.shape
    g = min(group_size, n)
    m = n // g
    out = np.zeros((n, h, w, num_new))
    for group in range(m):
        members = x[group::m]                          # [G, H, W, C]
        for f in range(num_new):
            chans = members[..., f * (c // num_new):(f + 1) * (c // num_new)]
            std = np.sqrt(np.mean((chans - chans.mean(axis=0)) ** 2, axis=0) + 1e-8)
            out[group::m, :, :, f] = std.mean()
    return np.concatenate([x, out], axis=-1)


@pytest.mark.parametrize("n,group,num_new", [(8, 4, 1), (4, 4, 1), (3, 4, 1), (8, 2, 2)])
def test_minibatch_stddev_matches_numpy_reference(n, group, num_new):
    x = np.random.default_rng(6).normal(size=(n, 4, 4, 6)).astype(np.float32)
    np.testing.assert_allclose(np.asarray(L.minibatch_stddev(x, group, num_new)),
                               _mbstd_reference(x, group, num_new), rtol=1e-5, atol=1e-5)


def test_minibatch_stddev_rejects_batch_not_divisible_by_group():
    with pytest.raises(ValueError, match="divisible by the group size"):
        L.minibatch_stddev(np.zeros((6, 4, 4, 2), np.float32), 4, 1)


def test_lerp_clip():
    a, b = np.float32(1.0), np.float32(3.0)
    assert float(L.lerp_clip(a, b, -1.0)) == 1.0
    assert float(L.lerp_clip(a, b, 0.25)) == 1.5
    assert float(L.lerp_clip(a, b, 2.0)) == 3.0


@pytest.mark.parametrize("layer,shapes", [
    (L.EqualizedDense(5, gain=1.0, lr_multiplier=0.01, activation="lrelu"), [(None, 3)]),
    (L.EqualizedConv2D(4, 3, resample="up", fused=True, use_bias=False), [(None, 4, 4, 2)]),
    (A.NoiseInjection(), [(None, 4, 4, 2)]),
    (A.StyleModulation(2), [(None, 4, 4, 2), (None, 3)]),
    (A.LayerEpilogue(2, use_noise=False, use_pixel_norm=True), [(None, 4, 4, 2), (None, 3)]),
])
def test_layer_config_round_trip_and_weight_count(layer, shapes):
    config = layer.get_config()
    clone = layer.__class__.from_config(json.loads(json.dumps(config)))
    assert clone.get_config() == config
    serialized = keras.saving.serialize_keras_object(layer)
    assert keras.saving.deserialize_keras_object(serialized).get_config() == config
    layer.build(*shapes)
    clone.build(*shapes)
    assert [v.shape for v in clone.weights] == [v.shape for v in layer.weights]


@pytest.mark.parametrize("kwargs,match", [
    (dict(units=0), "units must be positive"),
    (dict(units=3, lr_multiplier=0.0), "lr_multiplier must be positive"),
    (dict(units=3, activation="relu"), "activation must be one of"),
])
def test_dense_argument_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        L.EqualizedDense(**kwargs)


@pytest.mark.parametrize("kwargs,match", [
    (dict(filters=2, kernel_size=2), "positive odd"),
    (dict(filters=2, kernel_size=3, resample="sideways"), "resample must be"),
    (dict(filters=2, kernel_size=3, fused=True), "fused=True needs"),
])
def test_conv_argument_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        L.EqualizedConv2D(**kwargs)
