"""Official StyleGAN2 pickles (TF G_main / D_stylegan2 and stylegan2-ada-pytorch), read without TF1 or torch.

The pickles are written here in the official byte formats (tests/official_pickles.py) from random
official variables; outputs are compared with the independent numpy reference
(tests/official_reference_sg2.py), constant noise, psi 1, batch 4 = the minibatch-stddev group.
"""

import dataclasses
import json

import numpy as np
import pytest

from stylegan_tf.errors import UserError
from stylegan_tf.networks.stylegan2.config import StyleGAN2Config
from stylegan_tf.official import load_pickle
from tests import official_pickles as op
from tests import official_reference_sg2 as ref

TINY = StyleGAN2Config(resolution=16, channel_base=64, channel_max=8, latent_size=8, w_dim=8, mapping_fmaps=8,
                       mapping_layers=2, mbstd_group_size=4)


def _tol(expected):
    return 2e-3 * max(1.0, float(np.abs(expected).max()))


def _z(n, seed=0):
    return np.random.default_rng(seed).normal(size=(n, TINY.latent_size)).astype(np.float32)


def _images(n=4, seed=1, cfg=TINY):
    return np.random.default_rng(seed).normal(size=(n, cfg.resolution, cfg.resolution, cfg.num_channels)).astype(
        np.float32)


def _check_against_reference(nets, variables, cfg, labels=None):
    z = _z(3 if labels is None else len(labels))
    for name in ("G", "Gs"):
        expected = ref.generator(variables[name], cfg, z, labels=labels, psi=1.0)
        ours = np.asarray(getattr(nets, name)(z, labels, truncation_psi=1.0, noise_mode="const"))
        np.testing.assert_allclose(ours.transpose(0, 3, 1, 2), expected, rtol=2e-3, atol=_tol(expected), err_msg=name)
    images = _images(cfg=cfg)
    expected = ref.discriminator(variables["D"], cfg, images.transpose(0, 3, 1, 2), labels, mapping_lrmul=0.01)
    np.testing.assert_allclose(np.asarray(nets.D(images, labels)), expected, rtol=2e-3, atol=_tol(expected))


@pytest.mark.parametrize("arch_g,arch_d", [("skip", "resnet"), ("resnet", "skip")])
def test_tf_pickle_loads_matching_the_official_reference(tmp_path, arch_g, arch_d):
    cfg = dataclasses.replace(TINY, architecture_g=arch_g, architecture_d=arch_d)
    path = tmp_path / "sg2.pkl"
    variables = op.write_sg2_tf_pickle(path, cfg, seed=3)
    nets = load_pickle(path)
    assert (nets.family, nets.source_format, nets.config) == ("stylegan2", "tensorflow", cfg)
    _check_against_reference(nets, variables, cfg)
    assert not np.allclose(np.asarray(nets.G.w_avg), np.asarray(nets.Gs.w_avg))


def test_ada_pickle_gives_the_same_networks_as_the_tf_pickle(tmp_path):
    cfg = dataclasses.replace(TINY, resolution=32)
    variables = op.write_sg2_tf_pickle(tmp_path / "tf.pkl", cfg, seed=5)
    op.write_ada_pickle(tmp_path / "ada.pkl", cfg, variables)
    tf_nets, ada_nets = load_pickle(tmp_path / "tf.pkl"), load_pickle(tmp_path / "ada.pkl")
    assert (ada_nets.family, ada_nets.source_format) == ("stylegan2", "pytorch")
    assert ada_nets.config == dataclasses.replace(cfg, truncation_psi=1.0)  # ADA's forward default.
    assert ada_nets.extra["training_set_kwargs"] == {"resolution": 32}
    for name in ("G", "D", "Gs"):
        a, b = getattr(tf_nets, name), getattr(ada_nets, name)
        pairs = [(x, y) for x, y in zip(a.weights, b.weights) if "seed_generator" not in x.path]
        assert len(pairs) == len(a.weights) - sum("seed_generator" in w.path for w in a.weights) > 0
        for x, y in pairs:
            np.testing.assert_array_equal(np.asarray(x), np.asarray(y), err_msg=f"{name} {x.path}")
    _check_against_reference(ada_nets, variables, cfg)


