"""The StyleGAN2 G and D: official parameter counts, architectures, noise, mixed precision, saving."""

import dataclasses
import json
import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import keras
import numpy as np
import pytest

from stylegan_tf import families
from stylegan_tf.networks.stylegan2.config import StyleGAN2Config
from stylegan_tf.networks.stylegan2.discriminator import Discriminator, StyleGAN2Discriminator
from stylegan_tf.networks.stylegan2.generator import Generator, StyleGAN2Generator
from stylegan_tf.networks.stylegan2.upfirdn import upsample2d

ROOT = Path(__file__).resolve().parents[1]
TINY = StyleGAN2Config(resolution=16, channel_base=256, channel_max=32, latent_size=32, w_dim=32, mapping_layers=2,
                       mapping_fmaps=32)


def count(weights):
    return int(sum(np.prod(w.shape) for w in weights))


def z_of(n, cfg=TINY, seed=0):
    return np.random.default_rng(seed).standard_normal((n, cfg.latent_size)).astype(np.float32)


def set_noise_strengths(G, value=0.3):
    for layer in G.synthesis_network.conv_layers():
        layer.noise_strength.assign(value)


# Official parameter counts (facts 1.9) ----------------------------------------------------
def test_config_f_1024_parameter_counts():
    G, D = Generator(StyleGAN2Config()), Discriminator(StyleGAN2Config())
    assert count(G.mapping_network.trainable_weights) == 2_101_248
    assert count(G.synthesis_network.trainable_weights) == 28_268_812
    assert count(G.trainable_weights) == 30_370_060
    assert count(D.trainable_weights) == 29_012_513
    # Non-trainable: 17 noise maps (2,796,176 values) and w_avg.
    assert G.noise_size() == 2_796_176 and len(G.synthesis_network.noise_shapes()) == 17
    assert count(w for w in G.non_trainable_weights if "seed" not in w.path) == 2_796_176 + 512


def test_256_parameter_counts():
    cfg = StyleGAN2Config(resolution=256, channel_base=16384)
    assert count(Generator(cfg).trainable_weights) == 24_767_458
    assert count(Generator(dataclasses.replace(cfg, mapping_layers=2)).trainable_weights) == 23_191_522
    assert count(Discriminator(cfg).trainable_weights) == 24_001_089


def test_one_modulated_layer_has_the_official_count():
    cfg = StyleGAN2Config(resolution=8, channel_base=4096, channel_max=512)
    G = Generator(cfg)
    conv1 = G.synthesis_network.blocks[0].conv1  # 4x4 conv: 512 -> 512
    assert count(conv1.trainable_weights) == 2_622_465


# Interface --------------------------------------------------------------------------------
def test_families_builds_both_and_classes_are_distinct_from_v1():
    G = families.build_generator(TINY)
    D = families.build_discriminator(TINY)
    assert isinstance(G, StyleGAN2Generator) and G.family == D.family == "stylegan2"
    assert Generator is StyleGAN2Generator and Discriminator is StyleGAN2Discriminator
    assert keras.saving.get_registered_name(StyleGAN2Generator) == "stylegan_tf>StyleGAN2Generator"
    images = G(np.zeros((2, 32), np.float32))
    assert tuple(images.shape) == (2, 16, 16, 3) and keras.backend.standardize_dtype(images.dtype) == "float32"
    assert tuple(D(images).shape) == (2, 1)
    assert G.num_ws == 6 and tuple(G.w_avg.shape) == (32,) and not G.w_avg.trainable
    assert G.config.truncation_psi == 0.5 and G.config.truncation_cutoff is None


