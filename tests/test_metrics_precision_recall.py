"""Improved precision and recall on small hand-made feature sets."""

import numpy as np
import pytest

from stylegan_tf.metrics import precision_recall as pr


def test_knn_radii():
    x = np.array([[0.0], [1.0], [3.0], [6.0]])
    # Squared distance to the k-th nearest other point.
    np.testing.assert_allclose(pr.knn_radii(x, k=1), [1, 1, 4, 9])
    np.testing.assert_allclose(pr.knn_radii(x, k=2, row_batch=3), [9, 4, 9, 25])
    with pytest.raises(ValueError, match="more than k"):
        pr.knn_radii(x, k=4)


def test_precision_and_recall():
    real = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    fakes_inside = real + 0.1
    assert pr.precision_recall(real, fakes_inside, k=1) == (1.0, 1.0)
    # Two fakes far away: half the fakes are outside the real manifold (real radii: 1). The
    # fake pair near the origin has radii 0.5 (their distance) and covers (0, 0) and (1, 0).
    fakes = np.array([[0.1, 0.1], [0.6, 0.1], [10.0, 10.0], [10.0, 11.0]])
    precision, recall = pr.precision_recall(real, fakes, k=1)
    assert precision == 0.5
    assert recall == 0.5


def test_identical_sets_have_full_precision_and_recall():
    x = np.random.default_rng(0).standard_normal((200, 16))
    assert pr.precision_recall(x, x, k=3) == (1.0, 1.0)
