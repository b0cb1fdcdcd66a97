"""Semantic editing (`stylegan_tf.editing`, `python -m stylegan_tf.edit`): SeFa against a numpy
reference built from the layers' own weights, GANSpace's PCA, InterFaceGAN's classifier direction,
edits at layers, the directions file, and the command line, on 16x16 tiny networks."""

import os

import keras
import numpy as np
import PIL.Image
import pytest

import stylegan_tf  # noqa: F401  (registers the Keras classes)
from stylegan_tf import edit, editing, export, families, presets, probes
from stylegan_tf.errors import UserError


def _tiny(name, seed=1):
    keras.utils.set_random_seed(seed)
    return families.build_generator(presets.get(name).network, name="G")


@pytest.fixture(scope="module")
def G():
    return _tiny("stylegan2-tiny")


@pytest.fixture(scope="module")
def keras_file(G, tmp_path_factory):
    return str(export.save_keras(G, tmp_path_factory.mktemp("net") / "G.keras"))


def _reference_rows(G, layers):
    """SeFa's A for StyleGAN2, read from the modulated convs' affine weights (effective: kernel times
    the equalized-lr scale): conv0 reads w row `block.w_index`, conv1 the next, toRGB the one after."""
    rows = []
    for block in G.synthesis_network.blocks:
        convs = block.conv_layers()
        for k, conv in enumerate(convs):
            index = block.w_index + k
            if index in layers:
                rows.append((conv.affine.kernel.numpy() * conv.affine.weight_scale).T)
        if block.torgb is not None and block.w_index + len(convs) in layers:
            rows.append((block.torgb.affine.kernel.numpy() * block.torgb.affine.weight_scale).T)
    return np.concatenate(rows).astype(np.float64)


@pytest.mark.parametrize("layers", [[1, 2], None])
def test_sefa_first_direction_is_the_top_eigenvector_of_a_numpy_reference(G, layers):
    A = _reference_rows(G, range(G.num_layers) if layers is None else layers)
    A = A / np.linalg.norm(A, axis=1, keepdims=True)          # the authors' per-channel normalisation
    _, singular, vt = np.linalg.svd(A)                         # right singular vectors = eigvecs of A^T A
    directions, values = editing.sefa(G, layers, num=3)
    assert directions.shape == (3, G.config.w_dim)
    np.testing.assert_allclose(values, singular[:3] ** 2, rtol=1e-5)
    assert abs(float(directions[0] @ vt[0])) > 1 - 1e-5
    np.testing.assert_allclose(np.linalg.norm(directions, axis=1), 1.0, atol=1e-6)
    assert abs(float(directions[0] @ directions[1])) < 1e-5


def test_sefa_without_normalisation_is_the_plain_weight(G):
    A = _reference_rows(G, [0, 1])
    _, singular, vt = np.linalg.svd(A)
    directions, values = editing.sefa(G, [0, 1], num=1, normalize=False)
    np.testing.assert_allclose(values[0], singular[0] ** 2, rtol=1e-5)
    assert abs(float(directions[0] @ vt[0])) > 1 - 1e-5


def test_style_affines_of_every_family():
    """One affine per w row for v1 (AdaIN), conv + toRGB affines for StyleGAN2 (toRGB reads the next
    conv's row), the input transform's and each layer's affine for StyleGAN3."""
    v1 = probes.style_affines(_tiny("tiny"))
    assert [a.w_index for a in v1] == list(range(6))
    assert [a.matrix.shape for a in v1] == [(32, 16)] * 4 + [(16, 16)] * 2    # (y_s, y_b) of 16, 16, 8 maps
    sg2 = probes.style_affines(_tiny("stylegan2-tiny"))
    assert [a.w_index for a in sg2] == [0, 1, 1, 2, 3, 3, 4, 5]
    assert [a.name.split("/")[-2] for a in sg2][:3] == ["conv1", "torgb", "conv0"]
    G3 = _tiny("stylegan3-tiny")
    sg3 = probes.style_affines(G3)
    assert [a.w_index for a in sg3] == list(range(G3.num_layers))
    assert sg3[0].matrix.shape == (4, 16)           # (r_c, r_s, t_x, t_y) of the Fourier input
    assert editing.sefa(G3, num=2)[0].shape == (2, 16)


def test_moving_along_a_direction_changes_the_image_monotonically(G):
    d = editing.sefa(G, num=1)[0][0]
    w = np.asarray(G.mapping(np.random.RandomState(5).randn(3, G.config.latent_size).astype(np.float32)))
    base = np.asarray(G.synthesis(w, noise_mode="const"))
    for sign in (1.0, -1.0):
        distances = []
        for alpha in (0.25, 0.5, 1.0, 2.0, 4.0):
            edited = np.asarray(G.synthesis(editing.apply_direction(w, d, sign * alpha), noise_mode="const"))
            distances.append(np.abs(edited - base).mean(axis=(1, 2, 3)))
        distances = np.stack(distances)                     # [strengths, images]
        assert (np.diff(distances, axis=0) > 0).all(), distances


