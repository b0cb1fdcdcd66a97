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


@pytest.fixture(scope="session")
def two_cpus():
    """A helper process with two virtual CPU devices for the mirrored == single device checks
    (tests/mirrored.py), started once: one TensorFlow import for all of them."""
    from tests.mirrored import PRELUDE
    from tests.processes import PythonHelper

    helper = PythonHelper(PRELUDE)
    yield helper
    helper.close()


@pytest.fixture(scope="session")
def jax_helper():
    """One Python process under KERAS_BACKEND=jax for the backend checks of every family. Its first act
    is to import the network modules (tests.processes.NETWORK_MODULES) and note whether TensorFlow came
    with them (TENSORFLOW_IMPORTED)."""
    from tests.processes import NETWORK_MODULES, PythonHelper

    helper = PythonHelper(f"""
        import importlib, sys
        for name in {NETWORK_MODULES!r}:
            importlib.import_module(name)
        TENSORFLOW_IMPORTED = "tensorflow" in sys.modules
    """, KERAS_BACKEND="jax")
    yield helper
    helper.close()
