"""Training checkpoints: every variable of G, D, Gs and both optimizers, plus the loop state.

A checkpoint is a directory `checkpoints/ckpt-<images shown, 12 digits>/` holding
`variables.npz` (arrays keyed `<group>/<index>`) and `meta.json` (loop state, the
experiment config, each group's variable paths and shapes, the size and SHA-256 of
`variables.npz`, and a checksum of its own content). Writing (`save_checkpoint`):
`variables.npz`, then `meta.json` (last), each fsynced, into a temporary directory that
is renamed into place only when complete; the parent directory is fsynced after the
rename and after pruning (POSIX `rename(2)` is atomic, but durable only once its
directory is synced). A run killed while writing leaves the previous checkpoint as the
latest and a temporary directory that the next write removes. The last `keep`
checkpoints are kept.

Reading verifies (`verify_checkpoint`, `read_checkpoint`): `meta.json` parses, is
complete and matches its checksum; `variables.npz` has the recorded size and SHA-256 and
holds every array of the layout with its shape. A fault is a `DamagedCheckpoint` naming
it. `choose_checkpoint` resolves `--resume`: with "latest" (or a run directory) the
newest intact checkpoint, after saying which newer ones it skipped and why; a
`UserError` listing each checkpoint and its fault only when none is intact.
(Checkpoints of format 1, without checksums, are verified through the zip CRC-32s of
`variables.npz`.)

Loop state saved: images shown, iteration (keys the stateless random draws, so the
random-generator state is the iteration), tick, the level of detail of the previous
schedule update, and the dataset position (images read since the current dataset
stream started). Optimizer variables include the loss scales.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from pathlib import Path
from typing import Any, Callable

import numpy as np

from stylegan_tf import faults
from stylegan_tf.config import Config
from stylegan_tf.errors import UserError
from stylegan_tf.safe_files import fsync_directory, load_npz, sha256_file

CHECKPOINT_RE = re.compile(r"^ckpt-(\d{12})$")
TEMP_RE = re.compile(r"^\.ckpt-\d{12}\.tmp-(\d+)$")
FORMAT_VERSION = 2  # 2: meta.json records the size and SHA-256 of variables.npz.
DATA_FILE, META_FILE = "variables.npz", "meta.json"
# Groups a checkpoint written before they existed may lack; they then keep their initial values
# ("augment": ADA's p and statistics, added after the first v1 checkpoints; "state": the family's
# state and the iteration counter of the fit() path, which v1 checkpoints had none of).
OPTIONAL_GROUPS = ("augment", "state")


class DamagedCheckpoint(UserError):
    """A checkpoint whose files do not hold what its meta.json records (or have no meta.json)."""

    def __init__(self, path: Path, fault: str):
        super().__init__(f"Checkpoint {path} is damaged: {fault}")
        self.path, self.fault = Path(path), fault


def variable_groups(trainer) -> dict[str, list]:
    """The variables a checkpoint holds, by group, in a stable order: the trainer's
    `checkpoint_variables()` (v1: G, D, Gs, g_opt, d_opt; StyleGAN2 adds a "state" group
    with pl_mean, so v1 checkpoints keep their layout)."""
    return trainer.checkpoint_variables()


def checkpoint_directories(run_dir: Path) -> list[Path]:
    """Every `ckpt-*` directory of a run, intact or not, oldest first."""
    folder = Path(run_dir) / "checkpoints"
    if not folder.is_dir():
        return []
    found = [p for p in folder.iterdir() if CHECKPOINT_RE.match(p.name) and p.is_dir()]
    return sorted(found, key=lambda p: int(CHECKPOINT_RE.match(p.name).group(1)))


def list_checkpoints(run_dir: Path) -> list[Path]:
    """Checkpoints of a run that have their meta.json, oldest first (not verified: see `choose_checkpoint`)."""
    return [p for p in checkpoint_directories(run_dir) if (p / META_FILE).is_file()]


def _write_synced(path: Path, write: Callable) -> None:
    with open(path, "wb") as f:
        write(f)
        f.flush()
        os.fsync(f.fileno())


def _remove_stale_temporaries(folder: Path) -> None:
    """Temporary directories of writers that were killed (any process id but ours)."""
    for p in folder.iterdir():
        match = TEMP_RE.match(p.name)
        if match and int(match.group(1)) != os.getpid():
            shutil.rmtree(p, ignore_errors=True)


def save_checkpoint(trainer, run_dir: Path, state: dict[str, Any], keep: int = 3) -> Path:
    """Writes a checkpoint atomically and durably (module docstring) and prunes old ones; returns its directory."""
    folder = Path(run_dir) / "checkpoints"
    folder.mkdir(parents=True, exist_ok=True)
    _remove_stale_temporaries(folder)
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
    _write_synced(tmp / DATA_FILE, lambda f: np.savez(f, **arrays))
    faults.point("checkpoint-write")
    files = {DATA_FILE: {"bytes": (tmp / DATA_FILE).stat().st_size, "sha256": sha256_file(tmp / DATA_FILE)}}
    meta = {"format": FORMAT_VERSION, "state": state, "config": trainer.experiment.to_dict(), "layout": layout,
            "files": files}
    meta["checksum"] = _meta_checksum(meta)
    _write_synced(tmp / META_FILE, lambda f: f.write(json.dumps(meta, indent=1).encode()))
    fsync_directory(tmp)
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)
    fsync_directory(folder)
    faults.point("checkpoint-rename")
    for old in list_checkpoints(run_dir)[:-keep] if keep > 0 else []:
        shutil.rmtree(old, ignore_errors=True)
    fsync_directory(folder)
    return final


def _meta_checksum(meta: dict) -> str:
    """SHA-256 of meta.json's content but this field (canonical JSON: sorted keys)."""
    rest = {k: v for k, v in meta.items() if k != "checksum"}
    return hashlib.sha256(json.dumps(rest, sort_keys=True).encode()).hexdigest()


