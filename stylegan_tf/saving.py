"""Saving generators (and discriminators): a `.keras` file and a serving TensorFlow SavedModel.

Below the training loop (which writes its snapshots with these) and the loaders of `export`
(which open what these write and re-export the three names).

- `float32_copy(G)`: a float32 copy of G with its weights (exports never carry a mixed-precision policy).
- `save_keras(G, path)`: `model.save` of a float32 copy, written atomically; loads with
  `keras.models.load_model(path)` once `stylegan_tf` is imported.
- `save_saved_model(G, path)`: a SavedModel for serving (`keras.export.ExportArchive`),
  with endpoints
      mapping(z[, labels])           -> w [N, num_layers, w_dim]
      synthesis(w)                   -> images, fixed noise
      synthesis_noise(w, noise)      -> images, explicit flat noise [N, noise_size]
      generate(z[, labels], psi)     -> images, truncation (cutoff from the config), fixed noise
      w_avg(), const_noise()
      noise_shapes()                 -> int32 [num_noise_inputs, 2]: (h, w) of each map of the flat noise
  (StyleGAN3, without noise inputs: no synthesis_noise / const_noise / noise_shapes), and the
  network config as `stylegan_tf_config.json` (`CONFIG_FILE`) in the directory.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np

from stylegan_tf import faults, families
from stylegan_tf.errors import UserError
from stylegan_tf.safe_files import fsync_directory, fsync_file

CONFIG_FILE = "stylegan_tf_config.json"


def float32_copy(G):
    """A float32 Generator (or Discriminator) with G's weights (exports never carry a mixed-precision policy)."""
    seed = {"seed": G.seed} if hasattr(G, "seed") else {}
    copy = type(G)(G.config, name=G.name, dtype="float32", **seed)
    for target, source in zip(copy.weights, G.weights):
        target.assign(np.asarray(source.numpy(), dtype=target.dtype))
    return copy


def save_keras(G, path) -> Path:
    """Saves a float32 copy of G as a `.keras` file, atomically."""
    path = Path(path)
    if path.suffix != ".keras":
        raise UserError(f"A Keras export needs a .keras file name. Received: {path}")
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in path.parent.glob(f".{path.stem}.tmp-*.keras"):  # Left by a killed writer.
        if stale.name != f".{path.stem}.tmp-{os.getpid()}.keras":
            stale.unlink(missing_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp-{os.getpid()}.keras")
    float32_copy(G).save(tmp)
    fsync_file(tmp)
    faults.point("export")
    os.replace(tmp, path)
    fsync_directory(path.parent)
    return path


def save_saved_model(G, path) -> Path:
    """Writes a serving SavedModel of G (float32) with the endpoints listed in the module docstring."""
    import keras
    import tensorflow as tf

    path = Path(path)
    G = float32_copy(G)
    c = G.config
    z_spec = tf.TensorSpec([None, c.latent_size], tf.float32, name="z")
    w_spec = tf.TensorSpec([None, c.num_layers, c.w_dim], tf.float32, name="w")
    psi_spec = tf.TensorSpec([], tf.float32, name="psi")
    label_specs = [tf.TensorSpec([None, c.label_size], tf.float32, name="labels")] if c.label_size else []
    has_noise = families.has_noise_inputs(G)   # StyleGAN3 has no noise inputs: no noise endpoints.

    archive = keras.export.ExportArchive()
    archive.track(G)
    if c.label_size:
        archive.add_endpoint("mapping", lambda z, labels: G.mapping(z, labels), input_signature=[z_spec] + label_specs)
        archive.add_endpoint("generate", lambda z, labels, psi: G(z, labels, truncation_psi=psi, noise_mode="const"),
                             input_signature=[z_spec] + label_specs + [psi_spec])
    else:
        archive.add_endpoint("mapping", lambda z: G.mapping(z), input_signature=[z_spec])
        archive.add_endpoint("generate", lambda z, psi: G(z, truncation_psi=psi, noise_mode="const"),
                             input_signature=[z_spec, psi_spec])
    archive.add_endpoint("synthesis", lambda w: G.synthesis(w, noise_mode="const"), input_signature=[w_spec])
    archive.add_endpoint("w_avg", lambda: tf.convert_to_tensor(G.w_avg), input_signature=[])
    if has_noise:
        noise_spec = tf.TensorSpec([None, G.noise_size()], tf.float32, name="noise")
        archive.add_endpoint("synthesis_noise", lambda w, noise: G.synthesis(w, noise=noise),
                             input_signature=[w_spec, noise_spec])
        archive.add_endpoint("const_noise", lambda: G.const_noise(), input_signature=[])
        shapes = np.asarray(G.synthesis_network.noise_shapes(), np.int32).reshape(-1, 2)
        archive.add_endpoint("noise_shapes", lambda: tf.constant(shapes), input_signature=[])
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    if tmp.exists():
        shutil.rmtree(tmp)
    archive.write_out(str(tmp), verbose=False)
    (tmp / CONFIG_FILE).write_text(json.dumps(c.to_dict(), indent=1))
    if path.exists():
        shutil.rmtree(path)
    os.replace(tmp, path)
    fsync_directory(path.parent)
    return path
