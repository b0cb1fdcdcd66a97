"""An independent numpy model of the official StyleGAN3 ops, for equivalence tests.

Written from the official semantics (`torch_utils/ops/upfirdn2d.py` reference path,
`filtered_lrelu._filtered_lrelu_ref`): zero insertion, pad/crop, a true convolution with
the (separable or 2-D) filter, subsampling; NHWC here. Slow and simple on purpose:
loops over filter taps, float64.
"""

from __future__ import annotations

import numpy as np


def upfirdn2d(x, f, up=1, down=1, padding=(0, 0, 0, 0), gain=1.0):
    """x [N, H, W, C]; f None, [taps] (separable) or [taps, taps]; padding (x0, x1, y0, y1)."""
    n, h, w, c = x.shape
    z = np.zeros((n, h * up, w * up, c))
    z[:, ::up, ::up] = x
    px0, px1, py0, py1 = padding
    z = np.pad(z, [[0, 0], [max(py0, 0), max(py1, 0)], [max(px0, 0), max(px1, 0)], [0, 0]])
    z = z[:, max(-py0, 0):z.shape[1] - max(-py1, 0), max(-px0, 0):z.shape[2] - max(-px1, 0)]
    f = np.ones([1, 1]) if f is None else np.asarray(f, np.float64)
    f2 = (np.outer(f, f) if f.ndim == 1 else f) * gain
    g = f2[::-1, ::-1]                       # convolution = correlation with the flipped filter
    kh, kw = g.shape
    out_h, out_w = z.shape[1] - kh + 1, z.shape[2] - kw + 1
    out = np.zeros((n, out_h, out_w, c))
    for i in range(kh):
        for j in range(kw):
            out += z[:, i:i + out_h, j:j + out_w] * g[i, j]
    return out[:, ::down, ::down]


def filtered_lrelu(x, fu, fd, b=None, up=1, down=1, padding=(0, 0), gain=np.sqrt(2), slope=0.2, clamp=None):
    """Official `_filtered_lrelu_ref`: bias, upfirdn2d up (gain up^2), lrelu * gain, clamp, upfirdn2d down."""
    x = np.asarray(x, np.float64) + (0 if b is None else np.asarray(b, np.float64))
    x = upfirdn2d(x, fu, up=up, padding=(padding[0], padding[1], padding[0], padding[1]), gain=up**2)
    x = np.where(x < 0, x * slope, x) * gain
    if clamp is not None:
        x = np.clip(x, -clamp, clamp)
    return upfirdn2d(x, fd, down=down)


# The generator (official `networks_stylegan3.py` forward), NCHW, torch layouts ------------------

def schedule(kw):
    """Official `SynthesisNetwork.__init__` / `SynthesisLayer.__init__` values, per layer (dicts)."""
    res, n, n_crit = kw["img_resolution"], kw.get("num_layers", 14), kw.get("num_critical", 2)
    last_cutoff = res / 2
    last_stopband = last_cutoff * 2**0.3
    e = np.minimum(np.arange(n + 1) / (n - n_crit), 1)
    cutoffs = 2 * (last_cutoff / 2) ** e
    stopbands = 2**2.1 * (last_stopband / 2**2.1) ** e
    rates = np.exp2(np.ceil(np.log2(np.minimum(stopbands * 2, res))))
    half_widths = np.maximum(stopbands, rates / 2) - cutoffs
    sizes = rates + 20
    sizes[-2:] = res
    channels = np.rint(np.minimum((kw["channel_base"] / 2) / cutoffs, kw["channel_max"]))
    channels[-1] = kw.get("img_channels", 3)
    layers = []
    for i in range(n + 1):
        p = max(i - 1, 0)
        torgb = i == n
        tmp = max(rates[p], rates[i]) * (1 if torgb else 2)
        up, down = int(np.rint(tmp / rates[p])), int(np.rint(tmp / rates[i]))
        k = 1 if torgb else kw.get("conv_kernel", 3)
        up_taps = 6 * up if up > 1 and not torgb else 1
        down_taps = 6 * down if down > 1 and not torgb else 1
        total = (sizes[i] - 1) * down + 1 - (sizes[p] + k - 1) * up + up_taps + down_taps - 2
        lo = (total + up) // 2
        layers.append(dict(
            name=f"L{i}_{int(sizes[i])}_{int(channels[i])}", torgb=torgb, in_ch=int(channels[p]),
            out_ch=int(channels[i]), kernel=k, up=up, down=down, up_taps=up_taps, down_taps=down_taps, tmp=tmp,
            in_cutoff=cutoffs[p], out_cutoff=cutoffs[i], in_hw=half_widths[p], out_hw=half_widths[i],
            radial=kw.get("use_radial_filters", False) and i < n - n_crit, padding=(int(lo), int(total - lo))))
    return dict(layers=layers, channels0=int(channels[0]), size0=int(sizes[0]), rate0=rates[0],
                bandwidth=cutoffs[0])


