"""The random draws of a training iteration, behind one small interface the trainer draws from.

Every random tensor of an iteration is a named draw for the whole global batch (each replica
then takes its share, so a step on several replicas is the step on one device):

    <phase>/z, <phase>/mix_z         latents [N, latent_size] (the second for style mixing)
    <phase>/crossover                 int32 scalar: style-mixing crossover layer (official: one per minibatch)
    <phase>/noise<i>                  noise map i [N, h, w, 1] of G's synthesis
    <phase>/c                         int32 [N]: indices into the dataset's labels (labels of the fakes)
    <phase>/aug<k>                    ADA parameters of the k-th D call of the phase (`AugmentPipe.sample`)
    Greg/pl_y                         path-length image-space noise [N / pl_batch_shrink, H, W, C]
    D/gp_mix                          WGAN-GP interpolation factors [N, 1, 1, 1]

Sources:
- `StatelessDraws(seed)`: the default. Each draw is keyed by (seed, iteration, name), with
  TensorFlow's stateless random ops, so a resumed run draws what the uninterrupted one drew.
- `GivenDraws(values)`: replays an iteration from given values (a dict name -> array, or the
  augmentation parameter dicts); a draw it does not hold is an error naming it.
- `RecordingDraws(source)`: draws from `source` and keeps every value (eager execution), to
  replay it with `GivenDraws` or to feed an independent reference.
"""

from __future__ import annotations

import zlib
from typing import Any, Mapping

import numpy as np
import tensorflow as tf


def stream_id(name: str) -> int:
    """A stable integer for a draw name (the same on every machine and Python run)."""
    return zlib.crc32(name.encode()) & 0x7FFFFFFF


class StatelessDraws:
    """Draws keyed by (seed, step, name) with stateless random ops."""

    def __init__(self, seed: int):
        self.seed = int(seed)

    def key(self, step, name: str):
        key = tf.random.experimental.stateless_fold_in(tf.constant([self.seed, 0], tf.int64), step)
        return tf.random.experimental.stateless_fold_in(key, stream_id(name))

    def normal(self, step, name: str, shape):
        return tf.random.stateless_normal(list(shape), seed=self.key(step, name))

    def uniform(self, step, name: str, shape):
        return tf.random.stateless_uniform(list(shape), seed=self.key(step, name))

    def crossover(self, step, name: str, prob: float, num_layers: int):
        """Official style-mixing crossover: with probability `prob` uniform in [1, num_layers), else num_layers."""
        key = self.key(step, name)
        fold = tf.random.experimental.stateless_fold_in
        u = tf.random.stateless_uniform([], fold(key, 1))
        k = tf.random.stateless_uniform([], fold(key, 2), minval=1, maxval=max(num_layers, 2), dtype=tf.int32)
        return tf.where(u < prob, k, num_layers)

    def indices(self, step, name: str, batch: int, count: int):
        """[batch] int32 uniform in [0, count)."""
        return tf.random.stateless_uniform([batch], self.key(step, name), minval=0, maxval=count, dtype=tf.int32)

    def augment(self, step, name: str, pipe, batch: int, p, height: int, width: int, channels: int):
        return pipe.sample(self.key(step, name), batch, p, height, width, channels)


class GivenDraws:
    """Replays given draws: `values[name]` is returned for draw `name`, whatever the iteration."""

    def __init__(self, values: Mapping[str, Any]):
        self.values = dict(values)

    def _get(self, name: str):
        if name not in self.values:
            raise KeyError(f"GivenDraws has no draw {name!r}; it holds {sorted(self.values)}")
        return self.values[name]

    def _tensor(self, name, shape=None, dtype=tf.float32):
        value = tf.convert_to_tensor(self._get(name), dtype)
        if shape is not None and tuple(value.shape) != tuple(shape):
            raise ValueError(f"Draw {name!r} has shape {tuple(value.shape)}, the iteration needs {tuple(shape)}")
        return value

    def normal(self, step, name, shape):
        return self._tensor(name, shape)

    def uniform(self, step, name, shape):
        return self._tensor(name, shape)

    def crossover(self, step, name, prob, num_layers):
        return self._tensor(name, (), tf.int32)

    def indices(self, step, name, batch, count):
        return self._tensor(name, (batch,), tf.int32)

    def augment(self, step, name, pipe, batch, p, height, width, channels):
        return {k: tf.convert_to_tensor(v) for k, v in self._get(name).items()}


class RecordingDraws:
    """Draws from `source` and records every value as numpy (`values`), in eager execution."""

    def __init__(self, source):
        self.source, self.values = source, {}

    def _keep(self, name, value):
        self.values[name] = ({k: np.asarray(v) for k, v in value.items()} if isinstance(value, Mapping)
                             else np.asarray(value))
        return value

    def normal(self, step, name, shape):
        return self._keep(name, self.source.normal(step, name, shape))

    def uniform(self, step, name, shape):
        return self._keep(name, self.source.uniform(step, name, shape))

    def crossover(self, step, name, prob, num_layers):
        return self._keep(name, self.source.crossover(step, name, prob, num_layers))

    def indices(self, step, name, batch, count):
        return self._keep(name, self.source.indices(step, name, batch, count))

    def augment(self, step, name, pipe, batch, p, height, width, channels):
        return self._keep(name, self.source.augment(step, name, pipe, batch, p, height, width, channels))
