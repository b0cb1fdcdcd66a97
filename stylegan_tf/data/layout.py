"""The on-disk layout of a dataset directory, shared by the writer (`builder`, `reshard`) and the
reader (`dataset`):

    <dest>/<name>-r02.tfrecords ... <name>-rNN.tfrecords   one file (or N shards) per level
    <dest>/<name>-rxx.labels                               with --labels: float32 one-hot [N, L] (np.save)
    <dest>/dataset.json                                    what the directory holds (written last)
    <dest>/skipped.jsonl                                   one line per skipped input: key, reason, detail
    <dest>/inputs.txt                                      line i = the input behind record i

and how a build is published: it writes into `<dest>.partial-<pid>/`, marked by a `BUILD_INCOMPLETE`
file that the reader refuses, writes `dataset.json` last and renames the directory into place
(`prepare_dest`, `publish`). A killed build leaves only the `.partial-<pid>` directory, which the
next build into the same `dest` removes.
"""

from __future__ import annotations

import datetime
import json
import os
import shutil
from collections import Counter
from dataclasses import dataclass

import numpy as np

from stylegan_tf.data import records
from stylegan_tf.errors import UserError

DATASET_JSON = "dataset.json"
SKIP_REPORT = "skipped.jsonl"
INPUTS_FILE = "inputs.txt"
INCOMPLETE_MARKER = "BUILD_INCOMPLETE"
FORMAT_NAME = "stylegan_tf.dataset"
FORMAT_VERSION = 1


def prepare_dest(options: "BuildOptions") -> tuple[str, str]:
    """Checks `dest`, removes stale partial builds; returns (final path, temporary path)."""
    dest = os.path.abspath(options.dest)
    parent = os.path.dirname(dest)
    os.makedirs(parent, exist_ok=True)
    if os.path.exists(dest):
        if not os.path.isdir(dest):
            raise UserError(f"--dest {options.dest} exists and is not a directory.")
        if os.path.exists(os.path.join(dest, DATASET_JSON)) or any(
                records.parse_level_file_name(f) for f in os.listdir(dest)):
            if not options.overwrite:
                raise UserError(f"--dest {options.dest} already holds a dataset; pass --overwrite to replace it "
                                f"or choose another --dest.")
        elif os.listdir(dest):
            raise UserError(f"--dest {options.dest} is a non-empty directory that is not a dataset; "
                            f"choose an empty or new directory.")
    prefix = os.path.basename(dest) + ".partial-"
    for entry in os.listdir(parent):
        if entry.startswith(prefix) and entry[len(prefix):].isdigit():
            stale = os.path.join(parent, entry)
            if _build_running(stale):
                raise UserError(f"Another build into --dest {options.dest} is running ({stale}).")
            shutil.rmtree(stale, ignore_errors=True)
    temp = os.path.join(parent, prefix + str(os.getpid()))
    os.makedirs(temp)
    with open(os.path.join(temp, INCOMPLETE_MARKER), "w") as f:
        f.write(f"{os.getpid()} {_start_time(os.getpid())}\n"
                "This directory is an unfinished dataset build; the next build into the same --dest removes it.\n")
    return dest, temp


