"""The Fréchet distance between two Gaussians (Heusel et al. 2017, "GANs trained by a two
time-scale update rule converge to a local Nash equilibrium", eq. 6; official StyleGAN
`frechet_inception_distance.py`):

    d^2 = |mu1 - mu2|^2 + tr(S1 + S2 - 2 (S1 S2)^(1/2))

The matrix square root of S1 S2 (not symmetric) is the numerically delicate part.
Two methods, which agree to float64 precision on well-conditioned inputs:

- "eigh" (default): tr((S1 S2)^(1/2)) = sum_i sqrt(lambda_i), the eigenvalues of the
  symmetric PSD matrix A S2 A with A = S1^(1/2), which has the same eigenvalues as S1 S2
  (XY and YX share their spectrum). Only symmetric eigendecompositions are used and tiny
  negative eigenvalues from round-off are clipped to zero, so singular covariances
  (fewer samples than dimensions) give a finite, real result.
- "sqrtm": `scipy.linalg.sqrtm(S1 @ S2)` as the official and TTUR code, retried with
  eps * I added to both covariances when the result is not finite (TTUR `fid.py`), and
  the real part kept when round-off leaves a small imaginary part.
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.linalg

from stylegan_tf.errors import UserError

METHODS = ("eigh", "sqrtm")


def feature_statistics(features) -> tuple[np.ndarray, np.ndarray]:
    """(mean [D], covariance [D, D]) of features [N, D] in float64 (`np.cov(rowvar=False)`, 1/(N-1))."""
    features = np.asarray(features, np.float64)
    if features.ndim != 2 or len(features) < 2:
        raise ValueError(f"Features must be [N >= 2, D]. Received shape: {features.shape}")
    return features.mean(axis=0), np.atleast_2d(np.cov(features, rowvar=False))


def _sqrt_psd(matrix: np.ndarray) -> np.ndarray:
    """Symmetric square root of a symmetric PSD matrix (negative round-off eigenvalues clipped)."""
    values, vectors = np.linalg.eigh((matrix + matrix.T) * 0.5)
    return (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T


def trace_sqrt_product(sigma1: np.ndarray, sigma2: np.ndarray, method: str = "eigh", eps: float = 1e-6) -> float:
    """tr((S1 S2)^(1/2)) for symmetric PSD S1, S2."""
    if method == "eigh":
        root = _sqrt_psd(sigma1)
        inner = root @ sigma2 @ root
        values = np.linalg.eigvalsh((inner + inner.T) * 0.5)
        return float(np.sqrt(np.clip(values, 0.0, None)).sum())
    if method == "sqrtm":
        covmean = scipy.linalg.sqrtm(sigma1 @ sigma2)
        if not np.all(np.isfinite(covmean)):
            warnings.warn(f"FID: singular covariance product; adding {eps} to the diagonals (TTUR fallback)")
            offset = np.eye(sigma1.shape[0]) * eps
            covmean = scipy.linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
        if np.iscomplexobj(covmean):
            imaginary = np.max(np.abs(np.diagonal(covmean).imag))
            if imaginary > 1e-3:
                raise ValueError(f"FID: the matrix square root has an imaginary component {imaginary:g}")
            covmean = covmean.real
        return float(np.trace(covmean))
    raise UserError(f"Unknown Fréchet method. Received: method={method!r}; valid: {list(METHODS)}")


def frechet_distance(mu1, sigma1, mu2, sigma2, method: str = "eigh", eps: float = 1e-6) -> float:
    """|mu1 - mu2|^2 + tr(S1) + tr(S2) - 2 tr((S1 S2)^(1/2)), computed in float64.

    Args:
        mu1, mu2: means [D]. sigma1, sigma2: covariances [D, D].
        method: "eigh" (default, robust) or "sqrtm" (official scipy form with the TTUR fallback).
        eps: diagonal offset of the "sqrtm" fallback.
    """
    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    sigma1, sigma2 = np.atleast_2d(np.asarray(sigma1, np.float64)), np.atleast_2d(np.asarray(sigma2, np.float64))
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape or sigma1.shape != mu1.shape * 2:
        raise ValueError(f"Shapes differ: mu {mu1.shape} vs {mu2.shape}, sigma {sigma1.shape} vs {sigma2.shape}")
    diff = mu1 - mu2
    value = diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * trace_sqrt_product(sigma1, sigma2, method, eps)
    return float(value)
