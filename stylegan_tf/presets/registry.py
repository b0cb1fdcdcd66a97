"""The preset registry: preset name -> a function building a `Config`, with its batch and resolution rules.

Each family's presets module (named by its `families.Family.presets` entry) registers its
presets here on import; `stylegan_tf.presets` imports those modules when a preset is first asked for.
"""

from __future__ import annotations

from typing import Callable

from stylegan_tf.config import Config
from stylegan_tf.errors import UserError

PRESETS: dict[str, tuple[str, Callable[[], Config]]] = {}
# Presets whose settings follow the minibatch (official StyleGAN3 train.py): name -> rule(config, batch).
BATCH_RULES: dict[str, Callable[[Config, int], Config]] = {}
# Presets whose settings follow the dataset's resolution (ADA --cfg auto): name -> build(resolution).
RESOLUTION_RULES: dict[str, Callable[[int], Config]] = {}


def register_preset(name: str, description: str) -> Callable[[Callable[[], Config]], Callable[[], Config]]:
    """Decorator adding a config factory to the registry under `name`."""

    def wrap(factory: Callable[[], Config]) -> Callable[[], Config]:
        if name in PRESETS:
            raise ValueError(f"Preset {name!r} is registered twice")
        PRESETS[name] = (description, factory)
        return factory

    return wrap


def register_batch_rule(name: str):
    """Decorator: `rule(config, batch) -> Config` re-derives preset `name`'s batch-dependent settings."""

    def wrap(rule: Callable[[Config, int], Config]) -> Callable[[Config, int], Config]:
        BATCH_RULES[name] = rule
        return rule

    return wrap


def register_resolution_rule(name: str):
    """Decorator: `build(resolution) -> Config` builds preset `name` for a dataset's resolution."""

    def wrap(build: Callable[[int], Config]) -> Callable[[int], Config]:
        RESOLUTION_RULES[name] = build
        return build

    return wrap


def known(name: str) -> None:
    if name not in PRESETS:
        raise UserError(f"Unknown config preset. Received: config={name!r}; valid presets: {sorted(PRESETS)}")