def read_meta(checkpoint: Path) -> dict[str, Any]:
    """meta.json of a checkpoint, checked to be complete (`DamagedCheckpoint` otherwise)."""
    checkpoint = Path(checkpoint)
    path = checkpoint / META_FILE
    if not path.is_file():
        raise DamagedCheckpoint(checkpoint, f"{META_FILE} is missing (the write did not finish)")
    try:
        meta = json.loads(path.read_bytes())
    except (OSError, ValueError) as e:  # ValueError: JSON and UTF-8 decoding errors.
        raise DamagedCheckpoint(checkpoint, f"{META_FILE} is unreadable ({type(e).__name__}: {e})") from None
    missing = [k for k in ("state", "config", "layout") if not isinstance(meta, dict) or not isinstance(
        meta.get(k), dict)]
    if missing:
        raise DamagedCheckpoint(checkpoint, f"{META_FILE} lacks {', '.join(missing)}")
    if "checksum" in meta and meta["checksum"] != _meta_checksum(meta):
        raise DamagedCheckpoint(checkpoint, f"{META_FILE} does not match its own checksum (its content changed "
                                            f"after it was written)")
    return meta


def _check_arrays(checkpoint: Path, meta: dict, arrays: dict[str, np.ndarray]) -> None:
    """Every array the layout lists is there with its shape."""
    for group, layout in meta["layout"].items():
        for i, (name, shape) in enumerate(layout):
            value = arrays.get(f"{group}/{i:05d}")
            if value is None or list(value.shape) != list(shape):
                found = "missing" if value is None else f"of shape {list(value.shape)}"
                raise DamagedCheckpoint(checkpoint, f"{DATA_FILE}: {group} variable {name} is {found}, "
                                                    f"{META_FILE} records shape {shape}")


def _read_arrays(checkpoint: Path, meta: dict) -> dict[str, np.ndarray]:
    try:
        arrays = load_npz(checkpoint / DATA_FILE, "checkpoint variables")
    except UserError as e:
        raise DamagedCheckpoint(checkpoint, str(e)) from None
    _check_arrays(checkpoint, meta, arrays)
    return arrays


