"""Reading and writing the project's own binary files so that a damaged file is named, never crashes.

    from stylegan_tf.safe_files import load_npz, sha256_file, fsync_directory
    arrays = load_npz("variables.npz", "checkpoint variables")   # {name: array} or UserError

A file truncated by a full disk, or cut short by a crash on a filesystem without ordered
writes, otherwise surfaces deep inside numpy or zipfile (`BadZipFile`, `EOFError`,
"cannot reshape"), with no file name. `load_npz` instead reads an `.npz` (numpy's
`np.savez` format: a zip of `.npy` members) member by member and raises a `UserError`
naming the file, what it is for, and the fault:

- the zip directory or a member is unreadable, or a member fails its CRC-32 (zip's own
  checksum, checked when the member has been read to its end);
- a member's `.npy` header is malformed, holds Python objects (never unpickled:
  `allow_pickle=False`), or promises more data than the member holds. The promised
  size is checked against the member's stored size *before* anything is allocated, so a
  forged shape cannot make the reader allocate gigabytes.

`sha256_file`, `fsync_file` and `fsync_directory` serve the writers (checkpoints record each file's
SHA-256; a rename is durable only once its directory is fsynced, POSIX `rename(2)`).
"""

from __future__ import annotations

import hashlib
import math
import os
import zipfile
from pathlib import Path

import numpy as np

from stylegan_tf.errors import UserError

_CHUNK = 1 << 20


def sha256_file(path) -> str:
    """The hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(_CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def fsync_file(path) -> None:
    """Flushes a file written by someone else's code (e.g. `model.save`) to the disk."""
    with open(path, "rb") as f:
        os.fsync(f.fileno())


def fsync_directory(path) -> None:
    """Makes the entries of a directory (a rename into it, a deletion) durable; a no-op where
    directories cannot be opened (Windows)."""
    try:
        fd = os.open(os.fspath(path), os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # Some filesystems refuse fsync on directories; nothing more can be done there.
    finally:
        os.close(fd)


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> np.ndarray:
    """One `.npy` member, its declared size checked against the stored size before reading."""
    fmt = np.lib.format
    with archive.open(info) as f:
        version = fmt.read_magic(f)
        if version == (1, 0):
            shape, fortran, dtype = fmt.read_array_header_1_0(f)
        elif version in ((2, 0), (3, 0)):
            shape, fortran, dtype = fmt.read_array_header_2_0(f)
        else:
            raise ValueError(f"unsupported .npy version {version}")
        if dtype.hasobject:
            raise ValueError("it holds Python objects (refused: loading them would unpickle)")
        header_size = f.tell()
        needed = math.prod(shape) * dtype.itemsize
        if needed != info.file_size - header_size:
            raise ValueError(f"its header promises {needed} bytes of {dtype} {tuple(shape)}, the member holds "
                             f"{info.file_size - header_size}")
        data = bytearray()  # Grown as data arrives: a forged size allocates nothing.
        while len(data) < needed:
            chunk = f.read(min(_CHUNK, needed - len(data)))
            if not chunk:
                raise EOFError(f"the data ends after {len(data)} of {needed} bytes")
            data += chunk
        if f.read(1):  # Reaching the member's end is also what makes zipfile check its CRC-32.
            raise ValueError("data beyond the array")
    array = np.frombuffer(data, dtype=dtype)
    if fortran:
        return array.reshape(shape[::-1]).transpose()
    return array.reshape(shape)


def load_npz(path, what: str) -> dict[str, np.ndarray]:
    """Every array of an `.npz` file, checked as the module docstring says.

    Args:
        path: the file.
        what: what the file is, for the error message (e.g. "checkpoint variables", "LPIPS weights").

    Raises:
        UserError: "<what> <path> is not an .npz file or is damaged: <the fault>".
    """
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{what} {path}: no such file.")
    arrays, member = {}, None
    try:
        with zipfile.ZipFile(path) as archive:
            for member in archive.infolist():
                if member.is_dir():
                    continue
                name = member.filename[:-4] if member.filename.endswith(".npy") else member.filename
                arrays[name] = _read_member(archive, member)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, OSError, KeyError, TypeError,
            SyntaxError, NotImplementedError, RuntimeError, OverflowError) as e:
        # zipfile reports CRC-32 mismatches as BadZipFile; numpy's header parser raises ValueError
        # (and SyntaxError from ast.literal_eval); a truncated archive gives BadZipFile or EOFError.
        where = f" (member {member.filename!r})" if member is not None else ""
        raise UserError(f"{what} {path} is not an .npz file or is damaged{where}: {type(e).__name__}: {e}") from None
    return arrays
