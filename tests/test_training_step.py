"""The training step: losses, R1, Gs EMA, w_avg, Adam reset, precision, and mirrored == single device."""

import dataclasses
import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from stylegan_tf import losses, presets
from stylegan_tf.schedule import gs_beta, lod_at, optimizer_reset_needed, phase_at
from stylegan_tf.training.trainer import StyleGANTrainer, fade_reals

ROOT = Path(__file__).resolve().parents[1]
TINY = presets.get("tiny")


def _stepper(trainer, strategy=None):
    strategy = strategy or tf.distribute.get_strategy()

    @tf.function
    def step(reals, lod, beta, i):
        out = strategy.run(trainer.train_step, args=(reals, None, lod, beta, i))
        return {k: strategy.reduce("MEAN", v, axis=None) for k, v in out.items()}

    return lambda reals, lod, beta, i: {k: float(v) for k, v in step(
        reals, tf.constant(lod, tf.float32), tf.constant(beta, tf.float32), tf.constant(i, tf.int64)).items()}


def _reals(n, res, seed=0):
    return tf.random.stateless_uniform([n, res, res, 3], [seed, 1], -1.0, 1.0)


def _snapshot(weights):
    return [np.array(w.numpy()) for w in weights]


@pytest.mark.parametrize("resolution,lod", [(8, 1.0), (16, 0.5)])
def test_steps_change_g_d_gs_and_keep_losses_finite(resolution, lod):
    trainer = StyleGANTrainer(TINY, seed=1)
    trainer.build_optimizers()
    trainer.set_lod(lod)
    before = {name: _snapshot(getattr(trainer, name).trainable_weights) for name in ("G", "D", "Gs")}
    w_avg_before = trainer.G.w_avg.numpy().copy()
    step = _stepper(trainer)
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


def test_gs_is_the_moving_average_of_g():
    trainer = StyleGANTrainer(TINY, seed=2)
    trainer.build_optimizers()
    trainer.set_lod(1.0)
    g_before = _snapshot(trainer.G.trainable_weights)
    gs_before = _snapshot(trainer.Gs.trainable_weights)
    _stepper(trainer)(_reals(8, 8), 1.0, 0.75, 0)
    # One official iteration: Gs <- lerp(G, Gs, beta) after the D step, before G's own update.
    for g, gs, gs_new in zip(g_before, gs_before, trainer.Gs.trainable_weights):
        np.testing.assert_allclose(gs_new.numpy(), g + (gs - g) * 0.75, rtol=1e-6, atol=1e-7)
    # Non-trainable state is copied: w_avg as G had it after the D step's update.
    assert np.any(trainer.Gs.w_avg.numpy() != 0)


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


def test_adam_state_reset():
    trainer = StyleGANTrainer(TINY, seed=0)
    trainer.build_optimizers()
    trainer.set_lod(1.0)
    _stepper(trainer)(_reals(8, 8), 1.0, 0.9, 0)
    inner = trainer.d_opt.inner_optimizer
    assert int(inner.iterations.numpy()) == 1
    assert any(np.any(v.numpy() != 0) for v in inner.variables if "velocity" in v.path)
    trainer.reset_optimizers()
    assert int(inner.iterations.numpy()) == 0
    assert all(np.all(v.numpy() == 0) for v in inner.variables)
    assert float(trainer.d_opt.dynamic_scale.numpy()) == 1.0


@pytest.mark.parametrize("precision", ["fp16", "bf16"])
def test_mixed_precision_steps_are_finite(precision):
    policy = {"fp16": "mixed_float16", "bf16": "mixed_bfloat16"}[precision]
    keras.mixed_precision.set_global_policy(policy)
    try:
        trainer = StyleGANTrainer(TINY, seed=0, mixed_precision=precision)
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


MIRRORED = textwrap.dedent("""
    import numpy as np, tensorflow as tf
    cpus = tf.config.list_physical_devices("CPU")
    tf.config.set_logical_device_configuration(cpus[0], [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras
    from stylegan_tf import presets
    from stylegan_tf.training.trainer import StyleGANTrainer
    keras.utils.set_random_seed(0)
    # Adam's epsilon is raised so the update is linear in the gradient: the test then compares
    # the gradient all-reduce itself (with eps 1e-8 Adam's first step is lr * sign(g), which
    # turns float rounding on near-zero gradients into +-lr differences).
    cfg = presets.get("tiny").replace(optimizer__epsilon=1.0, schedule__g_lrate_base=0.5, schedule__d_lrate_base=0.5)
    def make(strategy):
        with strategy.scope():
            t = StyleGANTrainer(cfg, seed=3)
            t.build_optimizers()
        return t
    one, two = tf.distribute.get_strategy(), tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    single, mirror = make(one), make(two)
    for a, b in zip(mirror.G.weights + mirror.D.weights + mirror.Gs.weights,
                    single.G.weights + single.D.weights + single.Gs.weights):
        a.assign(b.numpy())
    def stepper(strategy, tr):
        @tf.function
        def f(reals, lod, beta, step):
            out = strategy.run(tr.train_step, args=(reals, None, lod, beta, step))
            return {k: strategy.reduce("MEAN", v, axis=None) for k, v in out.items()}
        return f
    reals = tf.random.stateless_uniform([8, 8, 8, 3], [1, 2], -1, 1)  # global batch 8 = 2 replicas x group 4
    for tr in (single, mirror):
        tr.set_lod(1.5)
    before = {name: [w.numpy() for w in getattr(single, name).trainable_weights] for name in ("G", "D", "Gs")}
    a = stepper(one, single)(reals, tf.constant(1.5), tf.constant(0.9), tf.constant(0, tf.int64))
    b = stepper(two, mirror)(reals, tf.constant(1.5), tf.constant(0.9), tf.constant(0, tf.int64))
    print("replicas", two.num_replicas_in_sync)
    for k in ("loss/D", "loss/G", "loss/r1_penalty"):
        print("stat", k, float(a[k]), float(b[k]))
    for name in ("G", "D", "Gs"):
        xs = [w for w in getattr(single, name).trainable_weights]
        ys = [w for w in getattr(mirror, name).trainable_weights]
        change = max(float(np.abs(x.numpy() - x0).max()) for x, x0 in zip(xs, before[name]))
        diff = max(float(np.abs(x.numpy() - y.numpy()).max()) for x, y in zip(xs, ys))
        print("diff", name, diff, change)
""")


def test_mirrored_step_equals_single_device_step():
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    result = subprocess.run([sys.executable, "-c", MIRRORED], env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = [line.split() for line in result.stdout.splitlines()]
    assert ["replicas", "2"] in lines
    for line in lines:
        if line[0] == "stat":
            assert float(line[2]) == pytest.approx(float(line[3]), rel=1e-5, abs=1e-6), line
        if line[0] == "diff":   # weights agree to float rounding of the step they took
            assert float(line[2]) <= 1e-3 * max(float(line[3]), 1e-2), line
            assert line[1] == "Gs" or float(line[3]) > 1e-3, line   # Gs = lerp(G, Gs) of the unchanged G
    assert sum(line[0] == "diff" for line in lines) == 3
