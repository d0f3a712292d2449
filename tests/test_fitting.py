"""Candidate simulation equals independent implementations (the numpy reference, loops written out
here); the fit recovers parameters the model itself made, under synaptic input and current injection."""

import math

import numpy as np
import pytest
from brian2 import ms, nA, second

from vr_brian import VRParams, forward
from vr_brian.fitting import (
    MODELS,
    CandidateSimulator,
    evaluate,
    fit,
    holding_input,
    model_parameters,
    params_dict,
    simulate_candidates,
    theta_from_params,
)
from vr_brian.hh import CurrentInput, ou_current, poisson_input
from vr_brian.spike_metrics import Recording, gamma_factor

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
    params = VRParams.from_si(tau_m=15e-3, tau_s=3.75e-3, v_thr=10e-3, alpha=0.3, dt=0.5e-3)
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
    gamma, error, loss, _ = evaluate(recording, reference)
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
    result = fit(
        "vrclif", inputs, reference, dt=1 * ms, popsize=10, maxiter=30, seed=1, voltage_weight=1.0, bounds=box, tol=1e-6
    )
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
    with pytest.raises(ValueError, match=r"theta must have shape \(1, 5\)"):
        simulate_candidates("vrclif", theta[None, :4], inputs)
    with pytest.raises(ValueError, match="dt must divide the input grid"):
        simulate_candidates("vrclif", theta[None, :], inputs, dt=0.3 * ms)
    with pytest.raises(ValueError, match="bounds name parameters"):
        fit("clif", inputs, Recording(5e-4, np.zeros((1, 20)), (np.array([]),), 0.01), bounds={"alpha": (0, 1)})


def _current_form_loop(current, dt, R_in, tau_m, tau_s, v_thr, alpha, u_rest=0.0):
    """MODEL.md's iterative neuron with T(t) = N0*I(t)*R(t), I(t) = R_in*i(t)*dt/(N0*(tau_m - tau_s)), written
    out step by step; with a holding weight that keeps U at u_rest without input, starting there.
    Returns (U - u_rest per step, spike steps)."""
    gm, gs = math.exp(-dt / tau_m), math.exp(-dt / tau_s)
    f = tau_m / tau_s
    n0 = f ** (f / (f - 1)) / (f - 1)
    r_rest = 1 - alpha * u_rest / v_thr
    hold = u_rest / (n0 * r_rest * (1 / (1 - gm) - 1 / (1 - gs)))
    dm, ds, re = n0 * hold * r_rest / (1 - gm), n0 * hold * r_rest / (1 - gs), 0.0
    u_prev, fired, voltages, spikes = u_rest, False, [], []
    for k, i in enumerate(current):
        weight = R_in * i * dt / (n0 * (tau_m - tau_s)) + hold
        t = n0 * weight * (1 - alpha * u_prev / v_thr)
        dm, ds = gm * dm + t, gs * ds + t
        re = gm * re + (v_thr if fired else 0.0)
        u = dm - ds - re
        fired = u > v_thr
        if fired:
            spikes.append(k)
        voltages.append(u - u_rest)
        u_prev = u
    return np.array(voltages), np.array(spikes)


@pytest.mark.parametrize("rest_ratio", [None, 0.6])
def test_current_form_equals_the_iterative_loop(rest_ratio):
    """Two VR-C-LIF candidates on an injected current (one with a negative alpha), without and with a
    holding input, run as one Brian2 group: U equals the loop to 1e-12 V and the spike steps agree."""
    current = ou_current(0.1 * nA, 0.15 * nA, 3 * ms, 80 * ms, grid=0.2 * ms, seed=4)
    rows = [
        {"alpha": 0.3, "R_in": 100e6, "tau_m": 15e-3, "tau_s": 3e-3, "v_thr": 10e-3},
        {"alpha": -1.2, "R_in": 60e6, "tau_m": 9e-3, "tau_s": 4e-3, "v_thr": 6e-3},
    ]
    if rest_ratio is not None:
        rows = [dict(r, rest_ratio=rest_ratio) for r in rows]
    theta = np.array([theta_from_params("vrclif", r, "current") for r in rows])
    recording = simulate_candidates("vrclif", theta, current, dt=0.2 * ms)
    for k, r in enumerate(rows):
        u_rest = (rest_ratio or 0.0) * r["v_thr"]
        v, steps = _current_form_loop(
            current.current, 0.2e-3, r["R_in"], r["tau_m"], r["tau_s"], r["v_thr"], r["alpha"], u_rest
        )
        np.testing.assert_allclose(recording.v[k], v, rtol=0, atol=1e-12)
        np.testing.assert_allclose(recording.spikes[k], steps * 0.2e-3, atol=1e-9)
        assert len(steps) >= 2


