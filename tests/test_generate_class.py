"""`python -m stylegan_tf.generate ... --class N`: conditional StyleGAN (v1) and StyleGAN2 networks
generate every image of a seed with the one-hot label of class N (official gen_images.py --class)."""

import dataclasses
import os

import numpy as np
import PIL.Image
import pytest

from stylegan_tf import export, media, presets, sampling
from stylegan_tf import generate as gen
from stylegan_tf.networks.stylegan2.config import StyleGAN2Config
from stylegan_tf.networks.stylegan1.generator import Generator as StyleGAN1Generator
from stylegan_tf.networks.stylegan2.generator import Generator as StyleGAN2Generator

SG2 = StyleGAN2Config(resolution=16, channel_base=256, channel_max=32, latent_size=32, w_dim=32, mapping_layers=2,
                      mapping_fmaps=32)


def _stylegan1(label_size):
    return StyleGAN1Generator(dict(presets.get("tiny").network.to_dict(), label_size=label_size), seed=1)


def _stylegan2(label_size):
    return StyleGAN2Generator(dataclasses.replace(SG2, label_size=label_size), seed=1)


BUILDERS = {"stylegan1": _stylegan1, "stylegan2": _stylegan2}


@pytest.fixture(scope="module", params=sorted(BUILDERS))
def conditional(request, tmp_path_factory):
    """(in-memory G with label_size=3, its .keras file)."""
    G = BUILDERS[request.param](3)
    return G, str(export.save_keras(G, tmp_path_factory.mktemp(request.param) / "G.keras"))


def _images(outdir, seeds):
    return np.stack([np.asarray(PIL.Image.open(os.path.join(outdir, f"seed{s:04d}.png"))) for s in seeds])


def _run(*argv):
    return gen.main([str(a) for a in argv])


def test_every_class_is_its_one_hot_label_and_classes_differ(conditional, tmp_path):
    G, network = conditional
    seeds = [0, 5]
    for name, cls in (("a", 0), ("b", 2), ("c", 0)):
        assert _run("images", "--network", network, "--seeds", "0,5", "--class", cls, "--noise", "const",
                    "--outdir", tmp_path / name) == 0
    a, b, c = (_images(tmp_path / name, seeds) for name in "abc")
    np.testing.assert_array_equal(a, c)                       # the same class: the same images
    for i in range(len(seeds)):                              # another class: other images, seed by seed
        assert np.abs(a[i].astype(int) - b[i].astype(int)).mean() > 1.0
    # Class 2 is the label [0, 0, 1] for every image, through the network's own mapping.
    z = sampling.seed_latents(G, seeds)
    w = G.truncate(np.asarray(G.mapping(z, np.tile(np.float32([[0, 0, 1]]), (2, 1)))), None, None)
    expected = media.to_uint8(np.asarray(G.synthesis(np.asarray(w), noise_mode="const")))
    assert np.abs(b.astype(int) - expected.astype(int)).max() <= 1   # rounding of the batch only


def test_the_figures_take_the_class_too(conditional, tmp_path):
    _, network = conditional
    figures = {}
    for cls in (0, 1):
        out = tmp_path / f"c{cls}"
        assert _run("truncation", "--network", network, "--seeds", "3", "--psis", "1,0.5", "--class", cls,
                    "--outdir", out) == 0
        figures[cls] = np.asarray(PIL.Image.open(out / "truncation.png"))
    assert figures[0].shape == figures[1].shape and not np.array_equal(figures[0], figures[1])


def test_class_errors_name_the_option_and_write_nothing(conditional, tmp_path, capsys):
    _, network = conditional
    assert _run("images", "--network", network, "--seeds", "0", "--outdir", tmp_path / "none") == 2
    assert "error: --class is required: the network is conditional with 3 classes (0..2)" in capsys.readouterr().err
    assert _run("images", "--network", network, "--seeds", "0", "--class", 3, "--outdir", tmp_path / "big") == 2
    assert "error: --class must be in [0, 3) for this network. Received: --class=3" in capsys.readouterr().err
    assert _run("style-mixing", "--network", network, "--row-seeds", "0", "--col-seeds", "1", "--class", -1,
                "--outdir", tmp_path / "neg") == 2
    assert "--class must be in [0, 3)" in capsys.readouterr().err
    assert not any((tmp_path / d).exists() for d in ("none", "big", "neg"))


@pytest.mark.parametrize("family", sorted(BUILDERS))
def test_an_unconditional_network_refuses_class(family, tmp_path, capsys):
    network = str(export.save_keras(BUILDERS[family](0), tmp_path / "G.keras"))
    assert _run("images", "--network", network, "--seeds", "0", "--class", 0, "--outdir", tmp_path / "out") == 2
    assert "error: --class: the network is unconditional (label_size=0). Received: --class=0" in \
        capsys.readouterr().err
    assert not (tmp_path / "out").exists()
    assert _run("images", "--network", network, "--seeds", "0", "--outdir", tmp_path / "out") == 0


def test_every_subcommand_that_maps_seeds_has_the_option():
    parser = gen.build_parser()
    for command, extra in (("images", []), ("style-mixing", []), ("noise", []), ("truncation", []),
                           ("interpolate", []), ("pan", ["--seed", "0"])):
        assert parser.parse_args([command, "--network", "G", "--class", "2"] + extra).class_index == 2
