"""The metrics registry, sources, real-statistics cache, metrics.jsonl, the training hook and the CLI."""

import json
import os
from types import SimpleNamespace

import numpy as np
import PIL.Image
import pytest

from stylegan_tf import metrics, presets
from stylegan_tf.errors import UserError
from stylegan_tf.networks.stylegan1.generator import Generator
from stylegan_tf.metrics.__main__ import main as metrics_main
from stylegan_tf.metrics.frechet import feature_statistics, frechet_distance
from stylegan_tf.metrics.inception import CallableExtractor

TINY = presets.get("tiny").network


@pytest.fixture(scope="module")
def G():
    G = Generator(TINY, seed=0)
    for layer in G.synthesis_network.epilogues():
        layer.noise.strength.assign(np.full(layer.noise.strength.shape, 0.5, np.float32))
    return G


class CountingExtractor(CallableExtractor):
    """A tiny fixed random projection of the pixels, counting the images it sees."""

    def __init__(self, dim=8):
        proj = np.random.default_rng(0).standard_normal((16 * 16 * 3, dim)).astype(np.float32) / 40
        self.seen = 0

        def fn(images):
            self.seen += len(images)
            return (images.reshape(len(images), -1).astype(np.float32) / 127.5 - 1) @ proj

        super().__init__(fn, key="toy-projection", dim=dim)


def _reals(n=96, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, 16, 16, 3)).astype(np.uint8)


# Registry ------------------------------------------------------------------------------------
def test_registry_lists_the_metrics():
    names = metrics.list_metrics()
    for name in ("swd16k", "fid50k", "kid50k", "pr50k3", "ppl_zfull", "ppl_wfull", "ppl_zend", "ppl_wend"):
        assert name in names and names[name]
    assert metrics.get_metric("fid50k").num == 50_000
    assert metrics.get_metric("swd16k").needs == ("reals",)
    assert metrics.parse_metric_names("swd16k, fid50k,swd16k") == ["swd16k", "fid50k"]


def test_unknown_metric_lists_the_valid_names():
    with pytest.raises(UserError, match=r"Unknown metric. Received: --metrics='fid'; valid metrics: \[.*'fid50k'"):
        metrics.get_metric("fid")
    with pytest.raises(UserError, match="--metrics names no metric"):
        metrics.parse_metric_names(" , ")


def test_register_metric_twice_is_an_error():
    with pytest.raises(ValueError, match="registered twice"):
        metrics.register_metric("swd16k", num=1)(lambda ctx: {})


def test_bad_options():
    with pytest.raises(UserError, match=r"Unknown metric option\(s\) \['frobnicate'\]"):
        metrics.make_context(None, frobnicate=1)
    with pytest.raises(UserError, match="--batch must be at least 1"):
        metrics.make_context(None, batch_size=0)
    with pytest.raises(UserError, match="--num must be at least 2"):
        metrics.make_context(None, num=1)


# Sources -----------------------------------------------------------------------------------------
def test_sources(tmp_path, G):
    reals = _reals(10)
    array = metrics.ArraySource(reals)
    assert array.key == metrics.ArraySource(reals.copy()).key != metrics.ArraySource(_reals(10, 1)).key
    assert [len(b) for b in array.take(7, 3)] == [3, 3, 1]
    floats = metrics.ArraySource(reals.astype(np.float32) / 127.5 - 1)
    np.testing.assert_array_equal(floats.images, reals)  # the official uint8 conversion inverts x / 127.5 - 1
    for i, image in enumerate(reals[:5]):
        PIL.Image.fromarray(image).save(tmp_path / f"{i}.png")
    folder = metrics.open_real_source(str(tmp_path))
    assert isinstance(folder, metrics.ImageFolderSource) and folder.num_images == 5
    np.testing.assert_array_equal(np.concatenate(list(folder.take(10, 2))), reals[:5])
    np.save(tmp_path / "reals.npy", reals)
    assert metrics.open_real_source(str(tmp_path / "reals.npy")).num_images == 10
    with pytest.raises(UserError, match="--data: no such file or directory"):
        metrics.open_real_source(str(tmp_path / "missing"))
    os.makedirs(tmp_path / "empty")
    with pytest.raises(UserError, match="--data: no image files"):
        metrics.open_real_source(str(tmp_path / "empty"))
    with pytest.raises(UserError, match="NHWC images"):
        metrics.ArraySource(np.zeros((2, 4, 4), np.uint8))


