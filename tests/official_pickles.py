"""Writing pickles in the official formats, for tests (no TensorFlow 1, dnnlib or PyTorch needed).

- TensorFlow (v1, StyleGAN2): `pickle.dump((G, D, Gs))` of `dnnlib.tflib.network.Network`
  objects, whose `__getstate__` is the official state dict. A stand-in class is registered
  under that module path in `sys.modules` only while pickling (`official_network_class`).
- PyTorch (stylegan2-ada-pytorch): `pickle.dump(dict(G=..., D=..., G_ema=...))` of
  `torch_utils.persistence` objects holding torch tensors. `GlobalWriter` (a
  `pickle._Pickler`) writes any global by name (`Ref(module, name)`) and reductions
  `Call(ref, args, state)`, so the byte format of torch's reductions is produced from its
  specification: `_rebuild_parameter(_rebuild_tensor_v2(_load_from_bytes(stream), offset,
  size, stride, requires_grad, OrderedDict()), requires_grad, OrderedDict())`, the stream
  being torch's legacy `torch.save` format (see `torch_storage_stream`).
- `v1_official_shapes(cfg)`: the variable names and shapes of the official `G_style` /
  `D_basic` (NVlabs/stylegan `networks_stylegan.py`), written here independently of the
  library's importer.
"""

from __future__ import annotations

import contextlib
import io
import pickle
import struct
import sys
import types

import numpy as np

from tests import official_reference

LEGACY_MAGIC_NUMBER = 0x1950A86A20F9469CFC6C
MALICIOUS_SOURCE = "import pathlib\npathlib.Path({path!r}).write_text('executed')\n"


# Generic: globals by name --------------------------------------------------------------------
class Ref:
    """A global written by name (`GLOBAL` / `STACK_GLOBAL`), whatever exists under that name here."""

    def __init__(self, module: str, name: str):
        self.module, self.name = module, name

    def __call__(self, *args):  # pickle requires reduction callables to be callable.
        raise RuntimeError("a Ref is only written, never called")


class Call:
    """A reduction `ref(*args)` (REDUCE), optionally followed by BUILD with `state` and dict items."""

    def __init__(self, ref: Ref, args: tuple, state=None, dictitems=None):
        self.ref, self.args, self.state, self.dictitems = ref, tuple(args), state, dictitems

    def __reduce__(self):
        return self.ref, self.args, self.state, None, None if self.dictitems is None else iter(self.dictitems)


class New(Call):
    """`cls.__new__(cls)` (NEWOBJ), then BUILD / SETITEMS, as pickle writes plain class instances."""

    def __reduce__(self):
        return _NEWOBJ, (self.ref,) + self.args, self.state, None, \
            None if self.dictitems is None else iter(self.dictitems)


def _newobj(cls, *args):
    raise RuntimeError("never called")


_newobj.__name__ = "__newobj__"
_NEWOBJ = _newobj


class PersistentRef:
    """An object written as a persistent id (`BINPERSID`) with the given tuple."""

    def __init__(self, pid: tuple):
        self.pid = pid


class GlobalWriter(pickle._Pickler):
    """The pure-Python pickler, taught to write `Ref` as globals and `PersistentRef` as persistent ids."""

    dispatch = dict(pickle._Pickler.dispatch)

    def save_ref(self, obj: Ref) -> None:
        if self.proto >= 4:
            self.save(obj.module)
            self.save(obj.name)
            self.write(pickle.STACK_GLOBAL)
        else:
            self.write(pickle.GLOBAL + f"{obj.module}\n{obj.name}\n".encode("utf-8"))

    dispatch[Ref] = save_ref

    def save_reduce(self, func, args, state=None, listitems=None, dictitems=None, state_setter=None, obj=None):
        # `New` names its class by a Ref, so pickle's check that args[0] is obj's class does not apply.
        super().save_reduce(func, args, state, listitems, dictitems, state_setter, obj=None)

    def persistent_id(self, obj):
        return obj.pid if isinstance(obj, PersistentRef) else None


def dumps_with_globals(obj, protocol: int) -> bytes:
    f = io.BytesIO()
    GlobalWriter(f, protocol).dump(obj)
    return f.getvalue()