def test_convert_cli_on_a_stylegan2_pickle(tmp_path, capsys):
    from stylegan_tf import convert
    from stylegan_tf.export import load_generator

    path = tmp_path / "sg2.pkl"
    variables = op.write_sg2_tf_pickle(path, TINY, seed=7)
    dest = tmp_path / "out"
    assert convert.main([str(path), str(dest)]) == 0
    printed = capsys.readouterr().out
    assert "family:     stylegan2" in printed and "resolution: 16x16" in printed
    names = sorted(p.name for p in dest.iterdir())
    assert {"D.keras", "G.keras", "Gs.keras", "network.json"} <= set(names)
    info = json.loads((dest / "network.json").read_text())
    assert info["family"] == "stylegan2" and info["config"]["channel_base"] == TINY.channel_base
    z = _z(2, seed=3)
    expected = ref.generator(variables["Gs"], TINY, z, psi=1.0)
    G = load_generator(dest / "Gs.keras")
    ours = np.asarray(G(z, truncation_psi=1.0, noise_mode="const")).transpose(0, 3, 1, 2)
    np.testing.assert_allclose(ours, expected, rtol=2e-3, atol=_tol(expected))


@pytest.mark.parametrize("g_kwargs,d_kwargs,named", [
    ({"nonlinearity": "relu"}, {}, "nonlinearity='relu'"),
    ({"fmap_decay": 0.5}, {}, "fmap_decay=0.5"),
    ({"spectral_norm": True}, {}, "spectral_norm=True"),
    ({}, {"fmap_base": 64}, "fmap_base=64 in D"),
    ({}, {"resample_kernel": [1, 1]}, "resample_kernel"),
])
def test_tf_unsupported_kwargs_are_named(tmp_path, g_kwargs, d_kwargs, named):
    path = tmp_path / "bad.pkl"
    op.write_sg2_tf_pickle(path, TINY, extra_g_kwargs=g_kwargs, extra_d_kwargs=d_kwargs)
    with pytest.raises(UserError, match="bad.pkl") as e:
        load_pickle(path)
    assert named in str(e.value)


def test_tf_options_from_kwargs_and_old_versions(tmp_path):
    path = tmp_path / "opts.pkl"
    op.write_sg2_tf_pickle(path, TINY, extra_g_kwargs={"truncation_psi": 0.7, "fused_modconv": False,
                                                         "randomize_noise": False})
    nets = load_pickle(path)
    assert (nets.config.truncation_psi, nets.config.fused_modconv) == (0.7, "never")
    op.write_sg2_tf_pickle(path, TINY, version=3)
    with pytest.raises(UserError, match="version 3"):
        load_pickle(path)


def test_ada_unsupported_kwargs_are_named(tmp_path):
    variables = op.write_sg2_tf_pickle(tmp_path / "tf.pkl", TINY)
    g_init, _ = op.ada_init_kwargs(TINY)
    synthesis = dict(g_init["synthesis_kwargs"].dictitems, activation="relu")
    op.write_ada_pickle(tmp_path / "ada.pkl", TINY, variables, g_kwargs={"synthesis_kwargs": op.easydict(synthesis)},
                        d_kwargs={"channel_max": 4})
    with pytest.raises(UserError) as e:
        load_pickle(tmp_path / "ada.pkl")
    assert "G.synthesis_kwargs.activation='relu'" in str(e.value) and "D.channel_max=4" in str(e.value)


# Conditional networks --------------------------------------------------------------------------------
LABELS = np.eye(3, dtype=np.float32)[[1, 0, 2, 1]]


def test_conditional_tf_stylegan2_pickle_label_concat_and_per_label_output(tmp_path):
    """NVlabs/stylegan2 with labels: G_mapping/LabelConcat, D_stylegan2's Output [C, label_size]."""
    cfg = dataclasses.replace(TINY, label_size=3, conditioning="stylegan2-tf")
    path = tmp_path / "cond.pkl"
    variables = op.write_sg2_tf_pickle(path, cfg, seed=11)
    assert variables["G"]["G_mapping/LabelConcat/weight"].shape == (3, 8)
    assert variables["D"]["Output/bias"].shape == (3,)
    nets = load_pickle(path)
    assert (nets.family, nets.source_format, nets.config) == ("stylegan2", "tensorflow", cfg)
    _check_against_reference(nets, variables, cfg, LABELS)


