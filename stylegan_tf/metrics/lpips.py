"""LPIPS perceptual distance with a VGG16 backbone (Zhang et al. 2018, "The Unreasonable
Effectiveness of Deep Features as a Perceptual Metric", eq. 1; version 0.1 "lin"), as the
official PPL uses it (`vgg16_zhang_perceptual.pkl`):

    d(x0, x1) = sum_l 1/(H_l W_l) sum_{h,w} sum_c w_{l,c} (f0_{l,hwc} - f1_{l,hwc})^2

where f_l are the VGG16 activations relu1_2, relu2_2, relu3_3, relu4_3, relu5_3, each
divided at every pixel by its L2 norm over the channels (+1e-10), and w_l >= 0 are the
learned linear weights. Inputs are images in [0, 255] (as the official PPL feeds them),
mapped to [-1, 1] and then normalised with LPIPS' ScalingLayer
(shift [-0.030, -0.088, -0.188], scale [0.458, 0.448, 0.450]): the torchvision ImageNet
normalisation, because LPIPS was calibrated on torchvision's VGG16.

The weights are one `.npz` the user makes once with `python -m stylegan_tf.metrics.convert_lpips`
from LPIPS' `vgg.pth` (linear weights) and torchvision's `vgg16-397923af.pth` (backbone);
see `docs/metrics.md`. Keras' own VGG16 ImageNet weights are the Caffe model (BGR input,
mean subtraction), not torchvision's, so they would not reproduce LPIPS.

NPZ layout: `vgg16/conv{block}_{i}/kernel` [3, 3, in, out] (HWIO), `vgg16/conv{block}_{i}/bias`
[out], `lin{l}` [channels of tap l], l = 0..4.
"""

from __future__ import annotations

import os

import numpy as np

from stylegan_tf.errors import UserError
from stylegan_tf.safe_files import load_npz

VGG16_BLOCKS = (2, 2, 3, 3, 3)            # convs per block; the tap is the last conv's relu.
VGG16_CHANNELS = (64, 128, 256, 512, 512)
LPIPS_SHIFT = (-0.030, -0.088, -0.188)
LPIPS_SCALE = (0.458, 0.448, 0.450)
LPIPS_URL = "https://github.com/richzhang/PerceptualSimilarity/raw/master/lpips/weights/v0.1/vgg.pth"
VGG16_URL = "https://download.pytorch.org/models/vgg16-397923af.pth"
WHERE = (f"Make it once with `python -m stylegan_tf.metrics.convert_lpips --lpips vgg.pth --vgg16 "
         f"vgg16-397923af.pth --out lpips_vgg16.npz` (needs PyTorch for that step only) from LPIPS' linear "
         f"weights {LPIPS_URL} and torchvision's VGG16 {VGG16_URL}; see docs/metrics.md.")


def conv_names(blocks=VGG16_BLOCKS) -> list[str]:
    """['conv1_1', 'conv1_2', 'conv2_1', ...] in network order."""
    return [f"conv{b + 1}_{i + 1}" for b, n in enumerate(blocks) for i in range(n)]


def random_weights(channels=VGG16_CHANNELS, blocks=VGG16_BLOCKS, seed: int = 0) -> dict[str, np.ndarray]:
    """Random weights in the NPZ layout (He-normal convs, positive linear weights): tests and benchmarks."""
    rng = np.random.default_rng(seed)
    weights, cin = {}, 3
    for b, n in enumerate(blocks):
        for i in range(n):
            cout = channels[b]
            name = f"vgg16/conv{b + 1}_{i + 1}"
            weights[name + "/kernel"] = (rng.standard_normal((3, 3, cin, cout)) * np.sqrt(2.0 / (9 * cin))
                                         ).astype(np.float32)
            weights[name + "/bias"] = np.zeros(cout, np.float32)
            cin = cout
        weights[f"lin{b}"] = rng.uniform(0.0, 1.0, channels[b]).astype(np.float32)
    return weights


def load_weights(path: str | None, option: str = "--lpips", metric: str = "PPL") -> dict[str, np.ndarray]:
    """The LPIPS NPZ as a dict; missing file or keys are a `UserError` saying what is needed."""
    if path is None:
        raise UserError(f"{metric} needs the LPIPS VGG16 weights: pass {option} lpips_vgg16.npz. {WHERE}")
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise UserError(f"{option}: file not found. Received: {option}={path!r}. {WHERE}")
    try:
        weights = load_npz(path, f"{option}: LPIPS weights")   # A damaged file names itself and the fault.
    except UserError as error:
        raise UserError(f"{error} {WHERE}") from None
    missing = [k for k in [f"vgg16/{n}/{p}" for n in conv_names() for p in ("kernel", "bias")] +
               [f"lin{l}" for l in range(5)] if k not in weights]
    if missing:
        raise UserError(f"{option}: {path!r} lacks {missing[:4]}{'...' if len(missing) > 4 else ''}. {WHERE}")
    return weights


