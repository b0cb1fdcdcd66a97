"""What the explorer draws: one image (and one layer's activations) from the page's settings.

`Renderer.render(settings)` takes the page's settings as a dict of strings/numbers, checks each
(a bad value is a `UserError` naming the control: the page shows it), and returns PNGs as data
URLs with the render time. Networks are opened with `stylegan_tf.export.load_generator` and kept
(one per path); one lock serialises renders, since StyleGAN3's input transform is network state.

Settings (all optional but `network`):
    network      path of the generator                  seed       int >= 0 (default 0)
    psi          truncation psi in [-2, 2] (default 1)  cutoff     truncate layers < cutoff (default all)
    mix_seed     style-mixing seed ("" = none)          mix_layers layers taken from it, e.g. "4-7"
    noise        random | const | none                  class      class of a conditional network
    translate_x, translate_y, rotate   StyleGAN3's input transform (image widths, degrees)
    directions   "" | "sefa" (computed for the network) | path of a `python -m stylegan_tf.edit` .npz
    direction    index in the file; strength (W units); edit_layers (default: the file's / all)
    layer        name of a synthesis layer whose activations to show ("" = none); channel (first of 3)
"""

from __future__ import annotations

import base64
import io
import threading
import time

import numpy as np

from stylegan_tf import cli, editing, families, media, probes, sampling
from stylegan_tf.errors import UserError
from stylegan_tf.cli import parse_layers
from stylegan_tf.input_transform import input_transform

PSI_RANGE = (-2.0, 2.0)
SEFA_DIRECTIONS = 10


def png_data_url(image: np.ndarray) -> str:
    """A uint8 image as a `data:image/png;base64,...` URL (PIL's encoder, in memory)."""
    buffer = io.BytesIO()
    media.to_pil(image).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def activation_image(x: np.ndarray, channel: int = 0) -> np.ndarray:
    """Activations [H, W, C] as uint8 RGB: channels channel..channel+2 (gray for a single channel),
    each divided by its largest magnitude, so 0 is mid-gray (the visualizer's layer view)."""
    c = x.shape[-1]
    if not 0 <= channel < c:
        raise UserError(f"channel must be in [0, {c}) for this layer. Received: channel={channel}")
    picked = x[..., channel:channel + 3]
    scale = np.maximum(np.abs(picked).max(axis=(0, 1), keepdims=True), 1e-8)
    picked = picked / scale
    if picked.shape[-1] < 3:
        picked = np.repeat(picked[..., :1], 3, axis=-1)
    return media.to_uint8(picked)


def _number(settings: dict, key: str, default, kind=float, low=None, high=None):
    value = settings.get(key, default)
    if value is None or value == "":
        return default
    try:
        value = kind(value)
    except (TypeError, ValueError):
        raise UserError(f"{key} must be a{'n integer' if kind is int else ' number'}. Received: {key}={value!r}") \
            from None
    if (low is not None and value < low) or (high is not None and value > high):
        raise UserError(f"{key} must be in [{low}, {high}]. Received: {key}={value}")
    return value


