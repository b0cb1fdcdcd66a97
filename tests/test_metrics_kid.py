"""KID: the unbiased MMD^2 estimator on hand-computed and statistical cases."""

import itertools

import numpy as np
import pytest

from stylegan_tf.metrics import kid


def _brute_force(x, y):
    """Unbiased MMD^2 with explicit loops over pairs (Gretton et al. 2012, eq. 3)."""
    d = x.shape[1]

    def k(a, b):
        return (np.dot(a, b) / d + 1.0) ** 3

    m = len(x)
    xx = sum(k(x[i], x[j]) for i, j in itertools.permutations(range(m), 2)) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i, j in itertools.permutations(range(m), 2)) / (m * (m - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(m)) / (m * m)
    return xx + yy - 2 * xy


def test_hand_computed_case():
    # d = 1, x = (0, 0), y = (1, 1): k(0,0) = 1, k(1,1) = 8, k(0,1) = 1 -> 1 + 8 - 2 = 7.
    assert kid.mmd2_unbiased(np.zeros((2, 1)), np.ones((2, 1))) == pytest.approx(7.0)
    assert kid.polynomial_kernel(np.array([[2.0, 0.0]]), np.array([[1.0, 3.0]]))[0, 0] == pytest.approx(8.0)


def test_matches_brute_force():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((6, 4)), rng.standard_normal((6, 4)) + 0.5
    assert kid.mmd2_unbiased(x, y) == pytest.approx(_brute_force(x, y), rel=1e-12)


def test_unbiased_for_equal_distributions():
    rng = np.random.default_rng(1)
    values = [kid.mmd2_unbiased(rng.standard_normal((10, 3)), rng.standard_normal((10, 3))) for _ in range(2000)]
    assert abs(np.mean(values)) < 3 * np.std(values) / np.sqrt(len(values))
    assert min(values) < 0  # an unbiased estimator of 0 must go negative


def test_kid_subsets():
    rng = np.random.default_rng(2)
    real, same, shifted = rng.standard_normal((300, 8)), rng.standard_normal((300, 8)), rng.standard_normal((300, 8)) + 1
    mean_same, std_same = kid.kernel_inception_distance(real, same, num_subsets=20, max_subset_size=100)
    mean_shift, _ = kid.kernel_inception_distance(real, shifted, num_subsets=20, max_subset_size=100)
    assert abs(mean_same) < 3 * std_same + 1e-3 and std_same > 0
    assert mean_shift > 10 * abs(mean_same)
    # One subset of everything is the plain estimator.
    full, std = kid.kernel_inception_distance(real[:50], shifted[:50], num_subsets=1, max_subset_size=1000)
    assert full == pytest.approx(kid.mmd2_unbiased(real[:50], shifted[:50])) and std == 0
    assert kid.kernel_inception_distance(real, shifted, 5, 100, seed=3) == kid.kernel_inception_distance(
        real, shifted, 5, 100, seed=3)


def test_errors():
    with pytest.raises(ValueError, match="same size"):
        kid.mmd2_unbiased(np.zeros((3, 2)), np.zeros((2, 2)))
