"""Configuration as data: frozen dataclasses with the official defaults.

`NetworkConfig` holds everything that shapes the generator and the discriminator
(official `G_style`/`G_mapping`/`G_synthesis`/`D_basic` arguments); the other
dataclasses hold the training setup (progressive schedule, losses, Adam, EMA).
`Config` nests them, round-trips through JSON (`to_dict`/`from_dict`) and is
checked by `validate()`, whose errors name the field and the value received.

Named presets live in `stylegan_tf.presets`; the paper's ablation configurations
A-F (Table 1) are applied with `with_ablation`.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from typing import Any, Mapping

from stylegan_tf.augment.presets import resolve_multipliers
from stylegan_tf.errors import UserError

FUSED_SCALE_CHOICES = ("auto", "always", "never")
G_LOSSES = ("logistic_ns", "wgan")
D_LOSSES = ("logistic_r1", "wgan_gp")


def is_power_of_two(n: int) -> bool:
    return isinstance(n, int) and n > 0 and (n & (n - 1)) == 0


def require(condition: bool, field_name: str, value: Any, requirement: str) -> None:
    """A `UserError` naming the config field, what it must be, and the value received."""
    if not condition:
        raise UserError(f"Config field `{field_name}` {requirement}. Received: {field_name}={value!r}")


def require_fields(config: Any, prefix: str, *, positive_ints=(), non_negative_ints=(), unit_interval=(),
                   positive=(), non_negative=()) -> None:
    """The field checks every config section shares, by kind: each named field of `config` must be
    a positive / non-negative integer, in [0, 1], positive, or non-negative."""
    rules = ((positive_ints, lambda v: isinstance(v, int) and v >= 1, "must be a positive integer"),
             (non_negative_ints, lambda v: isinstance(v, int) and v >= 0, "must be a non-negative integer"),
             (unit_interval, lambda v: 0.0 <= v <= 1.0, "must be in [0, 1]"),
             (positive, lambda v: v > 0, "must be positive"),
             (non_negative, lambda v: v >= 0, "must not be negative"))
    for names, ok, requirement in rules:
        for name in names:
            value = getattr(config, name)
            require(ok(value), prefix + name, value, requirement)


def fmap_base_of_cbase(cbase: int) -> int:
    """The TF `fmap_base` of an official PyTorch `--cbase` (channel base): half of it, which must be even."""
    if cbase % 2:
        raise ValueError("must be even (the TF fmap_base is cbase / 2)")
    return cbase // 2


def require_style_network(config: Any, family: str, min_resolution: int = 4) -> None:
    """The checks of the fields every style-based network config shares (family, resolution,
    truncation, w tracking, style mixing, minibatch stddev)."""
    p = "network."
    require(config.family == family, p + "family", config.family, f"must be {family!r} for this config class")
    require(is_power_of_two(config.resolution) and min_resolution <= config.resolution <= 4096,
            p + "resolution", config.resolution, f"must be a power of two between {min_resolution} and 4096")
    require_fields(config, p, positive_ints=("num_channels", "latent_size", "mapping_fmaps"),
                   non_negative_ints=("label_size", "mbstd_num_features"),
                   unit_interval=("w_avg_beta", "style_mixing_prob"), positive=("mapping_lrmul",))
    require(isinstance(config.mbstd_group_size, int), p + "mbstd_group_size", config.mbstd_group_size,
            "must be an integer")
    cutoff = config.truncation_cutoff
    require(cutoff is None or (isinstance(cutoff, int) and cutoff >= 0), p + "truncation_cutoff", cutoff,
            "must be a non-negative integer or None")


@dataclass(frozen=True)
class NetworkConfig:
    """Architecture of G and D (official defaults: FFHQ 1024x1024, config F).

    Feature maps per stage follow `nf(stage) = min(int(fmap_base / 2**(stage *
    fmap_decay)), fmap_max)`; the block at resolution 2**r has nf(r - 1) maps.
    """

    family:             str   = "stylegan1"  # Network family (`stylegan_tf.families`); fixed for this class.
    resolution:         int   = 1024     # Output resolution, a power of two >= 4.
    num_channels:       int   = 3        # Image channels (3 = RGB).
    label_size:         int   = 0        # Number of classes for conditional networks, 0 = unconditional.
    fmap_base:          int   = 8192     # Overall multiplier for the number of feature maps.
    fmap_decay:         float = 1.0      # log2 feature-map reduction when doubling the resolution.
    fmap_max:           int   = 512      # Maximum number of feature maps in any layer.
    latent_size:        int   = 512      # Dimensionality of z.
    dlatent_size:       int   = 512      # Dimensionality of w (when the mapping has layers).
    mapping_layers:     int   = 8        # Dense layers in the mapping network, 0 = no mapping (configs A, B).
    mapping_fmaps:      int   = 512      # Width of the hidden mapping layers.
    mapping_lrmul:      float = 0.01     # Learning-rate multiplier of the mapping layers.
    normalize_latents:  bool  = True     # Pixel-normalise z (after label concatenation).
    const_input:        bool  = True     # Learned 4x4 constant input (config D on); False = z through a dense layer.
    use_styles:         bool  = True     # AdaIN style modulation (config C on).
    use_noise:          bool  = True     # Per-layer noise inputs (config E on).
    use_pixel_norm:     bool  = False    # Pixel norm in the generator epilogue (ProGAN baseline, configs A, B).
    use_instance_norm:  bool  = True     # Instance norm in the generator epilogue (config C on).
    blur:               bool  = True     # [1,2,1] blur after upsampling / before downsampling (config B on).
    fused_scale:        str   = "auto"   # Fused up/downsampling convs: "auto" (>= 128x128, official), "always", "never".
    mbstd_group_size:   int   = 4        # Minibatch-stddev group size, <= 1 = off.
    mbstd_num_features: int   = 1        # Minibatch-stddev feature maps.
    truncation_psi:     float = 0.7      # Default truncation psi at inference, 1.0 = off.
    truncation_cutoff:  int   = 8        # Truncate only the first `cutoff` layers (4x4 .. 32x32).
    w_avg_beta:         float = 0.995    # Decay of the tracked average w (training only).
    style_mixing_prob:  float = 0.9      # Style-mixing regularisation probability (config F), 0 = off.
    num_fp16_res:       int   = 4        # Under --mixed-precision: the top N resolutions in float16/bfloat16 (ADA).
    conv_clamp:         float | None = None  # Clamp conv outputs to +-X; None = 256 under float16 only (ADA).

    @property
    def resolution_log2(self) -> int:
        return int(math.log2(self.resolution))

    @property
    def num_layers(self) -> int:
        """Number of style inputs / synthesis layers: two per resolution."""
        return 2 * self.resolution_log2 - 2

    @property
    def w_dim(self) -> int:
        """Width of w: the last mapping layer, or the normalised [z, label embedding] without one."""
        if self.mapping_layers > 0:
            return self.dlatent_size
        return self.latent_size * (2 if self.label_size else 1)

    # The official `train.py` switches (StyleGAN3 / ADA `--cbase`, `--cmax`, `--map-depth`,
    # `--mbstd-group`, `--freezed`) this family takes: option -> (`Config.replace` key, converter).
    # `--cbase` is the PyTorch channel base, twice the TF `fmap_base` (nf(r - 1) = 2 fmap_base / 2**r);
    # no `--freezed`: this discriminator has no FreezeD layers (`train.py` refuses the option).
    OFFICIAL_OPTIONS = {"cbase": ("network__fmap_base", fmap_base_of_cbase),
                        "cmax": ("network__fmap_max", int), "map": ("network__mapping_layers", int),
                        "mbstd_group": ("network__mbstd_group_size", int)}

    # The mapping network's conventions (`networks.mapping.MappingNetwork`): labels concatenated
    # to z (`LabelConcat`), the lrelu gain in the weights (v1's dense layers).
    label_mode = "concat"
    mapping_weight_gain = True

    def nf(self, stage: int) -> int:
        """Feature maps at a stage (official `nf`)."""
        return min(int(self.fmap_base / (2.0 ** (stage * self.fmap_decay))), self.fmap_max)

    def fp16_resolution(self) -> int:
        """Lowest resolution in the mixed dtype (ADA: max(2**(log2 res + 1 - num_fp16_res), 8))."""
        return max(2 ** (self.resolution_log2 + 1 - self.num_fp16_res), 8)

    def is_fused(self, res_log2: int) -> bool:
        """Whether the up/down-sampling conv of the block at 2**res_log2 is fused (official 'auto': >= 128)."""
        if self.fused_scale == "always":
            return True
        if self.fused_scale == "never":
            return False
        return 2**res_log2 >= 128

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def coerce(cls, value: "NetworkConfig | Mapping[str, Any]") -> "NetworkConfig":
        """A `NetworkConfig` from itself or from its dict (as stored in `.keras` files), validated."""
        config = value if isinstance(value, cls) else dataclass_from_dict(cls, value, "network.")
        return config.validate()

    def validate(self) -> "NetworkConfig":
        p = "network."
        require_style_network(self, "stylegan1")
        require_fields(self, p, positive_ints=("fmap_base", "fmap_max", "dlatent_size"),
                       non_negative_ints=("mapping_layers", "num_fp16_res"))
        require(self.conv_clamp is None or self.conv_clamp > 0, p + "conv_clamp", self.conv_clamp,
                "must be positive or None")
        require(self.fused_scale in FUSED_SCALE_CHOICES, p + "fused_scale", self.fused_scale,
               f"must be one of {FUSED_SCALE_CHOICES}")
        require(self.nf(1) >= 1, p + "fmap_base", self.fmap_base, "gives no feature maps at 4x4")
        require(self.nf(self.resolution_log2 - 1) >= 1, p + "fmap_base", self.fmap_base,
               f"gives no feature maps at {self.resolution}x{self.resolution}")
        if self.mbstd_group_size > 1:
            require(self.mbstd_num_features >= 1 and self.nf(1) % self.mbstd_num_features == 0,
                   p + "mbstd_num_features", self.mbstd_num_features,
                   f"must divide the {self.nf(1)} feature maps at 4x4")
        require(self.use_styles or not self.const_input, p + "const_input", self.const_input,
               "needs use_styles=True: without styles a constant input ignores z")
        return self


@dataclass(frozen=True)
class ScheduleConfig:
    """Progressive-growing schedule (official `TrainingSchedule`), in kimg of real images shown."""

    progressive:            bool  = True    # False = train at the full resolution from the start.
    lod_initial_resolution: int   = 8       # First resolution trained.
    lod_training_kimg:      float = 600.0   # kimg of stable training per resolution.
    lod_transition_kimg:    float = 600.0   # kimg of fade-in per resolution.
    total_kimg:             float = 25000.0 # Length of the whole run.
    minibatch_base:         int   = 4       # Global minibatch where minibatch_dict has no entry.
    minibatch_dict:         Mapping[int, int] = field(default_factory=lambda: {
        4: 128, 8: 128, 16: 128, 32: 64, 64: 32, 128: 16, 256: 8, 512: 4})
    g_lrate_base:           float = 0.001
    g_lrate_dict:           Mapping[int, float] = field(default_factory=lambda: {
        128: 0.0015, 256: 0.002, 512: 0.003, 1024: 0.003})
    d_lrate_base:           float = 0.001
    d_lrate_dict:           Mapping[int, float] = field(default_factory=lambda: {
        128: 0.0015, 256: 0.002, 512: 0.003, 1024: 0.003})
    tick_kimg_base:         float = 160.0
    tick_kimg_dict:         Mapping[int, float] = field(default_factory=lambda: {
        4: 160, 8: 140, 16: 120, 32: 100, 64: 80, 128: 60, 256: 40, 512: 30, 1024: 20})
    reset_opt_for_new_lod:  bool  = True    # Reset Adam state when floor(lod) or ceil(lod) changes.

    def validate(self, resolution: int) -> "ScheduleConfig":
        p = "schedule."
        require(is_power_of_two(self.lod_initial_resolution) and 4 <= self.lod_initial_resolution <= resolution,
               p + "lod_initial_resolution", self.lod_initial_resolution,
               f"must be a power of two between 4 and the network resolution {resolution}")
        for name in ("lod_training_kimg", "lod_transition_kimg", "total_kimg"):
            require(getattr(self, name) >= 0, p + name, getattr(self, name), "must not be negative")
        require(self.minibatch_base >= 1, p + "minibatch_base", self.minibatch_base, "must be at least 1")
        for name in ("minibatch_dict", "g_lrate_dict", "d_lrate_dict", "tick_kimg_dict"):
            for res, value in getattr(self, name).items():
                require(is_power_of_two(res) and value > 0, f"{p}{name}[{res}]", value,
                       "must map power-of-two resolutions to positive values")
        return self


@dataclass(frozen=True)
class LossConfig:
    """StyleGAN (v1) losses (official `training/loss.py`): non-saturating logistic + R1 (FFHQ), or
    WGAN-GP (ProGAN, CelebA-HQ). The other families' loss settings are their own dataclasses
    (`families.Family.loss_config`), so `Config.loss` is the family's."""

    g_loss:       str   = "logistic_ns"  # "logistic_ns" (G_logistic_nonsaturating) or "wgan".
    d_loss:       str   = "logistic_r1"  # "logistic_r1" (D_logistic_simplegp, R1 on reals) or "wgan_gp".
    r1_gamma:     float = 10.0           # R1 weight: (gamma / 2) * ||grad D(real)||^2.
    wgan_lambda:  float = 10.0           # WGAN-GP gradient-penalty weight.
    wgan_epsilon: float = 0.001          # WGAN-GP drift term on real scores.
    wgan_target:  float = 1.0            # WGAN-GP target gradient norm.

    def validate(self) -> "LossConfig":
        require(self.g_loss in G_LOSSES, "loss.g_loss", self.g_loss, f"must be one of {G_LOSSES}")
        require(self.d_loss in D_LOSSES, "loss.d_loss", self.d_loss, f"must be one of {D_LOSSES}")
        require_fields(self, "loss.", non_negative=("r1_gamma", "wgan_lambda", "wgan_epsilon"),
                       positive=("wgan_target",))
        return self

    def for_finetuning(self) -> "LossConfig":
        """The settings of a run that starts from trained networks (official `--resume`): unchanged."""
        return self


