"""The StyleGAN2 discriminator (paper sec. 4, Figure 7; TF `D_stylegan2`, ADA `Discriminator`).

One block per resolution R .. 8 (`b{res}`), then the 4x4 epilogue (`b4`). Architectures
(`StyleGAN2Config.architecture_d`):

- "resnet" (config F): fromRGB (1x1, lrelu) at full resolution only; per block 3x3
  conv0, 3x3 conv1 with FIR downsampling, and a 1x1 downsampling skip without bias;
  x = (main + skip) * sqrt(1/2) (ADA: gain sqrt(0.5) on both branches).
- "skip": fromRGB at every block (and in the epilogue) on the FIR-downsampled image.
- "orig": fromRGB at full resolution only, plain conv0/conv1.

Epilogue: minibatch stddev (group min(4, N), 1 channel, appended last, float32), 3x3
conv, dense `fc` (16 C -> C, lrelu), dense `out` (C -> 1, or -> cmap_dim). Conditional
networks (`StyleGAN2Config.conditioning`, one convention per official source):

- "ada" (default; stylegan2-ada-pytorch and StyleGAN3 `Discriminator`): projection onto
  the mapped labels, score = sum(out * cmap) / sqrt(cmap_dim), cmap = ADA's
  `MappingNetwork(z_dim=0, c_dim, w_dim=cmap_dim)` of the labels: `embed` (dense
  c_dim -> cmap_dim, lr multiplier 1), normalised, then 8 dense lrelu layers with lr
  multiplier 0.01 (the official defaults, whatever G's mapping uses); cmap_dim = channels(4).
- "ada-tf" (stylegan2-ada TF `D_main` with its default `mapping_layers=0`, and the ADA
  pickles legacy.py converts from it): the same projection, cmap = the normalised
  `LabelEmbed` only (no mapping layers).
- "stylegan2-tf" (NVlabs/stylegan2 `D_stylegan2`; Mescheder et al. 2018): `out` has
  label_size units and score = sum(out * labels) (no mapping, no scaling).

Deviation from the official layout: NHWC; `fc` consumes the NHWC flatten of the 4x4
features (the official one is NCHW, channel-major: importers permute its rows).
Mixed precision as the synthesis network: blocks at or above `fp16_resolution()` in
the policy's dtype, the epilogue always float32; scores are float32.
"""

from __future__ import annotations

import dataclasses
import math

import keras
from keras import ops

from stylegan_tf.networks.layers import SQRT2, EqualizedDense, build_dims, minibatch_stddev, register
from stylegan_tf.networks.mapping import MappingNetwork
from stylegan_tf.networks.precision import block_dtype, effective_conv_clamp
from stylegan_tf.networks.stylegan2.config import StyleGAN2Config
from stylegan_tf.networks.stylegan2.conv import Conv2DLayer
from stylegan_tf.networks.stylegan2.synthesis import SQRT_HALF
from stylegan_tf.networks.stylegan2.upfirdn import downsample2d

D_MAPPING_LAYERS = 8  # ADA's Discriminator builds its label mapping with MappingNetwork's default depth...
D_MAPPING_LRMUL = 0.01  # ... and learning-rate multiplier (its mapping_kwargs are empty in train.py).


def label_mapping_layers(config: StyleGAN2Config) -> int:
    """Dense layers after the label embedding in D's cmap mapping: 8 ("ada"), 0 ("ada-tf")."""
    return 0 if config.conditioning == "ada-tf" else D_MAPPING_LAYERS


