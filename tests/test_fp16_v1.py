"""StyleGAN (v1) under mixed precision: float16 only in the top `num_fp16_res` resolutions, the
+-256 clamp with float16 (StyleGAN2-ADA's placement, `stylegan_tf.networks.precision`), and a tiny
trainer that trains under fp16 at 4x4 and 16x16 (issue 19: before, every layer ran in float16 and
at 4x4 the G loss scale fell from 32768 to 8 while the steps were skipped)."""

import dataclasses
import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from stylegan_tf import presets
from stylegan_tf.config import NetworkConfig
from stylegan_tf.networks.stylegan1.discriminator import Discriminator
from stylegan_tf.networks.stylegan1.generator import Generator
from stylegan_tf.training.trainer import Trainer

TINY = presets.get("tiny")  # 16x16: fp16_resolution max(2**(4 + 1 - 4), 8) = 8


def _dtype(layer):
    return keras.backend.standardize_dtype(layer.compute_dtype)


def _placement(G, D):
    syn = G.synthesis_network
    return {"G.b4": _dtype(syn.input_block), **{f"G.{b.name}": _dtype(b) for b in syn.blocks},
            **{f"G.{layer.name}": _dtype(layer) for layer in syn.to_rgb},
            **{f"D.{layer.name}": _dtype(layer) for layer in D.from_rgb},
            **{f"D.{b.name}": _dtype(b) for b in D.blocks}, "D.b4": _dtype(D.head)}


@pytest.fixture
def policy():
    def set_policy(name):
        keras.mixed_precision.set_global_policy(name)
    yield set_policy
    keras.mixed_precision.set_global_policy("float32")


@pytest.mark.parametrize("name,half,clamp", [("mixed_float16", "float16", 256.0), ("mixed_bfloat16", "bfloat16", None)])
def test_only_the_top_resolutions_compute_in_the_mixed_dtype(policy, name, half, clamp):
    policy(name)
    net = dataclasses.replace(TINY.network, resolution=64)  # fp16 from 8: 4x4 alone in float32
    G, D = Generator(net, seed=0), Discriminator(net)
    expected = {k: ("float32" if k.endswith(("b4", "_4")) else half) for k in _placement(G, D)}
    assert _placement(G, D) == expected
    assert G.synthesis_network.conv_clamp == clamp and D.conv_clamp == clamp
    assert G.synthesis_network.input_block.epilogue1.conv_clamp == clamp
    # num_fp16_res 2 at 64: 32 and 64 in the mixed dtype; 0: none (and no clamp needed).
    two = dataclasses.replace(net, num_fp16_res=2)
    G, D = Generator(two, seed=0), Discriminator(two)
    assert sorted(k for k, v in _placement(G, D).items() if v == half) == [
        "D.b32", "D.b64", "D.from_rgb_32", "D.from_rgb_64", "G.b32", "G.b64", "G.to_rgb_32", "G.to_rgb_64"]
    none = dataclasses.replace(net, num_fp16_res=0)
    G, D = Generator(none, seed=0), Discriminator(none)
    assert set(_placement(G, D).values()) == {"float32"}
    assert G.synthesis_network.conv_clamp is None and D.conv_clamp is None
    # The outputs: float32 images and scores; the mapping in float32.
    z = tf.random.stateless_normal([4, net.latent_size], [0, 1])
    images = Generator(net, seed=0)(z, noise_mode="const")
    assert keras.backend.standardize_dtype(images.dtype) == "float32"
    assert keras.backend.standardize_dtype(Discriminator(net)(images).dtype) == "float32"


def test_float32_has_no_clamp_and_a_set_clamp_bounds_the_outputs(policy):
    policy("float32")
    assert Generator(TINY.network, seed=0).synthesis_network.conv_clamp is None
    assert Discriminator(TINY.network).conv_clamp is None
    clamped = dataclasses.replace(TINY.network, conv_clamp=0.25)
    G, Gc = Generator(TINY.network, seed=0), Generator(clamped, seed=0)
    last = G.synthesis_network.to_rgb[-1]
    last.kernel.assign(last.kernel * 100.0)  # outputs far outside [-0.25, 0.25]
    Gc.set_weights(G.get_weights())
    w = G.mapping(tf.random.stateless_normal([4, TINY.network.latent_size], [0, 2]))
    free, bounded = (np.asarray(g.synthesis(w, noise_mode="const")) for g in (G, Gc))
    assert np.abs(free).max() > 1.0 and np.abs(bounded).max() == np.float32(0.25)
    D, Dc = Discriminator(TINY.network), Discriminator(clamped)
    Dc.set_weights(D.get_weights())
    x = tf.random.stateless_normal([2, 16, 16, D.blocks[-1].channels], [0, 3]) * 100.0
    free, bounded = np.asarray(D.blocks[-1](x)), np.asarray(Dc.blocks[-1](x))
    assert np.abs(free).max() > 1.0 and np.abs(bounded).max() == np.float32(0.25)
    images = tf.random.stateless_uniform([2, 16, 16, 3], [0, 4], -1.0, 1.0)
    assert np.asarray(D(images)).tolist() != np.asarray(Dc(images)).tolist()
    with pytest.raises(ValueError, match="conv_clamp"):
        NetworkConfig(conv_clamp=0.0).validate()
    with pytest.raises(ValueError, match="num_fp16_res"):
        NetworkConfig(num_fp16_res=-1).validate()
    # A stored config without the two fields (files written before them) reads with the defaults.
    old = {k: v for k, v in TINY.network.to_dict().items() if k not in ("num_fp16_res", "conv_clamp")}
    assert NetworkConfig.coerce(old) == TINY.network


def _stepper(trainer, lod):
    @tf.function
    def step(reals, i):
        return trainer.iteration(reals, None, tf.constant(lod), tf.constant(0.99), i, phases=("D", "G"))
    return step


def test_tiny_trainer_trains_under_fp16_at_4x4_and_16x16(policy):
    policy("mixed_float16")
    trainer = Trainer(TINY, seed=0, mixed_precision="fp16")
    trainer.build_optimizers()
    for model in (trainer.G, trainer.Gs):
        syn = model.synthesis_network
        assert [_dtype(syn.input_block), _dtype(syn.blocks[0]), _dtype(syn.blocks[1])] == \
            ["float32", "float16", "float16"]
    assert [_dtype(trainer.D.head), _dtype(trainer.D.blocks[0]), _dtype(trainer.D.blocks[1])] == \
        ["float32", "float16", "float16"]
    steps = 12
    for res, lod in ((4, 2.0), (16, 0.0)):
        trainer.set_lod(lod)
        step = _stepper(trainer, lod)
        skipped = 0.0
        for i in range(steps):
            reals = tf.random.stateless_uniform([8, res, res, 3], [i, res], -1.0, 1.0)
            stats = {k: float(v) for k, v in step(reals, tf.constant(i, tf.int64)).items()}
            assert all(math.isfinite(stats[k]) for k in ("loss/G", "loss/D", "loss/r1_penalty")), (res, i, stats)
            skipped += max(stats["nonfinite/G"], stats["nonfinite/D"])
        # 4x4 runs entirely in float32 now (before: 13 of 30 steps skipped, G's scale 32768 -> 8).
        assert skipped <= (0 if res == 4 else 1), (res, skipped)
        assert stats["loss_scale/G"] >= 2.0**10 and stats["loss_scale/D"] >= 2.0**10, (res, stats)
    assert all(np.all(np.isfinite(w.numpy())) for w in trainer.G.weights + trainer.D.weights)
