"""Fuzzing the official-pickle reader: mutated genuine-format pickles load or give a `UserError`.

Small genuine-format pickles (a StyleGAN v1 TensorFlow pickle, protocol 4 with frames, and a
stylegan2-ada-pytorch pickle, protocol 3 with legacy `torch.save` storage streams) are
built here (tests/official_pickles.py) and mutated deterministically: byte flips at opcode
positions and at the opcode / element-count positions of the storage streams, truncations,
deleted and duplicated spans, stated lengths forged to gigabytes, and injected globals.
Each mutation must give a loaded network or a `UserError`: never another exception, a
crash, a hang, or a large allocation (each read is traced by tracemalloc: its peak must
stay a few times the file size, where a forged length would allocate gigabytes).
"""

from __future__ import annotations

import dataclasses
import io
import pickle
import pickletools
import struct
import time
import tracemalloc

import numpy as np
import pytest

from stylegan_tf.errors import UserError
from stylegan_tf.config import NetworkConfig
from stylegan_tf.networks.stylegan2.config import StyleGAN2Config
from stylegan_tf.official import networks
from stylegan_tf.official.pickle_reader import LEGACY_MAGIC_NUMBER, read_pickle
from tests import official_pickles as op

V1 = NetworkConfig(resolution=8, fmap_base=32, fmap_max=8, latent_size=8, dlatent_size=8, mapping_layers=1,
                   mapping_fmaps=8)
SG2 = StyleGAN2Config(resolution=8, channel_base=32, channel_max=4, latent_size=4, w_dim=4, mapping_fmaps=4,
                      mapping_layers=1, mbstd_group_size=2)
MUTATIONS_PER_FILE = 150
PEAK_LIMIT = 32 << 20   # Bytes traced while reading one mutated pickle (the files are ~100 kB).
SECONDS_LIMIT = 10.0    # One read: a hang fails here instead of stalling the suite.
# Globals a hostile file would name; each must be refused.
HOSTILE_GLOBALS = [("os", "system"), ("posix", "system"), ("builtins", "eval"), ("builtins", "getattr"),
                   ("subprocess", "Popen"), ("numpy", "load"), ("torch", "load"), ("pickle", "loads")]
_MAGIC = pickle.dumps(LEGACY_MAGIC_NUMBER, protocol=2)


def _opcode_spans(data: bytes, base: int = 0) -> list[tuple[int, int]]:
    """(start, end) of each opcode with its argument, in a pickle starting at `base`."""
    ops = list(pickletools.genops(io.BytesIO(data)))
    ends = [pos for _, _, pos in ops[1:]] + [ops[-1][2] + 1]
    return [(base + pos, base + end) for (_, _, pos), end in zip(ops, ends)]


def _storage_header_positions(data: bytes) -> list[int]:
    """Byte positions of the opcodes of the storage streams' own pickles (magic, protocol, sys_info,
    record, keys) and of their 8-byte element counts, inside a PyTorch pickle."""
    positions = []
    start = data.find(_MAGIC)
    while start >= 0:
        f = io.BytesIO(data[start:])
        for _ in range(5):
            positions += [start + pos for _, _, pos in pickletools.genops(f)]
        positions += range(start + f.tell(), start + f.tell() + 8)
        start = data.find(_MAGIC, start + 1)
    return positions


def _mutations(data: bytes, seed: int, torch: bool):
    """`MUTATIONS_PER_FILE` deterministic (kind, bytes) mutations of a genuine pickle."""
    rng = np.random.default_rng(seed)
    spans = _opcode_spans(data)
    starts = [a for a, _ in spans]
    headers = _storage_header_positions(data) if torch else []
    lengths = [(a, op_) for (a, _), (op_, _, _) in zip(spans, pickletools.genops(io.BytesIO(data)))
               if op_.name in ("BINUNICODE", "BINBYTES", "SHORT_BINBYTES", "BINUNICODE8", "BINBYTES8",
                               "FRAME", "LONG4")]
    kinds = ["flip-opcode", "flip-header" if torch else "flip-opcode", "truncate", "delete", "duplicate",
             "forge-length", "inject-global"]
    for i in range(MUTATIONS_PER_FILE):
        kind = kinds[i % len(kinds)]
        b = bytearray(data)
        if kind == "flip-opcode":
            pos = starts[rng.integers(len(starts))] + int(rng.integers(0, 2))
            b[min(pos, len(b) - 1)] ^= 1 << int(rng.integers(8))
        elif kind == "flip-header":
            pos = headers[rng.integers(len(headers))]
            b[pos] ^= 1 << int(rng.integers(8))
        elif kind == "truncate":
            b = b[: int(rng.integers(1, len(b)))]
        elif kind in ("delete", "duplicate"):
            a = starts[rng.integers(len(starts))]
            n = int(rng.integers(1, 64))
            if kind == "delete":
                del b[a:a + n]
            else:
                b[a:a] = data[a:a + n]
        elif kind == "forge-length":
            a, opcode = lengths[rng.integers(len(lengths))]
            width = {"BINUNICODE": 4, "BINBYTES": 4, "SHORT_BINBYTES": 1, "LONG4": 4}.get(opcode.name, 8)
            forged = int(rng.choice([3 << 30, (1 << (8 * width)) - 1, 1 << (8 * width - 2)]))
            b[a + 1:a + 1 + width] = (forged % (1 << (8 * width))).to_bytes(width, "little")
        else:
            module, name = HOSTILE_GLOBALS[rng.integers(len(HOSTILE_GLOBALS))]
            a = starts[rng.integers(1, len(starts))]
            b[a:a] = f"c{module}\n{name}\n".encode() + b")R"   # GLOBAL, EMPTY_TUPLE, REDUCE: a call.
        yield kind, bytes(b)


