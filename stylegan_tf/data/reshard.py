"""`--from-tfrecords`: re-write an existing dataset (official or ours) re-sharded, cut to a lower
resolution, or truncated to `max_images`, copying the stored records of every kept level unchanged
(byte-identical, no re-rounding) in their stored order; missing lower levels are computed from the
lowest stored level above."""

from __future__ import annotations

import os
import shutil
import time
from collections import Counter

import numpy as np

from stylegan_tf.data import records
from stylegan_tf.data.layout import (DATASET_JSON, INPUTS_FILE, SKIP_REPORT, fsync_dir, prepare_dest, publish,
                                     read_json, write_dataset_json, write_labels)
from stylegan_tf.data.options import BuildOptions, BuildSummary, progress_bar
from stylegan_tf.errors import UserError


def copy_tfrecords(options: BuildOptions, start: float) -> BuildSummary:
    from stylegan_tf.data.dataset import ImageDataset

    source = ImageDataset(options.from_tfrecords)
    res_log2 = options.resolution_log2
    if options.resolution > source.resolution:
        raise UserError(f"--resolution {options.resolution} is above the {source.resolution}x{source.resolution} "
                        f"of --from-tfrecords {options.from_tfrecords}.")
    if options.channels != source.num_channels:
        raise UserError(f"--channels {options.channels} differs from the {source.num_channels} channels of "
                        f"--from-tfrecords {options.from_tfrecords}; records are copied unchanged.")
    wanted = list(range(res_log2, records.MIN_RESOLUTION_LOG2 - 1, -1))
    available = {r.bit_length() - 1 for r in source.resolutions}
    # Levels stored in the source are copied; missing ones are computed from the lowest stored level above.
    base = min((lg for lg in available if lg >= res_log2), default=None)
    if base is None:
        raise UserError(f"--from-tfrecords {options.from_tfrecords} has no level at or above {options.resolution}; "
                        f"it holds {source.resolutions}.")
    copied = [lg for lg in wanted if lg in available]
    computed = [lg for lg in wanted if lg not in available]
    limit = options.max_images
    total = source.num_images if limit is None else min(limit, source.num_images or limit)
    dest, temp = prepare_dest(options)
    name = options.dataset_name
    try:
        writer = records.LevelWriter(temp, name, res_log2, options.shards)
        streams = {lg: source.iter_raw_records(2 ** lg) for lg in copied}
        if computed and base not in streams:
            streams[base] = source.iter_raw_records(2 ** base)
        written = 0
        bar = progress_bar(options, total, "records")
        with writer, bar, open(os.path.join(temp, INPUTS_FILE), "w", encoding="utf-8") as inputs:
            while limit is None or written < limit:
                try:
                    current = {lg: next(stream) for lg, stream in streams.items()}
                except StopIteration:
                    break
                out = [current.get(lg) for lg in wanted]
                if computed:
                    top = records.decode_example(current[base])
                    derived = {base - i: level for i, level in enumerate(records.build_levels(top))}
                    out = [current[lg] if lg in copied else records.encode_example(derived[lg]) for lg in wanted]
                writer.write(out)
                inputs.write(f"{options.from_tfrecords}#{written}\n")
                written += 1
                bar.update(1)
        files = writer.close()
        counts = {lg: sum(f.records for f in fs) for lg, fs in files.items()}
        if len(set(counts.values())) != 1:
            raise UserError(f"--from-tfrecords {options.from_tfrecords}: its levels hold different numbers of "
                            f"records ({counts}); the dataset is inconsistent.")
        labels_info = None
        if source.label_size:
            labels = source.labels()
            if labels.shape[0] < written:
                raise UserError(f"--from-tfrecords {options.from_tfrecords}: the labels file has {labels.shape[0]} "
                                f"rows for {written} records.")
            indices = np.argmax(labels[:written], axis=1).astype(np.int32)
            if np.array_equal(np.eye(labels.shape[1], dtype=np.float32)[indices], labels[:written]):
                labels_info = write_labels(temp, name, indices, labels.shape[1], source.label_classes)
            else:  # not one-hot: copy the rows as they are
                path = os.path.join(temp, records.labels_file_name(name))
                with open(path, "wb") as f:
                    np.save(f, np.asarray(labels[:written], dtype=np.float32))
                labels_info = {"file": os.path.basename(path), "label_size": int(labels.shape[1]),
                               "dtype": "float32", "encoding": "rows copied from the source", "classes": None,
                               "bytes": os.path.getsize(path), "sha256": records.file_sha256(path)}
        open(os.path.join(temp, SKIP_REPORT), "w").close()
        source_info = {"path": os.path.abspath(options.from_tfrecords), "kind": "tfrecords",
                       "source_resolution": source.resolution, "copied_levels": [2 ** lg for lg in copied],
                       "computed_levels": [2 ** lg for lg in computed],
                       "computed_from": 2 ** base if computed else None}
        shuffle_info = {"shuffled": False, "seed": None, "method": "records keep the source's order"}
        write_dataset_json(temp, options, written, files, labels_info, source_info, shuffle_info,
                            {"total": written, "processed": written, "used": written, "skipped": 0}, Counter())
        summary = BuildSummary(dest, written, written, Counter(), time.time() - start,
                               read_json(os.path.join(temp, DATASET_JSON)))
        publish(temp, dest)
        fsync_dir(os.path.dirname(dest))
        return summary
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
