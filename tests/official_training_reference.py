"""Independent references of the official training update, for the trainer's tests.

- `adam`: one Adam step in numpy, in the TF form (TensorFlow's `AdamOptimizer`, the official TF
  code) or the torch form (`torch.optim.Adam`, StyleGAN2-ADA and StyleGAN3), from their formulas.
- `stylegan2_iteration`: one StyleGAN2-ADA iteration (official `training_loop.py` phases Gmain,
  Greg, Dmain, Dreg, then G_ema; `loss.py` objectives written out here) on given draws, with plain
  gradient tapes over the networks' public forward functions; the optimizer and EMA arithmetic in
  numpy. Nothing of the trainer is used.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf


def adam(form, param, grad, m, v, t, lr, beta_1, beta_2, eps):
    """(param, m, v) after Adam step t (1-based) with float64 arithmetic."""
    param, grad, m, v = (np.asarray(x, np.float64) for x in (param, grad, m, v))
    m = beta_1 * m + (1 - beta_1) * grad
    v = beta_2 * v + (1 - beta_2) * grad**2
    c1, c2 = 1 - beta_1**t, 1 - beta_2**t
    if form == "tf":      # lr_t = lr sqrt(1 - b2^t) / (1 - b1^t); x -= lr_t m / (sqrt(v) + eps)
        param = param - lr * np.sqrt(c2) / c1 * m / (np.sqrt(v) + eps)
    else:                 # x -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
        param = param - lr / c1 * m / (np.sqrt(v) / np.sqrt(c2) + eps)
    return param, m, v


class _Adam:
    """Adam state of one network, in numpy; `step` applies one phase's gradients (None -> 0, as the
    official code makes every parameter's gradient exist)."""

    def __init__(self, variables, form, lr, beta_1, beta_2, eps):
        self.m = [np.zeros(v.shape) for v in variables]
        self.v = [np.zeros(v.shape) for v in variables]
        self.t, self.args = 0, (form, lr, beta_1, beta_2, eps)

    def step(self, variables, grads):
        self.t += 1
        form, lr, b1, b2, eps = self.args
        for i, (var, g) in enumerate(zip(variables, grads)):
            g = np.zeros(var.shape) if g is None else np.asarray(g, np.float64)
            p, self.m[i], self.v[i] = adam(form, var.numpy(), g, self.m[i], self.v[i], self.t, lr, b1, b2, eps)
            var.assign(p.astype(np.float32))


def _fake_w(G, draws, prefix, mixing_prob, batch_labels=None):
    w = G.mapping(tf.constant(draws[f"{prefix}/z"]), batch_labels)
    w_mean = np.mean(np.asarray(w[:, 0]), axis=0)
    if mixing_prob > 0:
        w = G.mix_at(w, G.mapping(tf.constant(draws[f"{prefix}/mix_z"]), batch_labels),
                     tf.constant(draws[f"{prefix}/crossover"]))
    return w, w_mean


def _noise(G, draws, prefix):
    return [tf.constant(draws[f"{prefix}/noise{i}"]) for i in range(len(G.noise_shapes()))]


def _softplus(x):
    return tf.nn.softplus(tf.cast(tf.reshape(x, [-1]), tf.float32))


def stylegan2_iteration(G, D, Gs, reals, draws, config, gs_beta):
    """Runs one official StyleGAN2 iteration with all four phases in place on G, D, Gs (float32 Keras
    networks holding the starting weights); returns the final pl_mean and the numpy Adam states."""
    loss, opt, net = config.loss, config.optimizer, config.network
    ratio = lambda interval: interval / (interval + 1)   # noqa: E731  (lazy regularisation, appendix B)
    cg, cd = ratio(loss.pl_interval), ratio(loss.r1_interval)
    g_opt = _Adam(G.trainable_variables, opt.epsilon_form, config.schedule.g_lrate_base * cg, opt.beta_1**cg,
                  opt.beta_2**cg, opt.epsilon)
    d_opt = _Adam(D.trainable_variables, opt.epsilon_form, config.schedule.d_lrate_base * cd, opt.beta_1**cd,
                  opt.beta_2**cd, opt.epsilon)
    beta_w = net.w_avg_beta

    def track(w_mean):
        G.w_avg.assign((w_mean + (G.w_avg.numpy() - w_mean) * beta_w).astype(np.float32))

    # Gmain: softplus(-D(G(z))).
    with tf.GradientTape() as tape:
        w, w_mean = _fake_w(G, draws, "Gmain", net.style_mixing_prob)
        fakes = G.synthesis(w, noise=_noise(G, draws, "Gmain"), training=True)
        objective = tf.reduce_mean(_softplus(-D(fakes)))
    g_opt.step(G.trainable_variables, tape.gradient(objective, G.trainable_variables))
    track(w_mean)

    # Greg: path length on minibatch // pl_batch_shrink samples; gradient through pl_mean too (official).
    noise = _noise(G, draws, "Greg")
    y = tf.constant(draws["Greg/pl_y"])
    with tf.GradientTape() as tape:
        w, w_mean = _fake_w(G, draws, "Greg", net.style_mixing_prob)
        with tf.GradientTape() as inner:
            inner.watch(w)
            images = G.synthesis(w, noise=noise, training=True)
            total = tf.reduce_sum(images * y / np.sqrt(float(images.shape[1] * images.shape[2])))
        g = inner.gradient(total, w)
        lengths = tf.sqrt(tf.reduce_mean(tf.reduce_sum(tf.square(g), axis=2), axis=1))
        pl_mean = 0.0 + (tf.reduce_mean(lengths) - 0.0) * loss.pl_decay
        objective = tf.reduce_mean(tf.square(lengths - pl_mean)) * loss.pl_weight * loss.pl_interval
    g_opt.step(G.trainable_variables, tape.gradient(objective, G.trainable_variables))
    track(w_mean)

    # Dmain: softplus(D(G(z))) + softplus(-D(x)).
    w, w_mean = _fake_w(G, draws, "Dmain", net.style_mixing_prob)
    fakes = G.synthesis(w, noise=_noise(G, draws, "Dmain"), training=True)
    track(w_mean)
    with tf.GradientTape() as tape:
        objective = tf.reduce_mean(_softplus(D(fakes)) + _softplus(-D(reals)))
    d_opt.step(D.trainable_variables, tape.gradient(objective, D.trainable_variables))

    # Dreg: gamma / 2 * ||dD(x)/dx||^2, times the interval.
    with tf.GradientTape() as tape:
        with tf.GradientTape() as inner:
            inner.watch(reals)
            scores = tf.reduce_sum(D(reals))
        r1 = tf.reduce_sum(tf.square(inner.gradient(scores, reals)), axis=[1, 2, 3])
        objective = tf.reduce_mean(r1) * (loss.r1_gamma / 2) * loss.r1_interval
    d_opt.step(D.trainable_variables, tape.gradient(objective, D.trainable_variables))

    # G_ema: lerp(G, Gs, beta) for parameters, buffers copied.
    for target, source in zip(Gs.trainable_variables, G.trainable_variables):
        target.assign(source.numpy() + (target.numpy() - source.numpy()) * gs_beta)
    Gs.w_avg.assign(G.w_avg.numpy())
    return float(pl_mean), g_opt, d_opt
