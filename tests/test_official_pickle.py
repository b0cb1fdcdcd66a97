"""Official network pickles: the restricted reader, family/config inference, convert, generate, fine-tune.

Every pickle here is written by the tests in the official byte formats (tests/official_pickles.py):
TensorFlow tuples of `dnnlib.tflib.network.Network` states at protocols 2, 4 and 5, and PyTorch
persistence pickles with torch's tensor and legacy storage records, written without torch.
"""

import dataclasses
import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from stylegan_tf.config import NetworkConfig
from stylegan_tf.errors import UserError
from stylegan_tf.official import load_pickle
from stylegan_tf.official.pickle_reader import (ALLOWED_GLOBALS, PersistentObject, TFNetwork, allowed_globals,
                                                read_pickle)
from tests import official_pickles as op
from tests import official_reference as ref

ROOT = Path(__file__).resolve().parents[1]
ENV = dict(os.environ, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="2")
TINY = NetworkConfig(resolution=16, fmap_base=64, fmap_max=16, latent_size=16, dlatent_size=16,
                     mapping_layers=2, mapping_fmaps=16)


def _z(n, cfg, seed=0):
    return np.random.default_rng(seed).normal(size=(n, cfg.latent_size)).astype(np.float32)


def _nchw(images):
    return np.asarray(images).transpose(0, 3, 1, 2)


# TensorFlow pickles: load and compare with the numpy reference ------------------------------------
@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_v1_pickle_loads_G_D_Gs_matching_the_official_reference(tmp_path, protocol):
    path = tmp_path / f"v1-p{protocol}.pkl"
    variables = op.write_v1_pickle(path, TINY, seed=protocol, protocol=protocol)
    nets = load_pickle(path)
    assert (nets.family, nets.source_format, nets.config) == ("stylegan1", "tensorflow", TINY)
    assert all(w.dtype == "float32" for net in (nets.G, nets.D, nets.Gs) for w in net.weights
               if "seed_generator" not in w.path)
    z = _z(3, TINY)
    for name in ("G", "Gs"):
        expected = ref.generator(variables[name], TINY, z, psi=0.7, cutoff=8)
        ours = _nchw(getattr(nets, name)(z, truncation_psi=0.7, noise_mode="const"))
        np.testing.assert_allclose(ours, expected, rtol=2e-3, atol=2e-3)
    # G and Gs are different networks in the file, and each got its own weights.
    assert not np.allclose(np.asarray(nets.G.w_avg), np.asarray(nets.Gs.w_avg))
    images = np.random.default_rng(1).normal(size=(4, 16, 16, 3)).astype(np.float32)
    expected = ref.discriminator(variables["D"], TINY, images.transpose(0, 3, 1, 2))
    np.testing.assert_allclose(np.asarray(nets.D(images)), expected, rtol=2e-3, atol=2e-3)
    counts = nets.parameter_counts()
    assert counts["G"] == counts["Gs"] == sum(
        int(np.prod(v.shape)) for k, v in variables["G"].items() if "noise" not in k and not k.endswith(
            ("lod", "dlatent_avg")))


def test_v1_options_from_static_kwargs(tmp_path):
    """fused_scale True, a conditional network and an unusual mbstd group come from the kwargs."""
    cfg = dataclasses.replace(TINY, label_size=3, fused_scale="always", mbstd_group_size=2, truncation_psi=0.5)
    path = tmp_path / "v1-options.pkl"
    variables = op.write_v1_pickle(path, cfg, seed=5, extra_g_kwargs={"fused_scale": True, "truncation_psi": 0.5,
                                                                        "randomize_noise": False},
                                   extra_d_kwargs={"fused_scale": True, "mbstd_group_size": 2,
                                                   "structure": "linear"})
    nets = load_pickle(path)
    assert nets.config == cfg
    z = _z(2, cfg)
    labels = np.eye(3, dtype=np.float32)[[0, 2]]
    expected = ref.generator(variables["Gs"], cfg, z, labels, psi=0.5, official_fused="always")
    np.testing.assert_allclose(_nchw(nets.Gs(z, labels, noise_mode="const")), expected, rtol=2e-3, atol=2e-3)
    images = np.random.default_rng(2).normal(size=(4, 16, 16, 3)).astype(np.float32)
    d_labels = np.eye(3, dtype=np.float32)[[0, 1, 2, 1]]
    expected = ref.discriminator(variables["D"], cfg, images.transpose(0, 3, 1, 2), d_labels, official_fused="always")
    np.testing.assert_allclose(np.asarray(nets.D(images, d_labels)), expected, rtol=2e-3, atol=2e-3)


