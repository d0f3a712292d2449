import warnings

import numpy as np
import pytest

from vr_brian import NegativeResistanceWarning, RunawayWarning, VRParams, forward, simulate
from vr_brian.resistance import resistance
from vr_brian.traces import RUNAWAY_RESISTANCE


def model_md_network(sigma, seed=3):
    """The 40-30-20-6 network of MODEL.md, weights N(0.05, sigma) V, 200 steps, 10%-dense input.

    Whether a draw runs away depends on the seed; seed 3 behaves as MODEL.md reports."""
    rng = np.random.default_rng(seed)
    sizes = (40, 30, 20, 6)
    weights = [rng.normal(0.05, sigma, (sizes[n + 1], sizes[n])) for n in range(3)]
    return weights, rng.random((1, 200, 40)) < 0.1


def test_resistance_uses_the_previous_step():
    U = np.array([[[0.0], [2.0], [-1.0]]])
    np.testing.assert_allclose(resistance(U, VRParams.from_si(alpha=0.5, v_thr=2.0))[0, :, 0], [1.0, 1.0, 0.5])


def test_negative_resistance_warned_with_count():
    params = VRParams(alpha=0.5)
    spikes = np.ones((1, 40, 1), bool)  # drives U far above v_thr/alpha = 2 V
    traces = forward([np.array([[2.0]])], spikes, params)
    expected = int((1 - 0.5 * traces.U[0][:, :-1] / 1.0 < 0).sum())
    assert expected > 0
    with pytest.warns(NegativeResistanceWarning, match=f"negative in {expected} "):
        counts = traces.check_resistance()
    assert counts["negative"] == {1: expected}


def test_runaway_detected_as_in_model_md():
    """N(0.05, 0.2) at alpha 0.3 runs away (MODEL.md: -6400 V); N(0.05, 0.15) does not."""
    params = VRParams(alpha=0.3)
    weights, spikes = model_md_network(0.2)
    with pytest.warns(RunawayWarning, match="negative-voltage runaway"):
        traces = simulate(weights, spikes, params)
    assert min(U.min() for U in traces.U) < -(RUNAWAY_RESISTANCE - 1) / params.alpha  # nothing clipped
    weights, spikes = model_md_network(0.15)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RunawayWarning)
        traces = simulate(weights, spikes, params)
    assert min(U.min() for U in traces.U) > -9


def test_alpha_zero_never_warns():
    weights, spikes = model_md_network(0.2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        counts = simulate(weights, spikes, VRParams(alpha=0.0)).check_resistance()
    assert counts == {"negative": {}, "runaway": {}}


def test_spike_times_and_time_axis():
    params = VRParams.from_si(dt=2e-3)
    spikes = np.zeros((1, 5, 2), bool)
    spikes[0, [1, 3], 1] = True
    traces = forward([np.array([[1.0, 1.0]])], spikes, params)
    np.testing.assert_allclose(traces.t, [2e-3, 4e-3, 6e-3, 8e-3, 10e-3])
    np.testing.assert_allclose(traces.spike_times(0)[1], [4e-3, 8e-3])
    assert traces.spike_times(0)[0].size == 0


@pytest.mark.parametrize(
    "params_kwargs",
    [
        {"alpha": 0.3},
        {"alpha": 0.3, "variant": "bounded", "r_max": 1.5},
        {"alpha": 0.3, "variant": "bounded", "r_max": 20.0},
        {"alpha": 0.3, "variant": "split"},
        {"alpha": -0.2},
    ],
)
def test_counts_are_those_of_the_resistance_arrays(params_kwargs):
    """check_resistance compares voltages with thresholds; the counts equal those of R(t) itself."""
    from vr_brian.resistance import inhibitory_resistance

    params = VRParams.from_si(**params_kwargs)
    weights, spikes = model_md_network(0.25, seed=5)
    traces = forward([3 * W for W in weights], spikes, params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        counts = traces.check_resistance()
    for layer, U in enumerate(traces.U, start=1):
        R, R_inh = resistance(U, params), inhibitory_resistance(U, params)
        assert counts["negative"].get(layer, 0) == int(((R < 0) | (R_inh < 0)).sum())
        assert counts["runaway"].get(layer, 0) == int(((R > RUNAWAY_RESISTANCE) | (R_inh > RUNAWAY_RESISTANCE)).sum())
    assert counts["negative"] or counts["runaway"] or params.variant == "bounded"
