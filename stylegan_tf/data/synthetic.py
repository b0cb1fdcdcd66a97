"""The toy-faces dataset of the training demo, built on the fly with no download: the procedural
faces of `stylegan_tf.data.synthetic_faces` written by the normal dataset builder."""

from __future__ import annotations

import json
import os

from stylegan_tf.data.builder import build_dataset
from stylegan_tf.data.synthetic_faces import KINDS, SOURCE_PREFIX, parse_source, synthetic_face, synthetic_image  # noqa: F401
from stylegan_tf.data.layout import DATASET_JSON
from stylegan_tf.data.options import BuildOptions, BuildSummary


def build_synthetic_dataset(dest: str, resolution: int = 32, num_images: int = 2000, seed: int = 0, *,
                            shards: int = 1, overwrite: bool = False, exist_ok: bool = False, workers: int = 1,
                            progress: bool = False):
    """Builds a dataset directory of toy faces (all levels, `dataset.json`), like `make_tfrecords.py`.

    Args:
        dest: the dataset directory to create.
        resolution: top resolution, a power of two 4..1024.
        num_images: images to draw.
        seed: the random stream; the same seed gives byte-identical files.
        shards: files per level.
        overwrite: replace an existing dataset at `dest`.
        exist_ok: if `dest` already holds the toy faces asked for (same resolution,
            count, seed and shards), keep it and return its summary.
        workers: processes (1 = in this process, fastest for small builds).
        progress: show a progress bar.

    Returns:
        The builder's `BuildSummary` (`info` holds the dataset.json contents).
    """
    if exist_ok and not overwrite:
        try:
            with open(os.path.join(dest, DATASET_JSON), encoding="utf-8") as f:
                info = json.load(f)
            source = info.get("source", {})
            if (source.get("kind") == "synthetic" and info.get("resolution") == resolution
                    and source.get("num_images") == num_images and source.get("seed") == seed
                    and info.get("shards_per_level") == shards):
                return BuildSummary(os.path.abspath(dest), info["num_images"], num_images, info=info)
        except (OSError, ValueError, KeyError, AttributeError):
            pass

    options = BuildOptions(dest=dest, resolution=resolution, source=SOURCE_PREFIX + "faces",
                           num_images=num_images, synthetic_seed=seed, shards=shards, overwrite=overwrite,
                           workers=workers, progress=progress, shuffle=False,
                           command_line=("build_synthetic_dataset", f"resolution={resolution}",
                                         f"num_images={num_images}", f"seed={seed}"))
    return build_dataset(options)
