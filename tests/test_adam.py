"""Adam in the TF form and the torch form against a numpy Adam of each (tests/official_training_reference.py)."""

import numpy as np
import pytest
import tensorflow as tf

from stylegan_tf import presets
from stylegan_tf.training.adam import TorchFormAdam, make_adam
from tests.official_training_reference import adam


@pytest.mark.parametrize("form", ["tf", "torch"])
def test_each_form_matches_its_numpy_reference(form):
    rng = np.random.default_rng(0)
    # Gradient scales as in training: the mapping network's ~1e-6 (lr multiplier 0.01) up to ~1.
    scales = np.array([1e-9, 1e-7, 1e-6, 1e-3, 1.0])[:, None]
    start = rng.standard_normal((5, 4))
    var = tf.Variable(start.astype(np.float32))
    opt = make_adam(form, 0.002, 0.0, 0.99, 1e-8, "adam")
    opt.build([var])
    param, m, v = start.astype(np.float32).astype(np.float64), np.zeros((5, 4)), np.zeros((5, 4))
    for t in range(1, 6):
        grad = (rng.standard_normal((5, 4)) * scales).astype(np.float32)
        opt.apply([tf.constant(grad)], [var])
        param, m, v = adam(form, param, grad, m, v, t, 0.002, 0.0, 0.99, 1e-8)
        np.testing.assert_allclose(var.numpy() - start, param - start, rtol=2e-3, atol=1e-9)


def test_the_forms_differ_where_sqrt_v_is_near_epsilon():
    grad = np.full([3], 1e-8, np.float32)
    steps = {}
    for form in ("tf", "torch"):
        var = tf.Variable(np.zeros(3, np.float32))
        opt = make_adam(form, 1.0, 0.0, 0.99, 1e-8, form)
        opt.build([var])
        opt.apply([tf.constant(grad)], [var])
        steps[form] = -float(var.numpy()[0])
    # sqrt(v) = sqrt(0.01) g = 1e-9. tf: sqrt(0.01) * g / (sqrt(v) + eps) = 0.1 / 1.1;
    # torch: g / (sqrt(v) / sqrt(0.01) + eps) = 1 / 2.
    assert steps["tf"] == pytest.approx(0.1 / 1.1, rel=1e-3) and steps["torch"] == pytest.approx(0.5, rel=1e-3)


def test_presets_use_the_form_of_the_code_they_reproduce():
    tf_form = ("ffhq", "celebahq", "small", "tiny", "stylegan2-ffhq")
    torch_form = ("paper256", "paper512", "paper1024", "auto", "stylegan3-t", "stylegan3-r", "stylegan2-small",
                  "stylegan2-tiny", "stylegan3-small", "stylegan3-tiny")
    assert {n: presets.get(n).optimizer.epsilon_form for n in tf_form} == dict.fromkeys(tf_form, "tf")
    assert {n: presets.get(n).optimizer.epsilon_form for n in torch_form} == dict.fromkeys(torch_form, "torch")


def test_the_trainer_builds_the_configured_form():
    from stylegan_tf.training.trainer import Trainer

    assert isinstance(Trainer(presets.get("stylegan2-tiny")).g_opt.inner_optimizer, TorchFormAdam)
    assert not isinstance(Trainer(presets.get("tiny")).d_opt.inner_optimizer, TorchFormAdam)
