"""The official StyleGAN multi-resolution TFRecord format.

As the official `dataset_tool.py` writes it (NVlabs/stylegan, `TFRecordExporter`):

- One uncompressed TFRecord file per level of detail, `<name>-rNN.tfrecords`, NN =
  log2(resolution) on two digits (r02 = 4x4 ... r10 = 1024x1024); `<name>` is the
  dataset directory's base name.
- Each record is a `tf.train.Example` with two features: `shape` (int64 list
  [C, H, W]) and `data` (one bytes value: the raw uint8 pixels in CHW order).
- Level k+1 is the 2x2 box average of level k computed in float32 as
  `(a + b + c + d) * 0.25` over the pixels [0::2, 0::2], [0::2, 1::2], [1::2, 0::2],
  [1::2, 1::2] in that order, starting from the FLOAT values of level k; only the
  stored copy is rounded (`np.rint`, half to even) and clipped to uint8, so
  rounding never accumulates. Same images in the same order give byte-identical
  files.
- Labels, when present: `<name>-rxx.labels`, a float32 one-hot array [N, label_size]
  saved with `np.save`, rows in record order.

Extension (ours, for datasets too large for one file per level): a level may be
split into shards `<name>-rNN-SSSSS-of-NNNNN.tfrecords`; record i of the level goes
to shard i % NNNNN, so reading the shards round-robin gives back the record order.

Writing uses TensorFlow's `tf.io.TFRecordWriter` (no compression); the Example
bytes are encoded here without TensorFlow (`encode_example`, the protobuf wire
format with the map entries in key order, as `SerializeToString(deterministic=True)`
writes them), so worker processes that build records never import TensorFlow.
"""

from __future__ import annotations

import hashlib
import os
import re
import struct
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from stylegan_tf.errors import UserError

MIN_RESOLUTION_LOG2 = 2  # The official tool writes every level down to 4x4 (r02).
MAX_RESOLUTION_LOG2 = 10

_LEVEL_FILE_RE = re.compile(r"^(?P<name>.+)-r(?P<log2>\d\d)(?:-(?P<shard>\d{5})-of-(?P<shards>\d{5}))?\.tfrecords$")


class LevelFile(NamedTuple):
    """A parsed level file name."""

    name: str             # Dataset name (prefix before -rNN).
    resolution_log2: int  # NN.
    shard: int            # Shard index, 0 for an unsharded file.
    num_shards: int       # Shards of this level, 1 for an unsharded file.


def level_file_name(name: str, resolution_log2: int, shard: int = 0, num_shards: int = 1) -> str:
    """`<name>-rNN.tfrecords`, or `<name>-rNN-SSSSS-of-NNNNN.tfrecords` for a sharded level."""
    if num_shards == 1:
        return f"{name}-r{resolution_log2:02d}.tfrecords"
    return f"{name}-r{resolution_log2:02d}-{shard:05d}-of-{num_shards:05d}.tfrecords"


def parse_level_file_name(filename: str) -> LevelFile | None:
    """The parts of a level file name, or None if `filename` is not one."""
    match = _LEVEL_FILE_RE.match(os.path.basename(filename))
    if match is None:
        return None
    shards = int(match["shards"]) if match["shards"] else 1
    shard = int(match["shard"]) if match["shard"] else 0
    return LevelFile(match["name"], int(match["log2"]), shard, shards)


def labels_file_name(name: str) -> str:
    """The official labels file: `<name>-rxx.labels` (np.save of float32 [N, label_size])."""
    return f"{name}-rxx.labels"


