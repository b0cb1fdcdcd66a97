"""StyleGAN3 layer schedule, filter design and filtered leaky ReLU against the official formulas."""

import numpy as np
import pytest
import scipy.signal

from stylegan_tf.errors import UserError
from stylegan_tf.networks.stylegan3.config import StyleGAN3Config
from stylegan_tf.networks.stylegan3.filtered_lrelu import filtered_lrelu, output_size
from stylegan_tf.networks.stylegan3.filters import band_schedule, layer_specs, lowpass_filter
from tests import stylegan3_reference as ref

# Official T at 1024 (facts 4.2; matches a public printout of the official module):
# name, s, f_c, f_t, f_h, out size, channels, up, down.
T_1024 = [
    ("L0_36_512", 16, 2.00, 4.29, 6.00, 36, 512, 2, 2),
    ("L1_36_512", 16, 3.17, 6.50, 4.83, 36, 512, 2, 2),
    ("L2_52_512", 32, 5.04, 9.85, 10.96, 52, 512, 4, 2),
    ("L3_52_512", 32, 8.00, 14.93, 8.00, 52, 512, 2, 2),
    ("L4_84_512", 64, 12.70, 22.63, 19.30, 84, 512, 4, 2),
    ("L5_148_512", 128, 20.16, 34.30, 43.84, 148, 512, 4, 2),
    ("L6_148_512", 128, 32.00, 51.98, 32.00, 148, 512, 2, 2),
    ("L7_276_323", 256, 50.80, 78.79, 77.20, 276, 323, 4, 2),
    ("L8_276_203", 256, 80.63, 119.43, 47.37, 276, 203, 2, 2),
    ("L9_532_128", 512, 128.00, 181.02, 128.00, 532, 128, 4, 2),
    ("L10_1044_81", 1024, 203.19, 274.37, 308.81, 1044, 81, 4, 2),
    ("L11_1044_51", 1024, 322.54, 415.87, 189.46, 1044, 51, 2, 2),
    ("L12_1044_32", 1024, 512.00, 630.35, 118.35, 1044, 32, 2, 2),
    ("L13_1024_32", 1024, 512.00, 630.35, 118.35, 1024, 32, 2, 2),
    ("L14_1024_3", 1024, 512.00, 630.35, 118.35, 1024, 3, 1, 1),
]


def test_t_schedule_at_1024_matches_the_official_table():
    config = StyleGAN3Config()
    bands = band_schedule(config)
    specs = layer_specs(config)
    assert len(specs) == 15 and config.num_ws == 16
    for spec, row in zip(specs, T_1024):
        name, rate, cutoff, stopband, half_width, size, channels, up, down = row
        i = spec.index
        assert spec.name == name
        assert spec.out_sampling_rate == rate and spec.out_size == size and spec.out_channels == channels
        np.testing.assert_allclose([spec.out_cutoff, bands.stopbands[i], spec.out_half_width],
                                   [cutoff, stopband, half_width], atol=0.006)
        assert (spec.up_factor, spec.down_factor) == (up, down)
        # Taps: filter_size (6) x factor; ToRGB has none.
        assert spec.up_taps == (6 * up if i < 14 else 1) and spec.down_taps == (6 * down if i < 14 else 1)
        assert spec.conv_kernel == (3 if i < 14 else 1)
        assert spec.is_critically_sampled == (i >= 12)
        assert spec.use_fp16 == (i >= 5)                  # s * 2**4 > 1024 from L5 on
        assert spec.down_radial is False
        # The official padding gives exactly the declared output size.
        assert output_size(spec.in_size + spec.conv_kernel - 1, spec.up_taps, spec.down_taps, up, down,
                           spec.padding) == size
    assert specs[0].in_size == 36 and specs[0].in_sampling_rate == 16 and specs[0].in_cutoff == 2
    assert specs[13].padding == (-11, -12) and specs[0].padding == (9, 8) and specs[2].padding == (-6, -9)


