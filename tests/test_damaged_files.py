"""Damaged files give a `UserError` naming the file and the fault: .npz weight files
(`stylegan_tf.safe_files.load_npz`), `.keras` exports and SavedModels (`export.load_generator`),
`projected_w.npz` and LPIPS weights (their loaders) and dataset shards (opening, training's
reads, `--inspect`)."""

import dataclasses
import io
import shutil
import zipfile

import numpy as np
import pytest

from stylegan_tf.errors import UserError
from stylegan_tf.safe_files import load_npz


@pytest.fixture
def npz(tmp_path):
    path = tmp_path / "weights.npz"
    np.savez(path, a=np.arange(600, dtype=np.float32).reshape(20, 30), b=np.asfortranarray(np.eye(3)))
    return path


def test_load_npz_reads_what_numpy_wrote(npz):
    arrays = load_npz(npz, "test weights")
    with np.load(npz) as reference:
        assert sorted(arrays) == sorted(reference.files)
        for key in reference.files:
            np.testing.assert_array_equal(arrays[key], reference[key])
            assert arrays[key].dtype == reference[key].dtype


def _rewrite_member(path, name, data: bytes):
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(name, data)


def _npy(array, shape=None) -> bytes:
    f = io.BytesIO()
    np.save(f, array, allow_pickle=True)
    data = f.getvalue()
    if shape is not None:   # Forge the header's shape (same length, so the header stays aligned).
        data = data.replace(repr(array.shape).encode(), repr(shape).encode().ljust(len(repr(array.shape))))
    return data


@pytest.mark.parametrize("damage,fault", [
    ("truncate", "BadZipFile"),
    ("flip", "CRC-32"),
    ("objects", "Python objects"),
    ("forged shape", "promises"),
    ("missing", "no such file"),
])
def test_damaged_npz_is_a_user_error_naming_file_and_fault(npz, damage, fault):
    if damage == "truncate":
        npz.write_bytes(npz.read_bytes()[:500])
    elif damage == "flip":
        data = bytearray(npz.read_bytes())
        data[1000] ^= 0x01   # Inside a's float data.
        npz.write_bytes(bytes(data))
    elif damage == "objects":
        _rewrite_member(npz, "a.npy", _npy(np.array([{"x": 1}], dtype=object)))
    elif damage == "forged shape":
        _rewrite_member(npz, "a.npy", _npy(np.zeros((2, 3), np.float32), shape=(99999, 99999)))
    else:
        npz.unlink()
    with pytest.raises(UserError, match=rf"test weights {npz}.*{fault}"):
        load_npz(npz, "test weights")


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    """A .keras file and a SavedModel of a tiny generator."""
    from stylegan_tf import families, presets
    from stylegan_tf.export import save_keras, save_saved_model

    root = tmp_path_factory.mktemp("exports")
    G = families.build_generator(dataclasses.replace(presets.get("tiny").network, resolution=8), name="Gs")
    return save_keras(G, root / "g.keras"), save_saved_model(G, root / "saved_model")


def _damage(path, how):
    data = path.read_bytes()
    if how == "truncate":
        path.write_bytes(data[: len(data) // 2])
    else:
        flipped = bytearray(data)
        flipped[len(data) // 2] ^= 0xFF
        path.write_bytes(bytes(flipped))


@pytest.mark.parametrize("target,how,fault", [
    ("g.keras", "truncate", "BadZipFile"),
    ("g.keras", "flip", "fails its CRC-32"),
    ("saved_model.pb", "truncate", "damaged"),
    ("variables/variables.data-00000-of-00001", "flip", "damaged"),
    ("variables/variables.data-00000-of-00001", "truncate", "damaged"),
    ("stylegan_tf_config.json", "truncate", "stylegan_tf_config.json is missing or damaged"),
])
def test_damaged_exports_are_a_user_error_naming_them(tmp_path, exports, target, how, fault):
    from stylegan_tf.export import load_generator

    keras_file, saved_model = exports
    if target == "g.keras":
        path = shutil.copy(keras_file, tmp_path / "g.keras")
        _damage(tmp_path / "g.keras", how)
    else:
        path = shutil.copytree(saved_model, tmp_path / "saved_model")
        _damage(path / target, how)
    with pytest.raises(UserError, match=fault) as info:
        load_generator(path)
    assert str(path) in str(info.value)


def _projected_w(path):
    from stylegan_tf.projection import load_projected_w

    np.savez(path, w=np.arange(2 * 4 * 16, dtype=np.float32).reshape(2, 4, 16))
    return lambda: load_projected_w(path, 4, 16)


def _lpips_weights(path):
    from stylegan_tf.metrics import lpips

    np.savez(path, **lpips.random_weights(channels=(4, 4, 4, 4, 4)))
    return lambda: lpips.load_weights(str(path))


@pytest.mark.parametrize("how,fault", [("truncate", "BadZipFile"), ("flip", "Bad CRC-32")])
@pytest.mark.parametrize("make", [_projected_w, _lpips_weights], ids=["projected_w", "lpips"])
def test_damaged_projected_w_and_lpips_weights_are_a_user_error_naming_them(tmp_path, make, how, fault):
    path = tmp_path / "file.npz"
    load = make(path)
    load()   # Intact: loads.
    _damage(path, how)
    with pytest.raises(UserError, match=fault) as info:
        load()
    assert str(path) in str(info.value)


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    """A toy dataset (8x8 and 4x4 levels, 2 shards a level)."""
    from stylegan_tf.data.synthetic import build_synthetic_dataset

    path = tmp_path_factory.mktemp("data") / "faces"
    build_synthetic_dataset(str(path), resolution=8, num_images=32, seed=0, shards=2)
    return path


def _damaged_dataset(shards, tmp_path, how):
    copy = shutil.copytree(shards, tmp_path / "faces")
    (shard,) = copy.glob("*-r03-00001-of-00002.tfrecords")
    _damage(shard, how)
    return copy, shard


def test_a_truncated_shard_is_named_on_opening(shards, tmp_path):
    """TensorFlow itself reads a truncated file's intact records and stops silently: training would
    run on part of the data. The size recorded in dataset.json catches it when the dataset opens."""
    from stylegan_tf.data.dataset import ImageDataset

    copy, shard = _damaged_dataset(shards, tmp_path, "truncate")
    with pytest.raises(UserError, match=rf"Truncated TFRecord file {shard}: \d+ bytes, dataset.json records \d+"):
        ImageDataset(str(copy))


def test_a_corrupted_shard_is_named_when_training_and_inspecting(shards, tmp_path, capsys):
    from stylegan_tf.data import tool
    from stylegan_tf.data.dataset import ImageDataset

    copy, shard = _damaged_dataset(shards, tmp_path, "flip")
    dataset = ImageDataset(str(copy))   # Same size: opening reads no records.
    with pytest.raises(UserError, match=rf"Corrupted TFRecord file {shard}: corrupted record"):
        with dataset.translate_errors():   # As train.py wraps the training loop.
            stream = iter(dataset.make_tf_dataset(8, 8, seed=0, deterministic=True))
            for _ in range(4):   # Two passes over the 16 images of each shard.
                next(stream)
    assert tool.main(["--inspect", str(copy)]) == 2
    assert str(shard) in capsys.readouterr().err
