"""Official-name weight import: our networks compute the official functions."""

import dataclasses

import numpy as np
import pytest

from stylegan_tf import presets
from stylegan_tf.config import NetworkConfig
from stylegan_tf.networks.stylegan1.discriminator import Discriminator
from stylegan_tf.errors import UserError
from stylegan_tf.networks.stylegan1.generator import Generator
from stylegan_tf.networks.stylegan1.official_weights import (load_official_discriminator, load_official_generator,
                                          official_discriminator_shapes, official_generator_shapes)
from tests import official_reference as ref

TINY = NetworkConfig(resolution=16, fmap_base=64, fmap_max=16, latent_size=16, dlatent_size=16,
                     mapping_layers=2, mapping_fmaps=16)


def _our_weight_ids(model):
    """Every variable the import must set: all weights except random-generator state."""
    return {id(v) for v in model.weights if "seed_generator_state" not in v.path}


@pytest.mark.parametrize("ours,official", [("never", "always"), ("always", "always"), ("auto", "auto")])
def test_generator_matches_official_reference(ours, official):
    cfg = dataclasses.replace(TINY, fused_scale=ours)
    G = Generator(cfg)
    shapes = official_generator_shapes(G)
    variables = ref.random_official_variables(shapes, seed=1)
    load_official_generator(G, variables, official_fused_scale=official)
    z = np.random.default_rng(0).normal(size=(3, cfg.latent_size)).astype(np.float32)
    expected = ref.generator(variables, cfg, z, psi=0.6, cutoff=4, official_fused=official)
    ours_nhwc = np.asarray(G(z, truncation_psi=0.6, truncation_cutoff=4, noise_mode="const"))
    np.testing.assert_allclose(ours_nhwc.transpose(0, 3, 1, 2), expected, rtol=2e-3, atol=2e-3)


@pytest.mark.parametrize("ablation", ["B", "C"])
def test_generator_without_constant_input_matches_reference(ablation):
    cfg = presets.with_ablation(presets.Config(network=TINY), ablation).network
    G = Generator(cfg)
    variables = ref.random_official_variables(official_generator_shapes(G), seed=2)
    load_official_generator(G, variables)
    z = np.random.default_rng(1).normal(size=(2, cfg.latent_size)).astype(np.float32)
    expected = ref.generator(variables, cfg, z)
    ours = np.asarray(G(z, truncation_psi=1.0, noise_mode="const")).transpose(0, 3, 1, 2)
    np.testing.assert_allclose(ours, expected, rtol=2e-3, atol=2e-3)


@pytest.mark.parametrize("lod,resolution", [(1.25, 8), (1.25, None), (2.0, None), (2.5, 8), (0.5, 16)])
def test_generator_fade_matches_reference_at_any_lod(lod, resolution):
    """lod 1.25 is the 4x4 -> 8x8 fade, trained at 8x8 with 25 % of the old path; asking for the
    full resolution (None) gives the official full-size output of any lod."""
    G = Generator(TINY)
    variables = ref.random_official_variables(official_generator_shapes(G), seed=3)
    load_official_generator(G, variables)
    z = np.random.default_rng(2).normal(size=(2, TINY.latent_size)).astype(np.float32)
    G.lod.assign(lod)
    expected = ref.generator(variables, TINY, z, lod=lod)
    ours = G(z, truncation_psi=1.0, noise_mode="const", resolution=resolution, full_size=True)
    ours = np.asarray(ours).transpose(0, 3, 1, 2)
    np.testing.assert_allclose(ours, expected, rtol=2e-3, atol=2e-3)


@pytest.mark.parametrize("label_size,lod", [(0, 0.0), (3, 0.5), (0, 1.5), (0, 2.25)])
def test_discriminator_matches_official_reference(label_size, lod):
    cfg = dataclasses.replace(TINY, label_size=label_size, fused_scale="always")
    D = Discriminator(cfg)
    variables = {"D/" + k: v for k, v in ref.random_official_variables(official_discriminator_shapes(D), 4).items()}
    load_official_discriminator(D, variables)
    rng = np.random.default_rng(3)
    images = rng.normal(size=(4, 16, 16, 3)).astype(np.float32)
    labels = np.eye(max(label_size, 1), dtype=np.float32)[rng.integers(0, max(label_size, 1), 4)]
    D.lod.assign(lod)
    expected = ref.discriminator(variables, cfg, images.transpose(0, 3, 1, 2), labels=labels, lod=lod,
                                 official_fused="always")
    ours = np.asarray(D(images, labels if label_size else None))
    np.testing.assert_allclose(ours, expected, rtol=2e-3, atol=2e-3)


