"""Filterbank encoder: envelope calibration, level crossings and rate code against loops, modes, errors."""

import numpy as np
import pytest

from vr_brian.datasets.clips import key_frequency
from vr_brian.encoding.filterbank import (
    FilterbankEncoder,
    gammatone_envelopes,
    level_crossings,
    rate_code,
    smooth_steps,
)
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
    encoder = FilterbankEncoder(n_channels=8, f_low=200.0, f_high=4000.0, floor_db=-30.0, step_db=6.0, reference=0.1)
    t = np.arange(16000) / RATE
    steady = encoder.encode(0.1 * np.cos(2 * np.pi * encoder.centres[4] * t))
    assert steady.shape == (1, 1000, 8) and steady.dtype == bool
    assert steady[0, 200:].sum() == 0  # constant level: no crossings after the onset
    assert 1 <= steady[0, :100, 4].sum() <= 6  # -30 .. 0 dB in 6 dB rises
    threshold = FilterbankEncoder(
        n_channels=8, f_low=200.0, f_high=4000.0, floor_db=-10.0, reference=0.1, mode="threshold"
    ).encode(0.1 * np.cos(2 * np.pi * 1000 * t))
    assert threshold[0, 200:].all(axis=0).any() and threshold[0, 200:, 0].sum() == 0


def rate_code_loop(levels, floor_db, ceiling_db, max_rate):
    steps, channels = levels.shape
    out = np.zeros_like(levels, dtype=bool)
    for c in range(channels):
        potential = 0.0
        for t in range(steps):
            fraction = (levels[t, c] - floor_db) / (ceiling_db - floor_db)
            potential += max_rate * min(max(fraction, 0.0), 1.0)
            if potential >= 1.0:
                out[t, c] = True
                potential -= 1.0
    return out


def test_rate_code_matches_an_integrate_and_fire_loop():
    rng = np.random.default_rng(5)
    levels = rng.uniform(-70, 10, (500, 6))
    levels[100:120, 2] = -np.inf
    spikes = rate_code(levels, -50.0, 0.0, 0.3)
    loop = rate_code_loop(np.nan_to_num(levels, neginf=-1e9), -50.0, 0.0, 0.3)
    # the loop subtracts 1 at each spike, the code floors a running sum: rounding may move a
    # spike by one step where the potential lands within 1e-12 of 1
    assert np.abs(np.cumsum(spikes, 0).astype(int) - np.cumsum(loop, 0)).max() <= 1
    assert (spikes != loop).mean() < 1e-3


@pytest.mark.parametrize("level, expected_rate", [(-60.0, 0.0), (-25.0, 0.125), (0.0, 0.25), (20.0, 0.25)])
def test_a_steady_level_spikes_at_its_rate(level, expected_rate):
    spikes = rate_code(np.full((1000, 1), level), -50.0, 0.0, 0.25)
    assert spikes.sum() == int(np.floor(1000 * expected_rate + 1e-9))


def test_rate_mode_counts_follow_the_spectrum():
    encoder = FilterbankEncoder(
        n_channels=8,
        f_low=200.0,
        f_high=4000.0,
        mode="rate",
        floor_db=-40.0,
        ceiling_db=0.0,
        max_rate=0.5,
        reference=0.1,
    )
    t = np.arange(16000) / RATE
    spikes = encoder.encode(0.1 * np.cos(2 * np.pi * encoder.centres[4] * t))
    counts = spikes[0, 200:].sum(axis=0)
    assert counts[4] == pytest.approx(0.5 * 800, abs=2)  # 0 dB at its centre: max_rate
    assert counts.argmax() == 4 and counts[0] == 0


def test_semitone_channels_sit_on_the_piano_keys_and_resolve_neighbours():
    encoder = FilterbankEncoder(
        n_channels=88, f_low=27.5, f_high=7000.0, spacing="semitone", bandwidth=1.0, mode="threshold"
    )
    np.testing.assert_allclose(encoder.centres, key_frequency(np.arange(21, 109)), rtol=1e-12)
    t = np.arange(16000) / RATE
    key = 60 - 21  # middle C
    levels = encoder.levels(0.1 * np.cos(2 * np.pi * encoder.centres[key] * t))[0, 300:]
    assert levels.mean(axis=0).argmax() == key
    # the neighbouring key's channel is more than 6 dB down
    assert levels[:, key].mean() - levels[:, key + 1].mean() > 6.0
    with pytest.raises(ValueError, match="f_high"):
        FilterbankEncoder(n_channels=100, f_low=27.5, f_high=7000.0, spacing="semitone")


def test_smoothing_is_a_causal_moving_average():
    x = np.random.default_rng(4).random((2, 50, 3))
    smoothed = smooth_steps(x, 4)
    for t in (0, 2, 3, 49):
        np.testing.assert_allclose(smoothed[:, t], x[:, max(0, t - 3) : t + 1].mean(axis=1))


def test_bad_settings_are_named():
    with pytest.raises(ValueError, match="mode"):
        FilterbankEncoder(mode="latency")
    with pytest.raises(ValueError, match="spacing"):
        FilterbankEncoder(spacing="mel")
    with pytest.raises(ValueError, match="max_rate"):
        FilterbankEncoder(mode="rate", max_rate=1.5)
    with pytest.raises(ValueError, match="ceiling_db"):
        FilterbankEncoder(mode="rate", floor_db=0.0, ceiling_db=-10.0)
    with pytest.raises(ValueError, match="dt"):
        gammatone_envelopes(np.zeros(100), [1000.0], RATE, 1.5e-4)
