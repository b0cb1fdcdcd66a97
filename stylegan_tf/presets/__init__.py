"""Named configurations: a registry from preset name to a function building a `Config`.

    from stylegan_tf import presets
    config = presets.get("ffhq")                   # official FFHQ 1024, config F
    config = presets.get("small", ablation="E")    # CPU-sized, paper config E

`list_presets()` names them all; an unknown name is a `UserError` listing the valid ones.
Each family registers its presets from its own module (`presets/stylegan1.py`,
`presets/stylegan2.py`, `presets/stylegan3.py`: the `presets` entry of `stylegan_tf.families`),
imported here the first time a preset is asked for.
"""

from __future__ import annotations

from stylegan_tf.config import Config, with_ablation
from stylegan_tf.presets.registry import (BATCH_RULES, PRESETS, RESOLUTION_RULES, known, register_batch_rule,
                                          register_preset, register_resolution_rule)

__all__ = ["get", "list_presets", "with_batch", "at_resolution", "resolution_dependent", "register_preset",
           "register_batch_rule", "register_resolution_rule"]


def _load_families() -> None:
    from stylegan_tf import families

    for family in families.FAMILIES.values():
        family.presets_module()


def list_presets() -> dict[str, str]:
    """Preset names and their one-line descriptions."""
    _load_families()
    return {name: description for name, (description, _) in PRESETS.items()}


def get(name: str, ablation: str | None = None) -> Config:
    """Builds, optionally switches to a paper configuration A-F, and validates a preset."""
    _load_families()
    known(name)
    config = PRESETS[name][1]()
    if ablation is not None:
        config = with_ablation(config, ablation)
    return config.validate()


def with_batch(name: str, config: Config, batch: int) -> Config:
    """`config` (built from preset `name`) at global minibatch `batch`, with the preset's
    batch-dependent settings (EMA half-lives, ...) re-derived where it has a rule."""
    _load_families()
    config = config.replace(schedule__minibatch_base=int(batch), schedule__minibatch_dict={})
    rule = BATCH_RULES.get(name)
    return rule(config, int(batch)) if rule is not None else config


def resolution_dependent(name: str) -> bool:
    """Whether preset `name` is built from the dataset's resolution (ADA 'auto')."""
    _load_families()
    return name in RESOLUTION_RULES


def at_resolution(name: str, resolution: int) -> Config:
    """Preset `name` built for `resolution` (a preset with a resolution rule), else the preset itself."""
    _load_families()
    known(name)
    build = RESOLUTION_RULES.get(name)
    return build(int(resolution)) if build is not None else PRESETS[name][1]()
