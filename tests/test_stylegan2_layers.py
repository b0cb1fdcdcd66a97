"""StyleGAN2 building blocks: FIR resampling, the plain and the modulated convolution, noise, bias_act.

References are written here in NumPy from the official definitions (facts 1.3-1.5), not
from the code under test.
"""

import json
import math

import numpy as np
import tensorflow as tf
import pytest

from stylegan_tf.networks.stylegan2 import conv as conv_mod
from stylegan_tf.networks.stylegan2.conv import Conv2DLayer, bias_act, conv_down, conv_up
from stylegan_tf.networks.stylegan2.modconv import ModulatedConv2D, modulated_conv2d
from stylegan_tf.networks.stylegan2.upfirdn import downsample2d, filter_2d, setup_filter, upfirdn2d, upsample2d

F = (1, 3, 3, 1)


# NumPy references ----------------------------------------------------------------------
def np_upfirdn2d(x, f2, up=1, down=1, pad=(0, 0, 0, 0), gain=1.0):
    """Zero-insert, pad/crop (x0, x1, y0, y1), true 2-D convolution with f2 * gain, subsample."""
    n, h, w, c = x.shape
    u = np.zeros((n, h * up, w * up, c), np.float64)
    u[:, ::up, ::up] = x
    x0, x1, y0, y1 = pad
    u = np.pad(u, [(0, 0), (max(y0, 0), max(y1, 0)), (max(x0, 0), max(x1, 0)), (0, 0)])
    u = u[:, max(-y0, 0): u.shape[1] - max(-y1, 0), max(-x0, 0): u.shape[2] - max(-x1, 0)]
    k = f2[::-1, ::-1] * gain  # convolution = correlation with the flipped filter
    th, tw = k.shape
    out = np.zeros((n, u.shape[1] - th + 1, u.shape[2] - tw + 1, c))
    for i in range(th):
        for j in range(tw):
            out += k[i, j] * u[:, i: i + out.shape[1], j: j + out.shape[2]]
    return out[:, ::down, ::down]


def np_correlate(x, w, pad=0, stride=1):
    """Plain NHWC correlation with an HWIO kernel, zero padding `pad` each side."""
    x = np.pad(x, [(0, 0), (pad, pad), (pad, pad), (0, 0)])
    k = w.shape[0]
    oh, ow = (x.shape[1] - k) // stride + 1, (x.shape[2] - k) // stride + 1
    out = np.zeros((x.shape[0], oh, ow, w.shape[3]))
    for i in range(k):
        for j in range(k):
            patch = x[:, i: i + stride * oh: stride, j: j + stride * ow: stride]
            out += patch @ w[i, j]
    return out


def np_conv_up(x, w):
    """TF up-conv: correlation on the zero-inserted grid with full padding (2H + 1), then FIR x4 pad (1, 1)."""
    n, h, ww, c = x.shape
    u = np.zeros((n, 2 * h - 1, 2 * ww - 1, c))
    u[:, ::2, ::2] = x
    y = np_correlate(u, w, pad=w.shape[0] - 1)
    return np_upfirdn2d(y, filter_2d(F), pad=(1, 1, 1, 1), gain=4.0)


def rng_array(rng, *shape):
    return rng.standard_normal(shape).astype(np.float32)


# FIR resampling ------------------------------------------------------------------------
def test_filter_is_the_normalised_outer_product():
    np.testing.assert_allclose(filter_2d(F), np.outer([1, 3, 3, 1], [1, 3, 3, 1]) / 64.0, rtol=1e-6)
    np.testing.assert_allclose(setup_filter(F).sum(), 1.0, rtol=1e-6)
    with pytest.raises(ValueError, match="non-zero sum"):
        setup_filter([1, -1])


@pytest.mark.parametrize("up,down,pad", [(1, 1, (1, 2, 0, 1)), (2, 1, (2, 1, 2, 1)), (1, 2, (1, 1, 1, 1)),
                                         (2, 2, (1, -1, 2, 0))])
def test_upfirdn2d_matches_the_definition(up, down, pad):
    x = rng_array(np.random.default_rng(0), 2, 6, 5, 3)
    got = np.asarray(upfirdn2d(x, F, up=up, down=down, padding=pad, gain=1.5))
    np.testing.assert_allclose(got, np_upfirdn2d(x, filter_2d(F), up, down, pad, 1.5), rtol=1e-5, atol=1e-5)