def design_filter(numtaps, cutoff, width, fs, radial=False):
    """Official `design_lowpass_filter`."""
    import scipy.signal
    import scipy.special
    if numtaps == 1:
        return None
    if not radial:
        return scipy.signal.firwin(numtaps=numtaps, cutoff=cutoff, width=width, fs=fs)
    x = (np.arange(numtaps) - (numtaps - 1) / 2) / fs
    r = np.hypot(*np.meshgrid(x, x))
    f = scipy.special.j1(2 * cutoff * (np.pi * r)) / (np.pi * r)
    beta = scipy.signal.kaiser_beta(scipy.signal.kaiser_atten(numtaps, width / (fs / 2)))
    w = np.kaiser(numtaps, beta)
    f *= np.outer(w, w)
    return f / np.sum(f)


def random_state(kw, rng):
    """An official G `state_dict` with random values everywhere (identity-free affines, EMAs, transform)."""
    sch = schedule(kw)
    z_dim, c_dim, w_dim = kw["z_dim"], kw.get("c_dim", 0), kw["w_dim"]
    s = {}
    features = [z_dim + (w_dim if c_dim else 0)] + [w_dim] * kw["mapping_kwargs"]["num_layers"]
    for i, (a, b) in enumerate(zip(features[:-1], features[1:])):
        s[f"mapping.fc{i}.weight"] = rng.standard_normal((b, a)) / 0.01
        s[f"mapping.fc{i}.bias"] = rng.standard_normal(b) * 10
    if c_dim:
        s["mapping.embed.weight"] = rng.standard_normal((w_dim, c_dim))
        s["mapping.embed.bias"] = rng.standard_normal(w_dim) * 0.1
    s["mapping.w_avg"] = rng.standard_normal(w_dim) * 0.3
    c0 = sch["channels0"]
    freqs = rng.standard_normal((c0, 2))
    radii = np.sqrt(np.sum(freqs**2, axis=1, keepdims=True))
    s["synthesis.input.freqs"] = freqs / (radii * np.exp(radii**2) ** 0.25) * sch["bandwidth"]
    s["synthesis.input.phases"] = rng.uniform(-0.5, 0.5, c0)
    s["synthesis.input.weight"] = rng.standard_normal((c0, c0))
    s["synthesis.input.affine.weight"] = rng.standard_normal((4, w_dim)) * 0.3
    s["synthesis.input.affine.bias"] = np.array([1.0, 0.2, 0.05, -0.03])
    angle = 0.3
    s["synthesis.input.transform"] = np.array([[np.cos(angle), np.sin(angle), 0.04],
                                               [-np.sin(angle), np.cos(angle), -0.02], [0, 0, 1]])
    for L in sch["layers"]:
        p = f"synthesis.{L['name']}."
        s[p + "weight"] = rng.standard_normal((L["out_ch"], L["in_ch"], L["kernel"], L["kernel"]))
        s[p + "bias"] = rng.standard_normal(L["out_ch"]) * 0.2
        s[p + "magnitude_ema"] = np.array(rng.uniform(0.5, 2.0))
        s[p + "affine.weight"] = rng.standard_normal((L["in_ch"], w_dim))
        s[p + "affine.bias"] = 1 + rng.standard_normal(L["in_ch"]) * 0.1
        fu = design_filter(L["up_taps"], L["in_cutoff"], L["in_hw"] * 2, L["tmp"])
        fd = design_filter(L["down_taps"], L["out_cutoff"], L["out_hw"] * 2, L["tmp"], radial=L["radial"])
        if fu is not None:
            s[p + "up_filter"] = fu
        if fd is not None:
            s[p + "down_filter"] = fd
    return {k: np.asarray(v, np.float32) for k, v in s.items()}


def _fc(s, name, x, lr=1.0, act=False):
    w, b = s[name + ".weight"].astype(np.float64), s[name + ".bias"].astype(np.float64)
    y = x @ (w * (lr / np.sqrt(w.shape[1]))).T + b * lr
    return np.where(y < 0, 0.2 * y, y) * np.sqrt(2) if act else y


def _norm(x):
    return x / np.sqrt(np.mean(x**2, axis=1, keepdims=True) + 1e-8)


def mapping(s, kw, z, c=None, psi=1.0, cutoff=None):
    """Official `MappingNetwork.forward` (no EMA update): [N, num_ws, w_dim]."""
    num_ws = kw.get("num_layers", 14) + 2
    x = _norm(np.asarray(z, np.float64))
    if kw.get("c_dim", 0):
        x = np.concatenate([x, _norm(_fc(s, "mapping.embed", np.asarray(c, np.float64)))], axis=1)
    for i in range(kw["mapping_kwargs"]["num_layers"]):
        x = _fc(s, f"mapping.fc{i}", x, lr=0.01, act=True)
    ws = np.repeat(x[:, None], num_ws, axis=1)
    cutoff = num_ws if cutoff is None else cutoff
    w_avg = s["mapping.w_avg"].astype(np.float64)
    ws[:, :cutoff] = w_avg + (ws[:, :cutoff] - w_avg) * psi
    return ws


