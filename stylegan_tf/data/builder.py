"""The streaming, parallel dataset build behind `data_prep/make_tfrecords.py`.

One build turns a source into a dataset directory:

    <dest>/<name>-r02.tfrecords ... <name>-rNN.tfrecords   one file (or N shards) per level
    <dest>/<name>-rxx.labels                               with --labels: float32 one-hot [N, L] (np.save)
    <dest>/dataset.json                                    what the directory holds (written last)
    <dest>/skipped.jsonl                                   one line per skipped input: key, reason, detail
    <dest>/inputs.txt                                      line i = the input behind record i

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
from concurrent.futures.process import BrokenProcessPool
import dataclasses
import datetime
import json
import multiprocessing
import os
import shutil
import signal
import sys
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any, Iterator

import numpy as np

from stylegan_tf.data import records, sources, synthetic
from stylegan_tf.data.sources import Skip
from stylegan_tf.errors import UserError

ALIGNMENTS = ("none", "ffhq-json", "detect")
CROPS = ("center", "pad")
DATASET_JSON = "dataset.json"
SKIP_REPORT = "skipped.jsonl"
INPUTS_FILE = "inputs.txt"
INCOMPLETE_MARKER = "BUILD_INCOMPLETE"
FORMAT_NAME = "stylegan_tf.dataset"
FORMAT_VERSION = 1
OFFICIAL_SHUFFLE_SEED = 123  # `TFRecordExporter.choose_shuffled_order` uses RandomState(123).


def _is_power_of_two(n: Any) -> bool:
    return isinstance(n, int) and not isinstance(n, bool) and n > 0 and n & (n - 1) == 0


def default_workers() -> int:
    """All cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class BuildOptions:
    """Everything a build needs (the command-line options of `make_tfrecords.py`)."""

    dest:           str                  # Dataset directory to create.
    resolution:     int                  # Top resolution, a power of two 4..1024.
    source:         str | None = None    # Folder or zip of images, or "synthetic:faces".
    alignment:      str   = "none"       # "none" (resize), "ffhq-json" (--landmarks), "detect" (MTCNN).
    landmarks:      str | None = None    # ffhq-dataset-v2.json for alignment "ffhq-json".
    rotate:         bool  = True         # False = --no-rotation (axis-aligned face crop).
    crop:           str   = "center"     # Alignment "none": "center" crop or "pad" (black) to square.
    faces:          str   = "largest"    # Alignment "detect": "largest" face or "all" faces.
    min_face_size:  int   = 64           # Alignment "detect": ignore faces smaller than this (box side, pixels).
    align_size:     int   = 1024         # Aligned size before the levels (official 1024, warp at 4x).
    allow_upscale:  bool | None = None   # Keep inputs smaller than the target; None = only for ffhq-json (official).
    channels:       int   = 3            # 3 = RGB, 1 = grayscale dataset.
    labels:         str | None = None    # JSON or CSV: file name -> class.
    workers:        int   = 0            # Processes; 0 = all cores, 1 = in this process.
    shuffle:        bool  = True         # Shuffle the input list once (official).
    shuffle_seed:   int   = OFFICIAL_SHUFFLE_SEED
    max_images:     int | None = None    # Stop after this many images are written.
    num_images:     int | None = None    # Synthetic source: images to draw.
    synthetic_seed: int   = 0            # Synthetic source: random stream.
    shards:         int   = 1            # Files per level.
    strict:         bool  = False        # Fail at the first skipped input.
    save_aligned:   str | None = None    # Also write the top-level images as PNGs into this folder.
    from_tfrecords: str | None = None    # Existing dataset to re-shard / cut (instead of --source).
    overwrite:      bool  = False        # Replace an existing dataset at dest.
    name:           str | None = None    # File prefix; None = basename of dest (official).
    command_line:   tuple[str, ...] = () # Recorded in dataset.json.
    progress:       bool  = True         # tqdm progress bar on stderr.

    @property
    def resolution_log2(self) -> int:
        return self.resolution.bit_length() - 1

    @property
    def dataset_name(self) -> str:
        return self.name or os.path.basename(os.path.normpath(self.dest))

    @property
    def upscale_allowed(self) -> bool:
        return self.alignment == "ffhq-json" if self.allow_upscale is None else self.allow_upscale

    def validate(self) -> "BuildOptions":
        def fail(option: str, value: Any, requirement: str) -> None:
            raise UserError(f"{option} {requirement}. Received: {option} {value!r}")

        if not _is_power_of_two(self.resolution) or not 4 <= self.resolution <= 1024:
            fail("--resolution", self.resolution, "must be a power of two between 4 and 1024")
        if not self.dest:
            fail("--dest", self.dest, "must name the dataset directory to create")
        if (self.source is None) == (self.from_tfrecords is None):
            raise UserError("Give exactly one input: --source PATH (images, zip or synthetic:faces) "
                            "or --from-tfrecords DIR.")
        if self.alignment not in ALIGNMENTS:
            fail("--alignment", self.alignment, f"must be one of {ALIGNMENTS}")
        if self.alignment == "ffhq-json" and not self.landmarks:
            raise UserError("--alignment ffhq-json needs --landmarks FILE (ffhq-dataset-v2.json).")
        if self.landmarks and self.alignment != "ffhq-json":
            raise UserError(f"--landmarks is only used with --alignment ffhq-json. Received: --alignment "
                            f"{self.alignment}")
        if self.crop not in CROPS:
            fail("--crop", self.crop, f"must be one of {CROPS}")
        if self.faces not in ("largest", "all"):
            fail("--faces", self.faces, "must be 'largest' or 'all'")
        if not isinstance(self.min_face_size, int) or self.min_face_size < 1:
            fail("--min-face-size", self.min_face_size, "must be a positive integer")
        if not _is_power_of_two(self.align_size) or not self.resolution <= self.align_size <= 4096:
            fail("--align-size", self.align_size, f"must be a power of two between --resolution "
                                                  f"({self.resolution}) and 4096")
        if self.channels not in (1, 3):
            fail("--channels", self.channels, "must be 1 or 3")
        if self.channels == 1 and self.alignment != "none":
            fail("--channels", self.channels, "must be 3 with face alignment")
        if not isinstance(self.workers, int) or self.workers < 0:
            fail("--workers", self.workers, "must be 0 (all cores) or a positive integer")
        if not isinstance(self.shards, int) or self.shards < 1:
            fail("--shards", self.shards, "must be a positive integer")
        if self.max_images is not None and (not isinstance(self.max_images, int) or self.max_images < 1):
            fail("--max-images", self.max_images, "must be a positive integer")
        kind = synthetic.parse_source(self.source)
        if kind is not None:
            if kind not in synthetic.KINDS:
                fail("--source", self.source, f"must name a known synthetic kind {[synthetic.SOURCE_PREFIX + k for k in synthetic.KINDS]}")
            if not isinstance(self.num_images, int) or self.num_images < 1:
                fail("--num-images", self.num_images, "must be a positive integer for a synthetic source")
            if self.alignment != "none":
                fail("--alignment", self.alignment, "must be 'none' for a synthetic source")
        elif self.num_images is not None:
            raise UserError("--num-images only applies to a synthetic source (--source synthetic:faces); "
                            "use --max-images to limit a real source.")
        if self.from_tfrecords is not None:
            for option, value in (("--alignment", self.alignment != "none"), ("--labels", self.labels),
                                  ("--save-aligned", self.save_aligned)):
                if value:
                    raise UserError(f"{option} cannot be combined with --from-tfrecords (records are copied).")
        for option, path in (("--landmarks", self.landmarks), ("--labels", self.labels)):
            if path is not None and not os.path.isfile(path):
                raise UserError(f"{option} {path} does not exist.")
        return self


