"""Inception-v3 feature extractors for FID, KID and precision/recall (2048-d pool features).

Two sources of weights, both given as a file path (nothing is ever downloaded):

1. The TTUR frozen graph `classify_image_graph_def.pb` from
   http://download.tensorflow.org/models/image/imagenet/inception-2015-12-05.tgz
   (the graph of Heusel et al.'s TTUR `fid.py`, the one behind published FIDs; the
   official StyleGAN `inception_v3_features.pkl` and StyleGAN2-ADA's
   `inception-2015-12-05.pt` are conversions of it). Images are fed as float 0..255 NHWC
   at their own resolution into the graph's `ExpandDims:0` tensor; the graph itself
   resizes them to 299x299 (its ResizeBilinear, align_corners=False, no antialiasing) and
   normalises them; features are `pool_3:0`. **Use this for paper-comparable FIDs.**
2. Keras' `InceptionV3(include_top=False, pooling="avg")` with the ImageNet weights file
   `inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5` from
   https://storage.googleapis.com/tensorflow/keras-applications/inception_v3/inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5 .
   Images are resized to 299x299 with `tf.image.resize` (bilinear, half-pixel centres) and
   scaled to [-1, 1] (`inception_v3.preprocess_input`). These are different weights and a
   different resize from the TTUR graph: the FIDs are self-consistent, not comparable with
   published numbers.

Every extractor maps uint8 NHWC images to float32 [N, 2048] and has a `key` (kind +
checksum of the weights file) used in the real-statistics cache.
"""

from __future__ import annotations

import hashlib
import os
from typing import Callable

import numpy as np

from stylegan_tf.errors import UserError

TTUR_URL = "http://download.tensorflow.org/models/image/imagenet/inception-2015-12-05.tgz"
KERAS_URL = ("https://storage.googleapis.com/tensorflow/keras-applications/inception_v3/"
             "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5")
WHERE = (f"Either the TTUR graph classify_image_graph_def.pb from {TTUR_URL} (paper-comparable FIDs), or "
         f"Keras' ImageNet weights inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5 from {KERAS_URL}.")
TTUR_INPUT, TTUR_OUTPUT = "ExpandDims:0", "pool_3:0"


def file_digest(path: str, length: int = 12) -> str:
    """SHA-1 of a file's content (first `length` hex digits)."""
    digest = hashlib.sha1()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()[:length]


class FeatureExtractor:
    """uint8 images [N, H, W, 3] -> float32 features [N, dim]; `key` identifies the weights."""

    key: str = ""
    dim: int = 0

    def __call__(self, images: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class CallableExtractor(FeatureExtractor):
    """Any function of uint8 images as an extractor (tests, custom features)."""

    def __init__(self, fn: Callable[[np.ndarray], np.ndarray], key: str, dim: int):
        self.fn, self.key, self.dim = fn, key, int(dim)

    def __call__(self, images):
        return np.asarray(self.fn(images), np.float32).reshape(len(images), -1)


class TTURInception(FeatureExtractor):
    """The TTUR `inception-2015-12-05` frozen graph, imported with `tf.compat.v1.import_graph_def`.

    The input tensor `ExpandDims:0` is remapped to a [None, None, None, 3] float input, so
    any batch size and image size run; only the ops leading to `pool_3:0` execute.

    Args:
        path: `classify_image_graph_def.pb`.
        input_name, output_name: tensor names (defaults: the TTUR ones).
    """

    def __init__(self, path: str, input_name: str = TTUR_INPUT, output_name: str = TTUR_OUTPUT):
        import tensorflow as tf

        graph_def = tf.compat.v1.GraphDef()
        try:
            with open(path, "rb") as f:
                graph_def.ParseFromString(f.read())
        except Exception as error:  # noqa: BLE001  (protobuf raises its own DecodeError)
            raise UserError(f"--inception: {path!r} is not a TensorFlow GraphDef (.pb) file ({error}). "
                            f"Expected: {WHERE}") from error

        def run_graph(images):
            (features,) = tf.compat.v1.import_graph_def(graph_def, input_map={input_name: images},
                                                        return_elements=[output_name], name="")
            return features

        try:
            self._fn = tf.compat.v1.wrap_function(run_graph, [tf.TensorSpec([None, None, None, 3], tf.float32)])
        except (ValueError, KeyError) as error:
            raise UserError(f"--inception: {path!r} has no tensors {input_name} -> {output_name}; is it the TTUR "
                            f"graph? ({error})") from error
        self.dim = int(self._fn.structured_outputs.shape[-1] or 2048)
        self.key = f"ttur-{file_digest(path)}"

    def __call__(self, images):
        import tensorflow as tf

        x = tf.convert_to_tensor(np.asarray(images), tf.float32)
        return np.asarray(self._fn(x), np.float32).reshape(len(images), -1)


class KerasInception(FeatureExtractor):
    """Keras `InceptionV3(include_top=False, pooling="avg")`, built in float32 whatever the global policy.

    Args:
        path: the ImageNet `..._notop.h5` weights; None = random weights, only for
            benchmarks and tests (`allow_random=True` required).
    """

    SIZE = 299

    def __init__(self, path: str | None, allow_random: bool = False):
        import keras

        if path is None and not allow_random:
            raise UserError(f"--inception is required for Inception features. Expected: {WHERE}")
        previous = keras.mixed_precision.global_policy()
        keras.mixed_precision.set_global_policy("float32")
        try:
            self.model = keras.applications.InceptionV3(include_top=False, weights=None, pooling="avg",
                                                        input_shape=(self.SIZE, self.SIZE, 3))
            if path is not None:
                try:
                    self.model.load_weights(path)
                except Exception as error:  # noqa: BLE001  (h5py/keras raise many types)
                    raise UserError(f"--inception: cannot load {path!r} into Keras InceptionV3 without its top "
                                    f"({error}). Expected: {WHERE}") from error
        finally:
            keras.mixed_precision.set_global_policy(previous)
        self.dim = 2048
        self.key = f"keras-{file_digest(path)}" if path else "keras-random"
        self._fn = None

    def __call__(self, images):
        import tensorflow as tf

        if self._fn is None:
            @tf.function(reduce_retracing=True)
            def features(x):
                x = tf.image.resize(tf.cast(x, tf.float32), (self.SIZE, self.SIZE), method="bilinear")
                return self.model(x / 127.5 - 1.0, training=False)

            self._fn = features
        return np.asarray(self._fn(tf.convert_to_tensor(np.asarray(images))), np.float32)


def load_inception(path: str | None, option: str = "--inception", metric: str = "FID") -> FeatureExtractor:
    """The extractor for a weights file: `.pb` -> TTUR graph, `.h5` -> Keras InceptionV3."""
    if path is None:
        raise UserError(f"{metric} needs Inception-v3 weights: pass {option} PATH. {WHERE}")
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise UserError(f"{option}: file not found. Received: {option}={path!r}. Needed: {WHERE}")
    if path.endswith(".pb"):
        return TTURInception(path)
    if path.endswith(".h5"):
        return KerasInception(path)
    raise UserError(f"{option} must be a .pb (TTUR graph) or .h5 (Keras weights) file. Received: {option}={path!r}")
