"""dt-convergence study: the continuous-time reference against closed forms, and the error falling with dt."""

import itertools
import json
import math

import numpy as np
import pytest

from studies.dt_convergence import run as study
from vr_brian import VRParams


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    out = tmp_path_factory.mktemp("dt")
    assert study.main(["--quick", "--out-dir", str(out)]) == 0
    return out, json.loads((out / "results.json").read_text())


def test_subthreshold_error_falls_with_first_order(quick):
    out, results = quick
    for entry in results["errors"]:
        errors = [row["free_mean_abs_U_V"] for row in entry["per_dt"]]
        dts = [row["dt_s"] for row in entry["per_dt"]]
        assert dts == sorted(dts, reverse=True)
        assert all(a > b for a, b in itertools.pairwise(errors)), errors
        assert 0.7 < results["observed_order"][f"alpha={entry['alpha']:g}"]["free_mean_abs_U_V"] < 1.7
    assert (out / "dt_convergence_error_vs_dt.png").exists()


def test_continuous_reference_equals_the_closed_form_of_two_inputs():
    # two inputs, no threshold: U(t) = w1 k(t - s1) + w2 (1 - alpha U(s2-)/v_thr) k(t - s2),
    # k(t) = N0 (exp(-t/tau_m) - exp(-t/tau_s)), continuous time
    params = VRParams.from_si(dt=1e-5)
    alpha, w, s_steps = 0.4, np.array([[0.8, -0.5]]), [300, 700]
    U = study.continuous_reference(w, [np.array(s_steps)], [np.array([0, 1])], params, [alpha], 1500)[0, 1, 0]
    t = np.arange(1500) * params.dt
    s1, s2 = np.array(s_steps) * params.dt

    def k(x):
        return np.where(x >= 0, params.N0 * (np.exp(-x / params.tau_m) - np.exp(-x / params.tau_s)), 0.0)

    R2 = 1 - alpha * float(0.8 * k(s2 - s1)) / params.v_thr
    np.testing.assert_allclose(U, 0.8 * k(t - s1) + (-0.5) * R2 * k(t - s2), atol=1e-12)


def test_continuous_reference_resets_by_v_thr_at_the_crossing():
    params = VRParams.from_si(dt=1e-5)
    U = study.continuous_reference(np.array([[1.3]]), [np.array([100])], [np.array([0])], params, [0.0], 2000)[0, 0, 0]
    t = (np.arange(2000) - 100) * params.dt
    free = np.where(t >= 0, 1.3 * params.N0 * (np.exp(-t / params.tau_m) - np.exp(-t / params.tau_s)), 0.0)
    crossing = int(np.argmax(free > params.v_thr))
    expected = free - np.where(
        np.arange(2000) > crossing, params.v_thr * np.exp(-(np.arange(2000) - crossing) * params.dt / params.tau_m), 0.0
    )
    np.testing.assert_allclose(U, expected, atol=1e-12)


def test_spike_time_distance_and_order():
    assert study.spike_time_distance(np.array([1.0, 2.0]), np.array([1.1, 2.0]), 5.0) == pytest.approx(0.05)
    assert study.spike_time_distance(np.array([]), np.array([]), 5.0) == 0.0
    assert study.spike_time_distance(np.array([1.0]), np.array([]), 5.0) == 5.0
    dts = np.array([1.0, 0.5, 0.25])
    assert study.observed_order(dts, 3 * dts**2) == pytest.approx(2.0)
    assert math.isclose(study.observed_order(dts, 0.1 * dts), 1.0)
