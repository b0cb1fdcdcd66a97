"""The streaming, parallel dataset build behind `data_prep/make_tfrecords.py`.

One build turns a source into a dataset directory (its files and publishing: `layout`). The
scheduling and writing are here; the options are `options`, the per-input work `worker`, and
`--from-tfrecords` is `reshard`.

How (the official `dataset_tool` writes the same records; see `records`):

- Inputs are listed by name only and sorted; the list is shuffled once with
  `np.random.RandomState(shuffle_seed).shuffle` (official order for seed 123, the
  official fixed seed) before any pixel is read. Records are written in that order,
  so the output does not depend on the number of workers or on timing.
- Worker processes (spawned; all cores by default) decode, align or resize, build
  every level and serialise the records; the parent only writes them. At most a
  few chunks per worker are in flight, so memory stays constant whatever the number
  of inputs: the parent holds the list of names (and landmarks), never the images.
- A bad input is skipped with a reason code (`sources.SKIP_REASONS`), listed in
  `skipped.jsonl` and counted in `dataset.json`; `strict=True` stops at the first.
- The build writes into `<dest>.partial-<pid>/` (marked by a `BUILD_INCOMPLETE`
  file that the reader refuses), writes `dataset.json` last and renames the
  directory into place. A killed build leaves only the `.partial-<pid>` directory,
  which the next build into the same `dest` removes.

`from_tfrecords` re-writes an existing dataset (official or ours): re-sharded, cut
to a lower resolution, or truncated to `max_images`, copying the stored records of
every kept level unchanged (byte-identical, no re-rounding) in their stored order.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import json
import multiprocessing
import os
import shutil
import time
from collections import Counter, deque
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Iterator

import numpy as np

from stylegan_tf.data import records, sources, worker
from stylegan_tf.data.layout import (DATASET_JSON, INPUTS_FILE, SKIP_REPORT, fsync_dir, prepare_dest, publish,
                                     read_json, write_dataset_json, write_labels)
from stylegan_tf.data.options import (ALIGNMENTS, CROPS, OFFICIAL_SHUFFLE_SEED, BuildOptions,  # noqa: F401
                                      BuildSummary, default_workers, progress_bar)
from stylegan_tf.data.reshard import copy_tfrecords
from stylegan_tf.errors import UserError


def _make_jobs(options: BuildOptions, source: sources.Source) -> tuple[list[worker.Job], dict]:
    """The input list (sorted by key), with landmarks and labels attached; info for dataset.json."""
    info: dict[str, Any] = {}
    exclude = tuple(p for p in (options.labels, options.landmarks) if p)
    keys = source.keys(exclude=exclude)
    labels = sources.load_labels(options.labels) if options.labels else getattr(source, "labels", lambda: None)()
    if labels is not None:
        info["labels"] = labels

    def label_of(key: str) -> tuple[int | None, tuple[str, str] | None]:
        if labels is None:
            return None, None
        value = labels.lookup(key)
        if value is None:
            return None, ("label_missing", f"{key} is not in {options.labels}")
        return value, None

    jobs: list[worker.Job] = []
    if options.alignment == "ffhq-json":
        index, orphans = sources.load_ffhq_landmarks(options.landmarks)
        lookup = sources.landmark_lookup(index)
        used: set[str] = set()
        for key in keys:
            entries = lookup.get(key)
            label, label_skip = label_of(key)
            if not entries:
                jobs.append(worker.Job(key, skip=("landmarks_missing", f"no entry with in_the_wild.file_path matching "
                                                                 f"{key} in {options.landmarks}")))
                continue
            for entry in entries:
                used.add(entry.entry)
                skip = label_skip or (None if entry.landmarks is not None else
                                      ("landmarks_malformed", f"entry {entry.entry}: {entry.problem}"))
                jobs.append(worker.Job(key if len(entries) == 1 else f"{key}#{entry.entry}", entry.entry,
                                 entry.landmarks, label, skip))
        total_entries = sum(len(v) for v in index.values())
        info["landmark_entries"] = total_entries + len(orphans)
        info["landmark_entries_without_image"] = total_entries - len(used)
        for entry_id, problem in orphans:
            jobs.append(worker.Job(f"{os.path.basename(options.landmarks)}#{entry_id}",
                             skip=("landmarks_malformed", f"entry {entry_id}: {problem}")))
    else:
        for key in keys:
            label, label_skip = label_of(key)
            jobs.append(worker.Job(key, label=label, skip=label_skip))
    return jobs, info


def _chunk_size(options: BuildOptions, source: sources.Source) -> int:
    return source.chunk_size(options.resolution) if options.alignment == "none" else 1


def _run_jobs(jobs: list[worker.Job], order: np.ndarray, config: worker.WorkerConfig, workers: int,
              chunk: int) -> Iterator[tuple[worker.Job, tuple]]:
    """Yields (job, result) in `order`, processing with `workers` spawned processes (1 = here)."""
    if workers <= 1:
        worker.init(dataclasses.replace(config, threads=None), in_worker_process=False)
        for i in order:
            job = jobs[i]
            yield job, (("skip",) + job.skip) if job.skip else worker.process(job)
        return

    context = multiprocessing.get_context("spawn")
    executor = concurrent.futures.ProcessPoolExecutor(workers, mp_context=context, initializer=worker.init,
                                                      initargs=(config,))
    in_flight: deque = deque()
    max_in_flight = 4 * workers
    position = 0

    def submit_next() -> bool:
        """Queues the next chunk (already-skipped jobs are answered without a worker)."""
        nonlocal position
        if position >= len(order):
            return False
        batch = [jobs[i] for i in order[position:position + chunk]]
        position += len(batch)
        todo = [job for job in batch if job.skip is None]
        future = executor.submit(worker.run_chunk, todo) if todo else None
        in_flight.append((batch, future))
        return True

    try:
        while len(in_flight) < max_in_flight and submit_next():
            pass
        while in_flight:
            batch, future = in_flight.popleft()
            try:
                results = iter(_wait(future) if future is not None else [])
            except BrokenProcessPool:
                keys = [job.key for b, _ in [(batch, None), *in_flight] for job in b][:20]
                raise UserError("A worker process died (out of memory, or a crash inside an image decoder) "
                                f"while processing one of these inputs: {keys}. Remove the culprit or run with "
                                "--workers 1 to find it; nothing was published.") from None
            submit_next()
            for job in batch:
                yield job, (("skip",) + job.skip) if job.skip else next(results)
    finally:
        executor.shutdown(wait=True, cancel_futures=True)


def _wait(future: concurrent.futures.Future) -> Any:
    """`future.result()`, waking every half second: a Ctrl-C that the signal delivered to another
    thread is then raised here instead of waiting for the worker."""
    while True:
        try:
            return future.result(timeout=0.5)
        except concurrent.futures.TimeoutError:
            continue


def build_dataset(options: BuildOptions) -> BuildSummary:
    """Builds a dataset directory from `options` (see the module docstring); returns what it wrote.

    Raises:
        UserError: a bad option, an existing dataset at `dest` without `overwrite`,
            a skip under `strict`, or an unreadable `from_tfrecords` dataset.
    """
    options.validate()
    start = time.time()
    if options.from_tfrecords is not None:
        return copy_tfrecords(options, start)

    source = options.input_source()
    jobs, info = _make_jobs(options, source)
    order = np.arange(len(jobs))
    if options.shuffle:
        np.random.RandomState(options.shuffle_seed).shuffle(order)
    workers = options.workers or default_workers()
    config = worker.WorkerConfig(
        source=source, alignment=options.alignment, resolution=options.resolution,
        align_size=options.align_size, rotate=options.rotate, crop=options.crop, faces=options.faces,
        min_face_size=options.min_face_size, allow_upscale=options.upscale_allowed, channels=options.channels,
        save_png=options.save_aligned is not None, threads=1)
    dest, temp = prepare_dest(options)
    png_dir = None
    try:
        if options.save_aligned:
            png_final = os.path.abspath(options.save_aligned)
            if os.path.exists(png_final) and os.listdir(png_final) and not options.overwrite:
                raise UserError(f"--save-aligned {options.save_aligned} is not empty; choose a new folder "
                                f"(or pass --overwrite).")
            png_dir = f"{png_final}.partial-{os.getpid()}"
            shutil.rmtree(png_dir, ignore_errors=True)
            os.makedirs(png_dir)
        summary = _write(options, source, jobs, order, config, workers, info, dest, temp, png_dir, start)
        if png_dir:
            if os.path.exists(png_final):
                shutil.rmtree(png_final)
            os.rename(png_dir, png_final)
        publish(temp, dest)
        fsync_dir(os.path.dirname(dest))
        return summary
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        if png_dir:
            shutil.rmtree(png_dir, ignore_errors=True)
        raise


def _write(options: BuildOptions, source: sources.Source, jobs: list[worker.Job], order: np.ndarray, config: worker.WorkerConfig, workers: int,
           info: dict, dest: str, temp: str, png_dir: str | None, start: float) -> BuildSummary:
    name = options.dataset_name
    writer = records.LevelWriter(temp, name, options.resolution_log2, options.shards)
    skipped: Counter = Counter()
    labels: sources.Labels | None = info.get("labels")
    label_tmp = os.path.join(temp, "labels.tmp")
    written = processed = 0
    bar = progress_bar(options, len(jobs) if options.max_images is None else options.max_images, "images")
    with writer, bar, open(os.path.join(temp, SKIP_REPORT), "w", encoding="utf-8") as report, \
            open(os.path.join(temp, INPUTS_FILE), "w", encoding="utf-8") as inputs, \
            open(label_tmp, "wb") as label_file:
        for job, result in _run_jobs(jobs, order, config, workers, _chunk_size(options, source)):
            processed += 1
            if result[0] == "skip":
                _, code, detail = result
                if options.strict:
                    raise UserError(f"--strict: input {job.key} was skipped ({code}: {detail}); "
                                    f"nothing was published.")
                skipped[code] += 1
                report.write(json.dumps({"key": job.key, "reason": code, "detail": detail}) + "\n")
                if options.max_images is None:
                    bar.update(1)
                bar.set_postfix(skipped=sum(skipped.values()), refresh=False)
                continue
            for suffix, level_records, png in result[1]:
                if options.max_images is not None and written >= options.max_images:
                    break
                writer.write(level_records)
                inputs.write(job.key + suffix + "\n")
                if labels is not None:
                    label_file.write(np.int32(job.label).tobytes())
                if png is not None:
                    with open(os.path.join(png_dir, f"{written:08d}.png"), "wb") as f:
                        f.write(png)
                written += 1
                if options.max_images is not None:
                    bar.update(1)
            if options.max_images is None:
                bar.update(1)
            if options.max_images is not None and written >= options.max_images:
                break
    files = writer.close()
    if written == 0:
        raise UserError(f"No image could be used from --source {options.source}: all {processed} inputs were "
                        f"skipped {dict(skipped)}; nothing was published.")

    labels_info = None
    if labels is not None:
        indices = np.fromfile(label_tmp, dtype=np.int32)
        labels_info = write_labels(temp, name, indices, labels.label_size, labels.classes)
    os.remove(label_tmp)

    summary = BuildSummary(dest, written, processed, skipped, time.time() - start)
    details = source.info()
    source_info = {"path": details.pop("path"), "kind": details.pop("kind"), "alignment": options.alignment}
    if options.alignment == "none":
        source_info["crop"] = options.crop
    else:
        source_info.update(rotate=options.rotate, align_size=options.align_size,
                           transform_size=4 * options.align_size)
    if options.alignment == "ffhq-json":
        source_info.update(landmarks=os.path.abspath(options.landmarks),
                           landmark_entries=info.get("landmark_entries"),
                           landmark_entries_without_image=info.get("landmark_entries_without_image"))
    if options.alignment == "detect":
        source_info.update(detector="mtcnn", faces=options.faces, min_face_size=options.min_face_size)
    source_info.update(details)   # the source's own entries (synthetic: num_images, seed)
    source_info["allow_upscale"] = options.upscale_allowed
    shuffle_info = {"shuffled": options.shuffle, "seed": options.shuffle_seed if options.shuffle else None,
                    "method": "np.random.RandomState(seed).shuffle of the inputs sorted by key"}
    write_dataset_json(temp, options, written, files, labels_info, source_info, shuffle_info,
                        {"total": len(jobs), "processed": processed, "used": processed - sum(skipped.values()),
                         "skipped": sum(skipped.values())}, skipped)
    summary.info = read_json(os.path.join(temp, DATASET_JSON))
    return summary
