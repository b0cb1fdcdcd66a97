"""Image sources for the metrics: real images (arrays, image folders, datasets) and generated ones.

A source yields uint8 NHWC numpy batches and has a `key` naming its content, used to
cache real-image statistics. Float batches in [-1, 1] (what `stylegan_tf.data`
datasets and the generator produce) are converted to uint8 the official way
(`convert_images_to_uint8`: x * 127.5 + 128, truncated and clipped), because the
official metrics measure the uint8 images a user would save.
"""

from __future__ import annotations

import glob
import hashlib
import os
from typing import Any, Callable, Iterable, Iterator

import numpy as np

from stylegan_tf.errors import UserError
from stylegan_tf.media import to_uint8

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".webp")


def as_uint8(batch) -> np.ndarray:
    """A batch as uint8 NHWC: uint8 passes through, floats are taken as [-1, 1] (official conversion)."""
    batch = np.asarray(batch)
    if batch.dtype == np.uint8:
        return batch
    return to_uint8(batch)


def check_batch(batch: np.ndarray, what: str) -> np.ndarray:
    if batch.ndim != 4 or batch.shape[-1] not in (1, 3):
        raise UserError(f"{what} must be NHWC images with 1 or 3 channels. Received shape: {batch.shape}")
    return batch


class ImageSource:
    """Base class: `key` (cache key of the content), `batches(batch_size)` yielding uint8 NHWC."""

    key: str = ""
    num_images: int | None = None

    def batches(self, batch_size: int) -> Iterator[np.ndarray]:
        raise NotImplementedError

    def take(self, num: int, batch_size: int) -> Iterator[np.ndarray]:
        """At most `num` images in batches of `batch_size` (one pass; fewer if the source is smaller)."""
        left = int(num)
        for batch in self.batches(batch_size):
            if left <= 0:
                break
            batch = check_batch(as_uint8(batch[:left]), f"Images from {self.key}")
            left -= len(batch)
            yield batch


class ArraySource(ImageSource):
    """Images held in memory: uint8 [N, H, W, C] or float [-1, 1]; key = SHA-1 of the uint8 pixels."""

    def __init__(self, images, key: str | None = None):
        self.images = check_batch(as_uint8(images), "ArraySource images")
        self.num_images = len(self.images)
        self.key = key or "array-" + hashlib.sha1(np.ascontiguousarray(self.images).tobytes()).hexdigest()[:16]

    def batches(self, batch_size):
        for start in range(0, len(self.images), batch_size):
            yield self.images[start:start + batch_size]


class CallableSource(ImageSource):
    """Wraps `fn(batch_size) -> iterable of batches` (uint8 or float [-1, 1]) with an explicit cache key."""

    def __init__(self, fn: Callable[[int], Iterable[Any]], key: str, num_images: int | None = None):
        self.fn, self.key, self.num_images = fn, key, num_images

    def batches(self, batch_size):
        for batch in self.fn(batch_size):
            yield as_uint8(np.asarray(batch))


class ImageFolderSource(ImageSource):
    """PNG/JPEG files of one size in a folder (recursively, sorted by path).

    The cache key hashes every file's relative path and size (not the pixels, which would
    mean reading the whole folder twice); re-encoding images in place with the same
    sizes would keep the key, so delete the cache after such an edit.
    """

    def __init__(self, folder: str, option: str = "--data"):
        files = sorted(f for f in glob.glob(os.path.join(folder, "**", "*"), recursive=True)
                       if f.lower().endswith(IMAGE_EXTENSIONS))
        if not files:
            raise UserError(f"{option}: no image files ({', '.join(IMAGE_EXTENSIONS)}) in {folder!r}")
        self.folder, self.files, self.num_images = folder, files, len(files)
        digest = hashlib.sha1()
        for f in files:
            digest.update(f"{os.path.relpath(f, folder)}:{os.path.getsize(f)}\n".encode())
        self.key = "folder-" + digest.hexdigest()[:16]

    def batches(self, batch_size):
        import PIL.Image

        for start in range(0, len(self.files), batch_size):
            images = []
            for f in self.files[start:start + batch_size]:
                with PIL.Image.open(f) as image:
                    images.append(np.asarray(image.convert("RGB")))
            shapes = {im.shape for im in images}
            if len(shapes) != 1:
                raise UserError(f"--data: all images must have one size; {self.folder!r} mixes {sorted(shapes)}")
            yield np.stack(images)


