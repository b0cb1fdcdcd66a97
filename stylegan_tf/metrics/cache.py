"""On-disk cache of real-image statistics (official `_get_cache_file_for_reals`).

Real-data statistics depend only on the dataset content, the resolution, the feature
extractor and the number of images, so they are computed once and stored as `.npz`
files named by a hash of those parts, with a `.json` beside each saying what it holds.
Writes are atomic (temporary file, then rename), so an interrupted run never leaves a
truncated cache file behind.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from typing import Any, Mapping

import numpy as np

from stylegan_tf.errors import UserError


class StatsCache:
    """A folder of cached arrays; `None` as the folder disables caching.

    Args:
        folder: the cache folder (created on the first write), or None.
    """

    def __init__(self, folder: str | None):
        self.folder = os.fspath(folder) if folder else None

    def path(self, kind: str, parts: Mapping[str, Any]) -> str | None:
        if self.folder is None:
            return None
        digest = hashlib.sha1(json.dumps(dict(parts), sort_keys=True).encode()).hexdigest()[:16]
        return os.path.join(self.folder, f"{kind}-{digest}.npz")

    def load(self, kind: str, parts: Mapping[str, Any]) -> dict[str, np.ndarray] | None:
        path = self.path(kind, parts)
        if path is None or not os.path.isfile(path):
            return None
        try:
            with np.load(path) as data:
                return {k: data[k] for k in data.files}
        except (OSError, ValueError) as error:
            raise UserError(f"Cannot read the metric cache file {path!r} ({error}); delete it to recompute.") \
                from error

    def save(self, kind: str, parts: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> str | None:
        path = self.path(kind, parts)
        if path is None:
            return None
        os.makedirs(self.folder, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.folder, suffix=".tmp.npz")
        os.close(fd)
        try:
            np.savez(tmp, **arrays)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
        with open(path[:-4] + ".json", "w") as f:
            json.dump({"kind": kind, **dict(parts)}, f, indent=2, sort_keys=True)
        return path