@dataclass
class BuildSummary:
    """What a finished build wrote."""

    dest: str
    num_images: int
    num_inputs: int
    skipped: Counter = field(default_factory=Counter)
    seconds: float = 0.0
    info: dict = field(default_factory=dict)

    def format(self) -> str:
        lines = [f"Wrote {self.num_images} images to {self.dest} "
                 f"({self.num_inputs} inputs, {sum(self.skipped.values())} skipped, {self.seconds:.1f} s)."]
        for code, count in sorted(self.skipped.items(), key=lambda kv: (-kv[1], kv[0])):
            lines.append(f"  skipped {count:6d}  {code}: {sources.SKIP_REASONS[code]}")
        if self.skipped:
            lines.append(f"  every skipped input is listed in {os.path.join(self.dest, SKIP_REPORT)}")
        return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Jobs and the work a worker does.


@dataclass(frozen=True)
class _Job:
    """One input to process: its key, landmarks (ffhq-json), label, or a reason it is already skipped."""

    key: str
    entry: str = ""
    landmarks: np.ndarray | None = None
    label: int | None = None
    skip: tuple[str, str] | None = None


@dataclass(frozen=True)
class _WorkerConfig:
    source: str | None
    synthetic_kind: str | None
    synthetic_seed: int
    alignment: str
    resolution: int
    align_size: int
    rotate: bool
    crop: str
    faces: str
    min_face_size: int
    allow_upscale: bool
    channels: int
    save_png: bool
    threads: int | None  # TensorFlow / OpenCV threads in a worker process