# ---------------------------------------------------------------------------------------------
# Example encoding (protobuf wire format, no TensorFlow).


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field (wire type 2)."""
    return _varint((number << 3) | 2) + _varint(len(payload)) + payload


def encode_example(image: np.ndarray) -> bytes:
    """Serialises a uint8 CHW image as the official Example {shape: int64 [C, H, W], data: bytes}.

    Byte-identical to `tf.train.Example(...).SerializeToString(deterministic=True)`,
    which writes the map entries sorted by key (`data`, then `shape`). TensorFlow's
    default serialisation orders the two entries differently from one process to the
    next; every order parses to the same Example and the same pixels.
    """
    if image.dtype != np.uint8 or image.ndim != 3:
        raise ValueError(f"encode_example expects uint8 [C, H, W], got {image.dtype} {list(image.shape)}")
    packed = b"".join(_varint(int(d)) for d in image.shape)
    shape_feature = _field(3, _field(1, packed))                          # Feature.int64_list.value (packed)
    data_feature = _field(1, _field(1, np.ascontiguousarray(image).tobytes()))  # Feature.bytes_list.value
    entries = (_field(1, _field(1, b"data") + _field(2, data_feature))
               + _field(1, _field(1, b"shape") + _field(2, shape_feature)))
    return _field(1, entries)                                             # Example.features


def _read_varint(buf: memoryview, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise ValueError("truncated varint")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def _fields(buf: memoryview):
    """Yields (field number, wire type, value) of one protobuf message; value is bytes or int."""
    pos = 0
    while pos < len(buf):
        key, pos = _read_varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _read_varint(buf, pos)
        elif wire == 2:
            length, pos = _read_varint(buf, pos)
            if pos + length > len(buf):
                raise ValueError("truncated field")
            value, pos = buf[pos:pos + length], pos + length
        elif wire == 1:
            value, pos = buf[pos:pos + 8], pos + 8
        elif wire == 5:
            value, pos = buf[pos:pos + 4], pos + 4
        else:
            raise ValueError(f"unsupported wire type {wire}")
        yield number, wire, value


def decode_example(record: bytes) -> np.ndarray:
    """Parses an official Example back to its uint8 [C, H, W] image (pure Python; any field order).

    Raises:
        ValueError: not an Example with int64 `shape` and bytes `data` of matching size.
    """
    features: dict[str, memoryview] = {}
    for number, wire, value in _fields(memoryview(record)):
        if number == 1 and wire == 2:                        # Example.features
            for n2, w2, entry in _fields(value):
                if n2 == 1 and w2 == 2:                      # Features.feature map entry
                    key, feature = None, None
                    for n3, w3, v3 in _fields(entry):
                        if n3 == 1 and w3 == 2:
                            key = bytes(v3).decode("utf-8", "replace")
                        elif n3 == 2 and w3 == 2:
                            feature = v3
                    if key is not None and feature is not None:
                        features[key] = feature
    if "shape" not in features or "data" not in features:
        raise ValueError(f"record has features {sorted(features)}, expected 'shape' and 'data'")
    shape: list[int] = []
    for n, w, v in _fields(features["shape"]):
        if n == 3 and w == 2:                                # Feature.int64_list
            for n2, w2, v2 in _fields(v):
                if n2 == 1 and w2 == 2:                      # packed values
                    pos = 0
                    while pos < len(v2):
                        d, pos = _read_varint(v2, pos)
                        shape.append(d)
                elif n2 == 1 and w2 == 0:
                    shape.append(v2)
    data = None
    for n, w, v in _fields(features["data"]):
        if n == 1 and w == 2:                                # Feature.bytes_list
            for n2, w2, v2 in _fields(v):
                if n2 == 1 and w2 == 2:
                    data = v2
    if len(shape) != 3 or data is None or len(data) != int(np.prod(shape)):
        raise ValueError(f"record shape {shape} does not match its {0 if data is None else len(data)} data bytes")
    return np.frombuffer(bytes(data), dtype=np.uint8).reshape(shape)


# ---------------------------------------------------------------------------------------------
# Levels of detail.


def build_levels(image: np.ndarray) -> list[np.ndarray]:
    """All levels of one image, top first: uint8 [C, R, R], [C, R/2, R/2], ..., [C, 4, 4].

    Each lower level is the float32 2x2 box average of the FLOAT level above,
    `(a + b + c + d) * 0.25` in the official order; only the returned copies are
    rounded (`np.rint`) and clipped, exactly as the official `add_image`.
    """
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[1] != image.shape[2]:
        raise ValueError(f"build_levels expects uint8 [C, R, R], got {image.dtype} {list(image.shape)}")
    levels = [image]
    img: np.ndarray = image
    while img.shape[1] > 2 ** MIN_RESOLUTION_LOG2:
        img = img.astype(np.float32)
        img = (img[:, 0::2, 0::2] + img[:, 0::2, 1::2] + img[:, 1::2, 0::2] + img[:, 1::2, 1::2]) * 0.25
        levels.append(np.rint(img).clip(0, 255).astype(np.uint8))
    return levels


def image_records(image: np.ndarray) -> list[bytes]:
    """The serialised Example of every level of a uint8 [C, R, R] image, top level first."""
    return [encode_example(level) for level in build_levels(image)]


# ---------------------------------------------------------------------------------------------
# Files.

_HEADER = struct.Struct("<QI")  # record length, masked CRC32C of the length


def scan_records(path: str) -> int:
    """Counts the records of a TFRecord file from its framing alone (lengths; no CRC check).

    Raises:
        UserError: the file ends inside a record (truncated), naming the file.
    """
    count = 0
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        pos = 0
        while pos < size:
            header = f.read(_HEADER.size)
            if len(header) < _HEADER.size:
                raise UserError(f"Truncated TFRecord file {path}: it ends inside record {count} "
                                f"(at byte {pos} of {size}).")
            length, _ = _HEADER.unpack(header)
            pos += _HEADER.size + length + 4
            if pos > size:
                raise UserError(f"Truncated TFRecord file {path}: record {count} needs {length} bytes "
                                f"but the file ends at byte {size}.")
            f.seek(pos)
            count += 1
    return count


def count_records(path: str) -> int:
    """Records in a level file: file size / record size when all records have the first one's size
    (always true for one level of the official format), else `scan_records`."""
    size = os.path.getsize(path)
    if size == 0:
        return 0
    with open(path, "rb") as f:
        header = f.read(_HEADER.size)
    if len(header) < _HEADER.size:
        raise UserError(f"Truncated TFRecord file {path}: only {size} bytes.")
    record_bytes = _HEADER.size + _HEADER.unpack(header)[0] + 4
    if size % record_bytes == 0:
        return size // record_bytes
    return scan_records(path)


def read_first_record(path: str) -> bytes:
    """The payload of the first record of a TFRecord file (framing only, no CRC check)."""
    with open(path, "rb") as f:
        header = f.read(_HEADER.size)
        if len(header) < _HEADER.size:
            raise UserError(f"TFRecord file {path} holds no complete record ({len(header)} bytes).")
        length, _ = _HEADER.unpack(header)
        payload = f.read(length)
    if len(payload) < length:
        raise UserError(f"Truncated TFRecord file {path}: its first record needs {length} bytes.")
    return payload


def file_sha256(path: str, chunk_bytes: int = 1 << 20) -> str:
    """Hex SHA-256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(chunk_bytes):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass
