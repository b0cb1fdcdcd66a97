"""Reading the official network pickles without TensorFlow 1, dnnlib or PyTorch, and without running them.

    from stylegan_tf.official.pickle_reader import read_pickle
    data = read_pickle("stylegan2-ffhq-config-f.pkl")

A pickle is a program: `pickle.load` calls whatever global the file names. The
official files name classes whose unpickling executes stored source code
(`dnnlib.tflib.network.Network.__setstate__` execs `build_module_src`;
`torch_utils.persistence` execs `module_src`) and need TensorFlow 1 or PyTorch.
`read_pickle` instead uses a restricted `pickle.Unpickler`: `find_class` resolves
only the names in `ALLOWED_GLOBALS`, each to a local function or class of this module
that builds plain data (numpy arrays, dicts, the stubs below); any other global is
refused with a `UserError` naming it, before anything is called. No stored source is
ever executed; it is kept as text.

What comes back (official layouts, facts section 2):

- TensorFlow pickles (v1, StyleGAN2, TF-ADA): a tuple `(G, D, Gs)` of `TFNetwork`,
  each holding the official `Network.__getstate__` dict: `version`, `name`,
  `static_kwargs`, `components` (nested `TFNetwork`), `build_module_src`,
  `build_func_name`, `variables` [(name, array)] (own variables only).
  `TFNetwork.all_variables()` gives the official `Network.vars` naming
  (component variables under "<component name>/", e.g. `G_mapping/Dense0/weight`).
- PyTorch pickles (stylegan2-ada-pytorch, StyleGAN3): a dict (`G`, `D`, `G_ema`, ...)
  of `PersistentObject` (the `persistence._reconstruct_persistent_obj` meta: class
  name, source text, the module's `__dict__` state). Tensors become numpy arrays read
  from their storage records (`torch.storage._load_from_bytes`: a legacy `torch.save`
  stream, read by a nested restricted unpickler whose `persistent_load` takes the
  storage records, then the raw little-endian bytes); `PersistentObject.state_dict()`
  gives the torch `state_dict()` names (`mapping.fc0.weight`, ...).

Deviation from `pickle.load` of the official code: nothing the file names is
imported, so a file needing any other global (another library's class, a newer
pickle of a tensor subclass) is refused rather than loaded.

Every size is bounded before anything is allocated, so a damaged or forged file fails
with a `UserError` instead of allocating gigabytes (CPython's unpickler allocates the
length an opcode states before reading its data): each pickle's opcode stream is first
walked without building anything (`pickletools.genops` over a reader that never returns
more than the bytes left), which checks every stated length (bytes, strings, frames)
against the data that follows; numpy's `_reconstruct` may only create the empty array
numpy pickles; dtypes are plain (no Python objects, at most `MAX_ITEMSIZE` bytes an
element); a tensor may not have more elements than its storage; `bytearray` is built
only from bytes or latin-1 text, never from a length.
"""

from __future__ import annotations

import _compat_pickle
import collections
import io
import math
import os
import pickle
import pickletools
import struct
from typing import Any, Callable

import numpy as np

from stylegan_tf.errors import UserError

try:
    from numpy._core import multiarray as _multiarray, numeric as _numeric
except ImportError:  # numpy 1
    from numpy.core import multiarray as _multiarray, numeric as _numeric

# Official `torch.serialization` legacy format constants.
LEGACY_MAGIC_NUMBER = 0x1950A86A20F9469CFC6C
LEGACY_PROTOCOL_VERSION = 1001
TF_NETWORK_VERSIONS = (2, 3, 4, 5)  # v1 writes 3, StyleGAN2 4, stylegan2-ada (TF) 5.
MAX_ITEMSIZE = 64   # Bytes per array element: the widest plain numpy dtypes (complex256: 32) fit.
MAX_NESTING = 64    # Network components / modules within each other (official networks: 3 or 4 deep).


class RefusedGlobal(pickle.UnpicklingError):
    """A pickle named a global outside the allow-list (nothing was called)."""

    def __init__(self, module: str, name: str):
        super().__init__(f"{module}.{name}")
        self.module, self.name = module, name


