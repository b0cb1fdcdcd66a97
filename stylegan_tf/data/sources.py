"""Dataset inputs: image folders and zips, the FFHQ landmark JSON, labels, image decoding.

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
from typing import Any, Iterator

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
