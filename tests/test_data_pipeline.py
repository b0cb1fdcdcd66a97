"""The tf.data input pipeline: official directories read unchanged, exact pixels and labels, shuffling,
mirroring, determinism, resuming, sharding, iterator checkpoints, and clear errors."""

import os

import numpy as np
import pytest

from stylegan_tf.data.dataset import ImageDataset
from stylegan_tf.data.synthetic import build_synthetic_dataset
from stylegan_tf.errors import UserError

tf = pytest.importorskip("tensorflow")

N, TOP = 13, 32


def _write_official(directory, images: np.ndarray, labels: np.ndarray | None, name: str = "myds") -> None:
    """An official dataset_tool directory, written from the format facts with TensorFlow itself."""
    os.makedirs(directory, exist_ok=True)
    log2 = int(np.log2(images.shape[2]))
    writers = {lg: tf.io.TFRecordWriter(os.path.join(directory, f"{name}-r{lg:02d}.tfrecords"))
               for lg in range(2, log2 + 1)}
    for image in images:  # CHW uint8
        img = image
        for lg in range(log2, 1, -1):
            if lg != log2:
                img = img.astype(np.float32)
                img = (img[:, 0::2, 0::2] + img[:, 0::2, 1::2] + img[:, 1::2, 0::2] + img[:, 1::2, 1::2]) * 0.25
            quant = np.rint(img).clip(0, 255).astype(np.uint8)
            ex = tf.train.Example(features=tf.train.Features(feature={
                "shape": tf.train.Feature(int64_list=tf.train.Int64List(value=quant.shape)),
                "data": tf.train.Feature(bytes_list=tf.train.BytesList(value=[quant.tobytes()]))}))
            writers[lg].write(ex.SerializeToString())
    for writer in writers.values():
        writer.close()
    if labels is not None:
        with open(os.path.join(directory, f"{name}-rxx.labels"), "wb") as f:
            np.save(f, labels.astype(np.float32))


@pytest.fixture(scope="module")
def official(tmp_path_factory):
    directory = str(tmp_path_factory.mktemp("official") / "myds")
    images = np.random.default_rng(0).integers(0, 256, (N, 3, TOP, TOP), dtype=np.uint8)
    classes = np.arange(N) % 4
    labels = np.eye(4, dtype=np.float32)[classes]
    _write_official(directory, images, labels)
    return directory, images, labels


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    directory = str(tmp_path_factory.mktemp("toy") / "toy")
    build_synthetic_dataset(directory, resolution=16, num_images=40, seed=5, shards=4)
    return directory


def _to_uint8(batch) -> np.ndarray:
    return np.rint((batch.numpy() + 1.0) * 127.5).astype(np.uint8)


def test_official_directory_is_read_unchanged(official):
    directory, images, labels = official
    dataset = ImageDataset(directory)
    assert dataset.name == "myds" and dataset.info is None
    assert dataset.resolution == TOP and dataset.resolutions == [4, 8, 16, 32]
    assert dataset.num_images == N and dataset.num_channels == 3 and dataset.label_size == 4
    stream = dataset.make_tf_dataset(32, 5, shuffle_mb=0, repeat=False, deterministic=True, drop_remainder=False)
    assert stream.element_spec[0].shape.as_list() == [None, 32, 32, 3]
    got_images, got_labels = zip(*[(_to_uint8(x), y.numpy()) for x, y in stream])
    np.testing.assert_array_equal(np.concatenate(got_images), images.transpose(0, 2, 3, 1))
    np.testing.assert_array_equal(np.concatenate(got_labels), labels)
    # Lower levels: the exact 2x2 box means of the top level.
    low = np.concatenate([_to_uint8(x) for x, _ in dataset.make_tf_dataset(8, N, shuffle_mb=0, repeat=False)])
    mean = images.astype(np.float64).reshape(N, 3, 8, 4, 8, 4).mean(axis=(3, 5)).transpose(0, 2, 3, 1)
    np.testing.assert_array_equal(low, np.rint(mean))
    assert dataset.verify() == {32: N, 16: N, 8: N, 4: N}
    assert "official StyleGAN TFRecord dataset" in dataset.describe()