def test_official_shapes_written_here_agree_with_the_importer():
    from stylegan_tf.networks.stylegan1.generator import Generator
    from stylegan_tf.networks.stylegan1.discriminator import Discriminator
    from stylegan_tf.networks.stylegan1.official_weights import (official_discriminator_shapes,
                                                                 official_generator_shapes)

    cfg = dataclasses.replace(TINY, label_size=2)
    shapes = op.v1_official_shapes(cfg)
    ours = {**{f"G_mapping/{k}": v for k, v in shapes["G_mapping"].items()},
            **{f"G_synthesis/{k}": v for k, v in shapes["G_synthesis"].items()}, "dlatent_avg": (16,)}
    assert ours == official_generator_shapes(Generator(cfg))
    assert shapes["D"] == official_discriminator_shapes(Discriminator(cfg))


@pytest.mark.parametrize("protocol", [2, 4])
def test_numpy_1_globals_are_read(tmp_path, protocol):
    """Files written with numpy 1 name `numpy.core.multiarray._reconstruct`, not `numpy._core`."""
    arrays = {"a": np.arange(6, dtype=np.float32).reshape(2, 3), "lod": np.float32(0) * np.ones((), np.float32)}
    state = op.network_state("D", "D_basic", {"resolution": 4}, {})
    state["variables"] = [(k, op.numpy1_array(v)) for k, v in arrays.items()]
    net = op.New(op.Ref("dnnlib.tflib.network", "Network"), (), state=state)
    path = tmp_path / "numpy1.pkl"
    path.write_bytes(op.dumps_with_globals((net, net, net), protocol))
    assert b"numpy.core.multiarray" in path.read_bytes()
    G, _, _ = read_pickle(path)
    assert isinstance(G, TFNetwork) and G.version == 3 and G.build_func_name == "D_basic"
    for k, v in arrays.items():
        np.testing.assert_array_equal(G.own_variables()[k], v)
        assert G.own_variables()[k].dtype == np.float32


# Nothing in a pickle runs ----------------------------------------------------------------------------
def test_stored_network_source_is_never_executed(tmp_path):
    marker = tmp_path / "executed.txt"
    path = tmp_path / "v1.pkl"
    op.write_v1_pickle(path, TINY, source_marker=marker)
    nets = load_pickle(path)
    G, _, _ = read_pickle(path)
    assert str(marker) in G.build_module_src and str(marker) in G.components["mapping"].build_module_src
    assert nets.family == "stylegan1" and not marker.exists()


@pytest.mark.parametrize("module,name", [("os", "system"), ("posix", "system"), ("builtins", "eval"),
                                         ("builtins", "exec"), ("subprocess", "getoutput"),
                                         ("numpy.testing._private.utils", "runstring")])
def test_disallowed_global_is_refused_and_nothing_runs(tmp_path, module, name):
    marker = tmp_path / "pwned"
    code = {"system": f"touch {marker}", "getoutput": f"touch {marker}"}.get(
        name, f"open({str(marker)!r}, 'w').close()")
    args = (code,) if name != "runstring" else (code, {})
    path = tmp_path / "evil.pkl"
    path.write_bytes(op.dumps_with_globals(op.Call(op.Ref(module, name), args), 4))
    with pytest.raises(UserError, match=rf"{path}.*refused.*{module}\.{name}"):
        read_pickle(path)
    with pytest.raises(UserError, match="refused"):
        load_pickle(path)
    assert not marker.exists()