class DatasetSource(ImageSource):
    """Adapter to `stylegan_tf.data.dataset.ImageDataset`: one level, one pass, record order.

    The cache key is the dataset's `fingerprint` (a checksum of its files) plus the
    resolution. Images come from `make_tf_dataset(..., repeat=False, shuffle_mb=0)`: the
    dataset tools shuffle the images once when writing (as the official `dataset_tool.py`),
    so the first N records are a random subset. No mirror augmentation.

    Args:
        dataset: an `ImageDataset`.
        resolution: the level to read; None = the highest.
    """

    def __init__(self, dataset, resolution: int | None = None):
        self.dataset = dataset
        self.resolution = int(resolution or dataset.resolution)
        dataset.level(self.resolution)  # A missing level is a UserError listing the stored ones.
        self.num_images = dataset.num_images
        self.key = f"dataset-{dataset.fingerprint}-r{self.resolution}"

    def batches(self, batch_size):
        stream = self.dataset.make_tf_dataset(self.resolution, batch_size, repeat=False, shuffle_mb=0, labels=False,
                                              drop_remainder=False, deterministic=True)
        with self.dataset.translate_errors(self.resolution):
            for images in stream:
                yield as_uint8(images.numpy())


def as_source(obj, resolution: int | None = None) -> ImageSource | None:
    """An `ImageSource` from what callers hold: a source (as is), an `ImageDataset` (read at
    `resolution`), a numpy array of images, a path (`open_real_source`), or None."""
    if obj is None or isinstance(obj, ImageSource):
        return obj
    if hasattr(obj, "fingerprint") and hasattr(obj, "make_tf_dataset"):
        return DatasetSource(obj, resolution)
    if isinstance(obj, np.ndarray):
        return ArraySource(obj)
    if isinstance(obj, (str, os.PathLike)):
        return open_real_source(obj, resolution)
    raise UserError(f"Real images must be an ImageSource, an ImageDataset, an array or a path. "
                    f"Received: {type(obj).__name__}")


