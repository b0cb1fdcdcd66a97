"""Dataset inputs: image folders and zips, the FFHQ landmark JSON, labels, image decoding.

Every `--source` is a `Source` (`open_source`): `FileSource` (a folder or zip) here, the drawn
toy faces `synthetic_faces.SyntheticSource`; the builder and its workers use only the protocol.

An input is named by its `key`: the path relative to `--source` with '/'
separators (a folder, searched recursively, hidden files and folders skipped) or
the member name (a zip). Keys are what the skip report, `--labels` and the FFHQ
JSON are matched against; the input list is sorted by key, so a build does not
depend on the file system's listing order (the official `create_from_images`
sorts its glob the same way).

Decoding (`decode_image`) opens anything PIL can identify, applies the EXIF
orientation, and converts every pixel format to 8-bit RGB (or gray for
`channels=1`): palette, gray, gray+alpha and RGBA (alpha dropped, as PIL's
`convert('RGB')` does), CMYK, YCbCr, 16-bit gray (scaled by 1/257, not clipped),
32-bit integer and float images. Inputs that cannot be used raise `Skip` with one
of the stable reason codes in `SKIP_REASONS`.
"""

from __future__ import annotations

import csv
import io
import json
import os
import struct
import zipfile
from dataclasses import dataclass
from typing import Any, Iterator, Protocol

import numpy as np

from stylegan_tf.errors import UserError

# Stable skip codes (they appear in skipped.jsonl and dataset.json) and what they mean.
SKIP_REASONS: dict[str, str] = {
    "unreadable":          "the file could not be read (I/O or permission error, broken EXIF data)",
    "not_an_image":        "not an image PIL can identify (or an empty file)",
    "truncated":           "the image data is truncated or corrupt",
    "too_large":           "more pixels than PIL's decompression-bomb limit",
    "unsupported_mode":    "a pixel format that cannot be converted to RGB",
    "too_small":           "smaller than the target resolution; it would have to be upscaled (see --allow-upscale)",
    "no_face":             "the face detector found no face (of at least --min-face-size pixels)",
    "landmarks_missing":   "no entry for this image in the landmark JSON",
    "landmarks_malformed": "the landmark entry is not 68 finite [x, y] points, or its crop lies outside the image",
    "label_missing":       "no class for this image in the --labels file",
    "error":               "an unexpected error while processing this input (the detail names it)",
}


class Skip(Exception):
    """An input that cannot be used, with a `SKIP_REASONS` code and a detail for the report."""

    def __init__(self, code: str, detail: str = ""):
        if code not in SKIP_REASONS:
            raise ValueError(f"unknown skip code {code!r}")
        super().__init__(f"{code}: {detail}")
        self.code, self.detail = code, detail


IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".pbm")


# ---------------------------------------------------------------------------------------------
# Listing inputs.


def list_folder(root: str, exclude: tuple[str, ...] = ()) -> list[str]:
    """Keys of every regular file under `root` (recursive, sorted, hidden entries skipped).

    Every file is an input, not only known image extensions: a file that is not an
    image is reported as `not_an_image` rather than silently ignored. `exclude`
    holds absolute paths to leave out (a labels or landmark file kept in the folder).
    """
    excluded = {os.path.realpath(p) for p in exclude}
    keys = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for filename in filenames:
            if filename.startswith("."):
                continue
            path = os.path.join(dirpath, filename)
            # Broken links are kept: reading them reports `unreadable` instead of hiding them.
            if os.path.realpath(path) in excluded or not (os.path.isfile(path) or os.path.islink(path)):
                continue
            keys.append(os.path.relpath(path, root).replace(os.sep, "/"))
    return sorted(keys)


