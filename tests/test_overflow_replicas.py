"""A non-finite gradient on any replica skips the step on every replica and lowers the loss scale
(`training.loss_scale.SyncedLossScaleOptimizer`), for v1 and StyleGAN2, in the training loop's
step and in Keras `fit()`. Keras' own LossScaleOptimizer takes the flag from replica 0 only: an
overflow on replica 1 turned D into NaN and left the scale unchanged."""

import pytest

CHECK = """
import numpy as np
from stylegan_tf import presets
from stylegan_tf.training.trainer import Trainer

def check(preset, path, precision):
    policy = {"off": "float32", "fp16": "mixed_float16"}[precision]
    keras.mixed_precision.set_global_policy(policy)
    try:
        cfg = presets.get(preset)
        if preset != "tiny":   # 8x8: fewer layers to trace
            cfg = cfg.replace(network__resolution=8)
        with TWO.scope():
            t = Trainer(cfg, seed=0, mixed_precision=precision)
            t.build_optimizers()
            if path == "fit":
                t.compile()
        res = 4 if preset == "tiny" else 8
        lod = 2.0 if preset == "tiny" else 0.0
        if preset == "tiny":
            t.set_lod(lod)
        phases = t.step_phases(1)   # StyleGAN2: Gmain, Dmain (the lazy phases are the same code)
        t.iteration_counter.assign(1)   # fit() runs the phases of its counter's iteration
        start = [v.numpy().copy() for v in t.D.weights + t.G.weights + t.d_opt.variables + t.g_opt.variables]
        variables = t.D.weights + t.G.weights + t.d_opt.variables + t.g_opt.variables
        out = {}
        for replica in (0, 1):
            for v, value in zip(variables, start):
                v.assign(value)
            reals = np.random.RandomState(0).uniform(-1, 1, (8, res, res, 3)).astype(np.float32)
            # The loop's step gives replica r rows r, r + 2, ...; fit() splits the batch in halves.
            reals[replica if path == "loop" else 4 * replica, 0, 0, 0] = np.inf
            scale_d = float(t.d_opt.dynamic_scale.numpy())
            if path == "loop":
                step = replicated(TWO, lambda x, i: t.iteration(x, None, tf.constant(lod), tf.constant(0.9), i,
                                                                phases=phases))
                stats = {k: float(v) for k, v in step(tf.constant(reals), tf.constant(0, tf.int64)).items()}
            else:
                data = tf.data.Dataset.from_tensor_slices(reals).batch(8, drop_remainder=True)
                hist = t.fit(data, epochs=1, verbose=0).history
                stats = {k: float(v[-1]) for k, v in hist.items()}
            d_after = [v.numpy() for v in t.D.weights]
            g_after = [v.numpy() for v in t.G.trainable_weights]
            n_d = len(t.D.weights)
            out[replica] = dict(
                nonfinite_D=stats["nonfinite/D"], nonfinite_G=stats["nonfinite/G"],
                d_unchanged=all(np.array_equal(a, b) for a, b in zip(d_after, start[:n_d])),
                d_finite=all(np.all(np.isfinite(a)) for a in d_after),
                g_finite=all(np.all(np.isfinite(a)) for a in g_after),
                g_changed=any(not np.array_equal(a.numpy(), b) for a, b in
                              zip(t.G.trainable_weights, [start[n_d + i] for i, w in enumerate(t.G.weights)
                                                          if w.trainable])),
                scale_before=scale_d, scale_after=float(t.d_opt.dynamic_scale.numpy()),
                d_iterations=int(t.d_opt.iterations.numpy()),
                d_phases=sum(1 for phase in phases if phase.startswith("D")))
        return out
    finally:
        keras.mixed_precision.set_global_policy("float32")
"""


@pytest.mark.parametrize("preset,path,precision", [("tiny", "loop", "off"), ("stylegan2-tiny", "loop", "fp16"),
                                                    ("tiny", "fit", "fp16"), ("stylegan2-tiny", "fit", "off")])
def test_an_overflow_on_any_replica_skips_the_step_everywhere(two_cpus, preset, path, precision):
    result = two_cpus.run(CHECK + f"\nresult = check({preset!r}, {path!r}, {precision!r})")
    for replica in ("0", "1"):
        r = result[replica]
        assert r["nonfinite_D"] == 1.0 and r["d_unchanged"] and r["d_finite"], (replica, r)
        assert r["d_iterations"] == 0, (replica, r)          # Adam did not step D
        assert r["g_finite"], (replica, r)
        # G's phases do not see the reals: they step (in float16 one may overflow by itself at the
        # initial scale of 2^15, and is then skipped too).
        assert r["g_changed"] and (r["nonfinite_G"] == 0.0 or precision == "fp16"), (replica, r)
        if precision == "fp16":
            # The scale halves at each skipped D phase (StyleGAN2 step 0: Dmain and Dreg).
            assert r["scale_after"] == r["scale_before"] / 2 ** r["d_phases"], (replica, r)
        else:
            assert r["scale_after"] == r["scale_before"] == 1.0, (replica, r)
