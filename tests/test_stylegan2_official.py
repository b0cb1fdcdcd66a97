"""StyleGAN2 official-weight import: our G and D compute the official functions (numpy reference)."""

import dataclasses

import numpy as np
import pytest

from stylegan_tf import official
from stylegan_tf.errors import UserError
from stylegan_tf.networks.stylegan2.config import StyleGAN2Config
from stylegan_tf.networks.stylegan2.discriminator import Discriminator
from stylegan_tf.networks.stylegan2.generator import Generator
from stylegan_tf.networks.stylegan2.official_weights import (load_official_discriminator, load_official_generator,
                                                             official_discriminator_shapes,
                                                             official_generator_shapes)
from tests import official_reference_sg2 as ref

TINY = StyleGAN2Config(resolution=16, channel_base=64, channel_max=8, latent_size=8, w_dim=8, mapping_fmaps=8,
                       mapping_layers=2, mbstd_group_size=2)


def _scale_tol(expected):
    return 2e-3 * max(1.0, float(np.abs(expected).max()))


@pytest.mark.parametrize("mapping_layers,resolution", [(2, 16), (8, 32)])
def test_generator_matches_reference_both_schemes(mapping_layers, resolution):
    cfg = dataclasses.replace(TINY, mapping_layers=mapping_layers, resolution=resolution)
    shapes = ref.official_g_shapes(cfg)
    G = Generator(cfg)
    assert official_generator_shapes(G) == {k: v for k, v in shapes.items() if k != "lod"}
    variables = ref.random_official_variables(shapes, seed=1)
    load_official_generator(G, variables)
    z = np.random.default_rng(0).normal(size=(3, cfg.latent_size)).astype(np.float32)
    expected = ref.generator(variables, cfg, z)
    ours = np.asarray(G(z, truncation_psi=1.0, noise_mode="const")).transpose(0, 3, 1, 2)
    np.testing.assert_allclose(ours, expected, rtol=2e-3, atol=_scale_tol(expected))

    G2 = Generator(cfg)
    load_official_generator(G2, ref.tf_to_ada_state_dict(variables, "G", cfg.resample_filter))
    for a, b in zip(G.weights, G2.weights):
        if "seed_generator_state" not in a.path:
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b), err_msg=a.path)


def test_generator_explicit_noise_and_truncation():
    G = Generator(TINY)
    variables = ref.random_official_variables(ref.official_g_shapes(TINY), seed=2)
    load_official_generator(G, variables)
    rng = np.random.default_rng(1)
    z = rng.normal(size=(2, TINY.latent_size)).astype(np.float32)
    maps = [rng.normal(size=(2, h, w, 1)).astype(np.float32) for h, w in G.noise_shapes()]
    expected = ref.generator(variables, TINY, z, psi=0.6, noise=[m.transpose(0, 3, 1, 2) for m in maps])
    ours = np.asarray(G(z, truncation_psi=0.6, noise=maps)).transpose(0, 3, 1, 2)
    np.testing.assert_allclose(ours, expected, rtol=2e-3, atol=_scale_tol(expected))


@pytest.mark.parametrize("resolution,batch", [(16, 4), (32, 4)])
def test_discriminator_matches_reference_both_schemes(resolution, batch):
    cfg = dataclasses.replace(TINY, resolution=resolution, mbstd_group_size=2)
    shapes = ref.official_d_shapes(cfg)
    D = Discriminator(cfg)
    assert official_discriminator_shapes(D) == shapes
    variables = ref.random_official_variables(shapes, seed=3)
    load_official_discriminator(D, variables)
    images = np.random.default_rng(2).normal(size=(batch, resolution, resolution, 3)).astype(np.float32)
    expected = ref.discriminator(variables, cfg, images.transpose(0, 3, 1, 2))
    ours = np.asarray(D(images))
    np.testing.assert_allclose(ours, expected, rtol=2e-3, atol=_scale_tol(expected))

    D2 = Discriminator(cfg)
    load_official_discriminator(D2, ref.tf_to_ada_state_dict(variables, "D", cfg.resample_filter))
    np.testing.assert_allclose(np.asarray(D2(images)), ours, rtol=1e-6, atol=1e-6)


