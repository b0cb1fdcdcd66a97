"""Looking inside one synthesis call: the style affines and the layers' activations (any family).

Two things the editing tools and the explorer need from a Keras generator, found by watching one
eager `G.synthesis` call rather than by naming each family's layers:

- `style_affines(G)`: the style affine layers A_l (paper: "learned affine transformations" that
  specialise w to the styles of layer l; v1 sec. 2, StyleGAN2 sec. 2.2, StyleGAN3 sec. 3), each
  with the index l of the w row it reads and its weight measured as a matrix [out, w_dim]. An
  affine is any nested layer whose first input is exactly one row w[:, l] and whose output is an
  affine function of it (checked numerically); for configs A-C of v1 this includes the dense layer
  that maps w[:, 0] to the 4x4 input (ProGAN's first layer, which SeFa factorises for PGGAN).
- `activations(G, w, noise)`: the outputs of the synthesis network's top-level blocks / layers in
  call order, each [N, H, W, C] (a block returning `(x, img)`, as StyleGAN2's skip blocks, gives x).

Both work on any generator `stylegan_tf.export.load_generator` returns with Keras layers (a
`.keras` file, a run directory or checkpoint, an official pickle); an exported SavedModel has no
layers to watch: `UserError`.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Callable

import numpy as np

from stylegan_tf.errors import UserError


@dataclass(frozen=True)
class StyleAffine:
    """One style affine: `styles = matrix @ w[:, w_index] + bias`."""
    w_index: int
    name: str
    matrix: np.ndarray   # [out, w_dim] float64
    bias: np.ndarray     # [out] float64


def synthesis_network(G, option: str = "--network"):
    """The Keras synthesis network of G; a `UserError` for generators without layers (SavedModel)."""
    network = getattr(G, "synthesis_network", None)
    if network is None or not hasattr(network, "_flatten_layers"):
        raise UserError(f"{option}: this needs the network's layers, and a {type(G).__name__} (an exported "
                        "SavedModel) has none: use its .keras file, training run or official pickle.")
    return network


def _first_tensor(value):
    return value[0] if isinstance(value, (tuple, list)) else value


@contextlib.contextmanager
def watching(layers, record: Callable):
    """Inside the block, every call of each layer in `layers` also runs `record(layer, first_arg,
    output)`. Each layer's own `call` is shadowed by an instance attribute and restored afterwards
    (Keras looks up `self.call` on the instance)."""
    def wrap(layer):
        original = layer.call

        def call(*args, **kwargs):
            out = original(*args, **kwargs)
            record(layer, args[0] if args else None, out)
            return out
        return call

    patched = []
    try:
        for layer in layers:
            object.__setattr__(layer, "call", wrap(layer))
            patched.append(layer)
        yield
    finally:
        for layer in patched:
            object.__delattr__(layer, "call")


def _synthesise(G, w: np.ndarray, noise: np.ndarray | None):
    """One eager synthesis call (noise [N, noise_size]; None or [N, 0] = the network's fixed noise)."""
    if noise is None or noise.shape[-1] == 0:
        return G.synthesis(w, noise_mode="const")
    return G.synthesis(w, noise_mode="random", noise=noise)


def style_affines(G, option: str = "--network") -> list[StyleAffine]:
    """The style affines of G in call order (see the module docstring), measured on the identity:
    matrix^T = A(I) - A(0), bias = A(0); an affine whose recorded output disagrees with that
    reconstruction (not affine in w) is left out."""
    network = synthesis_network(G, option)
    num_layers, w_dim = int(G.num_layers), int(G.config.w_dim)
    w = np.random.RandomState(0).randn(1, num_layers, w_dim).astype(np.float32)
    calls = []

    def record(layer, x, out):
        x, out = _first_tensor(x), _first_tensor(out)
        if x is None or out is None or len(getattr(x, "shape", ())) != 2 or len(out.shape) != 2:
            return
        x = np.asarray(x, np.float32)
        if x.shape != (1, w_dim):
            return
        matches = np.flatnonzero(np.all(np.abs(w[0] - x) <= 1e-6 * (1 + np.abs(w[0])), axis=1))
        if len(matches) == 1:
            calls.append((layer, int(matches[0]), x, np.asarray(out, np.float64)))

    with watching(network._flatten_layers(include_self=False, recursive=True), record):
        _synthesise(G, w, np.zeros((1, _noise_size(G)), np.float32))
    affines, seen = [], set()
    for layer, index, x, out in calls:
        if id(layer) in seen:
            continue
        seen.add(id(layer))
        probe = np.concatenate([np.zeros((1, w_dim)), np.eye(w_dim)]).astype(np.float32)
        values = np.asarray(layer(probe), np.float64)
        bias, matrix = values[0], (values[1:] - values[0]).T
        if not np.allclose(matrix @ x[0].astype(np.float64) + bias, out[0], rtol=1e-4, atol=1e-4):
            continue
        affines.append(StyleAffine(index, layer.path if hasattr(layer, "path") else layer.name, matrix, bias))
    if not affines:
        raise UserError(f"{option}: found no style affine layer in this {type(G).__name__}.")
    return affines


def _noise_size(G) -> int:
    from stylegan_tf import families

    return int(G.noise_size()) if families.has_noise_inputs(G) else 0


def activation_layers(G, option: str = "--network") -> list:
    """The synthesis network's direct sublayers, in creation order (blocks / layers / toRGB)."""
    network = synthesis_network(G, option)
    return list(network._flatten_layers(include_self=False, recursive=False))


def activations(G, w: np.ndarray, noise: np.ndarray | None = None,
                option: str = "--network") -> tuple[list[tuple[str, np.ndarray]], np.ndarray]:
    """(the [N, H, W, C] float32 outputs of the synthesis network's top-level layers as
    (name, array) in call order, the synthesised images) for w [N, L, D] and flat noise."""
    layers = activation_layers(G, option)
    outputs = []

    def record(layer, x, out):
        out = _first_tensor(out)
        if out is not None and len(getattr(out, "shape", ())) == 4:
            outputs.append((layer.name, np.asarray(out, np.float32)))

    with watching(layers, record):
        images = _synthesise(G, np.asarray(w, np.float32), noise)
    return outputs, np.asarray(images, np.float32)