def test_upsample_keeps_a_constant_and_down_undoes_it():
    x = np.full((1, 8, 8, 2), 0.7, np.float32)
    up = np.asarray(upsample2d(x, F))
    assert up.shape == (1, 16, 16, 2)
    # Gain up^2 = 4 with the sum-1 filter: a constant stays constant away from the zero borders.
    np.testing.assert_allclose(up[:, 2:-2, 2:-2], 0.7, rtol=1e-6)
    down = np.asarray(downsample2d(up, F))
    assert down.shape == (1, 8, 8, 2)
    np.testing.assert_allclose(down[:, 2:-2, 2:-2], 0.7, rtol=1e-6)
    np.testing.assert_allclose(np.asarray(downsample2d(x, F))[:, 1:-1, 1:-1], 0.7, rtol=1e-6)


def test_upsample_and_downsample_padding_as_official():
    x = rng_array(np.random.default_rng(1), 1, 5, 5, 1)
    np.testing.assert_allclose(np.asarray(upsample2d(x, F)),
                               np_upfirdn2d(x, filter_2d(F), up=2, pad=(2, 1, 2, 1), gain=4.0), rtol=1e-5, atol=1e-6)
    x = rng_array(np.random.default_rng(2), 1, 8, 8, 1)
    np.testing.assert_allclose(np.asarray(downsample2d(x, F)),
                               np_upfirdn2d(x, filter_2d(F), down=2, pad=(1, 1, 1, 1)), rtol=1e-5, atol=1e-6)


# Plain convolution ---------------------------------------------------------------------
def test_up_conv_is_transposed_conv_then_fir():
    rng = np.random.default_rng(3)
    x, w = rng_array(rng, 2, 4, 4, 3), rng_array(rng, 3, 3, 3, 5)
    got = np.asarray(conv_up(x, w, F))
    assert got.shape == (2, 8, 8, 5)
    np.testing.assert_allclose(got, np_conv_up(x, w), rtol=1e-4, atol=1e-4)


def test_down_conv_is_fir_then_strided_conv():
    rng = np.random.default_rng(4)
    x, w = rng_array(rng, 2, 8, 8, 3), rng_array(rng, 3, 3, 3, 4)
    expected = np_correlate(np_upfirdn2d(x, filter_2d(F), pad=(2, 2, 2, 2)), w, stride=2)
    np.testing.assert_allclose(np.asarray(conv_down(x, w, F)), expected, rtol=1e-4, atol=1e-4)
    w1 = rng_array(rng, 1, 1, 3, 4)
    expected = np_correlate(np_upfirdn2d(x, filter_2d(F), down=2, pad=(1, 1, 1, 1)), w1)
    np.testing.assert_allclose(np.asarray(conv_down(x, w1, F)), expected, rtol=1e-4, atol=1e-4)


def test_bias_act_order_gain_and_clamp():
    x = np.array([[-2.0, 0.5, 3.0]], np.float32)
    b = np.array([1.0, -1.0, 0.0], np.float32)
    y = np.asarray(bias_act(x, b, "lrelu", gain=0.5, clamp=1.0))
    pre = x + b
    expected = np.where(pre > 0, pre, 0.2 * pre) * math.sqrt(2) * 0.5
    np.testing.assert_allclose(y, np.clip(expected, -1.0, 1.0), rtol=1e-6)
    np.testing.assert_allclose(np.asarray(bias_act(x, None, "linear")), x)
    with pytest.raises(ValueError, match="activation"):
        bias_act(x, None, "relu")


def test_conv_layer_scales_weights_at_run_time_and_round_trips():
    layer = Conv2DLayer(4, 3, activation="lrelu", resample="down", conv_clamp=2.0, name="conv1")
    x = rng_array(np.random.default_rng(5), 2, 8, 8, 3)
    y = np.asarray(layer(x))
    assert y.shape == (2, 4, 4, 4)
    assert np.abs(y).max() <= 2.0
    w = np.asarray(layer.weight) / math.sqrt(27)
    pre = np.asarray(conv_down(x, w, F)) + np.asarray(layer.bias)
    np.testing.assert_allclose(y, np.clip(np.where(pre > 0, pre, 0.2 * pre) * math.sqrt(2), -2, 2),
                               rtol=1e-5, atol=1e-5)
    config = json.loads(json.dumps(layer.get_config()))
    clone = Conv2DLayer.from_config(config)
    assert clone.get_config() == layer.get_config()
    with pytest.raises(ValueError, match="kernel_size"):
        Conv2DLayer(4, 2)


