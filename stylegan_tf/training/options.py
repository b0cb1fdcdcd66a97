"""Run options: how one training run executes (not what it trains, which is the `Config`).

Free of TensorFlow and Keras: command lines and tools import it to validate options."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Optional

from stylegan_tf.errors import UserError
from stylegan_tf.training.distribute import STRATEGIES

# --mixed-precision -> the Keras dtype policy of G, D and Gs.
MIXED_PRECISION = {"off": "float32", "fp16": "mixed_float16", "bf16": "mixed_bfloat16"}


@dataclass(frozen=True)
class RunOptions:
    data:              Optional[str]   = None       # Dataset directory; None = build the synthetic demo dataset.
    subset:            Optional[int]   = None       # Official --subset: train on N images of the dataset (None = all).
    cond:              Optional[bool]  = None       # --cond / --no-cond: use the dataset's labels (None = if it has them).
    strategy:          str             = "default"  # default | mirrored | multiworker
    mixed_precision:   str             = "off"      # off | fp16 | bf16
    resume:            Optional[str]   = None       # None | "latest" | a checkpoint directory
    seed:              int             = 0          # Seeds weights init, latents, noise, data order.
    snapshot_kimg:     Optional[float] = None       # Network snapshot every N kimg (default: every snapshot_ticks ticks).
    metrics:           tuple[str, ...] = ()         # Metrics at each network snapshot.
    metrics_num:       int             = 1000       # Samples per metric evaluation during training.
    inception:         Optional[str]   = None       # Inception weights file for FID/KID/precision-recall.
    lpips:             Optional[str]   = None       # LPIPS .npz for PPL.
    keep_checkpoints:  int             = 3          # Checkpoints kept (the newest).
    grid_size:         tuple[int, int] = (8, 4)     # Columns, rows of the snapshot grids.
    max_nonfinite:     int             = 50         # Consecutive skipped (non-finite) steps that stop the run.
    export_savedmodel: bool            = True       # Also write a SavedModel at each network snapshot.
    xla:               Optional[bool]  = None       # XLA-compiled network passes (None = on with GPUs, off on CPUs).
    extra:             dict[str, Any]  = field(default_factory=dict)  # Command line, overrides (recorded only).

    def validate(self) -> "RunOptions":
        if self.strategy not in STRATEGIES:
            raise UserError(f"--strategy must be one of {STRATEGIES}. Received: {self.strategy!r}")
        if self.mixed_precision not in MIXED_PRECISION:
            raise UserError(f"--mixed-precision must be one of {tuple(MIXED_PRECISION)}. "
                            f"Received: {self.mixed_precision!r}")
        if self.snapshot_kimg is not None and self.snapshot_kimg <= 0:
            raise UserError(f"--snapshot-kimg must be positive. Received: {self.snapshot_kimg}")
        if self.subset is not None and (isinstance(self.subset, bool) or not isinstance(self.subset, int)
                                        or self.subset < 1):
            raise UserError(f"--subset must be a positive number of images. Received: {self.subset!r}")
        if self.keep_checkpoints < 1:
            raise UserError(f"--keep-checkpoints must be at least 1. Received: {self.keep_checkpoints}")
        return self

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)