def _start_time(pid: int) -> str:
    """A process's start time (Linux /proc), so a reused process id is not mistaken for a running build."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return "?"


def _build_running(partial: str) -> bool:
    """Whether the process that owns a `.partial-<pid>` directory is still alive."""
    try:
        with open(os.path.join(partial, INCOMPLETE_MARKER)) as f:
            pid_text, started = f.readline().split()[:2]
        pid = int(pid_text)
    except (OSError, ValueError):
        return False
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return started == "?" or _start_time(pid) == started


def publish(temp: str, dest: str) -> None:
    """Moves the finished build into place (replacing an old dataset at dest)."""
    os.remove(os.path.join(temp, INCOMPLETE_MARKER))
    old = None
    if os.path.exists(dest):
        old = f"{dest}.old-{os.getpid()}"
        os.rename(dest, old)
    os.rename(temp, dest)
    if old:
        shutil.rmtree(old, ignore_errors=True)


def fsync_dir(path: str) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_labels(directory: str, name: str, indices: np.ndarray, label_size: int,
                  classes: tuple[str, ...] | None) -> dict:
    """The official labels file: np.save of float32 one-hot [N, label_size] (written through a memmap)."""
    path = os.path.join(directory, records.labels_file_name(name))
    onehot = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(indices.size, label_size))
    for start in range(0, indices.size, 65536):
        block = indices[start:start + 65536]
        onehot[start:start + block.size] = 0.0
        onehot[start + np.arange(block.size), block] = 1.0
    onehot.flush()
    del onehot
    return {"file": os.path.basename(path), "label_size": int(label_size), "dtype": "float32",
            "encoding": "one-hot rows in record order (np.save)", "classes": list(classes) if classes else None,
            "counts": np.bincount(indices, minlength=label_size).tolist(),
            "bytes": os.path.getsize(path), "sha256": records.file_sha256(path)}


def write_dataset_json(directory: str, options: "BuildOptions", num_images: int,
                        files: dict[int, list[records.WrittenFile]], labels_info: dict | None, source_info: dict,
                        shuffle_info: dict, inputs_info: dict, skipped: Counter) -> None:
    from stylegan_tf import __version__

    levels = []
    for lg in sorted(files, reverse=True):
        res = 2 ** lg
        levels.append({"resolution": res, "resolution_log2": lg, "shape": [options.channels, res, res],
                       "records": sum(f.records for f in files[lg]), "files": [f.to_dict() for f in files[lg]]})
    info = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "name": options.dataset_name,
        "resolution": options.resolution,
        "resolution_log2": options.resolution_log2,
        "channels": options.channels,
        "num_images": num_images,
        "record_format": "official StyleGAN TFRecord, uncompressed: tf.train.Example with 'shape' "
                         "(int64 [C, H, W]) and 'data' (bytes, uint8 CHW)",
        "shards_per_level": options.shards,
        "shard_layout": "round-robin: record i of a level is record i // S of shard i % S",
        "levels": levels,
        "labels": labels_info,
        "source": source_info,
        "shuffle": shuffle_info,
        "inputs": inputs_info,
        "skipped": {"total": sum(skipped.values()), "by_reason": dict(sorted(skipped.items())),
                    "report": SKIP_REPORT},
        "inputs_file": INPUTS_FILE,
        "command_line": " ".join(options.command_line) if options.command_line else None,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "tool": f"stylegan_tf {__version__}",
    }
    path = os.path.join(directory, DATASET_JSON)
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        json.dump(info, f, indent=2)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(path + ".tmp", path)


def read_json(path: str) -> dict:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


@dataclass(frozen=True)
class Level:
    """One level of detail: its files in shard order, image shape (C, H, W) and record count if known."""

    resolution: int
    files: tuple[str, ...]
    shape: tuple[int, int, int]
    records: tuple[int, ...] | None  # per file
    sha256: tuple[str, ...] | None   # per file (datasets with dataset.json)

    @property
    def num_records(self) -> int | None:
        return None if self.records is None else sum(self.records)


def check_stream_options(*, batch_size, num_shards, shard_index, skip_images, shuffle_mb) -> None:
    """The `make_tf_dataset` arguments every reader checks: a `UserError` naming the one that is off."""
    for option, value, low in (("batch_size", batch_size, 1), ("num_shards", num_shards, 1),
                               ("skip_images", skip_images, 0), ("shuffle_mb", shuffle_mb, 0)):
        if not isinstance(value, (int, np.integer)) or value < low:
            raise UserError(f"make_tf_dataset: {option} must be an integer >= {low}. Received: {option}={value!r}")
    if not 0 <= shard_index < num_shards:
        raise UserError(f"make_tf_dataset: shard_index must be in [0, {num_shards}). "
                        f"Received: shard_index={shard_index}")
