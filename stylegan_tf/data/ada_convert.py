"""Writing the StyleGAN2-ADA / StyleGAN3 dataset format and converting it to and from TFRecords
(`make_tfrecords.py --to-ada / --from-ada`); the reader is `ada_format`.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import time
import types
import zipfile
from collections import Counter
from typing import Iterator

import numpy as np

from stylegan_tf.data import records
from stylegan_tf.errors import UserError
from stylegan_tf.data.ada_format import ADA_JSON, ZIP_DATE_TIME, AdaDataset, ada_file_name  # noqa: F401


def _png(image: np.ndarray) -> bytes:
    """The official encoding: PIL PNG, compress_level=0 (uncompressed), mode L or RGB."""
    import PIL.Image

    buf = io.BytesIO()
    PIL.Image.fromarray(image[:, :, 0] if image.shape[2] == 1 else image).save(
        buf, format="png", compress_level=0, optimize=False)
    return buf.getvalue()


def write_ada(images: Iterator[np.ndarray], labels: list | None, dest: str, *, overwrite: bool = False,
              total: int | None = None, progress: bool = False) -> int:
    """Writes uint8 HWC `images` as an ADA dataset at `dest` (a `.zip`, else a folder); returns the count.

    `labels`: one per image (int class or list of floats), or None (`{"labels": null}`). Written
    under a temporary name and renamed at the end: `dest` is complete or absent.
    """
    from tqdm import tqdm

    from stylegan_tf.data.layout import prepare_dest, publish

    dest = os.path.abspath(dest)
    as_zip = dest.lower().endswith(".zip")
    if as_zip:
        if os.path.exists(dest) and not overwrite:
            raise UserError(f"--dest {dest} exists; pass --overwrite to replace it.")
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        temp = f"{dest}.partial-{os.getpid()}"
        archive = zipfile.ZipFile(temp, "w", compression=zipfile.ZIP_STORED)

        def save(name: str, data: bytes) -> None:
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE_TIME)
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    else:
        final, temp = prepare_dest(types.SimpleNamespace(dest=dest, overwrite=overwrite))

        def save(name: str, data: bytes) -> None:
            path = os.path.join(temp, name)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(data)
    count, shape, names = 0, None, []
    try:
        with tqdm(total=total, unit="img", disable=not progress, dynamic_ncols=True) as bar:
            for image in images:
                if shape is None:
                    shape = image.shape
                elif image.shape != shape:
                    raise UserError(f"Image {count} is {list(image.shape)}, the first {list(shape)}: one size only.")
                name = ada_file_name(count)
                save(name, _png(image))
                names.append(name)
                count += 1
                bar.update(1)
        if labels is not None and len(labels) != count:
            raise UserError(f"{len(labels)} labels for {count} images.")
        meta = {"labels": [[n, lab] for n, lab in zip(names, labels)] if labels is not None else None}
        save(ADA_JSON, json.dumps(meta).encode("utf-8"))
        if as_zip:
            archive.close()
            os.replace(temp, dest)
        else:
            publish(temp, final)
    except BaseException:
        if as_zip:
            archive.close()
            with contextlib.suppress(OSError):
                os.remove(temp)
        else:
            shutil.rmtree(temp, ignore_errors=True)
        raise
    return count


def _labels_as_ada(labels: np.ndarray) -> list:
    """Label rows as ADA labels: class numbers when every row is one-hot, else lists of floats."""
    rows = np.asarray(labels, np.float32)
    onehot = rows.ndim == 2 and np.all((rows == 0) | (rows == 1)) and np.all(rows.sum(axis=1) == 1)
    if onehot:
        return [int(i) for i in rows.argmax(axis=1)]
    return [[float(v) for v in row] for row in rows]


def tfrecords_to_ada(source: str, dest: str, *, resolution: int | None = None, overwrite: bool = False,
                     max_images: int | None = None, progress: bool = False) -> int:
    """A TFRecord dataset (ours or official) as an ADA zip/folder: one level in record order."""
    import itertools

    from stylegan_tf.data.dataset import ImageDataset

    dataset = ImageDataset(source)
    res = resolution or dataset.resolution
    dataset.level(res)
    count = dataset.num_images if max_images is None else min(max_images, dataset.num_images or max_images)
    labels = _labels_as_ada(dataset.labels()[:count]) if dataset.has_labels else None
    images = itertools.islice(dataset.iter_images(res), count)
    return write_ada(images, labels, dest, overwrite=overwrite, total=count, progress=progress)


def ada_to_tfrecords(source: str, dest: str, *, resolution: int | None = None, shards: int = 1,
                     overwrite: bool = False, max_images: int | None = None, progress: bool = False,
                     command_line: tuple[str, ...] = ()):
    """An ADA zip/folder as a TFRecord dataset: images in file order, every level, labels (one-hot
    `.labels` for class labels, the float vectors otherwise); `dataset.json` and publishing as a build."""
    from stylegan_tf.data.layout import (INPUTS_FILE, SKIP_REPORT, fsync_dir, prepare_dest, publish,
                                         write_dataset_json, write_labels)
    from stylegan_tf.data.options import BuildOptions, BuildSummary, progress_bar

    start = time.time()
    ada = AdaDataset(source)
    res = resolution or ada.resolution
    options = BuildOptions(dest=dest, resolution=res, source=source, channels=ada.num_channels, shards=shards,
                           overwrite=overwrite, max_images=max_images, progress=progress, shuffle=False,
                           command_line=command_line)
    if res not in ada.resolutions:
        raise UserError(f"--resolution {res} must be a power of two from 4 to the {ada.resolution} of the ADA "
                        f"dataset {source}.")
    if not isinstance(shards, int) or shards < 1:
        raise UserError(f"--shards must be a positive integer. Received: --shards {shards!r}")
    count = ada.num_images if max_images is None else min(max_images, ada.num_images)
    depth = (ada.resolution // res).bit_length() - 1
    final, temp = prepare_dest(options)
    try:
        writer = records.LevelWriter(temp, options.dataset_name, options.resolution_log2, shards)
        with writer, progress_bar(options, count, "images") as bar, \
                open(os.path.join(temp, INPUTS_FILE), "w", encoding="utf-8") as inputs:
            for i in range(count):
                levels = records.build_levels(np.ascontiguousarray(ada.image(i).transpose(2, 0, 1)))[depth:]
                writer.write([records.encode_example(level) for level in levels])
                inputs.write(ada.files[i] + "\n")
                bar.update(1)
        files = writer.close()
        open(os.path.join(temp, SKIP_REPORT), "w").close()
        labels_info = None
        if ada.has_labels:
            rows = ada.labels()[:count]
            classes = _labels_as_ada(rows)
            if classes and isinstance(classes[0], int):
                labels_info = write_labels(temp, options.dataset_name, np.asarray(classes, np.int64),
                                           rows.shape[1], None)
            else:
                path = os.path.join(temp, records.labels_file_name(options.dataset_name))
                np.save(path, np.ascontiguousarray(rows, np.float32))
                labels_info = {"file": os.path.basename(path), "label_size": int(rows.shape[1]), "dtype": "float32",
                               "encoding": "label vectors in record order (np.save)", "classes": None,
                               "bytes": os.path.getsize(path), "sha256": records.file_sha256(path)}
        source_info = {"path": ada.path, "kind": "ada-zip" if ada.is_zip else "ada-folder",
                       "format": "StyleGAN2-ADA/StyleGAN3 dataset_tool (PNGs + dataset.json)", "alignment": "none"}
        shuffle_info = {"shuffled": False, "seed": None, "method": "file order of the ADA dataset (sorted names)"}
        write_dataset_json(temp, options, count, files, labels_info, source_info, shuffle_info,
                           {"total": ada.num_images, "used": count, "skipped": 0}, Counter())
        publish(temp, final)
        fsync_dir(os.path.dirname(final))
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    return BuildSummary(final, count, count, Counter(), time.time() - start)