def test_images_are_float_nhwc_in_minus_one_one(official):
    dataset = ImageDataset(official[0])
    stream = dataset.make_tf_dataset(16, 4, seed=1)
    assert stream.element_spec[0].shape.as_list() == [4, 16, 16, 3]  # static batch for Keras
    assert stream.element_spec[1].shape.as_list() == [4, 4]
    images, labels = next(iter(stream))
    assert images.dtype == tf.float32 and images.shape == (4, 16, 16, 3)
    assert -1.0 <= float(tf.reduce_min(images)) and float(tf.reduce_max(images)) <= 1.0
    assert labels.shape == (4, 4) and np.all(labels.numpy().sum(axis=1) == 1)
    only_images = next(iter(dataset.make_tf_dataset(16, 4, seed=1, labels=False)))
    assert isinstance(only_images, tf.Tensor)


def test_shuffle_keeps_labels_with_their_images_and_is_deterministic(official):
    directory, images, labels = official
    dataset = ImageDataset(directory)
    make = lambda seed: dataset.make_tf_dataset(32, N, seed=seed, deterministic=True, repeat=False)  # noqa: E731
    x, y = next(iter(make(3)))
    x2, y2 = next(iter(make(3)))
    x3, _ = next(iter(make(4)))
    np.testing.assert_array_equal(x.numpy(), x2.numpy())
    np.testing.assert_array_equal(y.numpy(), y2.numpy())
    assert not np.array_equal(x.numpy(), x3.numpy())
    flat = images.transpose(0, 2, 3, 1).reshape(N, -1)
    order = [int(np.nonzero((flat == img.reshape(1, -1)).all(axis=1))[0][0]) for img in _to_uint8(x)]
    assert sorted(order) != order and sorted(order) == list(range(N))
    np.testing.assert_array_equal(y.numpy(), labels[order])


def test_mirror_augment_flips_about_half(official):
    directory, images, _ = official
    dataset = ImageDataset(directory)
    batches = dataset.make_tf_dataset(32, N, shuffle_mb=0, mirror_augment=True, seed=0, deterministic=True)
    flips = []
    for x, _ in batches.take(8):
        got = _to_uint8(x)
        for img, original in zip(got, images.transpose(0, 2, 3, 1)):
            assert np.array_equal(img, original) or np.array_equal(img, original[:, ::-1])
            flips.append(not np.array_equal(img, original))
    assert 0.3 < np.mean(flips) < 0.7


def test_skip_images_starts_at_a_dataset_position(official):
    directory, images, _ = official
    dataset = ImageDataset(directory)
    first = lambda skip: _to_uint8(next(iter(dataset.make_tf_dataset(  # noqa: E731
        32, 2, shuffle_mb=0, skip_images=skip, deterministic=True)))[0])
    np.testing.assert_array_equal(first(5), images[5:7].transpose(0, 2, 3, 1))
    np.testing.assert_array_equal(first(5 + 3 * N), images[5:7].transpose(0, 2, 3, 1))  # modulo with repeat
    wrap = first(N - 1)
    np.testing.assert_array_equal(wrap, images[[N - 1, 0]].transpose(0, 2, 3, 1))


def test_sharding_splits_without_overlap(official, toy):
    directory, images, _ = official
    dataset = ImageDataset(directory)  # one file per level: every 3rd record
    seen = []
    for index in range(3):
        part = dataset.make_tf_dataset(32, 1, shuffle_mb=0, repeat=False, num_shards=3, shard_index=index,
                                       deterministic=True, labels=False)
        seen.append([int(np.nonzero((images.transpose(0, 2, 3, 1) == _to_uint8(x)[0]).all(axis=(1, 2, 3)))[0][0])
                     for x in part])
    assert seen == [list(range(i, N, 3)) for i in range(3)]
    toy_dataset = ImageDataset(toy)  # 4 shard files per level, 2 workers: whole files each
    assert len(toy_dataset.level(16).files) == 4
    parts = [np.concatenate([_to_uint8(x) for x in toy_dataset.make_tf_dataset(
        16, 1, shuffle_mb=0, repeat=False, num_shards=2, shard_index=i)]) for i in range(2)]
    everything = np.stack(list(toy_dataset.iter_images(16)))
    assert len(parts[0]) == len(parts[1]) == 20
    np.testing.assert_array_equal(np.sort(np.concatenate(parts).reshape(40, -1), axis=0),
                                  np.sort(everything.reshape(40, -1), axis=0))


