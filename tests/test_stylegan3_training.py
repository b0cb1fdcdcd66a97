"""StyleGAN3 training: the D-input blur (config R) against the official formula, the EMAs updated
only in the discriminator's pass over fakes, presets, and a run through the loop that resumes exactly."""

import shutil

import numpy as np
import pytest
import tensorflow as tf
from scipy import ndimage

from stylegan_tf import presets
from stylegan_tf.training.stylegan3_loss import blur_filter, blur_images, blur_sigma
from stylegan_tf.training.trainer import Trainer

TINY = presets.get("stylegan3-tiny")


def _official_taps(sigma):
    """stylegan3 loss.py run_D: arange(-floor(3 sigma), floor(3 sigma) + 1) / sigma, squared, negated, exp2."""
    size = np.floor(sigma * 3)
    f = np.exp2(-np.square(np.arange(-size, size + 1) / sigma))
    return f / f.sum()


@pytest.mark.parametrize("sigma", [10.0, 4.3, 1.0, 0.5])
def test_blur_filter_is_the_official_filter_zero_padded(sigma):
    taps = blur_filter(tf.constant(sigma), max_sigma=10.0).numpy()
    official = _official_taps(sigma)
    half = (len(taps) - len(official)) // 2
    assert len(taps) == 61
    np.testing.assert_allclose(taps[half:half + len(official)], official, rtol=1e-5, atol=1e-7)
    assert np.all(taps[:half] == 0) and np.all(taps[half + len(official):] == 0)


def test_blur_filter_is_an_impulse_below_a_third_of_a_pixel():
    taps = blur_filter(tf.constant(0.3), max_sigma=10.0).numpy()
    assert taps[30] == 1.0 and taps.sum() == 1.0


def test_blur_sigma_fades_linearly_to_zero():
    # R at batch 32: 10 px, faded over 200 kimg.
    values = [float(blur_sigma(n, 10.0, 200.0)) for n in (0, 50_000, 100_000, 200_000, 400_000)]
    np.testing.assert_allclose(values, [10.0, 7.5, 5.0, 0.0, 0.0], atol=1e-5)
    assert float(blur_sigma(0, 0.0, 200.0)) == 0.0


def test_blur_images_is_the_separable_zero_padded_filter():
    rng = np.random.default_rng(0)
    images = rng.standard_normal((2, 16, 16, 3)).astype(np.float32)
    sigma = 2.0
    f = _official_taps(sigma)
    expected = ndimage.correlate1d(images, f, axis=1, mode="constant")
    expected = ndimage.correlate1d(expected, f, axis=2, mode="constant")
    out = blur_images(tf.constant(images), tf.constant(sigma), max_sigma=10.0).numpy()
    np.testing.assert_allclose(out, expected, atol=1e-5)


def _iterate(trainer, reals, step, phases=("Gmain", "Dmain")):
    fn = tf.function(lambda r, i: trainer.iteration(r, None, tf.constant(0.0), tf.constant(0.9), i, phases=phases),
                     autograph=False)
    return {k: float(v) for k, v in fn(reals, tf.constant(step, tf.int64)).items()}


def test_w_avg_and_magnitude_emas_move_only_in_the_d_pass_over_fakes():
    """After one iteration from w_avg = 0, magnitude EMAs = 1: the values of exactly one update with
    the D pass's latents through the updated G (the G step ran first; D's step does not change G)."""
    t = Trainer(TINY, seed=4)
    t.build_optimizers()
    batch, net = 4, TINY.network
    reals = tf.random.stateless_uniform([batch, 16, 16, 3], [0, 1], -1.0, 1.0)
    stats = _iterate(t, reals, 3)
    assert all(np.isfinite(v) for v in stats.values()), stats

    w, _ = t.context(reals, step=3).fake_w("Dmain", batch, None)
    w_mean = tf.reduce_mean(w[:, 0], axis=0).numpy()
    np.testing.assert_allclose(t.G.w_avg.numpy(), (1 - net.w_avg_beta) * w_mean, rtol=1e-4, atol=1e-7)
    x = t.G.synthesis_network.input_layer(w[:, 0])
    magnitude = float(tf.reduce_mean(tf.square(x)))
    first = t.G.synthesis_network.layers_[0].magnitude_ema
    beta = net.magnitude_ema_beta
    np.testing.assert_allclose(float(first), magnitude + (1.0 - magnitude) * beta, rtol=1e-5)
    # Gs copies the EMAs (official G_ema copies buffers).
    np.testing.assert_array_equal(t.Gs.synthesis_network.layers_[0].magnitude_ema.numpy(), first.numpy())
    np.testing.assert_array_equal(t.Gs.w_avg.numpy(), t.G.w_avg.numpy())


def test_the_discriminator_sees_blurred_images_while_sigma_is_positive():
    config = TINY.replace(loss__blur_init_sigma=2.0, loss__blur_fade_kimg=0.008)   # fades over 2 steps of 4
    t = Trainer(config, seed=0)
    images = tf.random.stateless_uniform([4, 16, 16, 3], [2, 3], -1.0, 1.0)
    seen = lambda step: t.context(images, step=step).D("Dmain")(images).numpy()   # noqa: E731
    np.testing.assert_allclose(seen(0), t.D(blur_images(images, tf.constant(2.0), 2.0)).numpy().ravel(), atol=1e-5)
    np.testing.assert_allclose(seen(1), t.D(blur_images(images, tf.constant(1.0), 2.0)).numpy().ravel(), atol=1e-5)
    np.testing.assert_allclose(seen(2), t.D(images).numpy().ravel(), atol=1e-6)
    assert not np.allclose(seen(0), seen(2), atol=1e-4)


