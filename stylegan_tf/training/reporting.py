"""Progress reporting: console lines, `stats.jsonl`, TensorBoard scalars and image grids."""

from __future__ import annotations

import json
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from stylegan_tf.images import grid, save_png, to_uint8


def format_time(seconds: float) -> str:
    seconds = int(max(seconds, 0))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m {seconds % 60:02d}s"
    return f"{seconds // 3600}h {(seconds // 60) % 60:02d}m"


class TickStats:
    """Averages the per-step statistics over a tick."""

    def __init__(self):
        self.sums: dict[str, float] = defaultdict(float)
        self.counts: dict[str, int] = defaultdict(int)

    def add(self, stats: dict) -> None:
        for name, value in stats.items():
            self.sums[name] += float(value)
            self.counts[name] += 1

    def means(self) -> dict[str, float]:
        return {name: self.sums[name] / self.counts[name] for name in self.sums}


class Reporter:
    """Writes what a tick measured to the console, stats.jsonl and TensorBoard (chief only)."""

    def __init__(self, run_dir: Path, enabled: bool = True):
        self.run_dir = Path(run_dir)
        self.enabled = enabled
        self.writer = None
        if enabled:
            import tensorflow as tf

            self.writer = tf.summary.create_file_writer(str(self.run_dir / "tensorboard"))

    def tick(self, values: dict, step: int) -> None:
        if not self.enabled:
            return
        import tensorflow as tf

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