class WrittenFile:
    """One finished level file, as `dataset.json` lists it."""

    file: str
    records: int
    bytes: int
    sha256: str

    def to_dict(self) -> dict:
        return {"file": self.file, "records": self.records, "bytes": self.bytes, "sha256": self.sha256}


class LevelWriter:
    """Writes the records of every level (top first) of a dataset, each level split round-robin into shards.

    Args:
        directory: where the files go (created beforehand).
        name: dataset name, the file prefix.
        resolution_log2: top level; levels go down to r02.
        num_shards: files per level (1 = the official single file).
    """

    def __init__(self, directory: str, name: str, resolution_log2: int, num_shards: int = 1):
        import tensorflow as tf  # Imported here: only the writing process needs TensorFlow.

        self.directory, self.name, self.num_shards = directory, name, num_shards
        self.levels = list(range(resolution_log2, MIN_RESOLUTION_LOG2 - 1, -1))
        options = tf.io.TFRecordOptions(compression_type="")
        self._paths = {lg: [os.path.join(directory, level_file_name(name, lg, s, num_shards))
                            for s in range(num_shards)] for lg in self.levels}
        self._writers = {lg: [tf.io.TFRecordWriter(p, options) for p in paths] for lg, paths in self._paths.items()}
        self._counts = {lg: [0] * num_shards for lg in self.levels}
        self.num_records = 0

    def write(self, records: list[bytes]) -> None:
        """Adds one image: its serialised levels, top first (as `image_records` returns them)."""
        if len(records) != len(self.levels):
            raise ValueError(f"expected {len(self.levels)} level records, got {len(records)}")
        shard = self.num_records % self.num_shards
        for lg, record in zip(self.levels, records):
            self._writers[lg][shard].write(record)
            self._counts[lg][shard] += 1
        self.num_records += 1

    def close(self) -> dict[int, list[WrittenFile]]:
        """Flushes and closes every file; returns {resolution_log2: [WrittenFile per shard]} with checksums."""
        self._close_files()
        return {lg: [WrittenFile(os.path.basename(p), n, os.path.getsize(p), file_sha256(p))
                     for p, n in zip(self._paths[lg], self._counts[lg])] for lg in self.levels}

    def __enter__(self) -> "LevelWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        """On an error, closes the files and reports nothing (on success the caller calls `close`)."""
        if exc_type is not None:
            self.abort()

    def abort(self) -> None:
        """Closes every file without checksumming it; the caller discards the temporary directory."""
        self._close_files()

    def _close_files(self) -> None:
        for writers in self._writers.values():
            for writer in writers:
                writer.close()
        self._writers = {}
