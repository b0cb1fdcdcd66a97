"""ADA in the training step: augmented D inputs, the p heuristic, checkpoints, exact resume, mirrored."""

import argparse

import numpy as np
import pytest
import tensorflow as tf

from stylegan_tf import presets
from stylegan_tf.augment.adaptive import ada_adjust
from stylegan_tf.errors import UserError
from stylegan_tf.training import checkpoint as ckpt
from stylegan_tf.training.trainer import Trainer
from tests import mirrored

TINY = presets.get("tiny")


def _trainer(config, seed=1):
    trainer = Trainer(config, seed=seed)
    trainer.build_optimizers()
    trainer.set_lod(1.0)
    return trainer


def _stepper(trainer):
    @tf.function(autograph=False)
    def step(reals, i):
        return trainer.iteration(reals, None, tf.constant(1.0), tf.constant(0.9), i, phases=("D", "G"))

    return lambda reals, i: {k: float(v) for k, v in step(reals, tf.constant(i, tf.int64)).items()}


def _reals(i):
    return tf.random.stateless_uniform([8, 8, 8, 3], [i, 5], -1.0, 1.0)


def _ada(**fields):
    return TINY.replace(**{f"augment__{k}": v for k, v in {"mode": "ada", **fields}.items()}).validate()


def test_noaug_leaves_d_untouched():
    trainer = _trainer(TINY)
    images = _reals(0)
    it = trainer.context(images)
    assert trainer.augment_pipe is None and it.augment(images, "D") is images
    stats = _stepper(trainer)(_reals(0), 0)
    assert stats["augment/p"] == 0.0 and stats["augment/signs_real"] in (-1.0, -0.75, -0.5, -0.25, 0.0, 0.25, 0.5,
                                                                         0.75, 1.0)


def test_ada_moves_p_by_the_official_step_from_the_real_signs():
    trainer = _trainer(_ada(p=0.5, interval=2, kimg=1.0))
    step = _stepper(trainer)
    p, signs = 0.5, []
    for i in range(6):
        stats = step(_reals(i), i)
        signs.append(stats["augment/signs_real"])
        if (i + 1) % 2 == 0:
            r_t = float(np.mean(signs[-2:]))
            p = ada_adjust(p, r_t, 0.6, 8, 2, 1.0)
            assert stats["augment/rt"] == pytest.approx(r_t, abs=1e-6)
        assert stats["augment/p"] == pytest.approx(p, abs=1e-6), (i, stats)
        assert np.isfinite(stats["loss/D"]) and np.isfinite(stats["loss/G"])
    assert p != 0.5


