"""StyleGAN2 training: lazy R1 / path length, Adam adjustment, pl_mean, presets, mirrored == single,
Keras fit(), and the command line with an exact resume after kill -9."""

import contextlib
import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from stylegan_tf import losses, presets
from stylegan_tf.schedule import gs_beta
from stylegan_tf.train import config_from_args, parse_args
from stylegan_tf.training.trainer import Trainer
from tests import mirrored, processes

TINY = presets.get("stylegan2-tiny")


def _reals(n, res=16, seed=0):
    return tf.random.stateless_uniform([n, res, res, 3], [seed, 1], -1.0, 1.0)


def _stepper(trainer, strategy=None):
    strategy = strategy or tf.distribute.get_strategy()

    @tf.function(autograph=False)
    def step(reals, beta, i, phases):
        out = strategy.run(trainer.iteration, args=(reals, None, tf.constant(0.0), beta, i),
                           kwargs={"phases": phases})
        return {k: strategy.reduce("MEAN", v, axis=None) for k, v in out.items()}

    return lambda reals, i, beta=0.9: {k: float(v) for k, v in step(
        reals, tf.constant(beta, tf.float32), tf.constant(i, tf.int64), trainer.step_phases(i)).items()}


@pytest.fixture(scope="module")
def trainer():
    t = Trainer(TINY, seed=1)
    t.build_optimizers()
    return t


@pytest.fixture(scope="module")
def step(trainer):
    """The shared trainer's step, traced once per phase kind for the tests that use it."""
    return _stepper(trainer)


@contextlib.contextmanager
def _learning_rates(trainer, g_lrate, d_lrate):
    """The shared trainer with other learning rates (variables: the traced step reads them)."""
    trainer.set_learning_rates(g_lrate, d_lrate)
    try:
        yield
    finally:
        trainer.set_learning_rates(TINY.schedule.g_lrate_base, TINY.schedule.d_lrate_base)


def test_phases_follow_the_iteration_index_and_adam_is_adjusted():
    config = presets.get("stylegan2-ffhq")
    t = Trainer(TINY.replace(loss__r1_interval=16, loss__pl_interval=4), seed=0)
    every = ("Gmain", "Greg", "Dmain", "Dreg")
    assert [t.step_phases(i) for i in (0, 4, 5, 16, 32)] == [every, ("Gmain", "Greg", "Dmain"), ("Gmain", "Dmain"),
                                                             every, every]
    assert t.loss.lazy_ratio("G") == pytest.approx(0.8) and t.loss.lazy_ratio("D") == pytest.approx(16 / 17)
    g, d = t.g_opt.inner_optimizer, t.d_opt.inner_optimizer
    assert float(g.learning_rate) == pytest.approx(0.002 * 0.8) and float(d.learning_rate) == pytest.approx(
        0.002 * 16 / 17)
    assert g.beta_1 == 0.0 and g.beta_2 == pytest.approx(0.99**0.8) and d.beta_2 == pytest.approx(0.99 ** (16 / 17))
    t.set_learning_rates(0.01, 0.02)
    assert float(g.learning_rate) == pytest.approx(0.008) and float(d.learning_rate) == pytest.approx(0.02 * 16 / 17)
    # Regulariser off: no lazy ratio, never a phase.
    off = Trainer(TINY.replace(loss__pl_weight=0.0), seed=0)
    assert off.loss.lazy_ratio("G") == 1.0 and off.step_phases(0) == ("Gmain", "Dmain", "Dreg")
    # Interval 1: the regulariser joins the main loss in one phase (ADA reg_interval=None), no lazy ratio.
    both = Trainer(TINY.replace(loss__r1_interval=1, loss__pl_interval=1), seed=0)
    assert both.step_phases(3) == ("Gboth", "Dboth") and both.loss.lazy_ratio("D") == 1.0
    assert config.loss.r1_interval == 16 and config.loss.pl_interval == 4 and config.loss.pl_weight == 2.0


