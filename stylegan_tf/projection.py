"""Projecting an image into the latent space: the StyleGAN2 projector (Karras et al. 2020, sec. 5).

`project` (command line: `python -m stylegan_tf.project`) finds the w (and the noise maps) whose image is closest to the photo, as the official
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
  weighted features; `stylegan_tf.metrics.lpips.LPIPSFeatures`) between the target and the image, both mapped to
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

Outputs (`write_outputs`): `target.png`, `proj.png`, `target-proj.png` (side by side),
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

import math
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
from tqdm import tqdm

from stylegan_tf import families
from stylegan_tf.errors import UserError
from stylegan_tf.media import GIF_MAX_FRAMES, VideoWriter, save_png, to_uint8
from stylegan_tf.safe_files import load_npz
from stylegan_tf.sampling import noise_size, seed_noise

VIDEO_FPS = 10          # official proj.mp4


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
    data = load_npz(path, f"{option}: projected w")   # A damaged file: a UserError naming it and the fault.
    if "w" not in data:
        raise UserError(f"{option}: {path!r} has no 'w' array (keys: {sorted(data)}).")
    out = {k: np.asarray(data[k], np.float32) for k in ("w", "noise") if k in data}
    w = out["w"]
    if w.ndim != 3 or (num_ws is not None and w.shape[1] != num_ws) or (w_dim is not None and w.shape[2] != w_dim):
        raise UserError(f"{option}: 'w' in {path!r} must be [N, {num_ws}, {w_dim}] for this network. "
                        f"Received shape: {w.shape}")
    return out


def load_projected(G, paths: str, use_file_noise: bool = True, noise_mode: str = "const",
                   option: str = "--projected-w") -> tuple[list[str], np.ndarray, np.ndarray]:
    """Projected photos from comma-separated `projected_w.npz` files (`stylegan_tf.project`'s or the
    official projector's): names `projected00`, ..., w [S, num_layers, w_dim] and flat noise
    [S, noise_size]: the file's optimised noise when it has one and `use_file_noise`, else `noise_mode`'s
    ("random": drawn from seed i, i = 0..S-1)."""
    files = [p.strip() for p in str(paths).split(",") if p.strip()]
    if not files:
        raise UserError(f"{option} names no file. Received: {option}={paths!r}")
    ws, noises = [], []
    for path in files:
        data = load_projected_w(path, int(G.num_layers), int(G.config.w_dim), option)
        w = data["w"]
        noise = data.get("noise") if use_file_noise else None
        if noise is not None and noise.shape[-1] != noise_size(G):
            raise UserError(f"{option}: the noise in {path!r} has {noise.shape[-1]} values, this network "
                            f"{noise_size(G)}: it was projected into another network.")
        if noise is None:
            noise = seed_noise(G, range(len(noises), len(noises) + len(w)), noise_mode)
        ws.append(w)
        noises.append(np.broadcast_to(noise, (len(w), noise.shape[-1])))
    w, noise = np.concatenate(ws), np.concatenate(noises).astype(np.float32)
    return [f"projected{i:02d}" for i in range(len(w))], w, noise


def write_outputs(G, result: ProjectionResult, target: np.ndarray, outdir, save_video: bool = True,
                  progress: bool = True) -> list[Path]:
    """target.png, proj.png, target-proj.png, projected_w.npz and (optionally) the progress video."""
    outdir = Path(outdir)
    projected = next(render(G, result.w, result.noise))[0]
    written = [save_png(target, outdir / "target.png"), save_png(projected, outdir / "proj.png"),
               save_png(np.concatenate([target, projected], axis=1), outdir / "target-proj.png"),
               save_projection(result, outdir / "projected_w.npz")]
    if save_video:
        video = VideoWriter(outdir / "proj", fps=VIDEO_FPS, total_frames=len(result.w_steps))
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
