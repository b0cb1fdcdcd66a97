"""The input transform of networks with a Fourier-feature input (StyleGAN3, Karras et al. 2021,
sec. 3 / Appendix F): moving and turning the output, and the `pan` videos.

As the official `gen_images.py`, `--translate TX,TY` (image widths, +x right, +y down) and
`--rotate DEG` set the network's inverse input transform for a block of renders
(`input_transform`) and restore it afterwards. Which networks have one is their family's
registry flag (`Family.input_transform`); the matrix itself is the generator's own
`set_input_transform` (see `_set_transform`), so its math lives in one place.
"""

from __future__ import annotations

import contextlib
import math
from typing import Sequence

import numpy as np
from tqdm import tqdm

from stylegan_tf import families
from stylegan_tf.errors import UserError
from stylegan_tf.sampling import synthesize

PAN_PATHS = ("line", "circle")   # The paths of the `pan` video.


def transform_variable(G, option: str = "--translate/--rotate"):
    """The [3, 3] input transform variable of a StyleGAN3 network: `G.input_transform` of a Keras
    generator, or the restored `synthesis/input/transform` variable of an exported SavedModel (its
    endpoints read the variable, so assigning it moves their output too). Other families have no
    Fourier input: a `UserError` naming `option` and the family."""
    family = families.family_name(G.config)
    if not families.get(family).input_transform:
        raise UserError(f"{option}: only StyleGAN3 networks have an input transform (their Fourier-feature "
                        f"input); this is a {family} network.")
    variable = getattr(G, "input_transform", None)   # Keras G, or export.SavedModelGenerator's restored one
    if variable is None:
        raise UserError(f"{option}: cannot find the input transform of this {family} network "
                        f"({type(G).__name__}); use its .keras file.")
    return variable


def _set_transform(G, translate: Sequence[float] = (0.0, 0.0), angle: float = 0.0, matrix=None) -> None:
    """`G.set_input_transform(translate, angle, matrix)`: the Keras generator's own method. A SavedModel
    (`export.SavedModelGenerator`) holds the same restored variable as `G.input_transform` but not the
    method: its family's generator class sets it, so the official `inv(make_transform(...))` math is
    written once, in the network package."""
    setter = getattr(G, "set_input_transform", None)
    if setter is None:
        generator_class = families.get(families.family_name(G.config)).generator_class()
        setter = generator_class.set_input_transform.__get__(G)
    setter(translate=tuple(translate), angle=float(angle), matrix=matrix)


@contextlib.contextmanager
def input_transform(G, translate: Sequence[float] | None = None, angle: float | None = None,
                    option: str = "--translate/--rotate"):
    """Renders inside the block see the output moved by `translate` (image widths; +x right, +y down)
    and rotated by `angle` degrees; the network's transform is restored afterwards. As official
    gen_images.py the transform replaces the stored one (not composed with it). Nothing requested:
    nothing is touched (any family)."""
    if translate is None and angle is None:
        yield
        return
    saved = np.array(transform_variable(G, option).numpy())
    _set_transform(G, (0.0, 0.0) if translate is None else translate, angle or 0.0)
    try:
        yield
    finally:
        _set_transform(G, matrix=saved)


def pan_transforms(frames: int, path: str = "line", distance: float = 1.0, direction: float = 0.0,
                   rotate_speed: float = 0.0, translate: Sequence[float] = (0.0, 0.0),
                   angle: float = 0.0) -> list[tuple[tuple[float, float], float]]:
    """(translate, angle) of each frame of a pan: `line`: from `translate` to `translate` + `distance`
    image widths along `direction` degrees (0 = right, 90 = down), the last frame at the end;
    `circle`: once round the circle of radius `distance` centred on `translate`, starting at its
    `direction` point, the last frame one step before the first (a seamless loop).
    The angle is `angle` + i * `rotate_speed` degrees at frame i."""
    if frames < 1:
        raise UserError(f"--frames must be at least 1. Received: --frames={frames}")
    if path not in PAN_PATHS:
        raise UserError(f"--path must be one of {list(PAN_PATHS)}. Received: --path={path!r}")
    a = math.radians(direction)
    out = []
    for i in range(frames):
        if path == "line":
            r, phi = distance * (i / (frames - 1) if frames > 1 else 0.0), a
        else:
            r, phi = distance, a + 2.0 * math.pi * i / frames
        out.append(((translate[0] + r * math.cos(phi), translate[1] + r * math.sin(phi)), angle + i * rotate_speed))
    return out


def pan(G, w: np.ndarray, noise: np.ndarray, transforms: Sequence[tuple[Sequence[float], float]],
        progress: bool = False) -> np.ndarray:
    """Frames uint8 [F, H, W, C] of one w [1, L, D] (flat noise [1, noise_size]) under each
    (translate, angle) of `transforms` (`pan_transforms`): a StyleGAN3 network's output moving and
    turning, as the paper's equivariance videos. One frame per call (the transform is per network)."""
    frames = []
    for translate, angle in tqdm(transforms, desc="frames", disable=not progress, unit="frame"):
        with input_transform(G, translate, angle, option="pan"):
            frames.append(synthesize(G, w[:1], noise[:1], 1))
    return np.concatenate(frames)
