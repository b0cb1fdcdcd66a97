"""Improved precision and recall (Kynkäänniemi et al. 2019, "Improved Precision and Recall
Metric for Assessing Generative Models", sec. 2).

Each feature set approximates its manifold by the union of hyperspheres centred on its
samples with radius the distance to the sample's k-th nearest neighbour (k = 3, the
sample itself not counted). Precision = fraction of fake samples inside the real
manifold; recall = fraction of real samples inside the fake manifold. Here the features
are the Inception pool features already computed for FID, so the metric costs only the
nearest-neighbour search (pairwise distances in row blocks, O(N^2 D), in float32 as
the reference implementation).
"""

from __future__ import annotations

import numpy as np


def _sq_norms(x: np.ndarray) -> np.ndarray:
    return np.einsum("ij,ij->i", x, x)


def pairwise_sq_distances(a: np.ndarray, b: np.ndarray, b_norms: np.ndarray | None = None) -> np.ndarray:
    """|a_i - b_j|^2 for all pairs, clipped at 0 (round-off)."""
    b_norms = _sq_norms(b) if b_norms is None else b_norms
    d = _sq_norms(a)[:, None] - 2.0 * (a @ b.T) + b_norms[None, :]
    return np.maximum(d, 0.0)


def knn_radii(features: np.ndarray, k: int = 3, row_batch: int = 512) -> np.ndarray:
    """Squared distance of every sample to its k-th nearest other sample: [N]."""
    x = np.asarray(features, np.float32)
    if len(x) <= k:
        raise ValueError(f"Need more than k={k} samples. Received: {len(x)}")
    norms = _sq_norms(x)
    radii = np.empty(len(x), np.float32)
    for start in range(0, len(x), row_batch):
        d = pairwise_sq_distances(x[start:start + row_batch], x, norms)
        # Index k of the sorted row: index 0 is the sample itself (distance 0).
        radii[start:start + row_batch] = np.partition(d, k, axis=1)[:, k]
    return radii


def coverage(queries: np.ndarray, manifold: np.ndarray, radii: np.ndarray, row_batch: int = 512) -> np.ndarray:
    """For each query, whether it lies within radius of any manifold sample: bool [len(queries)]."""
    q, m = np.asarray(queries, np.float32), np.asarray(manifold, np.float32)
    norms = _sq_norms(m)
    inside = np.empty(len(q), bool)
    for start in range(0, len(q), row_batch):
        d = pairwise_sq_distances(q[start:start + row_batch], m, norms)
        inside[start:start + row_batch] = np.any(d <= radii[None, :], axis=1)
    return inside


def precision_recall(real_features, fake_features, k: int = 3, row_batch: int = 512) -> tuple[float, float]:
    """(precision, recall) of fake vs real features [N, D]."""
    real, fake = np.asarray(real_features, np.float32), np.asarray(fake_features, np.float32)
    precision = coverage(fake, real, knn_radii(real, k, row_batch), row_batch).mean()
    recall = coverage(real, fake, knn_radii(fake, k, row_batch), row_batch).mean()
    return float(precision), float(recall)


# Registry -------------------------------------------------------------------------------
from stylegan_tf.metrics.registry import register_metric  # noqa: E402


@register_metric("pr50k3", num=50_000, needs=("reals", "inception"),
                 description="Improved precision and recall (k=3 nearest-neighbour manifolds) on the Inception "
                             "features of 50k generated images")
def pr50k3(ctx) -> dict[str, float]:
    num = ctx.count()
    real = ctx.real_features(num)
    precision, recall = precision_recall(real, ctx.fake_features(num), k=3)
    ctx.info["num_reals"] = len(real)
    return {f"{ctx.metric}/precision": precision, f"{ctx.metric}/recall": recall}