@register
class StyleGAN2DiscriminatorBlock(keras.layers.Layer):
    """The block at `res` (ADA `DiscriminatorBlock`; TF scope `{res}x{res}`).

    Weights: `fromrgb` (TF `FromRGB`; 1x1 [1, 1, num_channels, channels(res)], lrelu),
    `conv0` (TF `Conv0`; 3x3 [3, 3, C, C]), `conv1` (TF `Conv1_down`; 3x3 [3, 3, C, C'],
    FIR then stride 2), `skip` (resnet; TF `Skip`; 1x1 [1, 1, C, C'], no bias), with
    C = channels(res), C' = channels(res / 2).

    Call arguments:
        x: [N, res, res, C] or None (the first block). img: [N, res, res, num_channels] or None.

    Returns:
        (x [N, res/2, res/2, C'], img downsampled (skip D) or None).
    """

    def __init__(self, config, res, conv_clamp=None, **kwargs):
        super().__init__(**kwargs)
        self.autocast = False  # Cast explicitly: img stays float32 (skip D).
        self.config = StyleGAN2Config.coerce(config)
        self.res = int(res)
        self.conv_clamp = conv_clamp
        c, policy = self.config, self.dtype_policy
        self.channels, self.out_channels = c.channels(self.res), c.channels(self.res // 2)
        common = dict(resample_filter=c.resample_filter, conv_clamp=conv_clamp, dtype=policy)
        self.fromrgb = (Conv2DLayer(self.channels, 1, activation="lrelu", name="fromrgb", **common)
                        if self.res == c.resolution or c.architecture_d == "skip" else None)
        self.conv0 = Conv2DLayer(self.channels, 3, activation="lrelu", name="conv0", **common)
        self.conv1 = Conv2DLayer(self.out_channels, 3, activation="lrelu", resample="down", name="conv1", **common)
        self.skip = (Conv2DLayer(self.out_channels, 1, use_bias=False, resample="down", name="skip", **common)
                     if c.architecture_d == "resnet" else None)

    def build(self, input_shape=None):
        c, res = self.config, self.res
        if self.fromrgb is not None:
            build_dims(self.fromrgb, (None, res, res, c.num_channels))
        x_shape = (None, res, res, self.channels)
        build_dims(self.conv0, x_shape)
        build_dims(self.conv1, x_shape)
        if self.skip is not None:
            build_dims(self.skip, x_shape)

    def call(self, x, img):
        if self.fromrgb is not None:
            y = self.fromrgb(img)
            x = y if x is None else ops.cast(x, y.dtype) + y
            img = downsample2d(img, self.config.resample_filter) if self.config.architecture_d == "skip" else None
        if self.skip is not None:
            y = self.skip(x, gain=SQRT_HALF)
            x = self.conv1(self.conv0(x), gain=SQRT_HALF)
            x = x + ops.cast(y, x.dtype)
        else:
            x = self.conv1(self.conv0(x))
        return x, img

    def get_config(self):
        return {**super().get_config(), "config": self.config.to_dict(), "res": self.res,
                "conv_clamp": self.conv_clamp}


@register
class StyleGAN2DiscriminatorEpilogue(keras.layers.Layer):
    """The 4x4 epilogue (ADA `DiscriminatorEpilogue`; TF scope `4x4` and `Output`), float32.

    Weights: `fromrgb` (skip D, or a 4x4 network), `conv` [3, 3, C + mbstd, C] (TF `4x4/Conv`), `fc/kernel`
    [16 C, C] (TF `4x4/Dense0`; NHWC row order), `out/kernel` [C, 1 or cmap_dim]
    (TF `Output`, ADA `b4.out`; cmap_dim = label_size for "stylegan2-tf"), biases.

    Call arguments:
        x: [N, 4, 4, C] or None (4x4 network). img: [N, 4, 4, num_channels] (skip D, 4x4) or None.
        cmap: [N, cmap_dim] (conditional) or None.

    Returns:
        scores [N, 1] float32.
    """

    def __init__(self, config, conv_clamp=None, **kwargs):
        super().__init__(**kwargs)
        self.autocast = False  # Inputs and variables are cast explicitly.
        self.config = StyleGAN2Config.coerce(config)
        self.conv_clamp = conv_clamp
        c = self.config
        self.channels = c.channels(4)
        # Conditional: "stylegan2-tf" has one output per label (the labels are the "cmap"), unscaled.
        select = c.conditioning == "stylegan2-tf"
        self.cmap_dim = (c.label_size if select else self.channels) if c.label_size else 0
        self.cmap_scale = 1.0 if select else 1.0 / math.sqrt(max(self.cmap_dim, 1))
        common = dict(resample_filter=c.resample_filter, conv_clamp=conv_clamp, dtype=self.dtype_policy)
        self.fromrgb = (Conv2DLayer(self.channels, 1, activation="lrelu", name="fromrgb", **common)
                        if c.architecture_d == "skip" or c.resolution == 4 else None)
        self.conv = Conv2DLayer(self.channels, 3, activation="lrelu", name="conv", **common)
        self.fc = EqualizedDense(self.channels, gain=1.0, act_gain=SQRT2, activation="lrelu", name="fc",
                                 dtype=self.dtype_policy)
        self.out = EqualizedDense(self.cmap_dim or 1, gain=1.0, name="out", dtype="float32")

    @property
    def mbstd_features(self) -> int:
        return self.config.mbstd_num_features if self.config.mbstd_group_size > 1 else 0

    def build(self, input_shape=None):
        c = self.config
        if self.fromrgb is not None:
            build_dims(self.fromrgb, (None, 4, 4, c.num_channels))
        build_dims(self.conv, (None, 4, 4, self.channels + self.mbstd_features))
        build_dims(self.fc, (None, 16 * self.channels))
        build_dims(self.out, (None, self.channels))

    def call(self, x, img=None, cmap=None):
        c = self.config
        if self.fromrgb is not None:
            y = self.fromrgb(img)
            x = y if x is None else ops.cast(x, y.dtype) + y
        x = ops.cast(x, self.compute_dtype)
        if self.mbstd_features:
            x = minibatch_stddev(x, c.mbstd_group_size, c.mbstd_num_features)
        x = self.conv(x)
        # NHWC flatten; the official NCHW order is converted on weight import.
        x = self.fc(ops.reshape(x, [-1, 16 * self.channels]))
        x = self.out(ops.cast(x, "float32"))
        if self.cmap_dim:
            if cmap is None:
                raise ValueError(f"This discriminator is conditional (label_size={c.label_size}): pass labels")
            x = ops.sum(x * ops.cast(cmap, "float32"), axis=1, keepdims=True) * self.cmap_scale
        return x

    def get_config(self):
        return {**super().get_config(), "config": self.config.to_dict(), "conv_clamp": self.conv_clamp}


@register
class StyleGAN2Discriminator(keras.Model):
    """The StyleGAN2 discriminator.

    Args:
        config: `StyleGAN2Config` or its dict. Defaults to FFHQ 1024 config F (29,012,513 parameters).

    Call arguments:
        images: [N, R, R, num_channels] at the full resolution R.
        labels: [N, label_size] one-hot, for conditional networks.

    Returns:
        scores [N, 1] float32.
    """

    family = "stylegan2"

    def __init__(self, config=None, **kwargs):
        super().__init__(**kwargs)
        self.config = StyleGAN2Config.coerce(config if config is not None else StyleGAN2Config())
        c, policy = self.config, self.dtype_policy
        clamp = effective_conv_clamp(c, policy)
        self.blocks = [StyleGAN2DiscriminatorBlock(c, 2**r, conv_clamp=clamp, name=f"b{2**r}",
                                                   dtype=block_dtype(c, policy, 2**r))
                       for r in range(c.resolution_log2, 2, -1)]
        self.mapping = (MappingNetwork(dataclasses.replace(c, mapping_lrmul=D_MAPPING_LRMUL), z_dim=0,
                                       w_dim=c.channels(4), hidden_dim=c.channels(4),
                                       num_layers=label_mapping_layers(c), num_ws=0, name="mapping")
                        if c.label_size and c.conditioning != "stylegan2-tf" else None)
        self.epilogue = StyleGAN2DiscriminatorEpilogue(c, conv_clamp=clamp, name="b4", dtype="float32")
        self.build((None, c.resolution, c.resolution, c.num_channels))

    def build(self, input_shape=None):
        if self.built:
            return
        for block in self.blocks:
            build_dims(block, None)
        if self.mapping is not None:
            build_dims(self.mapping, None)
        build_dims(self.epilogue, None)
        self.built = True

    def call(self, images, labels=None):
        c = self.config
        expected = (c.resolution, c.resolution, c.num_channels)
        if tuple(images.shape[1:]) != expected:
            raise ValueError(f"Discriminator input must be [N, {c.resolution}, {c.resolution}, {c.num_channels}]. "
                             f"Received: shape {tuple(images.shape)}")
        x, img = None, ops.cast(images, "float32")
        for block in self.blocks:
            x, img = block(x, img)
        cmap = None
        if c.label_size:
            if labels is None:
                raise ValueError(f"This discriminator is conditional (label_size={c.label_size}): pass labels")
            cmap = self.mapping(None, labels) if self.mapping is not None else ops.cast(labels, "float32")
        return self.epilogue(x, img, cmap)

    def freezable_layers(self) -> list[tuple[str, keras.layers.Layer]]:
        """(name, layer) of D's layers in FreezeD's order (ADA / StyleGAN3 `DiscriminatorBlock`'s
        `first_layer_idx` + `trainable_gen`): from the top (full-resolution) block down, in each block
        fromrgb (when it has one), conv0, conv1, skip (resnet) take the next index. The 4x4 epilogue
        and the label mapping are not counted (the official code never freezes them)."""
        return [(f"{block.name}.{part}", getattr(block, part)) for block in self.blocks
                for part in ("fromrgb", "conv0", "conv1", "skip") if getattr(block, part) is not None]

    def freeze_layers(self, count: int) -> list[str]:
        """FreezeD (Mo et al. 2020; official `--freezed=N`, `freeze_layers`): the layers with index < count
        in `freezable_layers()` order are not trained, the others are. Official: the frozen layers' weights
        become buffers; here `layer.trainable = False`, so they leave `trainable_variables` (no gradient, no
        Adam slots, never updated) and stay in `weights` in the same order (checkpoints and exports keep
        their layout). A count above the number of layers freezes them all (as the official code).

        Returns:
            the names of the frozen layers, e.g. ["b32.fromrgb", "b32.conv0"].
        """
        count = int(count)
        if count < 0:
            raise ValueError(f"freeze_layers: count must be >= 0. Received: {count}")
        layers = self.freezable_layers()
        for index, (_, layer) in enumerate(layers):
            layer.trainable = index >= count
        return [name for name, _ in layers[:count]]

    def summary_layers(self):
        """(name, layer, output shape) rows of the `--dry-run` table (`stylegan_tf.summary`)."""
        rows = [(f"b{b.res}", b, f"[N, {b.res // 2}, {b.res // 2}, {b.out_channels}]") for b in self.blocks]
        if self.mapping is not None:
            rows.append(("mapping (labels -> cmap)", self.mapping, f"[N, {self.epilogue.cmap_dim}]"))
        rows.append(("b4 (mbstd, conv, fc, out)", self.epilogue, "[N, 1]"))
        return rows

    def get_config(self):
        base = keras.layers.Layer.get_config(self)
        return {**base, "config": self.config.to_dict()}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


Discriminator = StyleGAN2Discriminator
