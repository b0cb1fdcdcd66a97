"""FFHQ alignment: geometry against hand-computed quads, the fast path against the plain official steps,
and MTCNN on a real photo (scikit-image's astronaut) putting the eyes where FFHQ puts them."""

import numpy as np
import pytest

from stylegan_tf.data import alignment
from stylegan_tf.data.alignment_reference import reference_align, reference_quad

skimage_data = pytest.importorskip("skimage.data")
cv2 = pytest.importorskip("cv2")

# Five points (left eye, right eye, nose, mouth left, mouth right) of an upright face:
# eye_avg (50, 50), eye_to_eye (20, 0), eye_to_mouth (0, 20).
UPRIGHT = np.array([[40, 50], [60, 50], [50, 60], [42, 70], [58, 70]], float)
# The same face turned 90 degrees about (50, 50): (dx, dy) -> (-dy, dx).
TURNED = np.array([[50, 40], [50, 60], [40, 50], [30, 42], [30, 58]], float)
# Astronaut's MTCNN points (rounded), used for the photo-based comparisons.
ASTRONAUT = np.array([[204, 100], [245, 102], [224, 126], [202, 139], [244, 140]], float)


def _sixty_eight(points5: np.ndarray) -> np.ndarray:
    """68 dlib-style points whose eye means and mouth corners are the five points' (others arbitrary)."""
    lm = np.zeros((68, 2))
    ring = np.array([[-3, 0], [-1, -1], [1, -1], [3, 0], [1, 1], [-1, 1]], float)
    lm[36:42] = points5[0] + ring
    lm[42:48] = points5[1] + ring
    lm[48], lm[54] = points5[3], points5[4]
    lm[:17] = np.linspace([0, 0], [99, 99], 17)
    return lm


def test_quad_upright_by_hand():
    # x = (20,0) - flipud((0,20)) * [-1,1] = (40, 0) -> unit (1,0) * max(2*20, 1.8*20) = (40, 0);
    # y = (0, 40); c = (50, 50) + 0.1 * (0, 20) = (50, 52); qsize = 80.
    quad, qsize = alignment.crop_quad(alignment.face_points(UPRIGHT))
    np.testing.assert_allclose(quad, [[10, 12], [10, 92], [90, 92], [90, 12]])
    assert qsize == pytest.approx(80)
    ref_quad, ref_size = reference_quad(UPRIGHT)
    np.testing.assert_allclose(quad, ref_quad) and pytest.approx(ref_size) == qsize


def test_quad_rotation_and_no_rotation_by_hand():
    # eye_to_eye (0, 20), eye_to_mouth (-20, 0): x = (0, 40), y = (-40, 0), c = (48, 50).
    quad, qsize = alignment.crop_quad(alignment.face_points(TURNED))
    np.testing.assert_allclose(quad, [[88, 10], [8, 10], [8, 90], [88, 90]], atol=1e-12)
    assert qsize == pytest.approx(80)
    # --no-rotation: the same centre and size, axis-aligned.
    quad, qsize = alignment.crop_quad(alignment.face_points(TURNED), rotate=False)
    np.testing.assert_allclose(quad, [[8, 10], [8, 90], [88, 90], [88, 10]], atol=1e-12)
    assert qsize == pytest.approx(80)


def test_quad_long_face_uses_mouth_distance():
    points = UPRIGHT.copy()
    points[3:, 1] = 80  # eye_to_mouth (0, 30): scale max(40, 1.8 * 30 = 54), c = (50, 53)
    quad, qsize = alignment.crop_quad(alignment.face_points(points))
    np.testing.assert_allclose(quad, [[-4, -1], [-4, 107], [104, 107], [104, -1]])
    assert qsize == pytest.approx(108)


def test_crop_and_padding_by_hand():
    quad, qsize = alignment.crop_quad(alignment.face_points(UPRIGHT))  # [[10,12],[10,92],[90,92],[90,12]], 80
    # border = max(rint(0.1 * 80), 3) = 8. In 100x100: crop (2, 4, 98, 100); the quad keeps 8 pixels
    # from every crop edge, so no padding.
    assert alignment.crop_and_padding(quad, qsize, 100, 100) == ((2, 4, 98, 100), None)
    # In 90x90: crop (2, 4, 90, 90) is 88 x 86; the quad (8..88, 8..88 inside it) needs (0, 0, 8, 10),
    # more than border - 4, so every side is padded by at least rint(0.3 * 80) = 24.
    assert alignment.crop_and_padding(quad, qsize, 90, 90) == ((2, 4, 90, 90), (24, 24, 24, 24))
    # Without the official padding the crop is the same and nothing is padded.
    assert alignment.crop_and_padding(quad, qsize, 90, 90, enable_padding=False) == ((2, 4, 90, 90), None)
    # Within 4 pixels of tolerance: in 94x96 the right/bottom need 4 and 4 <= border - 4, so no padding.
    assert alignment.crop_and_padding(quad, qsize, 94, 96) == ((2, 4, 94, 96), None)
    # The turned face near the top-left corner: the quad starts at x = 8, y = 10 - 10 = 0.
    turned_quad, turned_size = alignment.crop_quad(alignment.face_points(TURNED - [0, 10]))
    np.testing.assert_allclose(turned_quad, [[88, 0], [8, 0], [8, 80], [88, 80]], atol=1e-12)
    # crop (0, 0, 96, 88); the quad needs 0 left (8 - 8) and 8 on top: pad >= 24 on every side.
    assert alignment.crop_and_padding(turned_quad, turned_size, 200, 200) == ((0, 0, 96, 88), (24, 24, 24, 24))


