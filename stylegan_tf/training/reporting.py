"""Progress reporting: console lines, `stats.jsonl`, TensorBoard scalars and image grids, and a
progress bar toward the next tick (on a terminal only).

The official loop prints one line per tick; with ticks of minutes on a CPU, `TickProgress` adds
a tqdm bar between them (images of the tick done, kimg, img/s and the ETA of the whole run). It is
off when stdout is not a terminal (logs, `nohup`, CI), so files get the tick lines only.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Callable, TextIO

import numpy as np

from stylegan_tf.media import grid, save_png, to_uint8


def format_time(seconds: float) -> str:
    seconds = int(max(seconds, 0))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m {seconds % 60:02d}s"
    return f"{seconds // 3600}h {(seconds // 60) % 60:02d}m"


def eta_seconds(cur_nimg: int, total_nimg: int, img_per_sec: float | None) -> float | None:
    """Seconds to train the remaining images at the given rate (None while the rate is unknown)."""
    if not img_per_sec or img_per_sec <= 0:
        return None
    return max(total_nimg - cur_nimg, 0) / img_per_sec


def is_terminal(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False


class TickProgress:
    """A tqdm bar toward the next tick: images of the tick done, kimg, img/s and the run's ETA.

    The rate is measured from the bar's first update of each tick, so the work between ticks
    (grids, snapshots, metrics, a new resolution's tracing) does not count as training time.
    Nothing is drawn when `stream` (default stdout) is not a terminal. `clock` is injectable for tests.
    """

    BAR_FORMAT = "{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} img{postfix}"  # tqdm adds ", " before postfix

    def __init__(self, total_nimg: int, stream: TextIO | None = None, clock: Callable[[], float] = time.monotonic):
        self.total_nimg = int(total_nimg)
        self.stream = sys.stdout if stream is None else stream
        self.enabled = is_terminal(self.stream)
        self.clock = clock
        self.bar = None
        self._tick_start = None  # nimg at which the current bar's tick started
        self._reference = None   # (time, nimg) of the current bar's first update

    def rate(self, cur_nimg: int) -> float | None:
        """img/s since the first update of this tick (None before a second update)."""
        if self._reference is None:
            return None
        t0, nimg0 = self._reference
        elapsed = self.clock() - t0
        return (cur_nimg - nimg0) / elapsed if elapsed > 0 and cur_nimg > nimg0 else None

    def postfix(self, cur_nimg: int) -> str:
        rate = self.rate(cur_nimg)
        eta = eta_seconds(cur_nimg, self.total_nimg, rate)
        return (f"kimg {cur_nimg / 1000:.1f}, " + (f"{rate:.1f} img/s" if rate else "- img/s")
                + f", run ETA {format_time(eta) if eta is not None else '-'}")

    def update(self, cur_nimg: int, tick_start_nimg: int, tick_end_nimg: float, tick: int) -> None:
        """After a step: `cur_nimg` images trained; this tick runs from `tick_start_nimg` to `tick_end_nimg`."""
        if not self.enabled:
            return
        if self.bar is None or self._tick_start != tick_start_nimg:
            self.close()
            self._open(cur_nimg, tick_start_nimg, tick_end_nimg, tick)
            return
        self.bar.set_postfix_str(self.postfix(cur_nimg), refresh=False)
        self.bar.update(min(cur_nimg, self.bar.total + tick_start_nimg) - tick_start_nimg - self.bar.n)

    def _open(self, cur_nimg: int, tick_start_nimg: int, tick_end_nimg: float, tick: int) -> None:
        from tqdm import tqdm

        self._tick_start, self._reference = tick_start_nimg, (self.clock(), cur_nimg)
        total = max(int(round(min(tick_end_nimg, self.total_nimg))) - tick_start_nimg, 1)
        self.bar = tqdm(total=total, initial=min(cur_nimg - tick_start_nimg, total), desc=f"tick {tick}",
                        unit="img", file=self.stream, leave=False, dynamic_ncols=True, bar_format=self.BAR_FORMAT,
                        postfix=self.postfix(cur_nimg))

    def close(self) -> None:
        """Removes the bar (before a tick's line is printed)."""
        if self.bar is not None:
            self.bar.close()
            self.bar = None


class TickStats:
    """Averages the per-step statistics over a tick, on the device: `add` only queues tensor ops (no
    host synchronisation inside a tick); `read` fetches the means once, at the tick's end.

    Also counts the skipped steps (`nonfinite/D` or `nonfinite/G` set) and the longest run of
    consecutive skipped steps, carried over from tick to tick (`run`), for the divergence check.
    """

    def __init__(self, run=0.0):
        import tensorflow as tf

        self._tf = tf
        self.sums: dict = {}
        self.steps = 0
        self.run = tf.constant(float(run))            # Consecutive skipped steps up to now.
        self.longest_run = self.run
        self.skipped = tf.constant(0.0)

    def add(self, stats: dict) -> None:
        tf = self._tf
        for name, value in stats.items():
            value = tf.cast(value, tf.float32)
            self.sums[name] = self.sums[name] + value if name in self.sums else value
        self.steps += 1
        if "nonfinite/D" in stats:
            skipped = tf.cast(tf.maximum(stats["nonfinite/D"], stats["nonfinite/G"]) > 0, tf.float32)
            self.skipped = self.skipped + skipped
            self.run = (self.run + 1.0) * skipped
            self.longest_run = tf.maximum(self.longest_run, self.run)

    def read(self) -> tuple[dict[str, float], dict[str, float]]:
        """(means of the statistics, {"skipped", "longest_run", "run"}): one transfer from the device."""
        tf = self._tf
        names = sorted(self.sums)
        values = tf.stack([self.sums[n] for n in names] + [self.skipped, self.longest_run, self.run]).numpy()
        means = {n: float(v) / max(self.steps, 1) for n, v in zip(names, values)}
        skipped, longest, run = (float(v) for v in values[len(names):])
        return means, {"skipped": skipped, "longest_run": longest, "run": run}


class Reporter:
    """Writes what a tick measured to the console, stats.jsonl and TensorBoard (chief only)."""

    def __init__(self, run_dir: Path, enabled: bool = True, stream: TextIO | None = None):
        self.run_dir = Path(run_dir)
        self.enabled = enabled
        self.stream = stream  # Of the progress bars; None = stdout.
        self.writer = None
        self.bar: TickProgress | None = None
        if enabled:
            import tensorflow as tf

            self.writer = tf.summary.create_file_writer(str(self.run_dir / "tensorboard"))

    @property
    def show_progress(self) -> bool:
        """Progress bars are wanted: the chief, writing to a terminal."""
        return self.enabled and is_terminal(sys.stdout if self.stream is None else self.stream)

    def progress(self, cur_nimg: int, tick_start_nimg: int, tick_end_nimg: float, total_nimg: int,
                 tick: int) -> None:
        """After each step: moves the bar toward the next tick (see `TickProgress`)."""
        if not self.enabled:
            return
        if self.bar is None:
            self.bar = TickProgress(total_nimg, self.stream)
        self.bar.update(cur_nimg, tick_start_nimg, tick_end_nimg, tick)

    def tick(self, values: dict, step: int) -> None:
        if not self.enabled:
            return
        import tensorflow as tf

        if self.bar is not None:
            self.bar.close()

        line = {"time": time.time(), **values}
        with open(self.run_dir / "stats.jsonl", "a") as f:
            f.write(json.dumps(line) + "\n")
        with self.writer.as_default(step=step):
            for name, value in values.items():
                if isinstance(value, (int, float)) and name not in ("tick",):
                    tf.summary.scalar(name, value)
        self.writer.flush()
        print(self.console_line(values), flush=True)

    @staticmethod
    def console_line(v: dict) -> str:
        parts = [f"tick {v['tick']:<4d}", f"kimg {v['kimg']:<8.1f}", f"lod {v['lod']:<5.2f}",
                 f"res {v['resolution']:<4d}", f"batch {v['minibatch']:<4d}",
                 f"time {format_time(v['time_total'])}", f"sec/kimg {v['sec_per_kimg']:<7.2f}",
                 f"img/s {v['img_per_sec']:<7.1f}", f"loss D {v.get('loss/D', float('nan')):.3f}",
                 f"G {v.get('loss/G', float('nan')):.3f}", f"ETA {format_time(v['eta_sec'])}"]
        if v.get("nonfinite_steps"):
            parts.append(f"skipped {v['nonfinite_steps']}")
        return "  ".join(parts)

    def scalars(self, values: dict, step: int) -> None:
        if not self.enabled:
            return
        import tensorflow as tf

        with self.writer.as_default(step=step):
            for name, value in values.items():
                tf.summary.scalar(name, value)
        self.writer.flush()

    def image_grid(self, name: str, images, cols: int, step: int, path: Path | None = None) -> None:
        """Saves NHWC float images in [-1, 1] as a PNG grid and a TensorBoard image."""
        if not self.enabled:
            return
        import tensorflow as tf

        picture = grid(to_uint8(images), cols)
        if path is not None:
            save_png(picture, path)
        with self.writer.as_default(step=step):
            tf.summary.image(name, picture[np.newaxis], step=step)
        self.writer.flush()
