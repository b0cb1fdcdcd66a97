"""`import stylegan_tf` registers every family's Keras classes, in whatever order Keras comes in."""

import importlib.util
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from stylegan_tf import families, presets
from stylegan_tf.errors import UserError

ROOT = Path(__file__).resolve().parents[1]
ENV = dict(os.environ, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="2")

# The first lines of a fresh process, before `keras.models.load_model`.
IMPORT_ORDERS = {
    "stylegan_tf then keras": "import stylegan_tf\nimport keras",
    "keras then stylegan_tf": "import keras\nimport stylegan_tf",
    # Keras first comes in half-way through a stylegan_tf module's import (here through TensorFlow).
    "keras through a stylegan_tf module": "import stylegan_tf.training.loop\nimport keras",
}

LOAD = """
    import sys, numpy as np
    folder = sys.argv[1]
    G = keras.models.load_model(folder + "/G.keras")
    D = keras.models.load_model(folder + "/D.keras")
    images = np.asarray(G(np.load(folder + "/z.npy"), truncation_psi=0.5, noise_mode="const"))
    np.save(folder + "/images.npy", images)
    np.save(folder + "/scores.npy", np.asarray(D(images)))
    print(type(G).__name__, type(D).__name__)
"""


def _tiny_network(family: str):
    """The network config of the family's smallest preset ("tiny" in its name)."""
    for name in presets.list_presets():
        config = presets.get(name)
        if "tiny" in name and families.family_name(config.network) == family:
            return config.network
    return None


@pytest.fixture(scope="module", params=sorted(families.FAMILIES))
def saved_family(request, tmp_path_factory):
    family = families.get(request.param)
    try:
        family.generator_class(), family.discriminator_class()
    except families.FamilyNotAvailable as error:
        pytest.skip(str(error))
    network = _tiny_network(family.name)
    if network is None:
        pytest.skip(f"no tiny preset of the {family.name} family")
    folder = tmp_path_factory.mktemp(family.name)
    G = families.build_generator(network, name="G")
    D = families.build_discriminator(network, name="D")
    z = np.random.default_rng(0).standard_normal((2, network.latent_size)).astype(np.float32)
    images = np.asarray(G(z, truncation_psi=0.5, noise_mode="const"))
    G.save(folder / "G.keras")
    D.save(folder / "D.keras")
    np.save(folder / "z.npy", z)
    return folder, images, np.asarray(D(images)), (type(G).__name__, type(D).__name__)


@pytest.mark.parametrize("order", sorted(IMPORT_ORDERS))
def test_load_model_after_import_stylegan_tf_in_a_fresh_process(saved_family, order):
    folder, images, scores, class_names = saved_family
    code = IMPORT_ORDERS[order] + textwrap.dedent(LOAD)
    result = subprocess.run([sys.executable, "-c", code, str(folder)], env=ENV, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert tuple(result.stdout.split()[-2:]) == class_names
    np.testing.assert_array_equal(np.load(folder / "images.npy"), images)  # same kernels, same batch
    np.testing.assert_array_equal(np.load(folder / "scores.npy"), scores)


def test_without_stylegan_tf_the_classes_are_unknown(saved_family):
    """The control: the registration above is what makes the load work."""
    folder = saved_family[0]
    result = subprocess.run([sys.executable, "-c", "import sys, keras; keras.models.load_model(sys.argv[1])",
                             str(folder / "G.keras")], env=ENV, capture_output=True, text=True, timeout=300)
    assert result.returncode != 0 and "Could not locate class" in result.stderr


@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax is not installed")
def test_registration_under_jax_imports_no_tensorflow():
    code = textwrap.dedent("""
        import sys, stylegan_tf, keras
        from keras.saving import get_registered_object
        print(get_registered_object("stylegan_tf>Generator") is not None, "tensorflow" in sys.modules)
    """)
    result = subprocess.run([sys.executable, "-c", code], env=dict(ENV, KERAS_BACKEND="jax"), capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split()[-2:] == ["True", "False"]


def test_import_stylegan_tf_alone_imports_no_keras():
    result = subprocess.run([sys.executable, "-c", "import sys, stylegan_tf, stylegan_tf.config, stylegan_tf.presets, "
                             "stylegan_tf.training.options; stylegan_tf.presets.get('paper256');"
                             "print(sorted({'keras', 'tensorflow'} & set(sys.modules)))"],
                            env=ENV, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split()[-1] == "[]"


# Families that are not (fully) there ------------------------------------------------------------
def _fake_family(**paths):
    fields = dict(name="fakegan", description="test", config="stylegan_tf.config:NetworkConfig",
                  loss_config="stylegan_tf.config:LossConfig",
                  generator="stylegan_tf.networks.stylegan1.generator:Generator",
                  discriminator="stylegan_tf.networks.stylegan1.discriminator:Discriminator",
                  loss="stylegan_tf.training.stylegan1_loss:StyleGAN1Loss", presets="stylegan_tf.presets.stylegan1",
                  official="stylegan_tf.networks.stylegan1.official_weights",
                  pickle="stylegan_tf.official.stylegan1_pickle")
    return families.Family(**{**fields, **paths})


def test_a_missing_family_module_is_skipped_and_a_clear_error_when_used(monkeypatch):
    missing = "stylegan_tf.networks.fakegan.generator:Generator"
    monkeypatch.setitem(families.FAMILIES, "fakegan", _fake_family(generator=missing))
    registered = families.register_keras_classes()
    assert "fakegan.discriminator" in registered and "fakegan.generator" not in registered
    assert "stylegan1.generator" in registered and "stylegan1.discriminator" in registered
    with pytest.raises(UserError, match=r"The fakegan network family is not available in this version of "
                                        r"stylegan_tf: stylegan_tf.networks.fakegan.generator does not exist"):
        families.get("fakegan").generator_class()


def test_a_family_module_that_fails_on_its_own_import_keeps_its_error(monkeypatch, tmp_path):
    (tmp_path / "broken_family_module.py").write_text("import no_such_dependency_of_this_family\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(families.FAMILIES, "fakegan", _fake_family(generator="broken_family_module:Generator"))
    with pytest.raises(ModuleNotFoundError, match="no_such_dependency_of_this_family") as info:
        families.register_keras_classes()
    assert not isinstance(info.value, UserError)
