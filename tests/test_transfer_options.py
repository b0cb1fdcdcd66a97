"""The official train.py transfer-learning switches: --freezed (FreezeD), --glr/--dlr, --cbase/--cmax,
--map, --mbstd-group, --cond/--no-cond, --subset: what each sets, its refusals, FreezeD's layer
order and a frozen step, the subset's images and the labels of an unconditional run."""

import json
import re

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from stylegan_tf import presets
from stylegan_tf.errors import UserError
from stylegan_tf.train import config_from_args, parse_args, training_dataset

RES, COUNT, CLASSES = 8, 24, 3


def _resolve(*argv, dataset_resolution=None):
    return config_from_args(parse_args(list(argv)), dataset_resolution=dataset_resolution)


# Learning rates ----------------------------------------------------------------------------------
def test_glr_and_dlr_set_each_network_at_every_resolution_and_win_over_lrate():
    config, _ = _resolve("--config", "ffhq", "--glr", "0.003", "--dlr", "0.001")
    s = config.schedule
    assert (s.g_lrate_base, s.g_lrate_dict, s.d_lrate_base, s.d_lrate_dict) == (0.003, {}, 0.001, {})
    only_g, _ = _resolve("--config", "ffhq", "--glr", "0.003")
    assert only_g.schedule.g_lrate_dict == {}
    assert only_g.schedule.d_lrate_dict == presets.get("ffhq").schedule.d_lrate_dict
    both, _ = _resolve("--config", "stylegan2-small", "--lrate", "0.001", "--glr", "0.004")
    assert (both.schedule.g_lrate_base, both.schedule.d_lrate_base) == (0.004, 0.001)
    with pytest.raises(UserError, match=r"--dlr must not be negative\. Received: --dlr -0\.1"):
        _resolve("--config", "stylegan2-small", "--dlr", "-0.1")


# Network switches, through each network config's OFFICIAL_OPTIONS -------------------------------------
@pytest.mark.parametrize("preset,fields", [
    ("stylegan2-small", ("channel_base", "channel_max", "mapping_layers", "mbstd_group_size")),
    ("stylegan3-tiny", ("channel_base", "channel_max", "mapping_layers", "mbstd_group_size")),
    ("small", ("fmap_base", "fmap_max", "mapping_layers", "mbstd_group_size"))])