_STATE: dict[str, Any] = {}


def _worker_init(config: _WorkerConfig, in_worker_process: bool = True) -> None:
    """Per-process setup: single-threaded OpenCV, the input reader, MTCNN when detecting.

    Worker processes ignore Ctrl-C: the main process receives it, stops handing out
    inputs and shuts the pool down.
    """
    import cv2

    if in_worker_process:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    if config.threads:
        cv2.setNumThreads(config.threads)
    _STATE["config"] = config
    _STATE["reader"] = sources.Reader(config.source) if config.source and not config.synthetic_kind else None
    _STATE["detector"] = None
    if config.alignment == "detect":
        from stylegan_tf.data.detect import FaceDetector

        _STATE["detector"] = FaceDetector(faces=config.faces, min_face_size=config.min_face_size,
                                          threads=config.threads)


def _worker_run(jobs: list[_Job]) -> list[tuple]:
    return [_process(job) for job in jobs]


def _process(job: _Job) -> tuple:
    """("ok", [(suffix, records, png or None), ...]) or ("skip", code, detail) for one input."""
    try:
        return ("ok", _outputs(job))
    except Skip as skip:
        return ("skip", skip.code, skip.detail)
    except MemoryError:
        return ("skip", "error", "MemoryError: the image does not fit in memory")
    except Exception as exc:  # noqa: BLE001 - one bad input must never stop a long build
        return ("skip", "error", f"{type(exc).__name__}: {exc}")


def _outputs(job: _Job) -> list[tuple[str, list[bytes], bytes | None]]:
    from stylegan_tf.data import alignment

    config: _WorkerConfig = _STATE["config"]
    res = config.resolution
    if config.synthetic_kind:
        image = synthetic.synthetic_image(config.synthetic_kind, res, int(job.key), config.synthetic_seed)
        return _with_png([("", _records(image, res))], config)

    # Resizing only: a JPEG may decode at a reduced scale that keeps 3x the target (see _records).
    draft = 3 * res if config.alignment == "none" else None
    image = sources.decode_image(_STATE["reader"].read(job.key), config.channels, draft_size=draft)
    h, w = image.shape[:2]
    if config.alignment == "none":
        side = min(h, w) if config.crop == "center" else max(h, w)
        if side < res and not config.allow_upscale:
            raise Skip("too_small", f"{w}x{h} gives a {side}x{side} square, below {res}x{res}")
        return _with_png([("", _records(_square(image, config.crop), res))], config)

    if config.alignment == "ffhq-json":
        try:
            points = alignment.face_points(job.landmarks)
            quad, qsize = alignment.crop_quad(points, rotate=config.rotate)
        except alignment.LandmarkError as exc:
            raise Skip("landmarks_malformed", str(exc)) from None
        faces = [("", quad, qsize)]
    else:
        found = _STATE["detector"].detect(image)
        if not found:
            raise Skip("no_face", f"no face of at least {config.min_face_size} pixels in {w}x{h}")
        faces = []
        for i, face in enumerate(found):
            try:
                quad, qsize = alignment.crop_quad(alignment.face_points(face.points), rotate=config.rotate)
            except alignment.LandmarkError:
                continue  # a degenerate detection (coincident eyes) is no face
            faces.append((f"#face{i}" if config.faces == "all" else "", quad, qsize))
        if not faces:
            raise Skip("no_face", f"only degenerate detections in {w}x{h}")

    outputs, small = [], []
    for suffix, quad, qsize in faces:
        if qsize < res and not config.allow_upscale:
            small.append(f"face crop {qsize:.0f} pixels, below {res}")
            continue
        try:
            aligned = alignment.align_face(image, quad, qsize, output_size=config.align_size)
        except alignment.LandmarkError as exc:
            raise Skip("landmarks_malformed", str(exc)) from None
        outputs.append((suffix, _records(aligned, res)))
    if not outputs:
        raise Skip("too_small", "; ".join(small))
    return _with_png(outputs, config)


