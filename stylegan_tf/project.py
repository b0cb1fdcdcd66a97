"""Projecting a photo into the latent space: the StyleGAN2 projector (Karras et al. 2020, sec. 5).

    python -m stylegan_tf.project --network G.keras --target photo.png --outdir out/proj \\
        --lpips lpips_vgg16.npz [--align] [--num-steps 1000] [--seed 303] [--w-plus]

finds the w (and the noise maps) whose image is closest to the photo, as the official
projector (stylegan2-ada-pytorch `projector.py`; the TF stylegan2 `projector.py` has the
same constants):

- Start from w_avg = mean of the mapped w of 10000 z drawn from `RandomState(123)`;
  w_std = sqrt(sum |w - w_avg|^2 / 10000), one scalar.
- Optimise one w [1, 1, w_dim] broadcast to all layers (`--w-plus`: one w per layer,
  [1, num_ws, w_dim], a common extension of the official W projection) and every
  layer's noise map (initialised N(0, 1)), with Adam (betas 0.9, 0.999, epsilon 1e-8).
  StyleGAN3 has no noise inputs: w alone is optimised (and the regulariser is 0).
- Step t = step / num_steps: the w input is w + N(0, 1) * w_std * 0.05 * max(0, 1 - t / 0.75)^2;
  lr = 0.1 * ramp, ramp = 0.5 - 0.5 cos(pi min(1, (1 - t) / 0.25)) * min(1, t / 0.05)
  (so step 0 has lr 0, as the official).
- Loss = LPIPS VGG16 distance (the sum of squared differences of its normalised,
  weighted features; `LPIPSFeatures`) between the target and the image, both mapped to
  [0, 255] and area-downsampled to 256x256 when larger, plus 1e5 x the noise
  regulariser (`noise_regularization`). After each step every noise map is
  renormalised to zero mean and unit variance.

The network is any generator `stylegan_tf.export.load_generator` opens: a Keras one (v1,
StyleGAN2, StyleGAN3) or a SavedModel from `save_saved_model`, differentiated through its
`synthesis_noise` endpoint (`differentiable_synthesis`; SavedModels written before the
`noise_shapes` endpoint existed must be re-exported).

Deviations from the official code, on purpose:

- The projected image, the video frames and `projected_w.npz` use the *optimised* noise
  maps (as the TF stylegan2 projector does). stylegan2-ada-pytorch optimises a copy of
  G, so its outputs are drawn with the network's original constant noise; our `w` key
  still renders that way with `--noise const`.
- Adam is Keras' (= TF1's `AdamOptimizer`, which the TF projector uses): epsilon is
  added to sqrt(v) before the bias correction, where PyTorch adds it after. With
  epsilon 1e-8 this changes nothing visible.
- StyleGAN3 networks (whose official release has no projector) get the same schedule with
  w alone, as they have no noise maps.
- LPIPS is our Keras VGG16 LPIPS (`stylegan_tf.metrics.lpips`, weights converted from
  LPIPS' and torchvision's files); the official TorchScript `vgg16.pt` computes the
  same distance from the same weights, but its internals are not published.

Outputs (`run_projection`): `target.png`, `proj.png`, `target-proj.png` (side by side),
`proj.mp4` (target beside the image of every step's w, 10 fps, OpenCV 'mp4v'; an
animated `proj.gif` of at most 100 frames when OpenCV cannot write MP4), and
`projected_w.npz` with the keys (see `save_projection`):

    w        [1, num_ws, w_dim] float32  the final w, tiled to every layer (the official key and
                                         shape: `generate --projected-w` and ADA's generate.py read it)
    noise    [1, noise_size]    float32  the optimised noise maps, flat (layer order, row-major);
                                         [1, 0] for StyleGAN3
    w_steps  [num_steps, num_ws, w_dim]  w after every step
    dist     [num_steps]                 the distance at every step
    loss     [num_steps]                 distance + regularisation at every step
    w_plus   []  bool                    whether each layer had its own w
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np
from tqdm import tqdm

from stylegan_tf.errors import UserError

VIDEO_FPS = 10          # official proj.mp4
GIF_MAX_FRAMES = 100    # fallback when no MP4 writer works


@dataclass(frozen=True)
class ProjectionConfig:
    """The projector's settings (defaults: the official ones)."""

    num_steps:               int   = 1000   # Optimisation steps.
    w_avg_samples:           int   = 10000  # z samples for w_avg and w_std.
    w_avg_seed:              int   = 123    # RandomState seed of those z (official).
    initial_learning_rate:   float = 0.1    # Peak learning rate.
    initial_noise_factor:    float = 0.05   # Std of the noise added to w at step 0, in units of w_std.
    lr_rampdown_length:      float = 0.25   # Fraction of the steps of the cosine ramp-down at the end.
    lr_rampup_length:        float = 0.05   # Fraction of the steps of the linear ramp-up at the start.
    noise_ramp_length:       float = 0.75   # Fraction of the steps over which the w noise goes to 0.
    regularize_noise_weight: float = 1e5    # Weight of the noise regulariser.
    distance_resolution:     int   = 256    # Images larger than this are area-downsampled to it.
    w_plus:                  bool  = False  # One w per layer (W+) instead of one w for all (official W).
    optimize_noise:          bool  = True   # Optimise the noise maps (official); False keeps them fixed.
    seed:                    int   = 303    # Seeds the initial noise maps and the per-step w noise.

    def validate(self) -> "ProjectionConfig":
        if self.num_steps < 1:
            raise UserError(f"--num-steps must be at least 1. Received: --num-steps={self.num_steps}")
        if self.w_avg_samples < 2:
            raise UserError(f"w_avg_samples must be at least 2. Received: {self.w_avg_samples}")
        if not 0 <= self.seed < 2**32:
            raise UserError(f"--seed must be in [0, 2**32). Received: --seed={self.seed}")
        for name in ("lr_rampdown_length", "lr_rampup_length", "noise_ramp_length"):
            if not getattr(self, name) > 0:
                raise UserError(f"{name} must be positive. Received: {getattr(self, name)}")
        return self


