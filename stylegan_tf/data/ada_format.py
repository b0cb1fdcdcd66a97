"""The StyleGAN2-ADA / StyleGAN3 dataset format: read it for training, convert to and from TFRecords.

The official `dataset_tool.py` (NVlabs/stylegan2-ada-pytorch, NVlabs/stylegan3) writes a zip
(uncompressed, ZIP_STORED) or a folder of PNGs (PIL, `compress_level=0`) named by their index i
as `f"{i:08d}"[:5] + "/img" + f"{i:08d}" + ".png"` (`00000/img00000000.png`, 1000 per folder), and
a `dataset.json` at the root: `{"labels": [[file name, label], ...]}` or `{"labels": null}`. Its
`training/dataset.py` (`ImageFolderDataset`) reads every file with an image extension, sorted
by name (recursively in a folder); all images have one square power-of-two size; an integer
label is a class (one-hot, label_size = max + 1), a list of numbers a float label vector.

`AdaDataset(path)` opens such a zip or folder with the interface training and the metrics use
(`make_tf_dataset`, `resolution`, `resolutions`, `num_channels`, `num_images`, `label_size`,
`labels()`, `fingerprint`, `describe()`, `level()`, `iter_images()`, `verify()`,
`translate_errors()`). Choice: the images are read and decoded as they are needed (nothing is
converted or cached on disk); the lower levels for progressive growing are computed from the
decoded image with the TFRecord writer's float 2x2 box chain (`records.build_levels`, in
TensorFlow), so level r of an ADA dataset equals level r of the TFRecords converted from it.
Unlike `ImageDataset`, the order is shuffled as indices (the whole dataset, reshuffled every
epoch), `skip_images` resumes at the exact position of an uninterrupted stream, and a zip's
members are read through `tf.numpy_function` (so such an iterator cannot be saved with
`tf.train.Checkpoint`; folders are read with TensorFlow ops only).

Conversions (`python data_prep/make_tfrecords.py --to-ada` / `--from-ada`, docs/datasets.md):
`tfrecords_to_ada` writes a dataset's top (or `--resolution`) level in record order as the
official PNGs and `dataset.json`; `ada_to_tfrecords` writes an ADA dataset's images in file
order as the official TFRecords (every level, labels as the official one-hot `.labels`). Pixels
are kept exactly both ways; the zips we write are deterministic (fixed member times), so
TFRecords -> ADA -> TFRecords -> ADA gives byte-identical records and zips.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import zipfile
from typing import Iterator

import numpy as np

from stylegan_tf.data import records
from stylegan_tf.data.layout import check_stream_options
from stylegan_tf.errors import UserError

ADA_JSON = "dataset.json"
TF_DECODABLE = (".png", ".jpg", ".jpeg", ".bmp", ".gif")   # what tf.io.decode_image reads
ZIP_DATE_TIME = (1980, 1, 1, 0, 0, 0)                         # fixed member times: deterministic zips
_DEFAULT_SHUFFLE_MB = 4096


def ada_file_name(index: int) -> str:
    """The official name of image `index`: `00000/img00000000.png`."""
    idx = f"{index:08d}"
    return f"{idx[:5]}/img{idx}.png"


def _image_extensions() -> set[str]:
    import PIL.Image

    PIL.Image.init()
    return {ext.lower() for ext in PIL.Image.EXTENSION}


def is_ada_dataset(path: str) -> bool:
    """Whether `open_dataset` should read `path` as an ADA dataset: a zip file, or a folder that is not
    a TFRecord dataset (no `*.tfrecords`, no stylegan_tf `dataset.json`) but holds images or an ADA
    `dataset.json` (`{"labels": ...}`)."""
    from stylegan_tf.data.layout import FORMAT_NAME, INCOMPLETE_MARKER

    if os.path.isfile(path):
        return zipfile.is_zipfile(path) or path.lower().endswith(".zip")
    if not os.path.isdir(path) or os.path.exists(os.path.join(path, INCOMPLETE_MARKER)):
        return False
    entries = os.listdir(path)
    if any(records.parse_level_file_name(e) for e in entries):
        return False
    meta = os.path.join(path, ADA_JSON)
    if os.path.isfile(meta):
        try:
            with open(meta, encoding="utf-8") as f:
                info = json.load(f)
        except (OSError, ValueError):
            return False
        return isinstance(info, dict) and info.get("format") != FORMAT_NAME and "labels" in info
    extensions = _image_extensions()
    return any(os.path.splitext(e)[1].lower() in extensions for e in entries) or any(
        os.path.isdir(os.path.join(path, e)) and e.isdigit() for e in entries)


def _decode(data: bytes, name: str, channels: int | None = None) -> np.ndarray:
    """uint8 [H, W, C] of an image file (PIL; gray stays 1 channel unless `channels` says 3)."""
    import PIL.Image

    try:
        img = PIL.Image.open(io.BytesIO(data))
        img.load()
    except Exception as exc:  # noqa: BLE001 - any decoder failure is this file's problem
        raise UserError(f"{name} is not a readable image: {type(exc).__name__}: {exc}") from None
    if channels is None:
        channels = 1 if img.mode in ("1", "L", "I", "I;16", "F") else 3
    arr = np.asarray(img.convert("L" if channels == 1 else "RGB"), dtype=np.uint8)
    return arr.reshape(arr.shape[0], arr.shape[1], channels)


class AdaDataset:
    """An official StyleGAN2-ADA / StyleGAN3 dataset (zip or folder), read like `ImageDataset`.

    Raises:
        UserError: not a zip/folder, no images, an image that is not square power-of-two, a bad
            `dataset.json` (not JSON, labels not `[[name, label], ...]`, an image without a label).
    """

    info = None            # no stylegan_tf dataset.json
    label_classes = None   # the format stores class numbers only

    def __init__(self, path: str):
        self.path = os.path.abspath(path)
        self.name = os.path.splitext(os.path.basename(self.path.rstrip(os.sep)))[0]
        if not os.path.exists(path):
            raise UserError(f"Dataset {path} does not exist.")
        self.is_zip = os.path.isfile(path)
        self._zip: zipfile.ZipFile | None = None
        if self.is_zip:
            try:
                with zipfile.ZipFile(path) as archive:
                    self._infos = {i.filename: i for i in archive.infolist() if not i.is_dir()}
            except (zipfile.BadZipFile, OSError) as exc:
                raise UserError(f"Dataset {path} is not a readable zip file: {exc}") from None
            all_names = set(self._infos)
        else:
            all_names = set()
            for root, _, files in os.walk(self.path):
                for file in files:
                    all_names.add(os.path.relpath(os.path.join(root, file), self.path).replace(os.sep, "/"))
        extensions = _image_extensions()
        self.files = sorted(n for n in all_names if os.path.splitext(n)[1].lower() in extensions)
        if not self.files:
            raise UserError(f"Dataset {path} holds no image files (an ADA dataset is a zip or folder of PNGs).")
        self.num_images = len(self.files)
        first = _decode(self.read_bytes(self.files[0]), self._where(self.files[0]))
        h, w, c = first.shape
        if h != w or h < 4 or h & (h - 1):
            raise UserError(f"{self._where(self.files[0])} is {w}x{h}: the images of an ADA dataset must be square "
                            f"with a power-of-two side of at least 4 (convert with --source and --transform).")
        self._resolution, self._channels = h, c
        self._labels = self._load_labels(all_names)
        self.label_size = 0 if self._labels is None else int(self._labels.shape[1])

    # -- Opening ---------------------------------------------------------------------------------

    def _where(self, name: str) -> str:
        return f"{self.path}:{name}" if self.is_zip else os.path.join(self.path, name)

    def read_bytes(self, name: str) -> bytes:
        """The bytes of one file of the dataset (a zip member or a file of the folder)."""
        try:
            if self.is_zip:
                if self._zip is None:
                    self._zip = zipfile.ZipFile(self.path)
                return self._zip.read(name)
            with open(os.path.join(self.path, name), "rb") as f:
                return f.read()
        except (OSError, zipfile.BadZipFile, KeyError, RuntimeError) as exc:
            raise UserError(f"Cannot read {self._where(name)}: {type(exc).__name__}: {exc}") from None

    def __getstate__(self) -> dict:
        return dict(self.__dict__, _zip=None)

    def _load_labels(self, all_names: set[str]) -> np.ndarray | None:
        if ADA_JSON not in all_names:
            return None
        where = self._where(ADA_JSON)
        try:
            meta = json.loads(self.read_bytes(ADA_JSON).decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise UserError(f"{where} is not valid JSON: {exc}") from None
        if not isinstance(meta, dict) or "labels" not in meta:
            raise UserError(f"{where} must be an object {{\"labels\": [[name, label], ...] or null}}.")
        pairs = meta["labels"]
        if pairs is None:
            return None
        if not isinstance(pairs, list) or not all(isinstance(p, list) and len(p) == 2 and isinstance(p[0], str)
                                                  for p in pairs):
            raise UserError(f"{where}: \"labels\" must be a list of [file name, label] pairs or null.")
        table = {name.replace("\\", "/"): label for name, label in pairs}
        missing = [n for n in self.files if n not in table]
        if missing:
            raise UserError(f"{where} has no label for {len(missing)} image(s), the first {missing[0]!r}.")
        values = [table[n] for n in self.files]
        if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            classes = np.asarray(values, np.int64)
            if classes.min() < 0:
                raise UserError(f"{where}: class labels must be >= 0. Received: {int(classes.min())}")
            onehot = np.zeros((len(values), int(classes.max()) + 1), np.float32)
            onehot[np.arange(len(values)), classes] = 1.0
            return onehot
        try:
            vectors = np.asarray(values, np.float32)
        except (TypeError, ValueError):
            vectors = None
        if vectors is None or vectors.ndim != 2 or not np.all(np.isfinite(vectors)):
            raise UserError(f"{where}: every label must be a class number (int >= 0) or a list of numbers of one "
                            f"length.")
        return vectors

    # -- Properties ------------------------------------------------------------------------------

    @property
    def resolution(self) -> int:
        return self._resolution

    @property
    def resolutions(self) -> list[int]:
        """Every level: the stored images and their box-filtered levels down to 4x4."""
        return [2 ** lg for lg in range(records.MIN_RESOLUTION_LOG2, self._resolution.bit_length())]

    @property
    def num_channels(self) -> int:
        return self._channels

    @property
    def has_labels(self) -> bool:
        return self.label_size > 0

    def level(self, resolution: int):
        from stylegan_tf.data.layout import Level

        if resolution not in self.resolutions:
            raise UserError(f"Dataset {self.path} has no {resolution}x{resolution} level; it holds "
                            f"{self.resolutions}. Received: resolution={resolution}")
        return Level(resolution, (self.path,), (self._channels, resolution, resolution), (self.num_images,), None)

    def labels(self) -> np.ndarray:
        """float32 [N, label_size]: one-hot rows of the class labels, or the label vectors; file order."""
        if self._labels is None:
            raise UserError(f"Dataset {self.path} has no labels.")
        return self._labels

    @property
    def fingerprint(self) -> str:
        """A stable checksum for caches: names, sizes and CRC-32s of a zip's members; names and sizes of
        a folder's files plus the hash of its first and last image; `dataset.json`'s hash."""
        digest = hashlib.sha256(f"ada:{self._resolution}:{self._channels}\n".encode())
        for name in self.files:
            if self.is_zip:
                info = self._infos[name]
                digest.update(f"{name}:{info.file_size}:{info.CRC:08x}\n".encode())
            else:
                digest.update(f"{name}:{os.path.getsize(os.path.join(self.path, name))}\n".encode())
        if not self.is_zip:
            for name in {self.files[0], self.files[-1]}:
                digest.update(hashlib.sha256(self.read_bytes(name)).digest())
        if self._labels is not None:
            digest.update(hashlib.sha256(self._labels.tobytes()).digest())
        return digest.hexdigest()[:20]

    def describe(self) -> str:
        kind = "StyleGAN2-ADA/StyleGAN3 dataset (" + ("zip" if self.is_zip else "folder") + ")"
        labels = (f"{self.label_size}-dim labels" if self.has_labels else "none")
        return "\n".join([
            f"Dataset {self.path}", f"  kind:        {kind}", f"  name:        {self.name}",
            f"  images:      {self.num_images}", f"  channels:    {self.num_channels}",
            f"  resolution:  {self.resolution}x{self.resolution} (levels {self.resolutions[0]}.."
            f"{self.resolution} by the 2x2 box filter)",
            f"  labels:      {labels}", f"  fingerprint: {self.fingerprint}",
            f"  files:       {self.files[0]} ... {self.files[-1]}"])

    # -- Reading ---------------------------------------------------------------------------------

    def image(self, index: int) -> np.ndarray:
        """Image `index` (file order) as uint8 [R, R, C], its size checked."""
        name = self.files[index]
        image = _decode(self.read_bytes(name), self._where(name), self._channels)
        if image.shape[:2] != (self._resolution, self._resolution):
            raise UserError(f"{self._where(name)} is {image.shape[1]}x{image.shape[0]}; the dataset's images are "
                            f"{self._resolution}x{self._resolution} (from {self.files[0]}).")
        return image

    def iter_images(self, resolution: int | None = None) -> Iterator[np.ndarray]:
        """The images at one level in file order, uint8 HWC (lower levels: `records.build_levels`)."""
        res = resolution or self._resolution
        self.level(res)
        depth = (self._resolution // res).bit_length() - 1
        for i in range(self.num_images):
            image = self.image(i)
            if depth:
                image = records.build_levels(np.ascontiguousarray(image.transpose(2, 0, 1)))[depth].transpose(1, 2, 0)
            yield image

    def verify(self, checksums: bool = True, progress: bool = False) -> dict:
        """Decodes every image and checks its size; returns {resolution: N} for every level."""
        for i in range(self.num_images):
            self.image(i)
            if progress:
                print(f"\r  {i + 1}/{self.num_images} images", end="", flush=True)
        if progress:
            print(flush=True)
        return {res: self.num_images for res in reversed(self.resolutions)}

    @contextlib.contextmanager
    def translate_errors(self, resolution: int | None = None):
        """TensorFlow's decoding errors (a damaged or wrongly sized image) as a `UserError` naming the file."""
        import tensorflow as tf

        try:
            yield
        except (tf.errors.InvalidArgumentError, tf.errors.UnknownError) as exc:
            message = getattr(exc, "message", str(exc)).split("[Op:")[0].strip()
            raise UserError(f"Dataset {self.path}: {message}") from exc

    def subset_indices(self, max_images: int | None = None, seed: int = 0) -> np.ndarray:
        """The file indices of a subset of `max_images` images, as the official `ImageFolderDataset`
        (`max_size`, `random_seed`: `--subset` with the run's `--seed`): if N is below the image count,
        `np.random.RandomState(seed % 2**31)` shuffles the indices in file order and the first N, sorted,
        are kept; else every image. The same images at every level.

        Raises:
            UserError: `max_images` not between 1 and the number of images.
        """
        rows = np.arange(self.num_images, dtype=np.int64)
        if max_images is None:
            return rows
        from stylegan_tf.data.view import check_max_images

        count = check_max_images(self.path, self.num_images, max_images)
        if count < rows.size:
            np.random.RandomState(int(seed) % (1 << 31)).shuffle(rows)
            rows = np.sort(rows[:count])
        return rows

    def make_tf_dataset(self, resolution: int | None = None, batch_size: int = 32, *,
                        mirror_augment: bool = False, shuffle_mb: int = _DEFAULT_SHUFFLE_MB, repeat: bool = True,
                        seed: int | None = None, deterministic: bool = False, num_shards: int = 1,
                        shard_index: int = 0, skip_images: int = 0, labels: bool = True,
                        drop_remainder: bool = True, read_buffer_mb: int = 0,
                        max_images: int | None = None, subset_seed: int = 0, uint8: bool = False):
        """Batches of one level, as `ImageDataset.make_tf_dataset` (same arguments and elements:
        float32 [B, R, R, C] in [-1, 1], or with `uint8` the pixels as stored, unflipped; with one-hot /
        vector labels when the dataset has them).

        `shuffle_mb` > 0 shuffles the whole shard's image order (indices, reshuffled every epoch);
        0 keeps file order. Shard `k` of `n` reads images k, k + n, ... (of the subset); `skip_images`
        skips that many images of this shard's stream before anything is decoded. `max_images`,
        `subset_seed`: read only `subset_indices(max_images, subset_seed)` (official `--subset`; None =
        all). `read_buffer_mb` is unused.
        """
        import tensorflow as tf

        res = self._resolution if resolution is None else resolution
        self.level(res)
        check_stream_options(batch_size=batch_size, num_shards=num_shards, shard_index=shard_index,
                             skip_images=skip_images, shuffle_mb=shuffle_mb)
        indices = self.subset_indices(max_images, subset_seed)[shard_index::num_shards]
        if indices.size == 0:
            raise UserError(f"make_tf_dataset: shard {shard_index} of {num_shards} of {self.path} holds no images.")
        if seed is None:
            seed = 0 if deterministic else int(np.random.SeedSequence().generate_state(1)[0] >> 1)
        full, channels, depth = self._resolution, self._channels, (self._resolution // res).bit_length() - 1

        stream = tf.data.Dataset.from_tensor_slices(indices)
        if shuffle_mb > 0 and indices.size > 1:
            stream = stream.shuffle(indices.size, seed=seed, reshuffle_each_iteration=True)
        if repeat:
            stream = stream.repeat()
        stream = stream.skip(skip_images)

        names = tf.constant(self.files)
        if self.is_zip:
            def read(index):
                return tf.numpy_function(lambda i: self.read_bytes(self.files[int(i)]), [index], tf.string,
                                         stateful=False)
        else:
            paths = tf.constant([os.path.join(self.path, n) for n in self.files])

            def read(index):
                return tf.io.read_file(tf.gather(paths, index))

        def load(index):
            image = tf.io.decode_image(read(index), channels=channels, dtype=tf.uint8, expand_animations=False)
            check = tf.debugging.Assert(
                tf.reduce_all(tf.equal(tf.shape(image)[:2], [full, full])),
                [tf.gather(names, index), f"is not {full}x{full} like the dataset's first image; its shape:",
                 tf.shape(image)])
            with tf.control_dependencies([check]):
                image = tf.identity(image)
            image.set_shape([full, full, channels])
            if depth:   # the TFRecord writer's float 2x2 box chain (records.build_levels), rounded once
                x = tf.cast(image, tf.float32)
                for _ in range(depth):
                    x = (x[0::2, 0::2] + x[0::2, 1::2] + x[1::2, 0::2] + x[1::2, 1::2]) * 0.25
                image = tf.cast(tf.clip_by_value(tf.round(x), 0.0, 255.0), tf.uint8)
            return image, index

        stream = stream.map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=deterministic)
        stream = stream.batch(batch_size, drop_remainder=drop_remainder)
        label_table = tf.constant(self._labels) if labels and self.has_labels else None

        def finish(step, batch):
            images, index = batch
            if uint8:
                return images if label_table is None else (images, tf.gather(label_table, index))
            if mirror_augment:
                flip = tf.random.stateless_uniform([tf.shape(images)[0]], seed=tf.stack([tf.cast(seed, tf.int64), step]))
                images = tf.where((flip < 0.5)[:, None, None, None], images, tf.reverse(images, axis=[2]))
            images = tf.cast(images, tf.float32) / 127.5 - 1.0
            return images if label_table is None else (images, tf.gather(label_table, index))

        stream = stream.enumerate().map(finish, num_parallel_calls=tf.data.AUTOTUNE, deterministic=deterministic)
        options = tf.data.Options()
        options.deterministic = deterministic
        return stream.prefetch(tf.data.AUTOTUNE).with_options(options)


def open_ada(path: str) -> "AdaDataset":
    return AdaDataset(path)
