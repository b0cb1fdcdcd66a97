"""XLA: the networks' passes of every phase compiled (`Trainer(xla=True)`), the draws, optimizer
steps, EMAs and merges outside. The same iteration with and without XLA agrees to float32 noise,
and an XLA iteration is a deterministic function of the checkpointed state (exact resume)."""

import numpy as np
import pytest
import tensorflow as tf

from stylegan_tf import presets
from stylegan_tf.training.trainer import Trainer

CONFIG = presets.get("stylegan2-tiny").replace(network__resolution=8)   # 8x8: less to compile
PHASES = ("Gmain", "Greg", "Dmain", "Dreg")       # steps 0 and 4: R1 every 4, path length every 2


def _state(t):
    return [v for group in t.checkpoint_variables().values() for v in group]


@pytest.fixture(scope="module")
def pair():
    trainers = {xla: Trainer(CONFIG, seed=3, xla=xla) for xla in (False, True)}
    for t in trainers.values():
        t.build_optimizers()
    for a, b in zip(_state(trainers[True]), _state(trainers[False])):
        a.assign(b.numpy())
    steps = {xla: tf.function(lambda r, i, t=t: t.iteration(r, None, tf.constant(0.0), tf.constant(0.9), i,
                                                            phases=PHASES), autograph=False)
             for xla, t in trainers.items()}
    return trainers, steps


def test_an_xla_iteration_agrees_with_the_plain_one(pair):
    trainers, steps = pair
    reals = tf.random.stateless_uniform([8, 8, 8, 3], [1, 2], -1.0, 1.0)
    stats = {xla: {k: float(v) for k, v in steps[xla](reals, tf.constant(0, tf.int64)).items()}
             for xla in (False, True)}
    for key, value in stats[False].items():
        assert stats[True][key] == pytest.approx(value, rel=1e-4, abs=1e-6), key
    for a, b in zip(_state(trainers[False]), _state(trainers[True])):
        x, y = np.asarray(a.numpy(), np.float64), np.asarray(b.numpy(), np.float64)
        np.testing.assert_allclose(y, x, rtol=1e-4, atol=1e-5, err_msg=a.path)
    # The XLA trainer compiled D and G's synthesis: the latter for the main phases' batch (8) and the
    # path-length batch (4).
    compiled = trainers[True]._compiled
    assert set(compiled) == {("D", None), ("synthesis", 8)}
    assert compiled[("synthesis", 8)].experimental_get_tracing_count() == 2


def test_an_xla_iteration_is_a_function_of_the_checkpointed_state(pair):
    trainers, steps = pair
    t, step = trainers[True], steps[True]
    reals = tf.random.stateless_uniform([8, 8, 8, 3], [3, 4], -1.0, 1.0)
    saved = [np.array(v.numpy()) for v in _state(t)]
    step(reals, tf.constant(4, tf.int64))
    first = [np.array(v.numpy()) for v in _state(t)]
    for v, value in zip(_state(t), saved):      # resume: the checkpoint's variables, the same step again
        v.assign(value)
    step(reals, tf.constant(4, tf.int64))
    for v, value in zip(_state(t), first):
        np.testing.assert_array_equal(np.asarray(v.numpy()), value, err_msg=v.path)
    assert any(not np.array_equal(a, b) for a, b in zip(saved, first))
