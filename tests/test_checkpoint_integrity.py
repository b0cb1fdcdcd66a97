"""Checkpoint integrity: checksums written with each checkpoint, verified on load; `--resume latest`
takes the newest intact checkpoint and names the damaged ones it skipped."""

import json
import os

import numpy as np
import pytest

from stylegan_tf import presets
from stylegan_tf.errors import UserError
from stylegan_tf.training import checkpoint as ckpt


class _Variable:
    """What a checkpoint needs of a Keras variable: path, shape, numpy(), assign()."""

    def __init__(self, path, value):
        self.path, self.value = path, value

    @property
    def shape(self):
        return self.value.shape

    def numpy(self):
        return self.value

    def assign(self, value):
        self.value = np.array(value)


class _Trainer:
    """A trainer's checkpoint interface over a few random arrays."""

    def __init__(self, seed):
        rng = np.random.default_rng(seed)
        self.experiment = presets.get("tiny")
        self.groups = {"G": [_Variable(f"G/w{i}", rng.normal(size=(3, i + 1)).astype(np.float32)) for i in range(3)],
                       "D": [_Variable("D/b", rng.normal(size=(5,)).astype(np.float32))]}

    def checkpoint_variables(self):
        return self.groups


def _save(run_dir, nimg, seed=0, keep=3):
    return ckpt.save_checkpoint(_Trainer(seed), run_dir, {"cur_nimg": nimg, "step": nimg // 8}, keep=keep)


def _flip(path, offset):
    data = bytearray(path.read_bytes())
    data[offset % len(data)] ^= 0x10
    path.write_bytes(bytes(data))


def _edit_meta(path):
    meta = json.loads(path.read_text())
    meta["state"]["cur_nimg"] += 8   # Still valid JSON: only the checksum tells.
    path.write_text(json.dumps(meta))


DAMAGE = {
    "truncated variables": (lambda c: (c / "variables.npz").write_bytes((c / "variables.npz").read_bytes()[:100]),
                            "variables.npz has 100 bytes"),
    "flipped byte in variables": (lambda c: _flip(c / "variables.npz", 700), "does not match the SHA-256"),
    "variables missing": (lambda c: (c / "variables.npz").unlink(), "variables.npz is missing"),
    "meta.json missing": (lambda c: (c / "meta.json").unlink(), "meta.json is missing"),
    "meta.json truncated": (lambda c: (c / "meta.json").write_text((c / "meta.json").read_text()[:50]),
                            "meta.json is unreadable"),
    "meta.json edited": (lambda c: _edit_meta(c / "meta.json"), "does not match its own checksum"),
}


def test_checkpoint_records_checksums_and_restores_exactly(tmp_path):
    path = _save(tmp_path, 16, seed=1)
    meta = json.loads((path / "meta.json").read_text())
    assert meta["format"] == 2 and len(meta["files"]["variables.npz"]["sha256"]) == 64
    assert meta["files"]["variables.npz"]["bytes"] == (path / "variables.npz").stat().st_size
    trainer = _Trainer(seed=2)
    assert ckpt.load_checkpoint(trainer, path)["cur_nimg"] == 16
    for group, variables in _Trainer(seed=1).groups.items():
        for a, b in zip(variables, trainer.groups[group]):
            np.testing.assert_array_equal(a.value, b.value)


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_resume_latest_skips_a_damaged_newest_checkpoint(tmp_path, damage):
    for nimg in (8, 16, 24):
        _save(tmp_path, nimg)
    newest = tmp_path / "checkpoints" / "ckpt-000000000024"
    apply, fault = DAMAGE[damage]
    apply(newest)
    notes = []
    chosen = ckpt.choose_checkpoint("latest", tmp_path, log=notes.append)
    assert chosen.name == "ckpt-000000000016"
    assert len(notes) == 1 and notes[0].startswith("Skipping damaged checkpoint ckpt-000000000024: ")
    assert fault in notes[0]
    with pytest.raises(ckpt.DamagedCheckpoint, match=fault):   # Named explicitly, it is an error.
        ckpt.choose_checkpoint(str(newest), tmp_path)
    with pytest.raises(UserError, match=fault):
        ckpt.load_checkpoint(_Trainer(0), newest)


def test_no_intact_checkpoint_lists_each_fault(tmp_path):
    for nimg, damage in ((8, "meta.json missing"), (16, "flipped byte in variables")):
        DAMAGE[damage][0](_save(tmp_path, nimg))
    with pytest.raises(UserError) as info:
        ckpt.choose_checkpoint("latest", tmp_path)
    message = str(info.value)
    assert "every checkpoint" in message
    assert "ckpt-000000000008: meta.json is missing" in message
    assert "ckpt-000000000016: variables.npz does not match the SHA-256" in message
    with pytest.raises(UserError, match="no checkpoint in"):
        ckpt.choose_checkpoint("latest", tmp_path / "empty")


def test_stale_temporaries_are_removed_and_old_checkpoints_pruned(tmp_path):
    stale = tmp_path / "checkpoints" / f".ckpt-000000000008.tmp-{os.getpid() + 1}"
    stale.mkdir(parents=True)
    (stale / "variables.npz").write_bytes(b"half")
    for nimg in (8, 16, 24, 32):
        _save(tmp_path, nimg, keep=2)
    assert not stale.exists()
    assert [p.name for p in ckpt.list_checkpoints(tmp_path)] == ["ckpt-000000000024", "ckpt-000000000032"]


def test_format_1_checkpoints_are_verified_by_their_zip_crcs(tmp_path):
    path = _save(tmp_path, 8)
    meta = json.loads((path / "meta.json").read_text())
    for key in ("files", "checksum"):
        del meta[key]
    meta["format"] = 1
    (path / "meta.json").write_text(json.dumps(meta))
    assert ckpt.verify_checkpoint(path)["format"] == 1
    _flip(path / "variables.npz", 700)   # Inside an array's data: the member's CRC-32 fails.
    with pytest.raises(ckpt.DamagedCheckpoint, match="CRC-32"):
        ckpt.verify_checkpoint(path)
