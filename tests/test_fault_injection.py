"""Fault injection: a training run SIGKILLed at several points, resumed each time, and with its newest
checkpoint damaged after a kill, ends with the same networks as an uninterrupted run, bit for bit.

Kill points (`stylegan_tf.faults`: SIGKILL at the n-th pass of a named point, set by
STYLEGAN_TF_KILL_AT; the "step" kill comes from outside, while the run trains). Each pass
count and the step kill's delay are drawn from a fixed seed. In a row:
  1. step: killed from outside while training, after its first checkpoint;
  2. checkpoint-write: variables.npz of a checkpoint written, meta.json not;
  3. export: a checkpoint complete, its .keras export under its temporary name;
  then the newest checkpoint's variables.npz is truncated (a lying disk), and
  4. metrics: resumed past the damaged checkpoint, killed as a snapshot's metrics start;
  5. export of the final snapshot: the finished checkpoint is there, its export is not;
  6. resumed from the finished checkpoint: it trains nothing and writes the final export.
Every run computes a cheap metric at each snapshot (registered by the launcher below), the
uninterrupted one too, so the kill at "metrics" falls between real metric runs.

Speed (2 cores): each run is a fresh process, and importing TensorFlow dominates a run this
small, so each run of the chain is started (and imports) while its predecessor still trains,
and waits at a gate until the predecessor is dead; the uninterrupted run trains beside them.
"""

import random
import signal
import time
import zipfile

import h5py
import numpy as np
import pytest

from tests import processes

# Tiny networks at 4x4, 24 steps of 8 images, a snapshot (checkpoint, export, metric) every tick of 4 steps.
SNAPSHOT_NIMG, TOTAL_NIMG = 32, 192
TRAIN = ["--config", "tiny", "--resolution", "4", "--batch", "8", "--kimg", str(TOTAL_NIMG / 1000),
         "--snapshot-kimg", str(SNAPSHOT_NIMG / 1000), "--seed", "5", "--no-savedmodel", "--metrics", "fake_mean",
         "--metrics-num", "8"]
FINAL = f"ckpt-{TOTAL_NIMG:012d}"
EXPORT = "network-snapshot-000000.keras"   # Every snapshot of this short run is at kimg 0: one file, rewritten.

# `python -c LAUNCH GATE ARGS...`: registers the test metric, imports what a run needs, waits for the
# file GATE, then runs `train.py ARGS` with STYLEGAN_TF_KILL_AT set to GATE's content.
LAUNCH = """
import os, sys, time
import numpy as np
from stylegan_tf import train
from stylegan_tf.metrics import register_metric
from stylegan_tf.training import loop, trainer  # noqa: F401  (TensorFlow, Keras, the networks)

@register_metric("fake_mean", num=8, description="test: the mean pixel of generated images")
def fake_mean(ctx):
    return {ctx.metric: float(np.mean([batch.mean() for batch in ctx.fake_batches(ctx.count())]))}

while not os.path.exists(sys.argv[1]):
    time.sleep(0.02)
os.environ["STYLEGAN_TF_KILL_AT"] = open(sys.argv[1]).read()
sys.exit(train.main(sys.argv[2:]))
"""


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    from stylegan_tf.data.synthetic import build_synthetic_dataset

    path = tmp_path_factory.mktemp("data") / "faces"
    build_synthetic_dataset(str(path), resolution=4, num_images=32, seed=1)
    return path


def _launch(gate, dataset, outdir, *extra):
    return processes.start(["-c", LAUNCH, gate, "--data", dataset, "--outdir", outdir, *TRAIN, *extra],
                           PYTHONUNBUFFERED="1")


def _open(gate, kill_at=""):
    tmp = gate.with_name(gate.name + ".tmp")
    tmp.write_text(kill_at)
    tmp.replace(gate)


class Chain:
    """The runs of one output directory, one after another: each resumes (--resume latest) from the
    last; the next one is started (and imports) while the current one trains."""

    def __init__(self, dataset, outdir):
        self.dataset, self.outdir, self.runs = dataset, outdir, 0
        self.waiting = self._start()

    def _start(self):
        self.runs += 1
        gate = self.outdir.parent / f"gate-{self.runs}"
        return gate, _launch(gate, self.dataset, self.outdir, *(["--resume", "latest"] if self.runs > 1 else []))

    def run(self, kill_at="", last=False):
        """Lets the waiting run go (to die at `kill_at`); returns its process."""
        gate, proc = self.waiting
        _open(gate, kill_at)
        self.waiting = None if last else self._start()
        return proc


def _killed(proc) -> str:
    code, out, err = processes.finish(proc, check=False)
    assert code == -signal.SIGKILL, f"exit {code}, not killed:\n{out[-2000:]}\n{err[-3000:]}"
    return out


def _resume_point(run_dir) -> int:
    """Images shown at the checkpoint --resume latest would take (the newest intact one)."""
    from stylegan_tf.training.checkpoint import CHECKPOINT_RE, choose_checkpoint

    return int(CHECKPOINT_RE.match(choose_checkpoint("latest", run_dir, log=lambda message: None).name).group(1))


