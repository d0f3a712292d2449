"""Coincidence factor and subthreshold voltage error against hand-computed cases."""

import math

import numpy as np
import pytest
from brian2 import ms, second

from vr_brian.spike_metrics import (
    count_coincidences,
    gamma_factor,
    intrinsic_reliability,
    normalised_gamma,
    subthreshold_mask,
    subthreshold_voltage_error,
)


def test_identical_trains_score_one():
    train = np.sort(np.random.default_rng(0).uniform(0, 2, 30))
    assert gamma_factor(train, train, 2.0) == pytest.approx(1.0, abs=1e-12)


def test_hand_worked_example():
    """data 10, 50, 90 ms; model 11, 53, 90.5, 130 ms; T = 200 ms, window 2 ms.
    Coincidences: 10~11 and 90~90.5 -> 2 (53 is 3 ms from 50). Model rate 4/0.2 s = 20 Hz,
    2*rate*window = 0.08, expected coincidences 0.08*3 = 0.24, so
    Gamma = (2 - 0.24) / (0.5*(3 + 4)) / (1 - 0.08) = 1.76 / 3.5 / 0.92."""
    data = np.array([10, 50, 90]) * 1e-3
    model = np.array([11, 53, 90.5, 130]) * 1e-3
    assert count_coincidences(model, data, 2e-3) == 2
    assert gamma_factor(model, data, 200 * ms, 2 * ms) == pytest.approx(1.76 / 3.5 / 0.92, rel=1e-12)
    # quantities and plain SI floats agree
    assert gamma_factor(model * second, data * second, 0.2, 2e-3) == pytest.approx(1.76 / 3.5 / 0.92, rel=1e-12)


def test_each_spike_counts_once():
    """Two model spikes near one data spike make one coincidence, not two."""
    assert count_coincidences([0.100, 0.1015], [0.101], 2e-3) == 1
    assert count_coincidences([0.101], [0.100, 0.1015], 2e-3) == 1


def test_independent_poisson_trains_score_near_zero():
    """Gamma subtracts the coincidences a Poisson train of the model's rate makes by chance:
    its mean over independent pairs is 0 (standard error here ~0.01)."""
    rng = np.random.default_rng(1)
    T, rate = 20.0, 20.0
    values = [
        gamma_factor(
            np.sort(rng.uniform(0, T, rng.poisson(rate * T))), np.sort(rng.uniform(0, T, rng.poisson(rate * T))), T
        )
        for _ in range(40)
    ]
    assert abs(np.mean(values)) < 0.04
    assert np.std(values) < 0.1


def test_empty_and_undefined_cases():
    assert gamma_factor([], [0.1, 0.2], 1.0) == 0.0
    assert gamma_factor([0.1], [], 1.0) == 0.0
    assert math.isnan(gamma_factor(np.arange(300) / 300, [0.5], 1.0))  # 2*300 Hz*2 ms > 1
    with pytest.raises(ValueError, match="duration"):
        gamma_factor([0.1], [0.1], 0.0)
    with pytest.raises(ValueError, match="window"):
        gamma_factor([0.1], [0.1], 1.0, window=-1e-3)


def test_intrinsic_reliability_normalisation():
    """Three data trials with jitter; the normalised Gamma of a trial equal to one of them
    is its mean Gamma against all trials divided by the mean pairwise Gamma of the trials."""
    rng = np.random.default_rng(2)
    base = np.sort(rng.uniform(0, 5, 60))
    trials = [np.sort(base + rng.normal(0, 1.5e-3, base.size)) for _ in range(3)]
    R = intrinsic_reliability(trials, 5.0)
    pairwise = [gamma_factor(trials[a], trials[b], 5.0) for a in range(3) for b in range(3) if a != b]
    assert R == pytest.approx(np.mean(pairwise))
    assert 0.3 < R < 1.0
    model = trials[0]
    expected = np.mean([gamma_factor(model, t, 5.0) for t in trials]) / R
    assert normalised_gamma(model, trials, 5.0) == pytest.approx(expected)
    assert normalised_gamma(model, [trials[1]], 5.0) == pytest.approx(gamma_factor(model, trials[1], 5.0))


def test_voltage_error_constructed_case():
    """Model = data + 1 mV everywhere except inside the spike windows, where it is off by
    50 mV: removing the windows leaves exactly 1 mV. Windows: 2 ms before, 10 ms after each spike."""
    dt, steps = 0.1e-3, 2000
    t = np.arange(steps) * dt
    data = 5e-3 * np.sin(2 * np.pi * 7 * t)
    model = data + 1e-3
    spikes_data, spikes_model = [0.05], [0.12]
    inside = ((t >= 0.048) & (t <= 0.060)) | ((t >= 0.118) & (t <= 0.130))
    well_inside = ((t > 0.0485) & (t < 0.0595)) | ((t > 0.1185) & (t < 0.1295))  # clear of float ties at edges
    model[well_inside] += 50e-3
    assert subthreshold_voltage_error(model, data, dt, spikes_model, spikes_data) == pytest.approx(1e-3, rel=1e-9)
    mask = subthreshold_mask(steps, dt, [spikes_model, spikes_data])
    # the mask removes the windows' samples (within one sample at their edges)
    assert abs((~mask).sum() - inside.sum()) <= 2
    assert not mask[well_inside].any()
    # without removing windows the error is much larger
    assert subthreshold_voltage_error(model, data, dt) > 10e-3


def test_voltage_error_rejects_bad_shapes():
    with pytest.raises(ValueError, match="v_model and v_data"):
        subthreshold_voltage_error(np.zeros(5), np.zeros(6), 1e-4)
