"""An independent numpy model of the official networks, for equivalence tests.

Written from the official semantics (NCHW layout, raw variables scaled at run time,
TensorFlow 'SAME' padding, transposed conv as the adjoint of a strided conv, the
'linear' progressive structure at full resolution), sharing no code with the
library. Slow and simple on purpose: loops over kernel taps.
"""

from __future__ import annotations

import numpy as np

SQRT2 = np.sqrt(2.0)


def lrelu(x):
    return np.where(x >= 0, x, 0.2 * x)


def scaled(w, gain=SQRT2, lrmul=1.0):
    fan_in = int(np.prod(w.shape[:-1]))
    return w * (gain / np.sqrt(fan_in) * lrmul)


def conv(x, w, stride=1):
    """NCHW x, HWIO w, TensorFlow 'SAME' padding, any kernel size and stride."""
    n, c, h, wd = x.shape
    k = w.shape[0]
    out_h = -(-h // stride)
    pad_total = max((out_h - 1) * stride + k - h, 0)
    before = pad_total // 2
    xp = np.pad(x, [(0, 0), (0, 0), (before, pad_total - before), (before, pad_total - before)])
    y = np.zeros((n, w.shape[3], out_h, out_h))
    for i in range(k):
        for j in range(k):
            patch = xp[:, :, i: i + stride * out_h: stride, j: j + stride * out_h: stride]
            y += np.einsum("nchw,co->nohw", patch, w[i, j])
    return y


def conv_transpose2(x, w_oi):
    """Adjoint of a stride-2 'SAME' conv with a 4x4 kernel [k, k, out, in] (TF conv2d_transpose)."""
    n, c, h, wd = x.shape
    k = w_oi.shape[0]
    out = 2 * h
    before = max((h - 1) * 2 + k - out, 0) // 2
    y = np.zeros((n, w_oi.shape[2], out + 2 * k, out + 2 * k))
    for i in range(k):
        for j in range(k):
            contrib = np.einsum("nchw,oc->nohw", x, w_oi[i, j])
            y[:, :, k + i - before: k + i - before + 2 * h: 2, k + j - before: k + j - before + 2 * h: 2] += contrib
    return y[:, :, k: k + out, k: k + out]


def pad_sum(w):
    p = np.pad(w, [(1, 1), (1, 1), (0, 0), (0, 0)])
    return p[1:, 1:] + p[:-1, 1:] + p[1:, :-1] + p[:-1, :-1]


def upscale(x, f=2):
    return x.repeat(f, axis=2).repeat(f, axis=3)


def downscale(x, f=2):
    n, c, h, w = x.shape
    return x.reshape(n, c, h // f, f, w // f, f).mean(axis=(3, 5))


def blur(x):
    f = np.outer([1, 2, 1], [1, 2, 1]).astype(np.float64)
    f /= f.sum()
    c = x.shape[1]
    w = np.zeros((3, 3, c, c))
    for ch in range(c):
        w[:, :, ch, ch] = f
    return conv(x, w)


def lerp_clip(a, b, t):
    return a + (b - a) * np.clip(t, 0.0, 1.0)


def nf(cfg, stage):
    return min(int(cfg.fmap_base / (2.0 ** (stage * cfg.fmap_decay))), cfg.fmap_max)


def generator(v, cfg, z, labels=None, psi=1.0, cutoff=8, lod=0.0, official_fused="auto", noise="const"):
    """Official G_style at full resolution (truncation as G_style, fixed noise inputs)."""
    v = {k: np.asarray(a, np.float64) for k, a in v.items()}
    R = int(np.log2(cfg.resolution))
    num_layers = 2 * R - 2
    # Mapping.
    x = z.astype(np.float64)
    if cfg.label_size:
        x = np.concatenate([x, labels @ v["G_mapping/LabelConcat/weight"]], axis=1)
    x = x / np.sqrt(np.mean(x**2, axis=1, keepdims=True) + 1e-8)
    for i in range(cfg.mapping_layers):
        x = lrelu(x @ scaled(v[f"G_mapping/Dense{i}/weight"], lrmul=cfg.mapping_lrmul)
                  + v[f"G_mapping/Dense{i}/bias"] * cfg.mapping_lrmul)
    w = np.repeat(x[:, None], num_layers, axis=1)
    if psi != 1.0:
        avg = v["dlatent_avg"]
        coefs = np.where(np.arange(num_layers)[None, :, None] < cutoff, psi, 1.0)
        w = avg + (w - avg) * coefs

    def epilogue(x, scope, i):
        if cfg.use_noise and noise == "const":
            x = x + v[f"G_synthesis/noise{i}"] * v[f"{scope}/Noise/weight"][None, :, None, None]
        x = lrelu(x + v[f"{scope}/bias"][None, :, None, None])
        if cfg.use_pixel_norm:
            x = x / np.sqrt(np.mean(x**2, axis=1, keepdims=True) + 1e-8)
        if cfg.use_instance_norm:
            x = x - x.mean(axis=(2, 3), keepdims=True)
            x = x / np.sqrt(np.mean(x**2, axis=(2, 3), keepdims=True) + 1e-8)
        if cfg.use_styles:
            style = w[:, i] @ scaled(v[f"{scope}/StyleMod/weight"], gain=1.0) + v[f"{scope}/StyleMod/bias"]
            c = x.shape[1]
            x = x * (style[:, :c, None, None] + 1) + style[:, c:, None, None]
        return x

    def fused(res):
        return official_fused == "always" or (official_fused == "auto" and 2**res >= 128)

    n = z.shape[0]
    if cfg.const_input:
        x = np.tile(v["G_synthesis/4x4/Const/const"], [n, 1, 1, 1])
        x = epilogue(x, "G_synthesis/4x4/Const", 0)
    else:
        x = w[:, 0] @ scaled(v["G_synthesis/4x4/Dense/weight"], gain=SQRT2 / 4)
        x = epilogue(x.reshape(n, nf(cfg, 1), 4, 4), "G_synthesis/4x4/Dense", 0)
    x = epilogue(conv(x, scaled(v["G_synthesis/4x4/Conv/weight"])), "G_synthesis/4x4/Conv", 1)

    def torgb(x, res):
        name = f"G_synthesis/ToRGB_lod{R - res}"
        return conv(x, scaled(v[name + "/weight"], gain=1.0)) + v[name + "/bias"][None, :, None, None]

    img = torgb(x, 2)
    for res in range(3, R + 1):
        scope = f"G_synthesis/{2**res}x{2**res}"
        kw = scaled(v[scope + "/Conv0_up/weight"])
        if fused(res):
            x = conv_transpose2(x, pad_sum(kw).transpose(0, 1, 3, 2))
        else:
            x = conv(upscale(x), kw)
        if cfg.blur:
            x = blur(x)
        x = epilogue(x, scope + "/Conv0_up", 2 * res - 4)
        x = epilogue(conv(x, scaled(v[scope + "/Conv1/weight"])), scope + "/Conv1", 2 * res - 3)
        img = lerp_clip(torgb(x, res), upscale(img), lod - (R - res))
    return img


def minibatch_stddev(x, group_size=4, num_new=1):
    n, c, h, w = x.shape
    g = min(group_size, n)
    y = x.reshape(g, -1, num_new, c // num_new, h, w)
    y = y - y.mean(axis=0, keepdims=True)
    y = np.sqrt(np.mean(y**2, axis=0) + 1e-8)
    y = y.mean(axis=(2, 3, 4))                           # [M, n]
    y = np.tile(y[:, :, None, None], [g, 1, h, w])       # [N, n, H, W]
    return np.concatenate([x, y], axis=1)


def discriminator(v, cfg, images_nchw, labels=None, lod=0.0, official_fused="auto"):
    """Official D_basic ('linear' structure) on full-resolution NCHW images."""
    v = {k[2:] if k.startswith("D/") else k: np.asarray(a, np.float64) for k, a in v.items()}
    R = int(np.log2(cfg.resolution))

    def fromrgb(img, res):
        name = f"FromRGB_lod{R - res}"
        return lrelu(conv(img, scaled(v[name + "/weight"])) + v[name + "/bias"][None, :, None, None])

    def fused(res):
        return official_fused == "always" or (official_fused == "auto" and 2**res >= 128)

    img = images_nchw.astype(np.float64)
    x = fromrgb(img, R)
    for res in range(R, 2, -1):
        scope = f"{2**res}x{2**res}"
        x = lrelu(conv(x, scaled(v[scope + "/Conv0/weight"])) + v[scope + "/Conv0/bias"][None, :, None, None])
        x = blur(x) if cfg.blur else x
        kw = scaled(v[scope + "/Conv1_down/weight"])
        x = conv(x, pad_sum(kw) * 0.25, stride=2) if fused(res) else downscale(conv(x, kw))
        x = lrelu(x + v[scope + "/Conv1_down/bias"][None, :, None, None])
        img = downscale(img)
        x = lerp_clip(x, fromrgb(img, res - 1), lod - (R - res))
    if cfg.mbstd_group_size > 1:
        x = minibatch_stddev(x, cfg.mbstd_group_size, cfg.mbstd_num_features)
    x = lrelu(conv(x, scaled(v["4x4/Conv/weight"])) + v["4x4/Conv/bias"][None, :, None, None])
    x = x.reshape(x.shape[0], -1)
    x = lrelu(x @ scaled(v["4x4/Dense0/weight"]) + v["4x4/Dense0/bias"])
    x = x @ scaled(v["4x4/Dense1/weight"], gain=1.0) + v["4x4/Dense1/bias"]
    if cfg.label_size:
        x = np.sum(x * labels, axis=1, keepdims=True)
    return x


def random_official_variables(shapes, seed=0):
    """Random values for every official variable, biases and noise strengths non-zero."""
    rng = np.random.default_rng(seed)
    out = {}
    for name, shape in shapes.items():
        if name.endswith("lod"):
            out[name] = np.zeros(shape, np.float32)
        elif name.endswith("/const"):
            out[name] = rng.normal(1.0, 0.5, shape).astype(np.float32)
        else:
            out[name] = rng.normal(0.0, 1.0, shape).astype(np.float32)
    return out
