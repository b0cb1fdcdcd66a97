"""Fault injection: a training run SIGKILLed at several points, resumed each time, and with its newest
checkpoint damaged after a kill, ends with the same networks as an uninterrupted run, bit for bit.

Kill points (`stylegan_tf.faults`: SIGKILL at the n-th pass of a named point, set by
STYLEGAN_TF_KILL_AT; the "step" kill comes from outside, after a delay drawn from a fixed
seed, while the run trains):
  1. checkpoint-write, 2nd pass: variables.npz of the 2nd checkpoint written, meta.json not;
  2. export, 1st pass: a checkpoint complete, its .keras export under its temporary name;
  then the newest checkpoint's variables.npz is truncated (a lying disk), and
  3. step: killed from outside during training; resume skips the damaged checkpoint;
  4. resumed to the end.
(The whole chain is four training processes in a row, the uninterrupted run beside them.)
"""

import random
import signal
import time

import numpy as np
import pytest
from PIL import Image

from tests import processes

# Tiny networks at 8x8, 12 steps of 8 images, a snapshot (checkpoint, export) every 4 steps.
TRAIN = ["--config", "tiny", "--resolution", "8", "--batch", "8", "--kimg", "0.096", "--snapshot-kimg", "0.032",
         "--seed", "5", "--no-savedmodel"]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    rng = np.random.default_rng(1)
    for i in range(32):
        Image.fromarray(rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)).save(root / f"img{i:03d}.png")
    dest = root / "toy"
    processes.run(["data_prep/make_tfrecords.py", "--source", root, "--dest", dest, "--resolution", "8",
                   "--alignment", "none", "--workers", "1", "--no-progress"])
    return dest


def _train(dataset, outdir, *extra, kill_at=None):
    env = {"STYLEGAN_TF_KILL_AT": kill_at} if kill_at else {}
    return processes.start(["train.py", "--data", dataset, "--outdir", outdir, *TRAIN, *extra], **env)


def _killed(proc) -> str:
    code, out, err = processes.finish(proc, check=False)
    assert code == -signal.SIGKILL, f"exit {code}, not killed:\n{out[-2000:]}\n{err[-3000:]}"
    return out


def _checkpoints(run_dir):
    return sorted(p.name for p in (run_dir / "checkpoints").glob("ckpt-*"))


def _output_so_far(proc) -> str:
    proc.out_.seek(0)
    return proc.out_.read()


def test_killed_and_resumed_runs_end_with_the_uninterrupted_networks(dataset, tmp_path):
    reference = _train(dataset, tmp_path / "reference")   # Independent: trains beside the chain below.
    outdir = tmp_path / "chain"
    resume = ["--resume", "latest"]

    # 1. Killed while writing the 2nd checkpoint: the 1st is the latest, the half-written one is a temporary.
    _killed(_train(dataset, outdir, kill_at="checkpoint-write:2"))
    (run_dir,) = outdir.glob("00000-*")
    assert _checkpoints(run_dir) == ["ckpt-000000000032"]
    assert list((run_dir / "checkpoints").glob(".ckpt-000000000064.tmp-*"))

    # 2. Killed during the export that follows a checkpoint: the checkpoint is complete.
    out = _killed(_train(dataset, outdir, *resume, kill_at="export:1"))
    assert "Resumed from" in out and "ckpt-000000000032" in out
    assert _checkpoints(run_dir) == ["ckpt-000000000032", "ckpt-000000000064"]
    assert not list((run_dir / "checkpoints").glob(".ckpt-*.tmp-*"))   # The killed writer's temporary: removed.
    assert list(run_dir.glob(".network-snapshot-*.tmp-*.keras"))

    # The disk lied: the newest checkpoint's variables are cut short.
    newest = run_dir / "checkpoints" / "ckpt-000000000064" / "variables.npz"
    newest.write_bytes(newest.read_bytes()[: newest.stat().st_size // 2])

    # 3. Resumed past the damaged checkpoint, then killed from outside while training.
    proc = _train(dataset, outdir, *resume)
    delay = random.Random(21).uniform(0.2, 1.5)
    deadline = time.time() + 300
    while "Resumed from" not in _output_so_far(proc) and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(delay)
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    code, out, err = processes.finish(proc, check=False)
    assert "Skipping damaged checkpoint ckpt-000000000064: variables.npz has" in out, out[-2000:] + err[-2000:]
    assert "Resumed from" in out and "ckpt-000000000032 at" in out

    # 4. Resumed to the end.
    out = processes.finish(_train(dataset, outdir, *resume))[1]
    assert "Done" in out
    processes.finish(reference)
    (reference_dir,) = (tmp_path / "reference").glob("00000-*")
    final = "ckpt-000000000096"
    processes.assert_same_variables(processes.checkpoint_variables(reference_dir / "checkpoints" / final),
                                    processes.checkpoint_variables(run_dir / "checkpoints" / final))
    assert not list(run_dir.glob(".network-snapshot-*.tmp-*.keras"))
    assert len(_checkpoints(run_dir)) == 3   # keep_checkpoints' default.
