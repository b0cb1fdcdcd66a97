"""Training checkpoints: every variable of G, D, Gs and both optimizers, plus the loop state.

A checkpoint is a directory `checkpoints/ckpt-<images shown, 12 digits>/` holding
`variables.npz` (arrays keyed `<group>/<index>`) and `meta.json` (loop state, the
experiment config, and each group's variable paths and shapes). It is written into a
temporary directory and renamed into place only when complete, so a run killed while
writing leaves the previous checkpoint as the latest; only complete directories are
ever listed. The last `keep` checkpoints are kept.

Loop state saved: images shown, iteration (keys the stateless random draws, so the
random-generator state is the iteration), tick, the level of detail of the previous
schedule update, and the dataset position (images read since the current dataset
stream started). Optimizer variables include the loss scales.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from stylegan_tf.config import Config
from stylegan_tf.errors import UserError

CHECKPOINT_RE = re.compile(r"^ckpt-(\d{12})$")
FORMAT_VERSION = 1
# Groups a checkpoint written before they existed may lack; they then keep their initial values
# ("augment": ADA's p and statistics, added after the first v1 checkpoints).
OPTIONAL_GROUPS = ("augment",)


def variable_groups(trainer) -> dict[str, list]:
    """The variables a checkpoint holds, by group, in a stable order: the trainer's
    `checkpoint_variables()` (v1: G, D, Gs, g_opt, d_opt; StyleGAN2 adds a "state" group
    with pl_mean, so v1 checkpoints keep their layout)."""
    return trainer.checkpoint_variables()


def list_checkpoints(run_dir: Path) -> list[Path]:
    """Complete checkpoints of a run, oldest first."""
    folder = Path(run_dir) / "checkpoints"
    if not folder.is_dir():
        return []
    found = [p for p in folder.iterdir() if CHECKPOINT_RE.match(p.name) and (p / "meta.json").is_file()]
    return sorted(found, key=lambda p: int(CHECKPOINT_RE.match(p.name).group(1)))


def save_checkpoint(trainer, run_dir: Path, state: dict[str, Any], keep: int = 3) -> Path:
    """Writes a checkpoint atomically and prunes old ones; returns its directory."""
    folder = Path(run_dir) / "checkpoints"
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / f"ckpt-{int(state['cur_nimg']):012d}"
    tmp = folder / f".{final.name}.tmp-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    arrays, layout = {}, {}
    for group, variables in variable_groups(trainer).items():
        layout[group] = []
        for i, v in enumerate(variables):
            value = np.asarray(v.numpy())
            arrays[f"{group}/{i:05d}"] = value
            layout[group].append([v.path, list(value.shape)])
    with open(tmp / "variables.npz", "wb") as f:
        np.savez(f, **arrays)
        f.flush()
        os.fsync(f.fileno())
    meta = {"format": FORMAT_VERSION, "state": state, "config": trainer.experiment.to_dict(), "layout": layout}
    with open(tmp / "meta.json", "w") as f:
        json.dump(meta, f, indent=1)
        f.flush()
        os.fsync(f.fileno())
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)
    for old in list_checkpoints(run_dir)[:-keep] if keep > 0 else []:
        shutil.rmtree(old, ignore_errors=True)
    return final


def read_meta(checkpoint: Path) -> dict[str, Any]:
    path = Path(checkpoint) / "meta.json"
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise UserError(f"Cannot read checkpoint metadata {path}: {e}") from e


def check_compatible(meta: dict[str, Any], config: Config, checkpoint: Path) -> None:
    """Resuming needs the same networks: raise naming every network field that differs."""
    saved = Config.from_dict(meta["config"]).network.to_dict()
    current = config.network.to_dict()
    diff = [f"{k}: checkpoint {saved[k]!r}, now {current[k]!r}" for k in current if saved.get(k) != current[k]]
    if diff:
        raise UserError(f"Cannot resume from {checkpoint}: the network configuration differs "
                        f"({'; '.join(diff)}). Resume with the same --config/--resolution, or start a new run.")


def load_checkpoint(trainer, checkpoint: Path) -> dict[str, Any]:
    """Restores every variable of the trainer; returns the saved loop state."""
    checkpoint = Path(checkpoint)
    meta = read_meta(checkpoint)
    check_compatible(meta, trainer.experiment, checkpoint)
    with np.load(checkpoint / "variables.npz") as data:
        for group, variables in variable_groups(trainer).items():
            if group not in meta["layout"] and group in OPTIONAL_GROUPS:
                continue
            layout = meta["layout"].get(group, [])
            if len(layout) != len(variables):
                raise UserError(f"Checkpoint {checkpoint} holds {len(layout)} {group} variables, this run has "
                                f"{len(variables)}: it was written by an incompatible configuration or version.")
            for i, v in enumerate(variables):
                value = data[f"{group}/{i:05d}"]
                if tuple(value.shape) != tuple(v.shape):
                    raise UserError(f"Checkpoint {checkpoint}: {group} variable {layout[i][0]} has shape "
                                    f"{tuple(value.shape)}, this run expects {tuple(v.shape)} ({v.path}).")
                v.assign(value)
    return meta["state"]


def load_generator_weights(G, checkpoint: Path, group: str = "Gs") -> Config:
    """Loads the Gs (or G) weights of a checkpoint into a Generator; returns the checkpoint's config."""
    checkpoint = Path(checkpoint)
    meta = read_meta(checkpoint)
    layout = meta["layout"][group]
    with np.load(checkpoint / "variables.npz") as data:
        if len(layout) != len(G.weights):
            raise UserError(f"Checkpoint {checkpoint}: {group} has {len(layout)} variables, the generator "
                            f"built from its config has {len(G.weights)}.")
        for i, v in enumerate(G.weights):
            v.assign(data[f"{group}/{i:05d}"])
    return Config.from_dict(meta["config"])
