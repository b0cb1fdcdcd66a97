"""The network families side by side: one registry keyed by `config.network.family`.

    from stylegan_tf import families
    G = families.build_generator(config.network, name="G")
    D = families.build_discriminator(config.network, name="D")
    loss = families.get(config.network.family).loss_class()(config)

Each family names, as import paths (nothing is imported until asked, so this module
and `stylegan_tf.config` stay free of Keras and TensorFlow): its network and loss config
dataclasses, generator, discriminator, loss (its training phases: `training.phases.FamilyLoss`;
the one `training.trainer.Trainer` runs them), presets module, and official-weights module
(`load_official_generator(G, variables)`, `load_official_discriminator(D, variables)`).
A new family is its network package, its loss, its presets module and an entry here; nothing
else in the package names a family.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Mapping

from stylegan_tf.errors import UserError


class FamilyNotAvailable(UserError):
    """A family's module does not exist in this version (a family still being written)."""


def _resolve(path: str) -> Any:
    module, _, attr = path.partition(":")
    try:
        obj = importlib.import_module(module)
    except ModuleNotFoundError as error:
        # Only the module itself (or a package above it) missing means "not available"; a module
        # that exists and fails on an import of its own keeps its error.
        if error.name is None or not (module == error.name or module.startswith(error.name + ".")):
            raise
        users = [f.name for f in FAMILIES.values() if path in vars(f).values()]
        raise FamilyNotAvailable(
            f"The {' / '.join(users) or 'requested'} network family is not available in this version of "
            f"stylegan_tf: {module} does not exist. Received: {path!r}; families: {sorted(FAMILIES)}") from error
    return getattr(obj, attr) if attr else obj


@dataclass(frozen=True)
class Family:
    name:          str
    description:   str
    config:        str   # Network config dataclass.
    loss_config:   str   # Loss config dataclass (`Config.loss`).
    generator:     str   # `StyleGenerator` subclass.
    discriminator: str
    loss:          str   # `training.phases.FamilyLoss` subclass: the phases of one iteration.
    presets:       str   # Module registering the family's presets (`stylegan_tf.presets.register_preset`).
    official:      str   # Module with load_official_generator / load_official_discriminator.
    pickle:        str   # Module recognising the family's official pickles: from_tensorflow(G, D) ->
                         # (config, generator kwargs) and/or from_pytorch(G_ema, D) -> config, None
                         # when the networks are another family's; RECOGNISES (what, for messages).
    noise_inputs:  bool = True    # Per-pixel noise inputs (G.noise_size(), const_noise(), synthesis(noise=)).
    input_transform: bool = False  # A user input transform of the Fourier input (G.set_input_transform).

    def config_class(self) -> type:
        return _resolve(self.config)

    def generator_class(self) -> type:
        return _resolve(self.generator)

    def discriminator_class(self) -> type:
        return _resolve(self.discriminator)

    def loss_config_class(self) -> type:
        return _resolve(self.loss_config)

    def loss_class(self) -> type:
        return _resolve(self.loss)

    def presets_module(self):
        return _resolve(self.presets)

    def official_module(self):
        return _resolve(self.official)

    def pickle_module(self):
        return _resolve(self.pickle)


FAMILIES: dict[str, Family] = {}


def register_family(family: Family) -> Family:
    if family.name in FAMILIES:
        raise ValueError(f"Family {family.name!r} is registered twice")
    FAMILIES[family.name] = family
    return family


register_family(Family(
    name="stylegan1", description="StyleGAN (Karras et al. 2019; ProGAN as config A): AdaIN, progressive growing.",
    config="stylegan_tf.config:NetworkConfig", loss_config="stylegan_tf.config:LossConfig",
    generator="stylegan_tf.networks.stylegan1.generator:Generator",
    discriminator="stylegan_tf.networks.stylegan1.discriminator:Discriminator",
    loss="stylegan_tf.training.stylegan1_loss:StyleGAN1Loss", presets="stylegan_tf.presets.stylegan1",
    official="stylegan_tf.networks.stylegan1.official_weights", pickle="stylegan_tf.official.stylegan1_pickle"))

