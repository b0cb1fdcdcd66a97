"""StyleGAN3 networks: official parameter counts, shapes, EMAs, the input transform (EQ-T), saving, JAX."""

import importlib.util

import keras
import numpy as np
import pytest

from stylegan_tf import families
from stylegan_tf.networks.stylegan3.config import StyleGAN3Config
from stylegan_tf.networks.stylegan3.generator import Generator
from stylegan_tf.networks.stylegan3.synthesis import SynthesisLayer, SynthesisNetwork, make_transform


def tiny(cfg="t", resolution=16, **kwargs):
    return StyleGAN3Config(cfg=cfg, resolution=resolution, channel_base=resolution * 16, channel_max=16, w_dim=32,
                           latent_size=32, mapping_fmaps=32, **kwargs)


def _count(weights):
    return int(sum(np.prod(w.shape) for w in weights))


def _z(n=2, dim=32, seed=0):
    return np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)


@pytest.mark.parametrize("cfg,resolution,mapping,synthesis", [
    ("t", 1024, 525_312, 21_787_855), ("r", 1024, 525_312, 15_093_151 - 525_312),
    ("t", 512, 525_312, 24_873_519 - 525_312), ("t", 256, 525_312, 28_472_133 - 525_312)])
def test_official_parameter_counts(cfg, resolution, mapping, synthesis):
    G = Generator(StyleGAN3Config(cfg=cfg, resolution=resolution))
    assert _count(G.mapping_network.trainable_weights) == mapping
    assert _count(G.synthesis_network.trainable_weights) == synthesis
    assert G.num_ws == 16 and G.count_params() - _count(G.non_trainable_weights) == mapping + synthesis
    if cfg == "t" and resolution == 1024:
        assert [layer.name for layer in G.synthesis_network.layers_][-3:] == \
            ["L12_1044_32", "L13_1024_32", "L14_1024_3"]


@pytest.mark.parametrize("cfg", ["t", "r"])
def test_forward_shapes_and_layer_sizes(cfg):
    config = tiny(cfg)
    G = Generator(config)
    w = G.mapping(_z())
    assert tuple(w.shape) == (2, 16, 32)
    x = G.synthesis_network.input_layer(w[:, 0])
    specs = G.synthesis_network.specs
    assert tuple(x.shape) == (2, specs[0].in_size, specs[0].in_size, specs[0].in_channels)
    for i, (layer, spec) in enumerate(zip(G.synthesis_network.layers_, specs)):
        x = layer(x, w[:, i + 1])
        assert tuple(x.shape) == (2, spec.out_size, spec.out_size, spec.out_channels)
    images = np.asarray(G(_z()))
    assert images.shape == (2, 16, 16, 3) and np.all(np.isfinite(images)) and images.std() > 0
    np.testing.assert_allclose(images, np.asarray(x) * 0.25, atol=1e-6)


def test_input_affine_starts_as_identity_and_the_layer_affine_bias_at_one():
    G = Generator(tiny())
    affine = G.synthesis_network.input_layer.affine
    np.testing.assert_array_equal(np.asarray(affine.kernel), 0)
    np.testing.assert_array_equal(np.asarray(affine.bias), [1, 0, 0, 0])
    np.testing.assert_array_equal(np.asarray(G.synthesis_network.layers_[0].affine.bias), 1)
    np.testing.assert_array_equal(np.asarray(G.input_transform), np.eye(3))
    # Frequencies inside the disc of radius bandwidth (2), phases in [-0.5, 0.5).
    freqs = np.asarray(G.synthesis_network.input_layer.freqs)
    assert np.all(np.hypot(freqs[:, 0], freqs[:, 1]) <= 2 + 1e-6)
    assert np.all(np.abs(np.asarray(G.synthesis_network.input_layer.phases)) <= 0.5)