def list_zip(path: str) -> list[str]:
    """Member names of a zip (files only, hidden and `__MACOSX` entries skipped), sorted."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = [info.filename for info in archive.infolist() if not info.is_dir()]
    except (zipfile.BadZipFile, OSError) as exc:
        raise UserError(f"--source {path} is not a readable zip file: {exc}") from None
    return sorted(n for n in names
                  if not n.startswith("__MACOSX/") and not os.path.basename(n).startswith("."))


def list_source(source: str, exclude: tuple[str, ...] = ()) -> list[str]:
    """Keys of a folder or a zip given as `--source`."""
    if os.path.isdir(source):
        keys = list_folder(source, exclude)
    elif os.path.isfile(source) and zipfile.is_zipfile(source):
        keys = list_zip(source)
    elif os.path.exists(source):
        raise UserError(f"--source {source} is neither a folder nor a zip file.")
    else:
        raise UserError(f"--source {source} does not exist.")
    if not keys:
        raise UserError(f"--source {source} holds no files.")
    return keys


class Reader:
    """Reads input bytes by key from a folder or a zip (one open zip handle per process)."""

    def __init__(self, source: str):
        self.source = source
        self.is_zip = not os.path.isdir(source)
        self._zip: zipfile.ZipFile | None = None

    def read(self, key: str) -> bytes:
        try:
            if self.is_zip:
                if self._zip is None:
                    self._zip = zipfile.ZipFile(self.source)
                return self._zip.read(key)
            with open(os.path.join(self.source, key), "rb") as f:
                return f.read()
        except (OSError, zipfile.BadZipFile, KeyError, RuntimeError) as exc:
            raise Skip("unreadable", f"{type(exc).__name__}: {exc}") from None


# ---------------------------------------------------------------------------------------------
# Sources: what `--source` names, as the builder and its workers use it.


class Source(Protocol):
    """An input of a dataset build. Picklable (it travels to the worker processes).

    `keys(exclude)` lists the inputs, sorted; `image(key, channels, draft_size)` is one input as
    uint8 [H, W, channels] (or raises `Skip`); `info()` is the dataset.json `source` entry (its
    "path" and "kind" first); `chunk_size(resolution)` is how many inputs a worker takes at once.
    """

    def keys(self, exclude: tuple[str, ...] = ()) -> list[str]: ...
    def image(self, key: str, channels: int = 3, draft_size: int | None = None) -> np.ndarray: ...
    def info(self) -> dict[str, Any]: ...
    def chunk_size(self, resolution: int) -> int: ...


class FileSource:
    """A folder or a zip of image files (`list_source`, `Reader`, `decode_image`)."""

    def __init__(self, path: str):
        self.path = os.path.abspath(path)
        self._reader: Reader | None = None

    def __getstate__(self) -> dict:
        return {"path": self.path, "_reader": None}   # an open zip handle stays in its process

    def keys(self, exclude: tuple[str, ...] = ()) -> list[str]:
        return list_source(self.path, exclude)

    def image(self, key: str, channels: int = 3, draft_size: int | None = None) -> np.ndarray:
        if self._reader is None:
            self._reader = Reader(self.path)
        return decode_image(self._reader.read(key), channels, draft_size=draft_size)

    def info(self) -> dict[str, Any]:
        return {"path": self.path, "kind": "folder" if os.path.isdir(self.path) else "zip"}

    def chunk_size(self, resolution: int) -> int:
        return 8 if resolution <= 128 else 2 if resolution <= 512 else 1


def open_source(source: str, *, num_images: int | None = None, seed: int = 0, resolution: int = 0) -> Source:
    """The `Source` that `--source` names: `synthetic:<kind>` (`num_images` drawn at `resolution`
    from stream `seed`: `synthetic_faces.SyntheticSource`), else a folder or zip of images."""
    from stylegan_tf.data import synthetic_faces

    kind = synthetic_faces.parse_source(source)
    if kind is not None:
        return synthetic_faces.SyntheticSource(kind, num_images, seed, resolution)
    if is_cifar10_archive(source):
        return Cifar10Source(source)
    return FileSource(source)


# ---------------------------------------------------------------------------------------------
# Decoding.


def decode_image(data: bytes, channels: int = 3, draft_size: int | None = None) -> np.ndarray:
    """Decodes image bytes to uint8 [H, W, channels], EXIF orientation applied.

    `draft_size` lets a JPEG decode at 1/2, 1/4 or 1/8 scale (DCT scaling, PIL's `draft`)
    as long as both sides stay >= draft_size: much faster for photos that are resized
    far down anyway. Other formats ignore it.

    Raises:
        Skip: `not_an_image`, `truncated`, `too_large`, `unreadable` (broken EXIF) or
            `unsupported_mode`.
    """
    import PIL.Image
    import PIL.ImageOps

    if not data:
        raise Skip("not_an_image", "empty file")
    try:
        img = PIL.Image.open(io.BytesIO(data))
    except PIL.Image.DecompressionBombError as exc:
        raise Skip("too_large", str(exc)) from None
    except PIL.UnidentifiedImageError:
        raise Skip("not_an_image", "PIL cannot identify the format") from None
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        raise Skip("truncated", f"{type(exc).__name__}: {exc}") from None
    if draft_size is not None and img.format == "JPEG":
        img.draft(img.mode, (draft_size, draft_size))
    try:
        img.load()
    except PIL.Image.DecompressionBombError as exc:
        raise Skip("too_large", str(exc)) from None
    except (OSError, ValueError, SyntaxError, EOFError, IndexError, struct.error) as exc:
        raise Skip("truncated", f"{type(exc).__name__}: {exc}") from None
    try:
        img = PIL.ImageOps.exif_transpose(img)
    except Exception as exc:  # noqa: BLE001 - any EXIF parsing failure is this input's problem
        raise Skip("unreadable", f"broken EXIF orientation data: {type(exc).__name__}: {exc}") from None
    return _to_uint8(img, channels)


def _to_uint8(img, channels: int) -> np.ndarray:
    """8-bit RGB (channels=3) or gray (channels=1) pixels of any PIL image mode."""
    mode = img.mode
    if mode.startswith("I;16") or mode == "I" or mode == "F":
        arr = np.asarray(img)
        if mode == "F":
            arr = np.nan_to_num(arr.astype(np.float64))
            arr = arr * 255.0 if arr.size and arr.max() <= 1.0 else arr
        elif mode == "I" and arr.size and arr.max() <= 255 and arr.min() >= 0:
            arr = arr.astype(np.float64)  # 8-bit values stored as 32-bit integers
        else:
            arr = np.clip(arr.astype(np.float64), 0, 65535) / 257.0  # 16-bit range to 8 bits
        gray = np.clip(np.rint(arr), 0, 255).astype(np.uint8)
        if gray.ndim != 2:
            raise Skip("unsupported_mode", f"PIL mode {mode} with shape {list(gray.shape)}")
        out = gray[:, :, None]
        return out if channels == 1 else np.repeat(out, 3, axis=2)
    try:
        converted = img.convert("L" if channels == 1 else "RGB")
    except (ValueError, OSError) as exc:
        raise Skip("unsupported_mode", f"PIL mode {mode}: {exc}") from None
    arr = np.asarray(converted, dtype=np.uint8)
    return arr.reshape(arr.shape[0], arr.shape[1], channels)


# ---------------------------------------------------------------------------------------------
# FFHQ landmark JSON.


def iter_json_object(path: str, chunk_chars: int = 1 << 20) -> Iterator[tuple[str, Any]]:
    """Streams the (key, value) pairs of a JSON file's top-level object (or (index, item) of a list).

    `ffhq-dataset-v2.json` is about 270 MB; parsing it whole costs gigabytes of Python
    objects. This reads it in chunks and decodes one entry at a time.
    """
    decoder = json.JSONDecoder()
    with open(path, encoding="utf-8") as f:
        buf, pos, eof = "", 0, False

        def fill() -> bool:
            nonlocal buf, pos, eof
            if eof:
                return False
            more = f.read(max(chunk_chars, len(buf)))
            if not more:
                eof = True
                return False
            buf, pos = buf[pos:] + more, 0
            return True

        def skip_ws() -> str:
            nonlocal pos
            while True:
                while pos < len(buf) and buf[pos] in " \t\r\n":
                    pos += 1
                if pos < len(buf):
                    return buf[pos]
                if not fill():
                    return ""

        def value() -> Any:
            nonlocal pos
            while True:
                try:
                    item, end = decoder.raw_decode(buf, pos)
                    # A number at the very end of the buffer may continue in the next chunk.
                    if end == len(buf) and not eof and fill():
                        continue
                    pos = end
                    return item
                except json.JSONDecodeError as exc:
                    if not fill():
                        raise UserError(f"Landmark JSON {path} is not valid JSON: {exc.msg} "
                                        f"near character {exc.pos}.") from None

        opening = skip_ws()
        if opening not in "{[" or not opening:
            raise UserError(f"Landmark JSON {path} must hold a JSON object or list at the top level.")
        pos += 1
        closing = "}" if opening == "{" else "]"
        index = 0
        while True:
            ch = skip_ws()
            if ch == closing:
                return
            if ch == "":
                raise UserError(f"Landmark JSON {path} ends before its closing '{closing}'.")
            if opening == "{":
                key = value()
                if skip_ws() != ":":
                    raise UserError(f"Landmark JSON {path}: expected ':' after key {key!r}.")
                pos += 1
                skip_ws()
            else:
                key = str(index)
            yield str(key), value()
            index += 1
            ch = skip_ws()
            if ch == ",":
                pos += 1
            elif ch != closing:
                raise UserError(f"Landmark JSON {path}: expected ',' or '{closing}' after entry {key!r}.")


@dataclass(frozen=True)
class LandmarkEntry:
    """One face of the FFHQ JSON: its entry id and landmarks (float64 [68, 2]) or why they are unusable."""

    entry: str
    landmarks: np.ndarray | None
    problem: str = ""


def load_ffhq_landmarks(path: str) -> tuple[dict[str, list[LandmarkEntry]], list[tuple[str, str]]]:
    """Indexes `ffhq-dataset-v2.json` by in-the-wild file path.

    Each entry's `in_the_wild.file_path` (e.g. `in-the-wild-images/00000.png`) maps to
    its `in_the_wild.face_landmarks` (68 [x, y] points). Entries without a usable file
    path cannot be attached to any image; they are returned separately as
    (entry id, problem) so the build can report them.
    """
    if not os.path.isfile(path):
        raise UserError(f"--landmarks {path} does not exist.")
    index: dict[str, list[LandmarkEntry]] = {}
    orphans: list[tuple[str, str]] = []
    for entry_id, item in iter_json_object(path):
        wild = item.get("in_the_wild") if isinstance(item, dict) else None
        file_path = wild.get("file_path") if isinstance(wild, dict) else None
        if not isinstance(file_path, str) or not file_path:
            orphans.append((entry_id, "no in_the_wild.file_path"))
            continue
        raw = wild.get("face_landmarks")
        if raw is None:
            entry = LandmarkEntry(entry_id, None, "no in_the_wild.face_landmarks")
        else:
            try:
                lm = np.asarray(raw, dtype=np.float64)
            except (TypeError, ValueError):
                lm = None
            if lm is None or lm.shape != (68, 2) or not np.all(np.isfinite(lm)):
                shape = "non-numeric" if lm is None else list(lm.shape)
                entry = LandmarkEntry(entry_id, None, f"face_landmarks must be 68 finite [x, y] pairs, got {shape}")
            else:
                entry = LandmarkEntry(entry_id, lm)
        index.setdefault(file_path.replace("\\", "/"), []).append(entry)
    return index, orphans


def match_key(key: str, table: dict[str, Any]) -> Any:
    """Looks a source key up in a name table: exact relative path, then basename, then file stem."""
    if key in table:
        return table[key]
    base = key.rsplit("/", 1)[-1]
    if base in table:
        return table[base]
    stem = base.rsplit(".", 1)[0]
    return table.get(stem)


class _SuffixIndex:
    """Lookup by relative path suffix: `in-the-wild-images/00000.png` matches a key `00000.png`
    or `x/in-the-wild-images/00000.png`; basename only as the last resort."""

    def __init__(self, table: dict[str, Any]):
        self.table = table
        self.by_base: dict[str, list[str]] = {}
        for path in table:
            self.by_base.setdefault(path.rsplit("/", 1)[-1], []).append(path)

    def get(self, key: str) -> Any:
        if key in self.table:
            return self.table[key]
        candidates = self.by_base.get(key.rsplit("/", 1)[-1], [])
        for path in candidates:
            if key.endswith("/" + path) or path.endswith("/" + key):
                return self.table[path]
        return self.table[candidates[0]] if len(candidates) == 1 else None


def landmark_lookup(index: dict[str, list[LandmarkEntry]]) -> _SuffixIndex:
    return _SuffixIndex(index)


# ---------------------------------------------------------------------------------------------
# Labels.


@dataclass(frozen=True)
class Labels:
    """Classes by input name. `classes` holds the class names for string labels (index = position)."""

    by_name: dict[str, int]
    label_size: int
    classes: tuple[str, ...] | None

    def lookup(self, key: str) -> int | None:
        return match_key(key, self.by_name)


def load_labels(path: str) -> Labels:
    """Reads `--labels`: JSON `{"name": class, ...}` (or `{"labels": [[name, class], ...]}`, the
    stylegan2-ada layout) or CSV rows `name,class` (a header row is allowed).

    Classes are non-negative integers (label_size = max + 1) or strings (numbered in
    sorted order). Names are matched against input keys by relative path, basename,
    then stem.
    """
    if not os.path.isfile(path):
        raise UserError(f"--labels {path} does not exist.")
    pairs: list[tuple[str, Any]] = []
    try:
        if path.lower().endswith(".json"):
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
            if isinstance(data, dict) and isinstance(data.get("labels"), list):
                data = data["labels"]
            if isinstance(data, dict):
                pairs = list(data.items())
            elif isinstance(data, list) and all(isinstance(r, (list, tuple)) and len(r) == 2 for r in data):
                pairs = [(r[0], r[1]) for r in data]
            else:
                raise UserError(f"--labels {path}: expected an object {{name: class}} or a list of [name, class].")
        else:
            with open(path, newline="", encoding="utf-8") as f:
                rows = [r for r in csv.reader(f) if r and any(c.strip() for c in r)]
            for i, row in enumerate(rows):
                if len(row) < 2:
                    raise UserError(f"--labels {path}: row {i + 1} has {len(row)} column(s), expected name,class.")
                pairs.append((row[0].strip(), row[1].strip()))
            if pairs and pairs[0][1].lower() in ("class", "label", "labels", "category"):
                pairs = pairs[1:]
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserError(f"--labels {path} cannot be read: {exc}") from None
    if not pairs:
        raise UserError(f"--labels {path} holds no labels.")

    def as_int(v: Any) -> int | None:
        if isinstance(v, bool):
            return None
        if isinstance(v, int):
            return v
        if isinstance(v, str) and v.strip().lstrip("-").isdigit():
            return int(v)
        return None

    ints = [as_int(v) for _, v in pairs]
    if all(i is not None for i in ints):
        if min(ints) < 0:
            raise UserError(f"--labels {path}: integer classes must be >= 0. Received: {min(ints)}")
        by_name = {str(k).replace("\\", "/"): int(i) for (k, _), i in zip(pairs, ints)}
        return Labels(by_name, max(ints) + 1, None)
    names = sorted({str(v) for _, v in pairs})
    number = {n: i for i, n in enumerate(names)}
    return Labels({str(k).replace("\\", "/"): number[str(v)] for k, v in pairs}, len(names), tuple(names))


# ---------------------------------------------------------------------------------------------
# The CIFAR-10 python archive and the official crop transforms (StyleGAN2-ADA / StyleGAN3
# `dataset_tool.py`), as `Source`s.

CIFAR10_ARCHIVE = "cifar-10-python.tar.gz"
CIFAR10_DIR = "cifar-10-batches-py"
TRANSFORMS = ("center-crop", "center-crop-wide")


def is_cifar10_archive(path: str | None) -> bool:
    """`cifar-10-python.tar.gz` (the official tool's test), or any .tar.gz/.tgz/.tar named like it."""
    if not path or not os.path.isfile(path):
        return False
    name = os.path.basename(path).lower()
    return name == CIFAR10_ARCHIVE or (name.startswith("cifar-10") and name.endswith((".tar.gz", ".tgz", ".tar")))


def _cifar_unpickler(file, where: str):
    """A `pickle.Unpickler` that resolves only what a CIFAR-10 batch holds: numpy's array and dtype
    rebuilders (checked: plain dtypes, the empty placeholder numpy pickles create) and `_codecs.encode`
    (protocol 2 bytes, latin-1 only). Any other global is refused before anything is called."""
    import _compat_pickle
    import pickle

    from stylegan_tf.official import pickle_reader as pr

    allowed = {("numpy", "ndarray"): pr.NDARRAY, ("numpy", "dtype"): pr._np_dtype,
               ("_codecs", "encode"): pr._codecs_encode,
               **pr._numpy_names("multiarray._reconstruct", pr._np_reconstruct),
               **pr._numpy_names("numeric._frombuffer", pr._np_frombuffer)}

    class CifarUnpickler(pickle.Unpickler):
        def find_class(self, module: str, name: str):
            module, name = _compat_pickle.NAME_MAPPING.get((module, name), (module, name))
            module = _compat_pickle.IMPORT_MAPPING.get(module, module)
            if (module, name) not in allowed:
                raise UserError(f"{where}: refused to load the global {module}.{name}: a CIFAR-10 batch holds only "
                                f"numpy arrays, lists and strings, and a pickle can run code through a global.")
            return allowed[(module, name)]

        def persistent_load(self, pid):
            raise UserError(f"{where}: persistent ids are not part of a CIFAR-10 batch.")

    return CifarUnpickler(file, encoding="latin1")


def _read_cifar_pickle(data: bytes, where: str) -> dict:
    """One CIFAR-10 pickle with the restricted unpickler; its keys as str (Python 2 writes bytes)."""
    import pickle

    from stylegan_tf.official import pickle_reader as pr

    f = pr._BoundedReader(io.BytesIO(data), len(data))
    try:
        pr._check_opcodes(f, len(data))
        obj = _cifar_unpickler(f, where).load()
    except UserError:
        raise
    except Exception as exc:  # noqa: BLE001 - corrupt data surfaces as any of pickle's or numpy's errors
        raise UserError(f"{where} is not a readable CIFAR-10 pickle: {type(exc).__name__}: {exc}") from None
    if not isinstance(obj, dict):
        raise UserError(f"{where}: expected a dict, found a {type(obj).__name__}.")
    return {(k.decode("latin1") if isinstance(k, bytes) else k): v for k, v in obj.items()}


_CIFAR_CACHE: dict[str, tuple] = {}


def read_cifar10(path: str) -> tuple[np.ndarray, np.ndarray, tuple[str, ...] | None, tuple[str, ...]]:
    """The training images uint8 [N, 32, 32, 3] and labels int64 [N] of `cifar-10-python.tar.gz`
    (`data_batch_1` ... `data_batch_5` in order, as the official tool; an archive with fewer batches is
    read as it is), the class names of `batches.meta` (None without it) and the keys
    `data_batch_<b>/<i:05d>` (sorted = official order). Cached per process."""
    import tarfile

    key = os.path.abspath(path)
    if key in _CIFAR_CACHE:
        return _CIFAR_CACHE[key]
    images, labels, classes, keys = [], [], None, []
    try:
        with tarfile.open(path, "r:*") as tar:
            members = {m.name: m for m in tar.getmembers() if m.isfile()}
            batches = []
            for b in range(1, 6):
                member = members.get(f"{CIFAR10_DIR}/data_batch_{b}")
                if member is None:
                    break
                batches.append(member)
            if not batches:
                raise UserError(f"--source {path} is not the CIFAR-10 python archive: it has no "
                                f"{CIFAR10_DIR}/data_batch_1.")
            for member in batches:
                where = f"{path}:{member.name}"
                batch = _read_cifar_pickle(tar.extractfile(member).read(), where)
                data, batch_labels = batch.get("data"), batch.get("labels")
                if not (isinstance(data, np.ndarray) and data.dtype == np.uint8 and data.ndim == 2
                        and data.shape[1] == 3072):
                    shape = list(data.shape) if isinstance(data, np.ndarray) else type(data).__name__
                    raise UserError(f"{where}: 'data' must be uint8 [N, 3072]; found {shape}.")
                if not (isinstance(batch_labels, list) and len(batch_labels) == data.shape[0]
                        and all(isinstance(v, int) and 0 <= v <= 9 for v in batch_labels)):
                    raise UserError(f"{where}: 'labels' must be a list of {data.shape[0]} classes 0..9.")
                images.append(data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
                keys += [f"{member.name.rsplit('/', 1)[1]}/{i:05d}" for i in range(data.shape[0])]
                labels.append(np.asarray(batch_labels, np.int64))
            meta = members.get(f"{CIFAR10_DIR}/batches.meta")
            if meta is not None:
                names = _read_cifar_pickle(tar.extractfile(meta).read(), f"{path}:{meta.name}").get("label_names")
                if isinstance(names, list) and len(names) == 10 and all(isinstance(n, (str, bytes)) for n in names):
                    classes = tuple(n.decode("latin1") if isinstance(n, bytes) else n for n in names)
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise UserError(f"--source {path} is not a readable tar archive: {type(exc).__name__}: {exc}") from None
    result = (np.ascontiguousarray(np.concatenate(images)), np.concatenate(labels), classes, tuple(keys))
    _CIFAR_CACHE[key] = result
    return result


class Cifar10Source:
    """`cifar-10-python.tar.gz` as a `Source`: the 50,000 training images (32x32 RGB) with their classes
    as labels (`labels()`, used when no --labels is given); keys `data_batch_<b>/<i:05d>`."""

    def __init__(self, path: str):
        self.path = os.path.abspath(path)
        self._positions = None

    def _data(self):
        return read_cifar10(self.path)

    def keys(self, exclude: tuple[str, ...] = ()) -> list[str]:
        return list(self._data()[3])

    def image(self, key: str, channels: int = 3, draft_size: int | None = None) -> np.ndarray:
        images, _, _, keys = self._data()
        if getattr(self, "_positions", None) is None:
            self._positions = {k: i for i, k in enumerate(keys)}
        image = images[self._positions[key]]
        if channels == 1:
            import PIL.Image

            return np.asarray(PIL.Image.fromarray(image).convert("L"))[:, :, None]
        return image

    def labels(self) -> "Labels":
        _, labels, classes, keys = self._data()
        return Labels(dict(zip(keys, (int(v) for v in labels))), 10, classes)

    def info(self) -> dict[str, Any]:
        return {"path": self.path, "kind": "cifar10"}

    def chunk_size(self, resolution: int) -> int:
        return 64

    def __getstate__(self) -> dict:
        return {"path": self.path, "_positions": None}   # each worker process reads the archive once


def apply_transform(image: np.ndarray, transform: str, width: int, height: int) -> np.ndarray | None:
    """The official `--transform` of `dataset_tool.py` (uint8 HWC in and out; Lanczos resizes):

    - `center-crop`: the largest centred square (rows/columns `(n - s) // 2 : (n + s) // 2`),
      resized to width x height;
    - `center-crop-wide`: rows cropped to the aspect ratio of width x height (`ch = round(width * h / w)`),
      resized to width x height and centred on a black width x width canvas; None (the image is
      dropped) when the image is narrower than `width` or `ch < height`.
    """
    import PIL.Image

    def resize(img: np.ndarray) -> np.ndarray:
        pil = PIL.Image.fromarray(img[:, :, 0] if img.shape[2] == 1 else img)
        return np.asarray(pil.resize((width, height), PIL.Image.Resampling.LANCZOS)).reshape(height, width, -1)

    h, w = image.shape[:2]
    if transform == "center-crop":
        s = min(h, w)
        return resize(np.ascontiguousarray(image[(h - s) // 2:(h + s) // 2, (w - s) // 2:(w + s) // 2]))
    if transform == "center-crop-wide":
        ch = int(np.round(width * h / w))
        if w < width or ch < height:
            return None
        content = resize(np.ascontiguousarray(image[(h - ch) // 2:(h + ch) // 2]))
        canvas = np.zeros((width, width, image.shape[2]), np.uint8)
        canvas[(width - height) // 2:(width + height) // 2] = content
        return canvas
    raise UserError(f"--transform must be one of {TRANSFORMS}. Received: --transform {transform!r}")


class TransformedSource:
    """A `Source` whose images go through `apply_transform` (the official --transform): full decodes
    (no JPEG draft), a dropped image is skipped as `too_small`."""

    def __init__(self, inner: Any, transform: str, width: int, height: int):
        self.inner, self.transform, self.width, self.height = inner, transform, width, height

    def keys(self, exclude: tuple[str, ...] = ()) -> list[str]:
        return self.inner.keys(exclude)

    def image(self, key: str, channels: int = 3, draft_size: int | None = None) -> np.ndarray:
        image = self.inner.image(key, channels)
        out = apply_transform(image, self.transform, self.width, self.height)
        if out is None:
            h, w = image.shape[:2]
            raise Skip("too_small", f"{w}x{h}: center-crop-wide needs a width of at least {self.width} and "
                                    f"round({self.width} * h / w) >= {self.height}")
        return out

    def labels(self):
        return self.inner.labels() if hasattr(self.inner, "labels") else None

    def info(self) -> dict[str, Any]:
        return {**self.inner.info(), "transform": self.transform, "transform_size": [self.width, self.height]}

    def chunk_size(self, resolution: int) -> int:
        return self.inner.chunk_size(resolution)