def test_sharded_levels_read_back_in_record_order(toy):
    dataset = ImageDataset(toy)
    ordered = np.concatenate([_to_uint8(x) for x in dataset.make_tf_dataset(
        16, 8, shuffle_mb=0, repeat=False, deterministic=True)])
    np.testing.assert_array_equal(ordered, np.stack(list(dataset.iter_images(16))))


def test_iterator_checkpoint_resumes_exactly(toy, tmp_path):
    dataset = ImageDataset(toy)
    make = lambda: dataset.make_tf_dataset(8, 4, seed=9, mirror_augment=True, deterministic=True)  # noqa: E731
    iterator = iter(make())
    for _ in range(3):
        next(iterator)
    checkpoint = tf.train.Checkpoint(iterator=iterator)
    path = checkpoint.save(str(tmp_path / "it"))
    expected = [next(iterator).numpy() for _ in range(12)]
    restored = iter(make())
    tf.train.Checkpoint(iterator=restored).restore(path)
    for want in expected:
        np.testing.assert_array_equal(next(restored).numpy(), want)


def test_fingerprint_is_stable_and_content_sensitive(official, toy, tmp_path):
    assert ImageDataset(official[0]).fingerprint == ImageDataset(official[0]).fingerprint
    assert ImageDataset(toy).fingerprint != ImageDataset(official[0]).fingerprint
    other = str(tmp_path / "myds")
    images = np.random.default_rng(1).integers(0, 256, (N, 3, TOP, TOP), dtype=np.uint8)
    _write_official(other, images, None)
    assert ImageDataset(other).fingerprint != ImageDataset(official[0]).fingerprint


def test_clear_errors_for_non_datasets_and_missing_levels(official, tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        ImageDataset(str(tmp_path / "nowhere"))
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "a.png").write_bytes(b"x")
    with pytest.raises(UserError, match="is not a dataset"):
        ImageDataset(str(tmp_path / "photos"))
    with pytest.raises(UserError, match=r"has no 64x64 level; it holds \[4, 8, 16, 32\]"):
        ImageDataset(official[0]).make_tf_dataset(64, 4)
    with pytest.raises(UserError, match="shard_index"):
        ImageDataset(official[0]).make_tf_dataset(32, 4, num_shards=2, shard_index=2)


def _corrupt(directory, name: str, tmp_path) -> str:
    import shutil

    copy = str(tmp_path / os.path.basename(directory))
    shutil.copytree(directory, copy)
    path = os.path.join(copy, name)
    data = bytearray(open(path, "rb").read())
    data[len(data) // 2] ^= 0xFF  # inside some record's pixels: its CRC no longer matches
    open(path, "wb").write(bytes(data))
    return copy


def test_corrupted_record_names_the_file(official, tmp_path):
    copy = _corrupt(official[0], "myds-r05.tfrecords", tmp_path)
    dataset = ImageDataset(copy)  # opening reads only the first record
    with pytest.raises(UserError, match="Corrupted TFRecord file .*myds-r05.tfrecords"):
        dataset.verify()
    with pytest.raises(UserError, match="Corrupted TFRecord file .*myds-r05.tfrecords"):
        with dataset.translate_errors():
            for _ in dataset.make_tf_dataset(32, 4, shuffle_mb=0, repeat=False):
                pass
    # The lower levels are intact and still readable.
    assert len(list(dataset.make_tf_dataset(16, 1, repeat=False))) == N


def test_checksum_and_truncation_are_reported_by_inspect(toy, tmp_path, capsys):
    import shutil
    import sys

    copy = str(tmp_path / "toy")
    shutil.copytree(toy, copy)
    path = os.path.join(copy, "toy-r03-00002-of-00004.tfrecords")
    data = open(path, "rb").read()
    open(path, "wb").write(data[:-9])
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    sys.path.insert(0, os.path.join(repo, "data_prep"))
    try:
        import make_tfrecords
    finally:
        sys.path.pop(0)
    assert make_tfrecords.main(["--inspect", copy]) == 2
    err = capsys.readouterr().err
    assert "toy-r03-00002-of-00004.tfrecords" in err and "Truncated" in err
    assert make_tfrecords.main(["--inspect", toy]) == 0
    out = capsys.readouterr().out
    assert "OK: 3 levels, 40 images each." in out and "16x16" in out
