"""Exporting and loading generators: `.keras` files, TensorFlow SavedModels, training runs.

- `save_keras`, `save_saved_model`, `float32_copy`: the writers, in `stylegan_tf.saving` (re-exported here).
- `load_generator(path)`: a `.keras` file, a SavedModel directory, a checkpoint
  directory, a training run directory (its latest checkpoint's Gs), or an official
  network pickle (`.pkl`, its Gs; `stylegan_tf.official.load_pickle`), returned as an
  object with the generator protocol: `config`, `num_layers`, `mapping`, `truncate`,
  `mix_styles`, `synthesis(w, noise_mode, noise)`, `noise_size()`, `const_noise()`.
  The same seed, psi and noise give the same images from every source. A SavedModel's
  `SavedModelGenerator` also has `noise_shapes()` and `synthesis_tensors(w, noise)` (on
  tensors, differentiable: what the projector optimises through).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from stylegan_tf import families
from stylegan_tf.errors import UserError
from stylegan_tf.saving import CONFIG_FILE, float32_copy, save_keras, save_saved_model

__all__ = ["CONFIG_FILE", "SavedModelGenerator", "float32_copy", "generator_from_checkpoint", "load_generator",
           "load_keras_file", "save_keras", "save_saved_model"]


class SavedModelGenerator:
    """The generator protocol over a SavedModel written by `save_saved_model`."""

    def __init__(self, path):
        import tensorflow as tf

        self.path = Path(path)
        try:
            self.config = families.coerce_network_config(json.loads((self.path / CONFIG_FILE).read_bytes()))
        except (OSError, ValueError, TypeError, KeyError) as e:  # ValueError: JSON, UTF-8, config errors.
            raise UserError(f"SavedModel {self.path}: {CONFIG_FILE} is missing or damaged: "
                            f"{type(e).__name__}: {_first_line(e)}") from None
        try:
            self._model = tf.saved_model.load(str(self.path))
        except Exception as e:
            # Damage surfaces with many types: saved_model.pb fails to parse (OSError), variables fail
            # their CRC-32C (DataLossError), a short data file gives IndexError, the index an OpError.
            raise UserError(f"SavedModel {self.path} is damaged: {type(e).__name__}: {_first_line(e)}") from None
        missing = [name for name in ("mapping", "synthesis", "w_avg") if not hasattr(self._model, name)]
        if missing:
            raise UserError(f"{self.path} is a SavedModel but not one of save_saved_model's: it lacks the "
                            f"endpoints {', '.join(missing)}.")

    @property
    def num_layers(self) -> int:
        return self.config.num_layers

    @property
    def w_avg(self):
        return self._model.w_avg().numpy()

    def mapping(self, z, labels=None):
        z = np.asarray(z, np.float32)
        if self.config.label_size:
            if labels is None:
                raise UserError(f"{self.path} is conditional (label_size={self.config.label_size}): pass labels")
            return self._model.mapping(z, np.asarray(labels, np.float32)).numpy()
        return self._model.mapping(z).numpy()

    def truncate(self, w, psi=None, cutoff=None):
        psi = self.config.truncation_psi if psi is None else float(psi)
        cutoff = self.config.truncation_cutoff if cutoff is None else int(cutoff)
        cutoff = self.num_layers if cutoff is None else cutoff   # None (StyleGAN2): every layer
        w = np.asarray(w, np.float32)
        if psi == 1.0:
            return w
        mask = (np.arange(self.num_layers) < cutoff)[None, :, None]
        truncated = self.w_avg + (w - self.w_avg) * np.float32(psi)
        return np.where(mask, truncated, w).astype(np.float32)

    def mix_styles(self, w, w_other, layers):
        mask = np.zeros(self.num_layers, dtype=bool)
        mask[np.asarray(list(layers), dtype=int)] = True
        return np.where(mask[None, :, None], np.asarray(w_other), np.asarray(w)).astype(np.float32)

    def noise_size(self) -> int:
        """Width of the flat noise (0 without noise inputs: StyleGAN3)."""
        return int(self._model.const_noise().shape[1]) if hasattr(self._model, "const_noise") else 0

    def const_noise(self):
        if not hasattr(self._model, "const_noise"):
            return np.zeros((1, 0), np.float32)
        return self._model.const_noise().numpy()

    @property
    def input_transform(self):
        """StyleGAN3: the restored [3, 3] input-transform variable (the endpoints read it); else None."""
        return next((v for v in self._model.variables if v.name.endswith("synthesis/input/transform:0")), None)

    def noise_shapes(self) -> list[tuple[int, int]]:
        """[(h, w)] of each noise input, in the order of the flat noise ([] without noise inputs: StyleGAN3)."""
        if not hasattr(self._model, "synthesis_noise"):
            return []
        if not hasattr(self._model, "noise_shapes"):
            raise UserError(f"{self.path} was exported without its noise shapes (by an older save_saved_model): "
                            f"re-export it with stylegan_tf.export.save_saved_model, or use the .keras file, "
                            f"checkpoint or pickle it came from.")
        return [(int(h), int(w)) for h, w in self._model.noise_shapes().numpy()]

    def synthesis_tensors(self, w, noise=None):
        """Differentiable synthesis on tensors (e.g. under `tf.GradientTape`: the projector):
        w [N, num_ws, w_dim]; noise a list of maps [N, h, w, 1] (`noise_shapes()`) or flat
        [N, noise_size], None = the fixed noise. Returns the images tensor."""
        import tensorflow as tf

        if noise is None:
            return self._model.synthesis(w)
        if isinstance(noise, (list, tuple)):
            noise = tf.concat([tf.reshape(n, (tf.shape(n)[0], -1)) for n in noise], axis=1)
        return self._model.synthesis_noise(w, noise)

    def synthesis(self, w, noise_mode="const", noise=None):
        w = np.asarray(w, np.float32)
        if not hasattr(self._model, "synthesis_noise"):   # no noise inputs: any noise argument is empty
            return self._model.synthesis(w).numpy()
        if noise is None:
            if noise_mode == "const":
                return self._model.synthesis(w).numpy()
            if noise_mode == "none":
                noise = np.zeros((w.shape[0], self.noise_size()), np.float32)
            elif noise_mode == "random":
                noise = np.random.default_rng().standard_normal((w.shape[0], self.noise_size())).astype(np.float32)
            else:
                raise UserError(f"noise_mode must be random, const or none. Received: {noise_mode!r}")
        return self._model.synthesis_noise(w, np.asarray(noise, np.float32)).numpy()

    def __call__(self, z, labels=None, truncation_psi=None, truncation_cutoff=None, noise_mode="const", noise=None):
        w = self.truncate(self.mapping(z, labels), truncation_psi, truncation_cutoff)
        return self.synthesis(w, noise_mode=noise_mode, noise=noise)


def generator_from_checkpoint(checkpoint, group: str = "Gs"):
    """The Gs (or G) of a training checkpoint as a float32 Keras Generator."""
    from stylegan_tf import families
    from stylegan_tf.config import Config
    from stylegan_tf.training.checkpoint import load_generator_weights, read_meta

    config = Config.from_dict(read_meta(checkpoint)["config"])
    G = families.build_generator(config.network, name=group)
    load_generator_weights(G, checkpoint, group)
    return G


def load_keras_file(path):
    """A `.keras` export, its zip CRC-32s checked first: a damaged file is a `UserError` naming it."""
    import zipfile

    import keras

    families.register_keras_classes()
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()  # Reads every member: h5py would read weights without the CRC check.
        if bad is not None:
            raise zipfile.BadZipFile(f"member {bad} fails its CRC-32")
        return keras.models.load_model(path)
    except UserError:
        raise
    except Exception as e:  # A damaged file fails in zipfile, json, h5py or Keras' deserialisation, with any type.
        raise UserError(f"{path} is damaged or not a Keras model file: {type(e).__name__}: {_first_line(e)}") \
            from None


def _first_line(error: Exception) -> str:
    text = str(error).strip()
    return text.splitlines()[0][:300] if text else ""


def load_generator(path):
    """Opens a generator from a `.keras` file, a SavedModel, a checkpoint, a run directory, or an
    official network pickle (`.pkl`: its Gs / G_ema, read by `stylegan_tf.official.load_pickle`)."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"No generator at {path}: give a .keras file, a SavedModel directory, a training "
                        f"checkpoint (checkpoints/ckpt-*), a training run directory or an official .pkl.")
    if path.is_file():
        if path.suffix == ".pkl":
            from stylegan_tf.official import load_pickle

            return load_pickle(path).Gs
        if path.suffix != ".keras":
            raise UserError(f"{path} is not a .keras file or an official .pkl (or a SavedModel/checkpoint/run "
                            f"directory).")
        return load_keras_file(path)
    if (path / "saved_model.pb").is_file():
        return SavedModelGenerator(path)
    from stylegan_tf.training.checkpoint import CHECKPOINT_RE, checkpoint_directories, choose_checkpoint

    if CHECKPOINT_RE.match(path.name) or (path / "meta.json").is_file() or checkpoint_directories(path):
        # A checkpoint must be intact; a run gives its newest intact one (damaged ones are named).
        return generator_from_checkpoint(choose_checkpoint(str(path), path, log=_note))
    raise UserError(f"{path} is a directory but neither a SavedModel, a checkpoint nor a run with checkpoints.")


def _note(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
