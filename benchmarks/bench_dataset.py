#!/usr/bin/env python3
"""Dataset benchmarks: reader throughput, builder throughput and memory, alignment speed and accuracy.

Prints figures; never a test. Default run: a few minutes on 2 CPU cores.

    python benchmarks/bench_dataset.py                      # everything, small sizes
    python benchmarks/bench_dataset.py --only reader --reader-images 4000
    python benchmarks/bench_dataset.py --train-rate 64=850 --train-rate 256=180   # reader / training ratios
    python benchmarks/bench_dataset.py --only memory --memory-images 1000 10000 100000

Sections:
- reader:    `ImageDataset.make_tf_dataset` images/s at 32, 64, 256, 1024 (official default shuffle
             buffer, mirror augment, batch 32 / 32 / 16 / 4), after a warm-up pass that fills the
             shuffle buffer. With --train-rate RES=IMG_PER_S the ratio to training is printed (the
             target is >= 20x).
- builder:   images/s per worker for (a) a folder of photos resized to 256, (b) in-the-wild photos
             with FFHQ 68-point landmarks aligned at 1024, (c) MTCNN detection + alignment at 1024;
             one worker in this process, then all cores.
- memory:    peak RSS of a build (parent and the largest worker, separate processes) for 1,000 and
             10,000 toy faces drawn on the fly: it must not grow with the image count.
- alignment: time per 1024x1024 aligned face, the fast `alignment.align_face` against the plain
             PIL/SciPy implementation of the official steps (`alignment_reference`), single-threaded
             OpenCV, and the mean / max absolute difference of their outputs in gray levels.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from stylegan_tf.data import alignment, records  # noqa: E402
from stylegan_tf.data.alignment_reference import reference_align, reference_quad  # noqa: E402

ASTRONAUT_POINTS = np.array([[204, 100], [245, 102], [224, 126], [202, 139], [244, 140]], float)


def _astronaut() -> np.ndarray:
    import skimage.data

    return skimage.data.astronaut()


def _photo(scale: int, seed: int, margin: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """An in-the-wild-like photo and its 5 points: the astronaut (mirror-extended by `margin` pixels,
    so the face can sit well inside), upscaled, with noise and a randomly shifted frame."""
    import cv2

    rng = np.random.default_rng(seed)
    base = cv2.copyMakeBorder(_astronaut(), margin, margin, margin, margin, cv2.BORDER_REFLECT_101)
    side = base.shape[0] * scale
    big = cv2.resize(base, (side, side), interpolation=cv2.INTER_CUBIC)
    big = cv2.add(big, rng.integers(0, 24, big.shape, dtype=np.uint8))
    dx, dy = rng.integers(0, 60 * scale, 2)
    crop = big[dy:dy + side - 60 * scale, dx:dx + side - 40 * scale]
    return np.ascontiguousarray(crop), (ASTRONAUT_POINTS + margin) * scale - [dx, dy]


def _68_from_5(points: np.ndarray) -> np.ndarray:
    lm = np.zeros((68, 2))
    ring = np.array([[-3, 0], [-1, -1], [1, -1], [3, 0], [1, 1], [-1, 1]], float)
    lm[36:42], lm[42:48] = points[0] + ring, points[1] + ring
    lm[48], lm[54] = points[3], points[4]
    lm[:36] = points[2]
    lm[55:] = points[2]
    return lm


# ---------------------------------------------------------------------------------------------


def bench_alignment(repeats: int) -> None:
    import cv2

    print("\n== Alignment: one 1024x1024 face (fast vs the plain official steps) ==")
    cv2.setNumThreads(1)
    image, points = _photo(9, 0)
    cases = {
        "face inside the photo (qsize ~1480)": _photo(9, 0, margin=200),
        "face at the top edge: blur padding (~1480)": (image, points),
        "smaller face inside (qsize ~660)": _photo(4, 1, margin=200),
    }
    print(f"{'case':46s} {'baseline':>9s} {'fast':>7s} {'speed-up':>8s} {'MAD':>6s} {'max':>4s}")
    for name, (image, points) in cases.items():
        quad, qsize = alignment.crop_quad(alignment.face_points(points))
        ref_quad, ref_size = reference_quad(points)
        t_ref, t_fast = [], []
        for _ in range(repeats):
            t = time.process_time()
            reference = reference_align(image, ref_quad, ref_size, 1024, 4096)
            t_ref.append(time.process_time() - t)
            t = time.process_time()
            fast = alignment.align_face(image, quad, qsize, 1024)
            t_fast.append(time.process_time() - t)
        diff = np.abs(fast.astype(np.int32) - reference)
        print(f"{name:46s} {min(t_ref):8.3f}s {min(t_fast):6.3f}s {min(t_ref) / min(t_fast):7.1f}x "
              f"{diff.mean():6.3f} {diff.max():4d}")
    print("(CPU seconds of this process, best of %d runs, everything single-threaded (OpenCV set to 1 thread), "
          "so a shared machine distorts less than wall time; MAD = mean |fast - baseline| over all pixels and "
          "channels, in gray levels)" % repeats)
    cv2.setNumThreads(-1)


# ---------------------------------------------------------------------------------------------


def _write_level(directory: str, resolution: int, count: int) -> None:
    """An official-format directory with one level: `count` records of a few distinct toy faces."""
    import tensorflow as tf

    from stylegan_tf.data.synthetic import synthetic_face

    os.makedirs(directory, exist_ok=True)
    distinct = [records.encode_example(np.ascontiguousarray(synthetic_face(resolution, i).transpose(2, 0, 1)))
                for i in range(min(count, 16))]
    name = os.path.basename(directory)
    path = os.path.join(directory, records.level_file_name(name, resolution.bit_length() - 1))
    with tf.io.TFRecordWriter(path) as writer:
        for i in range(count):
            writer.write(distinct[i % len(distinct)])


def bench_reader(workdir: str, counts: dict[int, int], seconds: float, train_rates: dict[int, float]) -> None:
    from stylegan_tf.data.dataset import ImageDataset

    print("\n== Reader: make_tf_dataset images/s (shuffle 4096 MiB official, mirror, repeat) ==")
    batch = {32: 32, 64: 32, 256: 16, 1024: 4}
    print(f"{'res':>5s} {'batch':>5s} {'images/s':>10s} {'MB/s':>8s}  vs training")
    for res, count in counts.items():
        directory = os.path.join(workdir, f"reader{res}")
        _write_level(directory, res, count)
        dataset = ImageDataset(directory)
        stream = dataset.make_tf_dataset(res, batch[res], mirror_augment=True, seed=0)
        iterator = iter(stream)
        for _ in range(max(1, count // batch[res])):  # warm-up: fills the shuffle buffer
            next(iterator)
        n, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            next(iterator)
            n += batch[res]
        rate = n / (time.perf_counter() - start)
        ratio = f"{rate / train_rates[res]:.0f}x (training {train_rates[res]:g} img/s)" if res in train_rates \
            else "(no training figure given; --train-rate RES=IMG_PER_S)"
        print(f"{res:5d} {batch[res]:5d} {rate:10.0f} {rate * res * res * 3 / 2**20:8.0f}  {ratio}")
        shutil.rmtree(directory)


# ---------------------------------------------------------------------------------------------


def _make_sources(workdir: str, photos: int) -> dict[str, tuple[str, str | None]]:
    import PIL.Image

    folder = os.path.join(workdir, "photos")
    wild = os.path.join(workdir, "wild")
    os.makedirs(folder)
    os.makedirs(os.path.join(wild, "in-the-wild-images"))
    meta = {}
    for i in range(photos):
        image, points = _photo(4, 100 + i, margin=100 if i % 2 else 0)
        PIL.Image.fromarray(image).save(os.path.join(folder, f"{i:05d}.jpg"), quality=92)
        rel = f"in-the-wild-images/{i:05d}.png"
        PIL.Image.fromarray(image).save(os.path.join(wild, rel), compress_level=1)
        meta[str(i)] = {"in_the_wild": {"file_path": rel, "face_landmarks": _68_from_5(points).tolist()}}
    landmarks = os.path.join(workdir, "ffhq-dataset-v2.json")
    with open(landmarks, "w") as f:
        json.dump(meta, f)
    return {"(a) folder, resize to 256": (folder, None),
            "(b) FFHQ JSON alignment, 1024": (os.path.join(wild, "in-the-wild-images"), landmarks),
            "(c) MTCNN detect + alignment, 1024": (folder, "detect")}


def bench_builder(workdir: str, photos: int) -> None:
    from stylegan_tf.data import builder, worker
    from stylegan_tf.data.builder import BuildOptions, build_dataset, default_workers

    print(f"\n== Builder: throughput ({photos} photos of about 2000x2000, JPEG for (a)/(c), PNG for (b)) ==")
    sources = _make_sources(workdir, photos)
    cores = default_workers()
    print(f"{'source':38s} {'per worker img/s':>16s} {f'build, {cores} workers img/s':>26s}")
    for name, (source, extra) in sources.items():
        kwargs = dict(resolution=256, alignment="none")
        if extra == "detect":
            kwargs = dict(resolution=1024, alignment="detect", min_face_size=100, allow_upscale=True)
        elif extra:
            kwargs = dict(resolution=1024, alignment="ffhq-json", landmarks=extra)
        dest = os.path.join(workdir, "out")
        options = BuildOptions(dest=dest, source=source, workers=cores, progress=False, overwrite=True, **kwargs)
        # Per worker: the work one worker process does per input (decode, detect, align, levels,
        # serialise), timed in this process with single-threaded OpenCV, after a warm-up input.
        jobs, _ = builder._make_jobs(options)
        config = worker.WorkerConfig(
            source=os.path.abspath(source), synthetic_kind=None, synthetic_seed=0, alignment=options.alignment,
            resolution=options.resolution, align_size=1024, rotate=True, crop="center", faces="largest",
            min_face_size=options.min_face_size, allow_upscale=options.upscale_allowed, channels=3,
            save_png=False, threads=1)
        worker.init(config)
        worker.process(jobs[0])
        start = time.perf_counter()
        results = [worker.process(job) for job in jobs]
        per_worker = len(jobs) / (time.perf_counter() - start)
        assert all(r[0] == "ok" for r in results), [r for r in results if r[0] != "ok"][:2]
        start = time.perf_counter()
        summary = build_dataset(options)
        build_rate = summary.num_images / (time.perf_counter() - start)
        shutil.rmtree(dest)
        print(f"{name:38s} {per_worker:16.2f} {build_rate:26.2f}")
    print("(build = the whole command's wall time: starting the workers, TensorFlow for the writer, MTCNN "
          "in each worker for (c), writing and checksums; with few photos that start-up dominates)")


# ---------------------------------------------------------------------------------------------

_MEMORY_CHILD = """
import os, sys, threading, time
sys.path.insert(0, {repo!r})
from stylegan_tf.data.builder import BuildOptions, build_dataset