def test_each_lazy_phase_is_one_more_optimizer_step(trainer, step):
    g0, d0 = int(trainer.g_opt.iterations.numpy()), int(trainer.d_opt.iterations.numpy())
    seen = []
    for i in range(5):   # tiny: R1 every 4, path length every 2
        stats = step(_reals(8, seed=i), i)
        assert all(np.isfinite(v) for v in stats.values()), stats
        assert stats["nonfinite/D"] == 0 and stats["nonfinite/G"] == 0
        seen.append((stats["loss/r1_penalty"], stats["pl_mean"]))
    assert int(trainer.g_opt.iterations.numpy()) - g0 == 5 + 3 and int(trainer.d_opt.iterations.numpy()) - d0 == 5 + 2
    # Between regularisation steps the last penalty is reported again.
    assert seen[1][0] == seen[0][0] and seen[3][0] == seen[2][0] and seen[4][0] != seen[3][0]
    assert seen[1][1] == seen[0][1] and seen[2][1] != seen[1][1]


def test_lazy_r1_is_interval_times_the_r1_term(trainer):
    reals, fakes = _reals(8, seed=3), _reals(8, seed=4)
    with_r1, _ = losses.d_logistic_r1(trainer.D, reals, fakes, r1_gamma=TINY.loss.r1_gamma)
    plain, _ = losses.d_logistic_r1(trainer.D, reals, fakes, r1_gamma=0.0)
    reg = trainer.loss.r1_objective(trainer.context(reals))
    interval = TINY.loss.r1_interval
    # The D objective of an R1 step = the plain loss + interval * the R1 term of the v1 loss.
    np.testing.assert_allclose(float(tf.reduce_mean(plain)) + float(reg),
                               float(tf.reduce_mean(plain + interval * (with_r1 - plain))), rtol=1e-5)
    assert float(reg) > 0


def test_pl_penalty_value_update_and_gradient_match_the_official_formula():
    theta = tf.Variable([0.3, -1.2, 2.0, 0.7])
    pl_mean, decay = 0.5, 0.01
    with tf.GradientTape(persistent=True) as tape:
        lengths = tf.square(theta) + 1.0
        # Official: pl_mean' = lerp(pl_mean, mean(lengths), decay) with the gradient through the mean.
        official_mean = pl_mean + (tf.reduce_mean(lengths) - pl_mean) * decay
        official = tf.reduce_mean(tf.square(lengths - official_mean))
        penalty, new_mean = losses.pl_penalty(lengths, pl_mean, tf.reduce_mean(lengths), decay)
        ours = tf.reduce_mean(penalty)
    np.testing.assert_allclose(float(new_mean), float(official_mean), rtol=1e-6)
    np.testing.assert_allclose(float(ours), float(official), rtol=1e-6)
    np.testing.assert_allclose(tape.gradient(ours, theta).numpy(), tape.gradient(official, theta).numpy(), rtol=1e-5)
    # Two replicas: each sees half of the lengths and the global mean; the summed gradients agree.
    grads = []
    for part in (slice(0, 2), slice(2, 4)):
        with tf.GradientTape() as tape:
            lengths = tf.square(theta) + 1.0
            p, _ = losses.pl_penalty(lengths[part], pl_mean, tf.reduce_mean(lengths), decay)
            grads.append(tape.gradient(tf.reduce_sum(p) / 4, theta).numpy())
    with tf.GradientTape() as tape:
        lengths = tf.square(theta) + 1.0
        official = tf.reduce_mean(tf.square(lengths - (pl_mean + (tf.reduce_mean(lengths) - pl_mean) * decay)))
    np.testing.assert_allclose(grads[0] + grads[1], tape.gradient(official, theta).numpy(), rtol=1e-5)