def test_conditional_generator_matches_reference():
    cfg = dataclasses.replace(TINY, label_size=4)
    G = Generator(cfg)
    variables = ref.random_official_variables(official_generator_shapes(G), seed=5)
    load_official_generator(G, variables)
    z = np.random.default_rng(4).normal(size=(2, cfg.latent_size)).astype(np.float32)
    labels = np.eye(4, dtype=np.float32)[[1, 3]]
    expected = ref.generator(variables, cfg, z, labels=labels)
    ours = np.asarray(G(z, labels, truncation_psi=1.0, noise_mode="const")).transpose(0, 3, 1, 2)
    np.testing.assert_allclose(ours, expected, rtol=2e-3, atol=2e-3)


def test_import_sets_every_weight_of_ours():
    G, D = Generator(TINY), Discriminator(TINY)
    covered_g = {id(v) for v, _, _ in _plan_entries(G)}
    assert covered_g == _our_weight_ids(G)
    covered_d = {id(v) for v, _, _ in _plan_entries(D)}
    assert covered_d == _our_weight_ids(D)


def _plan_entries(model):
    from stylegan_tf.networks.stylegan1 import official_weights as ow

    plan = ow._generator_plan(model, "auto") if isinstance(model, Generator) else ow._discriminator_plan(model)
    return plan.entries.values()


def test_ffhq_official_names_and_shapes(ffhq_networks):
    G, D = ffhq_networks
    g_shapes = official_generator_shapes(G)
    d_shapes = official_discriminator_shapes(D)
    # Spot checks against the official graph's names and layouts.
    assert g_shapes["G_mapping/Dense0/weight"] == (512, 512)
    assert g_shapes["G_synthesis/4x4/Const/const"] == (1, 512, 4, 4)
    assert g_shapes["G_synthesis/4x4/Const/StyleMod/weight"] == (512, 1024)
    assert g_shapes["G_synthesis/1024x1024/Conv0_up/weight"] == (3, 3, 32, 16)
    assert g_shapes["G_synthesis/ToRGB_lod0/weight"] == (1, 1, 16, 3)
    assert g_shapes["G_synthesis/ToRGB_lod8/weight"] == (1, 1, 512, 3)
    assert g_shapes["G_synthesis/noise17"] == (1, 1, 1024, 1024)
    assert g_shapes["dlatent_avg"] == (512,)
    assert d_shapes["4x4/Conv/weight"] == (3, 3, 513, 512)
    assert d_shapes["4x4/Dense0/weight"] == (8192, 512)
    assert d_shapes["4x4/Dense1/weight"] == (512, 1)
    assert d_shapes["FromRGB_lod0/weight"] == (1, 1, 3, 16)
    trainable_g = sum(int(np.prod(s)) for n, s in g_shapes.items()
                      if not (n.startswith("G_synthesis/noise") or n in ("dlatent_avg", "G_synthesis/lod")))
    assert trainable_g == 26_219_627
    assert sum(int(np.prod(s)) for n, s in d_shapes.items() if n != "lod") == 23_087_249
    # A complete dict is consumed and leaves nothing unset.
    variables = {name: np.zeros(shape, np.float32) for name, shape in g_shapes.items()}
    variables["lod"] = np.zeros((), np.float32)
    variables["G_synthesis/4x4/Const/const"] = np.full((1, 512, 4, 4), 2.0, np.float32)
    load_official_generator(G, variables)
    assert np.all(G.synthesis_network.input_block.const.numpy() == 2.0)
    load_official_discriminator(D, {"D/" + n: np.zeros(s, np.float32) for n, s in d_shapes.items()})


def test_import_rejects_missing_unexpected_and_misshaped():
    G = Generator(TINY)
    shapes = official_generator_shapes(G)
    variables = ref.random_official_variables(shapes)
    missing = dict(variables)
    del missing["G_synthesis/8x8/Conv1/StyleMod/bias"]
    with pytest.raises(UserError, match=r"missing 1: \['G_synthesis/8x8/Conv1/StyleMod/bias'\]"):
        load_official_generator(G, missing)
    extra = dict(variables, **{"G_synthesis/32x32/Conv1/weight": np.zeros((3, 3, 16, 16))})
    with pytest.raises(UserError, match="unexpected 1"):
        load_official_generator(G, extra)
    bad = dict(variables, **{"G_mapping/Dense0/weight": np.zeros((16, 8), np.float32)})
    with pytest.raises(UserError, match=r"misshaped 1: \['G_mapping/Dense0/weight: expected \(16, 16\)"):
        load_official_generator(G, bad)
    with pytest.raises(UserError, match="official_fused_scale"):
        load_official_generator(G, variables, official_fused_scale="sometimes")