def test_the_hostile_pickle_does_run_code_under_plain_pickle(tmp_path):
    """The side effect the refusal tests look for is real: `pickle.loads` of the same bytes creates it."""
    marker = tmp_path / "pwned"
    pickle.loads(op.os_system_pickle(marker))
    assert marker.exists()


def test_global_hidden_inside_a_network_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "nested.pkl"
    path.write_bytes(op.nested_os_system_pickle(marker))
    with pytest.raises(UserError, match=r"posix\.system"):
        read_pickle(path)
    assert not marker.exists()


def test_allow_list_is_data_builders_only():
    names = set(allowed_globals())
    assert "dnnlib.tflib.network.Network" in names and "torch._utils._rebuild_tensor_v2" in names
    assert not any(n.split(".")[0] in ("os", "posix", "subprocess", "sys", "importlib", "runpy") for n in names)
    assert ("builtins", "getattr") not in ALLOWED_GLOBALS and ("builtins", "eval") not in ALLOWED_GLOBALS


def test_reconstruct_only_builds_ndarrays(tmp_path):
    path = tmp_path / "subtype.pkl"
    path.write_bytes(op.dumps_with_globals(op.Call(op.Ref("numpy._core.multiarray", "_reconstruct"),
                                                   (op.Ref("collections", "OrderedDict"), (0,), b"b")), 4))
    with pytest.raises(UserError, match="_reconstruct called with a class other than numpy.ndarray"):
        read_pickle(path)


# Bad files --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def v1_bytes(tmp_path_factory):
    path = tmp_path_factory.mktemp("v1") / "v1.pkl"
    op.write_v1_pickle(path, TINY, seed=7)
    return path.read_bytes()


