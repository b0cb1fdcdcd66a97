"""Reading a photo for the projector: decoding (EXIF orientation applied), FFHQ alignment of its
largest face (the dataset tool's `--alignment detect`), centre crop and resize (official
stylegan2-ada-pytorch `projector.py` `run_projection`)."""

from __future__ import annotations

import os

import numpy as np

from stylegan_tf.errors import UserError


def read_photo(path, option: str = "--target") -> np.ndarray:
    """The photo as RGB uint8 [H, W, 3] (EXIF orientation applied); missing/unreadable: `UserError`."""
    from stylegan_tf.data import sources

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise UserError(f"{option}: no such file. Received: {option}={path!r}")
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as error:
        raise UserError(f"{option}: cannot read {path!r}: {error}") from error
    try:
        return sources.decode_image(data, channels=3)
    except sources.Skip as skip:
        raise UserError(f"{option}: {path!r} is not a readable image ({skip.code}: {skip.detail}).") from None


def center_crop_resize(image: np.ndarray, resolution: int) -> np.ndarray:
    """The largest centred square, resized to resolution x resolution with Lanczos (official run_projection)."""
    import PIL.Image

    h, w = image.shape[:2]
    s = min(h, w)
    top, left = (h - s) // 2, (w - s) // 2
    square = PIL.Image.fromarray(np.ascontiguousarray(image[top:top + s, left:left + s]))
    if s != resolution:
        square = square.resize((resolution, resolution), PIL.Image.LANCZOS)
    return np.asarray(square, np.uint8)


def align_photo(image: np.ndarray, detector=None, source: str = "the photo", rotate: bool = True) -> np.ndarray:
    """FFHQ alignment of the largest face (MTCNN points, the dataset tool's `--alignment detect`),
    to 1024x1024 uint8 as the official FFHQ images. No face: `UserError`."""
    from stylegan_tf.data import alignment

    if detector is None:
        from stylegan_tf.data.detect import FaceDetector

        detector = FaceDetector(faces="largest")
    faces = detector.detect(image)
    for face in faces:
        try:
            quad, qsize = alignment.crop_quad(alignment.face_points(face.points), rotate=rotate)
            return alignment.align_face(image, quad, qsize, output_size=1024)
        except alignment.LandmarkError:
            continue
    h, w = image.shape[:2]
    raise UserError(f"--align: no face found in {source} ({w}x{h}); crop the face yourself or drop --align.")


def prepare_target(path, resolution: int, align: bool = False, detector=None) -> np.ndarray:
    """The target uint8 [R, R, 3]: the photo (FFHQ-aligned with `align`), centre-cropped and resized."""
    image = read_photo(path)
    if align:
        image = align_photo(image, detector, source=repr(os.fspath(path)))
    return center_crop_resize(image, resolution)
