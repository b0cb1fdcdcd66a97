"""StyleGAN2 / StyleGAN2-ADA presets (official config F; the ADA paper's `cfg_specs`)."""

from __future__ import annotations
