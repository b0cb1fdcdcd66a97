"""The alias-free layer schedule and its low-pass filters (paper sec. 3-4 and appendix F;
official `SynthesisNetwork.__init__`, `SynthesisLayer.__init__`, `design_lowpass_filter`).

Layer i of N (= `synthesis_layers`, 14) has, with e_i = min(i / (N - N_crit), 1):

    cutoff          f_c = first_cutoff * (res/2 / first_cutoff) ** e_i
    stopband        f_t = first_stopband * (res/2 * last_stopband_rel / first_stopband) ** e_i
    sampling rate   s   = 2 ** ceil(log2(min(2 f_t, res)))
    half-width      f_h = max(f_t, s/2) - f_c
    size            s + 2 * margin (the last two: res);  channels rint(min(base/2 / f_c, max)), last 3

Each layer runs its leaky ReLU at tmp = max(s_in, s_out) * lrelu_upsampling (ToRGB: x1), so
it upsamples by tmp / s_in and downsamples by tmp / s_out with filters of
filter_size * factor taps. Filters are Kaiser-windowed sincs from `scipy.signal.firwin`
(separable), or for R's non-critical downsampling a jinc times the separable Kaiser window.
Pure numpy/scipy: no Keras here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.signal
import scipy.special


@dataclass(frozen=True)
class BandSchedule:
    """Per-layer frequencies and shapes, index 0 = the Fourier input / first layer, N = ToRGB."""

    cutoffs:        np.ndarray   # f_c[i]
    stopbands:      np.ndarray   # f_t[i]
    sampling_rates: np.ndarray   # s[i]
    half_widths:    np.ndarray   # f_h[i]
    sizes:          np.ndarray   # spatial size of layer i's output
    channels:       np.ndarray   # feature maps of layer i's output


def band_schedule(config) -> BandSchedule:
    """The geometric progression of cutoffs and stopbands and what follows from it (a `StyleGAN3Config`)."""
    c = config
    n = c.synthesis_layers
    last_cutoff = c.resolution / 2
    last_stopband = last_cutoff * c.last_stopband_rel
    exponents = np.minimum(np.arange(n + 1) / (n - c.num_critical), 1)
    cutoffs = c.first_cutoff * (last_cutoff / c.first_cutoff) ** exponents
    stopbands = c.first_stopband * (last_stopband / c.first_stopband) ** exponents
    sampling_rates = np.exp2(np.ceil(np.log2(np.minimum(stopbands * 2, c.resolution))))
    half_widths = np.maximum(stopbands, sampling_rates / 2) - cutoffs
    sizes = sampling_rates + c.margin_size * 2
    sizes[-2:] = c.resolution
    channels = np.rint(np.minimum((c.g_channel_base / 2) / cutoffs, c.g_channel_max))
    channels[-1] = c.num_channels
    return BandSchedule(cutoffs, stopbands, sampling_rates, half_widths, sizes.astype(int), channels.astype(int))


@dataclass(frozen=True)
class LayerSpec:
    """Everything that fixes one `SynthesisLayer` (official constructor arguments and derived values)."""

    index:              int
    name:               str     # Official module name L{i}_{out_size}_{out_channels}.
    is_torgb:           bool
    is_critically_sampled: bool
    use_fp16:           bool
    in_channels:        int
    out_channels:       int
    in_size:            int
    out_size:           int
    in_sampling_rate:   int
    out_sampling_rate:  int
    tmp_sampling_rate:  int     # Rate of the leaky ReLU.
    in_cutoff:          float
    out_cutoff:         float
    in_half_width:      float
    out_half_width:     float
    conv_kernel:        int
    up_factor:          int
    down_factor:        int
    up_taps:            int     # 1 = no filter.
    down_taps:          int
    down_radial:        bool
    padding:            tuple   # (lo, hi) on the upsampled grid, both axes.

    def up_filter(self) -> np.ndarray | None:
        """Separable upsampling filter [up_taps] (float32), None = identity."""
        return lowpass_filter(self.up_taps, self.in_cutoff, self.in_half_width * 2, self.tmp_sampling_rate)

    def down_filter(self) -> np.ndarray | None:
        """Downsampling filter: [down_taps] separable, [down_taps, down_taps] radial, None = identity."""
        return lowpass_filter(self.down_taps, self.out_cutoff, self.out_half_width * 2, self.tmp_sampling_rate,
                              radial=self.down_radial)


def layer_specs(config) -> list[LayerSpec]:
    """The N + 1 synthesis layers (the last is ToRGB) of a `StyleGAN3Config`."""
    c = config
    b = band_schedule(c)
    n = c.synthesis_layers
    specs = []
    for i in range(n + 1):
        prev = max(i - 1, 0)
        is_torgb = i == n
        s_in, s_out = int(b.sampling_rates[prev]), int(b.sampling_rates[i])
        tmp = max(s_in, s_out) * (1 if is_torgb else c.lrelu_upsampling)
        up, down = tmp // s_in, tmp // s_out
        if up * s_in != tmp or down * s_out != tmp:
            raise ValueError(f"Layer {i}: sampling rates {s_in} -> {tmp} -> {s_out} are not integer multiples")
        up_taps = c.filter_size * up if up > 1 and not is_torgb else 1
        down_taps = c.filter_size * down if down > 1 and not is_torgb else 1
        kernel = 1 if is_torgb else c.conv_kernel
        in_size, out_size = int(b.sizes[prev]), int(b.sizes[i])
        # Official padding: the sizes before and after the filters agree; the low side gets
        # the extra up // 2 samples (symmetric interpretation, appendix C.3).
        total = (out_size - 1) * down + 1 - (in_size + kernel - 1) * up + up_taps + down_taps - 2
        lo = (total + up) // 2
        is_critical = i >= n - c.num_critical
        specs.append(LayerSpec(
            index=i, name=f"L{i}_{out_size}_{int(b.channels[i])}", is_torgb=is_torgb,
            is_critically_sampled=is_critical, use_fp16=bool(s_out * 2**c.num_fp16_res > c.resolution),
            in_channels=int(b.channels[prev]), out_channels=int(b.channels[i]), in_size=in_size, out_size=out_size,
            in_sampling_rate=s_in, out_sampling_rate=s_out, tmp_sampling_rate=tmp,
            in_cutoff=float(b.cutoffs[prev]), out_cutoff=float(b.cutoffs[i]),
            in_half_width=float(b.half_widths[prev]), out_half_width=float(b.half_widths[i]),
            conv_kernel=kernel, up_factor=up, down_factor=down, up_taps=up_taps, down_taps=down_taps,
            down_radial=c.use_radial_filters and not is_critical, padding=(int(lo), int(total - lo))))
    return specs


def lowpass_filter(numtaps: int, cutoff: float, width: float, fs: float, radial: bool = False) -> np.ndarray | None:
    """Kaiser-windowed low-pass filter (official `design_lowpass_filter`), float32; None for 1 tap.

    Separable: `scipy.signal.firwin(numtaps, cutoff, width=width, fs=fs)` (a windowed sinc with
    the Kaiser beta for the transition width, normalised to unit DC gain), [numtaps].
    Radial: jinc(2 f_c r) = J1(2 pi f_c r) / (pi r) on the 2-D tap grid, times the outer
    product of the Kaiser window of the same attenuation, normalised to sum 1, [numtaps, numtaps].
    """
    if numtaps < 1:
        raise ValueError(f"numtaps must be at least 1. Received: numtaps={numtaps}")
    if numtaps == 1:
        return None
    if not radial:
        return scipy.signal.firwin(numtaps=numtaps, cutoff=cutoff, width=width, fs=fs).astype(np.float32)
    x = (np.arange(numtaps) - (numtaps - 1) / 2) / fs
    r = np.hypot(*np.meshgrid(x, x))
    f = scipy.special.j1(2 * cutoff * (np.pi * r)) / (np.pi * r)
    beta = scipy.signal.kaiser_beta(scipy.signal.kaiser_atten(numtaps, width / (fs / 2)))
    window = np.kaiser(numtaps, beta)
    f = f * np.outer(window, window)
    return (f / np.sum(f)).astype(np.float32)