def test_cbase_cmax_map_mbstd_group_set_the_family_s_fields(preset, fields):
    config, _ = _resolve("--config", preset, "--cbase", "2048", "--cmax", "64", "--map", "3", "--mbstd-group", "2")
    net = config.network
    expected_base = 1024 if fields[0] == "fmap_base" else 2048   # TF fmap_base = cbase / 2
    assert [getattr(net, f) for f in fields] == [expected_base, 64, 3, 2]
    # The same D channels per resolution in every family: min(cbase // res, cmax).
    d_net = net.discriminator_config() if hasattr(net, "discriminator_config") else net
    for res in (8, 16, 32):
        channels = net.nf(int(np.log2(res)) - 1) if fields[0] == "fmap_base" else d_net.channels(res)
        assert channels == min(2048 // res, 64)
    same, _ = _resolve("--config", preset, "--map-depth", "3")   # the official StyleGAN3 spelling
    assert same.network.mapping_layers == 3


@pytest.mark.parametrize("argv,message", [
    (("--cbase", "0"), r"--cbase must be at least 1\. Received: --cbase 0"),
    (("--cmax", "0"), r"--cmax must be at least 1\. Received: --cmax 0"),
    (("--map", "0"), r"--map must be at least 1\. Received: --map 0"),
    (("--mbstd-group", "0"), r"--mbstd-group must be at least 1\. Received: --mbstd-group 0"),
    (("--freezed", "-1"), r"--freezed must be at least 0\. Received: --freezed -1")])
def test_out_of_range_switches_are_refused_naming_the_option(argv, message):
    with pytest.raises(UserError, match=message):
        _resolve("--config", "stylegan2-small", *argv)


def test_v1_refuses_freezed_and_an_odd_cbase_but_takes_freezed_0():
    with pytest.raises(UserError, match=r"--freezed is not available for preset 'small'.*Received: --freezed 2"):
        _resolve("--config", "small", "--freezed", "2")
    with pytest.raises(UserError, match=r"--cbase must be even.*Received: --cbase 1001"):
        _resolve("--config", "small", "--cbase", "1001")
    assert _resolve("--config", "small", "--freezed", "0")[0].training.freeze_d == 0


def test_freezed_cond_subset_are_recorded_and_validated():
    config, options = _resolve("--config", "stylegan2-small", "--freezed", "4", "--subset", "100", "--no-cond")
    assert (config.training.freeze_d, options.subset, options.cond) == (4, 100, False)
    assert _resolve("--config", "stylegan2-small", "--cond")[1].cond is True
    assert _resolve("--config", "stylegan2-small")[1].cond is None
    with pytest.raises(UserError, match=r"--subset must be a positive number of images\. Received: 0"):
        _resolve("--config", "stylegan2-small", "--subset", "0")
    with pytest.raises(UserError, match=r"training\.freeze_d.*Received: training\.freeze_d=-2"):
        presets.get("stylegan2-small").replace(training__freeze_d=-2).validate()


def test_every_switch_shows_on_dry_run(capsys):
    from stylegan_tf.train import main

    argv = ["--config", "stylegan2-tiny", "--dry-run", "--freezed", "2", "--glr", "0.003", "--dlr", "0.001",
            "--cbase", "2048", "--cmax", "32", "--map", "3", "--mbstd-group", "2", "--no-cond", "--subset", "9"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    payload = json.loads(out[:out.index("\nSchedule:")])
    net, sched, opts = payload["config"]["network"], payload["config"]["schedule"], payload["options"]
    assert (net["channel_base"], net["channel_max"], net["mapping_layers"], net["mbstd_group_size"]) == (2048, 32, 3, 2)
    assert (sched["g_lrate_base"], sched["d_lrate_base"]) == (0.003, 0.001)
    assert payload["config"]["training"]["freeze_d"] == 2 and (opts["subset"], opts["cond"]) == (9, False)
    assert "FreezeD (--freezed 2): 2 of 7 D block layers frozen (not trained): b16.fromrgb, b16.conv0" in out


# FreezeD ---------------------------------------------------------------------------------------------
def _official_freeze_order(net):
    """The official rule, written out: blocks from the top resolution down; in each, fromrgb when the
    block reads the image (top block, or every block of a skip D), conv0, conv1, skip (resnet)."""
    names = []
    for log2 in range(int(np.log2(net.resolution)), 2, -1):
        res = 2 ** log2
        if res == net.resolution or net.architecture_d == "skip":
            names.append(f"b{res}.fromrgb")
        names += [f"b{res}.conv0", f"b{res}.conv1"]
        if net.architecture_d == "resnet":
            names.append(f"b{res}.skip")
    return names


@pytest.mark.parametrize("architecture", ["resnet", "skip", "orig"])
def test_freeze_layers_follows_the_official_order_and_keeps_the_weight_layout(architecture):
    from stylegan_tf.networks.stylegan2.discriminator import Discriminator

    import dataclasses

    net = dataclasses.replace(presets.get("stylegan2-tiny").network, resolution=32, architecture_d=architecture,
                              label_size=2)
    D = Discriminator(net)
    expected = _official_freeze_order(net)
    assert [name for name, _ in D.freezable_layers()] == expected
    layout = [v.path for v in D.weights]
    for count in (0, 1, 3, len(expected), len(expected) + 5):
        frozen = D.freeze_layers(count)
        assert frozen == expected[:count]
        frozen_ids = {id(v) for name, layer in D.freezable_layers() if name in frozen for v in layer.weights}
        trainable_ids = {id(v) for v in D.trainable_variables}
        assert not frozen_ids & trainable_ids
        assert len(trainable_ids) + len(frozen_ids) == len(D.weights)   # everything else trains
        assert [v.path for v in D.weights] == layout                     # checkpoint layout unchanged
        for part in (D.epilogue, D.mapping):                             # never frozen (official)
            assert all(id(v) in trainable_ids for v in part.weights)


def test_a_frozen_step_leaves_the_frozen_layers_and_trains_the_others():
    from stylegan_tf.training.trainer import Trainer

    config = presets.get("stylegan2-tiny").replace(training__freeze_d=3)
    t = Trainer(config, seed=3)
    t.build_optimizers()
    assert t.frozen_d_layers == ["b16.fromrgb", "b16.conv0", "b16.conv1"]
    layers = dict(t.D.freezable_layers())
    frozen = [v for name in t.frozen_d_layers for v in layers[name].weights]
    others = [v for name, layer in layers.items() if name not in t.frozen_d_layers for v in layer.weights
              if "kernel" in v.path or "weight" in v.path] + [v for v in t.D.epilogue.weights if "kernel" in v.path]
    assert others and frozen
    # Adam holds moments for D's trainable variables only.
    inner = t.d_opt.inner_optimizer
    assert len(inner._momentums) == len(t.D.trainable_variables) < len(t.D.weights)
    assert {v.path for v in inner._trainable_variables} == {v.path for v in t.D.trainable_variables}
    before = [v.numpy().copy() for v in frozen + others]
    reals = tf.random.stateless_uniform([8, 16, 16, 3], [1, 2], -1.0, 1.0)
    stats = t.iteration(reals, None, tf.constant(0.0), tf.constant(0.9), tf.constant(0, tf.int64),
                        phases=t.step_phases(0))
    assert all(np.isfinite(float(v)) for v in stats.values())
    after = [v.numpy() for v in frozen + others]
    for v, b, a in zip(frozen, before, after):
        np.testing.assert_array_equal(a, b, err_msg=v.path)
    for v, b, a in list(zip(others, before[len(frozen):], after[len(frozen):])):
        assert not np.array_equal(a, b), v.path


def test_a_discriminator_without_freezed_layers_refuses_a_count():
    from stylegan_tf.training.freeze import freeze_discriminator

    class PlainD:
        pass

    assert freeze_discriminator(PlainD(), 0) == []
    with pytest.raises(UserError, match=r"--freezed.*PlainD.*Received: training\.freeze_d=2"):
        freeze_discriminator(PlainD(), 2)


# Datasets: --subset, --cond / --no-cond ---------------------------------------------------------------
def _image(i):
    """An 8x8 image that encodes its index in every pixel (red = index, green = 255 - index)."""
    image = np.zeros((RES, RES, 3), np.uint8)
    image[..., 0], image[..., 1], image[..., 2] = i, 255 - i, (7 * i) % 256
    return image


@pytest.fixture(scope="module")
def datasets(tmp_path_factory):
    """One labelled ADA folder (official names, class labels i % 3) and its TFRecords (3 shards),
    and an unlabelled ADA folder."""
    from stylegan_tf.data.ada_convert import ada_to_tfrecords
    from stylegan_tf.data.ada_format import ada_file_name

    root = tmp_path_factory.mktemp("transfer")
    folders = {}
    for name, labelled in (("ada", True), ("plain", False)):
        folder = root / name
        for i in range(COUNT):
            path = folder / ada_file_name(i)
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(_image(i)).save(path)
        if labelled:
            (folder / "dataset.json").write_text(json.dumps(
                {"labels": [[ada_file_name(i), i % CLASSES] for i in range(COUNT)]}))
        folders[name] = folder
    ada_to_tfrecords(str(folders["ada"]), str(root / "tfr"), shards=3)
    from stylegan_tf.data.dataset import open_dataset

    return {"ada": open_dataset(str(folders["ada"])), "tfr": open_dataset(str(root / "tfr")),
            "plain": open_dataset(str(folders["plain"]))}


def _indices(batch):
    images = batch[0] if isinstance(batch, tuple) else batch
    return [int(round(x)) for x in ((images.numpy()[:, 0, 0, 0] + 1.0) * 127.5)]


def _stream(dataset, batches, resolution=RES, **kwargs):
    kwargs = dict(dict(seed=5, deterministic=True, mirror_augment=False), **kwargs)
    iterator = iter(dataset.make_tf_dataset(resolution, 4, **kwargs))
    return [next(iterator) for _ in range(batches)]


@pytest.mark.parametrize("kind", ["tfr", "ada"])
def test_subset_reads_exactly_n_images_with_their_labels(datasets, kind):
    dataset, n = datasets[kind], 7
    rows = dataset.subset_indices(n, seed=11)
    if kind == "tfr":   # the first N records (the images are shuffled when a dataset is written)
        np.testing.assert_array_equal(rows, np.arange(n))
    else:               # the official ImageFolderDataset rule for max_size, random_seed
        np.testing.assert_array_equal(rows, np.sort(np.random.RandomState(11).permutation(COUNT)[:n]))
    record_index = [int(im[0, 0, 0]) for im in dataset.iter_images(RES)]   # the image index of each record
    expected = {record_index[r] for r in rows}
    batches = _stream(dataset, 12, max_images=n, subset_seed=11)            # 48 images: about 7 epochs
    seen = [i for b in batches for i in _indices(b)]
    assert set(seen) == expected and len(expected) == n
    assert all(seen.count(i) >= 5 for i in expected)     # a repeating stream over the subset only
    for b in batches:                                    # labels follow their images: class = index % 3
        np.testing.assert_array_equal(np.argmax(b[1].numpy(), 1), np.asarray(_indices(b)) % CLASSES)
    # Deterministic for its seed (exact resumption), and the same subset at a lower level.
    again = _stream(dataset, 12, max_images=n, subset_seed=11)
    assert [_indices(b) for b in again] == [_indices(b) for b in batches]
    low = _stream(dataset, 6, resolution=4, max_images=n, subset_seed=11)
    assert {i for b in low for i in _indices(b)} == expected


@pytest.mark.parametrize("kind", ["tfr", "ada"])
def test_subset_view_is_what_the_run_and_the_metrics_read(datasets, kind):
    from stylegan_tf.data.view import DatasetView
    from stylegan_tf.metrics.sources import as_source

    dataset = datasets[kind]
    view = DatasetView(dataset, max_images=5, seed=2)
    rows = dataset.subset_indices(5, 2)
    assert view.num_images == 5 and view.fingerprint != dataset.fingerprint
    np.testing.assert_array_equal(view.labels(), np.asarray(dataset.labels())[rows])
    all_images = list(dataset.iter_images(RES))
    assert [int(im[0, 0, 0]) for im in view.iter_images(RES)] == [int(all_images[r][0, 0, 0]) for r in rows]
    source = as_source(view, RES)                       # the snapshot metrics' reals
    metric_images = np.concatenate(list(source.batches(4)))
    assert source.num_images == 5 and sorted(metric_images[:, 0, 0, 0].tolist()) == sorted(
        int(all_images[r][0, 0, 0]) for r in rows)
    for bad in (0, COUNT + 1):
        with pytest.raises(UserError, match=rf"--subset .*between 1 and the {COUNT} images.*Received: --subset {bad}"):
            dataset.subset_indices(bad)


def test_cond_and_no_cond_choose_the_labels(datasets):
    def options(**kw):
        return _resolve("--config", "stylegan2-tiny", *kw.get("argv", ()))[1]

    labelled, plain = datasets["tfr"], datasets["plain"]
    assert training_dataset(labelled, options()) is labelled               # default: conditional when labelled
    assert training_dataset(labelled, options(argv=["--cond"])) is labelled
    with pytest.raises(UserError, match=re.escape(f"--cond trains on the dataset's labels, but dataset {plain.path}")):
        training_dataset(plain, options(argv=["--cond"]))
    view = training_dataset(labelled, options(argv=["--no-cond"]))
    assert view.label_size == 0 and not view.has_labels
    batch = next(iter(view.make_tf_dataset(RES, 4, deterministic=True)))
    assert isinstance(batch, tf.Tensor)                                    # images only, no labels
    with pytest.raises(UserError, match=r"--subset .*Received: --subset 99"):
        training_dataset(labelled, options(argv=["--subset", "99"]))


def test_an_unconditional_run_on_a_labelled_subset_passes_no_labels(datasets, tmp_path, monkeypatch):
    """The loop drops the batches' labels when the network is unconditional, and reads the subset."""
    from stylegan_tf.training import loop
    from stylegan_tf.training.options import RunOptions
    from stylegan_tf.training.trainer import Trainer

    seen = {"labels": [], "images": []}
    iteration, open_reals = Trainer.iteration, loop.open_reals

    def recording_iteration(self, reals, labels, *args, **kwargs):
        seen["labels"].append(labels)
        return iteration(self, reals, labels, *args, **kwargs)

    def recording_open_reals(dataset, *args, **kwargs):
        seen["images"].append(dataset.num_images)
        return open_reals(dataset, *args, **kwargs)

    monkeypatch.setattr(Trainer, "iteration", recording_iteration)
    monkeypatch.setattr(loop, "open_reals", recording_open_reals)
    config = presets.get("stylegan2-tiny").replace(network__resolution=RES, schedule__total_kimg=0.016,
                                                   schedule__tick_kimg_base=0.016)
    options = RunOptions(seed=0, subset=6, export_savedmodel=False)
    summary = loop.run(config, options, tmp_path / "run", datasets["tfr"])
    assert summary["state"]["cur_nimg"] == 16
    assert seen["labels"] and all(labels is None for labels in seen["labels"])
    assert seen["images"] == [6]