register_family(Family(
    name="stylegan2", description="StyleGAN2 (Karras et al. 2020; config F): weight demodulation, skip G, "
                                  "residual D, lazy R1, path-length regularisation; with ADA (2020).",
    config="stylegan_tf.networks.stylegan2.config:StyleGAN2Config",
    loss_config="stylegan_tf.networks.stylegan2.config:StyleGAN2LossConfig",
    generator="stylegan_tf.networks.stylegan2.generator:Generator",
    discriminator="stylegan_tf.networks.stylegan2.discriminator:Discriminator",
    loss="stylegan_tf.training.stylegan2_loss:StyleGAN2Loss", presets="stylegan_tf.presets.stylegan2",
    official="stylegan_tf.networks.stylegan2.official_weights", pickle="stylegan_tf.official.stylegan2_pickle"))

register_family(Family(
    name="stylegan3", description="StyleGAN3 (Karras et al. 2021; configs T and R): alias-free generator with "
                                  "Fourier-feature input and filtered non-linearities; StyleGAN2 residual D.",
    config="stylegan_tf.networks.stylegan3.config:StyleGAN3Config",
    loss_config="stylegan_tf.networks.stylegan3.config:StyleGAN3LossConfig",
    generator="stylegan_tf.networks.stylegan3.generator:Generator",
    discriminator="stylegan_tf.networks.stylegan3.discriminator:build_discriminator",
    loss="stylegan_tf.training.stylegan3_loss:StyleGAN3Loss", presets="stylegan_tf.presets.stylegan3",
    official="stylegan_tf.networks.stylegan3.official_weights", pickle="stylegan_tf.official.stylegan3_pickle",
    noise_inputs=False, input_transform=True))


def get(name: str) -> Family:
    if name not in FAMILIES:
        raise UserError(f"Unknown network family. Received: family={name!r}; valid: {sorted(FAMILIES)}")
    return FAMILIES[name]


def has_noise_inputs(G) -> bool:
    """Whether generator G (any format with a `config`) has per-pixel noise inputs (StyleGAN3: no)."""
    return get(family_name(G.config)).noise_inputs


def family_name(network_config: Any) -> str:
    """The family of a network config dataclass or of its dict (`family` absent = stylegan1,
    as in files written before the families existed)."""
    if isinstance(network_config, Mapping):
        return str(network_config.get("family", "stylegan1"))
    return getattr(network_config, "family", "stylegan1")


def network_config_class(network_config: Any) -> type:
    return get(family_name(network_config)).config_class()


def coerce_network_config(network_config: Any):
    """A validated network config dataclass of the right family, from itself or its dict."""
    return network_config_class(network_config).coerce(network_config)


def build_generator(network_config: Any, **kwargs):
    config = coerce_network_config(network_config)
    return get(config.family).generator_class()(config, **kwargs)


def build_discriminator(network_config: Any, **kwargs):
    config = coerce_network_config(network_config)
    return get(config.family).discriminator_class()(config, **kwargs)


def register_keras_classes() -> list[str]:
    """Imports every family's generator and discriminator modules, so that `.keras` files of
    any family load with `keras.models.load_model` (their classes register on import).

    `import stylegan_tf` calls this once Keras is imported (`stylegan_tf.keras_registration`).
    A family whose modules do not exist yet is skipped (using it raises `FamilyNotAvailable`).
    Returns the `"family.generator"` / `"family.discriminator"` parts registered."""
    registered = []
    for family in FAMILIES.values():
        for part, load in (("generator", family.generator_class), ("discriminator", family.discriminator_class)):
            try:
                load()
            except FamilyNotAvailable:
                continue
            registered.append(f"{family.name}.{part}")
    return registered
