"""Generator and discriminator behaviour: shapes, growing, noise, truncation, mixing, w_avg."""

import dataclasses

import keras
import numpy as np
import pytest

from stylegan_tf import presets
from stylegan_tf.config import NetworkConfig
from stylegan_tf.networks.stylegan1.discriminator import Discriminator
from stylegan_tf.networks.stylegan1.generator import Generator, active_layers
from stylegan_tf.networks.layers import downsample_box, upsample_nearest

TINY = presets.get("tiny").network


@pytest.fixture(scope="module")
def tiny_g():
    G = Generator(TINY, seed=1)
    # Non-zero noise strengths and w_avg, so noise and truncation are visible.
    for layer in G.synthesis_network.epilogues():
        layer.noise.strength.assign(np.full(layer.noise.strength.shape, 0.5, np.float32))
    G.w_avg.assign(np.linspace(-1, 1, TINY.w_dim).astype(np.float32))
    return G


def _z(n, seed=0, dim=TINY.latent_size):
    return np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)


def test_official_parameter_counts(ffhq_networks):
    G, D = ffhq_networks

    def count(weights):
        return sum(int(np.prod(w.shape)) for w in weights)

    assert count(G.mapping_network.trainable_weights) == 2_101_248
    assert count(G.synthesis_network.trainable_weights) == 24_118_379
    assert count(G.trainable_weights) == 26_219_627
    assert count(D.trainable_weights) == 23_087_249
    assert G.num_layers == 18


@pytest.mark.parametrize("policy", ["float32", "mixed_float16"])
def test_shapes_at_every_resolution(policy):
    keras.mixed_precision.set_global_policy(policy)
    try:
        G, D = Generator(TINY, seed=0), Discriminator(TINY)
        z = _z(4)
        for res in (4, 8, 16):
            images = G(z, resolution=res)
            assert tuple(images.shape) == (4, res, res, 3)
            assert np.all(np.isfinite(np.asarray(images, np.float32)))
            full = G(z, resolution=res, full_size=True)
            assert tuple(full.shape) == (4, 16, 16, 3)
            scores = D(images)
            assert tuple(scores.shape) == (4, 1)
            assert keras.backend.standardize_dtype(scores.dtype) == "float32"
            assert np.all(np.isfinite(np.asarray(scores)))
        if policy == "mixed_float16":
            assert keras.backend.standardize_dtype(images.dtype) == "float32"  # image fades in float32 (ADA)
            assert keras.backend.standardize_dtype(G.mapping(z).dtype) == "float32"
    finally:
        keras.mixed_precision.set_global_policy("float32")


def test_noise_has_no_effect_at_init():
    G = Generator(TINY, seed=0)
    w = G.mapping(_z(2))
    np.testing.assert_allclose(np.asarray(G.synthesis(w, noise_mode="random")),
                               np.asarray(G.synthesis(w, noise_mode="none")), atol=1e-6)


def test_fixed_noise_is_reproducible_and_random_noise_differs(tiny_g):
    w = tiny_g.mapping(_z(2))
    const_a = np.asarray(tiny_g.synthesis(w, noise_mode="const"))
    const_b = np.asarray(tiny_g.synthesis(w, noise_mode="const"))
    random_a = np.asarray(tiny_g.synthesis(w, noise_mode="random"))
    random_b = np.asarray(tiny_g.synthesis(w, noise_mode="random"))
    none = np.asarray(tiny_g.synthesis(w, noise_mode="none"))
    np.testing.assert_array_equal(const_a, const_b)
    assert np.abs(random_a - random_b).mean() > 1e-3
    assert np.abs(const_a - none).mean() > 1e-3
    # Explicit noise: flat or per layer; the fixed maps given explicitly reproduce "const".
    flat = np.asarray(tiny_g.synthesis_network.const_noise())
    assert flat.shape == (1, tiny_g.synthesis_network.noise_size())
    np.testing.assert_allclose(np.asarray(tiny_g.synthesis(w, noise=np.repeat(flat, 2, axis=0))), const_a,
                               atol=1e-5)
    zeros = np.zeros((2, tiny_g.synthesis_network.noise_size()), np.float32)
    np.testing.assert_allclose(np.asarray(tiny_g.synthesis(w, noise=zeros)), none, atol=1e-5)


