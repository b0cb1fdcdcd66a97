"""Adam in the two forms the official codes use (`OptimizerConfig.epsilon_form`).

    m <- beta1 m + (1 - beta1) g;  v <- beta2 v + (1 - beta2) g^2
    "tf":    x <- x - lr sqrt(1 - beta2^t) / (1 - beta1^t) * m / (sqrt(v) + eps)
    "torch": x <- x - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)

"tf" is Keras' and TensorFlow's Adam (official StyleGAN and TF StyleGAN2); "torch" is
`torch.optim.Adam` (StyleGAN2-ADA, StyleGAN3). The torch form is the tf form with epsilon
scaled by sqrt(1 - beta2^t), which is how it is computed here, so both keep Keras' variables
(and the checkpoints' layout).
"""

from __future__ import annotations

import keras
from keras import ops

from stylegan_tf.config import ADAM_EPSILON_FORMS


class TorchFormAdam(keras.optimizers.Adam):
    """Keras Adam with epsilon added after the bias correction, as `torch.optim.Adam`."""

    def update_step(self, gradient, variable, learning_rate):
        dtype = variable.dtype
        lr = ops.cast(learning_rate, dtype)
        gradient = ops.cast(gradient, dtype)
        t = ops.cast(self.iterations + 1, dtype)
        correction_1 = 1 - ops.power(ops.cast(self.beta_1, dtype), t)
        correction_2 = 1 - ops.power(ops.cast(self.beta_2, dtype), t)
        m = self._momentums[self._get_variable_index(variable)]
        v = self._velocities[self._get_variable_index(variable)]
        self.assign_add(m, (gradient - m) * (1 - self.beta_1))
        self.assign_add(v, (ops.square(gradient) - v) * (1 - self.beta_2))
        step = lr * ops.sqrt(correction_2) / correction_1
        self.assign_sub(variable, m * step / (ops.sqrt(v) + self.epsilon * ops.sqrt(correction_2)))


def make_adam(form: str, learning_rate: float, beta_1: float, beta_2: float, epsilon: float, name: str):
    """An Adam optimizer of `form` ("tf" or "torch")."""
    if form not in ADAM_EPSILON_FORMS:
        raise ValueError(f"Unknown Adam form {form!r}; valid: {ADAM_EPSILON_FORMS}")
    cls = TorchFormAdam if form == "torch" else keras.optimizers.Adam
    return cls(learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon, name=name)