def test_names_follow_the_official_layout():
    G, D = Generator(TINY), Discriminator(TINY)
    g_paths = {w.path.split("/", 1)[1] for w in G.weights}
    assert {"synthesis/b4/const", "synthesis/b4/conv1/weight", "synthesis/b8/conv0/noise_strength",
            "synthesis/b16/torgb/affine/bias", "mapping/dense1/kernel", "w_avg"} <= g_paths
    d_paths = {w.path.split("/", 1)[1] for w in D.weights}
    assert {"b16/fromrgb/weight", "b16/conv0/weight", "b16/conv1/bias", "b16/skip/weight", "b8/skip/weight",
            "b4/conv/weight", "b4/fc/kernel", "b4/out/kernel"} <= d_paths
    assert "b8/fromrgb/weight" not in d_paths
    assert tuple(D.epilogue.conv.weight.shape) == (3, 3, 33, 32)   # mbstd channel appended last


def test_resolution_other_than_full_is_refused():
    G = Generator(TINY)
    w = G.mapping(z_of(2))
    with pytest.raises(ValueError, match="full resolution"):
        G.synthesis(w, resolution=8)
    with pytest.raises(ValueError, match="full resolution"):
        G.noise_shapes(8)
    assert tuple(G.synthesis(w, resolution=16, full_size=True).shape) == (2, 16, 16, 3)
    with pytest.raises(ValueError, match=r"\[N, 16, 16, 3\]"):
        Discriminator(TINY)(np.zeros((2, 8, 8, 3), np.float32))


def test_noise_inputs_shapes_flat_and_list_forms_agree():
    G = Generator(TINY, seed=1)
    set_noise_strengths(G)
    assert G.noise_shapes() == [(4, 4), (8, 8), (8, 8), (16, 16), (16, 16)]
    assert G.noise_size() == 16 + 2 * 64 + 2 * 256
    w = G.mapping(z_of(2))
    flat = np.random.default_rng(2).standard_normal((2, G.noise_size())).astype(np.float32)
    maps = G.synthesis_network.split_noise(flat)
    a = np.asarray(G.synthesis(w, noise=flat))
    np.testing.assert_array_equal(a, np.asarray(G.synthesis(w, noise=maps)))
    const = np.asarray(G.const_noise())
    np.testing.assert_array_equal(np.asarray(G.synthesis(w, noise=np.repeat(const, 2, 0))),
                                  np.asarray(G.synthesis(w, noise_mode="const")))
    with pytest.raises(ValueError, match="Expected 5 noise maps"):
        G.synthesis(w, noise=maps[:3])


def test_noise_has_no_effect_at_init_then_modes_behave():
    G = Generator(TINY, seed=3)
    w = G.mapping(z_of(2))
    none = np.asarray(G.synthesis(w, noise_mode="none"))
    np.testing.assert_array_equal(np.asarray(G.synthesis(w, noise_mode="random")), none)
    set_noise_strengths(G, 0.5)
    c1, c2 = np.asarray(G.synthesis(w, noise_mode="const")), np.asarray(G.synthesis(w, noise_mode="const"))
    np.testing.assert_array_equal(c1, c2)
    r1, r2 = np.asarray(G.synthesis(w, noise_mode="random")), np.asarray(G.synthesis(w, noise_mode="random"))
    assert not np.allclose(r1, r2) and not np.allclose(r1, none) and not np.allclose(c1, none)
    np.testing.assert_array_equal(np.asarray(G.synthesis(w, noise_mode="none")), none)
    with pytest.raises(ValueError, match="noise_mode"):
        G.synthesis(w, noise_mode="fixed")


def test_truncation_defaults_and_training_forward():
    G = Generator(TINY, seed=4)
    G.w_avg.assign(np.full((32,), 0.25, np.float32))
    z = z_of(2)
    w = np.asarray(G.mapping(z))
    np.testing.assert_allclose(np.asarray(G.truncate(w)), 0.25 + 0.5 * (w - 0.25), rtol=1e-6)  # psi .5, all layers
    default = np.asarray(G(z, noise_mode="const"))
    np.testing.assert_allclose(default, np.asarray(G.synthesis(G.truncate(G.mapping(z)), noise_mode="const")),
                               rtol=1e-5, atol=1e-6)
    out = G(z, training=True)
    assert np.all(np.isfinite(np.asarray(out)))
    assert not np.allclose(np.asarray(G.w_avg), 0.25)   # w_avg updated in training only


