"""`.keras` save/load of G and D: a fresh process reproduces the outputs exactly."""

import dataclasses
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import keras
import numpy as np

from stylegan_tf import presets
from stylegan_tf.networks.stylegan1.discriminator import Discriminator
from stylegan_tf.networks.stylegan1.generator import Generator

ROOT = Path(__file__).resolve().parents[1]

LOAD_AND_RUN = textwrap.dedent("""
    import sys, numpy as np, keras
    import stylegan_tf.networks.stylegan1.generator, stylegan_tf.networks.stylegan1.discriminator  # registers the classes
    folder = sys.argv[1]
    G = keras.models.load_model(folder + "/G.keras")
    D = keras.models.load_model(folder + "/D.keras")
    z = np.load(folder + "/z.npy"); labels = np.load(folder + "/labels.npy")
    images = np.asarray(G(z, labels, truncation_psi=0.5, noise_mode="const"))
    np.save(folder + "/images_loaded.npy", images)
    np.save(folder + "/scores_loaded.npy", np.asarray(D(images, labels)))
    np.save(folder + "/w_avg_loaded.npy", G.w_avg.numpy())
    print(type(G).__name__, G.config.label_size, float(G.lod.numpy()))
""")


def test_keras_round_trip_in_fresh_process(tmp_path):
    cfg = dataclasses.replace(presets.get("tiny").network, label_size=2)
    G, D = Generator(cfg, seed=7), Discriminator(cfg)
    for layer in G.synthesis_network.epilogues():
        layer.noise.strength.assign(np.full(layer.noise.strength.shape, 0.3, np.float32))
    G.w_avg.assign(np.linspace(-1, 1, cfg.w_dim).astype(np.float32))
    G.lod.assign(0.0)
    rng = np.random.default_rng(0)
    z = rng.normal(size=(4, cfg.latent_size)).astype(np.float32)
    labels = np.eye(2, dtype=np.float32)[[0, 1, 1, 0]]
    images = np.asarray(G(z, labels, truncation_psi=0.5, noise_mode="const"))
    scores = np.asarray(D(images, labels))
    G.save(tmp_path / "G.keras")
    D.save(tmp_path / "D.keras")
    np.save(tmp_path / "z.npy", z)
    np.save(tmp_path / "labels.npy", labels)

    env = dict(os.environ, PYTHONPATH=str(ROOT))
    result = subprocess.run([sys.executable, "-c", LOAD_AND_RUN, str(tmp_path)], env=env, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split()[-3:] == ["Generator", "2", "0.0"]
    np.testing.assert_array_equal(np.load(tmp_path / "images_loaded.npy"), images)
    np.testing.assert_array_equal(np.load(tmp_path / "scores_loaded.npy"), scores)
    np.testing.assert_array_equal(np.load(tmp_path / "w_avg_loaded.npy"), G.w_avg.numpy())


def test_in_process_reload_keeps_config_and_every_weight(tmp_path):
    G = Generator(presets.get("tiny", ablation="C").network, seed=3)
    G.save(tmp_path / "g.keras")
    loaded = keras.models.load_model(tmp_path / "g.keras")
    assert loaded.config == G.config
    assert [w.path for w in loaded.weights] == [w.path for w in G.weights]
    for a, b in zip(G.weights, loaded.weights):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