# Modulated convolution -----------------------------------------------------------------
def np_modconv(x, w, s, demodulate):
    """Per-sample explicit kernels (eq. 1-3), then a 'same' correlation."""
    out = []
    for n in range(x.shape[0]):
        wn = w * s[n][None, None, :, None]
        if demodulate:
            wn = wn / np.sqrt(np.sum(wn ** 2, axis=(0, 1, 2), keepdims=True) + 1e-8)
        out.append(np_correlate(x[n: n + 1], wn, pad=w.shape[0] // 2)[0])
    return np.stack(out)


@pytest.mark.parametrize("demodulate", [True, False])
def test_modulated_conv_matches_explicit_per_sample_kernels(demodulate):
    rng = np.random.default_rng(6)
    x, w, s = rng_array(rng, 3, 6, 6, 4), rng_array(rng, 3, 3, 4, 5), rng_array(rng, 3, 4)
    for fused in (False, True):
        got = np.asarray(modulated_conv2d(x, w, s, demodulate=demodulate, fused=fused))
        np.testing.assert_allclose(got, np_modconv(x, w, s, demodulate), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("up", [False, True])
@pytest.mark.parametrize("batch", [1, 4])
def test_fused_and_non_fused_forms_agree(up, batch):
    rng = np.random.default_rng(7)
    x, w, s = rng_array(rng, batch, 8, 8, 6), rng_array(rng, 3, 3, 6, 5), rng_array(rng, batch, 6)
    a = np.asarray(modulated_conv2d(x, w, s, up=up, fused=True))
    b = np.asarray(modulated_conv2d(x, w, s, up=up, fused=False))
    assert a.shape == b.shape == ((batch, 16, 16, 5) if up else (batch, 8, 8, 5))
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    if up:
        # Per sample: modulate and demodulate the kernel, then the official up-conv.
        wn = w * s[-1][None, None, :, None]
        wn = wn / np.sqrt(np.sum(wn ** 2, axis=(0, 1, 2), keepdims=True) + 1e-8)
        np.testing.assert_allclose(a[-1:], np_conv_up(x[-1:], wn), rtol=1e-4, atol=1e-4)


def _layer(**kwargs):
    layer = ModulatedConv2D(kwargs.pop("filters", 8), kwargs.pop("kernel_size", 3), **kwargs)
    layer.build((None, 8, 8, 16), (None, 12))
    return layer


def test_weights_shapes_names_and_initial_values():
    layer = _layer(up=True)
    names = [w.path.split("/", 1)[-1] for w in layer.weights]
    assert sorted(names) == ["affine/bias", "affine/kernel", "bias", "noise_const", "noise_strength", "weight"]
    assert tuple(layer.weight.shape) == (3, 3, 16, 8)
    assert tuple(layer.affine.kernel.shape) == (12, 16)
    np.testing.assert_array_equal(np.asarray(layer.affine.bias), 1.0)
    assert tuple(layer.noise_strength.shape) == () and float(layer.noise_strength.numpy()) == 0.0
    assert tuple(layer.noise_const.shape) == (1, 16, 16, 1) and not layer.noise_const.trainable
    torgb = _layer(filters=3, kernel_size=1, demodulate=False, use_noise=False, activation="linear")
    assert sorted(w.path.split("/", 1)[-1] for w in torgb.weights) == ["affine/bias", "affine/kernel", "bias",
                                                                        "weight"]


def test_demodulated_output_has_unit_variance_whatever_the_style_scale():
    rng = np.random.default_rng(8)
    layer = _layer(filters=32, activation="linear", use_noise=False)
    x = rng_array(rng, 4, 8, 8, 16)
    w = rng_array(rng, 4, 12)
    variances = []
    for scale in (0.01, 1.0, 100.0):
        layer.affine.bias.assign(np.full((16,), scale, np.float32))
        layer.affine.kernel.assign(np.zeros((12, 16), np.float32))
        variances.append(float(np.var(np.asarray(layer(x, w))[:, 1:-1, 1:-1])))
    # sum of squares of the demodulated kernel = 1 per output: unit-variance inputs give unit-order outputs.
    assert all(0.5 < v < 2.0 for v in variances), variances
    np.testing.assert_allclose(variances, variances[1], rtol=1e-3)


def test_torgb_does_not_demodulate():
    rng = np.random.default_rng(9)
    torgb = _layer(filters=3, kernel_size=1, demodulate=False, use_noise=False, activation="linear")
    x, w = rng_array(rng, 2, 8, 8, 16), rng_array(rng, 2, 12)
    torgb.affine.kernel.assign(np.zeros((12, 16), np.float32))
    outputs = []
    for scale in (1.0, 3.0):
        torgb.affine.bias.assign(np.full((16,), scale, np.float32))
        outputs.append(np.asarray(torgb(x, w)))
    np.testing.assert_allclose(outputs[1], 3.0 * outputs[0], rtol=1e-5, atol=1e-6)
    expected = x @ (np.asarray(torgb.weight)[0, 0] / math.sqrt(16))
    np.testing.assert_allclose(outputs[0], expected, rtol=1e-4, atol=1e-5)


def test_layer_fused_and_non_fused_agree_and_auto_picks_by_training():
    rng = np.random.default_rng(10)
    layer = _layer(up=True)
    x, w = rng_array(rng, 3, 8, 8, 16), rng_array(rng, 3, 12)
    np.testing.assert_allclose(np.asarray(layer(x, w, fused=True)), np.asarray(layer(x, w, fused=False)),
                               rtol=1e-4, atol=1e-5)
    # "auto": fused for traced inference, not in training; eager TensorFlow takes the non-fused form.
    picks = tf.function(lambda: (layer.resolve_fused(3, training=False), layer.resolve_fused(3, training=True)))()
    assert picks == (True, False)
    assert not layer.resolve_fused(3, training=False)
    assert not layer.resolve_fused(None, training=False)
    assert _layer(fused_modconv="always").resolve_fused(3, training=True)
    assert not _layer(fused_modconv="never").resolve_fused(1, training=False)


def test_noise_strength_is_one_scalar_starting_at_zero():
    rng = np.random.default_rng(11)
    layer = _layer()
    x, w = rng_array(rng, 2, 8, 8, 16), rng_array(rng, 2, 12)
    no_noise = np.asarray(layer(x, w, use_noise=False))
    noise = rng_array(rng, 2, 8, 8, 1)
    np.testing.assert_array_equal(np.asarray(layer(x, w, noise)), no_noise)    # strength 0: no effect
    layer.noise_strength.assign(0.5)
    const_a, const_b = np.asarray(layer(x, w)), np.asarray(layer(x, w))
    np.testing.assert_array_equal(const_a, const_b)                            # fixed noise: reproducible
    assert not np.allclose(const_a, no_noise)
    # Noise enters before the bias and the activation: recompute with the bias/act by hand.
    layer.bias.assign(rng_array(rng, 8))
    pre = np.asarray(modulated_conv2d(x, np.asarray(layer.weight) / math.sqrt(144),
                                      np.asarray(layer.affine(w)), fused=False)) + 0.5 * noise
    pre = pre + np.asarray(layer.bias)
    expected = np.where(pre > 0, pre, 0.2 * pre) * math.sqrt(2)
    np.testing.assert_allclose(np.asarray(layer(x, w, noise, fused=False)), expected, rtol=1e-4, atol=1e-4)


def test_modulated_layer_config_round_trip():
    layer = _layer(up=True, conv_clamp=256.0, fused_modconv="never", name="conv0")
    config = json.loads(json.dumps(layer.get_config()))
    assert ModulatedConv2D.from_config(config).get_config() == layer.get_config()
    with pytest.raises(ValueError, match="fused_modconv"):
        ModulatedConv2D(4, fused_modconv="sometimes")


def test_module_exports_the_official_up_conv_semantics():
    # The transposed conv alone (before the FIR) is the correlation on the zero-inserted, fully padded grid.
    rng = np.random.default_rng(12)
    x, w = rng_array(rng, 1, 3, 3, 2), rng_array(rng, 3, 3, 2, 2)
    u = np.zeros((1, 5, 5, 2))
    u[:, ::2, ::2] = x
    np.testing.assert_allclose(np.asarray(conv_mod.conv_transpose_up(x, w)), np_correlate(u, w, pad=2),
                               rtol=1e-4, atol=1e-5)
