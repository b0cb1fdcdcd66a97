"""Sliced Wasserstein distance: pyramid, descriptors, distance, and the ProGAN behaviour."""

import cv2
import numpy as np
import pytest

from stylegan_tf.errors import UserError
from stylegan_tf.metrics import swd


def _images(n, size=32, seed=0, sigma=1.0):
    """Random textures (Gaussian noise blurred by `sigma`) as uint8 NHWC.

    SWD normalises every channel of the descriptors, so a global brightness or contrast
    change is invisible to it by design; a distribution shift it must see is a change of
    the local structure, here the texture scale.
    """
    rng = np.random.default_rng(seed)
    x = rng.normal(128, 40, (n, size, size, 3))
    x = np.stack([cv2.GaussianBlur(im, (0, 0), sigma) for im in x])
    return np.clip(x, 0, 255).astype(np.uint8)


def test_pyramid_matches_opencv():
    image = np.random.default_rng(0).uniform(0, 255, (32, 32)).astype(np.float32)
    nchw = image[None, None]
    np.testing.assert_allclose(swd.pyr_down(nchw)[0, 0], cv2.pyrDown(image), atol=1e-3)
    small = cv2.pyrDown(image)
    np.testing.assert_allclose(swd.pyr_up(small[None, None])[0, 0], cv2.pyrUp(small), atol=1e-3)


def test_laplacian_pyramid_reconstructs():
    images = np.random.default_rng(1).uniform(0, 255, (2, 3, 32, 32)).astype(np.float32)
    pyramid = swd.laplacian_pyramid(images, 3)
    assert [p.shape[-1] for p in pyramid] == [32, 16, 8]
    rebuilt = pyramid[-1]
    for level in pyramid[-2::-1]:
        rebuilt = swd.pyr_up(rebuilt) + level
    np.testing.assert_allclose(rebuilt, images, atol=1e-3)


def test_resolutions_and_descriptor_shapes():
    assert swd.swd_resolutions(128) == [128, 64, 32, 16]
    assert swd.swd_resolutions(16) == [16]
    with pytest.raises(UserError, match="SWD needs images of at least 16x16"):
        swd.swd_resolutions(8)
    level = np.arange(2 * 3 * 16 * 16, dtype=np.float32).reshape(2, 3, 16, 16)
    desc = swd.patch_descriptors(level, np.random.default_rng(0), 7, 5)
    assert desc.shape == (10, 3, 7, 7)
    # Each descriptor is a contiguous 7x7 window of one image, all channels.
    d = desc[7]
    v = int(d[0, 0, 0])  # value = ((image * 3 + channel) * 16 + y) * 16 + x
    image, y0, x0 = v // 768, v % 768 // 16, v % 16
    np.testing.assert_array_equal(d, level[image, :, y0:y0 + 7, x0:x0 + 7])
    assert image == 1  # patches 5..9 come from the second image


def test_finalize_normalises_each_channel():
    desc = np.random.default_rng(0).normal(3.0, 5.0, (100, 3, 7, 7)).astype(np.float32)
    flat = swd.finalize_descriptors([desc[:50], desc[50:]]).reshape(100, 3, 7, 7)
    np.testing.assert_allclose(flat.mean(axis=(0, 2, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(flat.std(axis=(0, 2, 3)), 1, atol=1e-5)


def test_sliced_wasserstein_of_a_translation_is_the_projected_shift():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((500, 6)).astype(np.float32)
    v = np.float32([1.0, -2.0, 0.5, 0.0, 0.0, 3.0])
    value = swd.sliced_wasserstein(a, a + v, np.random.default_rng(7), dir_repeats=2, dirs_per_repeat=16)
    dirs_rng = np.random.default_rng(7)
    expected = []
    for _ in range(2):
        dirs = dirs_rng.standard_normal((6, 16))
        dirs /= np.sqrt(np.sum(dirs**2, axis=0, keepdims=True))
        expected.append(np.mean(np.abs(v @ dirs)))
    assert value == pytest.approx(np.mean(expected), rel=1e-4)
    assert swd.sliced_wasserstein(a, a, np.random.default_rng(0)) == 0.0
    with pytest.raises(ValueError, match="same"):
        swd.sliced_wasserstein(a, a[:10], np.random.default_rng(0))


def test_swd_identical_near_zero_shifted_larger_and_stable():
    reals, same, shifted = _images(64, seed=0), _images(64, seed=0), _images(64, seed=1, sigma=3.0)
    identical = swd.compute_swd([reals], [same], 32, seed=3)
    other = swd.compute_swd([reals], [_images(64, seed=2)], 32, seed=3)  # same distribution: noise floor
    moved = swd.compute_swd([reals], [shifted], 32, seed=3)
    assert set(identical) == {"32", "16", "avg"}
    assert identical == {"32": 0.0, "16": 0.0, "avg": 0.0}
    assert moved["avg"] > 3 * other["avg"] > 0
    again = swd.compute_swd([reals[:40], reals[40:]], [shifted[:10], shifted[10:]], 32, seed=3)
    assert again == moved  # fixed seed: same number, whatever the batching
    assert swd.compute_swd([reals], [shifted], 32, seed=4) != moved
    np.testing.assert_allclose(moved["avg"], np.mean([moved["32"], moved["16"]]))


def test_swd_same_patches_give_exactly_zero():
    images = _images(8, size=16)
    real = swd.DescriptorSet(16, np.random.default_rng(0))
    real.feed(images)
    fake = swd.DescriptorSet(16, np.random.default_rng(0))
    fake.feed(images)
    result = swd.swd_from_descriptors(real.finalize(), fake.finalize(), [16], np.random.default_rng(0))
    assert result == {"16": 0.0, "avg": 0.0}


def test_swd_errors():
    with pytest.raises(UserError, match="SWD expects 32x32 images"):
        swd.DescriptorSet(32, np.random.default_rng(0)).feed(_images(2, size=16))
    with pytest.raises(ValueError, match="as many real as fake"):
        swd.compute_swd([_images(4)], [_images(3)], 32)
    with pytest.raises(UserError, match="SWD got no images"):
        swd.DescriptorSet(32, np.random.default_rng(0)).finalize()