def test_fused_and_non_fused_generators_agree():
    G = Generator(TINY, seed=5)
    set_noise_strengths(G)
    w = G.mapping(z_of(3))
    fused = np.asarray(G.synthesis(w, noise_mode="const", training=False))
    plain = np.asarray(G.synthesis(w, noise_mode="const", training=True))
    np.testing.assert_allclose(fused, plain, rtol=1e-4, atol=1e-5)
    never = Generator(dataclasses.replace(TINY, fused_modconv="never"), seed=5)
    never.set_weights(G.get_weights())
    np.testing.assert_allclose(np.asarray(never.synthesis(w, noise_mode="const")), fused, rtol=1e-4, atol=1e-5)


# Architectures ----------------------------------------------------------------------------
def test_skip_generator_output_is_the_sum_of_upsampled_torgb_outputs():
    G = Generator(TINY, seed=6)
    set_noise_strengths(G)
    w = G.mapping(z_of(2))
    images = np.asarray(G.synthesis(w, noise_mode="const", training=True))
    # Manual recomputation from the sublayers, with the style indices of facts 1.6.
    b4, b8, b16 = G.synthesis_network.blocks
    x = np.broadcast_to(np.asarray(b4.const), (2, 4, 4, 32))
    x = b4.conv1(x, w[:, 0], fused=False)
    img = b4.torgb(x, w[:, 1], fused=False)
    for block in (b8, b16):
        r = int(math.log2(block.res))
        x = block.conv0(x, w[:, 2 * r - 5], fused=False)
        x = block.conv1(x, w[:, 2 * r - 4], fused=False)
        img = upsample2d(img, (1, 3, 3, 1)) + block.torgb(x, w[:, 2 * r - 3], fused=False)
    np.testing.assert_allclose(images, np.asarray(img), rtol=1e-5, atol=1e-6)


def test_resnet_generator_block_scales_the_sum_by_sqrt_half():
    G = Generator(dataclasses.replace(TINY, architecture_g="resnet"), seed=7)
    blocks = G.synthesis_network.blocks
    assert [b.torgb is not None for b in blocks] == [False, False, True]
    assert blocks[0].skip is None and blocks[1].skip is not None and not blocks[1].skip.use_bias
    w = G.mapping(z_of(2))
    x = np.random.default_rng(8).standard_normal((2, 4, 4, 32)).astype(np.float32)
    block = blocks[1]
    got, img = block(x, None, w, use_noise=False, training=True)
    assert img is None
    main = block.conv1(block.conv0(x, w[:, 1], use_noise=False), w[:, 2], use_noise=False)
    expected = (np.asarray(main) + np.asarray(block.skip(x))) / math.sqrt(2)
    np.testing.assert_allclose(np.asarray(got), expected, rtol=1e-5, atol=1e-5)
    assert tuple(G(z_of(2)).shape) == (2, 16, 16, 3)


def test_orig_generator_has_torgb_only_at_the_end():
    G = Generator(dataclasses.replace(TINY, architecture_g="orig"))
    assert [b.torgb is not None for b in G.synthesis_network.blocks] == [False, False, True]
    assert tuple(G(z_of(1)).shape) == (1, 16, 16, 3)