def test_pl_lengths_match_finite_differences(trainer):
    G = trainer.G
    w = G.mapping(tf.random.stateless_normal([2, 16], [5, 0]))
    noise = [tf.random.stateless_normal([2, h, w_, 1], [6, i]) for i, (h, w_) in enumerate(G.noise_shapes())]
    y = tf.random.stateless_normal([2, 16, 16, 3], [7, 0])
    synth = tf.function(lambda w_: G.synthesis(w_, noise=noise, training=True))
    lengths, _ = losses.pl_lengths(synth, w, y)
    # Independent reference: central differences of sum(img * y / sqrt(H W)) over every coordinate of w.
    f = lambda w_: np.sum(synth(tf.constant(w_)).numpy().astype(np.float64) * y.numpy() / 16.0, axis=(1, 2, 3))  # noqa: E731
    w_np, eps = w.numpy(), 1e-2
    grad = np.zeros(w_np.shape, np.float64)
    for j in range(w_np.shape[1]):
        for k in range(w_np.shape[2]):
            d = np.zeros_like(w_np)
            d[:, j, k] = eps
            grad[:, j, k] = (f(w_np + d) - f(w_np - d)) / (2 * eps)
    reference = np.sqrt(np.mean(np.sum(grad**2, axis=2), axis=1))
    np.testing.assert_allclose(lengths.numpy(), reference, rtol=2e-2)


def test_pl_mean_update_in_a_step(trainer, step):
    # With G's learning rate 0 the path-length phase sees the weights path_lengths() sees now.
    expected = []
    with _learning_rates(trainer, 0.0, TINY.schedule.d_lrate_base):
        for i in (0, 2):
            lengths = trainer.loss.path_lengths(trainer.context(step=i, global_batch=8))
            expected.append(float(tf.reduce_mean(lengths)))
            before = float(trainer.loss.pl_mean.numpy())
            stats = step(_reals(8, seed=i), i)
            np.testing.assert_allclose(stats["pl_mean"], before + (expected[-1] - before) * 0.01, rtol=1e-4)
    assert 0 < stats["pl_mean"] < max(expected)


def test_ema_rampup():
    assert gs_beta(32, 10.0, 0, 0.05) == 0.0            # ADA: a copy at the first step
    assert gs_beta(32, 10.0, 20_000, 0.05) == pytest.approx(0.5 ** (32 / 1000))
    assert gs_beta(32, 10.0, 10**9, 0.05) == pytest.approx(gs_beta(32, 10.0))


def test_presets():
    ffhq = presets.get("stylegan2-ffhq")
    assert (ffhq.network.resolution, ffhq.schedule.minibatch_base, ffhq.loss.r1_gamma, ffhq.schedule.g_lrate_base,
            ffhq.schedule.total_kimg, ffhq.network.mapping_layers, ffhq.training.g_ema_kimg) == (
        1024, 32, 10.0, 0.002, 25000.0, 8, 10.0)
    assert not ffhq.schedule.progressive
    p256 = presets.get("paper256")
    assert (p256.schedule.minibatch_base, p256.network.mbstd_group_size, p256.network.channel_base,
            p256.schedule.g_lrate_base, p256.loss.r1_gamma, p256.training.g_ema_kimg) == (64, 8, 16384, 0.0025, 1.0,
                                                                                           20.0)
    assert presets.get("paper512").loss.r1_gamma == 0.5 and presets.get("paper1024").schedule.minibatch_base == 32
    # 'auto' is resolved from the dataset's resolution: ADA's heuristics for one GPU.
    config, _ = config_from_args(parse_args(["--config", "auto"]), dataset_resolution=128)
    assert (config.network.resolution, config.schedule.minibatch_base, config.network.channel_base,
            config.network.mapping_layers, config.training.g_ema_rampup) == (128, 32, 16384, 2, 0.05)
    assert config.loss.r1_gamma == pytest.approx(0.0002 * 128**2 / 32)
    assert config.training.g_ema_kimg == pytest.approx(10.0)
    config, _ = config_from_args(parse_args(["--config", "auto", "--gamma", "3"]), dataset_resolution=1024)
    assert (config.schedule.minibatch_base, config.network.channel_base, config.schedule.g_lrate_base,
            config.loss.r1_gamma) == (4, 32768, 0.002, 3.0)


