"""The command line end to end: make_tfrecords -> train -> export -> load; exact resume; multi-worker."""

import json
import socket
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from stylegan_tf.media import to_uint8
from tests import processes

# Tiny networks, 4x4 -> 8x8 with a fade-in, a snapshot (checkpoint) every 4 steps.
TRAIN = ["--config", "tiny", "--resolution", "8", "--batch", "8", "--kimg", "0.16", "--snapshot-kimg", "0.032",
         "--seed", "3", "--keep-checkpoints", "10"]


def _final_checkpoint(run_dir: Path) -> Path:
    checkpoints = sorted((run_dir / "checkpoints").glob("ckpt-*"))
    return checkpoints[-1]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """A folder of PNGs turned into a dataset by the dataset tool's command line."""
    root = tmp_path_factory.mktemp("data")
    rng = np.random.default_rng(0)
    for i in range(48):
        image = np.zeros((16, 16, 3), np.uint8) + rng.integers(0, 255, 3, dtype=np.uint8)
        image[4:12, 4 + i % 4: 10 + i % 4] = rng.integers(0, 255, 3, dtype=np.uint8)
        Image.fromarray(image).save(root / f"img{i:03d}.png")
    dest = root / "toy"
    processes.run(["data_prep/make_tfrecords.py", "--source", root, "--dest", dest, "--resolution", "8",
                   "--alignment", "none", "--workers", "1", "--no-progress"])
    assert (dest / "dataset.json").is_file()
    return dest


@pytest.fixture(scope="module")
def helper():
    """One Python process for the checks below that need a fresh process but not the command line
    (one TensorFlow import; started first, so that it imports while the runs train)."""
    helper = processes.PythonHelper("""
        import contextlib, io, sys
        import numpy as np
        from stylegan_tf import train
        from stylegan_tf.export import load_generator
    """)
    yield helper
    helper.close()


@pytest.fixture(scope="module")
def runs(helper, dataset, tmp_path_factory):
    """An uninterrupted run with every export; beside it (independent, so in parallel) the same run
    killed with SIGKILL after its first checkpoint, then resumed with --resume latest."""
    outdir = tmp_path_factory.mktemp("runs")
    full = processes.start(["train.py", "--data", dataset, "--outdir", outdir / "full", *TRAIN])
    killed = processes.start(["train.py", "--data", dataset, "--outdir", outdir / "killed", "--no-savedmodel",
                              *TRAIN])
    processes.kill_after_checkpoints(killed, outdir / "killed", 1)
    (killed_dir,) = list((outdir / "killed").glob("00000-*"))
    killed_at = json.loads(sorted((killed_dir / "checkpoints").glob("ckpt-*/meta.json"))[-1].read_text())
    resumed = processes.run(["train.py", "--data", dataset, "--outdir", outdir / "killed", "--resume", "latest",
                             "--no-savedmodel", *TRAIN])
    stdout = processes.finish(full)[1]
    (run_dir,) = [p for p in (outdir / "full").iterdir() if p.name.startswith("00000-")]
    return SimpleNamespace(full=(run_dir, stdout), killed=killed_dir, killed_at=killed_at, resumed=resumed)


@pytest.fixture(scope="module")
def full_run(runs):
    return runs.full


def test_run_directory_contents(full_run):
    run_dir, stdout = full_run
    options = json.loads((run_dir / "training_options.json").read_text())
    assert options["config"]["network"]["resolution"] == 8
    assert options["config"]["schedule"]["minibatch_base"] == 8
    stats = [json.loads(line) for line in (run_dir / "stats.jsonl").read_text().splitlines()]
    assert stats[-1]["kimg"] == pytest.approx(0.16)
    assert {s["resolution"] for s in stats} == {4, 8}
    assert any(0 < s["lod"] < 1 for s in stats), "no tick inside the fade-in"
    assert all(np.isfinite(s["loss/D"]) and np.isfinite(s["loss/G"]) for s in stats)
    assert (run_dir / "reals.png").is_file() and list((run_dir / "grids").glob("fakes*.png"))
    assert list((run_dir / "tensorboard").glob("events.out.tfevents.*"))
    assert (run_dir / "saved_model" / "saved_model.pb").is_file()
    assert "tick" in stdout and "Done: 0.16 kimg" in stdout