def numpy1_array(array: np.ndarray) -> Call:
    """An array as numpy 1 writers pickle it (`numpy.core.multiarray._reconstruct`, protocols 2-4)."""
    array = np.ascontiguousarray(array)
    dtype = Call(Ref("numpy", "dtype"), (array.dtype.str[1:], False, True), state=(3, "<", None, None, None, -1, -1, 0))
    return Call(Ref("numpy.core.multiarray", "_reconstruct"), (Ref("numpy", "ndarray"), (0,), b"b"),
                state=(1, array.shape, dtype, False, array.tobytes()))


# TensorFlow networks ---------------------------------------------------------------------------
@contextlib.contextmanager
def official_network_class():
    """`dnnlib.tflib.network.Network` (a stand-in whose `__getstate__` returns its state), in
    `sys.modules` only inside the block."""
    names = ("dnnlib", "dnnlib.tflib", "dnnlib.tflib.network")
    saved = {n: sys.modules.get(n) for n in names}
    modules = {n: types.ModuleType(n) for n in names}

    class Network:
        def __init__(self, state: dict):
            self._state = state

        def __getstate__(self):
            return self._state

    Network.__module__, Network.__qualname__ = "dnnlib.tflib.network", "Network"
    modules["dnnlib.tflib.network"].Network = Network
    modules["dnnlib"].tflib, modules["dnnlib.tflib"].network = modules["dnnlib.tflib"], modules["dnnlib.tflib.network"]
    sys.modules.update(modules)
    try:
        yield Network
    finally:
        for n, m in saved.items():
            if m is None:
                sys.modules.pop(n, None)
            else:
                sys.modules[n] = m


def network_state(name, func_name, static_kwargs, variables, components=None, version=3, source_marker=None):
    """The official `Network.__getstate__` dict; `build_module_src` would write `source_marker` if executed."""
    src = MALICIOUS_SOURCE.format(path=str(source_marker)) if source_marker else "# network module source\n"
    return {"version": version, "name": name, "static_kwargs": dict(static_kwargs), "components": components or {},
            "build_module_src": src, "build_func_name": func_name, "variables": list(variables.items())}


def dump_tf_networks(path, states: tuple, protocol: int) -> None:
    """Pickles (G, D, Gs) from their state dicts (components given as state dicts too)."""
    with official_network_class() as Network:
        def network(state):
            state = dict(state, components={k: network(v) for k, v in state["components"].items()})
            return Network(state)

        with open(path, "wb") as f:
            pickle.dump(tuple(network(s) for s in states), f, protocol=protocol)


