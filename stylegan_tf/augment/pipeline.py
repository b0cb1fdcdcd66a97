"""The ADA augmentation pipeline (Karras et al. 2020, "Training GANs with limited data", Sec. 2.2,
App. B; official `training/augment.py` `AugmentPipe`).

Every transform fires independently per image with probability `multiplier * p`:

- geometric (one inverse 3x3 matrix per image, output pixel -> input pixel, composed in the
  official order): xflip, rotate90, integer translation, isotropic scale, pre-rotation,
  anisotropic scale, post-rotation, fractional translation; executed once with reflect
  padding, sym6 x2 upsampling, bilinear sampling and sym6 x2 downsampling (`resample`);
- colour (one 4x4 matrix on (r, g, b, 1)): brightness, contrast, luma flip, hue rotation,
  saturation;
- additive RGB noise and cutout.

Image-space filtering (`imgfilter`, presets `filter`, `bgcf`, `bgcfn`, `bgcfnc`) is not
implemented: those presets raise a `UserError`.

Randomness is stateless: `sample(key, ...)` draws every parameter from a key tensor, so the
same key gives the same augmentation. The parameters are drawn for a whole batch and can be
split before `apply` (the trainer draws for the global batch, each replica applies its share),
which keeps a multi-replica step equal to a single-device step.

Deviation from the official code, which runs the geometric (colour) path on the whole batch
whenever the preset has a geometric (colour) transform: images whose matrix is the identity
are returned unchanged (bit for bit), and the path is skipped when no image needs it. So
p = 0 is the identity exactly; the official warp at p = 0 is the identity only up to the
filters' float error.
"""

from __future__ import annotations

from typing import Any, Mapping

import keras
import numpy as np
import tensorflow as tf

from stylegan_tf.augment import matrices as m
from stylegan_tf.augment.presets import COLOR, GEOMETRIC, resolve_multipliers
from stylegan_tf.augment.resample import FILTER_PAD, affine_grid, downsample2x, grid_sample, upsample2x
from stylegan_tf.errors import UserError
from stylegan_tf.networks.layers import register

# Official `AugmentPipe` constants.
XINT_MAX = 0.125        # Integer translation: up to this fraction of the image size.
SCALE_STD = 0.2         # log2 standard deviation of isotropic scaling.
ROTATE_MAX = 1.0        # Arbitrary rotation: up to this fraction of a half turn.
ANISO_STD = 0.2         # log2 standard deviation of anisotropic scaling.
XFRAC_STD = 0.125       # Fractional translation: standard deviation as a fraction of the size.
BRIGHTNESS_STD = 0.2    # Standard deviation of the brightness offset.
CONTRAST_STD = 0.5      # log2 standard deviation of contrast scaling.
HUE_MAX = 1.0           # Hue rotation: up to this fraction of a half turn.
SATURATION_STD = 1.0    # log2 standard deviation of saturation scaling.
NOISE_STD = 0.1         # Standard deviation of the additive noise's |N(0,1)| sigma.
CUTOUT_SIZE = 0.5       # Cutout square: this fraction of the image size.

# Stateless sub-streams of a key, one per random draw.
_STREAMS = {name: i for i, name in enumerate(
    ["xflip", "xflip_p", "rotate90", "rotate90_p", "xint", "xint_p", "scale", "scale_p", "pre_rotate",
     "pre_rotate_p", "aniso", "aniso_p", "post_rotate", "post_rotate_p", "xfrac", "xfrac_p", "brightness",
     "brightness_p", "contrast", "contrast_p", "lumaflip", "lumaflip_p", "hue", "hue_p", "saturation",
     "saturation_p", "noise_sigma", "noise_p", "noise", "cutout_center", "cutout_p"])}


class _Draws:
    """Stateless random draws from one key, one fixed sub-stream per name."""

    def __init__(self, key, batch):
        self.key = tf.cast(key, tf.int64) if key.dtype != tf.int64 else key
        self.batch = batch

    def _seed(self, name):
        return tf.random.experimental.stateless_fold_in(self.key, _STREAMS[name])

    def uniform(self, name, *shape):
        return tf.random.stateless_uniform([self.batch, *shape], self._seed(name))

    def normal(self, name, *shape):
        return tf.random.stateless_normal([self.batch, *shape], self._seed(name))

    def fires(self, name, probability, *shape):
        return self.uniform(name + "_p", *shape) < probability


def _eye(n, batch):
    return tf.eye(n, batch_shape=[batch])


def _t2(tx, ty):
    """translate2d of two scalar tensors, [3, 3]."""
    one, zero = tf.ones_like(tx), tf.zeros_like(tx)
    return tf.stack([tf.stack([one, zero, tx]), tf.stack([zero, one, ty]), tf.stack([zero, zero, one])])