def test_exports_load_in_a_fresh_process_and_agree(full_run, helper):
    run_dir, _ = full_run
    keras_file = sorted(run_dir.glob("network-snapshot-*.keras"))[-1]
    sources = [str(keras_file), str(run_dir / "saved_model"), str(_final_checkpoint(run_dir))]
    loaded = helper.run(f"""
        z = np.random.RandomState(5).randn(3, 16).astype(np.float32)
        result = []
        for source in {sources!r}:
            g = load_generator(source)
            w = g.truncate(g.mapping(z), 0.7)
            result.append((type(g).__name__, np.asarray(g.synthesis(w, noise_mode="const")).tolist()))
    """)
    assert [name for name, _ in loaded] == ["Generator", "SavedModelGenerator", "Generator"]
    images = [np.array(x, np.float32) for _, x in loaded]
    assert images[0].shape == (3, 8, 8, 3)
    np.testing.assert_array_equal(images[0], images[2])        # .keras == checkpoint, bit for bit
    # The SavedModel runs as an optimised graph (fused, reordered float arithmetic), which trained
    # instance norms amplify a little: equal to well under one gray level.
    np.testing.assert_allclose(images[0], images[1], atol=2e-3)
    assert np.abs(to_uint8(images[0]).astype(int) - to_uint8(images[1])).max() <= 1


def test_sigkill_then_resume_is_bit_exact(full_run, runs):
    run_dir_a, _ = full_run
    assert runs.killed_at["state"]["cur_nimg"] < 160
    assert "Resumed from" in runs.resumed
    processes.assert_same_variables(processes.checkpoint_variables(_final_checkpoint(run_dir_a)),
                                    processes.checkpoint_variables(_final_checkpoint(runs.killed)))


def test_resume_with_a_different_network_is_a_clear_error(full_run, dataset, helper):
    run_dir, _ = full_run
    argv = ["--data", str(dataset), "--resume", str(run_dir), "--config", "tiny", "--ablation", "D",
            "--resolution", "8"]
    code, stderr = helper.run(f"""
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            code = train.main({argv!r})   # what train.py exits with
        result = code, err.getvalue()
    """)
    assert code == 2
    assert "network configuration differs" in stderr and "use_noise" in stderr


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_multiworker_two_processes(dataset, tmp_path):
    ports = [_free_port(), _free_port()]
    workers = [f"127.0.0.1:{p}" for p in ports]
    procs = []
    for index in range(2):
        tf_config = json.dumps({"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}})
        procs.append(processes.start(
            ["train.py", "--data", dataset, "--outdir", tmp_path / "runs", "--strategy", "multiworker",
             "--no-savedmodel", "--config", "tiny", "--resolution", "8", "--batch", "8", "--kimg", "0.064",
             "--snapshot-kimg", "0.032", "--seed", "1"], TF_CONFIG=tf_config))
    for p in procs:
        processes.finish(p, timeout=400)
    (run_dir,) = list((tmp_path / "runs").glob("00000-*"))   # only the chief writes a run
    assert "multiworker" in run_dir.name
    stats = [json.loads(line) for line in (run_dir / "stats.jsonl").read_text().splitlines()]
    assert stats[-1]["kimg"] == pytest.approx(0.064)
    assert all(np.isfinite(s["loss/D"]) for s in stats)
    assert len(list((run_dir / "checkpoints").glob("ckpt-*"))) >= 1


def test_diverging_run_stops_with_a_clear_message_and_keeps_good_checkpoints(dataset, tmp_path, helper):
    message = helper.run(f"""
        from pathlib import Path
        from stylegan_tf import presets
        from stylegan_tf.data.dataset import open_dataset
        from stylegan_tf.errors import UserError
        from stylegan_tf.training import loop
        from stylegan_tf.training.options import RunOptions
        # A learning rate of 1e6 blows the weights up within a few steps; every step after that has
        # non-finite gradients and is skipped, and the run stops after max_nonfinite of them.
        config = presets.get("tiny").replace(network__resolution=8, schedule__lod_initial_resolution=8,
                                             schedule__g_lrate_base=1e6, schedule__d_lrate_base=1e6,
                                             schedule__total_kimg=10.0, schedule__tick_kimg_base=0.016)
        options = RunOptions(seed=0, max_nonfinite=3, export_savedmodel=False, snapshot_kimg=0.016)
        result = None
        try:
            loop.run(config, options, Path({str(tmp_path / "run")!r}), open_dataset({str(dataset)!r}))
        except UserError as e:
            result = str(e)
    """)
    assert message is not None and message.startswith("Training diverged at kimg")
    assert "consecutive steps had non-finite gradients" in message
    checkpoints = sorted((tmp_path / "run" / "checkpoints").glob("ckpt-*"))
    for checkpoint in checkpoints:   # whatever was written holds only finite values
        with np.load(checkpoint / "variables.npz") as data:
            assert all(np.all(np.isfinite(data[k])) for k in data.files if data[k].dtype.kind == "f")
    if checkpoints:
        assert str(checkpoints[-1]) in message
