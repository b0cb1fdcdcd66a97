"""`tf.distribute` strategies by name: one device, mirrored (all local devices), multi-worker."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

from stylegan_tf.errors import UserError

STRATEGIES = ("default", "mirrored", "multiworker")


@dataclass(frozen=True)
class Placement:
    """Where this process stands in a distributed run."""

    strategy: object
    num_workers: int
    worker_index: int

    @property
    def is_chief(self) -> bool:
        return self.worker_index == 0

    @property
    def num_replicas(self) -> int:
        return self.strategy.num_replicas_in_sync


def make_strategy(name: str) -> Placement:
    """`default`: the default strategy (one device); `mirrored`: MirroredStrategy over every
    visible GPU (or the CPU); `multiworker`: MultiWorkerMirroredStrategy configured by TF_CONFIG."""
    import tensorflow as tf

    if name == "default":
        return Placement(tf.distribute.get_strategy(), 1, 0)
    if name == "mirrored":
        return Placement(tf.distribute.MirroredStrategy(), 1, 0)
    if name == "multiworker":
        raw = os.environ.get("TF_CONFIG")
        if not raw:
            raise UserError("--strategy multiworker needs the TF_CONFIG environment variable "
                            "(cluster.worker addresses and task.index); see the README.")
        try:
            tf_config = json.loads(raw)
            workers = tf_config["cluster"]["worker"]
            index = int(tf_config["task"]["index"])
        except (ValueError, KeyError, TypeError) as e:
            raise UserError(f"TF_CONFIG is not valid JSON with cluster.worker and task.index: {e}") from e
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
        return Placement(strategy, len(workers), index)
    raise UserError(f"Unknown --strategy. Received: {name!r}; valid: {STRATEGIES}")
