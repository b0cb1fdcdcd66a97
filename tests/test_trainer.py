"""The one Trainer with per-family losses: zero gradients outside a phase's graph, the labels of
the fakes, ADA's statistic in every D phase on the reals, conditional training for every family,
and what --dry-run prints."""

import numpy as np
import pytest
import tensorflow as tf

from stylegan_tf import presets
from stylegan_tf.errors import UserError
from stylegan_tf.training.draws import RecordingDraws, StatelessDraws
from stylegan_tf.training.trainer import Trainer

SG2 = presets.get("stylegan2-tiny")


def _reals(n=8, res=16, seed=0):
    return tf.random.stateless_uniform([n, res, res, 3], [seed, 9], -1.0, 1.0)


def _run(trainer, phases, reals=None, labels=None, step=1, lod=0.0):
    """One eager iteration with the given phases."""
    reals = _reals(res=int(trainer.experiment.network.resolution)) if reals is None else reals
    return trainer.iteration(reals, labels, tf.constant(lod), tf.constant(0.9), tf.constant(step, tf.int64),
                             phases=phases)


def _velocity(opt, var):
    inner = opt.inner_optimizer
    return inner._velocities[inner._get_variable_index(var)].numpy().copy()


@pytest.mark.parametrize("network,main,reg", [("D", "Dmain", "Dreg"), ("G", "Gmain", "Greg")])
def test_parameters_outside_a_regulariser_get_zero_gradients(network, main, reg):
    """Official: every parameter gets a gradient (zeros where the phase's graph does not reach, e.g.
    D's output bias in R1, G's ToRGB biases in path length), so Adam's second moment decays there."""
    t = Trainer(SG2, seed=0)
    t.build_optimizers()
    model, opt = (t.D, t.d_opt) if network == "D" else (t.G, t.g_opt)
    objective = t.loss.r1_objective if network == "D" else t.loss.pl_objective
    with tf.GradientTape() as tape:
        value = objective(t.context(_reals(), step=1))
    grads = tape.gradient(value, model.trainable_variables)
    outside = [v for v, g in zip(model.trainable_variables, grads) if g is None]
    assert outside, "the regulariser reaches every parameter: nothing to test"
    _run(t, (main,))
    before = {v.path: (_velocity(opt, v), v.numpy().copy()) for v in outside}
    assert all(np.any(vel != 0) for vel, _ in before.values())
    _run(t, (reg,))
    beta_2 = float(opt.inner_optimizer.beta_2)
    for v in outside:
        velocity, value = before[v.path]
        np.testing.assert_allclose(_velocity(opt, v), velocity * beta_2, rtol=1e-6, err_msg=v.path)
        np.testing.assert_array_equal(v.numpy(), value)   # beta1 = 0: a zero gradient does not move it


def _one_hot(indices, n=3):
    return np.eye(n, dtype=np.float32)[np.asarray(indices)]


def _recording_mapping(trainer):
    """Wraps G.mapping to keep the labels of every call."""
    seen, mapping = [], trainer.G.mapping

    def wrapped(z, labels=None):
        seen.append(None if labels is None else np.argmax(np.asarray(labels), axis=1))
        return mapping(z, labels)

    trainer.G.mapping = wrapped
    return seen