def open_real_source(path: str, resolution: int | None = None, option: str = "--data") -> ImageSource:
    """A real-image source from a path: a dataset directory (`stylegan_tf.data`, ours or official
    TFRecords) read at `resolution`, a folder of PNG/JPEG files, or a `.npy`/`.npz` array of images."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise UserError(f"{option}: no such file or directory. Received: {option}={path!r}")
    if os.path.isfile(path) and path.endswith((".npy", ".npz")):
        try:
            data = np.load(path)
        except (OSError, ValueError) as error:
            raise UserError(f"{option}: cannot read {path!r} as a numpy array ({error})") from error
        images = data if isinstance(data, np.ndarray) else data[data.files[0]]
        with open(path, "rb") as f:
            key = "npy-" + hashlib.sha1(f.read()).hexdigest()[:16]
        return ArraySource(images, key=key)
    if os.path.isdir(path):
        if os.path.isfile(os.path.join(path, "dataset.json")) or glob.glob(os.path.join(path, "*.tfrecords")):
            from stylegan_tf.data.dataset import ImageDataset

            return DatasetSource(ImageDataset(path), resolution)
        return ImageFolderSource(path, option)
    raise UserError(f"{option}: expected a dataset directory, an image folder, or a .npy/.npz array of "
                    f"images. Received: {option}={path!r}")


class GeneratedSource(ImageSource):
    """Images of a generator, reproducible from `seed` and independent of the batch size.

    Latents come from `np.random.default_rng(seed)`, noise from `default_rng([seed, 1])`
    (explicit flat noise, so every generator format gives the same images), labels of
    conditional networks uniformly from `default_rng([seed, 2])`. As the official metrics
    (`is_validation=True`, `randomize_noise=True`): no truncation and random noise by default.

    Args:
        generator: any object with the generator protocol (see `stylegan_tf.generate`).
        psi: truncation psi (1 = off, the official setting for FID/SWD/PPL).
        noise_mode: "random", "const" or "none".
        resolution: for a Keras `Generator` during progressive growing: synthesise at this
            resolution and upsample to full size, as the official network outputs at lod > 0.
    """

    def __init__(self, generator, seed: int = 0, psi: float = 1.0, noise_mode: str = "random",
                 resolution: int | None = None):
        self.G, self.seed, self.psi, self.noise_mode, self.resolution = generator, int(seed), psi, noise_mode, resolution
        self.key = f"generated-seed{seed}"
        self._compiled = None

    def noise_size(self) -> int:
        """Width of the flat noise; 0 for networks without noise inputs (StyleGAN3)."""
        from stylegan_tf import families

        if not families.has_noise_inputs(self.G):
            return 0
        if self.resolution is None:
            return int(self.G.noise_size())
        return int(self.G.noise_size(self.resolution))

    def latents(self, num: int) -> tuple[np.ndarray, np.ndarray | None]:
        """z [num, latent_size] float32 and one-hot labels (None for unconditional networks)."""
        z = np.random.default_rng(self.seed).standard_normal((num, int(self.G.config.latent_size)), np.float32)
        label_size = int(self.G.config.label_size)
        if not label_size:
            return z, None
        classes = np.random.default_rng([self.seed, 2]).integers(0, label_size, num)
        return z, np.eye(label_size, dtype=np.float32)[classes]

    def _synthesis_kwargs(self) -> dict:
        return {} if self.resolution is None else dict(resolution=self.resolution, full_size=True)

    def _synthesis_fn(self):
        """A traced `tf.function` of the synthesis for Keras generators on TensorFlow (about 1.4x the
        eager speed on CPU; results agree to ~1e-5); other generators are called as they are."""
        if self._compiled is None:
            # Empty noise (no noise inputs) is passed as None.
            self._compiled = lambda w, noise: self.G.synthesis(w, noise_mode="random",
                                                               noise=noise if noise.shape[-1] else None,
                                                               **self._synthesis_kwargs())
            import keras

            if isinstance(self.G, keras.Model) and keras.backend.backend() == "tensorflow":
                import tensorflow as tf

                self._compiled = tf.function(self._compiled, autograph=False, reduce_retracing=True)
        return self._compiled

    def synthesize(self, w: np.ndarray, noise: np.ndarray) -> np.ndarray:
        """Float images [N, H, W, C] (nominally [-1, 1]) from w and flat noise [N, noise_size]."""
        images = self._synthesis_fn()(np.asarray(w, np.float32), np.asarray(noise, np.float32))
        return np.asarray(images, np.float32)

    def noise(self, rng: np.random.Generator, count: int) -> np.ndarray:
        size = self.noise_size()
        if self.noise_mode == "random":
            return rng.standard_normal((count, size), np.float32)
        if self.noise_mode == "const" and size:
            if self.resolution is None:
                const = np.asarray(self.G.const_noise(), np.float32)
            else:
                const = np.asarray(self.G.const_noise(self.resolution), np.float32)
            return np.repeat(const.reshape(1, size), count, axis=0)
        return np.zeros((count, size), np.float32)

    def mapping(self, z, labels):
        w = self.G.mapping(z, labels) if labels is not None else self.G.mapping(z)
        if float(self.psi) != 1.0:
            w = self.G.truncate(w, self.psi)
        return np.asarray(w, np.float32)

    def take(self, num: int, batch_size: int) -> Iterator[np.ndarray]:
        z, labels = self.latents(num)
        noise_rng = np.random.default_rng([self.seed, 1])
        for start in range(0, num, batch_size):
            stop = min(num, start + batch_size)
            w = self.mapping(z[start:stop], None if labels is None else labels[start:stop])
            yield as_uint8(self.synthesize(w, self.noise(noise_rng, stop - start)))

    def batches(self, batch_size):
        raise UserError("A generated source is endless: use take(num, batch_size)")
