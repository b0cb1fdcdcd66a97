"""Files written by an earlier version keep loading: `.keras` exports and training checkpoints of
every family, committed as small fixtures (tests/fixtures/main-8010362, written before the
trainer became one class with per-family losses and each family got its own loss config)."""

import json
from pathlib import Path

import keras
import numpy as np
import pytest

import stylegan_tf  # noqa: F401  (registers the Keras classes)
from stylegan_tf.config import Config
from stylegan_tf.training import checkpoint as ckpt
from stylegan_tf.training.loop_state import LoopState
from stylegan_tf.training.trainer import Trainer

FIXTURES = Path(__file__).parent / "fixtures" / "main-8010362"
FAMILIES = ("stylegan1", "stylegan2", "stylegan3")


@pytest.mark.parametrize("family", FAMILIES)
def test_keras_exports_load_and_generate_the_same_images(family):
    G = keras.models.load_model(FIXTURES / f"{family}-Gs.keras")
    assert G.family == family
    z = np.random.RandomState(0).randn(2, G.config.latent_size).astype(np.float32)
    images = np.asarray(G(z, None, truncation_psi=1.0, noise_mode="const"))
    np.testing.assert_allclose(images, np.load(FIXTURES / f"{family}-Gs-images.npy"), atol=1e-5)


@pytest.mark.parametrize("family", FAMILIES)
def test_checkpoints_load_into_the_trainer(family):
    checkpoint = FIXTURES / f"{family}-checkpoint"
    meta = json.loads((checkpoint / "meta.json").read_text())
    config = Config.from_dict(meta["config"])          # its loss section is the old shared one
    assert config.network.family == family
    assert type(config.loss).__name__ == {"stylegan1": "LossConfig", "stylegan2": "StyleGAN2LossConfig",
                                          "stylegan3": "StyleGAN3LossConfig"}[family]
    trainer = Trainer(config, seed=0)
    trainer.build_optimizers()
    state = LoopState.from_dict(ckpt.load_checkpoint(trainer, checkpoint))
    assert (state.cur_nimg, state.step) == (8, 1)
    with np.load(checkpoint / "variables.npz") as data:
        for group, variables in trainer.checkpoint_variables().items():
            if group not in meta["layout"]:
                assert group == "state" and family == "stylegan1"   # v1 checkpoints had no state group
                continue
            for i, v in enumerate(variables):
                np.testing.assert_array_equal(np.asarray(v.numpy()), data[f"{group}/{i:05d}"], err_msg=v.path)
    # The optimizers took the one step the checkpoint was written after.
    assert int(trainer.g_opt.iterations.numpy()) >= 1 and int(trainer.d_opt.iterations.numpy()) >= 1


def test_a_stored_loss_section_with_settings_of_another_family_is_refused():
    meta = json.loads((FIXTURES / "stylegan2-checkpoint" / "meta.json").read_text())
    meta["config"]["loss"]["wgan_lambda"] = 3.0        # a v1 setting at a non-default value
    with pytest.raises(Exception, match="wgan_lambda"):
        Config.from_dict(meta["config"])
