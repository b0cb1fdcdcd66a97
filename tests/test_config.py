"""Configuration as data: presets, JSON round trips, validation errors, the train.py option mapping."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from stylegan_tf import presets
from stylegan_tf.config import Config, NetworkConfig, with_ablation
from stylegan_tf.errors import UserError

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from stylegan_tf import train  # noqa: E402


@pytest.mark.parametrize("name", sorted(presets.list_presets()))
def test_every_preset_validates_and_round_trips(name):
    config = presets.get(name)
    assert Config.from_json(config.to_json()) == config
    if config.network.family != "stylegan1":
        with pytest.raises(UserError, match="StyleGAN v1 paper's configurations"):
            with_ablation(config, "E")
        return
    for letter in "ABCDEF":
        assert Config.from_dict(json.loads(json.dumps(with_ablation(config, letter).to_dict()))).validate()


def test_official_defaults():
    c = presets.get("ffhq")
    assert (c.network.resolution, c.network.num_layers, c.network.nf(1), c.network.nf(9)) == (1024, 18, 512, 16)
    assert (c.optimizer.beta_1, c.optimizer.beta_2, c.optimizer.epsilon) == (0.0, 0.99, 1e-8)
    assert (c.loss.g_loss, c.loss.d_loss, c.loss.r1_gamma) == ("logistic_ns", "logistic_r1", 10.0)
    assert (c.schedule.lod_training_kimg, c.schedule.lod_transition_kimg, c.schedule.total_kimg) == (600, 600, 25000)
    assert c.schedule.minibatch_dict == {4: 128, 8: 128, 16: 128, 32: 64, 64: 32, 128: 16, 256: 8, 512: 4}
    assert presets.get("celebahq").loss.d_loss == "wgan_gp"


def test_unknown_preset_and_fields_are_named():
    with pytest.raises(UserError, match=r"Received: config='ffhd'; valid presets: \[.*'celebahq', 'ffhq'"):
        presets.get("ffhd")
    with pytest.raises(UserError, match=r"Unknown config field\(s\) \['network.resolutoin'\]"):
        Config.from_dict({"network": {"resolutoin": 256}})
    with pytest.raises(UserError, match="Unknown config field `loss.gama`"):
        Config().replace(loss__gama=5)
    with pytest.raises(UserError, match="ablation='G'"):
        presets.get("ffhq", ablation="G")
    with pytest.raises(UserError, match=r"schedule.lod_initial_resolution.*between 4 and the network resolution 16"):
        presets.get("tiny").replace(schedule__lod_initial_resolution=32).validate()
    with pytest.raises(UserError, match="network.mbstd_num_features"):
        NetworkConfig(resolution=8, fmap_max=6, fmap_base=64, mbstd_num_features=4).validate()


def _args(*argv):
    return train.parse_args(list(argv))


def test_train_options_map_onto_the_config():
    config, options = train.config_from_args(
        _args("--config", "ffhq", "--batch", "32", "--gamma", "5", "--kimg", "100", "--no-mirror", "--ablation",
              "E", "--strategy", "mirrored", "--mixed-precision", "fp16", "--metrics", "swd16k, fid50k"),
        dataset_resolution=256)
    assert config.network.resolution == 256 and config.network.style_mixing_prob == 0.0
    assert config.schedule.minibatch_base == 32 and config.schedule.minibatch_dict == {}
    assert (config.loss.r1_gamma, config.schedule.total_kimg, config.training.mirror_augment) == (5, 100, False)
    assert (options.strategy, options.mixed_precision, options.metrics) == ("mirrored", "fp16", ("swd16k", "fid50k"))
    assert train.run_description(config, options) == "ffhq-configE-256-mirrored-fp16"
    fixed, _ = train.config_from_args(_args("--config", "small", "--no-growing"), dataset_resolution=32)
    assert fixed.schedule.progressive is False


@pytest.mark.parametrize("argv,match", [
    (["--resolution", "512"], "above the dataset's 256"),
    (["--batch", "0"], "--batch must be at least 1"),
    (["--kimg", "-1"], "--kimg must be positive"),
    (["--strategy", "tpu"], "--strategy must be one of"),
    (["--mixed-precision", "fp8"], "--mixed-precision must be one of"),
    (["--metrics", "swd"], r"--metrics.*swd16k"),
])
def test_train_option_errors(argv, match):
    with pytest.raises(UserError, match=match):
        train.config_from_args(_args("--config", "ffhq", *argv), dataset_resolution=256)


def test_dry_run_prints_tables_and_official_counts():
    result = subprocess.run([sys.executable, "train.py", "--config", "ffhq", "--dry-run"], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    out = result.stdout
    assert "Generator trainable parameters: 26,219,627 (mapping 2,101,248; synthesis 24,118,379)" in out
    assert "Discriminator trainable parameters: 23,087,249" in out
    assert "synthesis/1024x1024" in out and "4x4 (mbstd, conv, dense0, dense1)" in out
    assert "1024x1024 fade-in minibatch 4" in " ".join(out.split())