# The fields of the single loss section all families shared before each had its own, with their
# defaults: a stored config (checkpoint, training_options.json) may hold them; at these values
# they are read as absent.
LEGACY_LOSS_DEFAULTS: dict[str, Any] = dict(
    g_loss="logistic_ns", d_loss="logistic_r1", r1_gamma=10.0, wgan_lambda=10.0, wgan_epsilon=0.001,
    wgan_target=1.0, r1_interval=1, pl_weight=0.0, pl_interval=4, pl_decay=0.01, pl_batch_shrink=2,
    blur_init_sigma=0.0, blur_fade_kimg=0.0)


ADAM_EPSILON_FORMS = ("tf", "torch")


@dataclass(frozen=True)
class OptimizerConfig:
    """Adam as the official code sets it, for both networks.

    `epsilon_form` is where epsilon enters: "tf" adds it to sqrt(v) before the bias correction
    (TensorFlow's and Keras' Adam, used by the official TF v1 and StyleGAN2 code), "torch" after
    it (`torch.optim.Adam`, used by StyleGAN2-ADA and StyleGAN3). They differ while sqrt(v) is
    near epsilon, e.g. for the mapping network's ~1e-6 gradients (lr multiplier 0.01)."""

    beta_1:  float = 0.0
    beta_2:  float = 0.99
    epsilon: float = 1e-8
    epsilon_form: str = "tf"   # "tf" (official TF code) or "torch" (official PyTorch code).

    def validate(self) -> "OptimizerConfig":
        require(0.0 <= self.beta_1 < 1.0, "optimizer.beta_1", self.beta_1, "must be in [0, 1)")
        require(0.0 <= self.beta_2 < 1.0, "optimizer.beta_2", self.beta_2, "must be in [0, 1)")
        require(self.epsilon > 0, "optimizer.epsilon", self.epsilon, "must be positive")
        require(self.epsilon_form in ADAM_EPSILON_FORMS, "optimizer.epsilon_form", self.epsilon_form,
                f"must be one of {ADAM_EPSILON_FORMS}")
        return self


