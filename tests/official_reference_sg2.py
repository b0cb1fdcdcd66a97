"""An independent numpy model of the official StyleGAN2 networks, for equivalence tests.

Written from the official TF semantics (NVlabs/stylegan2 `networks_stylegan2.py`,
`upfirdn_2d.py`; names and shapes as facts 1.11), sharing no code with the library:
NCHW layout, raw variables scaled at run time by 1/sqrt(fan_in), `fused_bias_act`
order (x + b -> lrelu 0.2 -> * sqrt 2), modulated convolution with `mod_bias + 1`
and demodulation, the up-conv as a correlation of the stored kernel with the
zero-inserted grid followed by the [1,3,3,1] FIR (gain 4, pads (1, 1)), the skip
image upsampled by upfirdn (gain 4, pads (2, 1)), and the residual D (FIR pads (2, 2)
then stride 2; 1x1 skip FIR pads (1, 1) then stride 2). Float64, slow and simple on
purpose: explicit loops over kernel taps and samples.

Labels, per source (the variable names tell which): NVlabs/stylegan2 `G_mapping` concatenates
z with labels @ `LabelConcat/weight` (a plain matrix, no run-time scale) and normalises the
1024-vector; TF-ADA `G_mapping` normalises z and `LabelEmbed`(labels) (equalized dense with
bias) separately, then concatenates. NVlabs/stylegan2 `D_stylegan2`: `Output` has label_size
units, score = sum(out * labels); TF-ADA `D_main` (and ADA's `Discriminator`, names mapped by
legacy.py): cmap = `Mapping{i}` layers (lrelu, lr multiplier `mapping_lrmul`) of the normalised
`LabelEmbed`(labels), `Output` has cmap units, score = sum(out * cmap) / sqrt(cmap).

Also: the official name -> shape sets (`official_g_shapes`, `official_d_shapes`),
random variables (`random_official_variables`) and the stylegan2-ada-pytorch
`legacy.py` TF -> PyTorch state_dict mapping (`tf_to_ada_state_dict`).
"""

from __future__ import annotations

import re

import numpy as np

from tests.official_reference import minibatch_stddev  # same official layer as v1 (i, i+M grouping)

SQRT2 = np.sqrt(2.0)


# --- Architecture numbers (TF: nf(stage) = min(fmap_base / 2**stage, fmap_max), fmap_base = channel_base / 2).

def nf(cfg, stage):
    return int(min(max(int(cfg.channel_base / 2 / 2.0**stage), 1), cfg.channel_max))


def log2_res(cfg):
    return int(np.log2(cfg.resolution))


# --- Elementary ops (NCHW).

def lrelu(x):
    return np.where(x >= 0, x, 0.2 * x)


def bias_act(x, b, act):
    """fused_bias_act: + bias (on axis 1), lrelu(0.2) * sqrt(2) or linear * 1."""
    x = x + b.reshape((1, -1) + (1,) * (x.ndim - 2))
    return lrelu(x) * SQRT2 if act == "lrelu" else x


def fir_filter(taps=(1, 3, 3, 1)):
    f = np.outer(taps, taps).astype(np.float64)
    return f / f.sum()


def upfirdn(x, f, up=1, down=1, pad0=0, pad1=0):
    """Zero-insert (up-1 zeros after each pixel), pad (negative = crop), true convolution with f,
    keep every down-th pixel; same pads on both axes."""
    n, c, h, w = x.shape
    if up > 1:
        z = np.zeros((n, c, h * up, w * up))
        z[:, :, ::up, ::up] = x
        x = z
    x = np.pad(x, [(0, 0), (0, 0), (max(pad0, 0), max(pad1, 0)), (max(pad0, 0), max(pad1, 0))])
    x = x[:, :, max(-pad0, 0): x.shape[2] - max(-pad1, 0), max(-pad0, 0): x.shape[3] - max(-pad1, 0)]
    k = f[::-1, ::-1]
    oh, ow = x.shape[2] - k.shape[0] + 1, x.shape[3] - k.shape[1] + 1
    y = np.zeros((n, c, oh, ow))
    for a in range(k.shape[0]):
        for b in range(k.shape[1]):
            y += k[a, b] * x[:, :, a: a + oh, b: b + ow]
    return y[:, :, ::down, ::down]