def verify_checkpoint(checkpoint: Path) -> dict[str, Any]:
    """Checks a checkpoint's files against its meta.json (module docstring); returns the meta.

    Raises `DamagedCheckpoint` naming the fault."""
    checkpoint = Path(checkpoint)
    meta = read_meta(checkpoint)
    recorded = meta.get("files")
    if not isinstance(recorded, dict):  # Format 1: no checksums; the zip CRC-32s decide.
        _read_arrays(checkpoint, meta)
        return meta
    for name, record in recorded.items():
        path = checkpoint / name
        if not path.is_file():
            raise DamagedCheckpoint(checkpoint, f"{name} is missing")
        size = path.stat().st_size
        if size != record.get("bytes"):
            raise DamagedCheckpoint(checkpoint, f"{name} has {size} bytes, {META_FILE} records "
                                                f"{record.get('bytes')} (truncated or overwritten)")
        if sha256_file(path) != record.get("sha256"):
            raise DamagedCheckpoint(checkpoint, f"{name} does not match the SHA-256 {META_FILE} records "
                                                f"(its bytes changed after it was written)")
    return meta


def read_checkpoint(checkpoint: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """(meta, arrays) of a verified checkpoint; `DamagedCheckpoint` names any fault."""
    checkpoint = Path(checkpoint)
    meta = verify_checkpoint(checkpoint)
    return meta, _read_arrays(checkpoint, meta)


def choose_checkpoint(resume: str, run_dir: Path, log: Callable[[str], None] = print) -> Path:
    """The checkpoint `--resume` names: "latest" (in `run_dir`), a checkpoint directory, or a run directory.

    For "latest" and run directories, the newest intact checkpoint; each newer damaged one is
    reported through `log` with its fault. A named checkpoint directory must be intact itself.

    Raises:
        UserError: nothing to resume from, or (listing each checkpoint and its fault) none intact.
    """
    if resume == "latest":
        where = Path(run_dir)
    else:
        path = Path(resume)
        if CHECKPOINT_RE.match(path.name) or (path / META_FILE).is_file():
            verify_checkpoint(path)
            return path
        where = path
    candidates = checkpoint_directories(where)
    if not candidates:
        if resume == "latest":
            raise UserError(f"--resume latest: no checkpoint in {where / 'checkpoints'}")
        raise UserError(f"--resume {resume}: not a checkpoint directory nor a run directory with checkpoints")
    damaged = []
    for candidate in reversed(candidates):
        try:
            verify_checkpoint(candidate)
        except DamagedCheckpoint as e:
            damaged.append(e)
            continue
        for e in damaged:
            log(f"Skipping damaged checkpoint {e.path.name}: {e.fault}")
        return candidate
    listing = "\n".join(f"  {e.path.name}: {e.fault}" for e in damaged)
    raise UserError(f"--resume {resume}: every checkpoint in {where / 'checkpoints'} is damaged:\n{listing}\n"
                    f"Start a new run, or restore a checkpoint from a backup.")


def check_compatible(meta: dict[str, Any], config: Config, checkpoint: Path) -> None:
    """Resuming needs the same networks: raise naming every network field that differs."""
    saved = Config.from_dict(meta["config"]).network.to_dict()
    current = config.network.to_dict()
    diff = [f"{k}: checkpoint {saved[k]!r}, now {current[k]!r}" for k in current if saved.get(k) != current[k]]
    if diff:
        raise UserError(f"Cannot resume from {checkpoint}: the network configuration differs "
                        f"({'; '.join(diff)}). Resume with the same --config/--resolution, or start a new run.")


def load_checkpoint(trainer, checkpoint: Path) -> dict[str, Any]:
    """Restores every variable of the trainer from a verified checkpoint; returns the saved loop state."""
    checkpoint = Path(checkpoint)
    meta = read_meta(checkpoint)
    check_compatible(meta, trainer.experiment, checkpoint)
    meta, data = read_checkpoint(checkpoint)
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
    """Loads the Gs (or G) weights of a verified checkpoint into a Generator; returns the checkpoint's config."""
    checkpoint = Path(checkpoint)
    meta, data = read_checkpoint(checkpoint)
    layout = meta["layout"].get(group, [])
    if len(layout) != len(G.weights):
        raise UserError(f"Checkpoint {checkpoint}: {group} has {len(layout)} variables, the generator "
                        f"built from its config has {len(G.weights)}.")
    for i, v in enumerate(G.weights):
        v.assign(data[f"{group}/{i:05d}"])
    return Config.from_dict(meta["config"])