def test_pickle_collected_names_and_dispatcher():
    G = Generator(TINY)
    variables = ref.random_official_variables(ref.official_g_shapes(TINY), seed=4)
    collected = {k.replace("G_mapping/", "mapping/").replace("G_synthesis/", "synthesis/"): v
                 for k, v in variables.items()}
    official.load_official_generator(G, collected)
    z = np.random.default_rng(3).normal(size=(2, TINY.latent_size)).astype(np.float32)
    expected = ref.generator(variables, TINY, z)
    ours = np.asarray(G(z, truncation_psi=1.0, noise_mode="const")).transpose(0, 3, 1, 2)
    np.testing.assert_allclose(ours, expected, rtol=2e-3, atol=_scale_tol(expected))
    D = Discriminator(TINY)
    official.load_official_discriminator(D, ref.random_official_variables(ref.official_d_shapes(TINY), 5))


def test_config_f_1024_name_sets():
    cfg = StyleGAN2Config()
    g_shapes, d_shapes = ref.official_g_shapes(cfg), ref.official_d_shapes(cfg)
    G, D = Generator(cfg), Discriminator(cfg)
    assert official_generator_shapes(G) == {k: v for k, v in g_shapes.items() if k != "lod"}
    assert official_discriminator_shapes(D) == d_shapes
    assert g_shapes["G_synthesis/noise16"] == (1, 1, 1024, 1024)
    trainable = sum(int(np.prod(s)) for n, s in g_shapes.items()
                    if not (n.startswith("G_synthesis/noise") or n in ("lod", "dlatent_avg")))
    assert trainable == 30_370_060
    ada_g = ref.tf_to_ada_state_dict({n: np.zeros(s, np.float32) for n, s in g_shapes.items()}, "G", buffers=False)
    assert official_generator_shapes(G, "ada") == {k: v.shape for k, v in ada_g.items()}
    load_official_discriminator(D, {n: np.zeros(s, np.float32) for n, s in d_shapes.items()})
    assert sum(int(np.prod(s)) for s in d_shapes.values()) == 29_012_513


def test_bad_dicts_rejected():
    G = Generator(TINY)
    variables = ref.random_official_variables(ref.official_g_shapes(TINY))
    missing = dict(variables)
    del missing["G_synthesis/8x8/Conv1/mod_bias"]
    with pytest.raises(UserError, match=r"missing 1: \['G_synthesis/8x8/Conv1/mod_bias'\]"):
        load_official_generator(G, missing)
    extra = dict(variables, **{"G_synthesis/32x32/Conv1/weight": np.zeros((3, 3, 4, 4), np.float32)})
    with pytest.raises(UserError, match=r"unexpected 1: \['G_synthesis/32x32/Conv1/weight'\]"):
        load_official_generator(G, extra)
    bad = dict(variables, **{"G_mapping/Dense0/weight": np.zeros((8, 4), np.float32)})
    with pytest.raises(UserError, match=r"misshaped 1: \['G_mapping/Dense0/weight: expected \(8, 8\)"):
        load_official_generator(G, bad)
    ada = ref.tf_to_ada_state_dict(variables, "G", TINY.resample_filter)
    del ada["synthesis.b8.conv0.affine.bias"]
    with pytest.raises(UserError, match=r"missing 1: \['synthesis.b8.conv0.affine.bias'\]"):
        load_official_generator(G, ada)
    ada = ref.tf_to_ada_state_dict(variables, "G", (1, 2, 1))
    with pytest.raises(UserError, match="resample_filter"):
        load_official_generator(G, ada)
    D = Discriminator(TINY)
    d_vars = ref.random_official_variables(ref.official_d_shapes(TINY))
    d_vars["4x4/Dense0/weight"] = np.zeros((3, 3), np.float32)
    with pytest.raises(UserError, match=r"misshaped 1: \['4x4/Dense0/weight"):
        load_official_discriminator(D, d_vars)


