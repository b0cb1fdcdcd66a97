"""Child processes for the tests: the command line (train.py runs, kill -9) and a Python helper
process that runs several checks after one TensorFlow (or JAX) import.

Starting Python and importing TensorFlow costs several seconds per process on 2 CPU cores, so
checks that need a fresh process but not a fresh command line share a `PythonHelper`, and
training runs that do not depend on each other run side by side (`start` ... `finish`).
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
ENV = dict(os.environ, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="2")


# The command line ------------------------------------------------------------------------------
def start(args, **env):
    """`python *args` in the checkout, output into temporary files (a pipe left unread can fill
    up and stall the child)."""
    out, err = tempfile.TemporaryFile("w+"), tempfile.TemporaryFile("w+")
    proc = subprocess.Popen([sys.executable, *map(str, args)], env=dict(ENV, **env), cwd=ROOT, stdout=out,
                            stderr=err, text=True)
    proc.args_, proc.out_, proc.err_ = args, out, err
    return proc


def finish(proc, timeout=600, check=True):
    """Waits for a `start`ed process; returns (returncode, stdout, stderr), asserting success
    when `check`."""
    proc.wait(timeout=timeout)
    outputs = []
    for f in (proc.out_, proc.err_):
        f.seek(0)
        outputs.append(f.read())
        f.close()
    if check:
        assert proc.returncode == 0, f"{proc.args_}\n{outputs[0][-2000:]}\n{outputs[1][-4000:]}"
    return proc.returncode, *outputs


def run(args, timeout=600, **env):
    """Runs `python *args` to the end; returns its stdout, asserting success."""
    return finish(start(args, **env), timeout)[1]


def kill_after_checkpoints(proc, outdir: Path, count: int, timeout=400):
    """SIGKILLs a training run once `count` checkpoints of its run in `outdir` are complete."""
    deadline = time.time() + timeout
    while time.time() < deadline and proc.poll() is None:
        if len(list(outdir.glob("00000-*/checkpoints/ckpt-*/meta.json"))) >= count:
            break
        time.sleep(0.05)
    if proc.poll() is not None:
        pytest.fail(f"the run ended before it could be killed:\n{finish(proc, check=False)[2][-3000:]}")
    os.kill(proc.pid, signal.SIGKILL)
    finish(proc, check=False)
    assert proc.returncode == -signal.SIGKILL


def checkpoint_variables(checkpoint: Path) -> dict:
    with np.load(checkpoint / "variables.npz") as data:
        return {k: data[k] for k in data.files}


def assert_same_variables(a: dict, b: dict):
    """Two checkpoints hold the same variables, bit for bit."""
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


# A Python helper process -----------------------------------------------------------------------
# The prelude, then one JSON request per line on stdin ({"code": ...}), one JSON answer per line on
# its own channel (stdout goes to stderr, so nothing else lands there).
_WORKER = textwrap.dedent("""
    import json, os, sys, traceback
    channel = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    exec(compile(json.loads(sys.stdin.readline())["code"], "<helper prelude>", "exec"))
    shared = dict(globals())
    for line in sys.stdin:
        namespace = dict(shared)
        try:
            exec(compile(json.loads(line)["code"], "<helper check>", "exec"), namespace)
            answer = {"result": namespace.get("result")}
        except BaseException:
            answer = {"error": traceback.format_exc()}
        channel.write(json.dumps(answer) + "\\n")
        channel.flush()
""")


class PythonHelper:
    """A Python process that runs check code in fresh namespaces (the names the prelude defines
    are shared); `run(code)` returns the JSON-serialisable `result` the code leaves."""

    def __init__(self, prelude: str = "", **env):
        self._log = tempfile.TemporaryFile("w+")
        self._proc = subprocess.Popen([sys.executable, "-c", _WORKER], env=dict(ENV, **env), cwd=ROOT,
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log, text=True)
        self._send(prelude)

    def _send(self, code):
        self._proc.stdin.write(json.dumps({"code": textwrap.dedent(code)}) + "\n")
        self._proc.stdin.flush()

    def run(self, code: str, timeout: float = 300):
        proc = self._proc
        if proc.poll() is not None:
            pytest.fail(f"the helper process has exited ({proc.returncode}):\n{self._tail()}")
        self._send(code)
        ready, _, _ = select.select([proc.stdout], [], [], timeout)
        line = proc.stdout.readline() if ready else ""
        if not line:
            log = self._tail()
            reason = f"exited ({proc.returncode})" if proc.poll() is not None else f"gave no answer in {timeout} s"
            proc.kill()
            pytest.fail(f"the helper process {reason}:\n{log}")
        answer = json.loads(line)
        assert "error" not in answer, answer["error"] + self._tail()
        return answer["result"]

    def _tail(self, n=3000):
        self._log.seek(0)
        return self._log.read()[-n:]

    def close(self):
        """Ends the helper (it holds no state worth an orderly TensorFlow shutdown)."""
        if self._proc.poll() is None:
            self._proc.kill()
        self._proc.wait()
        self._proc.stdin.close()
        self._proc.stdout.close()
        self._log.close()


# The modules that must import without TensorFlow (the JAX helper imports them first thing).
NETWORK_MODULES = ["stylegan_tf", "stylegan_tf.config", "stylegan_tf.presets", "stylegan_tf.networks.layers",
                   "stylegan_tf.networks.mapping", "stylegan_tf.networks.stylegan1.synthesis", "stylegan_tf.networks.stylegan1.generator",
                   "stylegan_tf.networks.stylegan1.discriminator", "stylegan_tf.networks.stylegan1.official_weights", "stylegan_tf.networks.stylegan1.adain"]
NETWORK_MODULES += ["stylegan_tf.networks.stylegan3.config", "stylegan_tf.networks.stylegan3.filters",
                    "stylegan_tf.networks.stylegan3.filtered_lrelu", "stylegan_tf.networks.stylegan3.synthesis",
                    "stylegan_tf.networks.stylegan3.generator"]
NETWORK_MODULES += ["stylegan_tf.networks.noise", "stylegan_tf.networks.stylegan2.upfirdn",
                    "stylegan_tf.networks.stylegan2.conv", "stylegan_tf.networks.stylegan2.modconv",
                    "stylegan_tf.networks.stylegan2.synthesis", "stylegan_tf.networks.stylegan2.generator",
                    "stylegan_tf.networks.stylegan2.discriminator"]