class Renderer:
    """Opens networks on demand and renders the page's settings (see the module docstring)."""

    def __init__(self):
        self._networks: dict[str, object] = {}
        self._directions: dict[tuple, dict] = {}
        self._lock = threading.Lock()

    # Networks -----------------------------------------------------------------------------
    def network(self, path: str):
        from stylegan_tf import export

        if not path:
            raise UserError("network: give the path of a generator (.keras, run directory, .pkl, SavedModel).")
        if path not in self._networks:
            cli.existing_path(path, "network")
            try:
                self._networks[path] = export.load_generator(path)
            except UserError:
                raise
            except Exception as error:     # a damaged or foreign file: say so on the page
                raise UserError(f"network: cannot open {path!r} as a generator ({type(error).__name__}: "
                                f"{str(error).splitlines()[0] if str(error) else 'no details'}).") from error
        return self._networks[path]

    def info(self, path: str) -> dict:
        """What the page needs to lay out its controls for a network."""
        with self._lock:
            G = self.network(path)
            family = families.get(families.family_name(G.config))
            try:
                layers = [layer.name for layer in probes.activation_layers(G)]
            except UserError:
                layers = []
            return dict(network=path, family=family.name, resolution=int(G.config.resolution),
                        num_layers=int(G.num_layers), w_dim=int(G.config.w_dim),
                        label_size=int(G.config.label_size), noise_inputs=family.noise_inputs,
                        input_transform=family.input_transform, activation_layers=layers)

    def _direction_file(self, G, path: str, source: str) -> dict:
        key = (path, source)
        if key not in self._directions:
            if source == "sefa":
                directions, values = editing.sefa(G, None, SEFA_DIRECTIONS)
                self._directions[key] = dict(directions=directions, method="sefa", layers=None, scores=values)
            else:
                self._directions[key] = editing.load_directions(source, int(G.config.w_dim), "directions")
        return self._directions[key]

    # Rendering ----------------------------------------------------------------------------
    def w_and_noise(self, G, path: str, s: dict) -> tuple[np.ndarray, np.ndarray]:
        """w [1, L, D] and flat noise [1, noise_size] of the settings (seed, psi, mixing, editing)."""
        num_layers = int(G.num_layers)
        seed = _number(s, "seed", 0, int, 0, 2**32 - 1)
        psi = _number(s, "psi", 1.0, float, *PSI_RANGE)
        cutoff = _number(s, "cutoff", num_layers, int, 0, num_layers)
        noise_mode = sampling.check_noise_mode(str(s.get("noise") or "const"), "noise")
        class_index = _number(s, "class", None, int, 0, None)
        labels = sampling.class_labels(G, class_index, 1, "class")
        w = sampling.map_latents(G, sampling.seed_latents(G, [seed]), labels, psi, cutoff)
        mix_seed = _number(s, "mix_seed", None, int, 0, 2**32 - 1)
        if mix_seed is not None:
            layers = parse_layers(str(s.get("mix_layers") or f"0-{num_layers - 1}"), num_layers, "mix_layers")
            w_mix = sampling.map_latents(G, sampling.seed_latents(G, [mix_seed]), labels, psi, cutoff)
            w = np.asarray(G.mix_styles(w, w_mix, layers), np.float32)
        source = str(s.get("directions") or "").strip()
        if source:
            loaded = self._direction_file(G, path, source)
            d = editing.pick_direction(loaded, _number(s, "direction", 0, int), "direction")
            edit_layers = (parse_layers(str(s["edit_layers"]), num_layers, "edit_layers")
                           if s.get("edit_layers") else loaded["layers"])
            w = editing.apply_direction(w, d, _number(s, "strength", 0.0, float, -100.0, 100.0), edit_layers)
        return w, sampling.seed_noise(G, [seed], noise_mode)

    def render(self, s: dict) -> dict:
        """{image, activation (or None), activation_shape, render_ms} for the page's settings."""
        path = str(s.get("network") or "").strip()
        with self._lock:
            start = time.perf_counter()
            G = self.network(path)
            w, noise = self.w_and_noise(G, path, s)
            translate = (_number(s, "translate_x", 0.0), _number(s, "translate_y", 0.0))
            angle = _number(s, "rotate", 0.0, float, -360.0, 360.0)
            moved = translate != (0.0, 0.0) or angle != 0.0
            layer = str(s.get("layer") or "")
            with input_transform(G, translate if moved else None, angle if moved else None,
                                 option="translate/rotate"):
                if layer:
                    outputs, images = probes.activations(G, w, noise, "layer")
                    found = dict(outputs)
                    if layer not in found:
                        raise UserError(f"layer: no synthesis layer {layer!r}; choose one of {list(found)}.")
                    activation = found[layer][0]
                    image = media.to_uint8(images)[0]
                else:
                    activation = None
                    image = sampling.synthesize(G, w, noise, 1)[0]
            result = dict(image=png_data_url(image), activation=None, activation_shape=None)
            if activation is not None:
                channel = _number(s, "channel", 0, int, 0, None)
                result.update(activation=png_data_url(activation_image(activation, channel)),
                              activation_shape=list(activation.shape))
            result["render_ms"] = round(1000 * (time.perf_counter() - start), 1)
            return result
