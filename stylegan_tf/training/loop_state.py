"""The training loop's state: what a checkpoint stores besides the variables (`meta.json` "state")."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Optional


@dataclass
class LoopState:
    """Where a run stands. Every field is a plain value, so a checkpoint stores it as JSON.

    The dataset stream restarts at every resolution or batch change and at every network
    snapshot, with a seed derived from (seed, resolution, `stream_start_nimg`): a resumed run
    reads the reals the uninterrupted one read.
    """

    cur_nimg:          int             = 0      # Real images shown.
    step:              int             = 0      # Iterations run (keys the random draws and the phases).
    tick:              int             = 0      # Ticks reported.
    prev_lod:          Optional[float] = None   # lod at the previous schedule update (optimizer resets).
    sched_nimg:        int             = 0      # Images shown at the last schedule update.
    stream_start_nimg: int             = 0      # Images shown when the current dataset stream started.
    stream_key:        Optional[list]  = None   # [resolution, minibatch] of the current stream.
    finished:          bool            = False  # The run reached its total length.
    time_total:        float           = 0.0    # Seconds trained, across resumes.

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "LoopState":
        """From a checkpoint's state (fields this version does not know are ignored)."""
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})