@dataclass(frozen=True)
class TrainingConfig:
    """Everything else the official training loop sets."""

    mirror_augment:    bool  = True   # Random horizontal flips of the reals.
    g_ema_kimg:        float = 10.0   # Half-life of the Gs moving average, beta = 0.5 ** (minibatch / (g_ema_kimg * 1000)).
    g_ema_rampup:      float | None = None  # ADA ramp-up: half-life min(g_ema_kimg, kimg shown * rampup), None = off.
    d_repeats:         int   = 1      # D steps per G step.
    minibatch_repeats: int   = 4      # Steps between schedule (lod, learning rate) updates, as the official loop.
    snapshot_ticks:    int   = 10     # Network snapshot (checkpoint, export, metrics) every N ticks.
    freeze_d:          int   = 0      # FreezeD (Mo et al. 2020; official --freezed): D's top N layers not trained.
    batch_gpu:         int | None = None  # Official batch_gpu: samples per replica and accumulation round; None = all.

    def validate(self) -> "TrainingConfig":
        require(self.g_ema_kimg >= 0, "training.g_ema_kimg", self.g_ema_kimg, "must not be negative")
        require(self.g_ema_rampup is None or self.g_ema_rampup > 0, "training.g_ema_rampup", self.g_ema_rampup,
               "must be positive or None")
        require(self.batch_gpu is None or (isinstance(self.batch_gpu, int) and self.batch_gpu >= 1),
                "training.batch_gpu", self.batch_gpu, "must be a positive integer or None")
        require(isinstance(self.freeze_d, int) and self.freeze_d >= 0, "training.freeze_d", self.freeze_d,
                "must be a non-negative integer")
        for name in ("d_repeats", "minibatch_repeats", "snapshot_ticks"):
            require(isinstance(getattr(self, name), int) and getattr(self, name) >= 1,
                   "training." + name, getattr(self, name), "must be a positive integer")
        return self


