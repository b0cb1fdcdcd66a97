"""What a dataset build is asked to do (`BuildOptions`, validated with errors naming the command-line
option) and what it reports (`BuildSummary`); shared by `builder`, `reshard` and `tool`."""

from __future__ import annotations

import os
import sys
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from stylegan_tf.data import sources, synthetic_faces
from stylegan_tf.data.layout import SKIP_REPORT
from stylegan_tf.errors import UserError

ALIGNMENTS = ("none", "ffhq-json", "detect")
CROPS = ("center", "pad")
OFFICIAL_SHUFFLE_SEED = 123  # `TFRecordExporter.choose_shuffled_order` uses RandomState(123).


def is_power_of_two(n: Any) -> bool:
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
    transform:      str | None = None    # Official --transform: "center-crop" or "center-crop-wide" (ADA's dataset_tool).
    transform_height: int | None = None  # center-crop-wide: the H of --resolution WxH (W = resolution).

    @property
    def resolution_log2(self) -> int:
        return self.resolution.bit_length() - 1

    @property
    def dataset_name(self) -> str:
        return self.name or os.path.basename(os.path.normpath(self.dest))

    def input_source(self) -> sources.Source:
        """The `sources.Source` that `source` names (validated options)."""
        source = sources.open_source(self.source, num_images=self.num_images, seed=self.synthetic_seed,
                                     resolution=self.resolution)
        if self.transform:
            source = sources.TransformedSource(source, self.transform, self.resolution,
                                               self.transform_height or self.resolution)
        return source

    @property
    def upscale_allowed(self) -> bool:
        return self.alignment == "ffhq-json" if self.allow_upscale is None else self.allow_upscale

    def validate(self) -> "BuildOptions":
        def fail(option: str, value: Any, requirement: str) -> None:
            raise UserError(f"{option} {requirement}. Received: {option} {value!r}")

        if not is_power_of_two(self.resolution) or not 4 <= self.resolution <= 1024:
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
        if not is_power_of_two(self.align_size) or not self.resolution <= self.align_size <= 4096:
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
        kind = synthetic_faces.parse_source(self.source)
        if kind is not None:
            if kind not in synthetic_faces.KINDS:
                fail("--source", self.source, f"must name a known synthetic kind {[synthetic_faces.SOURCE_PREFIX + k for k in synthetic_faces.KINDS]}")
            if not isinstance(self.num_images, int) or self.num_images < 1:
                fail("--num-images", self.num_images, "must be a positive integer for a synthetic source")
            if self.alignment != "none":
                fail("--alignment", self.alignment, "must be 'none' for a synthetic source")
            if self.channels != 3:
                fail("--channels", self.channels, "must be 3 for a synthetic source (the faces are RGB)")
        elif self.num_images is not None:
            raise UserError("--num-images only applies to a synthetic source (--source synthetic:faces); "
                            "use --max-images to limit a real source.")
        if self.transform is not None:
            if self.transform not in sources.TRANSFORMS:
                fail("--transform", self.transform, f"must be one of {sources.TRANSFORMS}")
            if self.alignment != "none" or self.source is None:
                fail("--transform", self.transform, "needs --source and --alignment none")
            height = self.transform_height or self.resolution
            if self.transform == "center-crop" and height != self.resolution:
                fail("--resolution", f"{self.resolution}x{height}", "must be square (NxN) for center-crop")
            if not isinstance(height, int) or not 1 <= height <= self.resolution:
                fail("--resolution", f"{self.resolution}x{height}", "needs 1 <= H <= W for center-crop-wide")
        elif self.transform_height not in (None, self.resolution):
            fail("--resolution", f"{self.resolution}x{self.transform_height}",
                 "may be WxH with W != H only with --transform center-crop-wide")
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


def progress_bar(options: BuildOptions, total: int | None, description: str):
    from tqdm import tqdm

    return tqdm(total=total, unit="img", desc=description, disable=not options.progress, file=sys.stderr,
                dynamic_ncols=True, smoothing=0.05)
