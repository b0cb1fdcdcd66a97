"""The official augmentation presets (ADA `train.py` `augpipe_specs`): per-transform probability
multipliers. Free of TensorFlow, so configs and the command line can check pipeline names."""

from __future__ import annotations

from typing import Mapping

from stylegan_tf.errors import UserError

GEOMETRIC = ("xflip", "rotate90", "xint", "scale", "rotate", "aniso", "xfrac")
COLOR = ("brightness", "contrast", "lumaflip", "hue", "saturation")
OTHER = ("imgfilter", "noise", "cutout")
TRANSFORMS = GEOMETRIC + COLOR + OTHER
NOT_IMPLEMENTED = ("imgfilter",)

_BLIT = dict(xflip=1, rotate90=1, xint=1)
_GEOM = dict(scale=1, rotate=1, aniso=1, xfrac=1)
_COLOR = dict(brightness=1, contrast=1, lumaflip=1, hue=1, saturation=1)
# The official `--augpipe` presets (ADA `train.py` `augpipe_specs`).
PRESETS: dict[str, dict[str, float]] = {
    "blit": _BLIT, "geom": _GEOM, "color": _COLOR,
    "filter": dict(imgfilter=1), "noise": dict(noise=1), "cutout": dict(cutout=1),
    "bg": {**_BLIT, **_GEOM}, "bgc": {**_BLIT, **_GEOM, **_COLOR},
    "bgcf": {**_BLIT, **_GEOM, **_COLOR, "imgfilter": 1},
    "bgcfn": {**_BLIT, **_GEOM, **_COLOR, "imgfilter": 1, "noise": 1},
    "bgcfnc": {**_BLIT, **_GEOM, **_COLOR, "imgfilter": 1, "noise": 1, "cutout": 1},
}


def resolve_multipliers(pipe: str | None = "bgc", multipliers: Mapping[str, float] | None = None) -> dict:
    """Per-transform probability multipliers of a preset, with explicit overrides; checked."""
    if pipe is not None and pipe not in PRESETS:
        raise UserError(f"Unknown augmentation pipeline `augment.pipe`. Received: {pipe!r}; "
                        f"valid: {sorted(PRESETS)}")
    out = {name: 0.0 for name in TRANSFORMS}
    out.update(PRESETS[pipe] if pipe is not None else {})
    for name, value in (multipliers or {}).items():
        if name not in TRANSFORMS:
            raise UserError(f"Unknown augmentation transform {name!r}; valid: {list(TRANSFORMS)}")
        out[name] = float(value)
    for name, value in out.items():
        if not value >= 0:
            raise UserError(f"Augmentation multiplier `{name}` must not be negative. Received: {value!r}")
    missing = [name for name in NOT_IMPLEMENTED if out[name] > 0]
    if missing:
        raise UserError(f"Augmentation pipeline {pipe!r} uses {missing} (image-space filtering), which is not "
                        f"implemented; use one of blit, geom, color, bg, bgc, noise, cutout.")
    return {k: float(v) for k, v in out.items()}
