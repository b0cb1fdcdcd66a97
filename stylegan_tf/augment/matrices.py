"""Batched homogeneous matrices of the ADA augmentations (official `augment.py` helpers).

2-D: [N, 3, 3] acting on pixel coordinates (x right, y down, origin at the image centre).
3-D: [N, 4, 4] acting on (r, g, b, 1). Every argument is a float32 tensor [N] (or a Python
number broadcast to the batch of the first tensor argument).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf


def matrix(rows):
    """Stacks rows of [N] tensors / numbers into [N, R, C]."""
    ref = next(v for row in rows for v in row if isinstance(v, tf.Tensor))
    full = lambda v: v if isinstance(v, tf.Tensor) else tf.fill(tf.shape(ref), tf.constant(v, tf.float32))  # noqa: E731
    return tf.stack([tf.stack([full(v) for v in row], axis=-1) for row in rows], axis=-2)


def translate2d(tx, ty):
    return matrix([[1, 0, tx], [0, 1, ty], [0, 0, 1]])


def scale2d(sx, sy):
    return matrix([[sx, 0, 0], [0, sy, 0], [0, 0, 1]])


def rotate2d(theta):
    c, s = tf.cos(theta), tf.sin(theta)
    return matrix([[c, -s, 0], [s, c, 0], [0, 0, 1]])


def translate2d_inv(tx, ty):
    return translate2d(-tx, -ty)


def scale2d_inv(sx, sy):
    return scale2d(1.0 / sx, 1.0 / sy)


def rotate2d_inv(theta):
    return rotate2d(-theta)


def translate3d(tx, ty, tz):
    return matrix([[1, 0, 0, tx], [0, 1, 0, ty], [0, 0, 1, tz], [0, 0, 0, 1]])


def scale3d(sx, sy, sz):
    return matrix([[sx, 0, 0, 0], [0, sy, 0, 0], [0, 0, sz, 0], [0, 0, 0, 1]])


# The luma axis of the colour transforms, [1, 1, 1, 0] / sqrt(3).
LUMA_AXIS = np.asarray([1.0, 1.0, 1.0, 0.0]) / np.sqrt(3.0)


def rotate3d(v, theta):
    """Rotation by theta about the unit axis v (Rodrigues' formula)."""
    vx, vy, vz = (float(a) for a in v[:3])
    s, c = tf.sin(theta), tf.cos(theta)
    cc = 1.0 - c
    return matrix([[vx * vx * cc + c, vx * vy * cc - vz * s, vx * vz * cc + vy * s, 0],
                   [vy * vx * cc + vz * s, vy * vy * cc + c, vy * vz * cc - vx * s, 0],
                   [vz * vx * cc - vy * s, vz * vy * cc + vx * s, vz * vz * cc + c, 0],
                   [0, 0, 0, 1]])
