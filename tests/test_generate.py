"""Generation and the paper's figures: parsing, seeds, style mixing, noise, truncation, interpolation,
determinism across export formats, and the command line."""

import os

import numpy as np
import PIL.Image
import pytest

from stylegan_tf import cli, export, media, sampling
from stylegan_tf import generate as gen
from stylegan_tf import presets
from stylegan_tf.errors import UserError
from stylegan_tf.networks.stylegan1.generator import Generator

TINY = presets.get("tiny")


def _visible(G):
    """Non-zero noise strengths and w_avg, so noise and truncation change the images."""
    for layer in G.synthesis_network.epilogues():
        layer.noise.strength.assign(np.full(layer.noise.strength.shape, 0.5, np.float32))
    G.w_avg.assign(np.linspace(-1, 1, G.config.w_dim).astype(np.float32))
    return G


@pytest.fixture(scope="module")
def G():
    return _visible(Generator(TINY.network, seed=3))


@pytest.fixture(scope="module")
def keras_file(G, tmp_path_factory):
    from stylegan_tf import export

    return str(export.save_keras(G, tmp_path_factory.mktemp("net") / "G.keras"))


# Parsing -------------------------------------------------------------------------------------
def test_parse_seeds_ranges_and_lists():
    assert gen.parse_seeds("0-3,7, 10-10") == [0, 1, 2, 3, 7, 10]
    assert gen.parse_seeds("5") == [5]


@pytest.mark.parametrize("text", ["a", "3-1", "1-", ",", "1.5"])
def test_parse_seeds_errors(text):
    with pytest.raises(UserError, match="--seeds"):
        gen.parse_seeds(text)


def test_parse_seeds_out_of_range():
    with pytest.raises(UserError, match=r"--seeds: seeds must be in \[0, 2\*\*32\)"):
        gen.parse_seeds(str(2**32))


def test_style_layers_and_errors():
    assert sampling.style_layers("coarse", 18) == [0, 1, 2, 3]
    assert sampling.style_layers("middle", 18) == [4, 5, 6, 7]
    assert sampling.style_layers("fine", 18) == list(range(8, 18))
    assert sampling.style_layers("middle", 6) == [4, 5]
    with pytest.raises(UserError, match="16x16 network .* has no fine layers"):
        sampling.style_layers("fine", 6)
    with pytest.raises(UserError, match="--styles must name one of"):
        sampling.style_layers("medium", 18)
    assert gen.parse_layers("0-2,5", 6) == [0, 1, 2, 5]
    with pytest.raises(UserError, match=r"--layers: layer indices must be in \[0, 6\)"):
        gen.parse_layers("4-6", 6)
    assert sampling.describe_layers([4, 5, 6, 7]) == "4-7" and sampling.describe_layers([0, 2]) == "0,2"
    assert sampling.default_styles(6, 18) == ["coarse"] * 3 + ["middle"] * 2 + ["fine"]
    assert sampling.default_styles(6, 8) == ["coarse"] * 3 + ["middle"] * 3  # 32x32: no fine layers
    assert sampling.default_styles(3, 18) == ["coarse", "middle", "fine"]
    assert sampling.default_styles(2, 4) == ["coarse", "coarse"]


def test_parse_floats_error():
    assert gen.parse_floats("1,0.5,-1", "--psis") == [1.0, 0.5, -1.0]
    with pytest.raises(UserError, match="--psis must be a comma-separated list of numbers"):
        gen.parse_floats("1,x", "--psis")


# Latents, noise, labels ---------------------------------------------------------------------
def test_seed_latents_are_the_official_ones(G):
    z = sampling.seed_latents(G, [5, 6])
    np.testing.assert_array_equal(z[0], np.random.RandomState(5).randn(1, 16)[0].astype(np.float32))
    np.testing.assert_array_equal(z[1], np.random.RandomState(6).randn(16).astype(np.float32))


def test_seed_noise_modes(G):
    size = G.noise_size()
    random = sampling.seed_noise(G, [1, 2], "random")
    rnd = np.random.RandomState(1)
    rnd.randn(1, 16)
    np.testing.assert_array_equal(random[0], rnd.randn(size).astype(np.float32))
    assert not np.array_equal(random[0], random[1])
    np.testing.assert_array_equal(sampling.seed_noise(G, [1, 2], "const"), np.repeat(np.asarray(G.const_noise()), 2, 0))
    assert not sampling.seed_noise(G, [1], "none").any()
    with pytest.raises(UserError, match="--noise must be one of"):
        sampling.seed_noise(G, [1], "fixed")