def test_current_form_settles_at_R_in_times_the_current():
    """alpha = 0, a constant current I and no spike: U settles at R_in*I*(1 - dt**2/(12 tau_m tau_s)) to
    second order, exactly at R_in*I*dt/(tau_m - tau_s)*(1/(1 - gamma_m) - 1/(1 - gamma_s)); a holding input
    alone keeps U at its rest."""
    dt, tau_m, tau_s, R_in, current = 1e-3, 20e-3, 5e-3, 200e6, 0.05e-9
    inputs = CurrentInput(np.full(1000, current), dt)  # 50 tau_m: settled to e^-50
    theta = np.array(
        [
            theta_from_params(
                "vrclif", {"alpha": 0.0, "R_in": R_in, "tau_m": tau_m, "tau_s": tau_s, "v_thr": 1.0}, "current"
            )
        ]
    )
    u = simulate_candidates("vrclif", theta, inputs, dt=dt * second).v[0, -1]
    exact = R_in * current * dt / (tau_m - tau_s) * (1 / (1 - math.exp(-dt / tau_m)) - 1 / (1 - math.exp(-dt / tau_s)))
    assert u == pytest.approx(exact, rel=1e-12)
    assert u == pytest.approx(R_in * current * (1 - dt**2 / (12 * tau_m * tau_s)), rel=1e-5)
    held = np.array(
        [
            theta_from_params(
                "vrclif",
                {"alpha": 0.5, "R_in": R_in, "tau_m": tau_m, "tau_s": tau_s, "v_thr": 0.02, "rest_ratio": 0.8},
                "current",
            )
        ]
    )
    silent = simulate_candidates("vrclif", held, CurrentInput(np.zeros(300), dt), dt=dt * second)
    assert np.max(np.abs(silent.v)) < 1e-15 and len(silent.spikes[0]) == 0
    columns = {
        "tau_m": np.array([tau_m]),
        "tau_s": np.array([tau_s]),
        "u_rest": np.array([0.016]),
        "alpha": np.array([0.5]),
        "v_thr": np.array([0.02]),
        "R_in": np.array([R_in]),
    }
    assert holding_input(columns, dt, "current")["I_hold"][0] > 0


def test_adex_current_form_equals_euler_loop():
    """AdEx on an injected current: V equals forward Euler of tau_m dV/dt = -V + DeltaT exp((V - VT)/DeltaT)
    - w + R_in I(t), tau_w dw/dt = a V - w, with the reset V -> V_reset, w -> w + b, written out here."""
    dt = 0.1e-3
    current = ou_current(0.25 * nA, 0.2 * nA, 5 * ms, 100 * ms, grid=0.1 * ms, seed=2)
    p = {
        "tau_m": 10e-3,
        "R_in": 80e6,
        "VT": 10e-3,
        "DeltaT": 2e-3,
        "a": 0.2,
        "tau_w": 50e-3,
        "b": 2e-3,
        "V_reset": -5e-3,
    }
    recording = simulate_candidates("adex", theta_from_params("adex", p, "current")[None, :], current, dt=dt * second)
    V, w, voltages, spikes = 0.0, 0.0, [], []
    for k, i in enumerate(current.current):
        voltages.append(V)  # recorded at the start of the step, as the monitor does
        dV = (-V + p["DeltaT"] * math.exp(min((V - p["VT"]) / p["DeltaT"], 30)) - w + p["R_in"] * i) / p["tau_m"]
        V, w = V + dt * dV, w + dt * (p["a"] * V - w) / p["tau_w"]
        if V > p["VT"] + 5 * p["DeltaT"]:
            V, w = p["V_reset"], w + p["b"]
            spikes.append(k * dt)
    np.testing.assert_allclose(recording.v[0], voltages, rtol=0, atol=1e-12)
    np.testing.assert_allclose(recording.spikes[0], spikes, atol=1e-9)
    assert len(spikes) >= 3


