"""Mirrored (2 replicas) == single device: one helper process with two virtual CPU devices.

TensorFlow fixes its logical devices when it first initialises, so these checks cannot run in
the test process: they run in a helper process that splits the CPU in two before anything else.
The process (a `tests.processes.PythonHelper` with `PRELUDE`) is started once per test session
(the `two_cpus` fixture in conftest.py) and runs each check in a fresh namespace, so TensorFlow
is imported once for all the families' checks. A check is Python source run with the names in
`PRELUDE` defined; it leaves its findings in a JSON-serialisable `result`, which `run` returns.
"""

from __future__ import annotations

import textwrap

import pytest

PRELUDE = textwrap.dedent("""
    import numpy as np, tensorflow as tf
    cpus = tf.config.list_physical_devices("CPU")
    tf.config.set_logical_device_configuration(cpus[0], [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras
    ONE = tf.distribute.get_strategy()
    TWO = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])

    def make_pair(trainer_class, cfg, seed=3, lod=None):
        '''The same trainer on one device and on two replicas, with identical weights.'''
        keras.utils.set_random_seed(0)
        def make(strategy):
            with strategy.scope():
                t = trainer_class(cfg, seed=seed)
                t.build_optimizers()
            return t
        single, mirror = make(ONE), make(TWO)
        for a, b in zip(mirror.G.weights + mirror.D.weights + mirror.Gs.weights,
                        single.G.weights + single.D.weights + single.Gs.weights):
            a.assign(b.numpy())
        if lod is not None:
            for t in (single, mirror):
                t.set_lod(lod)
        return single, mirror

    def replicated(strategy, fn):
        '''fn under strategy.run in one tf.function, its outputs averaged over the replicas.'''
        @tf.function(autograph=False)
        def step(*args, **kwargs):
            out = strategy.run(fn, args=args, kwargs=kwargs)
            return {k: strategy.reduce("MEAN", v, axis=None) for k, v in out.items()}
        return step

    def compare_steps(single, mirror, method, calls, stat_keys):
        '''Runs `method` with each (args, kwargs) of calls on both; returns the stats of every
        call as (single, mirror) pairs and, per network, (max |single - mirror|, max change).'''
        before = {name: [w.numpy() for w in getattr(single, name).trainable_weights] for name in ("G", "D", "Gs")}
        fa, fb = replicated(ONE, getattr(single, method)), replicated(TWO, getattr(mirror, method))
        stats = []
        from stylegan_tf.training.trainer import distribute_reals
        for args, kwargs in calls:
            # The reals (and labels) as the loop hands them to the step: each replica its strided share.
            shared = distribute_reals(TWO, args[0]), (distribute_reals(TWO, args[1]) if args[1] is not None else None)
            a, b = fa(*args, **kwargs), fb(*(shared + tuple(args[2:])), **kwargs)
            stats.append({k: (float(a[k]), float(b[k])) for k in stat_keys})
        weights = {}
        for name in ("G", "D", "Gs"):
            xs, ys = getattr(single, name).trainable_weights, getattr(mirror, name).trainable_weights
            change = max(float(np.abs(x.numpy() - x0).max()) for x, x0 in zip(xs, before[name]))
            diff = max(float(np.abs(x.numpy() - y.numpy()).max()) for x, y in zip(xs, ys))
            weights[name] = (diff, change)
        return {"replicas": TWO.num_replicas_in_sync, "stats": stats, "weights": weights}
""")

def assert_same_stats(result, rel, abs):
    """Every reported statistic of every step agrees between one device and two replicas."""
    assert result["replicas"] == 2
    assert result["stats"] and all(step for step in result["stats"])
    for i, step in enumerate(result["stats"]):
        for key, (one, two) in step.items():
            assert one == pytest.approx(two, rel=rel, abs=abs), (i, key, one, two)


def assert_same_weights(result, unchanged_ok=()):
    """G, D and Gs agree to float rounding of the step they took (which moved them, except the
    networks in `unchanged_ok`)."""
    assert sorted(result["weights"]) == ["D", "G", "Gs"]
    for name, (diff, change) in result["weights"].items():
        assert diff <= 1e-3 * max(change, 1e-2), (name, diff, change)
        assert name in unchanged_ok or change > 1e-3, (name, diff, change)
