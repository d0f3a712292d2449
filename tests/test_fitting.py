"""Candidate simulation equals the numpy reference; the fit recovers parameters the model itself made."""

import numpy as np
import pytest
from brian2 import ms, second

from vr_brian import VRParams, forward
from vr_brian.fitting import MODELS, evaluate, fit, params_dict, simulate_candidates, theta_from_params
from vr_brian.hh import poisson_input
from vr_brian.spike_metrics import Recording

TRUTH = {"alpha": 0.3, "weight_scale": 2.0e-3, "tau_m": 15e-3, "tau_s": 4e-3, "v_thr": 10e-3}


def _grid_spikes(inputs, steps):
    spikes = np.zeros((1, steps, inputs.n_inputs), bool)
    spikes[0, np.rint(inputs.times / inputs.grid).astype(int), inputs.indices] = True
    return spikes


def test_candidates_equal_the_iterative_reference():
    """Two VR-C-LIF candidates with the same tau and v_thr but different weight scales, run as
    one Brian2 group, equal vr_brian.forward's hidden layer (weights = scale * input weights)."""
    inputs = poisson_input(30, 10, rate=40.0, duration=60 * ms, grid=0.5 * ms, seed=3)
    scales = np.array([3e-3, 6e-3])
    theta = np.array([[0.3, s, 15e-3, 0.25, 10e-3] for s in scales])
    recording = simulate_candidates("vrclif", theta, inputs, dt=0.5 * ms)
    steps = recording.v.shape[1]
    params = VRParams(tau_m=15e-3, tau_s=3.75e-3, v_thr=10e-3, alpha=0.3, dt=0.5e-3)
    hidden = np.outer(scales, inputs.weights)
    reference = forward([hidden, np.zeros((1, 2))], _grid_spikes(inputs, steps), params)
    np.testing.assert_allclose(recording.v, reference.U[0][0].T, rtol=0, atol=1e-12)
    for k in range(2):
        expected = np.nonzero(reference.P[0][0, :, k])[0] * 0.5e-3
        np.testing.assert_allclose(recording.spikes[k], expected, atol=1e-9)
    assert len(recording.spikes[1]) > len(recording.spikes[0]) > 0


def test_evaluate_scores_a_perfect_candidate():
    inputs = poisson_input(40, 10, rate=20.0, duration=0.2 * second, grid=0.5 * ms, seed=1)
    theta = theta_from_params("vrclif", TRUTH)[None, :]
    recording = simulate_candidates("vrclif", np.vstack([theta, theta * [1, 0.5, 1, 1, 1]]), inputs, dt=0.5 * ms)
    reference = Recording(recording.dt, recording.v[:1], recording.spikes[:1], recording.duration)
    gamma, error, loss = evaluate(recording, reference)
    assert gamma[0] == pytest.approx(1.0) and error[0] == 0.0 and loss[0] == pytest.approx(0.0)
    assert loss[1] > 0.1


@pytest.mark.long
def test_fit_recovers_vrclif_parameters():
    """Reference made by the VR-C-LIF itself (alpha 0.3, weight scale 2 mV, tau_m 15 ms,
    tau_s 4 ms, v_thr 10 mV) at dt = 1 ms; a fit inside a box of +-40% (alpha in [0, 0.6])
    recovers alpha within 0.06, weight scale, tau_m and v_thr within 10%, tau_s (which only
    shapes the PSP's rise, two steps long here) within 20%, and reproduces the spikes
    (Gamma > 0.9)."""
    inputs = poisson_input(80, 20, rate=8.0, duration=0.8 * second, grid=1 * ms, seed=5)
    truth = theta_from_params("vrclif", TRUTH)
    reference = simulate_candidates("vrclif", truth[None, :], inputs, dt=1 * ms)
    assert 10 <= len(reference.spikes[0]) <= 60, "the case must have spikes to fit"
    box = {p.name: (v * 0.6, v * 1.4) for p, v in zip(MODELS["vrclif"], truth, strict=True)}
    box["alpha"] = (0.0, 0.6)
    result = fit("vrclif", inputs, reference, dt=1 * ms, popsize=10, maxiter=30, seed=1, voltage_weight=1.0,
                 bounds=box, tol=1e-6)
    assert result.gamma > 0.9
    assert result.params["alpha"] == pytest.approx(TRUTH["alpha"], abs=0.06), result.params
    for name in ("weight_scale", "tau_m", "v_thr"):
        assert result.params[name] == pytest.approx(TRUTH[name], rel=0.10), (name, result.params)
    assert result.params["tau_s"] == pytest.approx(TRUTH["tau_s"], rel=0.20), result.params
    assert result.candidates == result.simulations * 10 * 5
    assert len(result.history) >= 1 and result.history[-1] <= result.history[0]


def test_params_round_trip_and_bad_input():
    theta = theta_from_params("vrclif", TRUTH)
    assert params_dict("vrclif", theta)["tau_s"] == pytest.approx(TRUTH["tau_s"])
    assert params_dict("clif", theta[1:])["alpha"] == 0.0
    inputs = poisson_input(5, 0, rate=10.0, duration=10 * ms, grid=0.5 * ms)
    with pytest.raises(ValueError, match="kind must be one of"):
        simulate_candidates("lif", theta[None, :], inputs)
    with pytest.raises(ValueError, match="theta must have 5 columns"):
        simulate_candidates("vrclif", theta[None, :4], inputs)
    with pytest.raises(ValueError, match="dt must divide the input grid"):
        simulate_candidates("vrclif", theta[None, :], inputs, dt=0.3 * ms)
    with pytest.raises(ValueError, match="bounds name parameters"):
        fit("clif", inputs, Recording(5e-4, np.zeros((1, 20)), (np.array([]),), 0.01), bounds={"alpha": (0, 1)})