def test_generated_source_is_reproducible_and_batch_independent(G):
    a = np.concatenate(list(metrics.GeneratedSource(G, seed=4).take(6, 4)))
    b = np.concatenate(list(metrics.GeneratedSource(G, seed=4).take(6, 6)))
    np.testing.assert_allclose(a.astype(int), b.astype(int), atol=1)  # the batch size changes only rounding
    c = np.concatenate(list(metrics.GeneratedSource(G, seed=5).take(6, 6)))
    assert a.shape == (6, 16, 16, 3) and a.dtype == np.uint8 and not np.array_equal(a, c)


def test_dataset_source(tmp_path):
    from stylegan_tf.data.dataset import ImageDataset
    from stylegan_tf.data.synthetic import build_synthetic_dataset

    build_synthetic_dataset(str(tmp_path / "ds"), resolution=16, num_images=12)
    source = metrics.open_real_source(str(tmp_path / "ds"), resolution=16)
    assert isinstance(source, metrics.DatasetSource) and source.num_images == 12
    assert source.key == f"dataset-{ImageDataset(str(tmp_path / 'ds')).fingerprint}-r16"
    images = np.concatenate(list(source.take(10, 4)))
    expected = np.stack(list(ImageDataset(str(tmp_path / "ds")).iter_images(16)))[:10]
    np.testing.assert_array_equal(images, expected)
    assert metrics.open_real_source(str(tmp_path / "ds"), resolution=8).key.endswith("-r8")
    # The training loop hands over the ImageDataset itself: read at the generator's resolution.
    G = Generator(TINY, seed=0)
    scalars = metrics.evaluate_snapshot(G, ImageDataset(str(tmp_path / "ds")), ["swd16k"], str(tmp_path / "run"),
                                        kimg=0.0, num=12)
    assert set(scalars) == {"swd16k/avg", "swd16k/16"}
    with pytest.raises(UserError, match="has no 32x32 level"):
        metrics.open_real_source(str(tmp_path / "ds"), resolution=32)


# Computing, caching, metrics.jsonl ---------------------------------------------------------
def test_fid_kid_pr_share_features_and_cache_real_statistics(G, tmp_path):
    reals = metrics.ArraySource(_reals())
    extractor = CountingExtractor()
    options = dict(num=64, batch_size=32, inception=extractor, cache_dir=str(tmp_path / "cache"), progress=False)
    lines = metrics.compute_many("fid50k,kid50k,pr50k3", G, reals, outdir=str(tmp_path), info={"network": "x"},
                                 **options)
    assert extractor.seen == 64 + 64  # reals once, fakes once for the three metrics
    fid_line = lines[0]
    assert fid_line["metric"] == "fid50k" and fid_line["num"] == 64 and fid_line["num_reals"] == 64
    assert fid_line["network"] == "x" and set(lines[1]["results"]) == {"kid50k", "kid50k/std"}
    assert set(lines[2]["results"]) == {"pr50k3/precision", "pr50k3/recall"}
    # The FID is the Fréchet distance of the two feature sets.
    fakes = np.concatenate(list(metrics.GeneratedSource(G, seed=0).take(64, 32)))  # the batch the metric used
    real_stats = feature_statistics(extractor.fn(_reals()[:64]))
    fake_stats = feature_statistics(extractor.fn(fakes))
    assert fid_line["value"] == pytest.approx(frechet_distance(*fake_stats, *real_stats), rel=1e-6)
    written = [json.loads(line) for line in open(tmp_path / "metrics.jsonl")]
    assert [w["metric"] for w in written] == ["fid50k", "kid50k", "pr50k3"]
    # Second evaluation: the real statistics come from the cache (only fakes are extracted).
    cache_files = sorted(os.listdir(tmp_path / "cache"))
    assert any(f.startswith("real-stats-") and f.endswith(".npz") for f in cache_files)
    extractor.seen = 0
    again = metrics.compute("fid50k", G, reals, **options)
    assert extractor.seen == 64 and again["value"] == pytest.approx(fid_line["value"], rel=1e-9)
    # Another dataset: another cache entry.
    metrics.compute("fid50k", G, metrics.ArraySource(_reals(seed=1)), **options)
    assert len(os.listdir(tmp_path / "cache")) > len(cache_files)


