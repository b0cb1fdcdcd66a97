"""Shared test setup: quiet TensorFlow logs; tests build their own tiny data."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest


@pytest.fixture(scope="session")
def ffhq_networks():
    """The official FFHQ 1024 G and D (built once: ~15 s on 2 cores)."""
    from stylegan_tf import presets
    from stylegan_tf.networks.stylegan1.discriminator import Discriminator
    from stylegan_tf.networks.stylegan1.generator import Generator

    config = presets.get("ffhq").network
    return Generator(config), Discriminator(config)
