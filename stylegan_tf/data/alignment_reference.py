"""FFHQ alignment written plainly, step by step, with PIL and SciPy.

This is the straightforward implementation of the official `recreate_aligned_images`
(NVlabs/ffhq-dataset, `download_ffhq.py`): PIL antialiased shrink of the whole photo,
crop, `np.pad(..., 'reflect')` of the whole crop in float32 with a full-image SciPy
Gaussian blur and a fade towards the median, a PIL QUAD transform (bilinear) to the
transform size, and a PIL antialiased (Lanczos) resize to the output size.

It is not used to build datasets. It is the oracle that `tests/test_data_alignment.py`
compares the fast `stylegan_tf.data.alignment.align_face` against, and the baseline
that `benchmarks/bench_dataset.py` times. PIL's old `ANTIALIAS` filter is `LANCZOS`.
"""

from __future__ import annotations

import numpy as np
import PIL.Image
import scipy.ndimage


def reference_quad(points: np.ndarray, rotate: bool = True) -> tuple[np.ndarray, float]:
    """The official oriented crop: quad [4, 2] (top-left, bottom-left, bottom-right, top-right) and its size.

    Args:
        points: float [68, 2] dlib landmarks, or [5, 2] (left eye, right eye, nose,
            mouth left, mouth right), image coordinates (x, y).
        rotate: False = the `--no-rotation` crop (axis-aligned, same size and centre).
    """
    lm = np.asarray(points, dtype=np.float64)
    if lm.shape[0] == 68:
        eye_left = np.mean(lm[36:42], axis=0)
        eye_right = np.mean(lm[42:48], axis=0)
        mouth_left, mouth_right = lm[48], lm[54]
    else:
        eye_left, eye_right, mouth_left, mouth_right = lm[0], lm[1], lm[3], lm[4]
    eye_avg = (eye_left + eye_right) * 0.5
    eye_to_eye = eye_right - eye_left
    mouth_avg = (mouth_left + mouth_right) * 0.5
    eye_to_mouth = mouth_avg - eye_avg
    if rotate:
        x = eye_to_eye - np.flipud(eye_to_mouth) * [-1, 1]
        x /= np.hypot(*x)
    else:
        x = np.array([1.0, 0.0])
    x *= max(np.hypot(*eye_to_eye) * 2.0, np.hypot(*eye_to_mouth) * 1.8)
    y = np.flipud(x) * [-1, 1]
    c = eye_avg + eye_to_mouth * 0.1
    quad = np.stack([c - x - y, c - x + y, c + x + y, c + x - y])
    return quad, float(np.hypot(*x) * 2)


def reference_align(image: np.ndarray, quad: np.ndarray, qsize: float, output_size: int = 1024,
                    transform_size: int = 4096, enable_padding: bool = True) -> np.ndarray:
    """Aligns an RGB uint8 [H, W, 3] photo to the quad, exactly as the official steps; returns [S, S, 3] uint8."""
    img = PIL.Image.fromarray(np.asarray(image, dtype=np.uint8), "RGB")
    quad = np.array(quad, dtype=np.float64)

    # Shrink.
    shrink = int(np.floor(qsize / output_size * 0.5))
    if shrink > 1:
        rsize = (int(np.rint(float(img.size[0]) / shrink)), int(np.rint(float(img.size[1]) / shrink)))
        img = img.resize(rsize, PIL.Image.Resampling.LANCZOS)
        quad /= shrink
        qsize /= shrink

    # Crop.
    border = max(int(np.rint(qsize * 0.1)), 3)
    crop = (int(np.floor(min(quad[:, 0]))), int(np.floor(min(quad[:, 1]))),
            int(np.ceil(max(quad[:, 0]))), int(np.ceil(max(quad[:, 1]))))
    crop = (max(crop[0] - border, 0), max(crop[1] - border, 0),
            min(crop[2] + border, img.size[0]), min(crop[3] + border, img.size[1]))
    if crop[2] - crop[0] < img.size[0] or crop[3] - crop[1] < img.size[1]:
        img = img.crop(crop)
        quad -= crop[0:2]

    # Pad.
    pad = (int(np.floor(min(quad[:, 0]))), int(np.floor(min(quad[:, 1]))),
           int(np.ceil(max(quad[:, 0]))), int(np.ceil(max(quad[:, 1]))))
    pad = (max(-pad[0] + border, 0), max(-pad[1] + border, 0),
           max(pad[2] - img.size[0] + border, 0), max(pad[3] - img.size[1] + border, 0))
    if enable_padding and max(pad) > border - 4:
        pad = np.maximum(pad, int(np.rint(qsize * 0.3)))
        arr = np.pad(np.float32(img), ((pad[1], pad[3]), (pad[0], pad[2]), (0, 0)), "reflect")
        h, w, _ = arr.shape
        yy, xx, _ = np.ogrid[:h, :w, :1]
        mask = np.maximum(1.0 - np.minimum(np.float32(xx) / pad[0], np.float32(w - 1 - xx) / pad[2]),
                          1.0 - np.minimum(np.float32(yy) / pad[1], np.float32(h - 1 - yy) / pad[3]))
        blur = qsize * 0.02
        arr += (scipy.ndimage.gaussian_filter(arr, [blur, blur, 0]) - arr) * np.clip(mask * 3.0 + 1.0, 0.0, 1.0)
        arr += (np.median(arr, axis=(0, 1)) - arr) * np.clip(mask, 0.0, 1.0)
        img = PIL.Image.fromarray(np.uint8(np.clip(np.rint(arr), 0, 255)), "RGB")
        quad += pad[:2]

    # Transform.
    img = img.transform((transform_size, transform_size), PIL.Image.Transform.QUAD, (quad + 0.5).flatten(),
                        PIL.Image.Resampling.BILINEAR)
    if output_size < transform_size:
        img = img.resize((output_size, output_size), PIL.Image.Resampling.LANCZOS)
    return np.asarray(img)