def test_r_doubles_the_channels_and_uses_radial_filters_in_the_non_critical_layers():
    specs = layer_specs(StyleGAN3Config(cfg="r"))
    assert [s.out_channels for s in specs] == [1024] * 7 + [645, 406, 256, 161, 102, 64, 64, 3]
    assert [s.down_radial for s in specs] == [True] * 12 + [False] * 3
    assert all(s.conv_kernel == 1 for s in specs)
    assert specs[3].down_filter().shape == (12, 12) and specs[12].down_filter().shape == (12,)
    # Same sampling rates and cutoffs as T.
    t_specs = layer_specs(StyleGAN3Config())
    assert [s.out_sampling_rate for s in specs] == [s.out_sampling_rate for s in t_specs]


def test_separable_filters_are_the_scipy_kaiser_design_with_unit_dc_gain_and_a_stopband():
    for spec in layer_specs(StyleGAN3Config())[:14]:
        for f, taps, cutoff, half_width in [(spec.up_filter(), spec.up_taps, spec.in_cutoff, spec.in_half_width),
                                            (spec.down_filter(), spec.down_taps, spec.out_cutoff,
                                             spec.out_half_width)]:
            assert f.shape == (taps,) and f.dtype == np.float32
            np.testing.assert_allclose(f, scipy.signal.firwin(taps, cutoff, width=2 * half_width,
                                                              fs=spec.tmp_sampling_rate), atol=1e-7)
            np.testing.assert_allclose(f, f[::-1], atol=1e-7)          # linear phase
            freqs, response = scipy.signal.freqz(f, worN=2048, fs=spec.tmp_sampling_rate)
            assert abs(abs(response[0]) - 1) < 1e-5
            assert np.abs(response[freqs >= cutoff + half_width]).max() < 0.05


def test_radial_filter_is_a_windowed_jinc_normalised_and_rotation_symmetric():
    f = lowpass_filter(12, 20.16, 2 * 43.84, 256, radial=True)
    assert f.shape == (12, 12)
    assert abs(f.sum() - 1) < 1e-5
    np.testing.assert_allclose(f, f.T, atol=1e-7)
    np.testing.assert_allclose(f, f[::-1, ::-1], atol=1e-7)
    # Frequency response depends (nearly) on |f| only: along an axis vs along the diagonal.
    def response(fx, fy):
        n = np.arange(12) - 5.5
        phase = np.exp(-2j * np.pi * (fx * n[None, :] + fy * n[:, None]) / 256)
        return abs(np.sum(f * phase))
    for radius in (10.0, 30.0, 60.0):
        assert abs(response(radius, 0) - response(radius / np.sqrt(2), radius / np.sqrt(2))) < 0.03
    # It is not the separable design.
    separable = lowpass_filter(12, 20.16, 2 * 43.84, 256)
    assert np.abs(f - np.outer(separable, separable)).max() > 1e-3
    assert lowpass_filter(1, 2, 3, 16) is None
    with pytest.raises(ValueError, match="numtaps"):
        lowpass_filter(0, 2, 3, 16)


@pytest.mark.parametrize("up,down,padding,radial,size", [
    (2, 2, (9, 8), False, 20), (4, 2, (-6, -9), False, 20), (2, 2, (-11, -12), False, 30),
    (4, 2, (-6, -9), True, 30), (2, 2, (9, 8), True, 20), (1, 1, (0, 0), False, 12), (3, 2, (2, -1), False, 16)])
def test_filtered_lrelu_matches_the_official_reference(up, down, padding, radial, size):
    rng = np.random.default_rng(up * 10 + down)
    x = rng.normal(size=(2, size, size, 3)).astype(np.float32)
    b = rng.normal(size=3).astype(np.float32)
    fu = lowpass_filter(6 * up, 2, 3, 16 * up) if up > 1 else None
    fd = lowpass_filter(6 * down, 2, 3, 16 * up, radial=radial) if down > 1 else None
    ours = np.asarray(filtered_lrelu(x, fu, fd, b, up, down, padding, clamp=1.5))
    theirs = ref.filtered_lrelu(x, fu, fd, b, up, down, padding, clamp=1.5)
    assert ours.shape == theirs.shape
    assert ours.shape[1] == output_size(size, fu.size if up > 1 else 1, 1 if fd is None else fd.shape[0],
                                        up, down, padding)
    np.testing.assert_allclose(ours, theirs, atol=1e-5)