@pytest.mark.parametrize("precision", ["fp16", "bf16"])
def test_mixed_precision_steps_are_finite(precision):
    keras.mixed_precision.set_global_policy({"fp16": "mixed_float16", "bf16": "mixed_bfloat16"}[precision])
    try:
        t = Trainer(TINY, seed=0, mixed_precision=precision)
        t.build_optimizers()
        stats = _stepper(t)(_reals(8), 0)      # step 0: every phase (Gmain, Greg, Dmain, Dreg)
        assert all(np.isfinite(v) for v in stats.values()), stats
        assert stats["loss/r1_penalty"] > 0 and stats["loss/pl_penalty"] >= 0
        assert all(np.all(np.isfinite(w.numpy())) for w in t.G.weights + t.D.weights)
    finally:
        keras.mixed_precision.set_global_policy("float32")


def test_keras_fit_with_tensorboard_and_backup(tmp_path):
    t = Trainer(TINY, seed=0)
    t.compile()
    data = tf.data.Dataset.from_tensor_slices(_reals(8)).batch(8, drop_remainder=True)   # one step per epoch
    history = t.fit(data, epochs=2, verbose=0, callbacks=[
        keras.callbacks.TensorBoard(str(tmp_path / "tb")),
        keras.callbacks.BackupAndRestore(str(tmp_path / "backup"), delete_checkpoint=False)])
    assert int(t.iteration_counter.numpy()) == 2
    assert int(t.d_opt.iterations.numpy()) == 2 + 1      # R1 at iteration 0 (every 4)
    assert int(t.g_opt.iterations.numpy()) == 2 + 1      # path length at iteration 0 (every 2)
    for name in ("loss/G", "loss/D", "loss/r1_penalty", "loss/pl_penalty", "pl_mean"):
        assert all(np.isfinite(history.history[name])), name
    assert list((tmp_path / "tb").rglob("events.out.tfevents.*"))
    assert list((tmp_path / "backup").rglob("*"))


@pytest.mark.slow
def test_mirrored_step_equals_single_device_step(two_cpus):
    # Adam's epsilon raised so the update is linear in the gradient (see test_training_step.py).
    result = two_cpus.run("""
        from stylegan_tf import presets
        from stylegan_tf.training.trainer import Trainer
        cfg = presets.get("stylegan2-tiny").replace(optimizer__epsilon=1.0, schedule__g_lrate_base=0.5,
                                                    schedule__d_lrate_base=0.5)
        single, mirror = make_pair(Trainer, cfg)
        reals = tf.random.stateless_uniform([8, 16, 16, 3], [1, 2], -1, 1)   # 2 replicas x mbstd group 4
        args = (reals, None, tf.constant(0.0), tf.constant(0.9), tf.constant(0, tf.int64))
        result = compare_steps(single, mirror, "iteration", [(args, {"phases": ("Gmain", "Greg", "Dmain", "Dreg")})],
                               ("loss/D", "loss/G", "loss/r1_penalty", "loss/pl_penalty", "pl_mean"))
    """)
    mirrored.assert_same_stats(result, rel=1e-4, abs=1e-6)
    mirrored.assert_same_weights(result)


# The command line: stylegan2-tiny at 8x8 (fewer layers to trace than its 16x16), 20 steps, a checkpoint every 4
# (R1 every 4, PL every 2).
TRAIN = ["--config", "stylegan2-tiny", "--resolution", "8", "--batch", "8", "--kimg", "0.16", "--snapshot-kimg",
         "0.032", "--seed", "3", "--keep-checkpoints", "10"]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    from stylegan_tf.data.synthetic import build_synthetic_dataset

    path = tmp_path_factory.mktemp("data") / "faces8"
    build_synthetic_dataset(path, resolution=8, num_images=64, seed=0)
    return path


def _last_checkpoint(run_dir):
    return sorted((run_dir / "checkpoints").glob("ckpt-*"))[-1]


