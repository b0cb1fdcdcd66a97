"""The StyleGAN2 network configuration (official config F at 1024; ADA's argument names).

Channels per resolution follow stylegan2-ada-pytorch: `channels(res) = min(channel_base
// res, channel_max)`; the TF code's `fmap_base` is half of `channel_base` (config F:
fmap_base 16384 = channel_base 32768), as the official `legacy.py` converts it.
Free of Keras: `stylegan_tf.config` reads it for `Config.from_dict`.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Mapping

from stylegan_tf.config import dataclass_from_dict, require, require_fields, require_style_network

ARCHITECTURES = ("orig", "skip", "resnet")
FUSED_MODCONV_CHOICES = ("auto", "always", "never")
CONDITIONING_CHOICES = ("ada", "ada-tf", "stylegan2-tf")  # See `conditioning` below and discriminator.py.


@dataclass(frozen=True)
class StyleGAN2Config:
    """Architecture of the StyleGAN2 G and D (defaults: FFHQ 1024, config F)."""

    family:             str   = "stylegan2"  # Network family (`stylegan_tf.families`); fixed for this class.
    resolution:         int   = 1024     # Output resolution, a power of two >= 4.
    num_channels:       int   = 3        # Image channels (3 = RGB).
    label_size:         int   = 0        # Number of classes for conditional networks, 0 = unconditional.
    latent_size:        int   = 512      # Dimensionality of z.
    w_dim:              int   = 512      # Dimensionality of w.
    mapping_layers:     int   = 8        # Dense layers of the mapping network (ADA 'auto': 2).
    mapping_fmaps:      int   = 512      # Width of the hidden mapping layers.
    mapping_lrmul:      float = 0.01     # Learning-rate multiplier of the mapping layers.
    channel_base:       int   = 32768    # channels(res) = min(channel_base // res, channel_max).
    channel_max:        int   = 512      # Maximum number of feature maps in any layer.
    architecture_g:     str   = "skip"   # Generator: "orig", "skip" (config F) or "resnet".
    architecture_d:     str   = "resnet" # Discriminator: "orig", "skip" or "resnet" (config F).
    resample_filter:    tuple = (1, 3, 3, 1)  # FIR low-pass of every up/downsampling (outer product, sum 1).
    fused_modconv:      str   = "auto"   # Grouped-conv form: "auto" (inference only, as ADA), "always", "never".
    num_fp16_res:       int   = 4        # Under --mixed-precision fp16: the top N resolutions in float16.
    conv_clamp:         float | None = None  # Clamp conv outputs to +-X (ADA uses 256 with float16), None = off.
    mbstd_group_size:   int   = 4        # Minibatch-stddev group size, <= 1 = off.
    mbstd_num_features: int   = 1        # Minibatch-stddev feature maps.
    truncation_psi:     float = 0.5      # Default truncation psi at inference (TF G_main: 0.5), 1.0 = off.
    truncation_cutoff:  int | None = None  # Truncate only the first `cutoff` layers, None = all (official).
    w_avg_beta:         float = 0.995    # Decay of the tracked average w (training only).
    style_mixing_prob:  float = 0.9      # Style-mixing regularisation probability, 0 = off.
    conditioning:       str   = "ada"    # Label convention (label_size > 0): "ada", "ada-tf", "stylegan2-tf".

    mapping_weight_gain = False   # The mapping's lrelu gain after the activation (`bias_act`).

    # The official `train.py` switches (StyleGAN3 `--cbase`, `--cmax`, `--map-depth`, `--mbstd-group`;
    # ADA/StyleGAN3 `--freezed`) this family takes: option -> (`Config.replace` key, converter).
    # `--cbase`/`--cmax` set channel_base/channel_max; `--freezed` sets FreezeD's layer count.
    OFFICIAL_OPTIONS = {"cbase": ("network__channel_base", int), "cmax": ("network__channel_max", int),
                        "map": ("network__mapping_layers", int), "mbstd_group": ("network__mbstd_group_size", int),
                        "freezed": ("training__freeze_d", int)}

    @property
    def label_mode(self) -> str:
        """How the mapping network takes labels: TF StyleGAN2's `LabelConcat` or ADA's `embed`."""
        return "concat" if self.conditioning == "stylegan2-tf" else "embed"

    @property
    def resolution_log2(self) -> int:
        return int(math.log2(self.resolution))

    @property
    def num_layers(self) -> int:
        """Number of style inputs (official num_ws): 2 * log2(resolution) - 2, 18 at 1024."""
        return 2 * self.resolution_log2 - 2

    def channels(self, res: int) -> int:
        """Feature maps of the block at resolution `res` (ADA `channels_dict`)."""
        return min(self.channel_base // res, self.channel_max)

    def fp16_resolution(self) -> int:
        """Lowest resolution computed in float16 under fp16 (ADA: max(2**(log2 res + 1 - num_fp16_res), 8))."""
        return max(2 ** (self.resolution_log2 + 1 - self.num_fp16_res), 8)

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["resample_filter"] = list(self.resample_filter)
        return d

    @classmethod
    def coerce(cls, value: "StyleGAN2Config | Mapping[str, Any]") -> "StyleGAN2Config":
        """A `StyleGAN2Config` from itself or from its dict (as stored in `.keras` files), validated."""
        return (value if isinstance(value, cls) else dataclass_from_dict(cls, value, "network.")).validate()

    def validate(self) -> "StyleGAN2Config":
        p = "network."
        require_style_network(self, "stylegan2")
        require_fields(self, p, positive_ints=("w_dim", "channel_base", "channel_max", "mapping_layers"),
                       non_negative_ints=("num_fp16_res",))
        for name, choices in (("architecture_g", ARCHITECTURES), ("architecture_d", ARCHITECTURES),
                              ("fused_modconv", FUSED_MODCONV_CHOICES), ("conditioning", CONDITIONING_CHOICES)):
            require(getattr(self, name) in choices, p + name, getattr(self, name), f"must be one of {choices}")
        require(len(self.resample_filter) >= 1 and sum(self.resample_filter) != 0, p + "resample_filter",
                self.resample_filter, "must be a non-empty list with a non-zero sum")
        require(self.conv_clamp is None or self.conv_clamp > 0, p + "conv_clamp", self.conv_clamp,
                "must be positive or None")
        require(self.channels(self.resolution) >= 1, p + "channel_base", self.channel_base,
                f"gives no feature maps at {self.resolution}x{self.resolution}")
        if self.mbstd_group_size > 1:
            require(self.mbstd_num_features >= 1 and self.channels(4) % self.mbstd_num_features == 0,
                    p + "mbstd_num_features", self.mbstd_num_features,
                    f"must divide the {self.channels(4)} feature maps at 4x4")
        return self


@dataclass(frozen=True)
class StyleGAN2LossConfig:
    """The StyleGAN2 / ADA loss (official `StyleGAN2Loss`): non-saturating logistic G loss, logistic D
    loss with R1 on the reals, path-length regularisation, both regularisers lazy (paper appendix B)."""

    r1_gamma:        float = 10.0   # R1 weight: (gamma / 2) * ||grad D(real)||^2.
    r1_interval:     int   = 16     # Lazy R1 every N minibatches, x N; 1 = in every D step (ADA reg_interval=None).
    pl_weight:       float = 2.0    # Path-length regularisation weight, 0 = off.
    pl_interval:     int   = 4      # Lazy path-length regularisation every N minibatches, x N.
    pl_decay:        float = 0.01   # Decay of the tracked mean path length pl_mean.
    pl_batch_shrink: int   = 2      # Path length on minibatch // N fresh samples.

    def validate(self) -> "StyleGAN2LossConfig":
        require_fields(self, "loss.", positive_ints=("r1_interval", "pl_interval", "pl_batch_shrink"),
                       non_negative=("r1_gamma", "pl_weight"), unit_interval=("pl_decay",))
        return self

    def for_finetuning(self) -> "StyleGAN2LossConfig":
        """The settings of a run that starts from trained networks (official `--resume`): unchanged."""
        return self