class ReplayGenerator:
    """The generator protocol replaying fixed images (cyclically), to measure a set against itself."""

    def __init__(self, images):
        self.images = images.astype(np.float32) / 127.5 - 1
        self.position = 0
        self.config = SimpleNamespace(latent_size=4, label_size=0, resolution=images.shape[1], num_channels=3)
        self.num_layers = 1

    def mapping(self, z, labels=None):
        return np.zeros((len(z), 1, 4), np.float32)

    def synthesis(self, w, noise_mode="random", noise=None):
        index = (self.position + np.arange(len(w))) % len(self.images)
        self.position += len(w)
        return self.images[index]

    def noise_size(self):
        return 1

    def const_noise(self):
        return np.zeros((1, 1), np.float32)


def test_fid_and_swd_of_a_set_with_itself_are_zero():
    reals = _reals(64)
    lines = metrics.compute_many("fid50k,swd16k", ReplayGenerator(reals), metrics.ArraySource(reals), num=64,
                                 inception=CountingExtractor(), progress=False)
    fid, swd = (line["value"] for line in lines)
    assert abs(fid) < 1e-6
    assert swd < 1e-9  # same images, same patch positions


def test_swd_metric_and_training_hook(G, tmp_path):
    reals = metrics.ArraySource(_reals(40))
    run_dir = tmp_path / "results" / "00001-tiny"
    scalars = metrics.evaluate_snapshot(G, reals, ["swd16k"], str(run_dir), kimg=12.5, num=32, batch_size=16)
    assert set(scalars) == {"swd16k/avg", "swd16k/16"} and scalars["swd16k/avg"] > 0
    line = json.loads(open(run_dir / "metrics.jsonl").read().splitlines()[-1])
    assert line["kimg"] == 12.5 and line["metric"] == "swd16k" and line["num_reals"] == 32
    again = metrics.evaluate_snapshot(G, reals, "swd16k", str(run_dir), kimg=13.0, num=32, batch_size=16)
    assert again == scalars  # fixed seed: the same number on every run
    other_batch = metrics.evaluate_snapshot(G, reals, "swd16k", str(run_dir), kimg=13.0, num=32, batch_size=8)
    assert other_batch["swd16k/avg"] == pytest.approx(scalars["swd16k/avg"], rel=1e-2)  # batching: rounding only
    # Fewer reals than requested: the fakes match the real count.
    few = metrics.compute("swd16k", G, metrics.ArraySource(_reals(20)), num=32, progress=False)
    assert few["num_reals"] == 20
    # While growing: synthesise at 8x8, upsample to 16x16.
    grown = metrics.evaluate_snapshot(G, reals, ["swd16k"], str(run_dir), kimg=1.0, num=16, resolution=8)
    assert np.isfinite(grown["swd16k/avg"])


def test_metric_errors(G):
    with pytest.raises(UserError, match="Metric swd16k compares with real images: pass --data"):
        metrics.compute("swd16k", G, None, num=8, progress=False)
    with pytest.raises(UserError, match="fid50k needs Inception-v3 weights.*classify_image_graph_def.pb"):
        metrics.compute("fid50k", G, metrics.ArraySource(_reals(8)), num=8, progress=False)
    small = metrics.ArraySource(np.zeros((8, 8, 8, 3), np.uint8))
    with pytest.raises(UserError, match="the real images are 8x8x3 but the generator makes 16x16x3"):
        metrics.compute("swd16k", G, small, num=8, progress=False)
    with pytest.raises(UserError, match="the real images are 8x8x3"):
        metrics.compute("fid50k", G, small, num=8, inception=CountingExtractor(), progress=False)