def test_augmented_d_sees_augmented_images():
    trainer = _trainer(TINY.replace(augment__mode="fixed", augment__p=1.0).validate())
    images = _reals(1)
    step = tf.constant(0, tf.int64)
    # The k-th D call of a phase draws `<phase>/aug<k>`: the same images, the same step, the same
    # call index give the same augmentation; the next call of the phase another one.
    first = trainer.context(images, step=step)
    seen = first.augment(images, "D")
    assert np.abs(seen.numpy() - images.numpy()).max() > 0.1
    np.testing.assert_array_equal(trainer.context(images, step=step).augment(images, "D").numpy(), seen.numpy())
    assert np.abs(first.augment(images, "D").numpy() - seen.numpy()).max() > 0.1
    assert np.abs(trainer.context(images, step=step).augment(images, "G").numpy() - seen.numpy()).max() > 0.1
    # What D scores in a phase is D of the augmented images.
    np.testing.assert_allclose(trainer.context(images, step=step).D("D")(images).numpy(),
                               np.reshape(trainer.D(seen).numpy(), [-1]), rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_checkpoint_holds_p_and_resume_is_exact(tmp_path):
    config = _ada(p=0.3, interval=3, kimg=1.0)
    a = _trainer(config)
    step_a = _stepper(a)
    for i in range(2):
        step_a(_reals(i), i)
    assert a.augment_state.signs.numpy()[1] == 16  # two minibatches accumulated, mid-interval
    ckpt.save_checkpoint(a, tmp_path / "a", {"cur_nimg": 16, "step": 2})
    signs = a.augment_state.signs.numpy().copy()
    step_a(_reals(2), 2)   # the uninterrupted run's third step
    c = _trainer(_ada(p=0.0, interval=3, kimg=1.0), seed=1)  # p comes from the checkpoint, not the config
    ckpt.load_checkpoint(c, ckpt.list_checkpoints(tmp_path / "a")[-1])
    np.testing.assert_array_equal(c.augment_state.signs.numpy(), signs)
    assert float(c.augment_state.p) == pytest.approx(0.3)
    _stepper(c)(_reals(2), 2)
    assert float(a.augment_state.p) != pytest.approx(0.3)  # moved at the third step
    for x, y in zip(a.augment_state.weights + a.G.weights + a.D.weights,
                    c.augment_state.weights + c.G.weights + c.D.weights):
        np.testing.assert_array_equal(x.numpy(), y.numpy())


def test_checkpoint_without_the_augment_group_still_loads(tmp_path):
    import json

    trainer = _trainer(TINY)
    path = ckpt.save_checkpoint(trainer, tmp_path, {"cur_nimg": 0, "step": 0})
    meta = json.loads((path / "meta.json").read_text())
    del meta["layout"]["augment"]
    meta.pop("checksum", None)     # as written before checkpoints carried checksums (format 1)
    meta["format"] = 1
    (path / "meta.json").write_text(json.dumps(meta))
    other = _trainer(_ada(p=0.2))
    ckpt.load_checkpoint(other, path)
    assert float(other.augment_state.p) == pytest.approx(0.2)


def _args(*argv):
    from stylegan_tf.train import parse_args

    return parse_args(["--config", "tiny", *argv])


def test_command_line_options():
    from stylegan_tf.train import config_from_args

    config, _ = config_from_args(_args("--aug", "ada", "--p", "0.1", "--target", "0.7", "--augpipe", "bg",
                                       "--ada-kimg", "100"), dataset_resolution=8)
    assert (config.augment.mode, config.augment.p, config.augment.target, config.augment.pipe,
            config.augment.kimg) == ("ada", 0.1, 0.7, "bg", 100.0)
    config, _ = config_from_args(_args("--aug", "fixed", "--p", "0.4"), dataset_resolution=8)
    assert (config.augment.mode, config.augment.p) == ("fixed", 0.4)
    assert config_from_args(_args(), dataset_resolution=8)[0].augment.mode == "noaug"
    for argv, match in ((("--p", "0.3"), "--p"), (("--aug", "fixed", "--p", "0.2", "--target", "0.5"), "--target"),
                        (("--aug", "fixed"), "needs --p"),
                        (("--aug", "ada", "--augpipe", "bgcf"), "not implemented"),
                        (("--aug", "ada", "--augpipe", "xyz"), "Unknown augmentation pipeline"),
                        (("--aug", "ada", "--p", "1.5"), "augment.p")):
        with pytest.raises(UserError, match=match):
            config_from_args(_args(*argv), dataset_resolution=8)
    with pytest.raises(SystemExit):
        _args("--aug", "sometimes")
    assert isinstance(_args("--aug", "ada"), argparse.Namespace)


@pytest.mark.slow
def test_mirrored_ada_step_equals_single_device_step(two_cpus):
    result = two_cpus.run("""
        from stylegan_tf import presets
        from stylegan_tf.training.trainer import Trainer
        cfg = presets.get("tiny").replace(optimizer__epsilon=1.0, schedule__g_lrate_base=0.5,
                                          schedule__d_lrate_base=0.5, augment__mode="ada", augment__p=0.6,
                                          augment__interval=2, augment__kimg=1.0)
        single, mirror = make_pair(Trainer, cfg, lod=1.0)
        calls = [((tf.random.stateless_uniform([8, 8, 8, 3], [1, i], -1, 1), None, tf.constant(1.0),
                   tf.constant(0.9), tf.constant(i, tf.int64)), {"phases": ("D", "G")}) for i in range(2)]
        result = compare_steps(single, mirror, "iteration", calls, ("loss/D", "loss/G", "loss/r1_penalty",
                                                                      "augment/signs_real", "augment/p", "augment/rt"))
        result["p"] = [float(single.augment_state.p.numpy()), float(mirror.augment_state.p.numpy())]
        result["count"] = float(mirror.augment_state.signs.numpy()[1])
    """)
    assert len(result["stats"]) == 2 and all(len(step) == 6 for step in result["stats"])
    mirrored.assert_same_stats(result, rel=1e-4, abs=1e-5)
    one, two = result["p"]
    assert one == two != 0.6  # p moved once, identically
    assert result["count"] == 0.0  # accumulator cleared after the interval
