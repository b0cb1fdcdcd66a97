"""Adaptive augmentation probability (ADA paper Sec. 3, official `training_loop.py`).

The overfitting heuristic r_t = E[sign(D(reals))] is accumulated over `interval` minibatches;
then p <- max(p + sign(r_t - target) * batch * interval / (kimg * 1000), 0): p can go from 0
to 1 in `kimg` thousand images. As in the official code p is clamped at 0 only (values above
1 make every transform fire; the rotations' probability saturates at 1).

Unlike the official code, which starts every run (resumed ones too) at p = 0, p, the
accumulator and the last r_t are Keras non-trainable weights of `AugmentState`, saved in
training checkpoints: a resumed run continues with its p.
"""

from __future__ import annotations

import math

import keras
import tensorflow as tf

from stylegan_tf.config import AUGMENT_MODES, AugmentConfig
from stylegan_tf.errors import UserError
from stylegan_tf.networks.layers import register


def ada_adjust(p: float, r_t: float, target: float, batch: int, interval: int, kimg: float) -> float:
    """One official adjustment of p (reference formula)."""
    sign = (r_t > target) - (r_t < target)
    return max(p + sign * batch * interval / (kimg * 1000.0), 0.0)


@register
class AugmentState(keras.layers.Layer):
    """The augmentation probability p and the heuristic's statistics, as non-trainable weights.

    Args:
        mode: "noaug" (p is 0), "ada" (p adapts) or "fixed" (p stays at `p`).
        p: float. Initial (ada) or constant (fixed) probability.
        target: float. Target of r_t.
        interval: int. Minibatches between adjustments.
        kimg: float. Thousands of images for p to move by 1.

    Weights: `p` (scalar), `signs` ([2]: sum of sign(D(real)) and number of reals since the
    last adjustment), `rt` (the r_t of the last adjustment).
    """

    def __init__(self, mode: str = "noaug", p: float = 0.0, target: float = 0.6, interval: int = 4,
                 kimg: float = 500.0, **kwargs):
        super().__init__(**kwargs)
        if mode not in AUGMENT_MODES:
            raise UserError(f"Unknown augmentation mode. Received: mode={mode!r}; valid: {AUGMENT_MODES}")
        if not (isinstance(interval, int) and interval >= 1):
            raise UserError(f"The ADA interval must be a positive integer. Received: interval={interval!r}")
        if not (kimg > 0 and math.isfinite(kimg)):
            raise UserError(f"The ADA kimg must be positive. Received: kimg={kimg!r}")
        self.mode, self.initial_p, self.target = mode, float(p), float(target)
        self.interval, self.kimg = int(interval), float(kimg)

    @classmethod
    def from_augment_config(cls, config: AugmentConfig, **kwargs) -> "AugmentState":
        return cls(mode=config.mode, p=config.p, target=config.target, interval=config.interval,
                   kimg=config.kimg, **kwargs)

    def build(self, input_shape=None):
        zeros = keras.initializers.Zeros()
        self.p = self.add_weight(shape=(), initializer=keras.initializers.Constant(self.initial_p),
                                 trainable=False, dtype="float32", name="p")
        self.signs = self.add_weight(shape=(2,), initializer=zeros, trainable=False, dtype="float32",
                                     name="signs")
        self.rt = self.add_weight(shape=(), initializer=zeros, trainable=False, dtype="float32", name="rt")
        self.built = True

    def get_config(self):
        return {**super().get_config(), "mode": self.mode, "p": self.initial_p, "target": self.target,
                "interval": self.interval, "kimg": self.kimg}

    def current_p(self):
        """The probability the pipeline uses this step: the variable (ada), the constant (fixed), 0."""
        if self.mode == "ada":
            return tf.convert_to_tensor(self.p)
        return tf.constant(self.initial_p if self.mode == "fixed" else 0.0, tf.float32)

    def update(self, sign_sum, count, step, batch: int):
        """Adds a minibatch's sum of sign(D(real)) and count; after every `interval`-th minibatch
        (step + 1 a multiple of it, as the official `batch_idx % ada_interval == 0` after the
        increment) sets r_t, moves p (ada only) and clears the accumulator. Run it once per step
        in cross-replica context, with statistics summed over replicas."""
        self.signs.assign_add(tf.stack([tf.cast(sign_sum, tf.float32), tf.cast(count, tf.float32)]))
        due = tf.equal((tf.cast(step, tf.int64) + 1) % self.interval, 0)
        signs = tf.convert_to_tensor(self.signs)
        r_t = signs[0] / tf.maximum(signs[1], 1.0)
        if self.mode == "ada":
            adjust = tf.sign(r_t - self.target) * (batch * self.interval / (self.kimg * 1000.0))
            self.p.assign(tf.where(due, tf.maximum(self.p + adjust, 0.0), self.p))
        self.rt.assign(tf.where(due, r_t, self.rt))
        self.signs.assign(tf.where(due, tf.zeros_like(signs), signs))