# Command line -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def keras_file(G, tmp_path_factory):
    from stylegan_tf import export

    return str(export.save_keras(G, tmp_path_factory.mktemp("net") / "G.keras"))


def test_cli_swd(keras_file, tmp_path, capsys):
    np.save(tmp_path / "reals.npy", _reals(24))
    out = str(tmp_path / "eval")
    assert metrics_main(["--network", keras_file, "--data", str(tmp_path / "reals.npy"), "--metrics", "swd16k",
                         "--num", "24", "--batch", "8", "--outdir", out]) == 0
    line = json.loads(open(os.path.join(out, "metrics.jsonl")).read())
    assert line["metric"] == "swd16k" and line["network"] == keras_file and line["num"] == 24
    assert "appended to" in capsys.readouterr().out


def test_cli_list(capsys):
    assert metrics_main(["--list"]) == 0
    assert "fid50k" in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["--metrics", "fid"], "Unknown metric. Received: --metrics='fid'"),
    (["--metrics", "swd16k"], "--data is required by"),
    (["--metrics", "fid50k", "--data", "DATA"], "fid50k needs Inception-v3 weights"),
    (["--metrics", "fid50k", "--data", "DATA", "--inception", "nope.pb"], "--inception: file not found"),
    (["--metrics", "ppl_wend"], "ppl_wend needs the LPIPS VGG16 weights"),
    (["--metrics", "ppl_wend", "--lpips", "nope.npz"], "--lpips: file not found"),
    (["--metrics", "swd16k", "--data", "missing-dir"], "--data: no such file or directory"),
])
def test_cli_errors(keras_file, tmp_path, capsys, argv, message):
    np.save(tmp_path / "reals.npy", _reals(8))
    argv = [a.replace("DATA", str(tmp_path / "reals.npy")) for a in argv]
    assert metrics_main(["--network", keras_file, "--outdir", str(tmp_path)] + argv) == 2
    assert message in capsys.readouterr().err


def test_cli_missing_network(tmp_path, capsys):
    np.save(tmp_path / "reals.npy", _reals(8))
    assert metrics_main(["--network", str(tmp_path / "none.keras"), "--data", str(tmp_path / "reals.npy")]) == 2
    assert "--network: no such file or directory" in capsys.readouterr().err
    assert metrics_main(["--data", str(tmp_path / "reals.npy")]) == 2
    assert "--network is required" in capsys.readouterr().err


def test_a_generator_without_noise_inputs_is_measured_like_the_others(tmp_path):
    """StyleGAN3 (no noise inputs): a generated source of it gives the same SWD from the Keras G and its
    SavedModel, and the same images for every noise mode."""
    from stylegan_tf import families
    from stylegan_tf.export import SavedModelGenerator, save_saved_model
    from stylegan_tf.metrics.sources import GeneratedSource

    G = families.build_generator(presets.get("stylegan3-tiny").network, name="G")
    assert GeneratedSource(G).noise_size() == 0
    first = [next(GeneratedSource(G, noise_mode=mode).take(4, 4)) for mode in ("random", "const", "none")]
    assert all(np.array_equal(first[0], f) for f in first[1:])
    reals = metrics.ArraySource(_reals(16))
    ours = metrics.compute("swd16k", G, reals, num=16, batch_size=8, progress=False)
    exported = SavedModelGenerator(save_saved_model(G, tmp_path / "sm"))
    theirs = metrics.compute("swd16k", exported, reals, num=16, batch_size=8, progress=False)
    assert np.isfinite(ours["value"]) and ours["value"] > 0
    assert theirs["value"] == pytest.approx(ours["value"], rel=1e-2)   # 1 gray level of export rounding at most
    a = next(GeneratedSource(G).take(4, 4))
    b = next(GeneratedSource(exported).take(4, 4))
    assert np.abs(a.astype(int) - b.astype(int)).max() <= 1