def test_the_fakes_labels_are_drawn_from_the_dataset_labels_not_the_reals():
    """StyleGAN2/ADA: each fake phase draws `gen_c` from the dataset's labels (here all class 2) while
    the reals are class 0."""
    config = SG2.replace(network__label_size=3)
    t = Trainer(config, seed=0, draws=RecordingDraws(StatelessDraws(0)))
    t.build_optimizers()
    with pytest.raises(UserError, match="set_label_pool"):
        _run(t, ("Gmain",), labels=_one_hot([0] * 8))
    t.set_label_pool(_one_hot([2] * 5))
    seen = _recording_mapping(t)
    stats = _run(t, ("Gmain", "Greg", "Dmain", "Dreg"), labels=_one_hot([0] * 8))
    assert all(np.isfinite(float(v)) for v in stats.values())
    assert len(seen) == 6   # Gmain, Greg, Dmain: z and the style-mixing z
    assert all(list(s) == [2] * len(s) for s in seen), seen
    for phase in ("Gmain", "Greg", "Dmain"):
        assert t.draws.values[f"{phase}/c"].min() >= 0 and t.draws.values[f"{phase}/c"].max() < 5
    # Independent per phase (different draws), from a pool with several classes.
    t.set_label_pool(_one_hot([0, 1, 2, 0, 1, 2, 0, 1]))
    _run(t, ("Gmain", "Dmain"), labels=_one_hot([0] * 8))
    assert not np.array_equal(t.draws.values["Gmain/c"], t.draws.values["Dmain/c"])


def test_v1_d_step_fakes_take_the_reals_labels_and_the_g_step_draws_them():
    """Official v1: `D_logistic_simplegp(..., labels)` generates with the reals' labels, the G loss
    with `get_random_labels_tf`."""
    config = presets.get("tiny").replace(network__label_size=3)
    t = Trainer(config, seed=0)
    t.build_optimizers()
    t.set_label_pool(_one_hot([2] * 4))
    t.set_lod(2.0)
    seen = _recording_mapping(t)
    _run(t, ("D", "G"), reals=_reals(res=4), labels=_one_hot([1] * 8), lod=2.0)
    assert [list(s) for s in seen] == [[1] * 8, [1] * 8, [2] * 8, [2] * 8]


def test_ada_counts_the_real_signs_of_dmain_and_dreg():
    config = SG2.replace(augment__mode="ada", augment__interval=1000)
    t = Trainer(config, seed=0)
    t.build_optimizers()
    _run(t, ("Gmain", "Dmain"))
    assert float(t.augment_state.signs.numpy()[1]) == 8
    _run(t, ("Gmain", "Dmain", "Dreg"))
    assert float(t.augment_state.signs.numpy()[1]) == 8 + 16   # both D phases on the reals (official)


@pytest.mark.parametrize("preset", ["tiny", "stylegan2-tiny", "stylegan3-tiny"])
def test_every_family_trains_conditionally(preset):
    config = presets.get(preset).replace(network__label_size=3)
    t = Trainer(config, seed=1)
    t.build_optimizers()
    t.set_label_pool(_one_hot([0, 1, 2, 1]))
    net = config.network
    res, lod = (4, 2.0) if preset == "tiny" else (net.resolution, 0.0)
    if preset == "tiny":
        t.set_lod(lod)
    batch = config.schedule.minibatch_base
    labelled = [v for v in t.G.trainable_variables + t.D.trainable_variables
                if "embed" in v.path or "label" in v.path]
    assert labelled, "no label weights in G or D"
    before = [v.numpy().copy() for v in labelled]
    stats = _run(t, t.step_phases(0), reals=_reals(batch, res), labels=_one_hot(np.arange(batch) % 3), lod=lod)
    assert all(np.isfinite(float(v)) for v in stats.values()), stats
    assert any(not np.array_equal(b, v.numpy()) for b, v in zip(before, labelled))


def test_dry_run_prints_the_adam_form_and_every_loss_setting(capsys):
    from stylegan_tf.train import describe_training

    text = describe_training(presets.get("paper256"))
    assert "torch form" in text and "beta2 0.99" in text
    for field in ("r1_gamma: 1.0", "r1_interval: 16", "pl_weight: 2.0", "pl_interval: 4", "pl_decay: 0.01",
                  "pl_batch_shrink: 2", "lazy_ratio_D: 0.9411", "phases(step 0): ['Gmain', 'Greg', 'Dmain', 'Dreg']"):
        assert field in text, field
    v1 = describe_training(presets.get("celebahq"))
    assert "tf form" in v1 and "d_loss: wgan_gp" in v1 and "wgan_lambda: 10.0" in v1
    assert "blur_init_sigma: 10.0" in describe_training(presets.get("stylegan3-r"))