# Bounded reading --------------------------------------------------------------------------
class _BoundedReader:
    """A seekable binary file whose `read(n)` never asks for more than the bytes left (a read of
    n bytes from a file object allocates n bytes first, whatever the file holds)."""

    def __init__(self, f, size: int):
        self._f, self._size = f, size

    def read(self, n=-1) -> bytes:
        left = max(0, self._size - self._f.tell())
        return self._f.read(left if n is None or n < 0 else min(n, left))

    def readinto(self, buffer) -> int:
        return self._f.readinto(buffer)

    def readline(self, limit=-1) -> bytes:
        return self._f.readline(limit)

    def tell(self) -> int:
        return self._f.tell()

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._f.seek(offset, whence)


def _check_opcodes(f: _BoundedReader, size: int) -> None:
    """Walks the next pickle of `f` to its STOP without building anything, then rewinds: every
    length an opcode states must fit in the data that follows (`pickletools.genops` reads each
    argument through `f`, which returns at most the bytes left, and fails when it gets fewer)."""
    start = f.tell()
    try:
        for opcode, arg, _ in pickletools.genops(f):
            if opcode.name == "FRAME" and arg > size - f.tell():
                raise ValueError(f"a frame of {arg} bytes, {size - f.tell()} left")
    except ValueError as e:
        if "exhausted" in str(e) or "remain" in str(e):  # genops: no STOP; an argument cut short.
            raise EOFError(str(e)) from None
        raise pickle.UnpicklingError(f"malformed pickle: {e}") from None
    f.seek(start)


def _load_checked(unpickler: pickle.Unpickler, f: _BoundedReader, size: int):
    _check_opcodes(f, size)
    return unpickler.load()


# TensorFlow networks ----------------------------------------------------------------------
class TFNetwork:
    """The state of an official `dnnlib.tflib.network.Network`, kept as data.

    Pickle's BUILD hands the `__getstate__` dict to `__setstate__`, which only stores
    and checks it (the official one execs `build_module_src`).
    """

    def __setstate__(self, state) -> None:
        if not isinstance(state, dict):
            raise pickle.UnpicklingError(f"dnnlib.tflib.network.Network state is a {type(state).__name__}, "
                                         f"not a dict")
        version = state.get("version")
        if version not in TF_NETWORK_VERSIONS:
            raise pickle.UnpicklingError(f"dnnlib.tflib.network.Network version {version!r} is not one of "
                                         f"{TF_NETWORK_VERSIONS}")
        self.version = int(version)
        self.name = str(state.get("name"))
        self.static_kwargs = dict(state.get("static_kwargs") or {})
        self.components = dict(state.get("components") or {})
        self.build_module_src = state.get("build_module_src")  # Text only: never executed.
        self.build_func_name = str(state.get("build_func_name"))
        variables = state.get("variables") or []
        self.variables = [(str(name), value) for name, value in variables]
        self.extra = {k: v for k, v in state.items() if k not in (
            "version", "name", "static_kwargs", "components", "build_module_src", "build_func_name", "variables")}
        for key, component in self.components.items():
            if not isinstance(component, TFNetwork):
                raise pickle.UnpicklingError(f"Network {self.name!r} component {key!r} is a "
                                             f"{type(component).__name__}, not a Network")

    def own_variables(self) -> dict[str, np.ndarray]:
        return {name: np.asarray(value) for name, value in self.variables}

    def all_variables(self, _depth: int = 0) -> dict[str, np.ndarray]:
        """Own variables, then every component's under "<its name>/" (official `Network.vars`)."""
        if _depth > MAX_NESTING:
            raise UserError(f"network {self.name!r}: components nested more than {MAX_NESTING} deep (a cycle?)")
        result = self.own_variables()
        for component in self.components.values():
            result.update({f"{component.name}/{k}": v for k, v in component.all_variables(_depth + 1).items()})
        return result

    def __repr__(self) -> str:
        return (f"TFNetwork(name={self.name!r}, build_func_name={self.build_func_name!r}, version={self.version}, "
                f"{len(self.variables)} variables, components={sorted(self.components)})")