def test_class_labels_errors(G):
    assert sampling.class_labels(G, None, 3) is None
    with pytest.raises(UserError, match="--class: the network is unconditional"):
        sampling.class_labels(G, 1, 3)
    cond = Generator(dict(TINY.network.to_dict(), label_size=3), seed=0)
    np.testing.assert_array_equal(sampling.class_labels(cond, 2, 2), [[0, 0, 1], [0, 0, 1]])
    with pytest.raises(UserError, match="--class is required: the network is conditional with 3 classes"):
        sampling.class_labels(cond, None, 2)
    with pytest.raises(UserError, match=r"--class must be in \[0, 3\)"):
        sampling.class_labels(cond, 3, 2)
    images = sampling.generate_images(cond, [0, 1], class_index=1)
    assert images.shape == (2, 16, 16, 3)


# Images -------------------------------------------------------------------------------------------
def test_generate_images_shapes_and_batch_independence(G):
    a = sampling.generate_images(G, [0, 1, 2, 3, 4], psi=0.7, batch_size=2)
    b = sampling.generate_images(G, [3], psi=0.7)
    assert a.shape == (5, 16, 16, 3) and a.dtype == np.uint8
    np.testing.assert_allclose(a[3].astype(int), b[0].astype(int), atol=1)  # batch size changes only rounding
    c = sampling.generate_images(G, [3], psi=0.7, noise_mode="const")
    assert not np.array_equal(b, c)


def test_generate_images_match_the_network_call(G):
    z = sampling.seed_latents(G, [7, 8])
    expected = media.to_uint8(G(z, truncation_psi=0.5, truncation_cutoff=4, noise_mode="const"))
    np.testing.assert_array_equal(sampling.generate_images(G, [7, 8], 0.5, 4, "const"), expected)


# Style mixing (Figure 3) ----------------------------------------------------------------------
def test_style_mixing_copies_exactly_the_requested_layers(G):
    rows, cols = [1, 2, 3], [4, 5]
    layers = [[0, 1, 2, 3], [4, 5], [1, 4]]
    result = sampling.style_mixing(G, rows, cols, layers, psi=1.0)
    row_w, col_w, mixed_w = result["row_w"], result["col_w"], result["mixed_w"]
    np.testing.assert_allclose(row_w, np.asarray(G.mapping(sampling.seed_latents(G, rows))), rtol=1e-5, atol=1e-6)
    assert mixed_w.shape == (3, 2, G.num_layers, G.config.w_dim)
    for r, copied in enumerate(layers):
        kept = [i for i in range(G.num_layers) if i not in copied]
        for k in range(len(cols)):
            np.testing.assert_array_equal(mixed_w[r, k][copied], col_w[k][copied])
            np.testing.assert_array_equal(mixed_w[r, k][kept], row_w[r][kept])
    assert result["mixed"].shape == (3, 2, 16, 16, 3)
    # Copying every layer reproduces the column image; copying none, the row image.
    full = sampling.style_mixing(G, [1], [4], [list(range(G.num_layers))])
    np.testing.assert_array_equal(full["mixed"][0, 0], full["col_images"][0])
    none = sampling.style_mixing(G, [1], [4], [[]])
    np.testing.assert_array_equal(none["mixed"][0, 0], none["row_images"][0])


# Noise (Figure 4) --------------------------------------------------------------------------------
def test_noise_variation(G):
    images, std = sampling.noise_variation(G, [1, 2], num_samples=7, batch_size=3)
    assert images.shape == (2, 5, 16, 16, 3) and std.shape == (2, 16, 16)
    single = sampling.generate_images(G, [1], psi=1.0, noise_mode="random")[0]
    np.testing.assert_allclose(images[0, 0].astype(int), single.astype(int), atol=1)  # batch rounding only
    assert not np.array_equal(images[0, 0], images[0, 1]) and std.max() > 0
    silent = Generator(TINY.network, seed=3)  # noise strengths are zero at initialisation
    _, std0 = sampling.noise_variation(silent, [1], num_samples=5)
    assert std0.max() == 0