def _s2(sx, sy):
    return tf.constant([[sx, 0, 0], [0, sy, 0], [0, 0, 1]], tf.float32)


@register
class AugmentPipe(keras.layers.Layer):
    """The ADA augmentation pipeline as a Keras layer (TensorFlow backend).

    Args:
        pipe: str. Official preset: blit, geom, color, bg, bgc (default), noise, cutout.
        multipliers: dict. Per-transform probability multipliers overriding the preset
            (names in `TRANSFORMS`).

    Call arguments:
        images: [N, H, W, C] in [-1, 1], C = 3 (colour transforms need RGB or L).
        p: scalar float tensor, the augmentation probability.
        key: int tensor [2], the stateless key of this call's random draws.
    Returns [N, H, W, C] of the input dtype; differentiable with respect to the images.

    Reference: ADA paper Sec. 2.2 and Appendix B.2; official `training/augment.py`.
    """

    def __init__(self, pipe: str | None = "bgc", multipliers: Mapping[str, float] | None = None, **kwargs):
        super().__init__(**kwargs)
        self.pipe = pipe
        self.multipliers_override = dict(multipliers or {})
        self.multipliers = resolve_multipliers(pipe, multipliers)

    @property
    def has_geometric(self) -> bool:
        return any(self.multipliers[n] > 0 for n in GEOMETRIC)

    @property
    def has_color(self) -> bool:
        return any(self.multipliers[n] > 0 for n in COLOR)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "pipe": self.pipe, "multipliers": self.multipliers_override}

    def compute_output_shape(self, input_shape):
        return input_shape

    def call(self, images, p, key):
        shape = images.shape
        batch = shape[0] if shape[0] is not None else tf.shape(images)[0]
        return self.apply(images, self.sample(key, batch, p, int(shape[1]), int(shape[2]), int(shape[3])))

    # Drawing the parameters ---------------------------------------------------------------
    def sample(self, key, batch, p, height: int, width: int, channels: int) -> dict[str, tf.Tensor]:
        """Draws the augmentation of `batch` images of height x width x channels.

        Returns a dict: `geom` [N, 3, 3] inverse matrices and `margin` [4] int32 (the batch's
        reflect padding x0, y0, x1, y1), `color` [N, 4, 4], `noise_sigma` [N] and `noise`
        [N, H, W, C], `cutout` [N, 3] (size, centre x, centre y), each present only when the
        pipeline has such transforms, and `draw/<name>` [N, ...], the parameter each
        transform drew (its identity value where it did not fire). Every entry but `margin`
        has the batch as its first axis.
        """
        mult = self.multipliers
        p = tf.cast(p, tf.float32)
        d = _Draws(key, batch)
        out: dict[str, tf.Tensor] = {}
        draws: dict[str, tf.Tensor] = {}

        if self.has_geometric:
            g = _eye(3, batch)
            if mult["xflip"] > 0:
                i = tf.floor(d.uniform("xflip") * 2)
                i = tf.where(d.fires("xflip", mult["xflip"] * p), i, 0.0)
                g = g @ m.scale2d_inv(1 - 2 * i, tf.ones_like(i))
                draws["xflip"] = i
            if mult["rotate90"] > 0:
                i = tf.floor(d.uniform("rotate90") * 4)
                i = tf.where(d.fires("rotate90", mult["rotate90"] * p), i, 0.0)
                g = g @ m.rotate2d_inv(-np.pi / 2 * i)
                draws["rotate90"] = i
            if mult["xint"] > 0:
                t = (d.uniform("xint", 2) * 2 - 1) * XINT_MAX
                t = tf.where(d.fires("xint", mult["xint"] * p, 1), t, 0.0)
                t = tf.round(t * tf.constant([width, height], tf.float32))
                g = g @ m.translate2d_inv(t[:, 0], t[:, 1])
                draws["xint"] = t
            if mult["scale"] > 0:
                s = tf.pow(2.0, d.normal("scale") * SCALE_STD)
                s = tf.where(d.fires("scale", mult["scale"] * p), s, 1.0)
                g = g @ m.scale2d_inv(s, s)
                draws["scale"] = s
            # Each rotation fires with p_rot so that P(pre or post) = rotate * p.
            p_rot = 1 - tf.sqrt(tf.clip_by_value(1 - mult["rotate"] * p, 0.0, 1.0))
            if mult["rotate"] > 0:
                theta = (d.uniform("pre_rotate") * 2 - 1) * np.pi * ROTATE_MAX
                theta = tf.where(d.fires("pre_rotate", p_rot), theta, 0.0)
                g = g @ m.rotate2d_inv(-theta)
                draws["pre_rotate"] = theta
            if mult["aniso"] > 0:
                s = tf.pow(2.0, d.normal("aniso") * ANISO_STD)
                s = tf.where(d.fires("aniso", mult["aniso"] * p), s, 1.0)
                g = g @ m.scale2d_inv(s, 1 / s)
                draws["aniso"] = s
            if mult["rotate"] > 0:
                theta = (d.uniform("post_rotate") * 2 - 1) * np.pi * ROTATE_MAX
                theta = tf.where(d.fires("post_rotate", p_rot), theta, 0.0)
                g = g @ m.rotate2d_inv(-theta)
                draws["post_rotate"] = theta
            if mult["xfrac"] > 0:
                t = d.normal("xfrac", 2) * XFRAC_STD
                t = tf.where(d.fires("xfrac", mult["xfrac"] * p, 1), t, 0.0)
                t = t * tf.constant([width, height], tf.float32)
                g = g @ m.translate2d_inv(t[:, 0], t[:, 1])
                draws["xfrac"] = t
            out["geom"] = g
            out["margin"] = _margin(g, height, width)

        if self.has_color:
            c = _eye(4, batch)
            v = m.LUMA_AXIS.astype(np.float32)
            vv = tf.constant(np.outer(v, v))
            if mult["brightness"] > 0:
                b = d.normal("brightness") * BRIGHTNESS_STD
                b = tf.where(d.fires("brightness", mult["brightness"] * p), b, 0.0)
                c = m.translate3d(b, b, b) @ c
                draws["brightness"] = b
            if mult["contrast"] > 0:
                s = tf.pow(2.0, d.normal("contrast") * CONTRAST_STD)
                s = tf.where(d.fires("contrast", mult["contrast"] * p), s, 1.0)
                c = m.scale3d(s, s, s) @ c
                draws["contrast"] = s
            if mult["lumaflip"] > 0:
                i = tf.floor(d.uniform("lumaflip") * 2)
                i = tf.where(d.fires("lumaflip", mult["lumaflip"] * p), i, 0.0)
                # Householder reflection about the plane orthogonal to the luma axis.
                c = (tf.eye(4) - 2 * vv * i[:, None, None]) @ c
                draws["lumaflip"] = i
            if mult["hue"] > 0 and channels > 1:
                theta = (d.uniform("hue") * 2 - 1) * np.pi * HUE_MAX
                theta = tf.where(d.fires("hue", mult["hue"] * p), theta, 0.0)
                c = m.rotate3d(v, theta) @ c
                draws["hue"] = theta
            if mult["saturation"] > 0 and channels > 1:
                s = tf.pow(2.0, d.normal("saturation") * SATURATION_STD)
                s = tf.where(d.fires("saturation", mult["saturation"] * p), s, 1.0)
                c = (vv + (tf.eye(4) - vv) * s[:, None, None]) @ c
                draws["saturation"] = s
            out["color"] = c

        if mult["noise"] > 0:
            sigma = tf.abs(d.normal("noise_sigma")) * NOISE_STD
            out["noise_sigma"] = draws["noise"] = tf.where(d.fires("noise", mult["noise"] * p), sigma, 0.0)
            out["noise"] = d.normal("noise", height, width, channels)
        if mult["cutout"] > 0:
            size = tf.where(d.fires("cutout", mult["cutout"] * p), CUTOUT_SIZE, 0.0)
            out["cutout"] = draws["cutout"] = tf.concat([size[:, None], d.uniform("cutout_center", 2)], axis=1)
        out.update({f"draw/{k}": v for k, v in draws.items()})
        return out

    # Applying them ------------------------------------------------------------------------
    def apply(self, images, params: Mapping[str, tf.Tensor]):
        """Applies drawn parameters (`sample`, possibly this replica's rows of them) to images."""
        channels = int(images.shape[-1])
        if "color" in params and channels not in (1, 3):
            raise UserError(f"The colour augmentations need RGB or grayscale images. Received: {channels} channels")
        dtype = images.dtype
        x = tf.cast(images, tf.float32)
        if "geom" in params:
            x = _select(params["geom"], 3, lambda: warp(x, params["geom"], params["margin"]), x)
        if "color" in params:
            x = _select(params["color"], 4, lambda: apply_color(x, params["color"]), x)
        if "noise" in params:
            x = x + params["noise"] * params["noise_sigma"][:, None, None, None]
        if "cutout" in params:
            x = x * cutout_mask(params["cutout"], int(x.shape[1]), int(x.shape[2]))
        return tf.cast(x, dtype)