def test_magnitude_ema_is_the_input_gain_and_updates_only_with_update_emas():
    config = tiny()
    G = Generator(config)
    layer = G.synthesis_network.layers_[2]
    spec = layer.spec
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, spec.in_size, spec.in_size, spec.in_channels)).astype(np.float32) * 3
    w = rng.standard_normal((2, 32)).astype(np.float32)
    base = np.asarray(layer(x / 2, w))
    layer.magnitude_ema.assign(4.0)
    np.testing.assert_allclose(np.asarray(layer(x, w)), base, atol=1e-5)      # rsqrt(4) = 1/2 on the input
    layer(x, w, update_emas=True)
    beta = config.magnitude_ema_beta
    np.testing.assert_allclose(float(layer.magnitude_ema), np.mean(x**2) + (4.0 - np.mean(x**2)) * beta, rtol=1e-5)

    G = Generator(config)
    G(_z())                                               # inference: nothing moves
    G(_z(), training=True, update_emas=False)             # official G pass: nothing moves
    assert float(G.synthesis_network.layers_[5].magnitude_ema) == 1.0 and not np.any(np.asarray(G.w_avg))
    G(_z(), training=True)                                # update_emas defaults to training
    assert float(G.synthesis_network.layers_[5].magnitude_ema) != 1.0 and np.any(np.asarray(G.w_avg))


def test_modulated_conv_is_the_official_grouped_form():
    """One layer's conv against the official maths: W / rms(W), s / rms(s) (whole tensor), w' = W s,
    demodulate, times input gain, one conv per sample (padding k - 1); then the filtered lrelu."""
    from stylegan_tf.networks.stylegan3.filtered_lrelu import filtered_lrelu
    layer = Generator(tiny()).synthesis_network.layers_[3]
    spec = layer.spec
    rng = np.random.default_rng(2)
    layer.weight.assign(rng.standard_normal(layer.weight.shape).astype(np.float32))
    layer.bias.assign(rng.standard_normal(layer.bias.shape).astype(np.float32))
    layer.magnitude_ema.assign(2.5)
    x = rng.standard_normal((2, spec.in_size, spec.in_size, spec.in_channels)).astype(np.float32)
    w = rng.standard_normal((2, 32)).astype(np.float32)
    s = np.asarray(layer.affine(w), np.float64)
    W = np.asarray(layer.weight, np.float64)
    W = W / np.sqrt(np.mean(W**2, axis=(0, 1, 2), keepdims=True))
    s = s / np.sqrt(np.mean(s**2))
    expected = []
    for n in range(2):
        wn = W * s[n][None, None, :, None]
        wn = wn / np.sqrt(np.sum(wn**2, axis=(0, 1, 2), keepdims=True) + 1e-8) / np.sqrt(2.5)
        xp = np.pad(x[n], [[2, 2], [2, 2], [0, 0]])
        out = np.zeros((spec.in_size + 2, spec.in_size + 2, spec.out_channels))
        for i in range(3):
            for j in range(3):
                out += xp[i:i + spec.in_size + 2, j:j + spec.in_size + 2] @ wn[i, j]
        expected.append(out)
    expected = filtered_lrelu(np.stack(expected).astype(np.float32), spec.up_filter(), spec.down_filter(),
                              np.asarray(layer.bias), spec.up_factor, spec.down_factor, spec.padding, clamp=256)
    np.testing.assert_allclose(np.asarray(layer(x, w)), np.asarray(expected), atol=2e-4)


