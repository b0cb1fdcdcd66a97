"""Kernel Inception Distance (Bińkowski et al. 2018, "Demystifying MMD GANs", sec. 4 / appendix).

The unbiased estimator of the squared maximum mean discrepancy between real features X
and fake features Y with the cubic polynomial kernel k(x, y) = (x . y / d + 1)^3, d the
feature dimension:

    MMD_u^2 = 1/(m(m-1)) sum_{i != j} k(x_i, x_j) + 1/(m(m-1)) sum_{i != j} k(y_i, y_j)
              - 2/m^2 sum_{i, j} k(x_i, y_j)

computed on `num_subsets` random subsets of m = min(len(X), len(Y), max_subset_size)
samples of each set and averaged, as the KID authors' code and StyleGAN2-ADA's
`kernel_inception_distance.py` (100 subsets of at most 1000). Unbiased: its expectation is
exactly MMD^2, so it can be slightly negative for identical distributions.
"""

from __future__ import annotations

import numpy as np


def polynomial_kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """k(x, y) = (x . y / d + 1)^3 for all pairs: [len(x), len(y)], float64."""
    d = x.shape[1]
    return (x @ y.T / d + 1.0) ** 3


def mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    """The unbiased MMD^2 of two equal-size samples [m, d] under the cubic polynomial kernel."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    m = len(x)
    if m < 2 or len(y) != m:
        raise ValueError(f"Need two samples of the same size m >= 2. Received: {len(x)} and {len(y)}")
    kxx, kyy, kxy = polynomial_kernel(x, x), polynomial_kernel(y, y), polynomial_kernel(x, y)
    within = (kxx.sum() - np.trace(kxx) + kyy.sum() - np.trace(kyy)) / (m * (m - 1))
    return float(within - 2.0 * kxy.sum() / (m * m))


def kernel_inception_distance(real_features, fake_features, num_subsets: int = 100, max_subset_size: int = 1000,
                              seed: int = 0) -> tuple[float, float]:
    """(mean, std) of the unbiased MMD^2 over random subsets (drawn without replacement)."""
    real, fake = np.asarray(real_features, np.float64), np.asarray(fake_features, np.float64)
    m = min(len(real), len(fake), max_subset_size)
    rng = np.random.default_rng(seed)
    values = [mmd2_unbiased(real[rng.choice(len(real), m, replace=False)],
                            fake[rng.choice(len(fake), m, replace=False)]) for _ in range(num_subsets)]
    return float(np.mean(values)), float(np.std(values))


# Registry -------------------------------------------------------------------------------
from stylegan_tf.metrics.registry import register_metric  # noqa: E402


@register_metric("kid50k", num=50_000, needs=("reals", "inception"),
                 description="Kernel Inception Distance (unbiased MMD^2, cubic kernel; 100 subsets of <= 1000), "
                             "50k generated images")
def kid50k(ctx) -> dict[str, float]:
    num = ctx.count()
    real = ctx.real_features(num)
    mean, std = kernel_inception_distance(real, ctx.fake_features(num), seed=ctx.seed)
    ctx.info["num_reals"] = len(real)
    return {ctx.metric: mean, f"{ctx.metric}/std": std}