AUGMENT_MODES = ("noaug", "ada", "fixed")


@dataclass(frozen=True)
class AugmentConfig:
    """Discriminator augmentation (StyleGAN2-ADA, Karras et al. 2020): every image D sees is augmented
    with probability p; "ada" adjusts p from the overfitting heuristic r_t = E[sign(D(reals))]."""

    mode:     str   = "noaug"  # "noaug", "ada" (adaptive p) or "fixed" (p stays at `p`).
    p:        float = 0.0      # Initial (ada) or constant (fixed) augmentation probability.
    target:   float = 0.6      # ADA target of r_t.
    pipe:     str   = "bgc"    # Augmentation pipeline preset (official names: blit, geom, color, bg, bgc, ...).
    interval: int   = 4        # Minibatches between adjustments of p.
    kimg:     float = 500.0    # p can go from 0 to 1 in this many kimg (official ada_kimg; 100 when resuming).
    # p, the heuristic's accumulator and the last r_t are saved in checkpoints: a resumed run continues
    # with its p (the official code restarts at p = 0).

    def validate(self) -> "AugmentConfig":
        require(self.mode in AUGMENT_MODES, "augment.mode", self.mode, f"must be one of {AUGMENT_MODES}")
        require(0.0 <= self.p <= 1.0, "augment.p", self.p, "must be in [0, 1]")
        require(0.0 < self.target < 1.0, "augment.target", self.target, "must be in (0, 1)")
        require(isinstance(self.interval, int) and self.interval >= 1, "augment.interval", self.interval,
               "must be a positive integer")
        require(self.kimg > 0, "augment.kimg", self.kimg, "must be positive")
        resolve_multipliers(self.pipe)  # UserError naming augment.pipe for unknown / unimplemented presets.
        return self