# Truncation (Figure 8) ------------------------------------------------------------------------------
def test_truncation_sweep_truncates_all_layers(G):
    psis = [1.0, 0.5, 0.0, -1.0]
    images = sampling.truncation_sweep(G, [1, 2], psis)
    assert images.shape == (2, 4, 16, 16, 3)
    w_avg = np.asarray(G.w_avg)
    w = np.asarray(G.mapping(sampling.seed_latents(G, [1])))
    for j, psi in enumerate(psis):
        expected_w = w_avg + psi * (w - w_avg)
        expected = sampling.synthesize(G, expected_w.astype(np.float32), sampling.seed_noise(G, [1], "const"))
        np.testing.assert_allclose(images[0, j].astype(int), expected[0].astype(int), atol=1)
    # psi = 0 gives the average image for every seed.
    np.testing.assert_array_equal(images[0, 2], images[1, 2])


# Interpolation ---------------------------------------------------------------------------------------
def test_interpolation_points():
    assert len(sampling.interpolation_points(3, 4)) == 9
    assert sampling.interpolation_points(2, 2) == [(0, 1, 0.0), (0, 1, 0.5), (0, 1, 1.0)]
    assert len(sampling.interpolation_points(3, 4, loop=True)) == 12
    with pytest.raises(UserError, match="--frames must be at least 1"):
        sampling.interpolation_points(2, 0)
    with pytest.raises(UserError, match="--seeds needs at least two seeds"):
        sampling.interpolation_points(1, 5)


@pytest.mark.parametrize("space", ["w", "z"])
def test_interpolation_starts_and_ends_at_the_seeds(G, space):
    frames = sampling.interpolate(G, [1, 2], frames=4, space=space, psi=0.7, noise_mode="const")
    ends = sampling.generate_images(G, [1, 2], psi=0.7, noise_mode="const")
    assert frames.shape == (5, 16, 16, 3)
    np.testing.assert_allclose(frames[0].astype(int), ends[0].astype(int), atol=1)
    np.testing.assert_allclose(frames[-1].astype(int), ends[1].astype(int), atol=1)


def test_slerp_keeps_the_great_circle():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((2, 3, 8))
    mid = sampling.slerp(a, b, np.full(3, 0.5))
    ua, ub = a / np.linalg.norm(a, axis=1, keepdims=True), b / np.linalg.norm(b, axis=1, keepdims=True)
    um = mid / np.linalg.norm(mid, axis=1, keepdims=True)
    np.testing.assert_allclose(np.sum(ua * um, 1), np.sum(ub * um, 1), rtol=1e-9)  # equal angles
    np.testing.assert_allclose(sampling.slerp(a, b, np.zeros(3)), a, atol=1e-12)
    np.testing.assert_allclose(sampling.slerp(a, b, np.ones(3)), b, atol=1e-12)