@pytest.mark.slow
def test_cli_run_exports_and_resumes_bit_exact_after_sigkill(dataset, tmp_path):
    # The uninterrupted run and the run to kill are independent: they run side by side.
    full, outdir = tmp_path / "full", tmp_path / "killed"
    full_run = processes.start(["train.py", "--data", dataset, "--outdir", full, *TRAIN])
    killed = processes.start(["train.py", "--data", dataset, "--outdir", outdir, "--no-savedmodel", *TRAIN])
    # Killed after the checkpoint at step 8 or later: the resume starts mid-way in the R1/PL cycle.
    processes.kill_after_checkpoints(killed, outdir, 2)
    (run_b,) = list(outdir.glob("00000-*"))
    stdout = processes.run(["train.py", "--data", dataset, "--outdir", outdir, "--resume", "latest",
                            "--no-savedmodel", *TRAIN])
    assert "Resumed from" in stdout
    processes.finish(full_run)

    (run_a,) = list(full.glob("00000-*"))
    stats = [json.loads(line) for line in (run_a / "stats.jsonl").read_text().splitlines()]
    assert stats[-1]["kimg"] == pytest.approx(0.16)
    for s in stats:
        assert all(np.isfinite(s[k]) for k in ("loss/G", "loss/D", "loss/r1_penalty", "loss/pl_penalty", "pl_mean"))
    assert stats[-1]["pl_mean"] > 0 and stats[-1]["resolution"] == 8
    assert (run_a / "saved_model" / "saved_model.pb").is_file() and list(run_a.glob("network-snapshot-*.keras"))
    meta = json.loads((_last_checkpoint(run_a) / "meta.json").read_text())
    assert len(meta["layout"]["state"]) == 4   # pl_mean and the reported penalties travel with the checkpoint
    processes.assert_same_variables(processes.checkpoint_variables(_last_checkpoint(run_a)),
                                    processes.checkpoint_variables(_last_checkpoint(run_b)))


@pytest.mark.slow
def test_a_short_run_makes_progress(trainer, step):
    """Finite losses throughout, and G's SWD to the reals well below its SWD before the run."""
    from stylegan_tf.data.synthetic import synthetic_face
    from stylegan_tf.metrics.swd import compute_swd

    faces = np.stack([synthetic_face(16, i) for i in range(256)])
    reals = faces.astype(np.float32) / 127.5 - 1.0
    z = np.random.RandomState(0).randn(256, TINY.network.latent_size).astype(np.float32)

    def swd():
        fakes = np.asarray(trainer.G(z, truncation_psi=1.0, noise_mode="const"))
        fakes = np.clip(np.rint((fakes + 1.0) * 127.5), 0, 255).astype(np.uint8)
        return compute_swd([faces], [fakes], 16, min_resolution=8)["avg"]

    before = swd()
    with _learning_rates(trainer, 0.01, 0.01):
        for i in range(40):
            stats = step(tf.constant(reals[(i * 8) % 256:(i * 8) % 256 + 8]), i)
            assert all(np.isfinite(v) for v in stats.values()), stats
    after = swd()
    assert after < 0.95 * before, (before, after)   # measured: 0.70 after these 40 steps


def test_ada_augments_every_d_input_of_the_stylegan2_step():
    """The same step (step 0: both lazy regularisers run too) from the same state at p = 0 and at p = 1:
    at p = 1 D sees augmented images (its update differs), the step stays finite, and in ada mode p
    moves by the official step. One trainer, one trace (p is a variable)."""
    config = TINY.replace(augment__mode="ada", augment__interval=1, augment__kimg=1.0)
    t = Trainer(config, seed=5)
    t.build_optimizers()
    state = [v for vs in t.checkpoint_variables().values() for v in vs]
    initial = [np.asarray(v) for v in state]
    step = _stepper(t)
    results = {}
    for p in (0.0, 1.0):
        for v, value in zip(state, initial):
            v.assign(value)
        t.augment_state.p.assign(p)
        stats = step(_reals(8), 0)
        assert all(np.isfinite(v) for v in stats.values()), stats
        results[p] = (stats, [np.asarray(v) for v in t.D.trainable_variables])
    assert any(not np.array_equal(a, b) for a, b in zip(results[0.0][1], results[1.0][1]))
    # ada: one adjustment of +-batch * interval / (kimg * 1000) = 8 / 1000, clipped at 0 (official: no upper clip).
    for p, (stats, _) in results.items():
        up = stats["augment/signs_real"] > TINY.augment.target
        expected = max(p + (0.008 if up else -0.008), 0.0)
        assert stats["augment/p"] == pytest.approx(expected, abs=1e-6), (p, stats)