@dataclass(frozen=True)
class Config:
    """A whole experiment: networks + schedule + losses + optimizer + training loop."""

    name:      str             = "ffhq"
    network:   Any             = field(default_factory=NetworkConfig)  # The family's network config.
    schedule:  ScheduleConfig  = field(default_factory=ScheduleConfig)
    loss:      Any             = None   # The family's loss config (None: its defaults).
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    training:  TrainingConfig  = field(default_factory=TrainingConfig)
    augment:   AugmentConfig   = field(default_factory=AugmentConfig)

    def __post_init__(self):
        if self.loss is None:
            from stylegan_tf import families

            loss = families.get(families.family_name(self.network)).loss_config_class()()
            object.__setattr__(self, "loss", loss)

    def validate(self) -> "Config":
        from stylegan_tf import families

        self.network.validate()
        self.schedule.validate(self.network.resolution)
        expected = families.get(families.family_name(self.network)).loss_config_class()
        require(type(self.loss) is expected, "loss", type(self.loss).__name__,
                f"must be a {expected.__name__} for a {self.network.family} network")
        self.loss.validate()
        self.optimizer.validate()
        self.training.validate()
        self.augment.validate()
        return self

    def replace(self, **sections: Any) -> "Config":
        """Returns a copy with whole sections or `section__field=value` overrides replaced."""
        updates: dict[str, Any] = {}
        nested: dict[str, dict[str, Any]] = {}
        for key, value in sections.items():
            if "__" in key:
                section, name = key.split("__", 1)
                nested.setdefault(section, {})[name] = value
            else:
                updates[key] = value
        for section, values in nested.items():
            base = updates.get(section, getattr(self, section, None))
            if not dataclasses.is_dataclass(base):
                raise UserError(f"Unknown config section `{section}`. Received: {section}__...")
            known = {f.name for f in dataclasses.fields(base)}
            for name in values:
                if name not in known:
                    raise UserError(f"Unknown config field `{section}.{name}`; known fields: {sorted(known)}")
            updates[section] = dataclasses.replace(base, **values)
        return dataclasses.replace(self, **updates)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Config":
        """Builds a config from `to_dict()` output; unknown keys are an error naming them."""
        return dataclass_from_dict(cls, data, "")

    @classmethod
    def from_json(cls, text: str) -> "Config":
        return cls.from_dict(json.loads(text))