def test_truncation(tiny_g):
    w = tiny_g.mapping(_z(3))
    w_avg = tiny_g.w_avg.numpy()
    cut = np.asarray(tiny_g.truncate(w, psi=0.0, cutoff=4))
    np.testing.assert_allclose(cut[:, :4], np.broadcast_to(w_avg, cut[:, :4].shape), atol=1e-6)
    np.testing.assert_array_equal(cut[:, 4:], np.asarray(w)[:, 4:])
    np.testing.assert_array_equal(np.asarray(tiny_g.truncate(w, psi=1.0)), np.asarray(w))
    half = np.asarray(tiny_g.truncate(w, psi=0.5, cutoff=8))
    np.testing.assert_allclose(half, w_avg + 0.5 * (np.asarray(w) - w_avg), atol=1e-6)
    # Defaults psi 0.7, cutoff 8 apply to a plain inference call.
    assert (TINY.truncation_psi, TINY.truncation_cutoff) == (0.7, 8)
    z = _z(2, seed=5)
    np.testing.assert_allclose(
        np.asarray(tiny_g(z, noise_mode="const")),
        np.asarray(tiny_g.synthesis(tiny_g.truncate(tiny_g.mapping(z), 0.7, 8), noise_mode="const")), atol=1e-5)


def test_style_mixing_copies_exactly_the_requested_layers(tiny_g):
    w_a, w_b = np.asarray(tiny_g.mapping(_z(2, 1))), np.asarray(tiny_g.mapping(_z(2, 2)))
    mixed = np.asarray(tiny_g.mix_styles(w_a, w_b, range(2, 4)))
    np.testing.assert_array_equal(mixed[:, 2:4], w_b[:, 2:4])
    np.testing.assert_array_equal(mixed[:, [0, 1, 4, 5]], w_a[:, [0, 1, 4, 5]])
    at = np.asarray(tiny_g.mix_at(w_a, w_b, np.array([1, 5])))
    np.testing.assert_array_equal(at[0, :1], w_a[0, :1])
    np.testing.assert_array_equal(at[0, 1:], w_b[0, 1:])
    np.testing.assert_array_equal(at[1, :5], w_a[1, :5])
    np.testing.assert_array_equal(at[1, 5:], w_b[1, 5:])
    with pytest.raises(ValueError, match="Layer indices"):
        tiny_g.mix_styles(w_a, w_b, [6])


def test_mixing_crossover_stays_within_active_layers():
    G = Generator(TINY, seed=3)
    draws = np.array([int(G.draw_mixing_crossover(resolution=8)) for _ in range(200)])
    assert active_layers(8) == 4
    assert set(draws) <= {1, 2, 3, 4}
    assert 0.8 < np.mean(draws < 4) < 0.97  # mixing with probability 0.9


def test_w_avg_tracks_only_in_training():
    G = Generator(TINY, seed=0)
    z = _z(8)
    G(z)
    assert np.all(G.w_avg.numpy() == 0)
    G(z, training=True)
    expected = 0.005 * np.asarray(G.mapping(z))[:, 0].mean(axis=0)  # lerp(mean, 0, 0.995)
    np.testing.assert_allclose(G.w_avg.numpy(), expected, rtol=1e-5, atol=1e-7)


def test_generator_fade():
    G = Generator(TINY, seed=0)
    w = G.mapping(_z(2))
    syn = G.synthesis_network

    def rgb(res, lod):
        G.lod.assign(lod)
        return np.asarray(G.synthesis(w, resolution=res, noise_mode="const"))

    plain8 = rgb(8, 1.0)                       # integer lod: the plain 8x8 path
    old = np.asarray(upsample_nearest(syn.to_rgb[0](syn.input_block(w))))
    np.testing.assert_allclose(rgb(8, 2.0), old, atol=1e-5)          # start of the 4 -> 8 fade: old path only
    np.testing.assert_allclose(rgb(8, 1.5), 0.5 * plain8 + 0.5 * old, atol=1e-5)
    np.testing.assert_allclose(rgb(8, 0.0), plain8, atol=1e-6)       # clipped
    G.lod.assign(0.0)


