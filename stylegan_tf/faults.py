"""Deterministic fault injection for the reliability tests: die by SIGKILL at a named point.

    STYLEGAN_TF_KILL_AT="checkpoint-write:2" python train.py ...

kills the process (SIGKILL, as a power cut or the OOM killer would: no cleanup, no flush)
the 2nd time it passes `faults.point("checkpoint-write")`. Without the variable, `point`
returns at once. Points: "checkpoint-write" (variables.npz written, meta.json not yet:
inside the temporary directory), "checkpoint-rename" (a checkpoint renamed into place,
older ones not yet pruned), "export" (a `.keras` export written under its temporary name,
not yet renamed), "metrics" (a snapshot's checkpoint and exports written, its metrics not yet
computed: `stylegan_tf.metrics.evaluate_snapshot`).
"""

from __future__ import annotations

import os
import signal

ENV = "STYLEGAN_TF_KILL_AT"
_passes: dict[str, int] = {}


def point(name: str) -> None:
    """Counts a pass of `name`; SIGKILLs this process on the pass the environment names."""
    spec = os.environ.get(ENV)
    if not spec:
        return
    target, _, count = spec.partition(":")
    if target != name:
        return
    _passes[name] = _passes.get(name, 0) + 1
    if _passes[name] == int(count or 1):
        os.kill(os.getpid(), signal.SIGKILL)
