"""A dataset as one training run reads it: a subset of its images (official `--subset`) and/or
without its labels (`--no-cond`), with the reader interface training and the metrics use.

    view = DatasetView(open_dataset(path), max_images=1000, seed=0)   # 1000 images, every level
    view.make_tf_dataset(256, 8)        # batches of the subset; view.labels() its rows
    DatasetView(dataset, labels=False)  # a labelled dataset read unconditionally

The subset's rows come from the reader's `subset_indices(max_images, seed)` (the rule is the
format's: see `ImageDataset.subset_indices`, `AdaDataset.subset_indices`); the view passes
`max_images`/`subset_seed` to the reader's `make_tf_dataset`, so the stream stays deterministic
for its seed and position (exact resumption holds). Everything else is the dataset's.
"""

from __future__ import annotations

import hashlib
from typing import Iterator

import numpy as np

from stylegan_tf.errors import UserError


def check_max_images(path: str, num_images: int, max_images) -> int:
    """A subset size (official `--subset`: between 1 and the dataset's image count), else a UserError."""
    if isinstance(max_images, bool) or not isinstance(max_images, (int, np.integer)) or \
            not 1 <= max_images <= num_images:
        raise UserError(f"--subset (max_images) must be an integer between 1 and the {num_images} images of "
                        f"dataset {path}. Received: --subset {max_images!r}")
    return int(max_images)


class DatasetView:
    """A subset (`max_images` images chosen with `seed` by the format's rule) and/or no labels.

    Args:
        dataset: an `ImageDataset` or `AdaDataset` (not another view with a subset).
        max_images: the subset's size, None = every image.
        seed: the subset's seed (ADA datasets; the training run's --seed, as the official code).
        labels: False = read the dataset without its labels (label_size 0).
    """

    def __init__(self, dataset, max_images: int | None = None, seed: int = 0, labels: bool = True):
        if getattr(dataset, "max_images", None) is not None:
            raise UserError("DatasetView: the dataset is already a subset; take the subset of the dataset itself.")
        self.base = dataset
        self.max_images, self.subset_seed, self.use_labels = max_images, int(seed), bool(labels)
        self.rows = dataset.subset_indices(max_images, self.subset_seed)   # sorted record indices
        self.num_images = int(len(self.rows))
        self.label_size = dataset.label_size if labels else 0

    def __getattr__(self, name):
        if name == "base":   # not set yet (e.g. while unpickling)
            raise AttributeError(name)
        return getattr(self.base, name)

    @property
    def has_labels(self) -> bool:
        return self.label_size > 0

    def subset_indices(self, max_images: int | None = None, seed: int = 0) -> np.ndarray:
        """The rows of a subset of this view: the dataset's rule, for a view without a subset."""
        if max_images is None:
            return self.rows
        if self.max_images is not None:
            raise UserError("DatasetView: the view is already a subset; take the subset of the dataset itself.")
        return self.base.subset_indices(max_images, seed)

    def labels(self) -> np.ndarray:
        """The subset's label rows float32 [N, label_size], in record order."""
        if not self.has_labels:
            raise UserError(f"Dataset {self.base.path} has no labels" + ("" if self.base.has_labels else ".")
                            + (" in this view (--no-cond)." if self.base.has_labels else ""))
        return np.asarray(self.base.labels(), np.float32)[self.rows]

    @property
    def fingerprint(self) -> str:
        """The dataset's fingerprint, and the subset's size and seed (metric caches of a subset are its own)."""
        if self.max_images is None:
            return self.base.fingerprint
        digest = hashlib.sha256(f"{self.base.fingerprint}:subset:{self.num_images}:{self.subset_seed}".encode())
        return digest.hexdigest()[:20]

    def make_tf_dataset(self, resolution: int | None = None, batch_size: int = 32, **kwargs):
        """The reader's `make_tf_dataset` of the subset (same arguments and elements)."""
        if self.max_images is not None:
            kwargs.update(max_images=self.max_images, subset_seed=self.subset_seed)
        kwargs["labels"] = kwargs.get("labels", True) and self.use_labels
        return self.base.make_tf_dataset(resolution, batch_size, **kwargs)

    def iter_images(self, resolution: int | None = None) -> Iterator[np.ndarray]:
        """The subset's images at one level in record order, uint8 HWC."""
        rows, position = set(int(r) for r in self.rows), 0
        for index, image in enumerate(self.base.iter_images(resolution)):
            if index in rows:
                yield image
                position += 1
                if position == len(rows):
                    return

    def describe(self) -> str:
        lines = [self.base.describe()]
        if self.max_images is not None:
            lines.append(f"  subset:      {self.num_images} images (seed {self.subset_seed}), fingerprint "
                         f"{self.fingerprint}")
        if not self.use_labels and self.base.has_labels:
            lines.append("  labels:      not used (--no-cond)")
        return "\n".join(lines)