def dataclass_from_dict(cls: type, data: Mapping[str, Any], prefix: str) -> Any:
    if not isinstance(data, Mapping):
        raise UserError(f"Config section `{prefix or 'config'}` must be a JSON object. Received: {data!r}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise UserError(f"Unknown config field(s) {[prefix + k for k in unknown]}; known: {sorted(fields)}")
    kwargs: dict[str, Any] = {}
    for name, value in data.items():
        default = fields[name].default_factory() if fields[name].default_factory is not dataclasses.MISSING \
            else fields[name].default
        if name in ("network", "loss") and cls is Config:
            kwargs[name] = _family_section(name, value, data.get("network", {}), prefix)
        elif dataclasses.is_dataclass(default):
            kwargs[name] = dataclass_from_dict(type(default), value, f"{prefix}{name}.")
        elif isinstance(default, Mapping):
            kwargs[name] = {int(k): v for k, v in value.items()}
        elif isinstance(default, tuple) and isinstance(value, (list, tuple)):
            kwargs[name] = tuple(value)  # JSON has no tuples.
        else:
            kwargs[name] = value
    return cls(**kwargs)


def _family_section(name: str, value: Any, network: Any, prefix: str) -> Any:
    """The network or loss section of a stored config, as the dataclass of the network's family;
    a loss section written before the families had their own keeps loading (`LEGACY_LOSS_DEFAULTS`)."""
    from stylegan_tf import families

    family = families.get(families.family_name(network))
    if name == "network":
        return dataclass_from_dict(family.config_class(), value, f"{prefix}network.")
    cls = family.loss_config_class()
    if isinstance(value, Mapping):
        own = {f.name for f in dataclasses.fields(cls)}
        value = {k: v for k, v in value.items()
                 if k in own or k not in LEGACY_LOSS_DEFAULTS or v != LEGACY_LOSS_DEFAULTS[k]}
    return dataclass_from_dict(cls, value, f"{prefix}loss.")


# The paper's Table 1 configurations, as the official train.py switches them (A is
# the tuned baseline without the bilinear up/down filtering, see README).
ABLATIONS: dict[str, dict[str, Any]] = {
    "A": dict(blur=False, mapping_layers=0, use_styles=False, use_pixel_norm=True, use_instance_norm=False,
              const_input=False, use_noise=False, style_mixing_prob=0.0, truncation_psi=1.0),
    "B": dict(blur=True, mapping_layers=0, use_styles=False, use_pixel_norm=True, use_instance_norm=False,
              const_input=False, use_noise=False, style_mixing_prob=0.0, truncation_psi=1.0),
    "C": dict(blur=True, mapping_layers=8, use_styles=True, use_pixel_norm=False, use_instance_norm=True,
              const_input=False, use_noise=False, style_mixing_prob=0.0),
    "D": dict(blur=True, mapping_layers=8, use_styles=True, use_pixel_norm=False, use_instance_norm=True,
              const_input=True, use_noise=False, style_mixing_prob=0.0),
    "E": dict(blur=True, mapping_layers=8, use_styles=True, use_pixel_norm=False, use_instance_norm=True,
              const_input=True, use_noise=True, style_mixing_prob=0.0),
    "F": dict(blur=True, mapping_layers=8, use_styles=True, use_pixel_norm=False, use_instance_norm=True,
              const_input=True, use_noise=True, style_mixing_prob=0.9),
}


def with_ablation(config: Config, letter: str) -> Config:
    """Switches the network to one of the paper's configurations A-F (Table 1).

    The preset's own `truncation_psi`, widths and mapping depth are kept where the
    configuration does not switch them off (C-F keep `mapping_layers` if non-zero).
    """
    key = letter.upper()
    if getattr(config.network, "family", "stylegan1") != "stylegan1":
        raise UserError(f"--ablation A-F are the StyleGAN v1 paper's configurations (Table 1); preset "
                        f"{config.name!r} is {config.network.family}. Received: ablation={letter!r}")
    if key not in ABLATIONS:
        raise UserError(f"Unknown ablation configuration. Received: ablation={letter!r}; valid: {sorted(ABLATIONS)}")
    switches = dict(ABLATIONS[key])
    if switches["mapping_layers"] and config.network.mapping_layers:
        switches["mapping_layers"] = config.network.mapping_layers
    if "truncation_psi" not in switches:
        switches["truncation_psi"] = config.network.truncation_psi
    network = dataclasses.replace(config.network, **switches)
    return dataclasses.replace(config, network=network)