@pytest.fixture(scope="module")
def genuine(tmp_path_factory):
    """The two genuine pickles, as bytes, and their networks' family."""
    root = tmp_path_factory.mktemp("genuine")
    op.write_v1_pickle(root / "v1.pkl", V1, seed=1, protocol=4)
    variables = op.write_sg2_tf_pickle(root / "sg2.pkl", SG2, seed=1)
    op.write_ada_pickle(root / "ada.pkl", SG2, variables)
    return {"v1-tensorflow": (root / "v1.pkl").read_bytes(), "ada-pytorch": (root / "ada.pkl").read_bytes()}


def _load(path) -> tuple[str, float, int]:
    """("loaded" or "UserError", seconds, traced peak bytes) of `load_pickle(path)`; any other outcome fails."""
    tracemalloc.start()
    start = time.perf_counter()
    try:
        nets = networks.load_pickle(path)
        outcome = "loaded"
        assert nets.Gs is not None and nets.family in ("stylegan1", "stylegan2")
    except UserError as e:
        outcome = "UserError"
        assert str(path) in str(e), e
    finally:
        seconds = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return outcome, seconds, peak


@pytest.mark.parametrize("name,seed", [("v1-tensorflow", 0), ("ada-pytorch", 1)])
def test_mutated_pickles_load_or_give_a_user_error(tmp_path, genuine, name, seed):
    data = genuine[name]
    (tmp_path / "genuine.pkl").write_bytes(data)
    networks.load_pickle(tmp_path / "genuine.pkl")   # Loads (and imports TensorFlow, untraced).
    outcomes = {}
    for i, (kind, mutated) in enumerate(_mutations(data, seed, torch=name == "ada-pytorch")):
        outcome, seconds, peak = _load_bytes(tmp_path, mutated)
        where = f"mutation {i} ({kind})"
        assert seconds < SECONDS_LIMIT, f"{where} took {seconds:.1f} s"
        assert peak < PEAK_LIMIT, f"{where} allocated {peak / 2**20:.0f} MiB"
        if kind == "inject-global":
            assert outcome == "UserError", f"{where} loaded"
        outcomes[(kind, outcome)] = outcomes.get((kind, outcome), 0) + 1
    print(name, sorted(outcomes.items()))
    assert sum(outcomes.values()) == MUTATIONS_PER_FILE
    # Most mutations break the file: each kind is refused at least once.
    assert {kind for kind, outcome in outcomes if outcome == "UserError"} == {kind for kind, _ in outcomes}


def _load_bytes(tmp_path, data: bytes):
    path = tmp_path / "mutated.pkl"
    path.write_bytes(data)
    return _load(path)


def test_forged_lengths_fail_before_allocating(tmp_path):
    """Stated lengths of gigabytes in a few bytes: refused with a `UserError`, nothing allocated."""
    cases = {
        "BINBYTES8": b"\x80\x04\x8e" + struct.pack("<Q", 3 << 30) + b"abc.",
        "BYTEARRAY8": b"\x80\x05\x96" + struct.pack("<Q", 3 << 30) + b"abc.",
        "FRAME": b"\x80\x04\x95" + struct.pack("<Q", 3 << 30) + b"N.",
        "BINUNICODE": b"\x80\x03X" + struct.pack("<I", (1 << 32) - 1) + b"abc.",
        "bytearray(n)": b"\x80\x02c__builtin__\nbytearray\nJ\x00\x00\x00\x40\x85R.",
        "ndarray shape": (b"\x80\x02cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\n"
                          b"J\x00\x00\x00\x40\x85C\x01b\x87R."),
        "dtype itemsize": b"\x80\x02cnumpy\ndtype\nX\x0b\x00\x00\x00V4000000000\x85R.",
    }
    for case, data in cases.items():
        path = tmp_path / "forged.pkl"
        path.write_bytes(data)
        tracemalloc.start()
        with pytest.raises(UserError, match=str(path)):
            read_pickle(path)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert peak < 1 << 20, f"{case}: {peak / 2**20:.0f} MiB allocated"


def test_tensor_larger_than_its_storage_is_refused(tmp_path):
    """A forged size with stride 0 stays inside the storage but would copy a huge tensor."""
    path = tmp_path / "broadcast.pkl"
    op.write_torch_pickle(path, op.tensor_view_module(np.zeros(4, np.float32), 0, (50000, 50000), (0, 0)))
    with pytest.raises(UserError, match=rf"{path}.*more elements than its storage"):
        read_pickle(path)
