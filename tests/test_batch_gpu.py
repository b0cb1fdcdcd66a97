"""--batch-gpu (official `batch_gpu`): each phase accumulates the gradients of its rounds, each
round's loss averaged over the round, so the sum is rounds x the gradient of the whole batch when
nothing couples the samples (minibatch stddev off); every draw is the round's part of the phase's."""

import numpy as np
import pytest
import tensorflow as tf

from stylegan_tf import presets
from stylegan_tf.errors import UserError
from stylegan_tf.train import config_from_args, parse_args
from stylegan_tf.training.trainer import Trainer

# No coupling between samples (minibatch stddev off); style mixing off (its crossover is drawn per round).
BASE = presets.get("stylegan2-tiny").replace(network__mbstd_group_size=1, network__style_mixing_prob=0.0)
START = Trainer(BASE, seed=2)


def _gradients(batch_gpu, phase):
    t = Trainer(BASE.replace(training__batch_gpu=batch_gpu), seed=2)
    t.build_optimizers()
    for a, b in zip(t.G.weights + t.D.weights, START.G.weights + START.D.weights):
        a.assign(b.numpy())
    reals = tf.random.stateless_uniform([8, 16, 16, 3], [5, 6], -1.0, 1.0)
    it = t.context(reals, step=0)
    model, opt = (t.G, t.g_opt) if phase.startswith("G") else (t.D, t.d_opt)
    grads, stats = t.phase_gradients(phase, it, model, opt)
    return [None if g is None else g.numpy() for g in grads], stats


@pytest.mark.parametrize("phase", ["Gmain", "Dmain", "Dreg"])   # (Greg: pl_mean moves per round, as official)
def test_two_rounds_sum_to_twice_the_whole_batch_gradient(phase):
    whole, whole_stats = _gradients(None, phase)
    rounds, round_stats = _gradients(4, phase)
    compared = 0
    for a, b in zip(whole, rounds):
        if a is None:
            assert b is None
            continue
        np.testing.assert_allclose(b, 2.0 * a, rtol=2e-3, atol=1e-5 * np.abs(a).max() + 1e-9)
        compared += 1
    assert compared
    for key, value in whole_stats.items():   # statistics: the mean over the rounds
        assert float(round_stats[key]) == pytest.approx(float(value), rel=1e-4, abs=1e-6), key


def test_the_option_and_its_errors():
    config, _ = config_from_args(parse_args(["--config", "stylegan2-tiny", "--batch-gpu", "4"]))
    assert config.training.batch_gpu == 4
    with pytest.raises(UserError, match="--batch-gpu must be at least 1"):
        config_from_args(parse_args(["--config", "stylegan2-tiny", "--batch-gpu", "0"]))
    t = Trainer(BASE.replace(training__batch_gpu=3), seed=0)
    with pytest.raises(UserError, match="--batch-gpu 3 must divide the per-replica batch 8"):
        t.accumulation_rounds(t.context(tf.zeros([8, 16, 16, 3])))


def test_a_traced_iteration_with_every_phase_accumulates():
    t = Trainer(presets.get("stylegan2-tiny").replace(training__batch_gpu=4, network__resolution=8), seed=0)
    t.build_optimizers()
    step = tf.function(lambda r, i: t.iteration(r, None, tf.constant(0.0), tf.constant(0.9), i,
                                                phases=t.step_phases(0)), autograph=False)
    stats = {k: float(v) for k, v in step(tf.random.stateless_uniform([8, 8, 8, 3], [1, 1], -1, 1),
                                          tf.constant(0, tf.int64)).items()}
    assert all(np.isfinite(v) for v in stats.values()) and stats["nonfinite/D"] == stats["nonfinite/G"] == 0
    assert int(t.g_opt.iterations.numpy()) == 2 and int(t.d_opt.iterations.numpy()) == 2   # one step per phase
