"""The official GAN losses (NVlabs/stylegan `training/loss.py`), per sample, in float32.

- `g_logistic_ns`: non-saturating logistic, softplus(-D(G(z))).
- `d_logistic_r1`: softplus(D(fake)) + softplus(-D(real)) + (gamma / 2) * ||dD(real)/dreal||^2 (R1,
  Mescheder et al. 2018), the FFHQ loss.
- `g_wgan`, `d_wgan_gp`: WGAN-GP with the drift term (ProGAN's CelebA-HQ loss).
- `r1_penalty`: ||dD(real)/dreal||^2 alone, for StyleGAN2's lazy R1 (its own minibatch phase).
- `pl_lengths`, `pl_penalty`: StyleGAN2's path-length regularisation (Karras et al. 2020, sec. 3.2).

Each returns a per-sample loss [N] and a dict of per-sample statistics; the training
step averages over the global batch (`tf.nn.compute_average_loss`), so the result is
the same on one device or many. The gradient penalties take the gradient with respect
to the discriminator's input; under float16 the inner gradient is computed on a
scaled sum and unscaled in float32 (`loss_scale`), as the official
`apply_loss_scaling`/`undo_loss_scaling` do.
"""

from __future__ import annotations

import tensorflow as tf

def _scores(D, images, labels):
    return tf.cast(tf.reshape(D(images, labels), [-1]), tf.float32)


def _input_gradient(D, images, labels, loss_scale):
    """Gradient of sum(D(images)) with respect to the images, [N, H, W, C] float32."""
    with tf.GradientTape() as tape:
        tape.watch(images)
        scores = _scores(D, images, labels)
        scaled = tf.reduce_sum(scores) * tf.cast(loss_scale, tf.float32)
    grads = tf.cast(tape.gradient(scaled, images), tf.float32) / tf.cast(loss_scale, tf.float32)
    return scores, grads


def g_logistic_ns(D, fakes, labels=None):
    """softplus(-D(fake)): -log(sigmoid(D(fake)))."""
    fake_scores = _scores(D, fakes, labels)
    return tf.nn.softplus(-fake_scores), {"fake_scores": fake_scores}


def d_logistic_r1(D, reals, fakes, labels=None, r1_gamma=10.0, loss_scale=1.0, fake_labels=None):
    """softplus(D(fake)) + softplus(-D(real)) + r1_gamma / 2 * ||grad_real D(real)||^2 (`fake_labels`:
    the fakes' labels, default the reals')."""
    if r1_gamma:
        real_scores, grads = _input_gradient(D, reals, labels, loss_scale)
        r1 = tf.reduce_sum(tf.square(grads), axis=[1, 2, 3])
    else:
        real_scores, r1 = _scores(D, reals, labels), tf.zeros([tf.shape(reals)[0]])
    fake_scores = _scores(D, fakes, labels if fake_labels is None else fake_labels)
    loss = tf.nn.softplus(fake_scores) + tf.nn.softplus(-real_scores) + r1 * (r1_gamma * 0.5)
    return loss, {"real_scores": real_scores, "fake_scores": fake_scores, "r1_penalty": r1}


def g_wgan(D, fakes, labels=None):
    """-D(fake)."""
    fake_scores = _scores(D, fakes, labels)
    return -fake_scores, {"fake_scores": fake_scores}


def d_wgan_gp(D, reals, fakes, labels=None, mixing_factors=None, wgan_lambda=10.0, wgan_epsilon=0.001,
              wgan_target=1.0, loss_scale=1.0):
    """D(fake) - D(real) + lambda / target^2 * (||grad D(mix)|| - target)^2 + epsilon * D(real)^2.

    `mixing_factors` [N, 1, 1, 1] in [0, 1] place the penalty points on lines between
    reals and fakes; drawn by the caller so the step stays reproducible.
    """
    real_scores = _scores(D, reals, labels)
    fake_scores = _scores(D, fakes, labels)
    mixed = reals + (tf.cast(fakes, reals.dtype) - reals) * tf.cast(mixing_factors, reals.dtype)
    _, grads = _input_gradient(D, mixed, labels, loss_scale)
    norms = tf.sqrt(tf.reduce_sum(tf.square(grads), axis=[1, 2, 3]))
    penalty = tf.square(norms - wgan_target)
    loss = fake_scores - real_scores + penalty * (wgan_lambda / wgan_target**2) + tf.square(real_scores) * wgan_epsilon
    return loss, {"real_scores": real_scores, "fake_scores": fake_scores, "gradient_penalty": penalty}


def r1_penalty(D, reals, labels=None, loss_scale=1.0):
    """Per sample ||grad_real D(real)||^2 [N] and the real scores [N] (TF `D_logistic_r1` / ADA `Dr1`)."""
    real_scores, grads = _input_gradient(D, reals, labels, loss_scale)
    return tf.reduce_sum(tf.square(grads), axis=[1, 2, 3]), real_scores


def pl_lengths(synthesize, w, noise, loss_scale=1.0):
    """Path lengths ||J_w^T y|| of a generator, per sample (StyleGAN2 sec. 3.2, ADA `Gpl`).

    Args:
        synthesize: function w -> images [N, H, W, C] (G's synthesis with fixed noise inputs).
        w: [N, num_ws, w_dim] styles (after mixing), differentiated against.
        noise: [N, H, W, C] N(0, 1) draws; y = noise / sqrt(H * W).
        loss_scale: float16 loss scale of the inner gradient (unscaled in float32).
    Returns:
        lengths [N] float32: sqrt(mean over the num_ws layers of sum over w_dim of g^2), g =
        d sum(images * y) / dw; and the images.
    """
    with tf.GradientTape() as tape:
        tape.watch(w)
        images = synthesize(w)
        shape = images.shape
        y = tf.cast(noise, tf.float32) / float(shape[1] * shape[2]) ** 0.5
        scaled = tf.reduce_sum(tf.cast(images, tf.float32) * y) * tf.cast(loss_scale, tf.float32)
    grads = tf.cast(tape.gradient(scaled, w), tf.float32) / tf.cast(loss_scale, tf.float32)
    return tf.sqrt(tf.reduce_mean(tf.reduce_sum(tf.square(grads), axis=2), axis=1)), images


def pl_penalty(lengths, pl_mean, mean_length, pl_decay=0.01):
    """(lengths - pl_mean')^2 with pl_mean' = lerp(pl_mean, mean_length, pl_decay); returns
    (penalty [N], pl_mean').

    `mean_length` is the mean of the lengths over the whole global batch (across replicas),
    given as a value (no gradient). The official code lets the gradient flow through
    pl_mean' as well (its mean over the batch, times pl_decay); the penalty here is written
    so that its value is the official one and its gradient, summed over replicas, is the
    official gradient too: (lengths - sg(pl_mean'))^2 - 2 pl_decay sg(mean_length - pl_mean')
    (lengths - sg(lengths)), averaged over the global batch.
    """
    lengths = tf.cast(lengths, tf.float32)
    mean_length = tf.stop_gradient(tf.cast(mean_length, tf.float32))
    new_mean = tf.cast(pl_mean, tf.float32) + (mean_length - tf.cast(pl_mean, tf.float32)) * pl_decay
    through_mean = 2.0 * pl_decay * (mean_length - new_mean) * (lengths - tf.stop_gradient(lengths))
    return tf.square(lengths - new_mean) - through_mean, new_mean
