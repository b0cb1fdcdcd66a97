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

from stylegan_tf.config import _check, _from_dict, _is_power_of_two

ARCHITECTURES = ("orig", "skip", "resnet")
FUSED_MODCONV_CHOICES = ("auto", "always", "never")


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
        if isinstance(value, cls):
            return value.validate()
        return _from_dict(cls, value, "network.").validate()

    def validate(self) -> "StyleGAN2Config":
        p = "network."
        _check(self.family == "stylegan2", p + "family", self.family, "must be 'stylegan2' for this config class")
        _check(_is_power_of_two(self.resolution) and 4 <= self.resolution <= 4096,
               p + "resolution", self.resolution, "must be a power of two between 4 and 4096")
        for name in ("num_channels", "latent_size", "w_dim", "mapping_fmaps", "channel_base", "channel_max"):
            value = getattr(self, name)
            _check(isinstance(value, int) and value >= 1, p + name, value, "must be a positive integer")
        for name in ("label_size", "mapping_layers", "num_fp16_res", "mbstd_num_features"):
            value = getattr(self, name)
            _check(isinstance(value, int) and value >= 0, p + name, value, "must be a non-negative integer")
        _check(self.mapping_layers >= 1, p + "mapping_layers", self.mapping_layers, "must be at least 1")
        _check(self.mapping_lrmul > 0, p + "mapping_lrmul", self.mapping_lrmul, "must be positive")
        _check(self.architecture_g in ARCHITECTURES, p + "architecture_g", self.architecture_g,
               f"must be one of {ARCHITECTURES}")
        _check(self.architecture_d in ARCHITECTURES, p + "architecture_d", self.architecture_d,
               f"must be one of {ARCHITECTURES}")
        _check(self.fused_modconv in FUSED_MODCONV_CHOICES, p + "fused_modconv", self.fused_modconv,
               f"must be one of {FUSED_MODCONV_CHOICES}")
        _check(len(self.resample_filter) >= 1 and sum(self.resample_filter) != 0, p + "resample_filter",
               self.resample_filter, "must be a non-empty list with a non-zero sum")
        _check(self.conv_clamp is None or self.conv_clamp > 0, p + "conv_clamp", self.conv_clamp,
               "must be positive or None")
        _check(self.truncation_cutoff is None or (isinstance(self.truncation_cutoff, int)
                                                  and self.truncation_cutoff >= 0),
               p + "truncation_cutoff", self.truncation_cutoff, "must be a non-negative integer or None")
        _check(isinstance(self.mbstd_group_size, int), p + "mbstd_group_size", self.mbstd_group_size,
               "must be an integer")
        _check(0.0 <= self.w_avg_beta <= 1.0, p + "w_avg_beta", self.w_avg_beta, "must be in [0, 1]")
        _check(0.0 <= self.style_mixing_prob <= 1.0, p + "style_mixing_prob", self.style_mixing_prob,
               "must be in [0, 1]")
        _check(self.channels(self.resolution) >= 1, p + "channel_base", self.channel_base,
               f"gives no feature maps at {self.resolution}x{self.resolution}")
        if self.mbstd_group_size > 1:
            _check(self.mbstd_num_features >= 1 and self.channels(4) % self.mbstd_num_features == 0,
                   p + "mbstd_num_features", self.mbstd_num_features,
                   f"must divide the {self.channels(4)} feature maps at 4x4")
        return self
