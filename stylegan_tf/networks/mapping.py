"""The mapping network f: Z -> W (v1 paper sec. 2, Figure 1b; official `G_mapping` / ADA `MappingNetwork`)."""

from __future__ import annotations

import keras
from keras import ops

from stylegan_tf.networks.layers import SQRT2, EqualizedDense, build_dims, pixel_norm, register

LABEL_MODES = ("concat", "embed")


def _coerce_network_config(config):
    """The family's network config dataclass from itself or its dict (any family), validated."""
    from stylegan_tf import families  # Lazy: families resolves the config classes by import path.

    return type(config).coerce(config) if hasattr(config, "validate") else families.coerce_network_config(config)


@register
class MappingNetwork(keras.layers.Layer):
    """z (and labels) to w, broadcast to one w per synthesis layer.

    Two conventions, picked by the network config (`label_mode`, `mapping_weight_gain`):

    - StyleGAN (v1; TF StyleGAN2's conditional `LabelConcat` too): z is concatenated with a label embedding
      when conditional (official `LabelConcat`: a plain N(0, 1) matrix, not equalized),
      pixel-normalised, then passed through dense layers with gain sqrt(2) in the weight
      (`lrelu(sqrt(2) W x + b)`).
    - StyleGAN2-ADA (`label_mode="embed"`, StyleGAN2 and StyleGAN3): z and the label embedding
      `embed` (an equalized dense c_dim -> w_dim with bias, lr multiplier 1) are each
      normalised, then concatenated (ADA `MappingNetwork`); the dense layers apply their
      gain after the activation (`sqrt(2) lrelu(W x + b)`, official `bias_act`).

    Both use `mapping_layers` layers of width `mapping_fmaps` with lrelu and lr
    multiplier `mapping_lrmul` (0.01) on weights and biases, and are always computed in
    float32, whatever the mixed-precision policy: it is a small MLP whose output feeds
    the w average and the truncation trick.

    Args:
        config: a network config of any family (`NetworkConfig`, `StyleGAN2Config`) or its dict.
        label_mode: None (the config's `label_mode`), "concat" or "embed".
        z_dim, w_dim, hidden_dim, num_layers: override the config's latent_size, w_dim,
            mapping_fmaps and mapping_layers (ADA's conditioning mapping of the
            discriminator: z_dim 0, w_dim = hidden_dim = cmap_dim, 8 layers). None = config.
        num_ws: None = config.num_layers; 0 = no broadcast (output [N, w_dim]).

    Call arguments:
        z: [N, z_dim] (ignored, may be None, when z_dim is 0).
        labels: [N, label_size] one-hot, required iff `label_size > 0`.

    Returns:
        w: [N, num_ws, w_dim] float32 ([N, w_dim] when num_ws is 0).
    """

    def __init__(self, config, label_mode=None, z_dim=None, w_dim=None, hidden_dim=None, num_layers=None,
                 num_ws=None, **kwargs):
        kwargs["dtype"] = "float32"
        super().__init__(**kwargs)
        self.config = _coerce_network_config(config)
        c = self.config
        if label_mode is None:
            label_mode = c.label_mode
        if label_mode not in LABEL_MODES:
            raise ValueError(f"label_mode must be one of {LABEL_MODES}. Received: label_mode={label_mode!r}")
        self.label_mode = label_mode
        self.z_dim, self.w_dim, self.hidden_dim, self.num_layers, self.num_ws = (
            z_dim, w_dim, hidden_dim, num_layers, num_ws)
        self.latent_size = c.latent_size if z_dim is None else int(z_dim)
        self.out_dim = c.w_dim if w_dim is None else int(w_dim)
        self.hidden = c.mapping_fmaps if hidden_dim is None else int(hidden_dim)
        self.depth = c.mapping_layers if num_layers is None else int(num_layers)
        self.broadcast = c.num_layers if num_ws is None else int(num_ws)
        if self.latent_size == 0 and not c.label_size:
            raise ValueError("A mapping network with z_dim=0 needs labels (label_size > 0)")
        gain, act_gain = (SQRT2, 1.0) if c.mapping_weight_gain else (1.0, SQRT2)
        self.dense_layers = []
        for i in range(self.depth):
            units = self.out_dim if i == self.depth - 1 else self.hidden
            self.dense_layers.append(EqualizedDense(units, gain=gain, act_gain=act_gain,
                                                    lr_multiplier=c.mapping_lrmul, activation="lrelu",
                                                    name=f"dense{i}", dtype="float32"))
        self.embed = (EqualizedDense(self.out_dim, gain=1.0, name="embed", dtype="float32")
                      if c.label_size and label_mode == "embed" else None)

    @property
    def input_width(self) -> int:
        """Width of the first dense layer's input: z plus the label embedding."""
        c = self.config
        if not c.label_size:
            return self.latent_size
        return self.latent_size + (c.latent_size if self.label_mode == "concat" else self.out_dim)

    def build(self, input_shape=None):
        c = self.config
        self.label_embedding = None
        if c.label_size and self.label_mode == "concat":
            self.label_embedding = self.add_weight(
                name="label_embedding", shape=(c.label_size, c.latent_size),
                initializer=keras.initializers.RandomNormal(0.0, 1.0))
        if self.embed is not None:
            build_dims(self.embed, (None, c.label_size))
        width = self.input_width
        for layer in self.dense_layers:
            build_dims(layer, (None, width))
            width = layer.units

    def call(self, z, labels=None):
        c = self.config
        if c.label_size and labels is None:
            raise ValueError(f"This mapping network is conditional (label_size={c.label_size}): "
                             "pass labels of shape [N, label_size]")
        normalize = getattr(c, "normalize_latents", True)
        if self.label_mode == "concat":
            x = ops.cast(z, "float32")
            if c.label_size:
                x = ops.concatenate([x, ops.matmul(ops.cast(labels, "float32"), self.label_embedding)], axis=1)
            if normalize:
                x = pixel_norm(x)
        else:
            parts = [pixel_norm(ops.cast(z, "float32"))] if self.latent_size else []
            if c.label_size:
                parts.append(pixel_norm(self.embed(ops.cast(labels, "float32"))))
            x = ops.concatenate(parts, axis=1) if len(parts) > 1 else parts[0]
        for layer in self.dense_layers:
            x = layer(x)
        if not self.broadcast:
            return x
        # Broadcast: the same w for every synthesis layer, [N, num_ws, w_dim].
        return ops.repeat(ops.expand_dims(x, 1), self.broadcast, axis=1)

    def compute_output_shape(self, z_shape, labels_shape=None):
        batch = (z_shape if z_shape is not None else labels_shape)[0]
        return (batch, self.broadcast, self.out_dim) if self.broadcast else (batch, self.out_dim)

    def get_config(self):
        return {**super().get_config(), "config": self.config.to_dict(), "label_mode": self.label_mode,
                "z_dim": self.z_dim, "w_dim": self.w_dim, "hidden_dim": self.hidden_dim,
                "num_layers": self.num_layers, "num_ws": self.num_ws}