def _select(mats, n, transform, x):
    """transform() where an image's matrix is not the identity, x itself elsewhere; skipped when
    no image needs it."""
    active = tf.reduce_any(tf.not_equal(mats, tf.eye(n)), axis=[1, 2])
    return tf.cond(tf.reduce_any(active), lambda: tf.where(active[:, None, None, None], transform(), x),
                   lambda: x)


def _margin(g_inv, height, width):
    """Reflect padding (x0, y0, x1, y1) covering the transformed image corners plus the filter support,
    at most the image size - 1 (official `AugmentPipe.forward`), for the whole batch."""
    cx, cy = (width - 1) / 2, (height - 1) / 2
    corners = tf.constant([[-cx, -cy, 1], [cx, -cy, 1], [cx, cy, 1], [-cx, cy, 1]], tf.float32)
    cp = tf.einsum("nij,kj->ink", g_inv, corners)[:2]  # [xy, N, corner]
    cp = tf.reshape(cp, [2, -1])
    margin = tf.reduce_max(tf.concat([-cp, cp], axis=0), axis=1)  # [x0, y0, x1, y1]
    margin = margin + tf.constant([FILTER_PAD * 2 - cx, FILTER_PAD * 2 - cy] * 2, tf.float32)
    margin = tf.clip_by_value(margin, 0.0, tf.constant([width - 1, height - 1] * 2, tf.float32))
    return tf.cast(tf.math.ceil(margin), tf.int32)


