"""The official record format: Example encoding, file names, exact box levels, writing and counting."""

import os

import numpy as np
import pytest

from stylegan_tf.data import records
from stylegan_tf.errors import UserError

tf = pytest.importorskip("tensorflow")


def _tf_example(image: np.ndarray) -> "tf.train.Example":
    """The official dataset_tool's Example, built with TensorFlow."""
    return tf.train.Example(features=tf.train.Features(feature={
        "shape": tf.train.Feature(int64_list=tf.train.Int64List(value=image.shape)),
        "data": tf.train.Feature(bytes_list=tf.train.BytesList(value=[image.tobytes()]))}))


@pytest.mark.parametrize("shape", [(3, 4, 4), (1, 8, 8), (3, 128, 128), (3, 256, 256)])
def test_encode_example_matches_tensorflow(shape):
    image = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    ours = records.encode_example(image)
    example = _tf_example(image)
    assert ours == example.SerializeToString(deterministic=True)
    parsed = tf.io.parse_single_example(ours, {"shape": tf.io.FixedLenFeature([3], tf.int64),
                                               "data": tf.io.FixedLenFeature([], tf.string)})
    assert parsed["shape"].numpy().tolist() == list(shape)
    assert parsed["data"].numpy() == image.tobytes()
    # Our pure-Python decoder reads TensorFlow's serialisation (whatever its map order) and ours.
    np.testing.assert_array_equal(records.decode_example(example.SerializeToString()), image)
    np.testing.assert_array_equal(records.decode_example(ours), image)


def test_decode_example_rejects_other_records():
    with pytest.raises(ValueError, match="expected 'shape' and 'data'"):
        records.decode_example(tf.train.Example().SerializeToString())
    bad = records.encode_example(np.zeros((3, 4, 4), np.uint8))[:-5]
    with pytest.raises(ValueError):
        records.decode_example(bad)


def test_level_file_names():
    assert records.level_file_name("ffhq", 10) == "ffhq-r10.tfrecords"
    assert records.level_file_name("ffhq", 2) == "ffhq-r02.tfrecords"
    assert records.level_file_name("my-set", 8, 3, 16) == "my-set-r08-00003-of-00016.tfrecords"
    assert records.parse_level_file_name("/x/my-set-r08-00003-of-00016.tfrecords") == ("my-set", 8, 3, 16)
    assert records.parse_level_file_name("ffhq-r10.tfrecords") == ("ffhq", 10, 0, 1)
    assert records.parse_level_file_name("ffhq-rxx.labels") is None
    assert records.parse_level_file_name("notes.tfrecords") is None
    assert records.labels_file_name("ffhq") == "ffhq-rxx.labels"


def _official_levels(image: np.ndarray) -> list[np.ndarray]:
    """The official `add_image` loop, written out independently."""
    out, img = [], image
    for lod in range(int(np.log2(image.shape[1])) - 1):
        if lod:
            img = img.astype(np.float32)
            img = (img[:, 0::2, 0::2] + img[:, 0::2, 1::2] + img[:, 1::2, 0::2] + img[:, 1::2, 1::2]) * 0.25
        out.append(np.rint(img).clip(0, 255).astype(np.uint8))
    return out


def test_levels_are_exact_float_box_averages():
    image = np.random.default_rng(1).integers(0, 256, (3, 64, 64), dtype=np.uint8)
    levels = records.build_levels(image)
    assert [lv.shape[1] for lv in levels] == [64, 32, 16, 8, 4]
    for ours, official in zip(levels, _official_levels(image)):
        np.testing.assert_array_equal(ours, official)
    # Each level is the rounded exact mean of the block of top-level pixels (float32 chains are exact).
    for k, level in enumerate(levels):
        f = 2 ** k
        mean = image.astype(np.float64).reshape(3, 64 // f, f, 64 // f, f).mean(axis=(2, 4))
        np.testing.assert_array_equal(level, np.rint(mean).astype(np.uint8))


def test_rounding_is_half_to_even_and_never_accumulates():
    image = np.zeros((1, 16, 16), np.uint8)
    image[0, 0:2, 0:2] = [[1, 2], [1, 2]]        # mean 1.5 -> stored 2 (half to even)
    image[0, 0:2, 2:4] = [[0, 1], [0, 1]]        # mean 0.5 -> stored 0 (half to even)
    image[0, 2:4, 0:2] = [[0, 1], [0, 1]]        # 0.5 -> 0
    image[0, 2:4, 2:4] = [[0, 1], [0, 1]]        # 0.5 -> 0
    levels = records.build_levels(image)
    assert levels[1][0, :2, :2].tolist() == [[2, 0], [0, 0]]
    # The 4x4 block's float mean is (1.5 + 0.5 + 0.5 + 0.5) / 4 = 0.75 -> 1; averaging the stored
    # (rounded) level instead would give (2 + 0 + 0 + 0) / 4 = 0.5 -> 0.
    assert levels[2][0, 0, 0] == 1


def test_level_writer_shards_round_robin_and_counts(tmp_path):
    images = [np.full((3, 8, 8), i, np.uint8) for i in range(7)]
    writer = records.LevelWriter(str(tmp_path), "toy", 3, num_shards=3)
    for image in images:
        writer.write(records.image_records(image))
    files = writer.close()
    assert sorted(files) == [2, 3]
    assert [f.file for f in files[3]] == [f"toy-r03-0000{s}-of-00003.tfrecords" for s in range(3)]
    assert [f.records for f in files[3]] == [3, 2, 2]
    for f in files[3]:
        path = os.path.join(tmp_path, f.file)
        assert f.sha256 == records.file_sha256(path) and f.bytes == os.path.getsize(path)
        assert records.count_records(path) == records.scan_records(path) == f.records
    shard1 = [records.decode_example(r.numpy())[0, 0, 0]
              for r in tf.data.TFRecordDataset(str(tmp_path / "toy-r03-00001-of-00003.tfrecords"))]
    assert shard1 == [1, 4]


def test_truncated_file_is_named(tmp_path):
    path = tmp_path / "x-r02.tfrecords"
    with tf.io.TFRecordWriter(str(path)) as w:
        for _ in range(3):
            w.write(records.encode_example(np.zeros((3, 4, 4), np.uint8)))
    data = path.read_bytes()
    path.write_bytes(data[:-7])
    with pytest.raises(UserError, match="Truncated TFRecord file .*x-r02.tfrecords"):
        records.scan_records(str(path))
    with pytest.raises(UserError, match="x-r02.tfrecords"):
        records.count_records(str(path))