# Schedule (official projector.py) ---------------------------------------------------------
def learning_rate(step: int, config: ProjectionConfig = ProjectionConfig()) -> float:
    """lr at `step`: linear ramp-up over the first 5 %, cosine ramp-down over the last 25 %."""
    t = step / config.num_steps
    ramp = min(1.0, (1.0 - t) / config.lr_rampdown_length)
    ramp = 0.5 - 0.5 * math.cos(ramp * math.pi)
    ramp = ramp * min(1.0, t / config.lr_rampup_length)
    return config.initial_learning_rate * ramp


def w_noise_scale(step: int, w_std: float, config: ProjectionConfig = ProjectionConfig()) -> float:
    """Std of the Gaussian noise added to w at `step`: w_std * 0.05 * max(0, 1 - t / 0.75)^2."""
    t = step / config.num_steps
    return w_std * config.initial_noise_factor * max(0.0, 1.0 - t / config.noise_ramp_length) ** 2


# Noise maps ------------------------------------------------------------------------------
def noise_regularization(maps):
    """Sum over the noise maps and their pyramids of the squared autocorrelations at shift 1.

    Each map [1, H, W, 1]: add mean(n * roll(n, 1, x))^2 + mean(n * roll(n, 1, y))^2, stop when
    the map is 8x8 or smaller, else 2x2 average-pool and repeat (official `reg_loss`).
    """
    from keras import ops

    total = 0.0
    for n in maps:
        n = ops.cast(n, "float32")
        while True:
            total = total + ops.mean(n * ops.roll(n, 1, axis=2)) ** 2
            total = total + ops.mean(n * ops.roll(n, 1, axis=1)) ** 2
            h, w = int(n.shape[1]), int(n.shape[2])
            if h <= 8:
                break
            n = ops.mean(ops.reshape(n, (-1, h // 2, 2, w // 2, 2, 1)), axis=(2, 4))
    return total


def noise_shapes(G) -> list[tuple[int, int]]:
    """[(h, w)] of each layer's noise map, in the order of the flat noise vector; [] for networks
    without noise inputs (StyleGAN3). A SavedModel exported before `noise_shapes` was an endpoint:
    `UserError` (re-export)."""
    from stylegan_tf import families

    if not families.has_noise_inputs(G):
        return []
    network = getattr(G, "synthesis_network", G)   # Keras generators; SavedModelGenerator has them itself
    return [tuple(int(v) for v in s) for s in network.noise_shapes()]


def uses_noise(G) -> bool:
    """False for networks without noise inputs (StyleGAN3, v1 `use_noise=False`): nothing to optimise then."""
    network = getattr(G, "synthesis_network", G)
    return (bool(noise_shapes(G)) and bool(getattr(network, "noise_enabled", True))
            and bool(getattr(G.config, "use_noise", True)))


def differentiable_synthesis(G, w, maps=None):
    """Images of the tensor w with the noise `maps` (a list of [N, h, w, 1]; None = the fixed noise),
    with gradients: a Keras generator's `synthesis`, or a SavedModel's `synthesis_tensors`
    (its `synthesis` works on numpy arrays)."""
    if hasattr(G, "synthesis_tensors"):
        return G.synthesis_tensors(w, maps)
    return G.synthesis(w, noise_mode="const", noise=None if maps is None else list(maps))


# Distance ---------------------------------------------------------------------------------
def area_downsample(images, size: int):
    """NHWC images to size x size by averaging (PyTorch `interpolate(mode='area')` for integer
    factors); images at or below `size` are returned unchanged."""
    from keras import ops

    h, w = int(images.shape[1]), int(images.shape[2])
    if h <= size and w <= size:
        return images
    if h % size or w % size:
        raise ValueError(f"Area downsampling needs sizes divisible by {size}. Received: {h}x{w}")
    fh, fw = h // size, w // size
    return ops.mean(ops.reshape(images, (-1, size, fh, size, fw, int(images.shape[3]))), axis=(2, 4))


class LPIPSFeatures:
    """LPIPS (VGG16, lin) as features whose squared Euclidean distance is the LPIPS distance.

    Per tap l: f_l / (|f_l|_channels + 1e-10) * sqrt(lin_l / (H_l W_l)), flattened and concatenated;
    then sum((phi(x0) - phi(x1))^2) = sum_l mean_hw sum_c lin_lc (f0 - f1)^2, the official
    `vgg16(..., return_lpips=True)` form, so the target's features are computed once.

    Args:
        lpips: a `stylegan_tf.metrics.lpips.LPIPS` (e.g. `LPIPS.from_file(path)`).

    Call arguments:
        images: [N, H, W, 3] float in [0, 255].

    Returns:
        [N, F] float32 features.
    """

    def __init__(self, lpips):
        self.lpips = lpips
        self.min_size = 2 ** (len(lpips.lins) - 1)

    def __call__(self, images):
        from keras import ops

        if min(int(images.shape[1]), int(images.shape[2])) < self.min_size:
            raise UserError(f"LPIPS needs images of at least {self.min_size}x{self.min_size} (VGG16 pools "
                            f"{len(self.lpips.lins) - 1} times). Received shape: {tuple(images.shape)}")
        x = ops.cast(images, "float32") / 127.5 - 1.0
        taps = self.lpips.net((x - self.lpips.shift) / self.lpips.scale, training=False)
        parts = []
        for f, lin in zip(taps, self.lpips.lins):
            f = f / (ops.sqrt(ops.sum(ops.square(f), axis=-1, keepdims=True)) + 1e-10)
            hw = int(f.shape[1]) * int(f.shape[2])
            parts.append(ops.reshape(f * np.sqrt(lin / hw).astype(np.float32), (ops.shape(f)[0], -1)))
        return ops.concatenate(parts, axis=1)


def pixel_features(images):
    """A cheap stand-in distance for tests and experiments: the pixels in [0, 1], so the
    squared distance is the sum of squared pixel differences / 255^2."""
    from keras import ops

    return ops.reshape(ops.cast(images, "float32") / 255.0, (ops.shape(images)[0], -1))


def load_lpips_features(path, option: str = "--lpips") -> LPIPSFeatures:
    """The LPIPS distance of the projector from the weights file (a `UserError` naming what is missing)."""
    from stylegan_tf.metrics import lpips

    return LPIPSFeatures(lpips.LPIPS(lpips.load_weights(path, option=option, metric="Projection")))


# Target -------------------------------------------------------------------------------------
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


# Projection ------------------------------------------------------------------------------
def w_statistics(G, num_samples: int = 10000, seed: int = 123, batch_size: int = 1000) -> tuple[np.ndarray, float]:
    """(w_avg [w_dim], w_std scalar) of the mapped w of `num_samples` z from RandomState(seed) (official)."""
    if int(G.config.label_size):
        raise UserError("Projection into a conditional network (label_size > 0) is not supported.")
    z = np.random.RandomState(seed).randn(num_samples, int(G.config.latent_size)).astype(np.float32)
    w = np.concatenate([np.asarray(G.mapping(z[i:i + batch_size]), np.float32)[:, 0]
                        for i in range(0, num_samples, batch_size)]).astype(np.float64)
    w_avg = w.mean(axis=0)
    w_std = float(np.sqrt(np.sum((w - w_avg) ** 2) / num_samples))
    return w_avg.astype(np.float32), w_std


def to_distance_images(images, size: int):
    """Network output in [-1, 1] to [0, 255], area-downsampled to `size` when larger (official)."""
    return area_downsample((images + 1.0) * (255.0 / 2.0), size)


@dataclass
class ProjectionResult:
    """What `project` returns; `w_steps` is [num_steps, 1 or num_ws, w_dim] (see `tiled_w_steps`)."""

    w_steps: np.ndarray
    noise: np.ndarray       # [1, noise_size], flat
    dist: np.ndarray        # [num_steps]
    loss: np.ndarray        # [num_steps]
    num_ws: int
    w_plus: bool
    w_avg: np.ndarray
    w_std: float

    def tiled_w_steps(self) -> np.ndarray:
        """[num_steps, num_ws, w_dim]."""
        return np.broadcast_to(self.w_steps, (len(self.w_steps), self.num_ws, self.w_steps.shape[-1])).copy()

    @property
    def w(self) -> np.ndarray:
        """The final w, [1, num_ws, w_dim]."""
        return self.tiled_w_steps()[-1:]


def project(G, target: np.ndarray, features: Callable = None, config: ProjectionConfig = ProjectionConfig(),
            progress: bool = True, w_stats: tuple[np.ndarray, float] | None = None) -> ProjectionResult:
    """Projects one image into G's latent space (see the module docstring for the schedule).

    Args:
        G: a generator of `stylegan_tf.export.load_generator`: Keras (v1, StyleGAN2, StyleGAN3) or a
            `SavedModelGenerator`.
        target: [R, R, C] at G's resolution, in [0, 255] (uint8, or float: an unclipped image).
        features: images [N, H, W, C] in [0, 255] -> [N, F] features; the distance is the sum of
            their squared differences. Default: none (pass `LPIPSFeatures`; `pixel_features` is the
            cheap stand-in).
        config: `ProjectionConfig`.
        progress: show a tqdm bar with the distance.
        w_stats: precomputed (w_avg, w_std), e.g. to project many photos with one G.

    Returns:
        `ProjectionResult`.
    """
    import keras
    import tensorflow as tf

    config.validate()
    if keras.backend.backend() != "tensorflow":
        raise UserError(f"The projector optimises with TensorFlow's GradientTape: run it with KERAS_BACKEND="
                        f"tensorflow. Received: KERAS_BACKEND={keras.backend.backend()}")
    if features is None:
        raise UserError("Projection needs a distance: pass the LPIPS VGG16 weights (--lpips lpips_vgg16.npz).")
    c = G.config
    res, num_ws, w_dim = int(c.resolution), int(G.num_layers), int(c.w_dim)
    target = np.asarray(target, np.float32)
    if target.shape != (res, res, int(c.num_channels)):
        raise UserError(f"The target must be {res}x{res}x{c.num_channels} for this network. "
                        f"Received shape: {target.shape}")
    shapes = noise_shapes(G)
    optimize_noise = config.optimize_noise and uses_noise(G)
    w_avg, w_std = w_statistics(G, config.w_avg_samples, config.w_avg_seed) if w_stats is None else w_stats
    rng = np.random.RandomState(config.seed)

    w_layers = num_ws if config.w_plus else 1
    w_opt = keras.Variable(np.tile(np.reshape(w_avg, (1, 1, w_dim)), (1, w_layers, 1)).astype(np.float32),
                           name="w_opt")
    noise_vars = [keras.Variable(rng.randn(1, h, w, 1).astype(np.float32), name=f"noise{i}")
                  for i, (h, w) in enumerate(shapes)] if optimize_noise else []
    variables = [w_opt] + noise_vars
    optimizer = keras.optimizers.Adam(learning_rate=config.initial_learning_rate, beta_1=0.9, beta_2=0.999,
                                      epsilon=1e-8)
    optimizer.build(variables)
    size = config.distance_resolution
    target_features = tf.constant(features(area_downsample(tf.constant(target[None]), size)))

    @tf.function
    def step(lr, w_noise):
        with tf.GradientTape() as tape:
            ws = tf.broadcast_to(w_opt + w_noise, (1, num_ws, w_dim))
            images = differentiable_synthesis(G, ws, noise_vars if optimize_noise else None)
            dist = tf.reduce_sum(tf.square(target_features - features(to_distance_images(
                tf.cast(images, tf.float32), size))))
            reg = noise_regularization(noise_vars) if optimize_noise else tf.constant(0.0)
            loss = dist + config.regularize_noise_weight * reg
        grads = tape.gradient(loss, variables)
        optimizer.learning_rate.assign(lr)
        optimizer.apply_gradients(zip(grads, variables))
        if optimize_noise:
            for n in noise_vars:  # official: renormalise after every step
                centred = n - tf.reduce_mean(n)
                n.assign(centred * tf.math.rsqrt(tf.reduce_mean(tf.square(centred))))
        return dist, loss

    w_steps = np.zeros((config.num_steps, w_layers, w_dim), np.float32)
    dists = np.zeros(config.num_steps, np.float32)
    losses = np.zeros(config.num_steps, np.float32)
    bar = tqdm(range(config.num_steps), desc="projection", disable=not progress, unit="step")
    for i in bar:
        w_noise = (rng.randn(1, w_layers, w_dim) * w_noise_scale(i, w_std, config)).astype(np.float32)
        dist, loss = step(tf.constant(learning_rate(i, config), tf.float32), tf.constant(w_noise))
        dists[i], losses[i] = float(dist), float(loss)
        w_steps[i] = np.asarray(w_opt.numpy())[0]
        bar.set_postfix(dist=f"{dists[i]:.4g}", loss=f"{losses[i]:.4g}", refresh=False)
    bar.close()
    if optimize_noise:
        noise = np.concatenate([np.asarray(n).reshape(1, -1) for n in noise_vars], axis=1).astype(np.float32)
    elif shapes:
        noise = np.asarray(G.const_noise(), np.float32).reshape(1, -1)
    else:
        noise = np.zeros((1, 0), np.float32)   # StyleGAN3: no noise inputs
    return ProjectionResult(w_steps=w_steps, noise=noise, dist=dists, loss=losses, num_ws=num_ws,
                            w_plus=config.w_plus, w_avg=w_avg, w_std=w_std)


# Outputs ---------------------------------------------------------------------------------
def render(G, w: np.ndarray, noise: np.ndarray, batch_size: int = 8) -> Iterator[np.ndarray]:
    """uint8 images [<= batch_size, H, W, C] of w [N, num_ws, w_dim] with one flat noise [1, noise_size]
    ([1, 0]: a network without noise inputs)."""
    from keras import ops

    from stylegan_tf.images import to_uint8

    for start in range(0, len(w), batch_size):
        chunk = ops.convert_to_tensor(np.ascontiguousarray(w[start:start + batch_size], np.float32))
        maps = ops.convert_to_tensor(np.repeat(noise, len(chunk), axis=0)) if noise.shape[-1] else None
        yield to_uint8(G.synthesis(chunk, noise_mode="const", noise=maps))


def save_projection(result: ProjectionResult, path) -> Path:
    """Writes `projected_w.npz` (keys in the module docstring), atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp-{os.getpid()}.npz")
    np.savez(tmp, w=result.w.astype(np.float32), noise=result.noise, w_steps=result.tiled_w_steps(),
             dist=result.dist, loss=result.loss, w_plus=np.bool_(result.w_plus))
    os.replace(tmp, path)
    return path


def load_projected_w(path, num_ws: int | None = None, w_dim: int | None = None,
                     option: str = "--projected-w") -> dict[str, np.ndarray]:
    """`w` [N, num_ws, w_dim] (and `noise` [N or 1, noise_size] when stored) from a projected_w.npz
    (ours or the official one, which has `w` only); wrong shapes are a `UserError`."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise UserError(f"{option}: no such file. Received: {option}={path!r}")
    try:
        with np.load(path) as data:
            if "w" not in data.files:
                raise UserError(f"{option}: {path!r} has no 'w' array (keys: {data.files}).")
            out = {k: np.asarray(data[k], np.float32) for k in ("w", "noise") if k in data.files}
    except (OSError, ValueError) as error:
        raise UserError(f"{option}: {path!r} is not an .npz file ({error}).") from error
    w = out["w"]
    if w.ndim != 3 or (num_ws is not None and w.shape[1] != num_ws) or (w_dim is not None and w.shape[2] != w_dim):
        raise UserError(f"{option}: 'w' in {path!r} must be [N, {num_ws}, {w_dim}] for this network. "
                        f"Received shape: {w.shape}")
    return out


class VideoWriter:
    """Streams uint8 RGB frames to MP4 (OpenCV 'mp4v'); without a working MP4 writer, keeps at most
    GIF_MAX_FRAMES evenly spaced frames and writes an animated GIF on `close`. `path` is the
    file written (known after `close`), written atomically."""

    def __init__(self, stem, fps: float = VIDEO_FPS, total_frames: int | None = None):
        self.stem, self.fps, self.total = Path(stem), float(fps), total_frames
        self._writer, self._gif, self._count, self.path = None, [], 0, None
        self._tmp = self.stem.with_name(f".{self.stem.name}.tmp-{os.getpid()}.mp4")

    def write(self, frame: np.ndarray) -> None:
        if self._count == 0:
            try:
                import cv2

                h, w = frame.shape[:2]
                writer = cv2.VideoWriter(str(self._tmp), cv2.VideoWriter_fourcc(*"mp4v"), self.fps, (w, h))
                self._writer = writer if writer.isOpened() else None
            except ImportError:
                self._writer = None
        if self._writer is not None:
            import cv2

            self._writer.write(cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2BGR))
        else:
            every = max(1, -(-(self.total or GIF_MAX_FRAMES) // GIF_MAX_FRAMES))
            if self._count % every == 0 or (self.total and self._count == self.total - 1):
                self._gif.append(frame)
        self._count += 1

    def close(self) -> Path | None:
        if self._writer is not None:
            self._writer.release()
            if self._tmp.is_file() and self._tmp.stat().st_size > 0:
                self.path = self.stem.with_suffix(".mp4")
                os.replace(self._tmp, self.path)
                return self.path
            self._tmp.unlink(missing_ok=True)
            return None
        if self._gif:
            from stylegan_tf import figures

            self.path = self.stem.with_suffix(".gif")
            tmp = self.stem.with_name(f".{self.stem.name}.tmp-{os.getpid()}.gif")
            figures.save_gif(self._gif, str(tmp), fps=self.fps * len(self._gif) / max(self._count, 1))
            os.replace(tmp, self.path)
            return self.path
        return None


def write_outputs(G, result: ProjectionResult, target: np.ndarray, outdir, save_video: bool = True,
                  progress: bool = True) -> list[Path]:
    """target.png, proj.png, target-proj.png, projected_w.npz and (optionally) the progress video."""
    from stylegan_tf.images import save_png

    outdir = Path(outdir)
    projected = next(render(G, result.w, result.noise))[0]
    written = [save_png(target, outdir / "target.png"), save_png(projected, outdir / "proj.png"),
               save_png(np.concatenate([target, projected], axis=1), outdir / "target-proj.png"),
               save_projection(result, outdir / "projected_w.npz")]
    if save_video:
        video = VideoWriter(outdir / "proj", total_frames=len(result.w_steps))
        bar = tqdm(total=len(result.w_steps), desc="video", disable=not progress, unit="frame")
        for batch in render(G, result.tiled_w_steps(), result.noise):
            for image in batch:
                video.write(np.concatenate([target, image], axis=1))
            bar.update(len(batch))
        bar.close()
        path = video.close()
        if path is not None:
            written.append(path)
            if path.suffix == ".gif":
                print(f"No MP4 writer (OpenCV) available: wrote {path.name} with at most {GIF_MAX_FRAMES} frames.",
                      file=sys.stderr)
    return written


# Command line -------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m stylegan_tf.project",
        description="Project a photo into a generator's latent space (StyleGAN2 projector).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n"
               "  python -m stylegan_tf.project --network G.keras --target face.png --outdir out/proj "
               "--lpips lpips_vgg16.npz\n"
               "  python -m stylegan_tf.project --network run/ --target photo.jpg --align --w-plus "
               "--outdir out/proj --lpips lpips_vgg16.npz\n"
               "  python -m stylegan_tf.generate images --network G.keras --projected-w out/proj/projected_w.npz\n")
    parser.add_argument("--network", required=True, help="a .keras generator, a SavedModel directory, a "
                        "training run directory / checkpoint (its Gs), or an official network pickle")
    parser.add_argument("--target", required=True, help="the photo to project (PNG, JPEG, ...)")
    parser.add_argument("--outdir", required=True, help="output folder")
    parser.add_argument("--lpips", default=None, help="LPIPS VGG16 weights (.npz from "
                        "stylegan_tf.metrics.convert_lpips; see docs/metrics.md)")
    parser.add_argument("--align", action="store_true", help="FFHQ-align the largest face first (MTCNN)")
    parser.add_argument("--num-steps", type=int, default=1000, help="optimisation steps (default: 1000)")
    parser.add_argument("--seed", type=int, default=303, help="seed of the initial noise maps and the w noise "
                        "(default: 303)")
    parser.add_argument("--w-plus", action="store_true", help="optimise one w per layer (W+) instead of one w")
    parser.add_argument("--save-video", action=argparse.BooleanOptionalAction, default=True,
                        help="write proj.mp4: the target beside every step's image (default: on)")
    return parser


def run(args) -> list[Path]:
    """Runs the parsed command line; returns the files written."""
    from stylegan_tf.generate import load_network

    config = ProjectionConfig(num_steps=args.num_steps, seed=args.seed, w_plus=args.w_plus).validate()
    read_photo(args.target)  # Fail early, before loading networks.
    features = load_lpips_features(args.lpips)
    G = load_network(args.network)
    noise_shapes(G)
    target = prepare_target(args.target, int(G.config.resolution), align=args.align)
    result = project(G, target, features, config)
    return write_outputs(G, result, target, args.outdir, save_video=args.save_video)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        written = run(args)
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for path in written:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
