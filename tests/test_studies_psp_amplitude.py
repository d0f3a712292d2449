"""PSP-amplitude study: measured Brian2 amplitudes against the analytic w kappa (1 - alpha U / v_thr)."""

import json
import math

import numpy as np
import pytest

from studies.psp_amplitude import run as study
from vr_brian import VRParams


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    out = tmp_path_factory.mktemp("psp")
    assert study.main(["--quick", "--out-dir", str(out)]) == 0
    return out, json.loads((out / "results.json").read_text())


def kappa_by_hand(tau_m=20e-3, tau_s=5e-3, dt=1e-3):
    f = tau_m / tau_s
    N0 = f ** (f / (f - 1)) / (f - 1)
    return max(N0 * (math.exp(-j * dt / tau_m) - math.exp(-j * dt / tau_s)) for j in range(200))


def test_measured_amplitude_is_the_analytic_one(quick):
    out, results = quick
    w = results["config"]["weight_V"]
    alphas = np.array(results["config"]["alphas"])
    U = np.array(results["config"]["arrival_voltages_V"])
    expected = w * kappa_by_hand() * (1 - alphas[:, None] * U[None, :] / 1.0)
    np.testing.assert_allclose(results["measured_amplitude_V"], expected, atol=1e-12)
    assert results["max_abs_arrival_voltage_error_V"] < 1e-12
    assert (out / "psp_amplitude_vs_voltage.png").exists()


def test_kappa_is_the_discrete_peak_just_below_one(quick):
    _, results = quick
    assert results["kappa"] == pytest.approx(kappa_by_hand(), abs=1e-15)
    assert 0.99 < results["kappa"] <= 1.0


def test_negative_resistance_flips_the_psp():
    # above v_thr/alpha, R < 0: an excitatory input lowers the voltage
    params = VRParams()
    result = study.measure(params, [0.5], [1.0, 3.0], w=0.2)
    assert result["amplitude"][0, 0] > 0 > result["amplitude"][0, 1]
    np.testing.assert_allclose(result["amplitude"][0], 0.2 * kappa_by_hand() * np.array([0.5, -0.5]), atol=1e-12)
