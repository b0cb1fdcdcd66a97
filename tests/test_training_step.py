"""The training step: losses, R1, Gs EMA, w_avg, Adam reset, precision, and mirrored == single device."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from stylegan_tf import losses, presets
from stylegan_tf.schedule import gs_beta, lod_at, optimizer_reset_needed, phase_at
from stylegan_tf.training.stylegan1_loss import fade_reals
from stylegan_tf.training.trainer import Trainer
from tests import mirrored

TINY = presets.get("tiny")


def _stepper(trainer, strategy=None):
    strategy = strategy or tf.distribute.get_strategy()

    @tf.function
    def step(reals, lod, beta, i):
        out = strategy.run(trainer.iteration, args=(reals, None, lod, beta, i), kwargs={"phases": ("D", "G")})
        return {k: strategy.reduce("MEAN", v, axis=None) for k, v in out.items()}

    return lambda reals, lod, beta, i: {k: float(v) for k, v in step(
        reals, tf.constant(lod, tf.float32), tf.constant(beta, tf.float32), tf.constant(i, tf.int64)).items()}


def _reals(n, res, seed=0):
    return tf.random.stateless_uniform([n, res, res, 3], [seed, 1], -1.0, 1.0)


def _snapshot(weights):
    return [np.array(w.numpy()) for w in weights]


def _trainer(lod, seed=1):
    trainer = Trainer(TINY, seed=seed)
    trainer.build_optimizers()
    trainer.set_lod(lod)
    return trainer, _stepper(trainer)


@pytest.fixture(scope="module")
def at_8x8():
    """A tiny trainer at lod 1 (8x8) and its step, traced once, shared by the tests below: what each
    of them checks holds whatever steps the others took before."""
    return _trainer(1.0)


@pytest.mark.parametrize("resolution,lod", [(8, 1.0), (16, 0.5)])
def test_steps_change_g_d_gs_and_keep_losses_finite(resolution, lod, at_8x8):
    trainer, step = at_8x8 if lod == 1.0 else _trainer(lod)
    before = {name: _snapshot(getattr(trainer, name).trainable_weights) for name in ("G", "D", "Gs")}
    w_avg_before = trainer.G.w_avg.numpy().copy()
    for i in range(3):
        stats = step(_reals(8, resolution, i), lod, 0.9, i)
        assert all(math.isfinite(v) for v in stats.values()), stats
        assert stats["nonfinite/D"] == 0 and stats["nonfinite/G"] == 0
    for name in ("G", "D", "Gs"):
        changed = [not np.array_equal(a, b.numpy()) for a, b in zip(before[name], getattr(trainer, name).trainable_weights)]
        assert any(changed), f"{name} did not change"
    assert not np.array_equal(w_avg_before, trainer.G.w_avg.numpy())
    # Blocks above the trained resolution are untouched.
    if resolution == 8:
        top = trainer.G.synthesis_network.blocks[-1].conv1.kernel
        assert np.array_equal(before["G"][[w.path for w in trainer.G.trainable_weights].index(top.path)], top.numpy())


def test_gs_is_the_moving_average_of_g(at_8x8):
    trainer, step = at_8x8
    g_before = _snapshot(trainer.G.trainable_weights)
    gs_before = _snapshot(trainer.Gs.trainable_weights)
    w_avg_before = trainer.Gs.w_avg.numpy().copy()
    step(_reals(8, 8), 1.0, 0.75, 0)
    # One official iteration: Gs <- lerp(G, Gs, beta) after the D step, before G's own update.
    for g, gs, gs_new in zip(g_before, gs_before, trainer.Gs.trainable_weights):
        np.testing.assert_allclose(gs_new.numpy(), g + (gs - g) * 0.75, rtol=1e-6, atol=1e-7)
    # Non-trainable state is copied: w_avg as G had it after the D step's update.
    assert np.any(trainer.Gs.w_avg.numpy() != 0) and not np.array_equal(trainer.Gs.w_avg.numpy(), w_avg_before)


def test_gs_beta_half_life():
    assert gs_beta(10_000, 10.0) == pytest.approx(0.5)
    assert gs_beta(32, 10.0) == pytest.approx(0.5 ** (32 / 10_000))


def test_fade_reals_blends_with_box_average():
    x = _reals(2, 8)
    low = tf.repeat(tf.repeat(tf.nn.avg_pool2d(x, 2, 2, "VALID"), 2, axis=1), 2, axis=2)
    np.testing.assert_allclose(fade_reals(x, tf.constant(3.0)).numpy(), x.numpy(), atol=1e-7)
    np.testing.assert_allclose(fade_reals(x, tf.constant(2.25)).numpy(), (0.75 * x + 0.25 * low).numpy(), atol=1e-6)


def test_r1_matches_hand_computation():
    a = tf.constant([0.5, -1.0, 2.0])

    def toy_d(images, labels=None):   # D(x) = sum_c a_c * sum_hw x^2, so dD/dx = 2 a_c x
        return tf.reduce_sum(tf.square(images) * a, axis=[1, 2, 3])[:, None]

    reals = _reals(3, 4, 5)
    fakes = _reals(3, 4, 6)
    loss, stats = losses.d_logistic_r1(toy_d, reals, fakes, r1_gamma=10.0)
    x = reals.numpy()
    r1 = np.sum((2 * a.numpy() * x) ** 2, axis=(1, 2, 3))
    real_scores = np.sum(x**2 * a.numpy(), axis=(1, 2, 3))
    fake_scores = np.sum(fakes.numpy() ** 2 * a.numpy(), axis=(1, 2, 3))
    softplus = lambda t: np.log1p(np.exp(t))  # noqa: E731
    np.testing.assert_allclose(stats["r1_penalty"].numpy(), r1, rtol=1e-5)
    np.testing.assert_allclose(loss.numpy(), softplus(fake_scores) + softplus(-real_scores) + 5.0 * r1, rtol=1e-5)
    # Scaling the inner gradient (float16 loss scaling) and unscaling gives the same penalty.
    _, scaled = losses.d_logistic_r1(toy_d, reals, fakes, r1_gamma=10.0, loss_scale=1024.0)
    np.testing.assert_allclose(scaled["r1_penalty"].numpy(), r1, rtol=1e-5)


def test_wgan_gp_matches_hand_computation():
    def linear_d(images, labels=None):   # gradient norm = ||w|| = 2 everywhere
        return tf.reduce_sum(images * 0.25, axis=[1, 2, 3])[:, None]

    reals, fakes = _reals(2, 4, 1), _reals(2, 4, 2)
    loss, stats = losses.d_wgan_gp(linear_d, reals, fakes, mixing_factors=tf.fill([2, 1, 1, 1], 0.3))
    real = np.sum(reals.numpy() * 0.25, axis=(1, 2, 3))
    fake = np.sum(fakes.numpy() * 0.25, axis=(1, 2, 3))
    norm = math.sqrt(4 * 4 * 3 * 0.25**2)
    np.testing.assert_allclose(stats["gradient_penalty"].numpy(), [(norm - 1) ** 2] * 2, rtol=1e-5)
    np.testing.assert_allclose(loss.numpy(), fake - real + 10 * (norm - 1) ** 2 + 0.001 * real**2, rtol=1e-5)


def test_schedule_matches_official_formula():
    ffhq = presets.get("ffhq")
    # (kimg, lod, resolution, minibatch, learning rate) from the official TrainingSchedule.
    cases = [(0, 7.0, 8, 128, 0.001), (599, 7.0, 8, 128, 0.001), (900, 6.5, 16, 128, 0.001),
             (1200, 6.0, 16, 128, 0.001), (3300, 4.5, 64, 32, 0.001), (6150, 2.0, 256, 8, 0.002),
             (6750, 1.75, 512, 4, 0.003), (7800, 1.0, 512, 4, 0.003), (8400, 0.0, 1024, 4, 0.003),
             (25000, 0.0, 1024, 4, 0.003)]
    for kimg, lod, res, minibatch, lrate in cases:
        p = phase_at(ffhq, kimg)
        assert (p.lod, p.resolution, p.minibatch, p.g_lrate, p.d_lrate) == pytest.approx(
            (lod, res, minibatch, lrate, lrate)), kimg
    fixed = ffhq.replace(schedule__progressive=False)
    assert lod_at(fixed, 0) == 0 and phase_at(fixed, 0).resolution == 1024
    assert optimizer_reset_needed(7.0, 6.999) and optimizer_reset_needed(6.001, 6.0)
    assert not optimizer_reset_needed(6.5, 6.25)


def test_adam_state_reset(at_8x8):
    trainer, step = at_8x8
    inner = trainer.d_opt.inner_optimizer
    iterations = int(inner.iterations.numpy())
    step(_reals(8, 8), 1.0, 0.9, 0)
    assert int(inner.iterations.numpy()) == iterations + 1
    assert any(np.any(v.numpy() != 0) for v in inner.variables if "velocity" in v.path)
    learning_rate = float(inner.learning_rate.numpy())
    assert learning_rate > 0
    trainer.reset_optimizers()
    assert int(inner.iterations.numpy()) == 0
    assert all(np.all(v.numpy() == 0) for v in inner.variables if "momentum" in v.path or "velocity" in v.path)
    # Only the moments and the step count: the learning rate and the loss scale stay.
    assert float(inner.learning_rate.numpy()) == learning_rate
    assert float(trainer.d_opt.dynamic_scale.numpy()) == 1.0


@pytest.mark.parametrize("precision", ["fp16", "bf16"])
def test_mixed_precision_steps_are_finite(precision):
    policy = {"fp16": "mixed_float16", "bf16": "mixed_bfloat16"}[precision]
    keras.mixed_precision.set_global_policy(policy)
    try:
        trainer = Trainer(TINY, seed=0, mixed_precision=precision)
        trainer.build_optimizers()
        trainer.set_lod(0.5)
        step = _stepper(trainer)
        for i in range(3):
            stats = step(_reals(8, 16, i), 0.5, 0.9, i)
        assert all(math.isfinite(v) for v in stats.values()), stats
        expected_scale = 2.0**15 if precision == "fp16" else 1.0
        assert stats["loss_scale/D"] <= expected_scale
        assert all(np.all(np.isfinite(w.numpy())) for w in trainer.G.weights + trainer.D.weights)
        assert keras.backend.standardize_dtype(trainer.G.synthesis_network.compute_dtype) == policy[6:]
    finally:
        keras.mixed_precision.set_global_policy("float32")


def test_mirrored_step_equals_single_device_step(two_cpus):
    # Adam's epsilon is raised so the update is linear in the gradient: the test then compares
    # the gradient all-reduce itself (with eps 1e-8 Adam's first step is lr * sign(g), which
    # turns float rounding on near-zero gradients into +-lr differences).
    result = two_cpus.run("""
        from stylegan_tf import presets
        from stylegan_tf.training.trainer import Trainer
        cfg = presets.get("tiny").replace(optimizer__epsilon=1.0, schedule__g_lrate_base=0.5,
                                          schedule__d_lrate_base=0.5)
        single, mirror = make_pair(Trainer, cfg, lod=1.5)
        reals = tf.random.stateless_uniform([8, 8, 8, 3], [1, 2], -1, 1)  # global batch 8 = 2 replicas x group 4
        args = (reals, None, tf.constant(1.5), tf.constant(0.9), tf.constant(0, tf.int64))
        result = compare_steps(single, mirror, "iteration", [(args, {"phases": ("D", "G")})],
                               ("loss/D", "loss/G", "loss/r1_penalty"))
    """)
    mirrored.assert_same_stats(result, rel=1e-5, abs=1e-6)
    mirrored.assert_same_weights(result, unchanged_ok=("Gs",))   # Gs = lerp(G, Gs) of the unchanged G
