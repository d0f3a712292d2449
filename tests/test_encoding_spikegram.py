"""Matching pursuit: recovery of known atoms, rising SNR, agreement with a brute-force pursuit."""

import numpy as np
import pytest

from vr_brian.encoding.gammatone import GammatoneDictionary
from vr_brian.encoding.spikegram import Spikegram, SpikegramEncoder, matching_pursuit, reconstruct, spike_raster

RATE = 16000.0
DICTIONARY = GammatoneDictionary(16, 150.0, 5000.0, RATE)


def place(atoms, n):
    k = DICTIONARY.kernels
    signal = np.zeros(n + k.shape[1])
    for c, tau, a in atoms:
        signal[tau:tau + k.shape[1]] += a * k[c]
    return signal[:n]


def brute_force_pursuit(signal, kernels, n_atoms):
    """Matching pursuit recomputing every correlation from scratch at every step."""
    length = kernels.shape[1]
    residual = np.concatenate([signal, np.zeros(length - 1)])
    chosen = []
    for _ in range(n_atoms):
        corr = np.array([[residual[t:t + length] @ k for t in range(len(signal))] for k in kernels])
        c, t = np.unravel_index(np.argmax(np.abs(corr)), corr.shape)
        a = corr[c, t]
        residual[t:t + length] -= a * kernels[c]
        chosen.append((int(c), int(t), a))
    return chosen


def test_known_atoms_are_recovered():
    rng = np.random.default_rng(5)
    n = 16000
    channels = rng.choice(16, 6, replace=False)
    positions = np.sort(rng.choice(np.arange(0, n - DICTIONARY.length, 900), 6, replace=False))
    amplitudes = rng.uniform(0.5, 2.0, 6) * rng.choice([-1, 1], 6)
    atoms = list(zip(channels, positions, amplitudes, strict=True))
    result = matching_pursuit(place(atoms, n), DICTIONARY, max_atoms=6)
    found = sorted(zip(result.channel, result.position, result.amplitude, strict=True))
    expected = sorted(atoms)
    assert [(c, t) for c, t, _ in found] == [(c, t) for c, t, _ in expected]
    np.testing.assert_allclose([a for *_, a in found], [a for *_, a in expected], rtol=1e-3)
    assert result.snr_db[-1] > 40


def test_snr_rises_with_atoms_and_matches_the_reconstruction():
    rng = np.random.default_rng(0)
    t = np.arange(8000) / RATE
    signal = np.sin(2 * np.pi * 440 * t) * np.exp(-t / 0.2) + 0.3 * rng.normal(size=len(t)) * (t < 0.05)
    result = matching_pursuit(signal, DICTIONARY, max_atoms=300)
    assert len(result) == 300
    assert np.all(np.diff(result.snr_db) >= 0)
    snrs = []
    for k in (10, 50, 300):
        partial = type(result)(result.channel[:k], result.position[:k], result.amplitude[:k],
                               result.snr_db[:k], result.n_samples)
        residual = signal - reconstruct(partial, DICTIONARY)
        snrs.append(10 * np.log10(np.sum(signal ** 2) / np.sum(residual ** 2)))
    assert snrs[0] < snrs[1] < snrs[2]
    # the tail of late atoms past the clip end is not in the clip's residual: allow a little
    assert snrs[2] == pytest.approx(result.snr_db[-1], abs=0.5)


def test_agrees_with_brute_force_pursuit():
    rng = np.random.default_rng(1)
    small = GammatoneDictionary(4, 500.0, 3000.0, RATE)
    signal = rng.normal(size=700)
    fast = matching_pursuit(signal, small, max_atoms=12)
    slow = brute_force_pursuit(signal, small.kernels, 12)
    assert list(zip(fast.channel, fast.position, strict=True)) == [(c, t) for c, t, _ in slow]
    np.testing.assert_allclose(fast.amplitude, [a for *_, a in slow], rtol=1e-9, atol=1e-12)


def test_stops_at_the_snr_target_and_on_silence():
    t = np.arange(4000) / RATE
    result = matching_pursuit(np.sin(2 * np.pi * 1000 * t), DICTIONARY, max_atoms=1000, snr_db=10)
    assert result.snr_db[-1] >= 10 and result.snr_db[-2] < 10
    assert len(matching_pursuit(np.zeros(100), DICTIONARY)) == 0
    with pytest.raises(ValueError, match="max_atoms"):
        matching_pursuit(np.ones(10), DICTIONARY, max_atoms=0)


def test_spike_raster_bins_atom_starts():
    atoms = Spikegram(np.array([3, 3, 7, 2]), np.array([100, 110, 1700, 3199]), np.ones(4), np.ones(4), 3200)
    raster = spike_raster(atoms, 16, RATE, dt=1e-3)                        # 16 samples per step
    assert raster.shape == (200, 16) and raster.dtype == bool
    assert set(zip(*np.nonzero(raster), strict=True)) == {(6, 3), (106, 7), (199, 2)}  # two atoms in one step: one spike
    assert spike_raster(atoms, 16, RATE, dt=1e-3, n_steps=150).sum() == 2     # the atom at step 199 dropped


def test_encoder_gives_steps_by_channels_bool():
    encoder = SpikegramEncoder(n_channels=16, f_low=150.0, f_high=5000.0, max_atoms=50, snr_db=None)
    rng = np.random.default_rng(2)
    audio = rng.normal(size=(2, 4000))
    spikes = encoder.encode(audio)
    assert spikes.shape == (2, 250, 16) and spikes.dtype == bool
    assert 0 < spikes[0].sum() <= 50
    np.testing.assert_array_equal(encoder.encode(audio, n_jobs=2), spikes)     # workers change nothing
    with pytest.raises(ValueError, match="dt"):
        SpikegramEncoder(dt=0)