def test_fit_recovers_current_form_parameters():
    """Reference made by the VR-C-LIF's current form with a holding input (alpha -0.5, R_in 150 Mohm,
    tau_m 12 ms, tau_s 3 ms, v_thr 12 mV, rest at 0.5 v_thr) at dt = 1 ms; inside a box of +-40%
    (alpha in [-1, 0], R_in searched on a log scale) the fit recovers R_in, tau_m and v_thr within 10%,
    alpha within 0.15 and reproduces the spikes (Gamma > 0.9)."""
    truth = {"alpha": -0.5, "R_in": 150e6, "tau_m": 12e-3, "tau_s": 3e-3, "v_thr": 12e-3, "rest_ratio": 0.5}
    inputs = ou_current(0.03 * nA, 0.06 * nA, 5 * ms, 0.8 * second, grid=1 * ms, seed=8)
    theta = theta_from_params("vrclif", truth, "current")
    reference = simulate_candidates("vrclif", theta[None, :], inputs, dt=1 * ms)
    assert 10 <= len(reference.spikes[0]) <= 60, "the case must have spikes to fit"
    box = {p.name: (v * 0.6, v * 1.4) for p, v in zip(model_parameters("vrclif", "current", True), theta, strict=True)}
    box["alpha"] = (-1.0, 0.0)
    result = fit(
        "vrclif",
        inputs,
        reference,
        dt=1 * ms,
        popsize=10,
        maxiter=30,
        seed=1,
        voltage_weight=1.0,
        bounds=box,
        tol=1e-6,
        hold=True,
    )
    assert result.gamma > 0.9
    for name in ("R_in", "tau_m", "v_thr"):
        assert result.params[name] == pytest.approx(truth[name], rel=0.10), (name, result.params)
    assert result.params["alpha"] == pytest.approx(truth["alpha"], abs=0.15), result.params
    assert box["R_in"][0] <= result.params["R_in"] <= box["R_in"][1]
    assert result.population.shape == (60, 6) and np.all(result.population[:, 1] >= box["R_in"][0])


def test_evaluate_trials_offset_and_coarse_voltage():
    """Gamma is the mean over the reference's trials; fit_offset removes a constant voltage shift; a
    reference sampled 4x finer than the candidates is compared every 4th sample; no voltage -> loss 1 - Gamma."""
    rng = np.random.default_rng(0)
    fine = rng.normal(0, 1e-3, 4000).cumsum() * 0.05
    spikes = np.sort(rng.uniform(0, 0.4, 12))
    other = np.sort(rng.uniform(0, 0.4, 12))
    candidates = Recording(dt=4e-4, v=np.vstack([fine[::4] + 3e-3, fine[::4]]), spikes=(spikes, other), duration=0.4)
    reference = Recording(dt=1e-4, v=np.vstack([fine, fine]), spikes=(spikes, other), duration=0.4)
    gamma, error, loss, offset = evaluate(candidates, reference, fit_offset=True)
    expected = [np.mean([gamma_factor(s, data, 0.4) for data in (spikes, other)]) for s in (spikes, other)]
    np.testing.assert_allclose(gamma, expected)
    np.testing.assert_allclose(offset, [-3e-3, 0.0], atol=1e-15)
    np.testing.assert_allclose(error, 0.0, atol=1e-15)
    _, error_fixed, _, _ = evaluate(candidates, reference)
    assert error_fixed[0] == pytest.approx(3e-3)
    gamma_none, error_none, loss_none, _ = evaluate(candidates, Recording(1e-4, None, (spikes,), 0.4))
    assert np.all(np.isnan(error_none)) and loss_none[1] == pytest.approx(1 - gamma_none[1])


@pytest.mark.slow
def test_standalone_reruns_equal_numpy():
    """One cpp_standalone project, compiled once, re-run with new parameters and a new current via
    run_args, gives the numpy target's voltages and spikes; a shorter input is padded and cut."""
    spec = model_parameters("vrclif", "current", True)
    rng = np.random.default_rng(3)
    simulator = CandidateSimulator("vrclif", 3, 500, "current", hold=True, dt=0.2 * ms, target="cpp_standalone")
    try:
        for k, steps in enumerate((500, 320)):
            theta = np.array(
                [
                    [
                        p.low + (p.high - p.low) * rng.uniform(0.25, 0.75) if not p.log else 10 ** rng.uniform(7.5, 8.3)
                        for p in spec
                    ]
                    for _ in range(3)
                ]
            )  # mid-box
            inputs = ou_current(0.2 * nA, 0.2 * nA, 3 * ms, steps * 0.2 * ms, grid=0.2 * ms, seed=k)
            compiled = simulator.run(theta, inputs)
            runtime = simulate_candidates("vrclif", theta, inputs, dt=0.2 * ms)
            np.testing.assert_allclose(compiled.v, runtime.v, rtol=0, atol=1e-12)
            for a, b in zip(compiled.spikes, runtime.spikes, strict=True):
                np.testing.assert_allclose(a, b, atol=1e-9)
        assert simulator.runs == 2 and simulator.compile_seconds > 0
    finally:
        simulator.close()