@pytest.mark.parametrize("conditioning", ["ada-tf", "ada"])
def test_conditional_tf_ada_pickle_label_embed_and_cmap_head(tmp_path, conditioning):
    """stylegan2-ada TF (G_synthesis / D_main, version 5): G LabelEmbed, D LabelEmbed (+ Mapping{i}) and
    the projection head; conv_clamp and num_fp16_res come from the kwargs."""
    cfg = dataclasses.replace(TINY, label_size=3, conditioning=conditioning, conv_clamp=256.0, num_fp16_res=2)
    path = tmp_path / "tfada.pkl"
    variables = op.write_sg2_tf_pickle(path, cfg, seed=17, tf_ada=True)
    assert ("Mapping7/weight" in variables["D"]) == (conditioning == "ada")
    nets = load_pickle(path)
    assert (nets.family, nets.source_format, nets.config) == ("stylegan2", "tensorflow", cfg)
    _check_against_reference(nets, variables, cfg, LABELS)


@pytest.mark.parametrize("g_kwargs,d_kwargs,named", [
    ({}, {"mapping_layers": 8}, "D.mapping_layers=8 with mapping_lrmul=0.1"),
    ({}, {"mapping_fmaps": 4}, "D.mapping_fmaps=4"),
    ({}, {"use_spectral_norm": True}, "D.use_spectral_norm=True"),
    ({"label_fmaps": 4}, {}, "G.label_fmaps=4"),
])
def test_tf_ada_options_we_cannot_represent_are_named(tmp_path, g_kwargs, d_kwargs, named):
    cfg = dataclasses.replace(TINY, label_size=3, conditioning="ada-tf")
    op.write_sg2_tf_pickle(tmp_path / "bad.pkl", cfg, tf_ada=True, extra_g_kwargs=g_kwargs, extra_d_kwargs=d_kwargs)
    with pytest.raises(UserError, match="bad.pkl") as e:
        load_pickle(tmp_path / "bad.pkl")
    assert named in str(e.value)


def _ada_variables(cfg, seed):
    """Random TF-named variables of G, D, Gs (TF-ADA names; the ADA pickle gets them through legacy.py's mapping)."""
    g_shapes = ref.official_g_shapes(cfg)
    return {"G": ref.random_official_variables(g_shapes, seed=seed, mapping_lrmul=cfg.mapping_lrmul),
            "D": ref.random_official_variables(ref.official_d_shapes(cfg), seed=seed + 1),
            "Gs": ref.random_official_variables(g_shapes, seed=seed + 2, mapping_lrmul=cfg.mapping_lrmul)}


@pytest.mark.parametrize("conditioning", ["ada", "ada-tf"])
def test_conditional_ada_pickles_native_and_converted_from_tf_ada(tmp_path, conditioning):
    """ADA train.py's D (empty mapping_kwargs: 8 label-mapping layers at lr 0.01) and legacy.py's
    conversion of a TF-ADA D (num_layers 0, lr 0.1): both heads import and match the reference."""
    cfg = dataclasses.replace(TINY, label_size=3, conditioning=conditioning)
    variables = _ada_variables(cfg, seed=13)
    path = tmp_path / "ada.pkl"
    op.write_ada_pickle(path, cfg, variables, d_kwargs={"cmap_dim": None})
    nets = load_pickle(path)
    assert nets.config == dataclasses.replace(cfg, truncation_psi=1.0)
    assert len(nets.D.mapping.dense_layers) == (8 if conditioning == "ada" else 0)
    _check_against_reference(nets, variables, cfg, LABELS)


@pytest.mark.parametrize("d_kwargs,named", [
    ({"mapping_kwargs": op.easydict({"num_layers": 4})}, "num_layers=4"),
    ({"mapping_kwargs": op.easydict({"lr_multiplier": 0.1})}, "lr_multiplier=0.1"),
    ({"mapping_kwargs": op.easydict({"layer_features": 16})}, "D.mapping_kwargs.layer_features=16"),
    ({"cmap_dim": 16}, "D.cmap_dim=16"),
])
def test_conditional_ada_label_mappings_we_cannot_represent_are_named(tmp_path, d_kwargs, named):
    cfg = dataclasses.replace(TINY, label_size=3)
    op.write_ada_pickle(tmp_path / "bad.pkl", cfg, _ada_variables(cfg, seed=1), d_kwargs=d_kwargs)
    with pytest.raises(UserError, match="bad.pkl") as e:
        load_pickle(tmp_path / "bad.pkl")
    assert named in str(e.value)


