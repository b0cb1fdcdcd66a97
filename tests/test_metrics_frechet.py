"""Fréchet distance against an independent scipy reference; FID of a set with itself."""

import numpy as np
import pytest
import scipy.linalg

from stylegan_tf.errors import UserError
from stylegan_tf.metrics import frechet


def _reference(mu1, s1, mu2, s2):
    """The textbook formula with scipy's general (Schur) matrix square root."""
    root = scipy.linalg.sqrtm(s1 @ s2)
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(s1 + s2 - 2 * np.real(root)))


def _gaussian_sample(rng, n, d, scale=1.0, shift=0.0):
    a = rng.standard_normal((d, d)) * scale / np.sqrt(d)
    return rng.standard_normal((n, d)) @ a + shift


@pytest.mark.parametrize("method", frechet.METHODS)
@pytest.mark.parametrize("d", [1, 8, 64])
def test_matches_scipy_reference_on_random_gaussians(method, d):
    rng = np.random.default_rng(d)
    mu1, s1 = frechet.feature_statistics(_gaussian_sample(rng, 4 * d + 10, d))
    mu2, s2 = frechet.feature_statistics(_gaussian_sample(rng, 4 * d + 10, d, scale=1.5, shift=0.3))
    expected = _reference(mu1, s1, mu2, s2)
    assert frechet.frechet_distance(mu1, s1, mu2, s2, method) == pytest.approx(expected, rel=1e-7, abs=1e-9)


def test_closed_forms():
    # Diagonal covariances: sum (sqrt(a) - sqrt(b))^2; 1-D: (m1 - m2)^2 + (s1 - s2)^2.
    a, b = np.array([1.0, 4.0, 9.0]), np.array([4.0, 4.0, 1.0])
    expected = 1.0 + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    assert frechet.frechet_distance([1, 0, 0], np.diag(a), [0, 0, 0], np.diag(b)) == pytest.approx(expected)
    assert frechet.frechet_distance(2.0, 9.0, -1.0, 4.0) == pytest.approx(9.0 + 1.0)


def test_set_with_itself_is_zero_even_when_singular():
    rng = np.random.default_rng(0)
    features = rng.standard_normal((30, 100))  # fewer samples than dimensions: rank-deficient covariance
    mu, sigma = frechet.feature_statistics(features)
    scale = np.trace(sigma)  # ~100: round-off in the zero eigenvalues stays far below it
    for method in frechet.METHODS:
        assert abs(frechet.frechet_distance(mu, sigma, mu, sigma, method)) < 1e-6 * scale
    other_mu, other_sigma = frechet.feature_statistics(rng.standard_normal((30, 100)))
    value = frechet.frechet_distance(mu, sigma, other_mu, other_sigma)
    assert np.isfinite(value) and value > 0
    assert frechet.frechet_distance(mu, sigma, other_mu, other_sigma, "sqrtm") == pytest.approx(value, rel=1e-5)


def test_statistics_and_errors():
    features = np.arange(12, dtype=np.float64).reshape(4, 3)
    mu, sigma = frechet.feature_statistics(features)
    np.testing.assert_allclose(mu, features.mean(0))
    np.testing.assert_allclose(sigma, np.cov(features.T))
    with pytest.raises(ValueError, match="N >= 2"):
        frechet.feature_statistics(features[:1])
    with pytest.raises(ValueError, match="Shapes differ"):
        frechet.frechet_distance(mu, sigma, mu[:2], sigma[:2, :2])
    with pytest.raises(UserError, match="Unknown Fréchet method"):
        frechet.frechet_distance(mu, sigma, mu, sigma, method="svd")