def test_truncated_pickle(tmp_path, v1_bytes):
    path = tmp_path / "cut.pkl"
    path.write_bytes(v1_bytes[: len(v1_bytes) // 2])
    with pytest.raises(UserError, match=rf"{path}.*(truncated|not a readable)"):
        load_pickle(path)


def test_corrupt_pickle(tmp_path, v1_bytes):
    data = bytearray(v1_bytes)
    rng = np.random.default_rng(0)
    for i in rng.integers(100, len(data) - 100, 40):
        data[i] ^= 0xA5
    path = tmp_path / "corrupt.pkl"
    path.write_bytes(bytes(data))
    with pytest.raises(UserError, match=str(path)):
        load_pickle(path)


@pytest.mark.parametrize("content,reason", [
    (b"", "empty"), (b"PK\x03\x04rest of a zip", "zip archive"), (b"\x00\x01garbage" * 10, "not a readable"),
    (pickle.dumps({"weights": [1, 2]}), "not official networks"),
    (pickle.dumps((1, 2, 3)), "not official networks")])
def test_files_that_are_not_network_pickles(tmp_path, content, reason):
    path = tmp_path / "other.pkl"
    path.write_bytes(content)
    with pytest.raises(UserError, match=rf"{path}.*{reason}"):
        load_pickle(path)


def test_missing_file(tmp_path):
    with pytest.raises(UserError, match="Cannot open"):
        load_pickle(tmp_path / "nope.pkl")


def test_shapes_that_fit_no_configuration(tmp_path):
    """The kwargs say fmap_max 16, the variables were made with fmap_max 8."""
    path = tmp_path / "mismatch.pkl"
    op.write_v1_pickle(path, dataclasses.replace(TINY, fmap_max=8), extra_g_kwargs={"fmap_max": 16},
                       extra_d_kwargs={"fmap_max": 16})
    with pytest.raises(UserError, match=rf"{path}: G: .*do not match.*misshaped"):
        load_pickle(path)


def test_unknown_build_function_and_unsupported_option(tmp_path):
    path = tmp_path / "progan.pkl"
    state = op.network_state("G", "G_paper", {"resolution": 16, "num_channels": 3}, {})
    op.dump_tf_networks(path, (state, dict(state, build_func_name="D_paper"), state), 4)
    with pytest.raises(UserError, match=r"G_paper.*not a known family"):
        load_pickle(path)
    path = tmp_path / "relu.pkl"
    op.write_v1_pickle(path, TINY, extra_g_kwargs={"nonlinearity": "relu"})
    with pytest.raises(UserError, match=r"nonlinearity='relu'"):
        load_pickle(path)


def test_unsupported_network_version(tmp_path):
    path = tmp_path / "v9.pkl"
    op.write_v1_pickle(path, TINY, version=9)
    with pytest.raises(UserError, match=r"version 9"):
        load_pickle(path)


# PyTorch pickles, read without torch ------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["float32", "float16", "float64", "int64", "int32", "uint8", "bool"])
def test_torch_storage_dtypes(tmp_path, dtype):
    values = (np.arange(12) % 3 - 1).astype(dtype)
    path = tmp_path / "t.pkl"
    op.write_torch_pickle(path, op.tensor_view_module(values, 0, (3, 4), (4, 1)))
    w = read_pickle(path).state_dict()["w"]
    assert w.dtype == np.dtype(dtype) and w.shape == (3, 4)
    np.testing.assert_array_equal(w, values.reshape(3, 4))


def test_torch_bfloat16_storage_becomes_float32(tmp_path):
    values = np.array([1.0, -2.5, 0.15625, 3e5], np.float32)
    bf16 = (values.view(np.uint32) >> 16).astype(np.uint16)
    path = tmp_path / "bf16.pkl"
    op.write_torch_pickle(path, op.tensor_view_module(bf16, 0, (4,), (1,), storage_class="BFloat16Storage"))
    w = read_pickle(path).state_dict()["w"]
    assert w.dtype == np.float32
    np.testing.assert_array_equal(w, (bf16.astype(np.uint32) << 16).view(np.float32))


@pytest.mark.parametrize("offset,size,stride", [
    (0, (3, 4), (4, 1)),        # contiguous
    (0, (4, 3), (1, 4)),        # transposed view
    (5, (2, 3), (6, 2)),        # offset, every other column
    (7, (), ()),                # a scalar
    (3, (2, 0, 4), (4, 4, 1)),  # empty
    (2, (3, 2), (0, 1)),        # broadcast (stride 0)
])
def test_torch_tensor_views_of_a_storage(tmp_path, offset, size, stride):
    storage = np.arange(24, dtype=np.float32) * 0.5
    path = tmp_path / "view.pkl"
    op.write_torch_pickle(path, op.tensor_view_module(storage, offset, size, stride))
    w = read_pickle(path).state_dict()["w"]
    expected = np.lib.stride_tricks.as_strided(storage[offset:], shape=size, strides=[s * 4 for s in stride]) \
        if 0 not in size else np.zeros(size, np.float32)
    assert w.shape == tuple(size) and w.dtype == np.float32
    np.testing.assert_array_equal(w, expected)


@pytest.mark.parametrize("offset,size,stride", [(20, (2, 3), (3, 1)), (0, (5, 5), (5, 1)), (0, (2,), (-1,))])
def test_torch_views_outside_their_storage_are_refused(tmp_path, offset, size, stride):
    path = tmp_path / "oob.pkl"
    op.write_torch_pickle(path, op.tensor_view_module(np.zeros(24, np.float32), offset, size, stride))
    with pytest.raises(UserError, match=rf"{path}.*(past its storage|malformed tensor)"):
        read_pickle(path)


def test_torch_storage_stream_errors(tmp_path):
    good = op.torch_storage_stream(np.zeros(4, np.float32))
    cases = {"count": op.torch_storage_stream(np.zeros(4, np.float32), count=5),
             "truncated": good[:-3],
             "magic": pickle.dumps(123, protocol=2) + good[len(pickle.dumps(op.LEGACY_MAGIC_NUMBER, protocol=2)):]}
    reasons = {"count": "5 elements stored, the record says 4", "truncated": "truncated data",
               "magic": "wrong magic number"}
    for case, stream in cases.items():
        path = tmp_path / f"{case}.pkl"
        op.write_torch_pickle(path, op.Call(op.Ref("torch.storage", "_load_from_bytes"), (stream,)))
        with pytest.raises(UserError, match=reasons[case]):
            read_pickle(path)


def _ada_like_pickle(source_marker=None):
    """An ADA-layout snapshot dict: G/G_ema (mapping + synthesis.b4), D, training_set_kwargs."""
    rng = np.random.default_rng(0)
    mapping_p = {"fc0.weight": rng.normal(size=(8, 4)).astype(np.float32)}
    fc0 = op.persistent_module("FullyConnectedLayer", {"weight": mapping_p["fc0.weight"],
                                                       "bias": np.zeros(8, np.float32)},
                               init_kwargs={"in_features": 4, "out_features": 8}, source_marker=source_marker)
    mapping = op.persistent_module("MappingNetwork", {}, {"w_avg": np.ones(8, np.float32)}, {"fc0": fc0},
                                   init_kwargs={"z_dim": 4, "w_dim": 8, "num_ws": 2, "num_layers": 1})
    conv1 = op.persistent_module("SynthesisLayer", {"weight": rng.normal(size=(6, 6, 3, 3)).astype(np.float32),
                                                    "noise_strength": np.float32(0.1) * np.ones((), np.float32)},
                                 {"noise_const": rng.normal(size=(4, 4)).astype(np.float32),
                                  "resample_filter": np.ones((4, 4), np.float32)},
                                 non_persistent=("resample_filter",))
    b4 = op.persistent_module("SynthesisBlock", {"const": rng.normal(size=(6, 4, 4)).astype(np.float32)}, {},
                              {"conv1": conv1}, init_kwargs={"resolution": 4})
    synthesis = op.persistent_module("SynthesisNetwork", {}, {}, {"b4": b4},
                                     init_kwargs={"w_dim": 8, "img_resolution": 4, "img_channels": 3,
                                                  "channel_base": 24, "channel_max": 6})
    g_kwargs = {"z_dim": 4, "c_dim": 0, "w_dim": 8, "img_resolution": 4, "img_channels": 3,
                "mapping_kwargs": op.easydict({"num_layers": 1}),
                "synthesis_kwargs": op.easydict({"channel_base": 24, "channel_max": 6, "num_fp16_res": 0})}
    G = op.persistent_module("Generator", {}, {}, {"mapping": mapping, "synthesis": synthesis}, init_kwargs=g_kwargs)
    D = op.persistent_module("Discriminator", {"b4.out.weight": np.ones((1, 6), np.float32)},
                             init_kwargs={"c_dim": 0, "img_resolution": 4, "img_channels": 3})
    return {"G": G, "D": D, "G_ema": G, "augment_pipe": None,
            "training_set_kwargs": op.easydict({"class_name": "training.dataset.ImageFolderDataset",
                                                "resolution": 4, "use_labels": False})}, mapping_p


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_torch_persistence_pickle_parses_to_state_dict_and_init_kwargs(tmp_path, protocol):
    marker = tmp_path / "executed.txt"
    obj, mapping_p = _ada_like_pickle(source_marker=marker)
    path = tmp_path / f"ada-p{protocol}.pkl"
    op.write_torch_pickle(path, obj, protocol)
    data = read_pickle(path)
    assert not marker.exists()
    G = data["G_ema"]
    assert isinstance(G, PersistentObject) and G.class_name == "Generator" and G.version == 6
    assert G.init_kwargs["img_resolution"] == 4
    assert G.init_kwargs["synthesis_kwargs"].channel_base == 24  # EasyDict: attribute access
    sd = G.state_dict()
    assert sorted(sd) == ["mapping.fc0.bias", "mapping.fc0.weight", "mapping.w_avg", "synthesis.b4.const",
                          "synthesis.b4.conv1.noise_const", "synthesis.b4.conv1.noise_strength",
                          "synthesis.b4.conv1.weight"]  # the non-persistent resample_filter is left out
    np.testing.assert_array_equal(sd["mapping.fc0.weight"], mapping_p["fc0.weight"])
    assert sd["synthesis.b4.conv1.weight"].shape == (6, 6, 3, 3) and sd["synthesis.b4.conv1.noise_strength"].shape == ()
    assert data["training_set_kwargs"]["resolution"] == 4
    assert str(marker) in G.children()["mapping"].children()["fc0"].module_src


def test_stylegan3_pickle_names_its_family(tmp_path):
    synthesis = op.persistent_module("SynthesisNetwork", {}, {}, {"input": op.persistent_module("SynthesisInput", {})})
    G = op.persistent_module("Generator", {}, {}, {"synthesis": synthesis})
    path = tmp_path / "sg3.pkl"
    op.write_torch_pickle(path, {"G": G, "D": op.persistent_module("Discriminator", {}), "G_ema": G})
    with pytest.raises(UserError, match=rf"{path}: StyleGAN3 .*stylegan3"):
        load_pickle(path)


# Convert, load_generator, generate ------------------------------------------------------------------
@pytest.fixture(scope="module")
def v1_pickle(tmp_path_factory):
    path = tmp_path_factory.mktemp("pkl") / "v1-tiny.pkl"
    variables = op.write_v1_pickle(path, TINY, seed=11)
    return path, variables


@pytest.mark.slow
def test_convert_writes_keras_files_and_saved_model(tmp_path, v1_pickle, capsys):
    from stylegan_tf import convert
    from stylegan_tf.export import load_generator

    path, variables = v1_pickle
    dest = tmp_path / "out" / "tiny"
    assert convert.main([str(path), str(dest)]) == 0
    printed = capsys.readouterr().out
    assert "family:     stylegan1" in printed and "resolution: 16x16" in printed and "Gs 12,449" in printed
    assert sorted(p.name for p in dest.iterdir()) == ["D.keras", "G.keras", "Gs.keras", "network.json",
                                                      "saved_model"]
    info = json.loads((dest / "network.json").read_text())
    assert info["family"] == "stylegan1" and info["config"]["resolution"] == 16
    z = _z(2, TINY, seed=3)
    expected = ref.generator(variables["Gs"], TINY, z, psi=0.7)
    for source in (dest / "Gs.keras", dest / "saved_model", path):
        G = load_generator(source)
        ours = _nchw(G(z, truncation_psi=0.7, noise_mode="const"))
        np.testing.assert_allclose(ours, expected, rtol=2e-3, atol=2e-3, err_msg=str(source))
    import keras

    D = keras.models.load_model(dest / "D.keras")
    images = np.random.default_rng(4).normal(size=(4, 16, 16, 3)).astype(np.float32)
    np.testing.assert_allclose(np.asarray(D(images)), ref.discriminator(variables["D"], TINY,
                                                                        images.transpose(0, 3, 1, 2)),
                               rtol=2e-3, atol=2e-3)
    # An existing destination is kept unless --overwrite.
    assert convert.main([str(path), str(dest)]) == 2
    assert "already exists" in capsys.readouterr().err


def test_failed_conversion_leaves_nothing(tmp_path, capsys):
    bad = tmp_path / "bad.pkl"
    bad.write_bytes(op.os_system_pickle(tmp_path / "pwned"))
    from stylegan_tf import convert

    dest = tmp_path / "dest"
    assert convert.main([str(bad), str(dest)]) == 2
    assert "refused" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == [bad]


def test_failure_while_writing_leaves_nothing(tmp_path, v1_pickle, monkeypatch):
    from stylegan_tf import convert, export

    def fail(*args, **kwargs):
        raise UserError("disk full")

    monkeypatch.setattr(export, "save_saved_model", fail)
    dest = tmp_path / "dest"
    with pytest.raises(UserError, match="disk full"):
        convert.convert(v1_pickle[0], dest, log=lambda *a: None)
    assert list(tmp_path.iterdir()) == []


def test_generate_reads_a_pickle(tmp_path, v1_pickle):
    from stylegan_tf import generate

    outdir = tmp_path / "images"
    assert generate.main(["images", "--network", str(v1_pickle[0]), "--seeds", "0-1", "--outdir", str(outdir)]) == 0
    assert sorted(p.name for p in outdir.iterdir()) == ["seed0000.png", "seed0001.png"]
    assert Image.open(outdir / "seed0000.png").size == (16, 16)


# Fine-tuning ----------------------------------------------------------------------------------------
class _Dataset:
    def __init__(self, resolution, label_size=0):
        self.resolution, self.label_size = resolution, label_size


def test_finetune_config_checks_the_dataset_and_preset(tmp_path, v1_pickle):
    from stylegan_tf import presets
    from stylegan_tf.official.finetune import finetune_config

    nets = load_pickle(v1_pickle[0])
    config = finetune_config(presets.get("tiny"), nets, _Dataset(16))
    assert config.network == TINY and not config.schedule.progressive
    assert config.schedule.lod_initial_resolution == 16
    with pytest.raises(UserError, match=r"16x16 network, the dataset is 32x32"):
        finetune_config(presets.get("tiny"), nets, _Dataset(32))
    with pytest.raises(UserError, match=r"label_size 0, the dataset has 4"):
        finetune_config(presets.get("tiny"), nets, _Dataset(16, 4))
    from stylegan_tf.networks.stylegan2.config import StyleGAN2Config

    v2 = dataclasses.replace(nets, config=StyleGAN2Config(resolution=16), family="stylegan2")
    with pytest.raises(UserError, match=r"a stylegan2 network, but --config tiny is a stylegan1 preset"):
        finetune_config(presets.get("tiny"), v2, _Dataset(16))


def test_resume_with_a_pickle_points_to_resume_from():
    from stylegan_tf import train

    with pytest.raises(UserError, match="--resume-from x.pkl"):
        train.config_from_args(train.parse_args(["--resume", "x.pkl"]))


def _run(args, timeout=600):
    result = subprocess.run([sys.executable, *args], env=ENV, capture_output=True, text=True, timeout=timeout,
                            cwd=ROOT)
    return result


@pytest.mark.slow
def test_finetune_from_a_pickle_trains_resumes_and_exports(tmp_path):
    """train.py --resume-from: starts from the pickle's G, D, Gs at full resolution (lod 0), fresh
    optimizers, kimg 0; checkpoints and --resume latest work as in any run."""
    from stylegan_tf.training.checkpoint import read_meta

    cfg = dataclasses.replace(TINY, resolution=8)
    pkl = tmp_path / "v1-8.pkl"
    op.write_v1_pickle(pkl, cfg, seed=2)
    from stylegan_tf.data.synthetic import build_synthetic_dataset

    data = tmp_path / "data"   # built here: the dataset tool's command line is tested in test_training_loop.py
    build_synthetic_dataset(data, resolution=8, num_images=16, seed=0)
    outdir = tmp_path / "runs"
    train = ["train.py", "--data", str(data), "--outdir", str(outdir), "--config", "tiny", "--batch", "4",
             "--snapshot-kimg", "0.008", "--resume-from", str(pkl), "--no-savedmodel"]
    result = _run(train + ["--kimg", "0.008"])
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    assert "Fine-tuning" in result.stdout
    (run_dir,) = outdir.iterdir()
    stats = [json.loads(line) for line in (run_dir / "stats.jsonl").read_text().splitlines()]
    assert {(s["resolution"], s["lod"]) for s in stats} == {(8, 0.0)}
    (ckpt,) = sorted((run_dir / "checkpoints").glob("ckpt-*"))
    meta = read_meta(ckpt)
    assert meta["state"]["cur_nimg"] == 8 and meta["state"]["step"] == 2
    nets = load_pickle(pkl)
    with np.load(ckpt / "variables.npz") as arrays:
        for group in ("G", "D", "Gs"):
            ours = [arrays[f"{group}/{i:05d}"] for i, (p, _) in enumerate(meta["layout"][group])
                    if "seed_generator_state" not in p]
            # Gs's non-trainable state (w_avg, fixed noise) is a copy of G's after each step, as officially.
            theirs = [(w_g if group == "Gs" and not w.trainable else w).numpy()
                      for w, w_g in zip(getattr(nets, group).weights, nets.G.weights if group == "Gs" else
                                        getattr(nets, group).weights) if "seed_generator_state" not in w.path]
            assert len(ours) == len(theirs)
            paths = [p for p, _ in meta["layout"][group] if "seed_generator_state" not in p]
            # Two Adam steps of lr 0.002 move a weight by about 0.004 (a random init would differ by ~1);
            # w_avg moves by 0.5 % of its distance to the batch mean of w per G forward (4 of them).
            # Gs's trainables move towards G (which the test pickle draws independently of Gs) by the EMA.
            g_weights = [w.numpy() for w in nets.G.weights if "seed_generator_state" not in w.path]
            for path, a, b, g in zip(paths, ours, theirs, g_weights):
                assert a.shape == b.shape, (group, path)
                if a.size == 0:
                    continue
                if group == "Gs" and not np.array_equal(b, g):
                    assert np.mean(np.abs(a - b)) < 0.1 * np.mean(np.abs(g - b)), (group, path)
                else:
                    assert np.max(np.abs(a - b)) < (0.1 if "w_avg" in path else 0.02), (group, path)
        optimizer_steps = [arrays[f"g_opt/{i:05d}"] for i, (p, _) in enumerate(meta["layout"]["g_opt"])
                           if p.endswith("iteration")]
        assert optimizer_steps and all(int(s) <= 2 for s in optimizer_steps)  # fresh optimizers
    assert (run_dir / "network-snapshot-000000.keras").is_file()
    result = _run(train + ["--kimg", "0.016", "--resume", "latest"])
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    assert "Resumed from" in result.stdout
    meta = read_meta(sorted((run_dir / "checkpoints").glob("ckpt-*"))[-1])
    assert meta["state"]["cur_nimg"] == 16


# The official 1024 configuration ---------------------------------------------------------------------
@pytest.mark.slow
def test_official_ffhq_1024_v1_shapes_load(tmp_path):
    """A v1 pickle with the official FFHQ 1024 variables (karras2019stylegan-ffhq-1024x1024.pkl layout)."""
    from stylegan_tf import presets

    cfg = presets.get("ffhq").network
    path = tmp_path / "ffhq-1024.pkl"
    op.write_v1_pickle(path, cfg, seed=0)
    nets = load_pickle(path)
    assert nets.config == cfg and nets.family == "stylegan1"
    counts = nets.parameter_counts()
    # Official G_style 1024 (FFHQ): 26,219,627 trainable parameters; D_basic: 23,087,249.
    assert counts == {"G": 26_219_627, "D": 23_087_249, "Gs": 26_219_627}
    z = _z(1, cfg)
    images = np.asarray(nets.Gs(z, noise_mode="const"))
    assert images.shape == (1, 1024, 1024, 3) and np.all(np.isfinite(images))
