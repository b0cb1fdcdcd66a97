"""The StyleGAN3 training iteration: the StyleGAN2 phases with StyleGAN3's two differences.

Official `training/loss.py` of the StyleGAN3 code (`StyleGAN2Loss` with SG3 settings):

- **EMAs in the D pass only.** G's tracked `w_avg` and the synthesis layers' magnitude EMAs
  are updated only in the discriminator's pass over fakes (`run_G(..., update_emas=True)` in
  `Dgen`); the G step and the path-length pass leave them alone (StyleGAN2 updates `w_avg`
  in every training forward of the mapping).
- **Blurred D inputs** (config R: `blur_init_sigma` 10, `blur_fade_kimg` batch * 200 / 32).
  Every image D sees (G step, D step, R1 reals) is first blurred with the normalised
  separable filter 2^(-(x / sigma)^2), x in [-floor(3 sigma), floor(3 sigma)] (zero
  padding, same size), then augmented (ADA); sigma = max(1 - nimg / (blur_fade_kimg *
  1000), 0) * blur_init_sigma, nimg = the images shown before the iteration (the step
  index times the constant minibatch). Fine-tuning from a pickle turns it off, as the
  official `--resume` does (`StyleGAN3LossConfig.for_finetuning`).

Everything else (phases, lazy R1, the Gs EMA with ramp-up, ADA, exact resume) is StyleGAN2's.
The SG3 presets switch path-length regularisation and style mixing off.

Deviation: under several replicas each magnitude EMA is one variable updated from the mean
over replicas (a Keras weight with aggregation "mean"), like `w_avg`; the official code
keeps one per GPU, fed by that GPU's samples, and saves rank 0's.
"""

from __future__ import annotations

import math

import tensorflow as tf

from stylegan_tf.training.stylegan2_loss import StyleGAN2Loss


def blur_sigma(nimg, init_sigma: float, fade_kimg: float):
    """The D-input blur's sigma after `nimg` images (a tensor or a number): a linear fade to 0."""
    if init_sigma <= 0 or fade_kimg <= 0:
        return tf.zeros([], tf.float32)
    fade = 1.0 - tf.cast(nimg, tf.float32) / (fade_kimg * 1000.0)
    return tf.maximum(fade, 0.0) * init_sigma


def blur_filter(sigma, max_sigma: float):
    """The normalised taps [2 floor(3 max_sigma) + 1] of the blur of width `sigma` <= max_sigma:
    2^(-(x / sigma)^2) for |x| <= floor(3 sigma), zero outside (so the same filtering as the
    official filter of 2 floor(3 sigma) + 1 taps); a unit impulse when floor(3 sigma) = 0."""
    half = int(math.floor(3 * max_sigma))
    x = tf.range(-half, half + 1, dtype=tf.float32)
    size = tf.floor(sigma * 3.0)
    safe = tf.maximum(sigma, 1e-8)
    taps = tf.where(tf.abs(x) <= size, tf.pow(2.0, -tf.square(x / safe)), 0.0)
    impulse = tf.cast(tf.equal(x, 0.0), tf.float32)
    taps = tf.where(size > 0, taps, impulse)
    return taps / tf.reduce_sum(taps)


def blur_images(images, sigma, max_sigma: float):
    """images [N, H, W, C] blurred separably with `blur_filter(sigma, max_sigma)`, zero padding."""
    half = int(math.floor(3 * max_sigma))
    if half == 0:
        return images
    channels = int(images.shape[-1])
    taps = tf.cast(blur_filter(sigma, max_sigma), images.dtype)
    x = tf.pad(images, [[0, 0], [half, half], [half, half], [0, 0]])
    row = tf.tile(tf.reshape(taps, [1, -1, 1, 1]), [1, 1, channels, 1])
    col = tf.tile(tf.reshape(taps, [-1, 1, 1, 1]), [1, 1, channels, 1])
    x = tf.nn.depthwise_conv2d(x, row, strides=[1, 1, 1, 1], padding="VALID")
    return tf.nn.depthwise_conv2d(x, col, strides=[1, 1, 1, 1], padding="VALID")


class StyleGAN3Loss(StyleGAN2Loss):
    """StyleGAN2's phases; EMAs in Dmain only; config R's blur of D's inputs."""

    ema_phases = frozenset({"Dmain"})
    synthesis_updates_emas = True

    def synthesize(self, G, w, noise, resolution, update_emas):
        return G.synthesis(w, update_emas=update_emas)

    def run_D(self, it, phase, images, labels):
        """D behind the blur (while sigma > 0, config R) and the ADA augmentation."""
        loss = self.config.loss
        if loss.blur_init_sigma > 0 and loss.blur_fade_kimg > 0:
            sigma = blur_sigma(tf.cast(it.step, tf.int64) * it.global_batch, loss.blur_init_sigma,
                               loss.blur_fade_kimg)
            images = tf.cond(sigma * 3.0 >= 1.0, lambda: blur_images(images, sigma, loss.blur_init_sigma),
                             lambda: tf.identity(images))
        return super().run_D(it, phase, images, labels)