def test_presets_follow_the_official_settings():
    t, r = presets.get("stylegan3-t"), presets.get("stylegan3-r")
    for c in (t, r):
        assert c.network.family == "stylegan3" and c.network.resolution == 1024
        assert (c.loss.r1_gamma, c.loss.r1_interval, c.loss.pl_weight) == (32.8, 16, 0.0)
        assert (c.schedule.g_lrate_base, c.schedule.d_lrate_base, c.schedule.minibatch_base) == (0.0025, 0.002, 32)
        assert c.training.g_ema_kimg == 10.0 and c.training.g_ema_rampup == 0.05
        assert c.network.magnitude_ema_beta == pytest.approx(0.5 ** (32 / 20000))
        assert c.network.style_mixing_prob == 0.0 and c.augment.mode == "ada"
    assert (t.network.cfg, t.loss.blur_init_sigma) == ("t", 0.0)
    assert (r.network.cfg, r.loss.blur_init_sigma, r.loss.blur_fade_kimg) == ("r", 10.0, 200.0)
    assert presets.get("stylegan3-small").network.resolution == 32


def test_batch_changes_the_settings_official_train_py_derives_from_it():
    from stylegan_tf.train import config_from_args, parse_args

    config, _ = config_from_args(parse_args(["--config", "stylegan3-r", "--batch", "64"]))
    assert config.schedule.minibatch_base == 64
    assert config.training.g_ema_kimg == 20.0 and config.loss.blur_fade_kimg == 400.0
    assert config.network.magnitude_ema_beta == pytest.approx(0.5 ** (64 / 20000))
    config, _ = config_from_args(parse_args(["--config", "stylegan2-small", "--batch", "8"]))
    assert config.schedule.minibatch_base == 8 and config.training.g_ema_kimg == 1.0   # no rule: batch only


def test_a_run_through_the_loop_exports_and_resumes_exactly(tmp_path):
    """4 iterations with the blur fading; resuming from the checkpoint at iteration 2 ends with the
    same variables, bit for bit; the .keras export holds the EMAs. (R1 in every step: one trace per
    run; resuming mid-way in the lazy cycles is the StyleGAN2 loop's test.)"""
    import keras

    from stylegan_tf.data.synthetic import build_synthetic_dataset
    from stylegan_tf.data.dataset import open_dataset
    from stylegan_tf.training import loop
    from stylegan_tf.training.options import RunOptions

    data = tmp_path / "faces16"
    build_synthetic_dataset(data, resolution=16, num_images=32, seed=0)
    config = TINY.replace(loss__blur_init_sigma=1.0, loss__blur_fade_kimg=0.012, loss__r1_interval=1,
                          schedule__total_kimg=0.016, schedule__tick_kimg_base=0.008).validate()
    options = RunOptions(seed=2, snapshot_kimg=0.008, export_savedmodel=False, keep_checkpoints=5, grid_size=(2, 1))
    run_a = tmp_path / "a"
    loop.write_options(run_a, config, options)
    loop.run(config, options, run_a, open_dataset(data))
    checkpoints = sorted((run_a / "checkpoints").glob("ckpt-*"))
    assert len(checkpoints) == 2

    run_b = tmp_path / "b"
    shutil.copytree(run_a, run_b)
    shutil.rmtree(run_b / "checkpoints" / checkpoints[-1].name)
    import dataclasses
    loop.run(config, dataclasses.replace(options, resume=str(run_b)), run_b, open_dataset(data))
    with np.load(checkpoints[-1] / "variables.npz") as a, \
            np.load(run_b / "checkpoints" / checkpoints[-1].name / "variables.npz") as b:
        assert sorted(a.files) == sorted(b.files)
        for key in a.files:
            np.testing.assert_array_equal(a[key], b[key], err_msg=key)

    (export,) = sorted(run_a.glob("network-snapshot-*.keras"))[-1:]
    G = keras.models.load_model(export)
    z = np.random.default_rng(0).standard_normal((2, TINY.network.latent_size)).astype(np.float32)
    assert G.family == "stylegan3" and G(z).shape == (2, 16, 16, 3)
    assert float(G.synthesis_network.layers_[0].magnitude_ema.numpy()) != 1.0   # the EMAs trained and travel


def test_finetuning_a_stylegan3_pickle_starts_from_its_networks_without_the_ramps(tmp_path):
    """`--resume-from x.pkl` (official --resume): the trainer starts from the pickle's G/D/Gs, with no blur
    ramp and no EMA ramp-up (the step itself is the one tested above)."""
    from stylegan_tf.data.dataset import open_dataset
    from stylegan_tf.data.synthetic import build_synthetic_dataset
    from stylegan_tf.official import load_pickle
    from stylegan_tf.official.finetune import copy_networks, finetune_config
    from tests import official_pickles as op

    op.write_tiny_sg3_pickle(tmp_path / "sg3.pkl")
    nets = load_pickle(tmp_path / "sg3.pkl")
    build_synthetic_dataset(tmp_path / "faces16", resolution=16, num_images=8, seed=0)
    base = TINY.replace(loss__blur_init_sigma=10.0, loss__blur_fade_kimg=10.0)
    config = finetune_config(base, nets, open_dataset(tmp_path / "faces16"))
    assert config.loss.blur_init_sigma == 0.0 and config.training.g_ema_rampup is None
    assert config.network == nets.config
    t = Trainer(config, seed=0)
    t.build_optimizers()
    copy_networks(t, nets)
    z = np.random.default_rng(1).standard_normal((2, 16)).astype(np.float32)
    np.testing.assert_array_equal(np.asarray(t.Gs(z)), np.asarray(nets.Gs(z)))
    np.testing.assert_array_equal(np.asarray(t.D(t.Gs(z))), np.asarray(nets.D(nets.Gs(z))))