def test_sixty_eight_points_give_the_same_geometry():
    np.testing.assert_allclose(alignment.face_points(_sixty_eight(UPRIGHT)), UPRIGHT[[0, 1, 3, 4]])
    np.testing.assert_allclose(alignment.crop_quad(alignment.face_points(_sixty_eight(TURNED)))[0],
                               reference_quad(_sixty_eight(TURNED))[0])


@pytest.mark.parametrize("landmarks, match", [
    (np.zeros((67, 2)), "shape"),
    (np.full((68, 2), np.nan), "NaN"),
    ([["a", "b"]] * 68, "not numbers"),
    (np.zeros((5, 2)), "coincide"),
])
def test_malformed_landmarks(landmarks, match):
    with pytest.raises(alignment.LandmarkError, match=match):
        alignment.face_points(landmarks)


def test_eyes_land_on_the_ffhq_template():
    # Upright face with 2e >= 1.8m: eyes at x = 0.375 S and 0.625 S, y = S/2 - 0.1 m S / (2 s).
    points = alignment.face_points(UPRIGHT)
    quad, _ = alignment.crop_quad(points)
    eyes = alignment.map_points(points[:2], quad, 1024)
    np.testing.assert_allclose(eyes, [[384, 512 - 0.1 * 20 * 1024 / 80], [640, 512 - 0.1 * 20 * 1024 / 80]])


def _photo_cases():
    astronaut = skimage_data.astronaut()
    big = cv2.resize(astronaut, (1536, 1536), interpolation=cv2.INTER_CUBIC)
    return {
        "inside": (astronaut, ASTRONAUT, 128, True),
        "padded": (astronaut[70:330, 170:420].copy(), ASTRONAUT - [170, 70], 128, True),
        "padded-large-blur": (big[240:1000, 510:1260].copy(), ASTRONAUT * 3 - [510, 240], 128, True),
        "shrunk-padded": (big[240:1000, 510:1260].copy(), ASTRONAUT * 3 - [510, 240], 64, True),
        "no-rotation-padded": (astronaut[70:330, 170:420].copy(), ASTRONAUT - [170, 70], 128, False),
    }


@pytest.mark.parametrize("case", list(_photo_cases()))
def test_fast_alignment_matches_the_official_steps(case):
    image, points, size, rotate = _photo_cases()[case]
    quad, qsize = alignment.crop_quad(alignment.face_points(points), rotate=rotate)
    fast = alignment.align_face(image, quad, qsize, output_size=size)
    ref_quad, ref_size = reference_quad(points, rotate=rotate)
    reference = reference_align(image, ref_quad, ref_size, size, 4 * size)
    assert fast.shape == reference.shape == (size, size, 3)
    diff = np.abs(fast.astype(np.int32) - reference)
    # The requirement is within 1 gray level on average; the implementation is far closer.
    assert diff.mean() < 0.1, diff.mean()
    assert diff.max() <= 3


def test_union_median_is_numpy_median():
    rng = np.random.default_rng(0)
    for _ in range(20):
        ints = rng.integers(0, 256, rng.integers(0, 40))
        floats = (rng.random(rng.integers(1, 50)) * 255).astype(np.float32)
        floats[:3] = np.floor(floats[:3])
        got = alignment._union_median(np.bincount(ints, minlength=256), [floats[:10], floats[10:]])
        assert got == pytest.approx(np.median(np.concatenate([ints.astype(np.float32), floats])), abs=1e-4)


def test_crop_outside_the_image_is_a_landmark_error():
    quad, qsize = alignment.crop_quad(alignment.face_points(UPRIGHT + 5000))
    with pytest.raises(alignment.LandmarkError, match="outside the image"):
        alignment.align_face(np.zeros((100, 100, 3), np.uint8), quad, qsize, output_size=32)


def test_mtcnn_finds_the_astronaut_and_alignment_puts_the_eyes_where_ffhq_does():
    pytest.importorskip("mtcnn")
    from stylegan_tf.data.detect import FaceDetector

    photo = skimage_data.astronaut()
    detector = FaceDetector(faces="all", min_face_size=40)
    faces = detector.detect(photo)
    assert len(faces) == 1
    points = faces[0].points
    # Image-left first, as FFHQ's 68-point "left eye" (points 36-41): left eye and mouth corner on the left.
    assert points[0, 0] < points[1, 0] and points[3, 0] < points[4, 0]
    np.testing.assert_allclose(points, ASTRONAUT, atol=1.0)

    size = 256
    quad, qsize = alignment.crop_quad(alignment.face_points(points))
    expected = alignment.map_points(alignment.face_points(points)[:2], quad, size)
    # FFHQ's template: eyes at x = 0.375 and 0.625 of the width (2e >= 1.8m here), y a little above the middle.
    np.testing.assert_allclose(expected[:, 0], [0.375 * size, 0.625 * size], atol=1.5)
    assert 0.44 * size < expected[0, 1] < 0.5 * size

    aligned = alignment.align_face(photo, quad, qsize, output_size=size)
    again = detector.detect(aligned)
    assert len(again) == 1
    np.testing.assert_allclose(again[0].points[:2], expected, atol=0.03 * size)