class EasyDict(dict):
    """Stand-in for `dnnlib.util.EasyDict`: a dict with attribute access."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


# PyTorch persistent modules -----------------------------------------------------------------
class PersistentObject:
    """A `torch_utils.persistence` object (a network module of ADA / StyleGAN3), kept as data."""

    def __init__(self, meta: dict):
        self.class_name = str(meta["class_name"])
        self.module_src = meta.get("module_src")  # Text only: never executed.
        self.version = meta.get("version")
        self.state = dict(meta.get("state") or {})

    @property
    def init_args(self) -> tuple:
        return tuple(self.state.get("_init_args") or ())

    @property
    def init_kwargs(self) -> dict:
        return dict(self.state.get("_init_kwargs") or {})

    def children(self) -> dict[str, "PersistentObject"]:
        return {k: v for k, v in (self.state.get("_modules") or {}).items() if v is not None}

    def state_dict(self, prefix: str = "", _depth: int = 0) -> dict[str, np.ndarray]:
        """Parameters and persistent buffers, recursively, under torch `state_dict` names."""
        if _depth > MAX_NESTING:
            raise UserError(f"module {self.class_name}: modules nested more than {MAX_NESTING} deep (a cycle?)")
        result = {}
        for name, value in (self.state.get("_parameters") or {}).items():
            if value is not None:
                result[prefix + name] = value
        skip = set(self.state.get("_non_persistent_buffers_set") or ())
        for name, value in (self.state.get("_buffers") or {}).items():
            if value is not None and name not in skip:
                result[prefix + name] = value
        for name, child in self.children().items():
            if not isinstance(child, PersistentObject):
                raise UserError(f"Module {self.class_name}.{name} is a {type(child).__name__}, not a network module")
            result.update(child.state_dict(f"{prefix}{name}.", _depth + 1))
        return result

    def __repr__(self) -> str:
        return f"PersistentObject({self.class_name}, children={sorted(self.children())})"


def _reconstruct_persistent_obj(meta) -> PersistentObject:
    """`torch_utils.persistence._reconstruct_persistent_obj`, without executing `meta['module_src']`."""
    if not isinstance(meta, dict) or meta.get("type") != "class" or not isinstance(meta.get("class_name"), str):
        raise pickle.UnpicklingError("torch_utils.persistence object metadata is not a {'type': 'class', ...} dict")
    if not isinstance(meta.get("state"), dict):
        raise pickle.UnpicklingError(f"persistent {meta['class_name']} has no state dict")
    return PersistentObject(meta)


# PyTorch tensors and storages ----------------------------------------------------------------
class StorageType:
    """A `torch.<Name>Storage` class named in a storage record: only its element dtype matters."""

    def __init__(self, name: str, dtype: str):
        self.name, self.dtype = name, dtype

    def __repr__(self) -> str:
        return f"torch.{self.name}"


STORAGE_TYPES = {name: StorageType(name, dtype) for name, dtype in {
    "FloatStorage": "<f4", "DoubleStorage": "<f8", "HalfStorage": "<f2", "BFloat16Storage": "bfloat16",
    "LongStorage": "<i8", "IntStorage": "<i4", "ShortStorage": "<i2", "CharStorage": "i1",
    "ByteStorage": "u1", "BoolStorage": "?", "UntypedStorage": "u1"}.items()}


class Storage:
    """The elements of one torch storage, as a 1-D numpy array."""

    def __init__(self, array: np.ndarray):
        self.array = array


def _bfloat16_to_float32(raw: np.ndarray) -> np.ndarray:
    return (raw.astype(np.uint32) << 16).view(np.float32)


class _StorageStreamUnpickler(pickle.Unpickler):
    """The pickles inside a legacy `torch.save` stream: storage classes and storage records only."""

    def __init__(self, file):
        super().__init__(file, encoding="latin1")
        self.records: dict[str, tuple[StorageType, int]] = {}

    def find_class(self, module: str, name: str):
        if module == "torch" and name in STORAGE_TYPES:
            return STORAGE_TYPES[name]
        raise RefusedGlobal(module, name)

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) in (5, 6) and pid[0] == "storage"):
            raise pickle.UnpicklingError(f"unknown persistent id in a storage stream: {pid!r:.80}")
        _, storage_type, key, _location, numel = pid[:5]
        view_metadata = pid[5] if len(pid) == 6 else None
        if not isinstance(storage_type, StorageType) or not isinstance(key, str) or not isinstance(numel, int) \
                or numel < 0:
            raise pickle.UnpicklingError(f"malformed storage record {pid!r:.80}")
        if view_metadata is not None:
            raise pickle.UnpicklingError("storage views (legacy view_metadata) are not supported")
        self.records[key] = (storage_type, numel)
        return key


def _load_from_bytes(data) -> Storage:
    """`torch.storage._load_from_bytes`: one storage from a legacy (non-zip) `torch.save` stream.

    The stream (torch `_legacy_save`): pickled magic number, protocol 1001, sys_info, the
    storage as a persistent id ('storage', storage class, key, location, numel,
    view_metadata), the sorted key list; then per key an 8-byte little-endian element
    count and the raw elements.
    """
    if not isinstance(data, (bytes, bytearray)):
        raise pickle.UnpicklingError(f"torch.storage._load_from_bytes expects bytes, got {type(data).__name__}")
    size = len(data)
    f = _BoundedReader(io.BytesIO(bytes(data)), size)
    header = _StorageStreamUnpickler(f)
    if _load_checked(header, f, size) != LEGACY_MAGIC_NUMBER:
        raise pickle.UnpicklingError("storage stream: wrong magic number (not a legacy torch.save stream)")
    protocol = _load_checked(header, f, size)
    if protocol != LEGACY_PROTOCOL_VERSION:
        raise pickle.UnpicklingError(f"storage stream: protocol {protocol!r}, expected {LEGACY_PROTOCOL_VERSION}")
    sys_info = _load_checked(header, f, size)
    little_endian = sys_info.get("little_endian", True) if isinstance(sys_info, dict) else True
    records = _StorageStreamUnpickler(f)
    key = _load_checked(records, f, size)
    keys = _load_checked(records, f, size)
    if not isinstance(keys, list) or key not in records.records or sorted(keys) != sorted(records.records):
        raise pickle.UnpicklingError(f"storage stream: key list {keys!r:.80} does not match its records")
    arrays = {}
    for k in keys:
        storage_type, numel = records.records[k]
        head = f.read(8)
        if len(head) != 8:
            raise pickle.UnpicklingError(f"storage stream: truncated before the data of storage {k!r}")
        (count,) = struct.unpack("<q", head)
        if count != numel or count < 0:
            raise pickle.UnpicklingError(f"storage {k!r}: {count} elements stored, the record says {numel}")
        raw_dtype = np.dtype("<u2") if storage_type.dtype == "bfloat16" else np.dtype(storage_type.dtype)
        if not little_endian:
            raw_dtype = raw_dtype.newbyteorder(">")
        raw = f.read(count * raw_dtype.itemsize)   # At most what is left: bounded by the stream's length.
        if len(raw) != count * raw_dtype.itemsize:
            raise pickle.UnpicklingError(f"storage {k!r}: truncated data ({len(raw)} of "
                                         f"{count * raw_dtype.itemsize} bytes)")
        array = np.frombuffer(raw, raw_dtype)
        array = _bfloat16_to_float32(array) if storage_type.dtype == "bfloat16" else array.astype(
            raw_dtype.newbyteorder("="))
        arrays[k] = array
    return Storage(arrays[key])


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False, backward_hooks=None,
                       metadata=None) -> np.ndarray:
    """`torch._utils._rebuild_tensor_v2`: the strided view of a storage, copied to a numpy array.

    Offset, size and stride are checked against the storage (never reads out of bounds).
    """
    if not isinstance(storage, Storage):
        raise pickle.UnpicklingError(f"tensor storage is a {type(storage).__name__}, not a storage record")
    size, stride = tuple(size), tuple(stride)
    ints = (storage_offset,) + size + stride
    if not all(isinstance(v, int) and v >= 0 for v in ints) or len(size) != len(stride):
        raise pickle.UnpicklingError(f"malformed tensor (offset {storage_offset!r}, size {size!r}, "
                                     f"stride {stride!r})")
    numel = storage.array.size
    if 0 not in size:
        last = storage_offset + sum((n - 1) * s for n, s in zip(size, stride))
        if last >= numel:
            raise pickle.UnpicklingError(f"tensor (offset {storage_offset}, size {size}, stride {stride}) "
                                         f"reaches past its storage of {numel} elements")
        if math.prod(size) > numel:   # Official tensors are views of their own storage, never broadcasts.
            raise pickle.UnpicklingError(f"tensor of size {size} has more elements than its storage of {numel}")
        itemsize = storage.array.itemsize
        view = np.lib.stride_tricks.as_strided(storage.array[storage_offset:], shape=size,
                                               strides=[s * itemsize for s in stride], writeable=False)
        return np.array(view)
    return np.zeros(size, storage.array.dtype)


def _rebuild_parameter(data, requires_grad=True, backward_hooks=None, state=None) -> np.ndarray:
    """`torch._utils._rebuild_parameter(_with_state)`: a parameter is its data."""
    if not isinstance(data, np.ndarray):
        raise pickle.UnpicklingError(f"parameter data is a {type(data).__name__}, not a tensor")
    return data


# numpy and builtins ----------------------------------------------------------------------------
class _NdarrayClass:
    """What `numpy.ndarray` resolves to: accepted only as the class argument of `_reconstruct`."""

    def __call__(self, *args, **kwargs):
        raise pickle.UnpicklingError("numpy.ndarray is only allowed as the class of numpy's _reconstruct")


NDARRAY = _NdarrayClass()


def _np_reconstruct(subtype, shape, dtype):
    """numpy's `_reconstruct` (the array's data follows in BUILD, through `ndarray.__setstate__`).

    numpy pickles call it as `_reconstruct(ndarray, (0,), b'b')`: an empty placeholder that
    `__setstate__` then fills, checking the data's length against the shape it states."""
    if subtype is not NDARRAY:
        raise pickle.UnpicklingError("numpy _reconstruct called with a class other than numpy.ndarray")
    if not (isinstance(shape, tuple) and all(isinstance(n, int) and n >= 0 for n in shape) and math.prod(shape) <= 1):
        raise pickle.UnpicklingError(f"numpy _reconstruct of shape {shape!r:.80}: numpy pickles write (0,)")
    if not isinstance(dtype, (str, bytes)) or len(dtype) > 8:
        raise pickle.UnpicklingError(f"numpy _reconstruct with dtype {dtype!r:.80}: numpy pickles write b'b'")
    return _multiarray._reconstruct(np.ndarray, shape, dtype)