# Same images from every export format ---------------------------------------------------------
@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A tiny Gs saved as .keras, SavedModel, and a training checkpoint in a run directory."""
    from stylegan_tf import export
    from stylegan_tf.training.checkpoint import save_checkpoint
    from stylegan_tf.training.trainer import Trainer

    folder = tmp_path_factory.mktemp("formats")
    trainer = Trainer(TINY, seed=1)
    Gs = _visible(trainer.Gs)
    checkpoint = save_checkpoint(trainer, folder / "run", {"cur_nimg": 1000})
    paths = {"keras": export.save_keras(Gs, folder / "G.keras"),
             "savedmodel": export.save_saved_model(Gs, folder / "G_savedmodel"),
             "run": folder / "run", "checkpoint": checkpoint}
    return Gs, {k: str(v) for k, v in paths.items()}


@pytest.mark.parametrize("fmt", ["keras", "savedmodel", "run", "checkpoint"])
def test_same_seed_same_image_in_every_format(exported, fmt):
    Gs, paths = exported
    loaded = export.load_generator(paths[fmt])

    def assert_same_images(actual, expected):
        if fmt == "savedmodel":  # An optimised graph (fused, reordered float32 sums): rounding may flip a level.
            np.testing.assert_allclose(actual.astype(int), expected.astype(int), atol=1)
        else:                    # The same Keras layers and kernels: bit for bit.
            np.testing.assert_array_equal(actual, expected)

    for mode in sampling.NOISE_MODES:
        expected = sampling.generate_images(Gs, [0, 1, 2], psi=0.6, noise_mode=mode)
        assert_same_images(sampling.generate_images(loaded, [0, 1, 2], psi=0.6, noise_mode=mode), expected)
    mixed = sampling.style_mixing(loaded, [0], [1, 2], [[0, 1]])
    assert_same_images(mixed["mixed"], sampling.style_mixing(Gs, [0], [1, 2], [[0, 1]])["mixed"])


def test_load_network_errors(tmp_path):
    with pytest.raises(UserError, match="--network: no such file or directory"):
        cli.existing_path(str(tmp_path / "missing.keras"))


# Command line ---------------------------------------------------------------------------------
def _run(argv):
    return gen.main(argv)


def test_cli_images(keras_file, tmp_path):
    out = str(tmp_path / "images")
    assert _run(["images", "--network", keras_file, "--seeds", "0-2,9", "--trunc", "0.5", "--grid",
                 "--outdir", out]) == 0
    assert sorted(os.listdir(out)) == ["grid.png", "seed0000.png", "seed0001.png", "seed0002.png", "seed0009.png"]
    with PIL.Image.open(os.path.join(out, "grid.png")) as grid:
        assert grid.size == (32, 32)
    with PIL.Image.open(os.path.join(out, "seed0009.png")) as image:
        G = export.load_generator(keras_file)
        expected = sampling.generate_images(G, [0, 1, 2, 9], psi=0.5)[3]  # the CLI's batch
        np.testing.assert_array_equal(np.asarray(image), expected)


def test_cli_figures(keras_file, tmp_path):
    out = str(tmp_path)
    assert _run(["style-mixing", "--network", keras_file, "--row-seeds", "1,2", "--col-seeds", "3-5",
                 "--styles", "coarse,middle", "--outdir", out, "--zoom", "2"]) == 0
    assert _run(["style-mixing", "--network", keras_file, "--row-seeds", "1", "--col-seeds", "3",
                 "--layers", "0-1", "--outdir", out + "/layers"]) == 0
    assert _run(["noise", "--network", keras_file, "--seeds", "1,2", "--samples", "6", "--outdir", out]) == 0
    assert _run(["truncation", "--network", keras_file, "--seeds", "1", "--psis", "1,0,-1", "--outdir", out]) == 0
    assert _run(["interpolate", "--network", keras_file, "--seeds", "1,2,3", "--frames", "3", "--space", "z",
                 "--outdir", out]) == 0
    for name in ("style-mixing.png", "layers/style-mixing.png", "noise.png", "truncation.png",
                 "interpolation-z.gif"):
        assert os.path.getsize(os.path.join(out, name)) > 0, name
    with PIL.Image.open(os.path.join(out, "interpolation-z.gif")) as gif:
        assert gif.n_frames == 7
    with PIL.Image.open(os.path.join(out, "style-mixing.png")) as figure:
        assert figure.width >= 4 * 32 and figure.height >= 3 * 32


@pytest.mark.parametrize("argv, message", [
    (["images", "--seeds", "x"], "--seeds must be a comma-separated list"),
    (["images", "--seeds", "1", "--noise", "fixed"], "--noise must be one of"),
    (["images", "--seeds", "1", "--zoom", "0"], "--zoom must be at least 1"),
    (["images", "--seeds", "1", "--class", "2"], "--class: the network is unconditional"),
    (["style-mixing", "--styles", "fine"], "has no fine layers"),
    (["style-mixing", "--row-seeds", "1,2", "--styles", "coarse,middle,fine"], "--styles needs one value"),
    (["style-mixing", "--layers", "0-9"], r"--layers: layer indices must be in \[0, 6\)"),
    (["noise", "--samples", "2"], "--samples must be at least 5"),
    (["truncation", "--psis", "a"], "--psis must be"),
    (["interpolate", "--seeds", "1"], "--seeds needs at least two seeds"),
    (["interpolate", "--seeds", "1,2", "--space", "q"], "--space must be 'w' or 'z'"),
    (["interpolate", "--seeds", "1,2", "--fps", "0"], "--fps must be positive"),
])
def test_cli_errors(keras_file, tmp_path, capsys, argv, message):
    argv = argv[:1] + ["--network", keras_file, "--outdir", str(tmp_path)] + argv[1:]
    with pytest.raises(UserError, match=message):
        args = gen.build_parser().parse_args(argv)
        args.func(args)
    assert _run(argv) == 2
    assert "error:" in capsys.readouterr().err


def test_cli_missing_network(tmp_path, capsys):
    assert _run(["images", "--network", str(tmp_path / "nope.keras"), "--seeds", "1"]) == 2
    assert "--network: no such file or directory" in capsys.readouterr().err