def synthesis_input(s, sch, w):
    t = _fc(s, "synthesis.input.affine", w)
    t = t / np.linalg.norm(t[:, :2], axis=1, keepdims=True)
    n = w.shape[0]
    m_r = np.tile(np.eye(3), [n, 1, 1])
    m_r[:, 0, 0], m_r[:, 0, 1], m_r[:, 1, 0], m_r[:, 1, 1] = t[:, 0], -t[:, 1], t[:, 1], t[:, 0]
    m_t = np.tile(np.eye(3), [n, 1, 1])
    m_t[:, 0, 2], m_t[:, 1, 2] = -t[:, 2], -t[:, 3]
    transforms = m_r @ m_t @ s["synthesis.input.transform"].astype(np.float64)[None]
    freqs = s["synthesis.input.freqs"].astype(np.float64)[None]
    phases = s["synthesis.input.phases"].astype(np.float64)[None] + (freqs @ transforms[:, :2, 2:])[..., 0]
    freqs = freqs @ transforms[:, :2, :2]
    bw, rate, size = sch["bandwidth"], sch["rate0"], sch["size0"]
    amplitudes = np.clip(1 - (np.linalg.norm(freqs, axis=2) - bw) / (rate / 2 - bw), 0, 1)
    base = (2 * np.arange(size) + 1) / size - 1            # affine_grid, align_corners=False
    gx, gy = np.meshgrid(base * 0.5 * size / rate, base * 0.5 * size / rate)
    x = gx[None, :, :, None] * freqs[:, None, None, :, 0] + gy[None, :, :, None] * freqs[:, None, None, :, 1]
    x = np.sin((x + phases[:, None, None, :]) * 2 * np.pi) * amplitudes[:, None, None, :]
    weight = s["synthesis.input.weight"].astype(np.float64)
    x = x @ (weight / np.sqrt(weight.shape[0])).T           # [N, H, W, C]
    return np.transpose(x, (0, 3, 1, 2))


def synthesis_layer(s, L, x, w, conv_clamp=256):
    p = f"synthesis.{L['name']}."
    gain_in = 1 / np.sqrt(float(s[p + "magnitude_ema"]))
    styles = _fc(s, p + "affine", w)
    weight = s[p + "weight"].astype(np.float64)
    if L["torgb"]:
        styles = styles / np.sqrt(L["in_ch"] * L["kernel"] ** 2)
    else:
        weight = weight / np.sqrt(np.mean(weight**2, axis=(1, 2, 3), keepdims=True))
        styles = styles / np.sqrt(np.mean(styles**2))
    n, k = x.shape[0], L["kernel"]
    out = []
    for b in range(n):                                      # grouped conv: one kernel per sample
        wb = weight * styles[b][None, :, None, None]
        if not L["torgb"]:
            wb = wb / np.sqrt(np.sum(wb**2, axis=(1, 2, 3), keepdims=True) + 1e-8)
        wb = wb * gain_in
        xp = np.pad(x[b], [[0, 0], [k - 1, k - 1], [k - 1, k - 1]])
        h, wd = xp.shape[1] - k + 1, xp.shape[2] - k + 1
        y = np.zeros((L["out_ch"], h, wd))
        for i in range(k):
            for j in range(k):
                y += np.einsum("oi,ihw->ohw", wb[:, :, i, j], xp[:, i:i + h, j:j + wd])
        out.append(y)
    y = np.transpose(np.stack(out), (0, 2, 3, 1))
    y = filtered_lrelu(y, s.get(p + "up_filter"), s.get(p + "down_filter"), s[p + "bias"], L["up"], L["down"],
                       L["padding"], gain=1 if L["torgb"] else np.sqrt(2), slope=1 if L["torgb"] else 0.2,
                       clamp=conv_clamp)
    return np.transpose(y, (0, 3, 1, 2))


def generator(s, kw, z, c=None, psi=1.0, cutoff=None):
    """Official `Generator.forward` in float64: images NHWC (ours), computed NCHW."""
    sch = schedule(kw)
    ws = mapping(s, kw, z, c, psi, cutoff)
    x = synthesis_input(s, sch, ws[:, 0])
    for L, w in zip(sch["layers"], np.moveaxis(ws[:, 1:], 1, 0)):
        x = synthesis_layer(s, L, x, w, kw.get("conv_clamp", 256))
    return np.transpose(x * 0.25, (0, 2, 3, 1))
