"""Gammatone kernels: ERB formulas, unit norm, centre frequency and bandwidth, cross-correlations."""

import numpy as np
import pytest

from vr_brian.encoding.gammatone import (
    GammatoneDictionary,
    constant_q_bandwidths,
    erb,
    erb_rate,
    erb_rate_to_hz,
    erb_space,
    gammatone_kernels,
    semitone_space,
)

RATE = 16000.0


def test_erb_formulas():
    assert erb(1000.0) == pytest.approx(24.7 * 5.37)
    assert erb_rate(1000.0) == pytest.approx(21.4 * np.log10(5.37))
    f = np.array([50.0, 440.0, 7000.0])
    np.testing.assert_allclose(erb_rate_to_hz(erb_rate(f)), f)


def test_erb_space_is_even_in_erb_rate():
    f = erb_space(100.0, 6000.0, 20)
    assert f[0] == pytest.approx(100.0) and f[-1] == pytest.approx(6000.0)
    np.testing.assert_allclose(np.diff(erb_rate(f)), np.diff(erb_rate(f))[0])
    with pytest.raises(ValueError, match="f_low"):
        erb_space(500.0, 100.0, 4)


def test_kernels_are_unit_norm():
    kernels = GammatoneDictionary(16, 100.0, 6000.0, RATE).kernels
    np.testing.assert_allclose(np.linalg.norm(kernels, axis=1), 1.0, rtol=1e-12)


@pytest.mark.parametrize("centre", [200.0, 1000.0, 4000.0])
def test_kernel_peaks_at_its_centre_with_an_erb_wide_band(centre):
    (kernel,) = gammatone_kernels([centre], RATE)
    n = 1 << 16
    power = np.abs(np.fft.rfft(kernel, n)) ** 2
    freqs = np.fft.rfftfreq(n, 1 / RATE)
    assert freqs[power.argmax()] == pytest.approx(centre, rel=0.01)
    # the equivalent rectangular bandwidth of a 4th-order gammatone with b = 1.019 is
    # 1.019 * ERB * pi * 6! / (2^6 * 3!^2) = 1.019 * 0.982 * ERB (Patterson et al. 1992)
    measured = power.sum() * (freqs[1] - freqs[0]) / power.max()
    assert measured == pytest.approx(1.019 * np.pi * 720 / (64 * 36) * erb(centre), rel=0.02)


def measured_erb(kernel):
    n = 1 << 17
    power = np.abs(np.fft.rfft(kernel, n)) ** 2
    return power.sum() * RATE / n / power.max()


@pytest.mark.parametrize("centre", [110.0, 440.0, 2000.0])
def test_constant_q_kernels_have_the_requested_bandwidth(centre):
    (bandwidth,) = constant_q_bandwidths([centre], 1.0, 5.0)
    assert bandwidth == pytest.approx(centre * (2 ** (1 / 12) - 1))
    (kernel,) = gammatone_kernels([centre], RATE, bandwidths=[bandwidth])
    assert measured_erb(kernel) == pytest.approx(1.019 * np.pi * 720 / (64 * 36) * bandwidth, rel=0.02)


def test_semitone_space_and_bandwidth_floor():
    np.testing.assert_allclose(semitone_space(440.0, 13)[[0, 12]], [440.0, 880.0])
    np.testing.assert_allclose(constant_q_bandwidths([27.5, 1000.0], 1.0, 5.0), [5.0, 1000 * (2 ** (1 / 12) - 1)])
    with pytest.raises(ValueError, match="semitones"):
        constant_q_bandwidths([100.0], 0.0, 5.0)


def test_centres_beyond_nyquist_are_refused():
    with pytest.raises(ValueError, match="Nyquist"):
        gammatone_kernels([9000.0], RATE)
    with pytest.raises(ValueError, match="f_high"):
        GammatoneDictionary(8, 100.0, 9000.0, RATE)


def test_cross_correlations_match_direct_sums():
    d = GammatoneDictionary(6, 300.0, 3000.0, RATE)
    k, length = d.kernels, d.length
    X = d.cross_correlations
    for c_from, c, lag in [(0, 0, 0), (2, 5, 13), (5, 2, -40), (3, 3, length - 1), (1, 4, -(length - 1))]:
        direct = sum(k[c, u] * k[c_from, u + lag] for u in range(length) if 0 <= u + lag < length)
        assert X[c_from, c, lag + length - 1] == pytest.approx(direct, abs=1e-12)
    np.testing.assert_allclose(X[np.arange(6), np.arange(6), length - 1], 1.0)
