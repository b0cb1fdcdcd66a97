"""The progressive-growing schedule as a pure function of images shown (official `TrainingSchedule`).

Each resolution phase is `lod_training_kimg` of stable training followed by
`lod_transition_kimg` of fade-in to the next resolution, starting at
`lod_initial_resolution`:

    phase     = floor(kimg / (train + transition))
    lod       = log2(R) - log2(initial) - phase - max(kimg_in_phase - train, 0) / transition, clipped at 0
    resolution = 2 ** (log2(R) - floor(lod))

The minibatch, learning rates and tick length come from per-resolution dictionaries.
Adam state is reset whenever floor(lod) or ceil(lod) changes (start and end of every
fade-in), as the official loop does with `reset_opt_for_new_lod`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from stylegan_tf.config import Config


@dataclass(frozen=True)
class Phase:
    """Training settings at one point of the schedule."""

    kimg: float
    lod: float
    resolution: int
    minibatch: int
    g_lrate: float
    d_lrate: float
    tick_kimg: float

    @property
    def alpha(self) -> float:
        """Fade-in weight of the newest resolution (1 - fractional part of lod)."""
        return 1.0 - (self.lod - math.floor(self.lod))


def lod_at(config: Config, kimg: float) -> float:
    """Level of detail after `kimg` thousand real images (0 = full resolution)."""
    s, R = config.schedule, config.network.resolution_log2
    if not s.progressive:
        return 0.0
    phase_dur = s.lod_training_kimg + s.lod_transition_kimg
    phase_idx = int(math.floor(kimg / phase_dur)) if phase_dur > 0 else 0
    phase_kimg = kimg - phase_idx * phase_dur
    lod = R - math.floor(math.log2(s.lod_initial_resolution)) - phase_idx
    if s.lod_transition_kimg > 0:
        lod -= max(phase_kimg - s.lod_training_kimg, 0.0) / s.lod_transition_kimg
    return max(lod, 0.0)


def phase_at(config: Config, kimg: float) -> Phase:
    """Everything the training loop needs at `kimg`."""
    s, R = config.schedule, config.network.resolution_log2
    lod = lod_at(config, kimg)
    resolution = 2 ** (R - int(math.floor(lod)))
    return Phase(kimg=kimg, lod=lod, resolution=resolution,
                 minibatch=int(s.minibatch_dict.get(resolution, s.minibatch_base)),
                 g_lrate=float(s.g_lrate_dict.get(resolution, s.g_lrate_base)),
                 d_lrate=float(s.d_lrate_dict.get(resolution, s.d_lrate_base)),
                 tick_kimg=float(s.tick_kimg_dict.get(resolution, s.tick_kimg_base)))


def optimizer_reset_needed(previous_lod: float, lod: float) -> bool:
    """Official rule: reset Adam when floor(lod) or ceil(lod) changes."""
    return (math.floor(previous_lod) != math.floor(lod)) or (math.ceil(previous_lod) != math.ceil(lod))


def gs_beta(minibatch: int, g_ema_kimg: float, cur_nimg: int = 0, rampup: float | None = None) -> float:
    """EMA decay of Gs: 0.5 ** (minibatch / (g_ema_kimg * 1000)), a half-life of g_ema_kimg kimg.

    With `rampup` (StyleGAN2-ADA `ema_rampup`, e.g. 0.05) the half-life is
    min(g_ema_kimg * 1000, cur_nimg * rampup) images, cur_nimg counted before this step (ADA:
    at step 0 Gs is a copy of G)."""
    ema_nimg = g_ema_kimg * 1000.0
    if rampup is not None:
        ema_nimg = min(ema_nimg, cur_nimg * rampup)
    if g_ema_kimg <= 0:
        return 0.0
    return 0.5 ** (minibatch / max(ema_nimg, 1e-8))
