"""The StyleGAN3 network configuration (official `training/networks_stylegan3.py`, `train.py`).

Defaults: FFHQ 1024, config T. Config R (`cfg="r"`) uses 1x1 convolutions, radially
symmetric downsampling filters and, as the official `train.py` does, doubles the
generator's `channel_base` and `channel_max` (the discriminator keeps them as given:
the official `--cbase`/`--cmax` are shared by G and D). The discriminator is the
StyleGAN2 residual one (`discriminator_config()` gives its `StyleGAN2Config`).
Free of Keras: `stylegan_tf.config` reads it for `Config.from_dict`.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Mapping

from stylegan_tf.config import dataclass_from_dict, require, require_fields, require_style_network
from stylegan_tf.networks.stylegan2.config import StyleGAN2LossConfig

CFGS = ("t", "r")


@dataclass(frozen=True)
class StyleGAN3Config:
    """Architecture of the StyleGAN3 generator (and of its StyleGAN2 discriminator)."""

    family:             str   = "stylegan3"  # Network family (`stylegan_tf.families`); fixed for this class.
    cfg:                str   = "t"      # "t" (translation equivariant) or "r" (rotation equivariant too).
    resolution:         int   = 1024     # Output resolution, a power of two >= 16.
    num_channels:       int   = 3        # Image channels (3 = RGB).
    label_size:         int   = 0        # Number of classes for conditional networks, 0 = unconditional.
    latent_size:        int   = 512      # Dimensionality of z.
    w_dim:              int   = 512      # Dimensionality of w.
    mapping_layers:     int   = 2        # Dense layers of the mapping network (official SG3: 2).
    mapping_fmaps:      int   = 512      # Width of the hidden mapping layers (official: w_dim).
    mapping_lrmul:      float = 0.01     # Learning-rate multiplier of the mapping layers.
    channel_base:       int   = 32768    # Official --cbase (G and D); config R doubles it for G.
    channel_max:        int   = 512      # Official --cmax (G and D); config R doubles it for G.
    synthesis_layers:   int   = 14       # Layers between the Fourier input and ToRGB (official num_layers).
    num_critical:       int   = 2        # Critically sampled layers at the end (ToRGB not counted).
    first_cutoff:       float = 2.0      # Cutoff f_c of the first layer.
    first_stopband:     float = 2**2.1   # Minimum stopband f_t of the first layer.
    last_stopband_rel:  float = 2**0.3   # Minimum stopband of the last layer, relative to its cutoff.
    margin_size:        int   = 10       # Extra pixels on each side of the intermediate feature maps.
    output_scale:       float = 0.25     # Scale of the output image.
    filter_size:        int   = 6        # Low-pass taps relative to the lower resolution of a layer.
    lrelu_upsampling:   int   = 2        # Sampling rate of the leaky ReLU relative to the layer's (not ToRGB).
    num_fp16_res:       int   = 4        # Under fp16: layers with sampling rate * 2**N > resolution (and D's top N).
    conv_clamp:         float | None = 256.0  # Clamp layer outputs to +-X (official default 256; --fp32: None).
    magnitude_ema_beta: float = 0.999    # Decay of each layer's input-magnitude EMA (train.py: 0.5 ** (batch / 20000)).
    mbstd_group_size:   int   = 4        # Discriminator minibatch-stddev group size, <= 1 = off.
    mbstd_num_features: int   = 1        # Discriminator minibatch-stddev feature maps.
    truncation_psi:     float = 1.0      # Default truncation psi at inference (official gen_images: 1 = off).
    truncation_cutoff:  int | None = None  # Truncate only the first `cutoff` ws, None = all.
    w_avg_beta:         float = 0.998    # Decay of the tracked average w (updated with the EMAs only).
    style_mixing_prob:  float = 0.0      # Style mixing probability (official SG3: 0).

    # The mapping network's conventions: ADA's label embedding, the lrelu gain after the activation.
    label_mode = "embed"
    mapping_weight_gain = False

    # The official `train.py` switches (StyleGAN3 `--cbase`, `--cmax`, `--map-depth`, `--mbstd-group`;
    # ADA/StyleGAN3 `--freezed`) this family takes: option -> (`Config.replace` key, converter).
    # `--cbase`/`--cmax` set channel_base/channel_max (G and D; config R doubles it for G); `--freezed` sets FreezeD's layer count.
    OFFICIAL_OPTIONS = {"cbase": ("network__channel_base", int), "cmax": ("network__channel_max", int),
                        "map": ("network__mapping_layers", int), "mbstd_group": ("network__mbstd_group_size", int),
                        "freezed": ("training__freeze_d", int)}

    # Derived -----------------------------------------------------------------------------
    @property
    def resolution_log2(self) -> int:
        return int(math.log2(self.resolution))

    @property
    def num_layers(self) -> int:
        """Number of style inputs (official num_ws): synthesis_layers + 2 (input and ToRGB), 16."""
        return self.synthesis_layers + 2

    @property
    def num_ws(self) -> int:
        return self.num_layers

    @property
    def conv_kernel(self) -> int:
        """3x3 convolutions for T, 1x1 for R (ToRGB is always 1x1)."""
        return 1 if self.cfg == "r" else 3

    @property
    def use_radial_filters(self) -> bool:
        """Radially symmetric (jinc) downsampling filters in the non-critical layers of R."""
        return self.cfg == "r"

    @property
    def g_channel_base(self) -> int:
        return self.channel_base * (2 if self.cfg == "r" else 1)

    @property
    def g_channel_max(self) -> int:
        return self.channel_max * (2 if self.cfg == "r" else 1)

    def discriminator_config(self):
        """The `StyleGAN2Config` of the discriminator: the StyleGAN2 residual D (official SG3
        `train.py`) with this config's resolution, labels, channel_base/max (not doubled),
        fp16 resolutions, clamp and minibatch stddev."""
        from stylegan_tf.networks.stylegan2.config import StyleGAN2Config
        return StyleGAN2Config(
            resolution=self.resolution, num_channels=self.num_channels, label_size=self.label_size,
            latent_size=self.latent_size, w_dim=self.w_dim, mapping_layers=self.mapping_layers,
            mapping_fmaps=self.mapping_fmaps, mapping_lrmul=self.mapping_lrmul,
            channel_base=self.channel_base, channel_max=self.channel_max, architecture_d="resnet",
            num_fp16_res=self.num_fp16_res, conv_clamp=self.conv_clamp,
            mbstd_group_size=self.mbstd_group_size, mbstd_num_features=self.mbstd_num_features).validate()

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def coerce(cls, value: "StyleGAN3Config | Mapping[str, Any]") -> "StyleGAN3Config":
        """A `StyleGAN3Config` from itself or from its dict (as stored in `.keras` files), validated."""
        return (value if isinstance(value, cls) else dataclass_from_dict(cls, value, "network.")).validate()

    def validate(self) -> "StyleGAN3Config":
        p = "network."
        require_style_network(self, "stylegan3", min_resolution=16)
        require(self.cfg in CFGS, p + "cfg", self.cfg, f"must be one of {CFGS}")
        require_fields(self, p, positive_ints=("w_dim", "channel_base", "channel_max", "filter_size",
                                               "lrelu_upsampling", "mapping_layers", "synthesis_layers"),
                       non_negative_ints=("num_fp16_res", "margin_size", "num_critical"),
                       positive=("output_scale",), unit_interval=("magnitude_ema_beta",))
        require(self.num_critical < self.synthesis_layers, p + "num_critical", self.num_critical,
                f"must be smaller than synthesis_layers={self.synthesis_layers}")
        require(0 < self.first_cutoff <= self.resolution / 2, p + "first_cutoff", self.first_cutoff,
                f"must be in (0, resolution / 2 = {self.resolution / 2:g}]")
        require(self.first_stopband > self.first_cutoff, p + "first_stopband", self.first_stopband,
                f"must be above first_cutoff={self.first_cutoff:g}")
        require(self.last_stopband_rel > 1, p + "last_stopband_rel", self.last_stopband_rel, "must be above 1")
        require(self.conv_clamp is None or self.conv_clamp > 0, p + "conv_clamp", self.conv_clamp,
                "must be positive or None")
        require(self.channel_base // self.resolution >= 1, p + "channel_base", self.channel_base,
                f"gives no feature maps at {self.resolution}x{self.resolution}")
        return self


@dataclass(frozen=True)
class StyleGAN3LossConfig(StyleGAN2LossConfig):
    """The StyleGAN3 loss: StyleGAN2's (official SG3 `StyleGAN2Loss`, path length off in the presets)
    plus config R's blur of every image D sees (`blur_init_sigma` px, faded to 0 over `blur_fade_kimg`)."""

    pl_weight:       float = 0.0    # Official SG3: off.
    blur_init_sigma: float = 0.0    # Config R: 10.
    blur_fade_kimg:  float = 0.0    # Config R: batch * 200 / 32.

    def validate(self) -> "StyleGAN3LossConfig":
        super().validate()
        require_fields(self, "loss.", non_negative=("blur_init_sigma", "blur_fade_kimg"))
        return self

    def for_finetuning(self) -> "StyleGAN3LossConfig":
        """As the official `--resume`: no D-input blur ramp."""
        return dataclasses.replace(self, blur_init_sigma=0.0)