def _with_png(outputs: list[tuple[str, list[bytes]]], config: _WorkerConfig) -> list[tuple[str, list[bytes], bytes | None]]:
    """Adds the PNG of each output's top level (exactly the stored pixels) when --save-aligned asks for it."""
    return [(suffix, recs, _png(records.decode_example(recs[0]).transpose(1, 2, 0)) if config.save_png else None)
            for suffix, recs in outputs]


def _square(image: np.ndarray, crop: str) -> np.ndarray:
    """Centre crop (the largest centred square) or black padding to a square."""
    h, w = image.shape[:2]
    if crop == "center":
        side = min(h, w)
        top, left = (h - side) // 2, (w - side) // 2
        return image[top:top + side, left:left + side]
    side = max(h, w)
    out = np.zeros((side, side, image.shape[2]), np.uint8)
    top, left = (side - h) // 2, (side - w) // 2
    out[top:top + h, left:left + w] = image
    return out


def _records(square: np.ndarray, resolution: int) -> list[bytes]:
    """Serialised levels resolution..4 of a square HWC image.

    A square of side resolution * 2^k (an aligned face at --align-size, or official
    1024 FFHQ PNGs) is reduced by the official float 2x2 box chain, so its levels
    equal the official dataset's lower levels; any other side is resized to the
    resolution with Lanczos (PIL's ANTIALIAS), reduced first by an integer box filter
    while the image stays over 3x the target (PIL's `reducing_gap=3`).
    """
    side = square.shape[0]
    if side != resolution and not (side > resolution and side % resolution == 0
                                   and _is_power_of_two(side // resolution)):
        import PIL.Image

        pil = PIL.Image.fromarray(square[:, :, 0] if square.shape[2] == 1 else square)
        square = np.asarray(pil.resize((resolution, resolution), PIL.Image.Resampling.LANCZOS, reducing_gap=3.0))
        square = square.reshape(resolution, resolution, -1)
    levels = records.build_levels(np.ascontiguousarray(square.transpose(2, 0, 1)))
    while levels[0].shape[1] > resolution:
        levels.pop(0)
    return [records.encode_example(level) for level in levels]


def _png(image: np.ndarray) -> bytes:
    """PNG bytes of a uint8 HWC image (OpenCV's encoder, fast compression)."""
    import cv2

    bgr = image if image.shape[2] == 1 else image[:, :, ::-1]
    ok, data = cv2.imencode(".png", np.ascontiguousarray(bgr), [cv2.IMWRITE_PNG_COMPRESSION, 3])
    if not ok:
        raise RuntimeError("PNG encoding failed")
    return data.tobytes()


# ---------------------------------------------------------------------------------------------
# The build.


def _prepare_dest(options: BuildOptions) -> tuple[str, str]:
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


def _publish(temp: str, dest: str) -> None:
    """Moves the finished build into place (replacing an old dataset at dest)."""
    os.remove(os.path.join(temp, INCOMPLETE_MARKER))
    old = None
    if os.path.exists(dest):
        old = f"{dest}.old-{os.getpid()}"
        os.rename(dest, old)
    os.rename(temp, dest)
    if old:
        shutil.rmtree(old, ignore_errors=True)


def _fsync_dir(path: str) -> None:
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


def _make_jobs(options: BuildOptions) -> tuple[list[_Job], dict]:
    """The input list (sorted by key), with landmarks and labels attached; info for dataset.json."""
    info: dict[str, Any] = {}
    kind = synthetic.parse_source(options.source)
    if kind is not None:
        width = len(str(options.num_images - 1))
        return [_Job(str(i).zfill(width)) for i in range(options.num_images)], info
    exclude = tuple(p for p in (options.labels, options.landmarks) if p)
    keys = sources.list_source(options.source, exclude=exclude)
    labels = sources.load_labels(options.labels) if options.labels else None
    if labels is not None:
        info["labels"] = labels

    def label_of(key: str) -> tuple[int | None, tuple[str, str] | None]:
        if labels is None:
            return None, None
        value = labels.lookup(key)
        if value is None:
            return None, ("label_missing", f"{key} is not in {options.labels}")
        return value, None

    jobs: list[_Job] = []
    if options.alignment == "ffhq-json":
        index, orphans = sources.load_ffhq_landmarks(options.landmarks)
        lookup = sources.landmark_lookup(index)
        used: set[str] = set()
        for key in keys:
            entries = lookup.get(key)
            label, label_skip = label_of(key)
            if not entries:
                jobs.append(_Job(key, skip=("landmarks_missing", f"no entry with in_the_wild.file_path matching "
                                                                 f"{key} in {options.landmarks}")))
                continue
            for entry in entries:
                used.add(entry.entry)
                skip = label_skip or (None if entry.landmarks is not None else
                                      ("landmarks_malformed", f"entry {entry.entry}: {entry.problem}"))
                jobs.append(_Job(key if len(entries) == 1 else f"{key}#{entry.entry}", entry.entry,
                                 entry.landmarks, label, skip))
        total_entries = sum(len(v) for v in index.values())
        info["landmark_entries"] = total_entries + len(orphans)
        info["landmark_entries_without_image"] = total_entries - len(used)
        for entry_id, problem in orphans:
            jobs.append(_Job(f"{os.path.basename(options.landmarks)}#{entry_id}",
                             skip=("landmarks_malformed", f"entry {entry_id}: {problem}")))
    else:
        for key in keys:
            label, label_skip = label_of(key)
            jobs.append(_Job(key, label=label, skip=label_skip))
    return jobs, info


def _chunk_size(options: BuildOptions) -> int:
    if options.alignment != "none":
        return 1
    if synthetic.parse_source(options.source):
        return 64 if options.resolution <= 64 else 8
    return 8 if options.resolution <= 128 else 2 if options.resolution <= 512 else 1


def _run_jobs(jobs: list[_Job], order: np.ndarray, config: _WorkerConfig, workers: int,
              chunk: int) -> Iterator[tuple[_Job, tuple]]:
    """Yields (job, result) in `order`, processing with `workers` spawned processes (1 = here)."""
    if workers <= 1:
        _worker_init(dataclasses.replace(config, threads=None), in_worker_process=False)
        for i in order:
            job = jobs[i]
            yield job, (("skip",) + job.skip) if job.skip else _process(job)
        return

    context = multiprocessing.get_context("spawn")
    executor = concurrent.futures.ProcessPoolExecutor(workers, mp_context=context, initializer=_worker_init,
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
        future = executor.submit(_worker_run, todo) if todo else None
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
        return _copy_tfrecords(options, start)

    jobs, info = _make_jobs(options)
    order = np.arange(len(jobs))
    if options.shuffle:
        np.random.RandomState(options.shuffle_seed).shuffle(order)
    workers = options.workers or default_workers()
    kind = synthetic.parse_source(options.source)
    config = _WorkerConfig(
        source=None if kind else os.path.abspath(options.source), synthetic_kind=kind,
        synthetic_seed=options.synthetic_seed, alignment=options.alignment, resolution=options.resolution,
        align_size=options.align_size, rotate=options.rotate, crop=options.crop, faces=options.faces,
        min_face_size=options.min_face_size, allow_upscale=options.upscale_allowed, channels=options.channels,
        save_png=options.save_aligned is not None, threads=1)
    dest, temp = _prepare_dest(options)
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
        summary = _write(options, jobs, order, config, workers, info, dest, temp, png_dir, start)
        if png_dir:
            if os.path.exists(png_final):
                shutil.rmtree(png_final)
            os.rename(png_dir, png_final)
        _publish(temp, dest)
        _fsync_dir(os.path.dirname(dest))
        return summary
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        if png_dir:
            shutil.rmtree(png_dir, ignore_errors=True)
        raise


def _progress(options: BuildOptions, total: int | None, description: str):
    from tqdm import tqdm

    return tqdm(total=total, unit="img", desc=description, disable=not options.progress, file=sys.stderr,
                dynamic_ncols=True, smoothing=0.05)


def _write(options: BuildOptions, jobs: list[_Job], order: np.ndarray, config: _WorkerConfig, workers: int,
           info: dict, dest: str, temp: str, png_dir: str | None, start: float) -> BuildSummary:
    name = options.dataset_name
    writer = records.LevelWriter(temp, name, options.resolution_log2, options.shards)
    skipped: Counter = Counter()
    labels: sources.Labels | None = info.get("labels")
    label_tmp = os.path.join(temp, "labels.tmp")
    written = processed = 0
    bar = _progress(options, len(jobs) if options.max_images is None else options.max_images, "images")
    with writer, bar, open(os.path.join(temp, SKIP_REPORT), "w", encoding="utf-8") as report, \
            open(os.path.join(temp, INPUTS_FILE), "w", encoding="utf-8") as inputs, \
            open(label_tmp, "wb") as label_file:
        for job, result in _run_jobs(jobs, order, config, workers, _chunk_size(options)):
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
        labels_info = _write_labels(temp, name, indices, labels.label_size, labels.classes)
    os.remove(label_tmp)

    summary = BuildSummary(dest, written, processed, skipped, time.time() - start)
    source_info = {"path": options.source if synthetic.parse_source(options.source) else
                   os.path.abspath(options.source),
                   "kind": "synthetic" if synthetic.parse_source(options.source) else
                   ("folder" if os.path.isdir(options.source) else "zip"),
                   "alignment": options.alignment}
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
    if synthetic.parse_source(options.source):
        source_info.update(num_images=options.num_images, seed=options.synthetic_seed)
    source_info["allow_upscale"] = options.upscale_allowed
    shuffle_info = {"shuffled": options.shuffle, "seed": options.shuffle_seed if options.shuffle else None,
                    "method": "np.random.RandomState(seed).shuffle of the inputs sorted by key"}
    _write_dataset_json(temp, options, written, files, labels_info, source_info, shuffle_info,
                        {"total": len(jobs), "processed": processed, "used": processed - sum(skipped.values()),
                         "skipped": sum(skipped.values())}, skipped)
    summary.info = _read_json(os.path.join(temp, DATASET_JSON))
    return summary


def _write_labels(directory: str, name: str, indices: np.ndarray, label_size: int,
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


def _write_dataset_json(directory: str, options: BuildOptions, num_images: int,
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


def _read_json(path: str) -> dict:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


# ---------------------------------------------------------------------------------------------
# --from-tfrecords: copy the records of an existing dataset.


def _copy_tfrecords(options: BuildOptions, start: float) -> BuildSummary:
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
    dest, temp = _prepare_dest(options)
    name = options.dataset_name
    try:
        writer = records.LevelWriter(temp, name, res_log2, options.shards)
        streams = {lg: source.iter_raw_records(2 ** lg) for lg in copied}
        if computed and base not in streams:
            streams[base] = source.iter_raw_records(2 ** base)
        written = 0
        bar = _progress(options, total, "records")
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
                labels_info = _write_labels(temp, name, indices, labels.shape[1], source.label_classes)
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
        _write_dataset_json(temp, options, written, files, labels_info, source_info, shuffle_info,
                            {"total": written, "processed": written, "used": written, "skipped": 0}, Counter())
        summary = BuildSummary(dest, written, written, Counter(), time.time() - start,
                               _read_json(os.path.join(temp, DATASET_JSON)))
        _publish(temp, dest)
        _fsync_dir(os.path.dirname(dest))
        return summary
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
