"""Inception feature extractors: the TTUR frozen-graph loader (on a small graph with the TTUR
tensor names and layout) and the weights-file errors. Nothing is downloaded."""

import numpy as np
import pytest

from stylegan_tf.errors import UserError
from stylegan_tf.metrics import inception


def _kernel():
    return np.random.RandomState(0).randn(3, 3, 3, 5).astype(np.float32)


def _write_ttur_like_graph(path):
    """A frozen graph shaped like classify_image_graph_def.pb: a JPEG input, ExpandDims (batch 1),
    ResizeBilinear to a fixed size, (x - 128) / 128, a conv, pool_3, a reshape to [1, C] and softmax."""
    import tensorflow as tf

    tf1 = tf.compat.v1
    graph = tf.Graph()
    with graph.as_default():
        contents = tf1.placeholder(tf.string, shape=[], name="DecodeJpeg/contents")
        image = tf.io.decode_jpeg(contents, channels=3, name="DecodeJpeg")
        x = tf.expand_dims(tf.cast(image, tf.float32, name="Cast"), 0, name="ExpandDims")
        x = tf1.image.resize_bilinear(x, tf.constant([8, 8]), name="ResizeBilinear")
        x = tf.multiply(tf.subtract(x, 128.0, name="Sub"), 1 / 128.0, name="Mul")
        x = tf.nn.relu(tf.nn.conv2d(x, tf.constant(_kernel()), 1, "SAME"))
        pool = tf.nn.avg_pool2d(x, 8, 1, "VALID", name="pool_3")
        tf.nn.softmax(tf.reshape(pool, [1, 5], name="pool_3/_reshape"), name="softmax")
    with open(path, "wb") as f:
        f.write(graph.as_graph_def().SerializeToString())


def test_ttur_graph_runs_batches_at_any_size(tmp_path):
    import tensorflow as tf

    path = str(tmp_path / "classify_image_graph_def.pb")
    _write_ttur_like_graph(path)
    extractor = inception.load_inception(path)
    assert isinstance(extractor, inception.TTURInception) and extractor.dim == 5
    assert extractor.key.startswith("ttur-") and extractor.key == inception.TTURInception(path).key
    images = np.random.default_rng(0).integers(0, 256, (4, 16, 16, 3)).astype(np.uint8)
    features = extractor(images)
    x = (tf.compat.v1.image.resize_bilinear(images.astype(np.float32), [8, 8]) - 128.0) / 128.0
    expected = tf.reduce_mean(tf.nn.relu(tf.nn.conv2d(x, _kernel(), 1, "SAME")), axis=[1, 2])
    np.testing.assert_allclose(features, expected.numpy(), rtol=1e-5, atol=1e-6)
    assert extractor(images[:1, :12, :12]).shape == (1, 5)


def test_missing_and_wrong_files(tmp_path):
    with pytest.raises(UserError, match="FID needs Inception-v3 weights: pass --inception PATH.*inception-2015-12-05"):
        inception.load_inception(None)
    with pytest.raises(UserError, match="--inception: file not found.*inception_v3_weights_tf_dim_ordering"):
        inception.load_inception(str(tmp_path / "missing.pb"))
    (tmp_path / "weights.bin").write_bytes(b"x")
    with pytest.raises(UserError, match=r"--inception must be a .pb \(TTUR graph\) or .h5"):
        inception.load_inception(str(tmp_path / "weights.bin"))
    (tmp_path / "junk.pb").write_bytes(b"\xff\xfe not a graph")
    with pytest.raises(UserError, match="is not a TensorFlow GraphDef"):
        inception.load_inception(str(tmp_path / "junk.pb"))
    with pytest.raises(UserError, match="--inception is required"):
        inception.KerasInception(None)


def test_graph_without_the_ttur_tensors(tmp_path):
    import tensorflow as tf

    graph = tf.Graph()
    with graph.as_default():
        tf.compat.v1.placeholder(tf.float32, [None, 4], name="input")
    path = tmp_path / "other.pb"
    path.write_bytes(graph.as_graph_def().SerializeToString())
    with pytest.raises(UserError, match="has no tensors ExpandDims:0 -> pool_3:0"):
        inception.load_inception(str(path))
