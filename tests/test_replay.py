"""Replayable iterations: one whole StyleGAN2 iteration (Gmain, Greg, Dmain, Dreg, Adam, the EMAs)
recorded, replayed from the recorded draws, and compared with an independent reference of the
official update (tests/official_training_reference.py)."""

import numpy as np
import pytest
import tensorflow as tf

from stylegan_tf import families, presets
from stylegan_tf.training.draws import GivenDraws, RecordingDraws, StatelessDraws
from tests import official_training_reference as ref

CONFIG = presets.get("stylegan2-tiny")        # R1 every 4, path length every 2: step 0 runs all four phases
PHASES = ("Gmain", "Greg", "Dmain", "Dreg")
BETA = 0.75


def _trainer(draws):
    from stylegan_tf.training.trainer import Trainer

    t = Trainer(CONFIG, seed=7, draws=draws)
    t.build_optimizers()
    return t


@pytest.fixture(scope="module")
def recorded():
    """The trainer's iteration 0 run eagerly with every draw recorded; the starting weights."""
    reals = tf.random.stateless_uniform([8, 16, 16, 3], [4, 2], -1.0, 1.0)
    t = _trainer(RecordingDraws(StatelessDraws(7)))
    start = {name: [np.array(v.numpy()) for v in getattr(t, name).weights] for name in ("G", "D", "Gs")}
    assert t.step_phases(0) == PHASES
    t.iteration(reals, None, tf.constant(0.0), tf.constant(BETA), tf.constant(0, tf.int64), phases=PHASES)
    return t, reals, start


def test_the_iteration_draws_what_the_docs_name(recorded):
    t, _, _ = recorded
    names = set(t.draws.values)
    for phase in ("Gmain", "Greg", "Dmain"):
        assert {f"{phase}/z", f"{phase}/mix_z", f"{phase}/crossover", f"{phase}/noise0"} <= names, names
    assert t.draws.values["Greg/z"].shape == (4, 16)          # minibatch // pl_batch_shrink
    assert t.draws.values["Greg/pl_y"].shape == (4, 16, 16, 3)
    assert t.draws.values["Gmain/z"].shape == (8, 16)


def test_replaying_the_draws_in_a_traced_step_gives_the_same_update(recorded):
    a, reals, _ = recorded
    b = _trainer(GivenDraws(a.draws.values))
    c = _trainer(StatelessDraws(7))
    for other in (b, c):    # same starting weights as a had
        for v, value in zip(other.G.weights + other.D.weights + other.Gs.weights,
                            sum((recorded[2][n] for n in ("G", "D", "Gs")), [])):
            v.assign(value)
        step = tf.function(lambda r, i, o=other: o.iteration(r, None, tf.constant(0.0), tf.constant(BETA), i,
                                                             phases=PHASES), autograph=False)
        step(reals, tf.constant(0, tf.int64))
        for x, y in zip(a.G.weights + a.D.weights + a.Gs.weights + a.g_opt.variables + a.d_opt.variables,
                        other.G.weights + other.D.weights + other.Gs.weights + other.g_opt.variables +
                        other.d_opt.variables):
            np.testing.assert_allclose(np.asarray(y.numpy()), np.asarray(x.numpy()), rtol=1e-5, atol=1e-6,
                                       err_msg=x.path)


def test_the_update_is_the_official_one(recorded):
    t, reals, start = recorded
    family = families.get("stylegan2")
    G = family.generator_class()(CONFIG.network, name="G")
    D = family.discriminator_class()(CONFIG.network, name="D")
    Gs = family.generator_class()(CONFIG.network, name="Gs")
    for net, name in ((G, "G"), (D, "D"), (Gs, "Gs")):
        for v, value in zip(net.weights, start[name]):
            v.assign(value)
    pl_mean, g_opt, d_opt = ref.stylegan2_iteration(G, D, Gs, reals, t.draws.values, CONFIG, BETA)

    assert float(t.loss.pl_mean.numpy()) == pytest.approx(pl_mean, rel=1e-4)
    for ours, theirs in ((t.G, G), (t.D, D), (t.Gs, Gs)):
        for x, y in zip(ours.weights, theirs.weights):
            if "seed_generator" in x.path:
                continue
            np.testing.assert_allclose(np.asarray(x.numpy()), np.asarray(y.numpy()), rtol=1e-4, atol=2e-6,
                                       err_msg=x.path)
    # Adam's moments: every parameter, also those outside a regulariser's graph (zero gradients:
    # their second moment decays in that phase, as in the official code).
    for opt, reference, variables in ((t.g_opt, g_opt, t.G.trainable_variables),
                                      (t.d_opt, d_opt, t.D.trainable_variables)):
        inner = opt.inner_optimizer
        assert int(inner.iterations.numpy()) == reference.t == 2
        for var, m, v in zip(variables, reference.m, reference.v):
            i = inner._get_variable_index(var)
            # (float32 gradients: a few elements of a tensor differ by ~1e-4 of its largest value)
            np.testing.assert_allclose(inner._momentums[i].numpy(), m, rtol=1e-3, atol=1e-4 * np.abs(m).max(),
                                       err_msg=var.path)
            np.testing.assert_allclose(inner._velocities[i].numpy(), v, rtol=2e-3, atol=1e-4 * np.abs(v).max(),
                                       err_msg=var.path)