def test_conditional_generator_label_embed_matches_reference():
    """TF-ADA `G_mapping/LabelEmbed` (ADA `mapping.embed`): z and the embedding normalised separately."""
    cfg = dataclasses.replace(TINY, label_size=3)
    G = Generator(cfg)
    variables = ref.random_official_variables(ref.official_g_shapes(cfg), seed=6)
    load_official_generator(G, variables)
    rng = np.random.default_rng(5)
    z = rng.normal(size=(2, cfg.latent_size)).astype(np.float32)
    labels = np.eye(3, dtype=np.float32)[[0, 2]]
    expected = ref.generator(variables, cfg, z, labels=labels)
    ours = np.asarray(G(z, labels, truncation_psi=1.0, noise_mode="const")).transpose(0, 3, 1, 2)
    np.testing.assert_allclose(ours, expected, rtol=2e-3, atol=_scale_tol(expected))
    G2 = Generator(cfg)
    load_official_generator(G2, ref.tf_to_ada_state_dict(variables, "G"))
    np.testing.assert_array_equal(np.asarray(G2.mapping_network.weights[0]), np.asarray(G.mapping_network.weights[0]))


# Conditional networks: one label convention per official source (StyleGAN2Config.conditioning).
COND = dataclasses.replace(TINY, label_size=3)
LABELS = np.eye(3, dtype=np.float32)[[0, 2, 1, 2]]


@pytest.mark.parametrize("conditioning", ["ada", "ada-tf", "stylegan2-tf"])
def test_conditional_discriminator_matches_reference_both_schemes(conditioning):
    """ADA/SG3 (8-layer label mapping, lr 0.01), TF-ADA D_main (LabelEmbed only) and TF stylegan2
    (per-label Output) heads against the numpy reference; ADA names give the same network."""
    cfg = dataclasses.replace(COND, conditioning=conditioning)
    shapes = ref.official_d_shapes(cfg)
    D = Discriminator(cfg)
    assert official_discriminator_shapes(D) == shapes
    variables = ref.random_official_variables(shapes, seed=7)
    load_official_discriminator(D, variables)
    images = np.random.default_rng(4).normal(size=(4, 16, 16, 3)).astype(np.float32)
    expected = ref.discriminator(variables, cfg, images.transpose(0, 3, 1, 2), LABELS, mapping_lrmul=0.01)
    ours = np.asarray(D(images, LABELS))
    np.testing.assert_allclose(ours, expected, rtol=2e-3, atol=_scale_tol(expected))
    other = ref.discriminator(variables, cfg, images.transpose(0, 3, 1, 2), LABELS[::-1], mapping_lrmul=0.01)
    assert np.abs(other - expected).max() > 20 * _scale_tol(expected)  # The labels matter.
    if conditioning == "stylegan2-tf":
        with pytest.raises(UserError, match="no stylegan2-ada-pytorch names"):
            official_discriminator_shapes(D, "ada")
        with pytest.raises(UserError, match="LabelConcat"):
            load_official_discriminator(Discriminator(cfg), {"b4.out.weight": np.zeros((3, 8), np.float32)})
        return
    ada = ref.tf_to_ada_state_dict(variables, "D", cfg.resample_filter)
    assert {k for k in ada if k.startswith("mapping.")} == (
        {"mapping.embed.weight", "mapping.embed.bias"}
        | {f"mapping.fc{i}.{w}" for i in range(8 if conditioning == "ada" else 0) for w in ("weight", "bias")})
    D2 = Discriminator(cfg)
    load_official_discriminator(D2, ada)
    np.testing.assert_allclose(np.asarray(D2(images, LABELS)), ours, rtol=1e-6, atol=1e-6)


