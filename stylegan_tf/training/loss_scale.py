"""Loss scaling with one finite check for all replicas.

Keras' `LossScaleOptimizer` under a distribution strategy takes the "all gradients finite" flag
from the first replica only, before the cross-replica sum of the gradients: an overflow on any
other replica is applied (NaN weights) and the loss scale does not fall. `SyncedLossScaleOptimizer`
reduces the flag over the replicas first (minimum: finite only if finite everywhere), then applies
or skips the step in cross-replica context, so every replica skips the same step and the scale
falls whichever replica overflowed. Its variables are the Keras class's (checkpoints keep their
layout).

`dynamic=False` (float32, bfloat16) keeps the scale at 1: a non-finite step is skipped and
counted, the scale does not move.
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops


def all_replicas_finite(grads):
    """Whether every gradient of every replica is finite (bool scalar, equal on all replicas)."""
    finite = ops.all(ops.convert_to_tensor([ops.all(ops.isfinite(g)) for g in grads if g is not None]))
    ctx = tf.distribute.get_replica_context()
    if ctx is None or ctx.num_replicas_in_sync == 1:
        return finite
    overflowed = ctx.all_reduce(tf.distribute.ReduceOp.SUM, 1.0 - tf.cast(finite, tf.float32))   # replicas
    return overflowed < 0.5


class SyncedLossScaleOptimizer(keras.optimizers.LossScaleOptimizer):
    """A `LossScaleOptimizer` whose finite check is the same on every replica (see the module docstring).

    Args:
        inner_optimizer: the optimizer stepped on finite gradients.
        dynamic: True: the dynamic scale of float16 (Keras' rule: x2 after `dynamic_growth_steps`
            finite steps, /2 on an overflow); False: a fixed scale of 1.
    """

    def __init__(self, inner_optimizer, dynamic: bool = True, **kwargs):
        if not dynamic:
            kwargs.update(initial_scale=1.0, dynamic_growth_steps=2**30)
        super().__init__(inner_optimizer, **kwargs)
        self.dynamic = dynamic

    def apply(self, grads, trainable_variables=None):
        """Applies the gradients if they are finite on every replica; returns that flag (in replica context)."""
        if not self.built:
            with keras.backend.name_scope(self.name, caller=self):
                self.build(trainable_variables)
            self.built = True
        finite = all_replicas_finite(grads)

        def merge(distribution, grads, finite):
            flag = distribution.experimental_local_results(finite)[0]

            def step():
                distribution.extended.call_for_each_replica(self._stateful_handle_finite_grads,
                                                            args=(grads, trainable_variables))

            # A cond in cross-replica context: the inner optimizer's apply calls merge_call itself.
            ops.cond(flag, step, self._overflow)

        tf.distribute.get_replica_context().merge_call(merge, args=(grads, finite))
        return finite

    def _overflow(self):
        if self.dynamic:
            self._stateful_handle_non_finite_grads()
        else:
            self.step_counter.assign(0)
