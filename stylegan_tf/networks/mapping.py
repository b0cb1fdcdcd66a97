"""The mapping network f: Z -> W (paper sec. 2, Figure 1b; official `G_mapping`)."""

from __future__ import annotations

import keras
from keras import ops

from stylegan_tf.config import NetworkConfig
from stylegan_tf.networks.layers import SQRT2, EqualizedDense, build_dims, pixel_norm, register


@register
class MappingNetwork(keras.layers.Layer):
    """z (and labels) to w, broadcast to one w per synthesis layer.

    z is concatenated with a label embedding when the network is conditional (official
    `LabelConcat`: a plain N(0, 1) matrix, not equalized), pixel-normalised, then passed
    through `mapping_layers` equalized-lr dense layers with lrelu and lr multiplier
    `mapping_lrmul` (0.01) on weights and biases. Always computed in float32, whatever
    the mixed-precision policy: it is a small MLP whose output feeds the w average and
    the truncation trick.

    Args:
        config: `NetworkConfig` (or its dict).

    Call arguments:
        z: [N, latent_size].
        labels: [N, label_size] one-hot, required iff `label_size > 0`.

    Returns:
        w: [N, num_layers, w_dim] float32.
    """

    def __init__(self, config, **kwargs):
        kwargs["dtype"] = "float32"
        super().__init__(**kwargs)
        self.config = NetworkConfig.coerce(config)
        c = self.config
        self.dense_layers = []
        for i in range(c.mapping_layers):
            units = c.dlatent_size if i == c.mapping_layers - 1 else c.mapping_fmaps
            self.dense_layers.append(EqualizedDense(units, gain=SQRT2, lr_multiplier=c.mapping_lrmul,
                                                    activation="lrelu", name=f"dense{i}", dtype="float32"))

    def build(self, input_shape=None):
        c = self.config
        self.label_embedding = None
        if c.label_size:
            self.label_embedding = self.add_weight(
                name="label_embedding", shape=(c.label_size, c.latent_size),
                initializer=keras.initializers.RandomNormal(0.0, 1.0))
        width = c.latent_size * (2 if c.label_size else 1)
        for layer in self.dense_layers:
            build_dims(layer, (None, width))
            width = layer.units

    def call(self, z, labels=None):
        c = self.config
        x = ops.cast(z, "float32")
        if c.label_size:
            if labels is None:
                raise ValueError(f"This mapping network is conditional (label_size={c.label_size}): "
                                 "pass labels of shape [N, label_size]")
            x = ops.concatenate([x, ops.matmul(ops.cast(labels, "float32"), self.label_embedding)], axis=1)
        if c.normalize_latents:
            x = pixel_norm(x)
        for layer in self.dense_layers:
            x = layer(x)
        # Broadcast: the same w for every synthesis layer, [N, num_layers, w_dim].
        return ops.repeat(ops.expand_dims(x, 1), c.num_layers, axis=1)

    def compute_output_shape(self, z_shape, labels_shape=None):
        return (z_shape[0], self.config.num_layers, self.config.w_dim)

    def get_config(self):
        return {**super().get_config(), "config": self.config.to_dict()}
