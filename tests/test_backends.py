"""The networks are backend-agnostic: they import without TensorFlow and run under JAX."""

import importlib.util

import numpy as np
import pytest

from stylegan_tf import presets
from stylegan_tf.networks.stylegan1.discriminator import Discriminator
from stylegan_tf.networks.stylegan1.generator import Generator

needs_jax = pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax is not installed")


@needs_jax
def test_network_modules_do_not_import_tensorflow(jax_helper):
    """(The session's JAX helper, tests/conftest.py, imports them first thing.)"""
    assert jax_helper.run("result = TENSORFLOW_IMPORTED") is False


@needs_jax
def test_jax_backend_computes_the_same_images_and_scores(tmp_path, jax_helper):
    cfg = presets.get("tiny").network
    G, D = Generator(cfg, seed=0), Discriminator(cfg)
    rng = np.random.default_rng(0)
    for layer in G.synthesis_network.epilogues():
        layer.noise.strength.assign(rng.normal(size=layer.noise.strength.shape).astype(np.float32))
    z = rng.normal(size=(4, cfg.latent_size)).astype(np.float32)
    G.lod.assign(0.5)
    D.lod.assign(0.5)
    images = np.asarray(G(z, truncation_psi=0.7, noise_mode="const"))
    scores = np.asarray(D(images))
    np.savez(tmp_path / "weights.npz", *[np.asarray(w) for w in G.weights])
    np.savez(tmp_path / "d_weights.npz", *[np.asarray(w) for w in D.weights])
    np.save(tmp_path / "z.npy", z)
    np.save(tmp_path / "images.npy", images)

    jax_helper.run(f"""
        import numpy as np, jax, keras, stylegan_tf.presets as presets
        from stylegan_tf.networks.stylegan1.generator import Generator
        from stylegan_tf.networks.stylegan1.discriminator import Discriminator
        folder = {str(tmp_path)!r}
        cfg = presets.get("tiny").network
        G, D = Generator(cfg, seed=0), Discriminator(cfg)
        g = np.load(folder + "/weights.npz"); d = np.load(folder + "/d_weights.npz")
        G.set_weights([g[f"arr_{{i}}"] for i in range(len(g.files))])
        D.set_weights([d[f"arr_{{i}}"] for i in range(len(d.files))])
        z = np.load(folder + "/z.npy")
        images = G(z, truncation_psi=0.7, noise_mode="const")
        assert "jax" in type(images).__module__, type(images)
        np.save(folder + "/images_jax.npy", np.asarray(images))
        np.save(folder + "/scores_jax.npy", np.asarray(D(np.load(folder + "/images.npy"))))
        # Random noise and the training forward (style mixing, w_avg) run too.
        out = G(z, training=True, noise_mode="random")
        assert np.all(np.isfinite(np.asarray(out)))
        assert np.any(np.asarray(G.w_avg) != 0)
    """)
    np.testing.assert_allclose(np.load(tmp_path / "images_jax.npy"), images, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(np.load(tmp_path / "scores_jax.npy"), scores, rtol=1e-4, atol=1e-4)


SG2_TINY = dict(resolution=16, channel_base=256, channel_max=32, latent_size=32, w_dim=32, mapping_layers=2,
                mapping_fmaps=32, label_size=2)


@needs_jax
def test_jax_backend_runs_the_stylegan2_networks(tmp_path, jax_helper):
    from stylegan_tf.networks.stylegan2.config import StyleGAN2Config
    from stylegan_tf.networks.stylegan2.discriminator import Discriminator as D2
    from stylegan_tf.networks.stylegan2.generator import Generator as G2

    cfg = StyleGAN2Config(**SG2_TINY)
    G, D = G2(cfg, seed=0), D2(cfg)
    for layer in G.synthesis_network.conv_layers():
        layer.noise_strength.assign(0.3)
    rng = np.random.default_rng(0)
    z = rng.normal(size=(4, cfg.latent_size)).astype(np.float32)
    labels = np.eye(2, dtype=np.float32)[[0, 1, 1, 0]]
    images = np.asarray(G(z, labels, truncation_psi=0.7, noise_mode="const"))   # fused modconv (inference)
    scores = np.asarray(D(images, labels))
    np.savez(tmp_path / "g.npz", *G.get_weights())
    np.savez(tmp_path / "d.npz", *D.get_weights())
    np.save(tmp_path / "z.npy", z)
    np.save(tmp_path / "labels.npy", labels)
    np.save(tmp_path / "images.npy", images)

    jax_helper.run(f"""
        import numpy as np
        from stylegan_tf.networks.stylegan2.config import StyleGAN2Config
        from stylegan_tf.networks.stylegan2.generator import Generator
        from stylegan_tf.networks.stylegan2.discriminator import Discriminator
        folder = {str(tmp_path)!r}
        cfg = StyleGAN2Config(**{SG2_TINY!r})
        G, D = Generator(cfg, seed=0), Discriminator(cfg)
        g = np.load(folder + "/g.npz"); d = np.load(folder + "/d.npz")
        G.set_weights([g[f"arr_{{i}}"] for i in range(len(g.files))])
        D.set_weights([d[f"arr_{{i}}"] for i in range(len(d.files))])
        z, labels = np.load(folder + "/z.npy"), np.load(folder + "/labels.npy")
        images = G(z, labels, truncation_psi=0.7, noise_mode="const")
        assert "jax" in type(images).__module__, type(images)
        np.save(folder + "/images_jax.npy", np.asarray(images))
        np.save(folder + "/scores_jax.npy", np.asarray(D(np.load(folder + "/images.npy"), labels)))
        out = G(z, labels, training=True)   # the non-fused form, style mixing, w_avg update
        assert np.all(np.isfinite(np.asarray(out))) and np.any(np.asarray(G.w_avg) != 0)
    """)
    np.testing.assert_allclose(np.load(tmp_path / "images_jax.npy"), images, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(np.load(tmp_path / "scores_jax.npy"), scores, rtol=1e-4, atol=1e-4)
