"""The input pipeline: a dataset directory as a `tf.data.Dataset` of Keras-ready batches.

`ImageDataset(path)` opens either

- a directory written by `make_tfrecords.py` (it has a `dataset.json` listing every
  level's files, record counts and checksums), or
- an official StyleGAN TFRecord directory, unchanged: no `dataset.json`; the levels
  are found from the `<name>-rNN.tfrecords` file names, each level's shape from its
  first record, the image count from the file size (every record of a level has the
  same size), and labels from the `*.labels` file if there is one (the official
  reader takes the first in sorted order).

`make_tf_dataset` reads one level, like the official `TFRecordDataset` (uncompressed
reads with a 256 MiB buffer, shuffle buffer sized in bytes, repeat, batch; here the
serialised records are shuffled and whole batches are decoded at once), and yields float32 NHWC images in [-1, 1] (uint8 x -> x / 127.5 - 1), with one-hot
labels when the dataset has them. It uses only checkpointable tf.data operations
(no `py_function`), so `tf.train.Checkpoint(iterator=it)` can save and restore the
exact position, shuffle buffer included.

TensorFlow reports a damaged file as `DataLossError: corrupted record at <offset>`
without naming it; `translate_errors()` turns that into a `UserError` that names the
file, and `verify()` checks every record (and checksum) file by file.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import json
import os
from typing import Iterator

import numpy as np

from stylegan_tf.data import records
from stylegan_tf.data.layout import (DATASET_JSON, FORMAT_NAME, INCOMPLETE_MARKER, Level,  # noqa: F401
                                     check_stream_options)
from stylegan_tf.errors import UserError

_READ_BUFFER_MB = 256     # Official `buffer_mb`: read-ahead per TFRecord file.
_DEFAULT_SHUFFLE_MB = 4096  # Official `shuffle_mb`.


class ImageDataset:
    """A multi-resolution image dataset on disk (ours or official), read with tf.data.

    Args:
        path: the dataset directory.

    Raises:
        UserError: `path` is missing, not a dataset, an unfinished build, or inconsistent.

    Example:
        >>> ds = ImageDataset("datasets/ffhq")
        >>> batches = ds.make_tf_dataset(256, 8, mirror_augment=True, seed=1)
        >>> with ds.translate_errors():
        ...     model.fit(batches, steps_per_epoch=1000)
    """

    def __init__(self, path: str):
        self.path = os.path.abspath(path)
        if not os.path.exists(path):
            raise UserError(f"Dataset directory {path} does not exist.")
        if not os.path.isdir(path):
            raise UserError(f"Dataset path {path} is not a directory.")
        if os.path.exists(os.path.join(path, INCOMPLETE_MARKER)):
            raise UserError(f"Dataset directory {path} is an unfinished build (it holds {INCOMPLETE_MARKER}); "
                            f"run the build again.")
        self.info: dict | None = None
        json_path = os.path.join(path, DATASET_JSON)
        if os.path.isfile(json_path):
            try:
                with open(json_path, encoding="utf-8") as f:
                    info = json.load(f)
            except (OSError, json.JSONDecodeError) as exc:
                raise UserError(f"{json_path} cannot be read: {exc}") from None
            if isinstance(info, dict) and info.get("format") == FORMAT_NAME:
                self.info = info
        if self.info is not None:
            self._open_described()
        else:
            self._open_official()

    # -- Opening ---------------------------------------------------------------------------------

    def _open_described(self) -> None:
        info = self.info
        try:
            self.name = info["name"]
            channels = int(info["channels"])
            levels = {}
            for level in info["levels"]:
                res = int(level["resolution"])
                files = tuple(os.path.join(self.path, f["file"]) for f in level["files"])
                for file, entry in zip(files, level["files"]):
                    if not os.path.isfile(file):
                        raise UserError(f"Dataset {self.path}: level file {file} listed in {DATASET_JSON} is missing.")
                    # TensorFlow reads a truncated file's intact records, then stops without an error.
                    size, recorded = os.path.getsize(file), int(entry.get("bytes", os.path.getsize(file)))
                    if size != recorded:
                        fault = "Truncated TFRecord file" if size < recorded else "Overwritten TFRecord file"
                        raise UserError(f"{fault} {file}: {size} bytes, {DATASET_JSON} records {recorded}. "
                                        f"Re-create or re-download this file.")
                levels[res] = Level(res, files, (channels, res, res), tuple(int(f["records"]) for f in level["files"]),
                                    tuple(f["sha256"] for f in level["files"]))
            self.num_images = int(info["num_images"])
            labels = info.get("labels")
        except (KeyError, TypeError, ValueError) as exc:
            raise UserError(f"{os.path.join(self.path, DATASET_JSON)} is malformed: {type(exc).__name__}: {exc}") from None
        self._levels = levels
        self._label_file = os.path.join(self.path, labels["file"]) if labels else None
        self.label_classes = tuple(labels["classes"]) if labels and labels.get("classes") else None
        self._finish_open()

    def _open_official(self) -> None:
        found: dict[str, dict[int, list[tuple[records.LevelFile, str]]]] = {}
        for file in sorted(glob.glob(os.path.join(self.path, "*.tfrecords"))):
            parsed = records.parse_level_file_name(file)
            if parsed is not None:
                found.setdefault(parsed.name, {}).setdefault(parsed.resolution_log2, []).append((parsed, file))
        if not found:
            raise UserError(f"{self.path} is not a dataset: it has no {DATASET_JSON} and no "
                            f"<name>-rNN.tfrecords files.")
        if len(found) > 1:
            raise UserError(f"{self.path} holds several datasets ({sorted(found)}); keep one per directory.")
        self.name = next(iter(found))
        levels = {}
        for log2, entries in found[self.name].items():
            res = 2 ** log2
            shard_counts = {p.num_shards for p, _ in entries}
            shards = sorted(entries, key=lambda e: e[0].shard)
            if len(shard_counts) != 1 or [p.shard for p, _ in shards] != list(range(shard_counts.pop())):
                raise UserError(f"Dataset {self.path}: the shards of level {res}x{res} are incomplete or mixed: "
                                f"{[os.path.basename(f) for _, f in shards]}.")
            files = tuple(f for _, f in shards)
            try:
                first = records.decode_example(records.read_first_record(files[0]))
            except ValueError as exc:
                raise UserError(f"{files[0]} does not hold official StyleGAN records: {exc}") from None
            shape = tuple(int(d) for d in first.shape)
            if shape[1:] != (res, res):
                raise UserError(f"{files[0]}: its records are {shape[1]}x{shape[2]}, but the name says {res}x{res}.")
            levels[res] = Level(res, files, shape, tuple(records.count_records(f) for f in files), None)
        channels = {lv.shape[0] for lv in levels.values()}
        if len(channels) != 1:
            raise UserError(f"Dataset {self.path}: levels have different channel counts {sorted(channels)}.")
        self._levels = levels
        self.num_images = levels[max(levels)].num_records
        labels = sorted(glob.glob(os.path.join(self.path, "*.labels")))
        self._label_file = labels[0] if labels else None
        self.label_classes = None
        self._finish_open()

    def _finish_open(self) -> None:
        self._labels: np.ndarray | None = None
        self.label_size = 0
        if self._label_file is not None:
            if not os.path.isfile(self._label_file):
                raise UserError(f"Dataset {self.path}: labels file {self._label_file} is missing.")
            try:
                labels = np.load(self._label_file, mmap_mode="r")
            except (OSError, ValueError) as exc:
                raise UserError(f"Labels file {self._label_file} is not a numpy array file: {exc}") from None
            if labels.ndim != 2:
                raise UserError(f"Labels file {self._label_file} must hold a 2-D array [N, label_size]; "
                                f"it holds shape {list(labels.shape)}.")
            self.label_size = int(labels.shape[1])

    # -- Properties ------------------------------------------------------------------------------

    @property
    def resolution(self) -> int:
        """The highest resolution stored."""
        return max(self._levels)

    @property
    def resolutions(self) -> list[int]:
        """Every stored resolution, ascending."""
        return sorted(self._levels)

    @property
    def num_channels(self) -> int:
        return self._levels[self.resolution].shape[0]

    @property
    def has_labels(self) -> bool:
        return self.label_size > 0

    def level(self, resolution: int) -> Level:
        """The level at `resolution` (a `UserError` listing the stored ones if absent)."""
        if resolution not in self._levels:
            raise UserError(f"Dataset {self.path} has no {resolution}x{resolution} level; it holds "
                            f"{self.resolutions}. Received: resolution={resolution}")
        return self._levels[resolution]

    def labels(self) -> np.ndarray:
        """The label array float32 [N, label_size] (memory-mapped), rows in record order."""
        if self._label_file is None:
            raise UserError(f"Dataset {self.path} has no labels.")
        return np.load(self._label_file, mmap_mode="r")

    @property
    def fingerprint(self) -> str:
        """A stable 20-hex-digit checksum of the dataset's contents, for caching (e.g. FID statistics).

        From the checksums in `dataset.json`; for official directories from each file's
        name and size and the hash of its first record (no full read).
        """
        digest = hashlib.sha256()
        for res in self.resolutions:
            level = self._levels[res]
            for i, file in enumerate(level.files):
                if level.sha256 is not None:
                    part = f"{os.path.basename(file)}:{level.sha256[i]}:{level.records[i]}"
                else:
                    first = hashlib.sha256(records.read_first_record(file)).hexdigest()
                    part = f"{os.path.basename(file)}:{os.path.getsize(file)}:{first}"
                digest.update(part.encode() + b"\n")
        if self._label_file is not None:
            if self.info is not None and self.info.get("labels", {}).get("sha256"):
                digest.update(f"labels:{self.info['labels']['sha256']}".encode())
            else:
                digest.update(f"labels:{os.path.getsize(self._label_file)}".encode())
        return digest.hexdigest()[:20]

    def describe(self) -> str:
        """A human-readable summary (what `make_tfrecords.py --inspect` prints first)."""
        kind = "stylegan_tf dataset (dataset.json)" if self.info is not None else "official StyleGAN TFRecord dataset"
        lines = [f"Dataset {self.path}", f"  kind:        {kind}", f"  name:        {self.name}",
                 f"  images:      {self.num_images if self.num_images is not None else 'unknown'}",
                 f"  channels:    {self.num_channels}",
                 f"  resolution:  {self.resolution}x{self.resolution}"]
        if self.has_labels:
            classes = f" ({', '.join(self.label_classes)})" if self.label_classes else ""
            lines.append(f"  labels:      {self.label_size} classes{classes}, {os.path.basename(self._label_file)}")
        else:
            lines.append("  labels:      none")
        lines.append(f"  fingerprint: {self.fingerprint}")
        lines.append("  levels:")
        for res in reversed(self.resolutions):
            level = self._levels[res]
            size = sum(os.path.getsize(f) for f in level.files)
            count = level.num_records if level.num_records is not None else "?"
            files = ", ".join(os.path.basename(f) for f in level.files[:3]) + (" ..." if len(level.files) > 3 else "")
            lines.append(f"    {f'{res}x{res}':>9s}  shape {str(list(level.shape)):16s} {count} records  "
                         f"{size / 2**20:10.1f} MiB  {files}")
        if self.info is not None:
            skipped = self.info.get("skipped", {})
            if skipped.get("total"):
                lines.append(f"  skipped at build: {skipped['total']} {skipped.get('by_reason')}")
            if self.info.get("command_line"):
                lines.append(f"  built by:    {self.info['command_line']}")
        return "\n".join(lines)

    # -- Reading ---------------------------------------------------------------------------------

    def iter_raw_records(self, resolution: int) -> Iterator[bytes]:
        """The serialised records of one level in record order (shards read round-robin), CRC-checked.

        Raises:
            UserError: a corrupted or truncated record, naming the file.
        """
        import tensorflow as tf

        level = self.level(resolution)
        iterators = [iter(tf.data.TFRecordDataset(f, buffer_size=_READ_BUFFER_MB << 20)) for f in level.files]
        i = 0
        while True:
            shard = i % len(iterators)
            try:
                record = next(iterators[shard])
            except StopIteration:
                return
            except (tf.errors.DataLossError, tf.errors.OutOfRangeError) as exc:
                raise _corruption_error(level.files[shard], exc) from None
            yield record.numpy()
            i += 1

    def iter_images(self, resolution: int | None = None) -> Iterator[np.ndarray]:
        """The images of one level in record order, uint8 HWC (for inspection and tests)."""
        for record in self.iter_raw_records(resolution or self.resolution):
            yield records.decode_example(record).transpose(1, 2, 0)

    def subset_indices(self, max_images: int | None = None, seed: int = 0) -> np.ndarray:
        """The record indices of a subset of `max_images` images (official `--subset`, `max_size`): the
        first N in record order, the same images at every level. The dataset tools shuffle the images
        once when writing (as the official `dataset_tool.py`), so this is a fixed random subset.
        Deviation: the official reader draws the subset with `np.random.RandomState(seed)` from its file
        order; `seed` is unused here (reading N scattered records would read the whole level).

        Raises:
            UserError: `max_images` not between 1 and the number of images.
        """
        if max_images is None:
            return np.arange(self.num_images, dtype=np.int64)
        from stylegan_tf.data.view import check_max_images

        return np.arange(check_max_images(self.path, self.num_images, max_images), dtype=np.int64)

    def make_tf_dataset(self, resolution: int | None = None, batch_size: int = 32, *,
                        mirror_augment: bool = False, shuffle_mb: int = _DEFAULT_SHUFFLE_MB, repeat: bool = True,
                        seed: int | None = None, deterministic: bool = False, num_shards: int = 1,
                        shard_index: int = 0, skip_images: int = 0, labels: bool = True,
                        drop_remainder: bool = True, read_buffer_mb: int = _READ_BUFFER_MB, uint8: bool = False,
                        max_images: int | None = None, subset_seed: int = 0):
        """A `tf.data.Dataset` of batches of one level.

        Args:
            resolution: the level to read; None = the highest.
            batch_size: images per batch (the global batch under a distribution strategy).
            mirror_augment: flip each image horizontally with probability 1/2 (official
                `mirror_augment`, FFHQ).
            shuffle_mb: shuffle buffer in MiB (official default 4096): it holds
                `ceil(shuffle_mb MiB / record bytes)` serialised records (a record is
                the image's C*H*W bytes plus ~30), at most the images of this shard.
                0 = no shuffling (record order).
            repeat: loop forever (training) or stop after one pass.
            seed: shuffle and flip seed; None = random (0 when `deterministic`).
            deterministic: the same seed gives the same stream, element for element
                (parallel reads and decoding keep their order); for tests and exact resumption.
            num_shards, shard_index: read only this worker's part (multi-worker
                training). Whole files when the level's shard files divide evenly
                among the workers, else every `num_shards`-th record.
            skip_images: start this many records into this shard's stream (resuming
                at a dataset position). Records are skipped before they are decoded;
                with `repeat` the count is taken modulo the shard's image count. The
                shuffle buffer refills from there, so the stream after a skip is not
                the one an uninterrupted run would have seen; for that, checkpoint
                the iterator (`tf.train.Checkpoint(iterator=iterator)`).
            labels: yield `(images, labels)` when the dataset has labels.
            uint8: yield the pixels as stored, uint8 [batch, R, R, C], unflipped (`mirror_augment` and
                the scaling to [-1, 1] are then the consumer's: the trainer does both on the device).
            drop_remainder: only full batches (static batch dimension).
            read_buffer_mb: read-ahead buffer per file (official 256).
            max_images: read only the subset `subset_indices(max_images)` (official `--subset`): the
                first N records of the level; None = all. Shuffling, sharding, skipping and
                repeating apply to the subset. `subset_seed` is unused (see `subset_indices`).

        Returns:
            Elements `images` float32 [batch, R, R, C] in [-1, 1], or `(images, labels)` with
            labels float32 [batch, label_size] (one-hot for datasets written by our builder).
        """
        import tensorflow as tf

        res = self.resolution if resolution is None else resolution
        level = self.level(res)
        check_stream_options(batch_size=batch_size, num_shards=num_shards, shard_index=shard_index,
                             skip_images=skip_images, shuffle_mb=shuffle_mb)
        if seed is None:
            seed = 0 if deterministic else int(np.random.SeedSequence().generate_state(1)[0] >> 1)
        channels, height, width = level.shape
        files, starts = list(level.files), list(range(len(level.files)))
        stride = len(files)
        counts = list(level.records) if level.records is not None else None
        take = None   # Per file: how many of its records (global indices start, start + stride, ...) are < N.
        if max_images is not None:
            limit = len(self.subset_indices(max_images))
            take = [max(0, (limit - start + stride - 1) // stride) for start in starts]
            counts = [min(c, t) for c, t in zip(counts, take)] if counts is not None else None
        by_file = num_shards > 1 and len(files) % num_shards == 0
        if by_file:
            files, starts = files[shard_index::num_shards], starts[shard_index::num_shards]
            counts = counts[shard_index::num_shards] if counts is not None else None
        local_images = None
        if counts is not None:
            total = sum(counts)
            local_images = total if num_shards == 1 or by_file else max(0, (total - shard_index + num_shards - 1)
                                                                         // num_shards)
        if local_images == 0:
            raise UserError(f"make_tf_dataset: shard {shard_index} of {num_shards} of {self.path} at {res}x{res} "
                            f"holds no images.")

        # Each file's records are zipped with their global record index (shard s holds s, s + S, ...):
        # the index picks the label row and is read round-robin, i.e. in record order.
        def read_file(path, start, count):
            records_of_file = tf.data.Dataset.zip((tf.data.TFRecordDataset(path, compression_type="",
                                                                           buffer_size=read_buffer_mb << 20),
                                                   tf.data.Dataset.range(start, 2 ** 62, stride)))
            return records_of_file if take is None else records_of_file.take(count)

        takes = [take[s] for s in starts] if take is not None else [-1] * len(files)
        raw = tf.data.Dataset.from_tensor_slices((files, np.asarray(starts, np.int64), np.asarray(takes, np.int64)))
        if len(files) > 1:
            raw = raw.interleave(read_file, cycle_length=len(files), block_length=1, num_parallel_calls=len(files),
                                 deterministic=deterministic)
        else:
            raw = raw.flat_map(read_file)
        if num_shards > 1 and not by_file:
            raw = raw.shard(num_shards, shard_index)

        if repeat:
            if local_images is not None:
                offset = skip_images % local_images
                stream = raw.skip(offset).concatenate(raw.repeat()) if offset else raw.repeat()
            else:
                stream = raw.repeat().skip(skip_images)
        else:
            stream = raw.skip(skip_images)

        # Shuffle the serialised records (an image's bytes plus ~30), then decode whole batches at once.
        if shuffle_mb > 0:
            record_bytes = channels * height * width + 32
            buffer = ((shuffle_mb << 20) - 1) // record_bytes + 1
            if local_images is not None:
                buffer = min(buffer, local_images)
            if buffer > 1:
                stream = stream.shuffle(buffer, seed=seed, reshuffle_each_iteration=True)
        stream = stream.batch(batch_size, drop_remainder=drop_remainder)

        label_table = None
        if labels and self.has_labels:
            label_table = tf.constant(np.asarray(self.labels(), dtype=np.float32))
        expected = tf.constant([channels, height, width], tf.int64)
        error = f"a record of {os.path.basename(level.files[0])} does not have the level's shape {list(level.shape)}"

        def finish(step, batch):
            serialized, index = batch
            features = tf.io.parse_example(serialized, {"shape": tf.io.FixedLenFeature([3], tf.int64),
                                                        "data": tf.io.FixedLenFeature([], tf.string)})
            check = tf.debugging.assert_equal(features["shape"], expected[None, :], message=error)
            with tf.control_dependencies([check]):
                images = tf.reshape(tf.io.decode_raw(features["data"], tf.uint8),
                                    [batch_size if drop_remainder else -1, channels, height, width])
            if uint8:
                images = tf.transpose(images, [0, 2, 3, 1])
                return images if label_table is None else (images, tf.gather(label_table, index))
            if mirror_augment:  # flip the uint8 CHW images (W is axis 3), cheaper than after the cast
                flip = tf.random.stateless_uniform([tf.shape(images)[0]], seed=tf.stack([tf.cast(seed, tf.int64), step]))
                images = tf.where((flip < 0.5)[:, None, None, None], images, tf.reverse(images, axis=[3]))
            images = tf.transpose(images, [0, 2, 3, 1])
            images = tf.cast(images, tf.float32) / 127.5 - 1.0
            if label_table is None:
                return images
            return images, tf.gather(label_table, index)

        stream = stream.enumerate().map(finish, num_parallel_calls=tf.data.AUTOTUNE, deterministic=deterministic)
        stream = stream.prefetch(tf.data.AUTOTUNE)
        options = tf.data.Options()
        options.deterministic = deterministic
        return stream.with_options(options)

    # -- Errors and verification ------------------------------------------------------------------

    @contextlib.contextmanager
    def translate_errors(self, resolution: int | None = None):
        """Turns TensorFlow's `DataLossError` (bad CRC, truncated file) into a `UserError` naming the file.

        Wrap the loop that consumes `make_tf_dataset` (e.g. `model.fit`). The damaged
        file is found by reading the level's files (every level if `resolution` is
        None) until one fails.
        """
        import tensorflow as tf

        try:
            yield
        except tf.errors.DataLossError as exc:
            levels = [resolution] if resolution else self.resolutions
            for res in levels:
                for file in self.level(res).files:
                    try:
                        for _ in tf.data.TFRecordDataset(file):
                            pass
                    except tf.errors.DataLossError as file_exc:
                        raise _corruption_error(file, file_exc) from exc
            raise UserError(f"Dataset {self.path}: TensorFlow reported damaged data "
                            f"({_tf_message(exc)}); run make_tfrecords.py --inspect {self.path}.") from exc

    def verify(self, checksums: bool = True, progress: bool = False) -> dict:
        """Reads every record of every level: CRCs, record shapes and sizes, counts, checksums.

        Returns:
            {resolution: record count} for every level.

        Raises:
            UserError: the first problem found, naming the file.
        """
        import tensorflow as tf

        counts: dict[int, int] = {}
        for res in reversed(self.resolutions):
            level = self._levels[res]
            expected_len = int(np.prod(level.shape))
            total = 0
            for i, file in enumerate(level.files):
                records.scan_records(file)  # framing: names a truncated file precisely
                if checksums and level.sha256 is not None:
                    digest = records.file_sha256(file)
                    if digest != level.sha256[i]:
                        raise UserError(f"Checksum mismatch for {file}: sha256 {digest}, {DATASET_JSON} says "
                                        f"{level.sha256[i]}; the file changed or is damaged.")

                def parse(record):
                    f = tf.io.parse_single_example(record, {"shape": tf.io.FixedLenFeature([3], tf.int64),
                                                            "data": tf.io.FixedLenFeature([], tf.string)})
                    return f["shape"], tf.strings.length(f["data"])

                n = 0
                dataset = tf.data.TFRecordDataset(file, buffer_size=_READ_BUFFER_MB << 20).map(
                    parse, num_parallel_calls=tf.data.AUTOTUNE).batch(256)
                try:
                    for shapes, lengths in dataset:
                        shapes, lengths = shapes.numpy(), lengths.numpy()
                        bad = np.nonzero(np.any(shapes != np.asarray(level.shape), axis=1) | (lengths != expected_len))[0]
                        if bad.size:
                            raise UserError(f"{file}: record {n + int(bad[0])} has shape {shapes[bad[0]].tolist()} "
                                            f"and {int(lengths[bad[0]])} bytes; the level needs {list(level.shape)}.")
                        n += len(lengths)
                        if progress:
                            print(f"\r  {os.path.basename(file)}: {n} records", end="", flush=True)
                except tf.errors.DataLossError as exc:
                    raise _corruption_error(file, exc) from None
                except tf.errors.InvalidArgumentError as exc:
                    raise UserError(f"{file}: a record is not an official StyleGAN Example ({_tf_message(exc)}).") from None
                if progress:
                    print(flush=True)
                if level.records is not None and n != level.records[i]:
                    raise UserError(f"{file} holds {n} records, but {level.records[i]} were expected.")
                total += n
            counts[res] = total
        if len(set(counts.values())) > 1:
            raise UserError(f"Dataset {self.path}: the levels hold different numbers of images {counts}.")
        if self.has_labels and self.labels().shape[0] < next(iter(counts.values())):
            raise UserError(f"Labels file {self._label_file} has {self.labels().shape[0]} rows for "
                            f"{next(iter(counts.values()))} images.")
        if self.info is not None and self.info.get("labels") and checksums:
            digest = records.file_sha256(self._label_file)
            if digest != self.info["labels"].get("sha256", digest):
                raise UserError(f"Checksum mismatch for {self._label_file}; the labels file changed or is damaged.")
        return counts


def open_dataset(path: str) -> ImageDataset:
    """`ImageDataset(path)`, or `ada_format.AdaDataset(path)` for a StyleGAN2-ADA/StyleGAN3 zip or folder."""
    from stylegan_tf.data import ada_format

    if ada_format.is_ada_dataset(os.fspath(path)):
        return ada_format.AdaDataset(path)
    return ImageDataset(path)


def _tf_message(exc: Exception) -> str:
    message = getattr(exc, "message", str(exc))
    return message.split("[Op:")[0].split("}}")[-1].strip()


def _corruption_error(file: str, exc: Exception) -> UserError:
    return UserError(f"Corrupted TFRecord file {file}: {_tf_message(exc)} (bad checksum or truncated data). "
                     f"Re-create or re-download this file.")