def test_conditional_tf_stylegan2_generator_label_concat_matches_reference():
    """NVlabs/stylegan2 G_mapping: [z, labels @ LabelConcat] normalised together (not ADA's embed)."""
    cfg = dataclasses.replace(COND, conditioning="stylegan2-tf")
    shapes = ref.official_g_shapes(cfg)
    assert shapes["G_mapping/LabelConcat/weight"] == (3, 8) and shapes["G_mapping/Dense0/weight"] == (16, 8)
    G = Generator(cfg)
    assert official_generator_shapes(G) == {k: v for k, v in shapes.items() if k != "lod"}
    variables = ref.random_official_variables(shapes, seed=8)
    load_official_generator(G, variables)
    z = np.random.default_rng(6).normal(size=(4, cfg.latent_size)).astype(np.float32)
    expected = ref.generator(variables, cfg, z, labels=LABELS)
    ours = np.asarray(G(z, LABELS, truncation_psi=1.0, noise_mode="const")).transpose(0, 3, 1, 2)
    np.testing.assert_allclose(ours, expected, rtol=2e-3, atol=_scale_tol(expected))
    # ADA's convention (z and the label embedding normalised separately) gives other images.
    embed = {k: v for k, v in variables.items() if "LabelConcat" not in k}
    embed.update({"G_mapping/LabelEmbed/weight": variables["G_mapping/LabelConcat/weight"],
                  "G_mapping/LabelEmbed/bias": np.zeros(8, np.float32)})
    ada_style = ref.generator(embed, cfg, z, labels=LABELS)
    assert np.abs(ada_style - expected).max() > 20 * _scale_tol(expected)
    with pytest.raises(UserError, match="no stylegan2-ada-pytorch names"):
        official_generator_shapes(G, "ada")
    with pytest.raises(ValueError, match="LabelConcat"):
        ref.tf_to_ada_state_dict(variables, "G")


def test_conditioning_default_keeps_configs_and_checks_values():
    assert StyleGAN2Config().conditioning == "ada"
    assert StyleGAN2Config.coerce({k: v for k, v in StyleGAN2Config().to_dict().items()
                                   if k != "conditioning"}) == StyleGAN2Config()
    with pytest.raises(UserError, match="conditioning"):
        StyleGAN2Config(conditioning="concat").validate()
    # Unconditional networks: the field changes nothing.
    assert official_discriminator_shapes(Discriminator(dataclasses.replace(TINY, conditioning="stylegan2-tf"))) == \
        ref.official_d_shapes(TINY)


def test_conditional_networks_survive_a_keras_round_trip(tmp_path):
    """The conditioning is part of the stored config: a reloaded TF-stylegan2 G/D computes the same."""
    import keras

    cfg = dataclasses.replace(COND, conditioning="stylegan2-tf")
    G, D = Generator(cfg), Discriminator(cfg)
    load_official_generator(G, ref.random_official_variables(ref.official_g_shapes(cfg), seed=9))
    load_official_discriminator(D, ref.random_official_variables(ref.official_d_shapes(cfg), seed=10))
    z = np.random.default_rng(7).normal(size=(4, cfg.latent_size)).astype(np.float32)
    images = np.random.default_rng(8).normal(size=(4, 16, 16, 3)).astype(np.float32)
    for net, args in ((G, (z, LABELS)), (D, (images, LABELS))):
        kwargs = {"truncation_psi": 1.0, "noise_mode": "const"} if net is G else {}
        path = tmp_path / f"{net.name}.keras"
        net.save(path)
        loaded = keras.models.load_model(path)
        assert loaded.config.conditioning == "stylegan2-tf"
        np.testing.assert_allclose(np.asarray(loaded(*args, **kwargs)), np.asarray(net(*args, **kwargs)),
                                   rtol=1e-6, atol=1e-6)