def test_unconditional_ada_d_ignores_legacy_label_mapping_kwargs(tmp_path):
    """legacy.py passes TF-ADA's mapping kwargs to every converted D, conditional or not."""
    variables = op.write_sg2_tf_pickle(tmp_path / "tf.pkl", TINY, seed=2)
    op.write_ada_pickle(tmp_path / "ada.pkl", TINY, variables,
                        d_kwargs={"mapping_kwargs": op.easydict({"num_layers": 0, "lr_multiplier": 0.1})})
    assert load_pickle(tmp_path / "ada.pkl").config == dataclasses.replace(TINY, truncation_psi=1.0)


# StyleGAN3 (PyTorch only) ---------------------------------------------------------------------------
def test_stylegan3_pickle_loads_matching_the_official_references(tmp_path):
    from stylegan_tf.networks.stylegan3.official_weights import config_from_init_kwargs
    from tests import stylegan3_reference as ref3

    path = tmp_path / "sg3.pkl"
    g_init, plain, g_state, d_init, d_cfg, d_vars = op.write_tiny_sg3_pickle(path)
    nets = load_pickle(path)
    assert (nets.family, nets.source_format, nets.config.cfg, nets.config.resolution) == ("stylegan3", "pytorch",
                                                                                          "t", 16)
    assert nets.config == config_from_init_kwargs(plain) and nets.D.config == d_cfg
    z = np.random.default_rng(0).normal(size=(2, 16)).astype(np.float32)
    theirs = ref3.generator(g_state, plain, z)
    ours = np.asarray(nets.Gs(z, truncation_psi=1.0))
    np.testing.assert_allclose(ours, theirs, atol=2e-4 * np.abs(theirs).max())
    images = _images(cfg=d_cfg)
    expected = ref.discriminator(d_vars, d_cfg, images.transpose(0, 3, 1, 2))
    np.testing.assert_allclose(np.asarray(nets.D(images)), expected, rtol=2e-3, atol=_tol(expected))
    op.write_sg3_pickle(path, g_init, g_state, dict(d_init, architecture="skip"), {})
    with pytest.raises(UserError, match="architecture 'skip'"):
        load_pickle(path)


def test_conditional_stylegan3_pickle_imports_g_embed_and_d_label_mapping(tmp_path):
    from tests import stylegan3_reference as ref3

    path = tmp_path / "sg3c.pkl"
    g_init, plain, g_state, d_init, d_cfg, d_vars = op.write_tiny_sg3_pickle(path, c_dim=3)
    assert "Mapping7/weight" in d_vars and d_cfg.conditioning == "ada"
    nets = load_pickle(path)
    assert nets.config.label_size == 3 and nets.D.config == d_cfg
    z = np.random.default_rng(1).normal(size=(4, 16)).astype(np.float32)
    theirs = ref3.generator(g_state, plain, z, LABELS)
    ours = np.asarray(nets.Gs(z, LABELS, truncation_psi=1.0))
    np.testing.assert_allclose(ours, theirs, atol=2e-4 * np.abs(theirs).max())
    images = _images(cfg=d_cfg)
    expected = ref.discriminator(d_vars, d_cfg, images.transpose(0, 3, 1, 2), LABELS, mapping_lrmul=0.01)
    np.testing.assert_allclose(np.asarray(nets.D(images, LABELS)), expected, rtol=2e-3, atol=_tol(expected))
    d_state = ref.tf_to_ada_state_dict(d_vars, "D", d_cfg.resample_filter)
    for bad, named in ((dict(d_init, mapping_kwargs=op.easydict({"num_layers": 0})), "num_layers=0"),
                       (dict(d_init, c_dim=2), "c_dim=2")):
        op.write_sg3_pickle(path, g_init, g_state, bad, d_state)
        with pytest.raises(UserError, match=named):
            load_pickle(path)