def _passes(rng, run_dir) -> int:
    """The pass of a kill point: 1 or 2, drawn, leaving a snapshot for the later kills (see the docstring)."""
    remaining = (TOTAL_NIMG - _resume_point(run_dir)) // SNAPSHOT_NIMG
    assert remaining >= 2, f"the chain ran too far: {remaining} snapshots left"
    return min(rng.randint(1, 2), remaining - 1)


def _export_weights(path) -> dict:
    """Every array of a .keras file's weights (read with h5py: no Keras in the test process)."""
    import io

    arrays = {}
    with zipfile.ZipFile(path) as archive:
        with h5py.File(io.BytesIO(archive.read("model.weights.h5")), "r") as f:
            f.visititems(lambda name, item: arrays.update({name: item[()]}) if isinstance(item, h5py.Dataset)
                         else None)
    return arrays


def test_killed_and_resumed_runs_end_with_the_uninterrupted_networks(dataset, tmp_path):
    rng = random.Random(21)
    _open(tmp_path / "gate-reference")
    reference = _launch(tmp_path / "gate-reference", dataset, tmp_path / "reference")   # Trains beside the chain.
    chain = Chain(dataset, tmp_path / "chain")

    # 1. Killed from outside while training, after its first checkpoint.
    proc = chain.run()
    deadline = time.time() + 300
    while not list(chain.outdir.glob("00000-*/checkpoints/ckpt-*/meta.json")) and time.time() < deadline:
        assert proc.poll() is None, processes.finish(proc, check=False)[2][-3000:]
        time.sleep(0.02)
    time.sleep(rng.uniform(0.0, 0.3))
    proc.send_signal(signal.SIGKILL)
    _killed(proc)
    (run_dir,) = chain.outdir.glob("00000-*")
    checkpoints = run_dir / "checkpoints"

    # 2. Killed while writing a checkpoint: the one before is the latest, the half-written one a temporary.
    before = _resume_point(run_dir)
    n = _passes(rng, run_dir)
    _killed(chain.run(f"checkpoint-write:{n}"))
    assert _resume_point(run_dir) == before + (n - 1) * SNAPSHOT_NIMG
    assert list(checkpoints.glob(f".ckpt-{before + n * SNAPSHOT_NIMG:012d}.tmp-*"))

    # 3. Killed during the export that follows a checkpoint: the checkpoint is complete.
    before = _resume_point(run_dir)
    n = _passes(rng, run_dir)
    out = _killed(chain.run(f"export:{n}"))
    assert f"Resumed from {checkpoints / f'ckpt-{before:012d}'}" in out
    newest = before + n * SNAPSHOT_NIMG
    assert _resume_point(run_dir) == newest
    assert not list(checkpoints.glob(".ckpt-*.tmp-*"))   # The killed writer's temporary: removed.
    assert list(run_dir.glob(".network-snapshot-*.tmp-*.keras"))

    # The disk lied: the newest checkpoint's variables are cut short.
    damaged = checkpoints / f"ckpt-{newest:012d}" / "variables.npz"
    damaged.write_bytes(damaged.read_bytes()[: damaged.stat().st_size // 2])

    # 4. Resumed past the damaged checkpoint, killed as a snapshot's metrics start.
    before = _resume_point(run_dir)
    assert before < newest
    n = _passes(rng, run_dir)
    out = _killed(chain.run(f"metrics:{n}"))
    assert f"Skipping damaged checkpoint ckpt-{newest:012d}: variables.npz has" in out
    assert f"Resumed from {checkpoints / f'ckpt-{before:012d}'}" in out
    assert _resume_point(run_dir) == before + n * SNAPSHOT_NIMG

    # 5. Killed during the final snapshot's export: the finished checkpoint is there, the export is the
    # previous snapshot's.
    remaining = (TOTAL_NIMG - _resume_point(run_dir)) // SNAPSHOT_NIMG
    _killed(chain.run(f"export:{remaining}"))
    assert _resume_point(run_dir) == TOTAL_NIMG

    # 6. Resumed from the finished checkpoint: nothing to train, the final export is written.
    out = processes.finish(chain.run(last=True))[1]
    assert f"Resumed from {checkpoints / FINAL}" in out and "Done" in out

    processes.finish(reference)
    (reference_dir,) = (tmp_path / "reference").glob("00000-*")
    processes.assert_same_variables(processes.checkpoint_variables(reference_dir / "checkpoints" / FINAL),
                                    processes.checkpoint_variables(checkpoints / FINAL))
    processes.assert_same_variables(_export_weights(reference_dir / EXPORT), _export_weights(run_dir / EXPORT))
    assert not list(run_dir.glob(".network-snapshot-*.tmp-*.keras"))
    assert len(list(checkpoints.glob("ckpt-*"))) == 3   # keep_checkpoints' default.