def test_discriminator_fade():
    D = Discriminator(TINY)
    images = np.random.default_rng(0).normal(size=(4, 8, 8, 3)).astype(np.float32)

    def score(lod):
        D.lod.assign(lod)
        return np.asarray(D(images))

    new = np.asarray(D.head(D.blocks[0](D.from_rgb[1](images))))
    old = np.asarray(D.head(D.from_rgb[0](downsample_box(images))))
    np.testing.assert_allclose(score(1.0), new, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(score(2.0), old, rtol=1e-5, atol=1e-5)
    half = D.head(0.5 * D.blocks[0](D.from_rgb[1](images)) + 0.5 * D.from_rgb[0](downsample_box(images)))
    np.testing.assert_allclose(score(1.5), np.asarray(half), rtol=1e-5, atol=1e-5)
    D.lod.assign(0.0)


def test_changing_resolution_keeps_weights():
    G = Generator(TINY, seed=0)
    before = [w.numpy().copy() for w in G.weights]
    for res in (4, 8, 16, 8):
        G(_z(2), resolution=res)
    after = [w.numpy() for w in G.weights]
    assert len(before) == len(after)
    for a, b, v in zip(before, after, G.weights):
        if "seed_generator" not in v.path:
            np.testing.assert_array_equal(a, b)


def test_conditional_networks_need_labels():
    cfg = dataclasses.replace(TINY, label_size=3)
    G, D = Generator(cfg), Discriminator(cfg)
    labels = np.eye(3, dtype=np.float32)[[0, 2]]
    images = G(_z(2), labels)
    assert tuple(D(images, labels).shape) == (2, 1)
    with pytest.raises(ValueError, match="conditional"):
        G(_z(2))
    with pytest.raises(ValueError, match="conditional"):
        D(images)


def test_bad_resolution_arguments():
    G, D = Generator(TINY), Discriminator(TINY)
    with pytest.raises(ValueError, match="power of two between 4 and 16"):
        G(_z(1), resolution=12)
    with pytest.raises(ValueError, match="power of two between 4 and 16"):
        G(_z(1), resolution=32)
    with pytest.raises(ValueError, match="Discriminator input"):
        D(np.zeros((1, 32, 32, 3), np.float32))
    with pytest.raises(ValueError, match="noise_mode"):
        G(_z(1), noise_mode="loud")


@pytest.mark.parametrize("letter", list("ABCDEF"))
def test_ablation_configs_build_and_run(letter):
    cfg = presets.get("tiny", ablation=letter).network
    G, D = Generator(cfg, seed=0), Discriminator(cfg)
    images = G(_z(2), truncation_psi=1.0)
    assert tuple(images.shape) == (2, 16, 16, 3)
    assert tuple(D(images).shape) == (2, 1)
    names = {w.path.split("/")[-1] for w in G.trainable_weights}
    assert ("const" in names) == cfg.const_input
    assert ("strength" in names) == cfg.use_noise
    assert (len(G.mapping_network.dense_layers) > 0) == (letter not in "AB")
    uses_blur = letter != "A"
    assert cfg.blur == uses_blur and cfg.use_styles == (letter not in "AB")
    assert cfg.style_mixing_prob == (0.9 if letter == "F" else 0.0)


def test_network_config_errors():
    with pytest.raises(ValueError, match="network.resolution"):
        NetworkConfig(resolution=48).validate()
    with pytest.raises(ValueError, match="network.fused_scale"):
        NetworkConfig(fused_scale="maybe").validate()
    with pytest.raises(ValueError, match="network.const_input"):
        NetworkConfig(use_styles=False, const_input=True).validate()