def _np_frombuffer(buf, dtype, shape, order):
    """numpy's `_frombuffer` (protocol 5 arrays)."""
    if not isinstance(buf, (bytes, bytearray, pickle.PickleBuffer)) or not isinstance(dtype, np.dtype):
        raise pickle.UnpicklingError("numpy _frombuffer called with a non-buffer or non-dtype")
    return _numeric._frombuffer(buf, dtype, shape, order)


def _np_dtype(obj, align=False, copy=False):
    """`numpy.dtype(name)` of a plain dtype: no Python objects, at most MAX_ITEMSIZE bytes an element."""
    if not isinstance(obj, str):
        raise pickle.UnpicklingError(f"numpy.dtype of a {type(obj).__name__}")
    dtype = np.dtype(obj, bool(align), bool(copy))
    if dtype.hasobject or dtype.itemsize > MAX_ITEMSIZE:
        raise pickle.UnpicklingError(f"numpy.dtype {obj!r:.40}: not a plain dtype of at most {MAX_ITEMSIZE} bytes")
    return dtype


def _np_scalar(dtype, obj=None):
    if not isinstance(dtype, np.dtype):
        raise pickle.UnpicklingError("numpy scalar without a dtype")
    return _multiarray.scalar(dtype, obj) if obj is not None else _multiarray.scalar(dtype)