def warp(images, g_inv, margin):
    """Resamples images [N, H, W, C] float32 at g_inv @ (output pixel centre), band-limited:
    reflect padding by `margin`, sym6 x2 upsampling, bilinear sampling, sym6 x2 downsampling."""
    height, width = int(images.shape[1]), int(images.shape[2])
    mx0, my0, mx1, my1 = tf.unstack(margin)
    x = tf.pad(images, [[0, 0], [my0, my1], [mx0, mx1], [0, 0]], mode="REFLECT")
    half = lambda a, b: tf.cast(a - b, tf.float32) / 2  # noqa: E731
    g = _t2(half(mx0, mx1), half(my0, my1)) @ g_inv
    x = upsample2x(x)
    g = _s2(2, 2) @ g @ _s2(0.5, 0.5)
    g = m.translate2d(tf.fill([1], -0.5), tf.fill([1], -0.5)) @ g @ m.translate2d(tf.fill([1], 0.5),
                                                                                      tf.fill([1], 0.5))
    out_h, out_w = (height + FILTER_PAD * 2) * 2, (width + FILTER_PAD * 2) * 2
    up_h, up_w = tf.cast(tf.shape(x)[1], tf.float32), tf.cast(tf.shape(x)[2], tf.float32)
    to_normalized = m.scale2d(tf.reshape(2 / up_w, [1]), tf.reshape(2 / up_h, [1]))
    g = to_normalized @ g @ _s2(out_w / 2, out_h / 2)
    x = grid_sample(x, affine_grid(g[:, :2, :], out_h, out_w))
    x = downsample2x(x, crop=FILTER_PAD * 2)
    x.set_shape([images.shape[0], height, width, images.shape[3]])
    return x


def apply_color(images, c):
    """rgb' = C[:3, :3] rgb + C[:3, 3] per image; grayscale uses the mean row (official)."""
    if int(images.shape[-1]) == 3:
        return tf.einsum("nij,nhwj->nhwi", c[:, :3, :3], images) + c[:, None, None, :3, 3]
    row = tf.reduce_mean(c[:, :3, :], axis=1)  # [N, 4]
    return images * tf.reduce_sum(row[:, :3], axis=1)[:, None, None, None] + row[:, None, None, 3:]


def cutout_mask(cutout, height, width):
    """[N, H, W, 1] float: 0 inside each image's square (size, centre x, centre y as fractions)."""
    size, cx, cy = cutout[:, 0, None, None, None], cutout[:, 1, None, None, None], cutout[:, 2, None, None, None]
    xs = (tf.range(width, dtype=tf.float32)[None, None, :, None] + 0.5) / width
    ys = (tf.range(height, dtype=tf.float32)[None, :, None, None] + 0.5) / height
    outside = (tf.abs(xs - cx) >= size / 2) | (tf.abs(ys - cy) >= size / 2)
    return tf.cast(outside, tf.float32)


def share_params(params: Mapping[str, tf.Tensor], take) -> dict[str, tf.Tensor]:
    """Applies `take` (e.g. a replica's strided share) to every per-image entry of `sample`'s dict."""
    return {k: (v if k == "margin" else take(v)) for k, v in params.items()}