class LPIPS:
    """LPIPS (VGG16, lin) distance between image batches in [0, 255], NHWC.

    Args:
        weights: dict in the NPZ layout (see module docstring), e.g. from `load_weights(path)`.
        blocks: convs per VGG block (the real network: (2, 2, 3, 3, 3)); channels follow the weights.

    Call arguments:
        img0, img1: [N, H, W, 3] float in [0, 255].

    Returns:
        distances [N] float32.
    """

    def __init__(self, weights: dict[str, np.ndarray], blocks=VGG16_BLOCKS):
        import keras

        previous = keras.mixed_precision.global_policy()
        keras.mixed_precision.set_global_policy("float32")  # Distances of eps-close images need float32.
        try:
            inputs = keras.Input((None, None, 3))
            x, taps = inputs, []
            for b, n in enumerate(blocks):
                if b:
                    x = keras.layers.MaxPooling2D(2, 2, name=f"pool{b}")(x)
                for i in range(n):
                    name = f"conv{b + 1}_{i + 1}"
                    kernel = weights[f"vgg16/{name}/kernel"]
                    layer = keras.layers.Conv2D(kernel.shape[-1], 3, padding="same", activation="relu", name=name)
                    x = layer(x)
                    layer.set_weights([kernel, weights[f"vgg16/{name}/bias"]])
                taps.append(x)
            self.net = keras.Model(inputs, taps, name="vgg16_lpips")
        finally:
            keras.mixed_precision.set_global_policy(previous)
        self.lins = [np.asarray(weights[f"lin{l}"], np.float32).reshape(-1) for l in range(len(blocks))]
        for l, (lin, tap) in enumerate(zip(self.lins, self.net.outputs)):
            if lin.shape[0] != tap.shape[-1]:
                raise UserError(f"LPIPS weights: lin{l} has {lin.shape[0]} values for {tap.shape[-1]} channels")
        self.shift = np.float32(LPIPS_SHIFT)
        self.scale = np.float32(LPIPS_SCALE)
        self._fn = None

    @classmethod
    def from_file(cls, path: str | None, option: str = "--lpips") -> "LPIPS":
        return cls(load_weights(path, option))

    def _build(self):
        import tensorflow as tf

        lins = [tf.constant(lin) for lin in self.lins]

        @tf.function(reduce_retracing=True)
        def distance(img0, img1):
            x = tf.concat([img0, img1], axis=0) / 127.5 - 1.0
            feats = self.net((x - self.shift) / self.scale, training=False)
            n = tf.shape(img0)[0]
            total = tf.zeros([n])
            for f, lin in zip(feats, lins):
                f = f / (tf.sqrt(tf.reduce_sum(tf.square(f), axis=-1, keepdims=True)) + 1e-10)
                diff = tf.square(f[:n] - f[n:])
                total += tf.reduce_mean(tf.reduce_sum(diff * lin, axis=-1), axis=[1, 2])
            return total

        return distance

    def __call__(self, img0, img1) -> np.ndarray:
        min_size = 2 ** (len(self.lins) - 1)
        if min(np.shape(img0)[1:3]) < min_size:
            raise UserError(f"LPIPS needs images of at least {min_size}x{min_size} (VGG16 pools "
                            f"{len(self.lins) - 1} times); for small networks use PPL without the face crop "
                            f"(--no-ppl-crop). Received shape: {np.shape(img0)}")
        if self._fn is None:
            self._fn = self._build()
        return np.asarray(self._fn(np.asarray(img0, np.float32), np.asarray(img1, np.float32)))


class LPIPSFeatures:
    """LPIPS (VGG16, lin) as features whose squared Euclidean distance is the LPIPS distance.

    Per tap l: f_l / (|f_l|_channels + 1e-10) * sqrt(lin_l / (H_l W_l)), flattened and concatenated;
    then sum((phi(x0) - phi(x1))^2) = sum_l mean_hw sum_c lin_lc (f0 - f1)^2, the official
    `vgg16(..., return_lpips=True)` form, so the target's features are computed once.

    Args:
        lpips: an `LPIPS` (e.g. `LPIPS.from_file(path)`).

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
    return LPIPSFeatures(LPIPS(load_weights(path, option=option, metric="Projection")))