def v1_official_shapes(cfg) -> dict[str, dict[str, tuple]]:
    """Official v1 variables by network ("G" own, "G_mapping", "G_synthesis", "D"), local names."""
    nf = lambda stage: min(int(cfg.fmap_base / (2.0 ** (stage * cfg.fmap_decay))), cfg.fmap_max)  # noqa: E731
    R = int(np.log2(cfg.resolution))
    num_layers = 2 * R - 2
    mapping = {}
    if cfg.label_size:
        mapping["LabelConcat/weight"] = (cfg.label_size, cfg.latent_size)
    fan_in = cfg.latent_size * (2 if cfg.label_size else 1)
    for i in range(cfg.mapping_layers):
        out = cfg.dlatent_size if i == cfg.mapping_layers - 1 else cfg.mapping_fmaps
        mapping[f"Dense{i}/weight"], mapping[f"Dense{i}/bias"] = (fan_in, out), (out,)
        fan_in = out
    synthesis = {"lod": ()}
    if cfg.use_noise:
        for i in range(num_layers):
            r = 2 ** (i // 2 + 2)
            synthesis[f"noise{i}"] = (1, 1, r, r)

    def epilogue(scope, c):
        if cfg.use_noise:
            synthesis[f"{scope}/Noise/weight"] = (c,)
        synthesis[f"{scope}/bias"] = (c,)
        if cfg.use_styles:
            synthesis[f"{scope}/StyleMod/weight"], synthesis[f"{scope}/StyleMod/bias"] = (cfg.dlatent_size, 2 * c), (2 * c,)

    if cfg.const_input:
        synthesis["4x4/Const/const"] = (1, nf(1), 4, 4)
        epilogue("4x4/Const", nf(1))
    else:
        synthesis["4x4/Dense/weight"] = (cfg.dlatent_size, nf(1) * 16)
        epilogue("4x4/Dense", nf(1))
    synthesis["4x4/Conv/weight"] = (3, 3, nf(1), nf(1))
    epilogue("4x4/Conv", nf(1))
    for r in range(3, R + 1):
        s = f"{2**r}x{2**r}"
        synthesis[f"{s}/Conv0_up/weight"] = (3, 3, nf(r - 2), nf(r - 1))
        epilogue(f"{s}/Conv0_up", nf(r - 1))
        synthesis[f"{s}/Conv1/weight"] = (3, 3, nf(r - 1), nf(r - 1))
        epilogue(f"{s}/Conv1", nf(r - 1))
    for r in range(2, R + 1):
        synthesis[f"ToRGB_lod{R - r}/weight"] = (1, 1, nf(r - 1), cfg.num_channels)
        synthesis[f"ToRGB_lod{R - r}/bias"] = (cfg.num_channels,)
    D = {"lod": ()}
    for r in range(R, 1, -1):
        D[f"FromRGB_lod{R - r}/weight"], D[f"FromRGB_lod{R - r}/bias"] = (1, 1, cfg.num_channels, nf(r - 1)), (nf(r - 1),)
    for r in range(R, 2, -1):
        s = f"{2**r}x{2**r}"
        D[f"{s}/Conv0/weight"], D[f"{s}/Conv0/bias"] = (3, 3, nf(r - 1), nf(r - 1)), (nf(r - 1),)
        D[f"{s}/Conv1_down/weight"], D[f"{s}/Conv1_down/bias"] = (3, 3, nf(r - 1), nf(r - 2)), (nf(r - 2),)
    mbstd = cfg.mbstd_num_features if cfg.mbstd_group_size > 1 else 0
    D["4x4/Conv/weight"], D["4x4/Conv/bias"] = (3, 3, nf(1) + mbstd, nf(1)), (nf(1),)
    D["4x4/Dense0/weight"], D["4x4/Dense0/bias"] = (nf(1) * 16, nf(0)), (nf(0),)
    D["4x4/Dense1/weight"], D["4x4/Dense1/bias"] = (nf(0), max(cfg.label_size, 1)), (max(cfg.label_size, 1),)
    return {"G": {"lod": (), "dlatent_avg": (cfg.dlatent_size,)}, "G_mapping": mapping, "G_synthesis": synthesis,
            "D": D}


def random_values(shapes: dict, rng) -> dict[str, np.ndarray]:
    """Random float32 values (lod 0, the constant around 1), as `official_reference.random_official_variables`."""
    return official_reference.random_official_variables(shapes, seed=int(rng.integers(2**31)))


def v1_kwargs(cfg) -> tuple[dict, dict]:
    """Static kwargs (G, D) as the official loop passes them, plus every architecture field that differs
    from the official defaults (as `G_args` / `D_args` of a custom train.py would)."""
    base = {"num_channels": cfg.num_channels, "resolution": cfg.resolution, "label_size": cfg.label_size}
    g, d = dict(base), dict(base)
    for key in ("fmap_base", "fmap_max", "latent_size", "dlatent_size", "mapping_layers", "mapping_fmaps"):
        if getattr(cfg, key) != {"fmap_base": 8192, "fmap_max": 512, "latent_size": 512, "dlatent_size": 512,
                                 "mapping_layers": 8, "mapping_fmaps": 512}[key]:
            g[key] = getattr(cfg, key)
            if key.startswith("fmap"):
                d[key] = getattr(cfg, key)
    return g, d


def write_v1_pickle(path, cfg, seed=0, protocol=4, source_marker=None, version=3, extra_g_kwargs=None,
                    extra_d_kwargs=None) -> dict[str, dict]:
    """An official v1 pickle of random weights for `cfg` (a NetworkConfig); returns the variables of
    G, D and Gs under official `Network.vars` names (`G_mapping/...`, `G_synthesis/...`; D's local).
    `extra_*_kwargs` are added to the static kwargs (G's also reach its components, as G_style passes them)."""
    rng = np.random.default_rng(seed)
    shapes = v1_official_shapes(cfg)
    g_kwargs, d_kwargs = v1_kwargs(cfg)
    g_kwargs.update(extra_g_kwargs or {})
    d_kwargs.update(extra_d_kwargs or {})
    states, variables = [], {}
    for name in ("G", "D", "Gs"):
        if name == "D":
            values = random_values(shapes["D"], rng)
            states.append(network_state("D", "D_basic", d_kwargs, values, version=version,
                                        source_marker=source_marker))
            variables["D"] = values
            continue
        mapping, synthesis = random_values(shapes["G_mapping"], rng), random_values(shapes["G_synthesis"], rng)
        own = random_values(shapes["G"], rng)
        components = {
            "synthesis": network_state("G_synthesis", "G_synthesis", g_kwargs, synthesis, version=version,
                                       source_marker=source_marker),
            "mapping": network_state("G_mapping", "G_mapping", dict(g_kwargs, dlatent_broadcast=cfg.num_layers),
                                     mapping, version=version, source_marker=source_marker)}
        states.append(network_state(name, "G_style", g_kwargs, own, components, version=version,
                                    source_marker=source_marker))
        variables[name] = {**own, **{f"G_mapping/{k}": v for k, v in mapping.items()},
                           **{f"G_synthesis/{k}": v for k, v in synthesis.items()}}
    dump_tf_networks(path, tuple(states), protocol)
    return variables


# PyTorch ------------------------------------------------------------------------------------------
STORAGE_CLASS = {np.dtype("float32"): "FloatStorage", np.dtype("float64"): "DoubleStorage",
                 np.dtype("float16"): "HalfStorage", np.dtype("int64"): "LongStorage",
                 np.dtype("int32"): "IntStorage", np.dtype("uint8"): "ByteStorage", np.dtype("bool"): "BoolStorage"}


def torch_storage_stream(elements: np.ndarray, storage_class: str | None = None, key: str = "94811234567",
                         count: int | None = None) -> bytes:
    """torch's legacy `torch.save` stream of one storage (what `TypedStorage.__reduce__` embeds):
    magic number, protocol 1001, sys_info, the storage as persistent id ('storage', class, key,
    'cpu', numel, None), the key list, then the 8-byte little-endian element count and the raw data."""
    elements = np.ascontiguousarray(elements).reshape(-1)
    storage_class = storage_class or STORAGE_CLASS[elements.dtype]
    sys_info = {"protocol_version": 1001, "little_endian": True, "type_sizes": {"short": 2, "int": 4, "long": 4}}
    stream = io.BytesIO()
    for header in (LEGACY_MAGIC_NUMBER, 1001, sys_info):
        pickle.dump(header, stream, protocol=2)
    stream.write(dumps_with_globals(PersistentRef(("storage", Ref("torch", storage_class), key, "cpu",
                                                   elements.size, None)), protocol=2))
    pickle.dump([key], stream, protocol=2)
    stream.write(struct.pack("<q", elements.size if count is None else count))
    stream.write(elements.astype(elements.dtype.newbyteorder("<")).tobytes())
    return stream.getvalue()


def torch_tensor(storage_elements: np.ndarray, offset: int, size: tuple, stride: tuple, parameter: bool = True,
                 storage_class: str | None = None) -> Call:
    """A tensor as torch pickles it: a view (offset, size, stride in elements) of a storage."""
    storage = Call(Ref("torch.storage", "_load_from_bytes"), (torch_storage_stream(storage_elements,
                                                                                    storage_class),))
    tensor = Call(Ref("torch._utils", "_rebuild_tensor_v2"),
                  (storage, offset, tuple(size), tuple(stride), parameter, Call(Ref("collections", "OrderedDict"), ())))
    if parameter:
        return Call(Ref("torch._utils", "_rebuild_parameter"), (tensor, True, Call(Ref("collections", "OrderedDict"),
                                                                                      ())))
    return tensor


def contiguous_tensor(array: np.ndarray, parameter: bool = True) -> Call:
    array = np.array(array, order="C")  # (not ascontiguousarray: it makes scalars 1-D)
    stride = tuple(int(s // array.itemsize) for s in array.strides) if array.ndim else ()
    return torch_tensor(array, 0, array.shape, stride, parameter)


def easydict(items: dict) -> New:
    return New(Ref("dnnlib.util", "EasyDict"), (), dictitems=list(items.items()))


def ordered_dict(items: dict) -> Call:
    return Call(Ref("collections", "OrderedDict"), (), dictitems=list(items.items()))


def persistent_module(class_name: str, parameters: dict, buffers: dict | None = None, modules: dict | None = None,
                      init_kwargs: dict | None = None, non_persistent=(), source_marker=None, attributes=None) -> Call:
    """A `torch_utils.persistence` module: `_reconstruct_persistent_obj(meta)` with the module's __dict__."""
    state = {"training": False, "_parameters": ordered_dict({k: contiguous_tensor(v) for k, v in parameters.items()}),
             "_buffers": ordered_dict({k: contiguous_tensor(v, parameter=False) for k, v in (buffers or {}).items()}),
             "_non_persistent_buffers_set": set(non_persistent),
             "_backward_hooks": ordered_dict({}), "_forward_hooks": ordered_dict({}),
             "_forward_pre_hooks": ordered_dict({}), "_state_dict_hooks": ordered_dict({}),
             "_load_state_dict_pre_hooks": ordered_dict({}), "_modules": ordered_dict(modules or {}),
             "_init_args": (), "_init_kwargs": easydict(init_kwargs or {}), **(attributes or {})}
    src = MALICIOUS_SOURCE.format(path=str(source_marker)) if source_marker else "# training/networks.py\n"
    meta = {"type": "class", "version": 6, "module_src": src, "class_name": class_name, "state": state}
    return Call(Ref("torch_utils.persistence", "_reconstruct_persistent_obj"), (meta,))


def write_torch_pickle(path, obj, protocol: int = 3) -> None:
    with open(path, "wb") as f:
        f.write(dumps_with_globals(obj, protocol))


# Hostile files --------------------------------------------------------------------------------------
def os_system_pickle(marker_path, protocol: int = 4) -> bytes:
    """A pickle that, loaded by `pickle.load`, runs `os.system('touch <marker_path>')`."""
    return dumps_with_globals(Call(Ref("os", "system"), (f"touch {marker_path}",)), protocol)


def nested_os_system_pickle(marker_path, protocol: int = 4) -> bytes:
    """A TF-looking (G, D, Gs) tuple whose D hides a `posix.system` call in its static kwargs."""
    hidden = Call(Ref("posix", "system"), (f"touch {marker_path}",))
    net = New(Ref("dnnlib.tflib.network", "Network"), (), state={
        "version": 3, "name": "D", "static_kwargs": {"resolution": hidden}, "components": {},
        "build_module_src": "", "build_func_name": "D_basic", "variables": []})
    return dumps_with_globals((net, net, net), protocol)


def tensor_view_module(elements: np.ndarray, offset: int, size: tuple, stride: tuple, storage_class=None):
    """A one-parameter persistent module whose parameter `w` is the given view of a storage."""
    state_params = ordered_dict({"w": torch_tensor(elements, offset, size, stride, True, storage_class)})
    meta = {"type": "class", "version": 6, "module_src": "", "class_name": "View",
            "state": {"_parameters": state_params, "_buffers": ordered_dict({}), "_modules": ordered_dict({}),
                      "_non_persistent_buffers_set": set(), "_init_args": (), "_init_kwargs": easydict({})}}
    return Call(Ref("torch_utils.persistence", "_reconstruct_persistent_obj"), (meta,))



# StyleGAN2 ------------------------------------------------------------------------------------------
def sg2_kwargs(cfg) -> tuple[dict, dict]:
    """TF static kwargs (G_main, D_stylegan2) for a StyleGAN2Config, as run_training.py passes them."""
    base = {"num_channels": cfg.num_channels, "resolution": cfg.resolution, "label_size": cfg.label_size,
            "fmap_base": cfg.channel_base // 2, "fmap_max": cfg.channel_max}
    g = dict(base, latent_size=cfg.latent_size, dlatent_size=cfg.w_dim, mapping_layers=cfg.mapping_layers,
             mapping_fmaps=cfg.mapping_fmaps, architecture=cfg.architecture_g)
    d = dict(base, architecture=cfg.architecture_d, mbstd_group_size=cfg.mbstd_group_size)
    return g, d


def write_sg2_tf_pickle(path, cfg, seed=0, protocol=4, version=4, extra_g_kwargs=None,
                        extra_d_kwargs=None, tf_ada=False) -> dict[str, dict]:
    """An official StyleGAN2 TF pickle (G_main with mapping / synthesis components, D_stylegan2) of
    random weights for `cfg` (a StyleGAN2Config); returns G's, D's and Gs's variables under the
    `Network.vars` names (`G_mapping/...`, `G_synthesis/...`, `dlatent_avg`, `lod`; D's local).
    tf_ada: a stylegan2-ada TF pickle instead (G_synthesis / D_main, version 5; D's label mapping
    kwargs from `cfg.conditioning`: "ada-tf" = D_main's default mapping_layers 0, "ada" = 8 at 0.01)."""
    from tests import official_reference_sg2 as ref2

    rng = np.random.default_rng(seed)
    g_kwargs, d_kwargs = sg2_kwargs(cfg)
    synthesis_func, d_func = "G_synthesis_stylegan2", "D_stylegan2"
    if tf_ada:
        synthesis_func, d_func, version = "G_synthesis", "D_main", 5
        g_kwargs.update(num_fp16_res=cfg.num_fp16_res, conv_clamp=cfg.conv_clamp)
        d_kwargs.update(num_fp16_res=cfg.num_fp16_res, conv_clamp=cfg.conv_clamp)
        if cfg.label_size and cfg.conditioning == "ada":
            d_kwargs.update(mapping_layers=8, mapping_lrmul=0.01)
    g_kwargs.update(extra_g_kwargs or {})
    d_kwargs.update(extra_d_kwargs or {})
    states, variables = [], {}
    for name in ("G", "D", "Gs"):
        if name == "D":
            values = ref2.random_official_variables(ref2.official_d_shapes(cfg), seed=int(rng.integers(2**31)))
            states.append(network_state("D", d_func, d_kwargs, values, version=version))
            variables["D"] = values
            continue
        values = ref2.random_official_variables(ref2.official_g_shapes(cfg), seed=int(rng.integers(2**31)),
                                                mapping_lrmul=cfg.mapping_lrmul)
        parts = {scope: {k[len(scope) + 1:]: v for k, v in values.items() if k.startswith(scope + "/")}
                 for scope in ("G_mapping", "G_synthesis")}
        own = {k: v for k, v in values.items() if "/" not in k}
        components = {
            "mapping": network_state("G_mapping", "G_mapping", dict(g_kwargs, dlatent_broadcast=cfg.num_layers),
                                     parts["G_mapping"], version=version),
            "synthesis": network_state("G_synthesis", synthesis_func, g_kwargs, parts["G_synthesis"],
                                       version=version)}
        states.append(network_state(name, "G_main", g_kwargs, own, components, version=version))
        variables[name] = values
    dump_tf_networks(path, tuple(states), protocol)
    return variables


_ADA_BUFFERS = ("w_avg", "noise_const", "resample_filter")


def ada_module_tree(class_name: str, state_dict: dict, init_kwargs: dict | None = None,
                    buffer_names=_ADA_BUFFERS) -> Call:
    """A persistent module whose `_modules` tree holds `state_dict` (torch names; buffers by name)."""
    def node(name, items, kwargs=None):
        params, buffers, children = {}, {}, {}
        for key, value in items.items():
            head, _, rest = key.partition(".")
            if rest:
                children.setdefault(head, {})[rest] = value
            elif head in buffer_names:
                buffers[head] = value
            else:
                params[head] = value
        modules = {k: node(k, v) for k, v in children.items()}
        return persistent_module(name, params, buffers, modules, init_kwargs=kwargs)

    return node(class_name, state_dict, init_kwargs)


# D mapping_kwargs: ADA's train.py passes none; legacy.py's convert_tf_discriminator passes TF-ADA D_main's
# defaults (mapping_layers 0, mapping_fmaps None, mapping_lrmul 0.1).
_ADA_D_MAPPING_KWARGS = {"ada": {}, "ada-tf": {"num_layers": 0, "embed_features": None, "layer_features": None,
                                               "activation": "lrelu", "lr_multiplier": 0.1}}


def ada_init_kwargs(cfg) -> tuple[dict, dict]:
    """stylegan2-ada-pytorch init kwargs (Generator, Discriminator) for a StyleGAN2Config; D's label
    mapping kwargs by `cfg.conditioning` ("ada": train.py's, "ada-tf": legacy.py's)."""
    g = {"z_dim": cfg.latent_size, "w_dim": cfg.w_dim, "c_dim": cfg.label_size, "img_resolution": cfg.resolution,
         "img_channels": cfg.num_channels,
         "mapping_kwargs": easydict({"num_layers": cfg.mapping_layers, "layer_features": cfg.mapping_fmaps}),
         "synthesis_kwargs": easydict({"channel_base": cfg.channel_base, "channel_max": cfg.channel_max,
                                       "num_fp16_res": cfg.num_fp16_res, "conv_clamp": cfg.conv_clamp,
                                       "architecture": cfg.architecture_g})}
    d = {"c_dim": cfg.label_size, "img_resolution": cfg.resolution, "img_channels": cfg.num_channels,
         "architecture": cfg.architecture_d, "channel_base": cfg.channel_base, "channel_max": cfg.channel_max,
         "num_fp16_res": cfg.num_fp16_res, "conv_clamp": cfg.conv_clamp, "block_kwargs": easydict({}),
         "mapping_kwargs": easydict(dict(_ADA_D_MAPPING_KWARGS.get(cfg.conditioning, {}))),
         "epilogue_kwargs": easydict({"mbstd_group_size": cfg.mbstd_group_size})}
    return g, d


def write_ada_pickle(path, cfg, tf_variables: dict, protocol: int = 3, g_kwargs=None, d_kwargs=None) -> None:
    """A stylegan2-ada-pytorch pickle (dict G, D, G_ema, training_set_kwargs) of the TF variables
    converted as legacy.py does (`tf_to_ada_state_dict`); `*_kwargs` override the init kwargs."""
    from tests import official_reference_sg2 as ref2

    g_init, d_init = ada_init_kwargs(cfg)
    g_init.update(g_kwargs or {})
    d_init.update(d_kwargs or {})
    sd = {name: ref2.tf_to_ada_state_dict(tf_variables[name], "G" if name != "D" else "D",
                                          resample_filter=cfg.resample_filter) for name in ("G", "D", "Gs")}
    obj = {"G": ada_module_tree("Generator", sd["G"], g_init),
           "D": ada_module_tree("Discriminator", sd["D"], d_init),
           "G_ema": ada_module_tree("Generator", sd["Gs"], g_init),
           "training_set_kwargs": easydict({"resolution": cfg.resolution})}
    write_torch_pickle(path, obj, protocol)


# StyleGAN3 buffers (the rest of a StyleGAN3 G's state_dict are parameters).
SG3_BUFFERS = ("w_avg", "transform", "freqs", "phases", "magnitude_ema", "up_filter", "down_filter")


def write_sg3_pickle(path, g_init: dict, g_state: dict, d_init: dict, d_state: dict, protocol: int = 3) -> None:
    """A StyleGAN3 pickle (dict G, D, G_ema, training_set_kwargs): G and G_ema from one state_dict."""
    G = ada_module_tree("Generator", g_state, g_init, SG3_BUFFERS)
    obj = {"G": G, "D": ada_module_tree("Discriminator", d_state, d_init), "G_ema": G,
           "training_set_kwargs": easydict({"resolution": g_init["img_resolution"]})}
    write_torch_pickle(path, obj, protocol)


def write_tiny_sg3_pickle(path, seed: int = 2, c_dim: int = 0):
    """A StyleGAN3-T pickle at 16x16 (channel_base 256, max 16, z/w 16, 2 mapping layers, `c_dim`
    labels: G `mapping.embed`, D's official 8-layer label mapping) with random G and D. Returns
    (G init kwargs as pickled, as plain dicts, G state_dict, D init kwargs, D StyleGAN2Config,
    D TF variables).
    """
    from stylegan_tf.networks.stylegan3.official_weights import config_from_init_kwargs
    from tests import official_reference_sg2 as ref
    from tests import stylegan3_reference as ref3

    g_init = {"z_dim": 16, "c_dim": c_dim, "w_dim": 16, "img_resolution": 16, "img_channels": 3,
              "mapping_kwargs": easydict({"num_layers": 2}), "channel_base": 256, "channel_max": 16,
              "magnitude_ema_beta": 0.999, "conv_clamp": 256}
    plain = dict(g_init, mapping_kwargs={"num_layers": 2})
    d_init = {"c_dim": c_dim, "img_resolution": 16, "img_channels": 3, "architecture": "resnet", "channel_base": 256,
              "channel_max": 16, "epilogue_kwargs": easydict({"mbstd_group_size": 4})}
    g_state = ref3.random_state(plain, np.random.default_rng(seed))
    d_cfg = config_from_init_kwargs(plain, dict(d_init, epilogue_kwargs={"mbstd_group_size": 4}))
    d_cfg = d_cfg.discriminator_config()
    d_vars = ref.random_official_variables(ref.official_d_shapes(d_cfg), seed=seed + 2)
    write_sg3_pickle(path, g_init, g_state, d_init, ref.tf_to_ada_state_dict(d_vars, "D", d_cfg.resample_filter))
    return g_init, plain, g_state, d_init, d_cfg, d_vars
