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


def _check_against_reference(nets, variables, cfg):
    z = _z(3)
    for name in ("G", "Gs"):
        expected = ref.generator(variables[name], cfg, z, psi=1.0)
        ours = np.asarray(getattr(nets, name)(z, truncation_psi=1.0, noise_mode="const")).transpose(0, 3, 1, 2)
        np.testing.assert_allclose(ours, expected, rtol=2e-3, atol=_tol(expected), err_msg=name)
    images = _images(cfg=cfg)
    expected = ref.discriminator(variables["D"], cfg, images.transpose(0, 3, 1, 2))
    np.testing.assert_allclose(np.asarray(nets.D(images)), expected, rtol=2e-3, atol=_tol(expected))


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