def test_toRGB_form_is_bias_and_clamp_only():
    x = np.random.default_rng(0).normal(size=(1, 5, 5, 2)).astype(np.float32) * 3
    y = np.asarray(filtered_lrelu(x, None, None, np.array([0.5, -0.5], np.float32), gain=1, slope=1, clamp=2.0))
    np.testing.assert_allclose(y, np.clip(x + [0.5, -0.5], -2, 2), atol=1e-6)


def _sinusoids(size, rate, f0):
    pos = (np.arange(size) + 0.5 - size / 2) / rate
    return np.cos(2 * np.pi * f0 * pos + 0.3)[None, :] + 0.5 * np.cos(2 * np.pi * 0.8 * f0 * pos[:, None] - 1)


def _energy_above(image, rate, frequency):
    """Fraction of the (Hann-windowed) spectral energy with max(|f_x|, |f_y|) above `frequency`."""
    image = image[4:-4, 4:-4]
    n = image.shape[0]
    spectrum = np.abs(np.fft.fft2((image - image.mean()) * np.outer(np.hanning(n), np.hanning(n)))) ** 2
    fx, fy = np.meshgrid(np.fft.fftfreq(n, 1 / rate), np.fft.fftfreq(n, 1 / rate))
    return spectrum[np.maximum(abs(fx), abs(fy)) > frequency].sum() / spectrum.sum()


@pytest.mark.parametrize("index,f0", [(0, 1.7), (2, 2.9), (4, 7.1), (6, 19.0)])
def test_filtered_lrelu_of_a_band_limited_signal_stays_band_limited(index, f0):
    """A signal below the layer's input cutoff: its filtered lrelu has (almost) no energy above the
    layer's stopband, where a plain lrelu at the output rate puts its harmonics and their aliases."""
    config = StyleGAN3Config()
    spec = layer_specs(config)[index]
    stopband = band_schedule(config).stopbands[index]
    assert f0 < spec.in_cutoff
    x = _sinusoids(spec.in_size, spec.in_sampling_rate, f0)[None, :, :, None].astype(np.float32)
    y = np.asarray(filtered_lrelu(x, spec.up_filter(), spec.down_filter(), None, spec.up_factor,
                                  spec.down_factor, spec.padding))[0, :, :, 0]
    plain = _sinusoids(spec.out_size, spec.out_sampling_rate, f0)
    plain = np.where(plain < 0, 0.2 * plain, plain) * np.sqrt(2)
    filtered_energy = _energy_above(y, spec.out_sampling_rate, stopband)
    assert filtered_energy < 1e-3
    assert filtered_energy < 0.1 * _energy_above(plain, spec.out_sampling_rate, stopband)


def test_config_validation_names_the_field():
    with pytest.raises(UserError, match="network.cfg"):
        StyleGAN3Config(cfg="x").validate()
    with pytest.raises(UserError, match="network.resolution"):
        StyleGAN3Config(resolution=24).validate()
    with pytest.raises(UserError, match="network.num_critical"):
        StyleGAN3Config(synthesis_layers=2, num_critical=2).validate()
    with pytest.raises(UserError, match="network.family"):
        StyleGAN3Config(family="stylegan2").validate()
    config = StyleGAN3Config.coerce({"family": "stylegan3", "cfg": "r", "resolution": 256})
    assert (config.g_channel_base, config.g_channel_max, config.conv_kernel) == (65536, 1024, 1)
    assert StyleGAN3Config.coerce(config.to_dict()) == config