def _bytearray(source=b"", encoding=None):
    """`bytearray` as pickles write it: of bytes (protocol 3+) or latin-1 text (protocol 2), never of a
    length (`bytearray(n)` allocates n bytes)."""
    if isinstance(source, (bytes, bytearray)) and encoding is None:
        return bytearray(source)
    if isinstance(source, str) and encoding in ("latin1", "latin-1"):
        return bytearray(source, "latin-1")
    raise pickle.UnpicklingError(f"bytearray of a {type(source).__name__}: only bytes or latin-1 text")


def _codecs_encode(text, encoding="utf-8"):
    """`_codecs.encode`, which protocol 2 uses for bytes; only text to latin-1 bytes."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError(f"_codecs.encode allowed only for str to latin1. Received encoding "
                                     f"{encoding!r:.40}")
    return text.encode("latin1")


def _numpy_names(name: str, obj) -> dict[tuple[str, str], Any]:
    """Both spellings of a numpy core global: numpy 1 (`numpy.core.*`) and numpy 2 (`numpy._core.*`)."""
    module, attr = name.rsplit(".", 1)
    return {(f"numpy.core.{module}", attr): obj, (f"numpy._core.{module}", attr): obj}


# (module, name) -> what it resolves to. Everything here builds data; nothing imports or executes.
ALLOWED_GLOBALS: dict[tuple[str, str], Callable] = {
    ("dnnlib.tflib.network", "Network"): TFNetwork,
    ("dnnlib.util", "EasyDict"): EasyDict,
    ("torch_utils.persistence", "_reconstruct_persistent_obj"): _reconstruct_persistent_obj,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
    ("torch.storage", "_load_from_bytes"): _load_from_bytes,
    ("numpy", "ndarray"): NDARRAY,
    ("numpy", "dtype"): _np_dtype,
    **_numpy_names("multiarray._reconstruct", _np_reconstruct),
    **_numpy_names("multiarray.scalar", _np_scalar),
    **_numpy_names("numeric._frombuffer", _np_frombuffer),
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("builtins", "bytearray"): _bytearray,
    ("builtins", "complex"): complex,
    ("_codecs", "encode"): _codecs_encode,
}


class RestrictedUnpickler(pickle.Unpickler):
    """`pickle.Unpickler` whose globals come only from `ALLOWED_GLOBALS`; no persistent ids."""

    def __init__(self, file):
        super().__init__(file, encoding="latin1")  # As the official TF loaders (arrays of Python 2 writers).

    def find_class(self, module: str, name: str):
        # Python 2 names (protocols 0-2: `__builtin__.set`), mapped as pickle's own find_class does.
        module, name = _compat_pickle.NAME_MAPPING.get((module, name), (module, name))
        module = _compat_pickle.IMPORT_MAPPING.get(module, module)
        try:
            return ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise RefusedGlobal(module, name) from None


def allowed_globals() -> list[str]:
    """The allow-list as "module.name" strings."""
    return [f"{m}.{n}" for m, n in ALLOWED_GLOBALS]


def read_pickle(path) -> Any:
    """Unpickles an official network file with the restricted unpickler (see the module docstring).

    Raises `UserError` naming the file: a global outside the allow-list (refused before
    anything is called), a truncated or corrupt file, or a malformed tensor record.
    """
    path = os.fspath(path)
    try:
        f = open(path, "rb")
    except OSError as e:
        raise UserError(f"Cannot open network pickle {path}: {e.strerror or e}") from None
    with f:
        head = f.read(4)
        if head.startswith(b"PK\x03\x04"):
            raise UserError(f"{path} is a zip archive (a torch.save checkpoint or similar), not a network "
                            f"pickle (pickle.dump of the official training code).")
        if not head:
            raise UserError(f"{path} is empty: not a network pickle.")
        f.seek(0)
        size = os.fstat(f.fileno()).st_size
        try:
            reader = _BoundedReader(f, size)
            return _load_checked(RestrictedUnpickler(reader), reader, size)
        except RefusedGlobal as e:
            raise UserError(f"{path}: refused to load the global {e.module}.{e.name}: it is not one the "
                            f"official network pickles use, and a pickle can run code through it. Allowed: "
                            f"{', '.join(allowed_globals())}.") from None
        except UserError as e:
            raise UserError(f"{path}: {e}") from None
        except EOFError:
            raise UserError(f"{path} is truncated: the pickle ends before its STOP opcode (an incomplete "
                            f"download?).") from None
        except MemoryError:
            raise UserError(f"{path}: out of memory while reading the pickle.") from None
        except Exception as e:  # Corrupt data surfaces as any of pickle's, numpy's or struct's errors.
            raise UserError(f"{path} is not a readable network pickle (corrupt or another format): "
                            f"{type(e).__name__}: {e}") from None
