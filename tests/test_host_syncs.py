"""No host synchronisation inside a tick: the training loop reads tensors back to the host (a
`.numpy()`, `float()`, `np.asarray()` of an eager tensor) only at tick ends and snapshots, so two
runs with the same ticks read the same number of times whatever the number of steps per tick."""

from pathlib import Path

import pytest
from tensorflow.python.framework import ops

from stylegan_tf import presets
from stylegan_tf.training import loop
from stylegan_tf.training.options import RunOptions


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    from stylegan_tf.data.dataset import open_dataset
    from stylegan_tf.data.synthetic import build_synthetic_dataset

    path = tmp_path_factory.mktemp("data") / "faces8"
    build_synthetic_dataset(path, resolution=8, num_images=64, seed=0)
    return open_dataset(path)


def _reads_of_a_run(run_dir: Path, dataset, steps_per_tick: int, monkeypatch) -> int:
    """Host reads during a 2-tick run of `steps_per_tick` steps per tick (batch 8), one snapshot."""
    kimg_per_tick = steps_per_tick * 8 / 1000
    config = presets.get("stylegan2-tiny").replace(
        network__resolution=8, schedule__total_kimg=2 * kimg_per_tick, schedule__tick_kimg_base=kimg_per_tick,
        loss__r1_interval=1000, loss__pl_interval=1000)   # one phase tuple after step 0 (fewer traces)
    options = RunOptions(seed=0, export_savedmodel=False, snapshot_kimg=100.0, grid_size=(2, 1))
    reads = [0]
    original = ops._EagerTensorBase._numpy

    def counting(self):
        reads[0] += 1
        return original(self)

    monkeypatch.setattr(ops._EagerTensorBase, "_numpy", counting)
    summary = loop.run(config, options, run_dir, dataset)
    monkeypatch.setattr(ops._EagerTensorBase, "_numpy", original)
    assert summary["ticks"] == 2 and summary["state"]["step"] == 2 * steps_per_tick
    return reads[0]


def test_the_number_of_host_reads_does_not_grow_with_the_steps_of_a_tick(dataset, tmp_path, monkeypatch):
    short = _reads_of_a_run(tmp_path / "short", dataset, 2, monkeypatch)
    long = _reads_of_a_run(tmp_path / "long", dataset, 6, monkeypatch)
    assert short > 0          # the counter sees the reads at the ticks and the snapshot
    assert long == short, (short, long)
