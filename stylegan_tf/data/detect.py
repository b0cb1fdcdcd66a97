"""Face detection with MTCNN: the five points the FFHQ alignment needs.

`mtcnn` (1.0.0) ships its weights inside the package and runs offline on
TensorFlow. It returns, per face, a box, a confidence and five keypoints:
`left_eye`, `right_eye`, `nose`, `mouth_left`, `mouth_right`, where "left" is the
image's left (checked on scikit-image's astronaut photo), which is also what the
FFHQ 68-point convention calls the left eye (points 36-41). The alignment takes
them in that order (`alignment.face_points` with a [5, 2] array).

Two details of this wrapper:

- Photos are detected on a copy whose longer side is at most `detect_size` pixels
  (default 1024; MTCNN's cost grows with the pixel count), and the points are
  scaled back to the full photo, which is what gets aligned.
- mtcnn 1.0.0's image pyramid can include a scale at which the image is smaller
  than PNet's 12-pixel input, and then crashes inside a convolution ("empty
  output") for some image sizes. The pyramid is filtered to the scales MTCNN can
  run (a wrapper around its `build_scale_pyramid`, installed once per process).

TensorFlow is imported when the first detector is created, never at import time.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

FACE_CHOICES = ("largest", "all")
_PNET_INPUT = 12  # PNet's receptive field; smaller pyramid levels cannot run.
_SHARED: dict = {}


@dataclass(frozen=True)
class Face:
    """One detected face: box (x0, y0, x1, y1), confidence, and points float [5, 2]
    (left eye, right eye, nose, mouth left, mouth right; image left first)."""

    box: tuple[float, float, float, float]
    confidence: float
    points: np.ndarray

    @property
    def size(self) -> float:
        """The box's longer side in pixels."""
        return max(self.box[2] - self.box[0], self.box[3] - self.box[1])


def _install_pyramid_fix() -> None:
    import mtcnn.stages.stage_pnet as stage_pnet

    original = stage_pnet.build_scale_pyramid
    if getattr(original, "_stylegan_tf_fixed", False):
        return

    def build_scale_pyramid(width, height, min_face_size, scale_factor, min_size=_PNET_INPUT):
        scales = np.asarray(original(width, height, min_face_size=min_face_size, scale_factor=scale_factor,
                                     min_size=min_size))
        usable = scales[np.floor(min(width, height) * scales) >= _PNET_INPUT]
        return usable if usable.size else scales[:1]

    build_scale_pyramid._stylegan_tf_fixed = True
    stage_pnet.build_scale_pyramid = build_scale_pyramid


class FaceDetector:
    """MTCNN wrapper: create once per process (loading takes seconds), then call `detect`.

    Args:
        faces: "largest" = at most the largest face; "all" = every face.
        min_face_size: ignore faces whose box is smaller (longer side, photo pixels).
        min_confidence: ignore detections below this MTCNN confidence.
        detect_size: longest side of the copy the detector sees.
        threads: TensorFlow intra-op threads for this process (None = leave as is).
    """

    def __init__(self, faces: str = "largest", min_face_size: int = 20, min_confidence: float = 0.9,
                 detect_size: int = 1024, threads: int | None = None):
        if faces not in FACE_CHOICES:
            raise ValueError(f"faces must be one of {FACE_CHOICES}, got {faces!r}")
        import tensorflow as tf

        if threads:
            try:
                tf.config.threading.set_intra_op_parallelism_threads(threads)
                tf.config.threading.set_inter_op_parallelism_threads(threads)
            except RuntimeError:
                pass  # TensorFlow already initialised in this process: keep its setting.
        from mtcnn import MTCNN

        _install_pyramid_fix()
        self.faces, self.min_face_size = faces, min_face_size
        self.min_confidence, self.detect_size = min_confidence, detect_size
        if "mtcnn" not in _SHARED:  # the networks are stateless: one per process
            _SHARED["mtcnn"] = MTCNN()
        self._mtcnn = _SHARED["mtcnn"]

    def detect(self, image: np.ndarray) -> list[Face]:
        """Faces in an RGB uint8 [H, W, 3] photo, largest first, filtered by size and confidence."""
        h, w = image.shape[:2]
        scale = min(1.0, self.detect_size / max(h, w))
        small = image if scale == 1.0 else cv2.resize(image, (max(1, round(w * scale)), max(1, round(h * scale))),
                                                       interpolation=cv2.INTER_AREA)
        if min(small.shape[:2]) < _PNET_INPUT:
            return []
        # MTCNN's own minimum (its pyramid start) in detector pixels; the real filter is below.
        min_detect = int(max(_PNET_INPUT, min(20, self.min_face_size * scale)))
        rows = self._mtcnn.detect_faces(np.ascontiguousarray(small), min_face_size=min_detect,
                                        box_format="xyxy", output_type="numpy")
        faces = []
        for row in np.asarray(rows, dtype=np.float64).reshape(-1, 16):
            box = tuple(float(v) / scale for v in row[1:5])
            # The numpy rows hold [id, x0, y0, x1, y1, confidence, 5 x values, 5 y values].
            face = Face(box, float(row[5]), row[6:16].reshape(2, 5).T / scale)
            if face.confidence >= self.min_confidence and face.size >= self.min_face_size:
                faces.append(face)
        faces.sort(key=lambda f: f.size, reverse=True)
        return faces[:1] if self.faces == "largest" else faces
