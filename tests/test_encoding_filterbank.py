"""Filterbank encoder: envelope calibration, level crossings against a loop, modes, errors."""

import numpy as np
import pytest

from vr_brian.encoding.filterbank import FilterbankEncoder, gammatone_envelopes, level_crossings, smooth_steps
from vr_brian.encoding.gammatone import erb_space

RATE = 16000.0


def test_sinusoid_at_a_centre_has_envelope_equal_to_its_amplitude():
    centres = erb_space(200.0, 4000.0, 12)
    t = np.arange(16000) / RATE
    amplitude = 0.2
    envelopes = gammatone_envelopes(amplitude * np.cos(2 * np.pi * centres[6] * t), centres, RATE, 1e-3)
    steady = envelopes[0, 100:, :]
    np.testing.assert_allclose(steady[:, 6], amplitude, rtol=0.01)
    assert steady[:, 3].max() < 0.3 * amplitude and steady[:, 9].max() < 0.3 * amplitude


def level_crossings_loop(levels, floor_db, step_db):
    steps, channels = levels.shape
    out = np.zeros_like(levels, dtype=bool)
    for c in range(channels):
        reference = floor_db - step_db
        for t in range(steps):
            value = levels[t, c]
            if value - reference >= step_db:
                out[t, c] = True
                reference = value
            elif value < reference:
                reference = max(value, floor_db - step_db)
    return out


def test_level_crossings_match_a_loop():
    rng = np.random.default_rng(3)
    levels = np.cumsum(rng.normal(0, 2, (400, 5)), axis=0) - 20
    levels[50:60, 1] = -np.inf
    np.testing.assert_array_equal(level_crossings(levels, -30.0, 3.0), level_crossings_loop(levels, -30.0, 3.0))


def test_an_onset_spikes_a_few_times_and_steady_sound_is_silent():
    encoder = FilterbankEncoder(n_channels=8, f_low=200.0, f_high=4000.0, floor_db=-30.0, step_db=6.0,
                                reference=0.1)
    t = np.arange(16000) / RATE
    steady = encoder.encode(0.1 * np.cos(2 * np.pi * encoder.centres[4] * t))
    assert steady.shape == (1, 1000, 8) and steady.dtype == bool
    assert steady[0, 200:].sum() == 0                 # constant level: no crossings after the onset
    assert 1 <= steady[0, :100, 4].sum() <= 6          # -30 .. 0 dB in 6 dB rises
    threshold = FilterbankEncoder(n_channels=8, f_low=200.0, f_high=4000.0, floor_db=-10.0,
                                  reference=0.1, mode="threshold").encode(0.1 * np.cos(2 * np.pi * 1000 * t))
    assert threshold[0, 200:].all(axis=0).any() and threshold[0, 200:, 0].sum() == 0


def test_smoothing_is_a_causal_moving_average():
    x = np.random.default_rng(4).random((2, 50, 3))
    smoothed = smooth_steps(x, 4)
    for t in (0, 2, 3, 49):
        np.testing.assert_allclose(smoothed[:, t], x[:, max(0, t - 3):t + 1].mean(axis=1))


def test_bad_settings_are_named():
    with pytest.raises(ValueError, match="mode"):
        FilterbankEncoder(mode="latency")
    with pytest.raises(ValueError, match="dt"):
        gammatone_envelopes(np.zeros(100), [1000.0], RATE, 1.5e-4)