def rss_kib(pid):
    try:
        with open(f"/proc/{{pid}}/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
    except (OSError, StopIteration):
        return 0

def children(pid):
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{{entry}}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        out.append(int(entry))
            except (OSError, ValueError, IndexError):
                pass
    return out

peaks = {{"parent": 0, "worker": 0, "total": 0}}
done = threading.Event()

def sample():
    me = os.getpid()
    while not done.is_set():
        parent = rss_kib(me)
        workers = [rss_kib(c) for c in children(me)]
        peaks["parent"] = max(peaks["parent"], parent)
        peaks["worker"] = max([peaks["worker"], *workers])
        peaks["total"] = max(peaks["total"], parent + sum(workers))
        time.sleep(0.05)

threading.Thread(target=sample, daemon=True).start()
t = time.perf_counter()
s = build_dataset(BuildOptions(dest={dest!r}, resolution=64, source="synthetic:faces", num_images={n},
                               workers={workers}, progress=False, shuffle=True))
elapsed = time.perf_counter() - t
done.set()
time.sleep(0.1)
print(s.num_images, elapsed, peaks["parent"], peaks["worker"], peaks["total"])
"""


def bench_memory(workdir: str, counts: list[int]) -> None:
    from stylegan_tf.data.builder import default_workers

    workers = default_workers()
    print(f"\n== Memory: peak RSS of a build of 64x64 toy faces drawn on the fly ({workers} workers) ==")
    print(f"{'images':>8s} {'seconds':>8s} {'parent MiB':>11s} {'largest worker MiB':>19s} {'all MiB':>8s}")
    for n in counts:
        dest = os.path.join(workdir, f"mem{n}")
        code = _MEMORY_CHILD.format(repo=REPO, dest=dest, n=n, workers=workers)
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
        images, seconds, parent, worker, total = out.split()[-5:]
        print(f"{int(images):8d} {float(seconds):8.1f} {int(parent) / 1024:11.0f} {int(worker) / 1024:19.0f} "
              f"{int(total) / 1024:8.0f}")
        shutil.rmtree(dest)
    print("(VmRSS sampled every 50 ms from /proc; the parent holds TensorFlow for writing)")


# ---------------------------------------------------------------------------------------------


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--only", choices=("alignment", "reader", "builder", "memory"), action="append",
                   help="run only these sections (repeatable)")
    p.add_argument("--reader-images", type=int, default=2000, help="records per level at 32 and 64 "
                   "(256: a fifth, 1024: 64; default 2000)")
    p.add_argument("--reader-seconds", type=float, default=5.0, help="timed seconds per resolution")
    p.add_argument("--train-rate", action="append", default=[], metavar="RES=IMG_PER_S",
                   help="training throughput at a resolution, to print the reader/training ratio")
    p.add_argument("--photos", type=int, default=8, help="photos per builder source (default 8)")
    p.add_argument("--memory-images", type=int, nargs="+", default=[1000, 10000])
    p.add_argument("--align-repeats", type=int, default=3)
    p.add_argument("--workdir", help="scratch folder (default: a temporary one)")
    args = p.parse_args()
    sections = args.only or ["alignment", "reader", "builder", "memory"]
    train_rates = {}
    for item in args.train_rate:
        res, rate = item.split("=")
        train_rates[int(res)] = float(rate)

    workdir = args.workdir or tempfile.mkdtemp(prefix="bench_dataset_")
    os.makedirs(workdir, exist_ok=True)
    print(f"CPU cores: {os.cpu_count()}, scratch: {workdir}")
    try:
        if "alignment" in sections:
            bench_alignment(args.align_repeats)
        if "reader" in sections:
            n = args.reader_images
            bench_reader(workdir, {32: n, 64: n, 256: max(64, n // 5), 1024: 64}, args.reader_seconds, train_rates)
        if "builder" in sections:
            bench_builder(workdir, args.photos)
        if "memory" in sections:
            bench_memory(workdir, args.memory_images)
    finally:
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    print(f"\npeak RSS of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
