"""The per-input work of a dataset build, run in worker processes: read (or draw) one input, align or
resize it, build every level and serialise the records (`records`); a bad input becomes a skip with
a reason code (`sources.SKIP_REASONS`) instead of an error."""

from __future__ import annotations

import signal
from dataclasses import dataclass
from typing import Any

import numpy as np

from stylegan_tf.data import records, sources
from stylegan_tf.data.options import is_power_of_two
from stylegan_tf.data.sources import Skip


@dataclass(frozen=True)
class Job:
    """One input to process: its key, landmarks (ffhq-json), label, or a reason it is already skipped."""

    key: str
    entry: str = ""
    landmarks: np.ndarray | None = None
    label: int | None = None
    skip: tuple[str, str] | None = None


@dataclass(frozen=True)
class WorkerConfig:
    source: sources.Source
    alignment: str
    resolution: int
    align_size: int
    rotate: bool
    crop: str
    faces: str
    min_face_size: int
    allow_upscale: bool
    channels: int
    save_png: bool
    threads: int | None  # TensorFlow / OpenCV threads in a worker process


_STATE: dict[str, Any] = {}


def init(config: WorkerConfig, in_worker_process: bool = True) -> None:
    """Per-process setup: single-threaded OpenCV, MTCNN when detecting (the source opens its files itself).

    Worker processes ignore Ctrl-C: the main process receives it, stops handing out
    inputs and shuts the pool down.
    """
    import cv2

    if in_worker_process:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    if config.threads:
        cv2.setNumThreads(config.threads)
    _STATE["config"] = config
    _STATE["detector"] = None
    if config.alignment == "detect":
        from stylegan_tf.data.detect import FaceDetector

        _STATE["detector"] = FaceDetector(faces=config.faces, min_face_size=config.min_face_size,
                                          threads=config.threads)


def run_chunk(jobs: list[Job]) -> list[tuple]:
    return [process(job) for job in jobs]


def process(job: Job) -> tuple:
    """("ok", [(suffix, records, png or None), ...]) or ("skip", code, detail) for one input."""
    try:
        return ("ok", _outputs(job))
    except Skip as skip:
        return ("skip", skip.code, skip.detail)
    except MemoryError:
        return ("skip", "error", "MemoryError: the image does not fit in memory")
    except Exception as exc:  # noqa: BLE001 - one bad input must never stop a long build
        return ("skip", "error", f"{type(exc).__name__}: {exc}")


def _outputs(job: Job) -> list[tuple[str, list[bytes], bytes | None]]:
    from stylegan_tf.data import alignment

    config: WorkerConfig = _STATE["config"]
    res = config.resolution
    # Resizing only: a JPEG may decode at a reduced scale that keeps 3x the target (see _records).
    draft = 3 * res if config.alignment == "none" else None
    image = config.source.image(job.key, config.channels, draft_size=draft)
    h, w = image.shape[:2]
    if config.alignment == "none":
        side = min(h, w) if config.crop == "center" else max(h, w)
        if side < res and not config.allow_upscale:
            raise Skip("too_small", f"{w}x{h} gives a {side}x{side} square, below {res}x{res}")
        return _with_png([("", _records(_square(image, config.crop), res))], config)

    if config.alignment == "ffhq-json":
        try:
            points = alignment.face_points(job.landmarks)
            quad, qsize = alignment.crop_quad(points, rotate=config.rotate)
        except alignment.LandmarkError as exc:
            raise Skip("landmarks_malformed", str(exc)) from None
        faces = [("", quad, qsize)]
    else:
        found = _STATE["detector"].detect(image)
        if not found:
            raise Skip("no_face", f"no face of at least {config.min_face_size} pixels in {w}x{h}")
        faces = []
        for i, face in enumerate(found):
            try:
                quad, qsize = alignment.crop_quad(alignment.face_points(face.points), rotate=config.rotate)
            except alignment.LandmarkError:
                continue  # a degenerate detection (coincident eyes) is no face
            faces.append((f"#face{i}" if config.faces == "all" else "", quad, qsize))
        if not faces:
            raise Skip("no_face", f"only degenerate detections in {w}x{h}")

    outputs, small = [], []
    for suffix, quad, qsize in faces:
        if qsize < res and not config.allow_upscale:
            small.append(f"face crop {qsize:.0f} pixels, below {res}")
            continue
        try:
            aligned = alignment.align_face(image, quad, qsize, output_size=config.align_size)
        except alignment.LandmarkError as exc:
            raise Skip("landmarks_malformed", str(exc)) from None
        outputs.append((suffix, _records(aligned, res)))
    if not outputs:
        raise Skip("too_small", "; ".join(small))
    return _with_png(outputs, config)


def _with_png(outputs: list[tuple[str, list[bytes]]], config: WorkerConfig) -> list[tuple[str, list[bytes], bytes | None]]:
    """Adds the PNG of each output's top level (exactly the stored pixels) when --save-aligned asks for it."""
    return [(suffix, recs, _png(records.decode_example(recs[0]).transpose(1, 2, 0)) if config.save_png else None)
            for suffix, recs in outputs]


def _square(image: np.ndarray, crop: str) -> np.ndarray:
    """Centre crop (the largest centred square) or black padding to a square."""
    h, w = image.shape[:2]
    if crop == "center":
        side = min(h, w)
        top, left = (h - side) // 2, (w - side) // 2
        return image[top:top + side, left:left + side]
    side = max(h, w)
    out = np.zeros((side, side, image.shape[2]), np.uint8)
    top, left = (side - h) // 2, (side - w) // 2
    out[top:top + h, left:left + w] = image
    return out


def _records(square: np.ndarray, resolution: int) -> list[bytes]:
    """Serialised levels resolution..4 of a square HWC image.

    A square of side resolution * 2^k (an aligned face at --align-size, or official
    1024 FFHQ PNGs) is reduced by the official float 2x2 box chain, so its levels
    equal the official dataset's lower levels; any other side is resized to the
    resolution with Lanczos (PIL's ANTIALIAS), reduced first by an integer box filter
    while the image stays over 3x the target (PIL's `reducing_gap=3`).
    """
    side = square.shape[0]
    if side != resolution and not (side > resolution and side % resolution == 0
                                   and is_power_of_two(side // resolution)):
        import PIL.Image

        pil = PIL.Image.fromarray(square[:, :, 0] if square.shape[2] == 1 else square)
        square = np.asarray(pil.resize((resolution, resolution), PIL.Image.Resampling.LANCZOS, reducing_gap=3.0))
        square = square.reshape(resolution, resolution, -1)
    levels = records.build_levels(np.ascontiguousarray(square.transpose(2, 0, 1)))
    while levels[0].shape[1] > resolution:
        levels.pop(0)
    return [records.encode_example(level) for level in levels]


def _png(image: np.ndarray) -> bytes:
    """PNG bytes of a uint8 HWC image (OpenCV's encoder, fast compression)."""
    import cv2

    bgr = image if image.shape[2] == 1 else image[:, :, ::-1]
    ok, data = cv2.imencode(".png", np.ascontiguousarray(bgr), [cv2.IMWRITE_PNG_COMPRESSION, 3])
    if not ok:
        raise RuntimeError("PNG encoding failed")
    return data.tobytes()
