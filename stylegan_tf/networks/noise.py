"""Per-pixel noise inputs of a synthesis network: shapes, flat vectors, fixed maps (all families).

Every synthesis layer with noise takes one map [N, h, w, 1] shared by its channels
(v1 paper sec. 3.2; StyleGAN2 keeps it). `NoiseInputs` is the bookkeeping a synthesis
network needs around them, shared by the families:

    shapes = net.noise_shapes(resolution)            # [(h, w)] per noise input, in layer order
    flat = keras.random.normal((N, net.noise_size()))  # one vector per sample ...
    maps = net.split_noise(flat)                     # ... to the per-layer maps
    net.const_noise()                                # the fixed maps as one [1, noise_size] tensor

A network mixing it in provides `noise_shapes(resolution)`, `fixed_noise_maps()`
(per noise input, its fixed [1, h, w, 1] map or None) and `seed_generator`; it may
override `noise_enabled` (False: the network has no noise at all).
"""

from __future__ import annotations

import keras
from keras import ops

NOISE_MODES = ("random", "const", "none")


class NoiseInputs:
    """Mixin: noise sizes, flat <-> per-layer conversion, and the resolution of `noise_mode`."""

    noise_enabled = True

    def noise_shapes(self, resolution=None):  # pragma: no cover - provided by the network
        raise NotImplementedError

    def fixed_noise_maps(self):  # pragma: no cover - provided by the network
        raise NotImplementedError

    def noise_size(self, resolution=None):
        """Number of noise values per sample at `resolution`: the length of a flat noise vector."""
        return sum(h * w for h, w in self.noise_shapes(resolution))

    def split_noise(self, flat, resolution=None):
        """A flat [N, noise_size] tensor to the per-layer list of [N, h, w, 1] maps."""
        maps, offset = [], 0
        for h, w in self.noise_shapes(resolution):
            maps.append(ops.reshape(flat[:, offset: offset + h * w], [-1, h, w, 1]))
            offset += h * w
        return maps

    def const_noise(self, resolution=None):
        """The fixed noise maps as one flat [1, noise_size] tensor (layers without noise give zeros)."""
        parts = []
        for fixed, (h, w) in zip(self.fixed_noise_maps(), self.noise_shapes(resolution)):
            parts.append(ops.reshape(ops.convert_to_tensor(fixed), [1, h * w]) if fixed is not None
                         else ops.zeros((1, h * w)))
        return ops.concatenate(parts, axis=1)

    def _resolve_noise(self, batch, num_layers, resolution, noise_mode, noise):
        """(per-layer maps or None = the layer's fixed map, use_noise) for a forward call.

        Explicit `noise` (a list of maps or a flat tensor) overrides `noise_mode`;
        "random" draws fresh N(0, 1) maps from `seed_generator`, "const" uses the fixed
        maps, "none" switches noise off.
        """
        if noise is not None:
            if not isinstance(noise, (list, tuple)):
                noise = self.split_noise(noise, resolution)
            if len(noise) != num_layers:
                raise ValueError(f"Expected {num_layers} noise maps for resolution {resolution}. "
                                 f"Received: {len(noise)}")
            return list(noise), True
        if noise_mode not in NOISE_MODES:
            raise ValueError(f"noise_mode must be one of {NOISE_MODES}. Received: noise_mode={noise_mode!r}")
        if noise_mode == "const" or not self.noise_enabled:
            return [None] * num_layers, True
        if noise_mode == "none":
            return [None] * num_layers, False
        return [keras.random.normal((batch, h, w, 1), dtype=self.compute_dtype, seed=self.seed_generator)
                for h, w in self.noise_shapes(resolution)], True