def correlate(x, w, stride=1):
    """'VALID' correlation of NCHW x with w [k, k, I, O] (shared) or [N, k, k, I, O] (per sample)."""
    k = w.shape[-4]
    oh = (x.shape[2] - k) // stride + 1
    ow = (x.shape[3] - k) // stride + 1
    y = np.zeros((x.shape[0], w.shape[-1], oh, ow))
    for a in range(k):
        for b in range(k):
            patch = x[:, :, a: a + stride * (oh - 1) + 1: stride, b: b + stride * (ow - 1) + 1: stride]
            if w.ndim == 5:
                y += np.einsum("nchw,nco->nohw", patch, w[:, a, b])
            else:
                y += np.einsum("nchw,co->nohw", patch, w[a, b])
    return y


def same_pad(x, k):
    p = (k - 1) // 2
    return np.pad(x, [(0, 0), (0, 0), (p, k - 1 - p), (p, k - 1 - p)])


def conv_up(x, w, f):
    """upsample_conv_2d: the stored kernel correlates with the zero-inserted grid (transposed conv,
    stride 2, VALID: 2H + k - 2), then FIR * 4 with pads ((p+1)//2 + 1, p//2 + 1), p = (4-2) - (k-1)."""
    n, c, h, wd = x.shape
    k = w.shape[-4]
    z = np.zeros((n, c, 2 * h - 1, 2 * wd - 1))
    z[:, :, ::2, ::2] = x
    z = np.pad(z, [(0, 0), (0, 0), (k - 1, k - 1), (k - 1, k - 1)])
    y = correlate(z, w)
    p = (f.shape[0] - 2) - (k - 1)
    return upfirdn(y, f * 4, pad0=(p + 1) // 2 + 1, pad1=p // 2 + 1)


def conv_down(x, w, f):
    """conv_downsample_2d: FIR with pads ((p+1)//2, p//2), p = (4-2) + (k-1), then stride-2 VALID conv."""
    k = w.shape[-4]
    p = (f.shape[0] - 2) + (k - 1)
    return correlate(upfirdn(x, f, pad0=(p + 1) // 2, pad1=p // 2), w, stride=2)


def wscale(w, lrmul=1.0):
    """Runtime weight scale (gain 1): 1/sqrt(fan_in) * lrmul, fan_in = all but the last axis."""
    return w * (lrmul / np.sqrt(np.prod(w.shape[:-1])))


def normalize_2nd_moment(x):
    return x / np.sqrt(np.mean(x**2, axis=1, keepdims=True) + 1e-8)


# --- Generator.

def mapping(v, cfg, z, labels=None, prefix="G_mapping/"):
    """G_mapping: normalise (TF stylegan2 `LabelConcat`: [z, labels @ W] normalised as one vector;
    TF-ADA `LabelEmbed`: z and embed(c) each normalised, then concatenated), dense layers with
    lrmul scaling, lrelu * sqrt 2. Returns w [N, w_dim]."""
    z = z.astype(np.float64)
    if cfg.label_size and prefix + "LabelConcat/weight" in v:
        x = normalize_2nd_moment(np.concatenate([z, np.asarray(labels, np.float64) @ v[prefix + "LabelConcat/weight"]],
                                                axis=1))
    else:
        x = normalize_2nd_moment(z)
    if cfg.label_size and prefix + "LabelEmbed/weight" in v:
        e = labels @ wscale(v[prefix + "LabelEmbed/weight"]) + v[prefix + "LabelEmbed/bias"]
        x = np.concatenate([x, normalize_2nd_moment(e)], axis=1)
    for i in range(cfg.mapping_layers):
        x = bias_act(x @ wscale(v[f"{prefix}Dense{i}/weight"], cfg.mapping_lrmul),
                     v[f"{prefix}Dense{i}/bias"] * cfg.mapping_lrmul, "lrelu")
    return x


def modulated_conv(v, scope, x, w, up=False, demodulate=True, f=None):
    """modulated_conv2d_layer: s = dense(w) + mod_bias + 1; W' = W/sqrt(fan_in) * s[i]; demodulate."""
    weight = wscale(v[scope + "/weight"])                                   # [k,k,I,O]
    s = w @ wscale(v[scope + "/mod_weight"]) + v[scope + "/mod_bias"] + 1   # [N,I]
    ww = weight[None] * s[:, None, None, :, None]                           # [N,k,k,I,O]
    if demodulate:
        ww = ww / np.sqrt(np.sum(ww**2, axis=(1, 2, 3), keepdims=True) + 1e-8)
    if up:
        return conv_up(x, ww, f)
    return correlate(same_pad(x, ww.shape[1]), ww)


def synthesis(v, cfg, ws, noise=None, prefix="G_synthesis/", f=None):
    """G_synthesis_stylegan2 ('orig', 'skip', 'resnet'). ws [N, num_layers, w_dim].

    noise: None = the stored `noise{i}` maps; "none" = no noise; or a list of [N, 1, H, W] arrays."""
    f = fir_filter(cfg.resample_filter) if f is None else f
    R = log2_res(cfg)
    arch = cfg.architecture_g
    n = ws.shape[0]

    def noise_map(i):
        if isinstance(noise, str) and noise == "none":
            return 0.0
        return v[f"{prefix}noise{i}"] if noise is None else noise[i]

    def layer(x, scope, i, up=False):
        x = modulated_conv(v, scope, x, ws[:, i], up=up, f=f)
        x = x + noise_map(i) * v[scope + "/noise_strength"]
        return bias_act(x, v[scope + "/bias"], "lrelu")

    def torgb(x, y, r):
        scope = f"{prefix}{2**r}x{2**r}/ToRGB"
        t = bias_act(modulated_conv(v, scope, x, ws[:, 2 * r - 3], demodulate=False), v[scope + "/bias"], "linear")
        return t if y is None else y + t

    x = np.tile(v[prefix + "4x4/Const/const"], [n, 1, 1, 1])
    x = layer(x, prefix + "4x4/Conv", 0)
    y = torgb(x, None, 2) if arch == "skip" else None
    for r in range(3, R + 1):
        scope = f"{prefix}{2**r}x{2**r}"
        t = x
        x = layer(x, scope + "/Conv0_up", 2 * r - 5, up=True)
        x = layer(x, scope + "/Conv1", 2 * r - 4)
        if arch == "resnet":
            t = conv_up(t, wscale(v[scope + "/Skip/weight"]), f)
            x = (x + t) / SQRT2
        if arch == "skip":
            y = upfirdn(y, f * 4, up=2, pad0=2, pad1=1)
        if arch == "skip" or r == R:
            y = torgb(x, y, r)
    return y


def generator(v, cfg, z, labels=None, psi=1.0, cutoff=None, noise=None):
    """Official G_main: mapping, broadcast, truncation lerp(dlatent_avg, w, psi) on layers < cutoff,
    synthesis. `v` uses the full TF names (`G_mapping/...`, `G_synthesis/...`, `dlatent_avg`)."""
    v = {k: np.asarray(a, np.float64) for k, a in v.items()}
    num_layers = 2 * log2_res(cfg) - 2
    w = mapping(v, cfg, z, labels)
    ws = np.repeat(w[:, None], num_layers, axis=1)
    if psi != 1.0:
        layer = np.arange(num_layers)[None, :, None]
        coefs = np.where(layer < (num_layers if cutoff is None else cutoff), psi, 1.0)
        ws = v["dlatent_avg"] + (ws - v["dlatent_avg"]) * coefs
    return synthesis(v, cfg, ws, noise=noise)


# --- Discriminator.

def discriminator(v, cfg, images_nchw, labels=None, mapping_lrmul=0.1):
    """Official D_stylegan2 / TF-ADA D_main ('orig', 'skip', 'resnet') on NCHW images. Conditional
    (labels [N, c]): D_stylegan2's per-label Output, or with `LabelEmbed` variables D_main's
    projection onto cmap (`Mapping{i}` layers use `mapping_lrmul`: 0.1 is D_main's default,
    ADA's Discriminator uses 0.01). Returns scores [N, 1]."""
    v = {k: np.asarray(a, np.float64) for k, a in v.items()}
    f = fir_filter(cfg.resample_filter)
    R = log2_res(cfg)
    arch = cfg.architecture_d

    def conv(x, scope, k_down=False):
        w = wscale(v[scope + "/weight"])
        return conv_down(x, w, f) if k_down else correlate(same_pad(x, w.shape[0]), w)

    def fromrgb(x, y, r):
        scope = f"{2**r}x{2**r}/FromRGB"
        t = bias_act(conv(y, scope), v[scope + "/bias"], "lrelu")
        return t if x is None else x + t

    x, y = None, images_nchw.astype(np.float64)
    for r in range(R, 2, -1):
        scope = f"{2**r}x{2**r}"
        if arch == "skip" or r == R:
            x = fromrgb(x, y, r)
        t = x
        x = bias_act(conv(x, scope + "/Conv0"), v[scope + "/Conv0/bias"], "lrelu")
        x = bias_act(conv(x, scope + "/Conv1_down", k_down=True), v[scope + "/Conv1_down/bias"], "lrelu")
        if arch == "resnet":
            x = (x + conv(t, scope + "/Skip", k_down=True)) / SQRT2
        if arch == "skip":
            y = upfirdn(y, f, down=2, pad0=1, pad1=1)
    if arch == "skip":
        x = fromrgb(x, y, 2)
    if cfg.mbstd_group_size > 1:
        x = minibatch_stddev(x, cfg.mbstd_group_size, cfg.mbstd_num_features)
    x = bias_act(conv(x, "4x4/Conv"), v["4x4/Conv/bias"], "lrelu")
    x = x.reshape(x.shape[0], -1)                                           # NCHW flatten
    x = bias_act(x @ wscale(v["4x4/Dense0/weight"]), v["4x4/Dense0/bias"], "lrelu")
    x = bias_act(x @ wscale(v["Output/weight"]), v["Output/bias"], "linear")
    if labels is None:
        return x
    labels = np.asarray(labels, np.float64)
    if "LabelEmbed/weight" not in v:                                        # D_stylegan2
        return np.sum(x * labels, axis=1, keepdims=True)
    y = normalize_2nd_moment(labels @ wscale(v["LabelEmbed/weight"]) + v["LabelEmbed/bias"])
    i = 0
    while f"Mapping{i}/weight" in v:
        y = bias_act(y @ wscale(v[f"Mapping{i}/weight"], mapping_lrmul), v[f"Mapping{i}/bias"] * mapping_lrmul, "lrelu")
        i += 1
    return np.sum(x * y, axis=1, keepdims=True) / np.sqrt(y.shape[1])


# --- Official names and shapes (TF, HWIO kernels, dense [in, out]).

def _modconv_shapes(out, scope, cin, cout, k, w_dim, noise=True):
    out[scope + "/weight"] = (k, k, cin, cout)
    out[scope + "/mod_weight"] = (w_dim, cin)
    out[scope + "/mod_bias"] = (cin,)
    if noise:
        out[scope + "/noise_strength"] = ()
    out[scope + "/bias"] = (cout,)


def official_g_shapes(cfg):
    """Every variable of the official TF G (G_main's own, G_mapping/..., G_synthesis/...)."""
    R = log2_res(cfg)
    out = {"lod": (), "dlatent_avg": (cfg.w_dim,)}
    fan_in = cfg.latent_size
    if cfg.label_size and getattr(cfg, "conditioning", "ada") == "stylegan2-tf":
        out["G_mapping/LabelConcat/weight"] = (cfg.label_size, cfg.latent_size)
        fan_in = 2 * cfg.latent_size
    elif cfg.label_size:
        out["G_mapping/LabelEmbed/weight"] = (cfg.label_size, cfg.latent_size)
        out["G_mapping/LabelEmbed/bias"] = (cfg.latent_size,)
        fan_in = 2 * cfg.latent_size
    for i in range(cfg.mapping_layers):
        width = cfg.w_dim if i == cfg.mapping_layers - 1 else cfg.mapping_fmaps
        out[f"G_mapping/Dense{i}/weight"] = (fan_in, width)
        out[f"G_mapping/Dense{i}/bias"] = (width,)
        fan_in = width
    s = "G_synthesis/"
    out[s + "4x4/Const/const"] = (1, nf(cfg, 1), 4, 4)
    _modconv_shapes(out, s + "4x4/Conv", nf(cfg, 1), nf(cfg, 1), 3, cfg.w_dim)
    if cfg.architecture_g == "skip" or R == 2:
        _modconv_shapes(out, s + "4x4/ToRGB", nf(cfg, 1), cfg.num_channels, 1, cfg.w_dim, noise=False)
    for r in range(3, R + 1):
        scope = f"{s}{2**r}x{2**r}"
        cin, cout = nf(cfg, r - 2), nf(cfg, r - 1)
        _modconv_shapes(out, scope + "/Conv0_up", cin, cout, 3, cfg.w_dim)
        _modconv_shapes(out, scope + "/Conv1", cout, cout, 3, cfg.w_dim)
        if cfg.architecture_g == "resnet":
            out[scope + "/Skip/weight"] = (1, 1, cin, cout)
        if cfg.architecture_g == "skip" or r == R:
            _modconv_shapes(out, scope + "/ToRGB", cout, cfg.num_channels, 1, cfg.w_dim, noise=False)
    for i in range(2 * R - 3):
        size = 2 ** ((i + 5) // 2)
        out[f"{s}noise{i}"] = (1, 1, size, size)
    return out


def official_d_shapes(cfg):
    """Every variable of the official TF D. Unconditional: Output [nf(0), 1]. Conditional, by
    `cfg.conditioning`: "stylegan2-tf" Output [nf(0), c]; "ada-tf" (D_main, mapping_layers 0) and
    "ada" (mapping_layers 8) LabelEmbed [c, cmap], Mapping{i} [cmap, cmap], Output [nf(0), cmap],
    cmap = D_main's default mapping_fmaps nf(0)."""
    R = log2_res(cfg)
    out = {}
    for r in range(R, 2, -1):
        scope = f"{2**r}x{2**r}"
        if cfg.architecture_d == "skip" or r == R:
            out[scope + "/FromRGB/weight"] = (1, 1, cfg.num_channels, nf(cfg, r - 1))
            out[scope + "/FromRGB/bias"] = (nf(cfg, r - 1),)
        out[scope + "/Conv0/weight"] = (3, 3, nf(cfg, r - 1), nf(cfg, r - 1))
        out[scope + "/Conv0/bias"] = (nf(cfg, r - 1),)
        out[scope + "/Conv1_down/weight"] = (3, 3, nf(cfg, r - 1), nf(cfg, r - 2))
        out[scope + "/Conv1_down/bias"] = (nf(cfg, r - 2),)
        if cfg.architecture_d == "resnet":
            out[scope + "/Skip/weight"] = (1, 1, nf(cfg, r - 1), nf(cfg, r - 2))
    if cfg.architecture_d == "skip":
        out["4x4/FromRGB/weight"] = (1, 1, cfg.num_channels, nf(cfg, 1))
        out["4x4/FromRGB/bias"] = (nf(cfg, 1),)
    extra = cfg.mbstd_num_features if cfg.mbstd_group_size > 1 else 0
    out["4x4/Conv/weight"] = (3, 3, nf(cfg, 1) + extra, nf(cfg, 1))
    out["4x4/Conv/bias"] = (nf(cfg, 1),)
    out["4x4/Dense0/weight"] = (nf(cfg, 1) * 16, nf(cfg, 0))
    out["4x4/Dense0/bias"] = (nf(cfg, 0),)
    conditioning = getattr(cfg, "conditioning", "ada")
    units = 1
    if cfg.label_size and conditioning == "stylegan2-tf":
        units = cfg.label_size
    elif cfg.label_size:
        units = nf(cfg, 0)
        out["LabelEmbed/weight"] = (cfg.label_size, units)
        out["LabelEmbed/bias"] = (units,)
        for i in range(8 if conditioning == "ada" else 0):
            out[f"Mapping{i}/weight"] = (units, units)
            out[f"Mapping{i}/bias"] = (units,)
    out["Output/weight"] = (nf(cfg, 0), units)
    out["Output/bias"] = (units,)
    return out


def random_official_variables(shapes, seed=0, mapping_lrmul=0.01):
    """Random values for every official variable. Mapping weights ~ N(0, 1/lrmul) as the official
    init, and every bias, mod_bias, noise strength, noise map and the average w non-zero."""
    rng = np.random.default_rng(seed)
    out = {}
    for name, shape in shapes.items():
        if name.endswith("lod"):
            value = np.zeros(shape)
        elif re.search(r"(^|/)(G_)?mapping/(Dense\d+|LabelEmbed)/|^Mapping\d+/", name):
            value = rng.normal(0.0, 1.0 / mapping_lrmul, shape) * (0.5 if name.endswith("bias") else 1.0)
        elif name.endswith("mod_bias"):
            value = rng.normal(0.0, 0.5, shape)
        elif name.endswith("noise_strength"):
            value = rng.normal(0.0, 0.5, shape)
        else:
            value = rng.normal(0.0, 1.0, shape) * (0.3 if name.endswith("bias") else 1.0)
        out[name] = np.asarray(value, np.float32)
    return out


# --- stylegan2-ada-pytorch legacy.py TF -> PyTorch names.

def _oihw(w):
    return np.ascontiguousarray(np.transpose(w, (3, 2, 0, 1)))


def _flip(w):
    return w[::-1, ::-1]


def tf_to_ada_state_dict(tf_vars, kind, resample_filter=(1, 3, 3, 1), buffers=True):
    """The stylegan2-ada-pytorch state_dict that `legacy.py` builds from TF variables.

    kind: "G" (names with G_mapping/ G_synthesis/ or mapping/ synthesis/ prefixes, dlatent_avg, lod)
    or "D". buffers: also add the `resample_filter` buffers of a real ADA state_dict."""
    v = {}
    for name, value in tf_vars.items():
        name = re.sub(r"^G_(mapping|synthesis)/", r"\1/", name)
        v[name] = np.asarray(value, np.float32)
    out = {}
    filt = fir_filter(resample_filter).astype(np.float32)
    if kind == "G":
        for name, value in v.items():
            m = re.fullmatch(r"mapping/Dense(\d+)/(weight|bias)", name)
            if m:
                out[f"mapping.fc{m[1]}.{m[2]}"] = value.T if m[2] == "weight" else value
            m = re.fullmatch(r"mapping/LabelEmbed/(weight|bias)", name)
            if m:
                out[f"mapping.embed.{m[1]}"] = value.T if m[1] == "weight" else value
            if name.startswith("mapping/LabelConcat/"):
                raise ValueError("legacy.py has no conversion of TF stylegan2's LabelConcat")
        out["mapping.w_avg"] = v["dlatent_avg"]
        res = sorted({int(m[1]) for n in v for m in [re.fullmatch(r"synthesis/(\d+)x\d+/.*", n)] if m})
        for r in res:
            b, s = f"synthesis.b{r}", f"synthesis/{r}x{r}"
            r2 = int(np.log2(r))
            if r == 4:
                out[b + ".const"] = v[s + "/Const/const"][0]
                layers = [("conv1", "Conv", 0, False)]
            else:
                layers = [("conv0", "Conv0_up", 2 * r2 - 5, True), ("conv1", "Conv1", 2 * r2 - 4, False)]
            for ada, tf, i, flip in layers:
                w = v[f"{s}/{tf}/weight"]
                out[f"{b}.{ada}.weight"] = _oihw(_flip(w) if flip else w)
                out[f"{b}.{ada}.bias"] = v[f"{s}/{tf}/bias"]
                out[f"{b}.{ada}.noise_const"] = v[f"synthesis/noise{i}"][0, 0]
                out[f"{b}.{ada}.noise_strength"] = v[f"{s}/{tf}/noise_strength"]
                out[f"{b}.{ada}.affine.weight"] = v[f"{s}/{tf}/mod_weight"].T
                out[f"{b}.{ada}.affine.bias"] = v[f"{s}/{tf}/mod_bias"] + 1
                if buffers:
                    out[f"{b}.{ada}.resample_filter"] = filt
            if s + "/ToRGB/weight" in v:
                out[b + ".torgb.weight"] = _oihw(v[s + "/ToRGB/weight"])
                out[b + ".torgb.bias"] = v[s + "/ToRGB/bias"]
                out[b + ".torgb.affine.weight"] = v[s + "/ToRGB/mod_weight"].T
                out[b + ".torgb.affine.bias"] = v[s + "/ToRGB/mod_bias"] + 1
            if s + "/Skip/weight" in v:
                out[b + ".skip.weight"] = _oihw(_flip(v[s + "/Skip/weight"]))
                if buffers:
                    out[b + ".skip.resample_filter"] = filt
            if buffers:
                out[b + ".resample_filter"] = filt
        return {k: np.array(a, np.float32) for k, a in out.items()}
    if kind != "D":
        raise ValueError(f"kind must be 'G' or 'D'. Received: kind={kind!r}")
    for name, value in v.items():
        m = re.fullmatch(r"(\d+)x\d+/(FromRGB|Conv0|Conv1_down|Skip|Conv)/(weight|bias)", name)
        if m:
            r, layer, what = m.groups()
            ada = {"FromRGB": "fromrgb", "Conv0": "conv0", "Conv1_down": "conv1", "Skip": "skip", "Conv": "conv"}[layer]
            out[f"b{r}.{ada}.{what}"] = _oihw(value) if what == "weight" else value
            if buffers and what == "weight":
                out[f"b{r}.{ada}.resample_filter"] = filt
            if buffers and r != "4":
                out[f"b{r}.resample_filter"] = filt
            continue
        m = re.fullmatch(r"(4x4/Dense0|Output|LabelEmbed|Mapping\d+)/(weight|bias)", name)
        if m:
            ada = {"4x4/Dense0": "b4.fc", "Output": "b4.out", "LabelEmbed": "mapping.embed"}.get(
                m[1], f"mapping.fc{m[1][len('Mapping'):]}")
            out[f"{ada}.{m[2]}"] = value.T if m[2] == "weight" else value
            continue
        if name != "lod":
            raise ValueError(f"No ADA name for TF D variable {name!r}")
    return {k: np.array(a, np.float32) for k, a in out.items()}