def test_resnet_discriminator_block_scales_the_skip_sum_by_sqrt_half():
    D = Discriminator(TINY)
    block = D.blocks[0]
    x = np.random.default_rng(9).standard_normal((2, 16, 16, 3)).astype(np.float32)
    got, img = block(None, x)
    assert img is None and tuple(got.shape) == (2, 8, 8, 32)
    h = block.fromrgb(x)
    expected = (np.asarray(block.conv1(block.conv0(h))) + np.asarray(block.skip(h))) / math.sqrt(2)
    np.testing.assert_allclose(np.asarray(got), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("arch", ["orig", "skip"])
def test_other_discriminator_architectures(arch):
    D = Discriminator(dataclasses.replace(TINY, architecture_d=arch))
    has_fromrgb = [b.fromrgb is not None for b in D.blocks] + [D.epilogue.fromrgb is not None]
    assert has_fromrgb == ([True, False, False] if arch == "orig" else [True, True, True])
    assert all(b.skip is None for b in D.blocks)
    scores = np.asarray(D(np.random.default_rng(0).standard_normal((4, 16, 16, 3)).astype(np.float32)))
    assert scores.shape == (4, 1) and np.all(np.isfinite(scores))


def test_4x4_networks_work():
    cfg = StyleGAN2Config(resolution=4, channel_base=64, channel_max=16, latent_size=8, w_dim=8, mapping_layers=1)
    G, D = Generator(cfg), Discriminator(cfg)
    images = G(z_of(2, cfg))
    assert tuple(images.shape) == (2, 4, 4, 3) and tuple(D(images).shape) == (2, 1)


def test_conditional_networks_embed_and_project_labels():
    cfg = dataclasses.replace(TINY, label_size=3)
    G, D = Generator(cfg, seed=0), Discriminator(cfg)
    mapping = G.mapping_network
    assert tuple(mapping.embed.kernel.shape) == (3, 32) and mapping.embed.use_bias
    assert tuple(mapping.dense_layers[0].kernel.shape) == (64, 32)   # normalised z ++ normalised embedding
    labels = np.eye(3, dtype=np.float32)[[0, 2]]
    z = z_of(2)
    a, b = np.asarray(G.mapping(z, labels)), np.asarray(G.mapping(z, labels[::-1]))
    assert not np.allclose(a, b)
    images = G(z, labels)
    with pytest.raises(ValueError, match="conditional"):
        D(images)
    scores = np.asarray(D(images, labels))
    # ADA projection: sum(out(x) * cmap) / sqrt(cmap_dim), cmap from an 8-layer label mapping.
    assert len(D.mapping.dense_layers) == 8 and tuple(D.epilogue.out.kernel.shape) == (32, 32)
    cmap = np.asarray(D.mapping(None, labels))
    x, _ = None, None
    img = np.asarray(images)
    for block in D.blocks:
        x, img = block(x, img)
    ep = D.epilogue
    from stylegan_tf.networks.layers import minibatch_stddev
    h = ep.conv(minibatch_stddev(x, 4, 1))
    out = np.asarray(ep.out(ep.fc(np.reshape(np.asarray(h), (2, -1)))))
    np.testing.assert_allclose(scores[:, 0], np.sum(out * cmap, axis=1) / math.sqrt(32), rtol=1e-4, atol=1e-5)


# Mixed precision --------------------------------------------------------------------------
@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_mixed_precision_forward_is_finite_with_ada_placement(policy):
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(policy)
    try:
        G, D = Generator(TINY, seed=0), Discriminator(TINY)
        low = policy.removeprefix("mixed_")
        # 16 px, num_fp16_res 4: fp16_resolution = max(2 ** (4 + 1 - 4), 8) = 8.
        assert [b.compute_dtype for b in G.synthesis_network.blocks] == ["float32", low, low]
        assert [b.compute_dtype for b in D.blocks] == [low, low] and D.epilogue.compute_dtype == "float32"
        expected_clamp = 256.0 if policy == "mixed_float16" else None
        assert G.synthesis_network.blocks[1].conv1.conv_clamp == expected_clamp
        set_noise_strengths(G)
        for training in (False, True):
            images = G(z_of(4), training=training)
            assert keras.backend.standardize_dtype(images.dtype) == "float32"
            assert np.all(np.isfinite(np.asarray(images)))
            scores = D(images)
            assert keras.backend.standardize_dtype(scores.dtype) == "float32"
            assert np.all(np.isfinite(np.asarray(scores)))
    finally:
        keras.mixed_precision.set_global_policy(previous)


# Serialisation ----------------------------------------------------------------------------
def test_get_config_round_trip():
    cfg = dataclasses.replace(TINY, label_size=2, architecture_g="resnet", conv_clamp=64.0)
    G, D = Generator(cfg, seed=11), Discriminator(cfg)
    g_config = json.loads(json.dumps(G.get_config()))
    G2 = StyleGAN2Generator.from_config(g_config)
    assert G2.config == G.config and G2.seed == 11 and G2.get_config() == G.get_config()
    D2 = StyleGAN2Discriminator.from_config(json.loads(json.dumps(D.get_config())))
    assert D2.config == D.config
    assert [w.path for w in G2.weights] == [w.path for w in G.weights]
    assert [w.path for w in D2.weights] == [w.path for w in D.weights]


LOAD_AND_RUN = textwrap.dedent("""
    import sys, numpy as np, keras
    from stylegan_tf import families
    families.register_keras_classes()
    folder = sys.argv[1]
    G = keras.models.load_model(folder + "/G.keras")
    D = keras.models.load_model(folder + "/D.keras")
    z = np.load(folder + "/z.npy"); labels = np.load(folder + "/labels.npy")
    images = np.asarray(G(z, labels, truncation_psi=0.7, noise_mode="const"))
    np.save(folder + "/images_loaded.npy", images)
    np.save(folder + "/scores_loaded.npy", np.asarray(D(images, labels)))
    print(type(G).__name__, type(D).__name__, G.config.label_size)
""")


@pytest.mark.slow
def test_keras_round_trip_in_fresh_process(tmp_path):
    cfg = dataclasses.replace(TINY, label_size=2)
    G, D = Generator(cfg, seed=7), Discriminator(cfg)
    set_noise_strengths(G, 0.4)
    G.w_avg.assign(np.linspace(-1, 1, cfg.w_dim).astype(np.float32))
    z = z_of(4)
    labels = np.eye(2, dtype=np.float32)[[0, 1, 1, 0]]
    images = np.asarray(G(z, labels, truncation_psi=0.7, noise_mode="const"))
    scores = np.asarray(D(images, labels))
    G.save(tmp_path / "G.keras")
    D.save(tmp_path / "D.keras")
    np.save(tmp_path / "z.npy", z)
    np.save(tmp_path / "labels.npy", labels)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    result = subprocess.run([sys.executable, "-c", LOAD_AND_RUN, str(tmp_path)], env=env, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split()[-3:] == ["StyleGAN2Generator", "StyleGAN2Discriminator", "2"]
    np.testing.assert_array_equal(np.load(tmp_path / "images_loaded.npy"), images)
    np.testing.assert_array_equal(np.load(tmp_path / "scores_loaded.npy"), scores)


def test_dry_run_tables_list_every_parameter():
    from stylegan_tf import summary

    cfg = dataclasses.replace(TINY, label_size=2)
    G, D = Generator(cfg), Discriminator(cfg)
    g_rows, d_rows = summary.rows(G), summary.rows(D)
    assert [r[0] for r in g_rows] == ["mapping/embed", "mapping/dense0", "mapping/dense1", "synthesis/b4",
                                      "synthesis/b8", "synthesis/b16", "w_avg"]
    assert sum(r[1] for r in g_rows) == count(G.trainable_weights)
    assert sum(r[2] for r in g_rows) == G.noise_size() + cfg.w_dim
    assert [r[0] for r in d_rows][:2] == ["b16", "b8"] and sum(r[1] for r in d_rows) == count(D.trainable_weights)
    assert "Generator trainable parameters" in summary.describe_networks(G, D)


def test_mapping_network_options_are_checked():
    from stylegan_tf.networks.mapping import MappingNetwork

    with pytest.raises(ValueError, match="label_mode"):
        MappingNetwork(TINY, label_mode="sum")
    with pytest.raises(ValueError, match="needs labels"):
        MappingNetwork(TINY, z_dim=0)
    m = MappingNetwork(dataclasses.replace(TINY, label_size=2), z_dim=0, w_dim=16, hidden_dim=8, num_layers=3,
                       num_ws=0)
    m.build()
    assert [layer.units for layer in m.dense_layers] == [8, 8, 16]
    assert tuple(m(None, np.eye(2, dtype=np.float32)).shape) == (2, 16)
    clone = MappingNetwork.from_config(json.loads(json.dumps(m.get_config())))
    assert clone.get_config() == m.get_config()