def test_apply_direction_changes_only_the_chosen_layers():
    w = np.random.RandomState(0).randn(2, 6, 4).astype(np.float32)
    d = np.array([1, 0, 0, 0], np.float32)
    out = editing.apply_direction(w, d, 2.5, [1, 3])
    np.testing.assert_array_equal(out[:, [0, 2, 4, 5]], w[:, [0, 2, 4, 5]])
    np.testing.assert_allclose(out[:, [1, 3]] - w[:, [1, 3]], np.broadcast_to(2.5 * d, (2, 2, 4)))
    with pytest.raises(UserError, match="--direction has 3 values"):
        editing.apply_direction(w, d[:3], 1.0)


def test_ganspace_axes_are_the_principal_axes_of_sampled_w(G):
    directions, variances = editing.ganspace(G, num=4, num_samples=600, seed=2)
    samples = editing.sample_w(G, 600, seed=2)
    cov = np.cov(samples.astype(np.float64), rowvar=False)
    values, vectors = np.linalg.eigh(cov)
    np.testing.assert_allclose(variances, values[::-1][:4], rtol=1e-4)
    assert abs(float(directions[0] @ vectors[:, -1])) > 1 - 1e-4
    np.testing.assert_allclose(directions @ directions.T, np.eye(4), atol=1e-5)
    projected = (samples - samples.mean(0)) @ directions.T
    np.testing.assert_allclose(projected.var(axis=0, ddof=1), variances, rtol=1e-3)


def test_interfacegan_direction_separates_a_synthetic_attribute(G):
    """Labels from a hidden direction u of W (with label noise): the classifier's normal finds u
    and separates held-out latents."""
    w = editing.sample_w(G, 400, seed=3).astype(np.float64)
    u = np.random.RandomState(4).randn(w.shape[1])
    u /= np.linalg.norm(u)
    score = (w - w.mean(0)) @ u
    labels = (score + 0.05 * score.std() * np.random.RandomState(5).randn(len(w)) > 0).astype(int)
    direction, offset, accuracy = editing.interfacegan(w[:300], labels[:300])
    assert float(direction @ u) > 0.9 and accuracy > 0.9
    held_out = ((w[300:] @ direction + offset > 0) == (labels[300:] == 1)).mean()
    assert held_out > 0.85
    # Moving a latent of label 0 along the direction crosses the boundary to label 1.
    x = w[np.flatnonzero(labels == 0)[0]]
    assert x @ direction + offset < 0 < (x + 10 * direction) @ direction + offset
    with pytest.raises(UserError, match="both must occur"):
        editing.interfacegan(w[:10], np.zeros(10))


def test_directions_file_round_trip_and_errors(tmp_path):
    d = np.linalg.qr(np.random.RandomState(0).randn(16, 16))[0][:3].astype(np.float32)
    path = editing.save_directions(tmp_path / "d.npz", d, "sefa", [0, 1], [3.0, 2.0, 1.0])
    loaded = editing.load_directions(path, 16)
    np.testing.assert_array_equal(loaded["directions"], d)
    assert loaded["method"] == "sefa" and loaded["layers"] == [0, 1]
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".")]     # no temporary left
    with pytest.raises(UserError, match=r"needs \[K, 8\]"):
        editing.load_directions(path, 8)
    with pytest.raises(UserError, match="no such file"):
        editing.load_directions(tmp_path / "missing.npz", 16)
    (tmp_path / "bad.npz").write_text("not a zip")
    with pytest.raises(UserError, match="cannot read"):
        editing.load_directions(tmp_path / "bad.npz", 16)
    with pytest.raises(UserError, match=r"--index must be in \[0, 3\)"):
        editing.pick_direction(loaded, 3)


def test_command_line_sefa_figure_and_interfacegan(keras_file, tmp_path, capsys):
    out = str(tmp_path / "sefa.npz")
    assert edit.main(["sefa", "--network", keras_file, "--layers", "0-3", "--num", "4", "--out", out]) == 0
    assert editing.load_directions(out, 16)["layers"] == [0, 1, 2, 3]
    assert edit.main(["figure", "--network", keras_file, "--directions", out, "--seeds", "0-2",
                      "--strengths=-4,0,4", "--outdir", str(tmp_path), "--zoom", "2"]) == 0
    with PIL.Image.open(tmp_path / "edit-sefa-0.png") as figure:
        assert figure.width >= 3 * 32 and figure.height >= 3 * 32
    labels = tmp_path / "labels.csv"
    labels.write_text("seed,label\n" + "".join(f"{s},{s % 2}\n" for s in range(12)))
    assert edit.main(["interfacegan", "--network", keras_file, "--labels", str(labels),
                      "--out", str(tmp_path / "ifg.npz")]) == 0
    assert editing.load_directions(tmp_path / "ifg.npz", 16)["method"] == "interfacegan"
    capsys.readouterr()
    assert edit.main(["figure", "--network", keras_file, "--directions", out, "--seeds", "0",
                      "--index", "9", "--outdir", str(tmp_path)]) == 2
    assert "--index must be in [0, 4)" in capsys.readouterr().err
    assert edit.main(["sefa", "--network", str(tmp_path / "none.keras")]) == 2
    assert "--network" in capsys.readouterr().err