def _shifted(images, dx, dy):
    """Official `apply_integer_translation`: the image moved by (dx, dy) pixels and the valid mask."""
    out, mask = np.zeros_like(images), np.zeros_like(images)
    h, w = images.shape[1:3]
    out[:, max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = \
        images[:, max(-dy, 0):h + min(-dy, 0), max(-dx, 0):w + min(-dx, 0)]
    mask[:, max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = 1
    return out, mask


def _psnr(a, b, mask):
    mse = np.sum((a - b) ** 2 * mask) / np.sum(mask)
    return 20 * np.log10(2) - 10 * np.log10(mse)


def test_integer_input_translation_shifts_the_output_of_t():
    """EQ-T (paper sec. 2, official `metrics/equivariance.py`): with the input transform translating
    by an integer number of pixels, the output is the shifted output (PSNR far above the
    same comparison with the shift the wrong way)."""
    keras.utils.set_random_seed(1)
    G = Generator(tiny(resolution=32))
    w = G.mapping(_z())
    original = np.asarray(G.synthesis(w))
    for dx, dy in [(2, 1), (-3, 2)]:
        G.set_input_transform(matrix=[[1, 0, -dx / 32], [0, 1, -dy / 32], [0, 0, 1]])
        moved = np.asarray(G.synthesis(w))
        reference, mask = _shifted(original, dx, dy)
        wrong, _ = _shifted(original, -dx, -dy)
        psnr = _psnr(moved, reference, mask)
        assert psnr > 50, psnr
        assert psnr > _psnr(moved, wrong, mask) + 20
    G.set_input_transform()
    np.testing.assert_array_equal(np.asarray(G.synthesis(w)), original)
    # set_input_transform(translate=...) stores the inverse of make_transform.
    G.set_input_transform(translate=(0.25, -0.125), angle=30)
    np.testing.assert_allclose(np.asarray(G.input_transform) @ make_transform((0.25, -0.125), 30), np.eye(3),
                               atol=1e-6)


@pytest.mark.parametrize("cfg", ["t", "r"])
def test_keras_round_trip(tmp_path, cfg):
    config = tiny(cfg, label_size=3)
    G = Generator(config, name="G")
    G(_z(), np.eye(3, dtype=np.float32)[[0, 2]], training=True)          # move the EMAs off their init
    G.set_input_transform(translate=(0.1, 0.05), angle=5)
    labels = np.eye(3, dtype=np.float32)[[1, 2]]
    before = np.asarray(G(_z(seed=3), labels, truncation_psi=0.7))
    G.save(tmp_path / "G.keras")
    loaded = keras.models.load_model(tmp_path / "G.keras")
    assert type(loaded) is Generator and loaded.config == config
    np.testing.assert_array_equal(np.asarray(loaded(_z(seed=3), labels, truncation_psi=0.7)), before)
    layer = SynthesisLayer.from_config(G.synthesis_network.layers_[4].get_config())
    assert layer.spec == G.synthesis_network.layers_[4].spec
    assert SynthesisNetwork.from_config(G.synthesis_network.get_config()).config == config


def test_family_registry_builds_the_generator_from_a_dict():
    G = families.build_generator(tiny().to_dict(), name="G")
    assert type(G) is Generator and G.family == "stylegan3"
    with pytest.raises(ValueError, match="noise_mode"):
        G.synthesis(G.mapping(_z()), noise_mode="bad")


@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax is not installed")
def test_jax_backend_computes_the_same_images(tmp_path, jax_helper):
    config = tiny("r", label_size=2)
    G = Generator(config)
    G(_z(), np.eye(2, dtype=np.float32)[[0, 1]], training=True)
    G.set_input_transform(translate=(0.1, 0), angle=10)
    z, labels = _z(seed=5), np.eye(2, dtype=np.float32)[[1, 0]]
    np.savez(tmp_path / "weights.npz", *[np.asarray(w) for w in G.weights])
    np.save(tmp_path / "images.npy", np.asarray(G(z, labels, truncation_psi=0.8)))
    jax_helper.run(f"""
        import numpy as np
        from stylegan_tf.networks.stylegan3.config import StyleGAN3Config
        from stylegan_tf.networks.stylegan3.generator import Generator
        folder = {str(tmp_path)!r}
        G = Generator(StyleGAN3Config.coerce({config.to_dict()!r}))
        g = np.load(folder + "/weights.npz")
        G.set_weights([g[f"arr_{{i}}"] for i in range(len(g.files))])
        z = np.random.default_rng(5).standard_normal((2, 32)).astype(np.float32)
        images = G(z, np.eye(2, dtype=np.float32)[[1, 0]], truncation_psi=0.8)
        assert "jax" in type(images).__module__, type(images)
        np.save(folder + "/images_jax.npy", np.asarray(images))
        # The EMA updates (variable assignments) run under JAX too.
        before = float(G.synthesis_network.layers_[3].magnitude_ema)
        G(z, np.eye(2, dtype=np.float32)[[1, 0]], training=True)
        assert float(G.synthesis_network.layers_[3].magnitude_ema) != before
    """)
    np.testing.assert_allclose(np.load(tmp_path / "images_jax.npy"), np.load(tmp_path / "images.npy"), atol=1e-4)


def _official_kwargs(cfg):
    scale = 2 if cfg == "r" else 1
    return {"z_dim": 32, "c_dim": 3, "w_dim": 32, "img_resolution": 16, "img_channels": 3,
            "mapping_kwargs": {"num_layers": 2}, "channel_base": 256 * scale, "channel_max": 16 * scale,
            "conv_kernel": 1 if cfg == "r" else 3, "use_radial_filters": cfg == "r", "magnitude_ema_beta": 0.999,
            "conv_clamp": 256}


@pytest.mark.parametrize("cfg", ["t", "r"])
def test_official_state_dict_import_matches_the_numpy_reference(cfg):
    from stylegan_tf.networks.stylegan3.official_weights import config_from_init_kwargs, load_official_generator
    from tests import stylegan3_reference as ref
    kwargs = _official_kwargs(cfg)
    config = config_from_init_kwargs(kwargs)
    assert config == tiny(cfg, label_size=3)
    state = ref.random_state(kwargs, np.random.default_rng(7))
    G = Generator(config)
    load_official_generator(G, {"G_ema." + k: v for k, v in state.items()})
    z = _z(seed=8)
    labels = np.eye(3, dtype=np.float32)[[2, 0]]
    ours = np.asarray(G(z, labels, truncation_psi=0.6, truncation_cutoff=10))
    theirs = ref.generator(state, kwargs, z, labels, psi=0.6, cutoff=10)
    assert np.abs(theirs).max() > 0.05
    np.testing.assert_allclose(ours, theirs, atol=2e-4 * np.abs(theirs).max())


def test_official_import_lists_what_does_not_fit():
    from stylegan_tf.errors import UserError
    from stylegan_tf.networks.stylegan3.official_weights import config_from_init_kwargs, load_official_generator
    from tests import stylegan3_reference as ref
    kwargs = _official_kwargs("t")
    state = ref.random_state(kwargs, np.random.default_rng(0))
    G = Generator(config_from_init_kwargs(kwargs))
    broken = dict(state)
    del broken["synthesis.L3_36_16.bias"]
    broken["synthesis.L0_36_16.weight"] = broken["synthesis.L0_36_16.weight"][:, :, :1, :1]
    broken["synthesis.extra"] = np.zeros(1, np.float32)
    broken["synthesis.L2_36_16.down_filter"] = broken["synthesis.L2_36_16.down_filter"] * 2
    with pytest.raises(UserError, match=r"L0_36_16.weight: shape \(16, 16, 1, 1\).*missing synthesis.L3_36_16.bias.*"
                                        r"L2_36_16.down_filter: the file's filter differs.*unexpected synthesis.extra"):
        load_official_generator(G, broken)
    with pytest.raises(UserError, match="conv_kernel=1, use_radial_filters=False"):
        config_from_init_kwargs({**kwargs, "conv_kernel": 1})


def test_mixed_precision_follows_the_official_use_fp16():
    G = Generator(StyleGAN3Config(), dtype="mixed_bfloat16")
    dtypes = [layer.compute_dtype for layer in G.synthesis_network.layers_]
    assert dtypes == ["float32"] * 5 + ["bfloat16"] * 10            # fp16 from L5 at 1024 (s * 16 > 1024)
    assert G.synthesis_network.input_layer.compute_dtype == "float32"
    config = tiny()
    G32, G16 = Generator(config), Generator(config, dtype="mixed_bfloat16")
    G16.set_weights(G32.get_weights())
    full, mixed = np.asarray(G32(_z())), np.asarray(G16(_z()))
    assert mixed.dtype == np.float32
    assert np.abs(full - mixed).max() < 0.1 * np.abs(full).max()     # bfloat16 keeps ~3 significant digits
