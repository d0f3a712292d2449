"""Fig. 2 study: the Brian2 pair of neurons against independent implementations of the model."""

import json

import numpy as np
import pytest

from studies.fig2_dynamics import run as study
from vr_brian import VRParams

from .conftest import iterative_model_loops


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    out = tmp_path_factory.mktemp("fig2")
    assert study.main(["--quick", "--out-dir", str(out)]) == 0
    return out, json.loads((out / "results.json").read_text())


def test_quick_run_matches_forward_and_writes_its_figure(quick):
    out, results = quick
    assert results["check_against_forward"]["max_abs_U_error_V"] < 1e-12
    assert results["check_against_forward"]["spikes_equal"]
    assert results["check_T_equals_I_times_R"]["max_abs_error_V"] < 1e-12
    assert [n["alpha"] for n in results["neurons"]] == [0.0, 0.3]
    assert (out / "fig2_dynamics_traces.png").stat().st_size > 20_000


def test_brian_pair_equals_a_plain_loop_implementation_of_the_model():
    params = VRParams()
    rng = np.random.default_rng(3)
    weights = rng.normal(0.15, 0.3, 6)
    spikes = rng.random((80, 6)) < 0.08
    result = study.simulate_pair(weights, spikes, params, [0.0, 0.4])
    for b, alpha in enumerate([0.0, 0.4]):
        U, P = iterative_model_loops(
            [[list(weights)], [[0.0]]], spikes, params.tau_m, params.tau_s, params.v_thr, alpha, params.dt
        )
        np.testing.assert_allclose(result["U"][b], np.array(U[0])[:, 0], atol=1e-12)
        np.testing.assert_array_equal(result["spikes"][b], np.array(P[0])[:, 0].astype(bool))
    assert result["spikes"].any(axis=1).all(), "both neurons should fire in this case"


def test_c_lif_voltage_is_the_sum_of_psp_and_reset_kernels():
    # alpha = 0: U(k) = sum_s N0 w (gm^(k-s) - gs^(k-s)) - sum_f v_thr gm^(k-f-1) over inputs s <= k, spikes f < k
    params = VRParams()
    rng = np.random.default_rng(5)
    weights = rng.normal(0.2, 0.2, 5)
    spikes = rng.random((70, 5)) < 0.1
    U = study.simulate_pair(weights, spikes, params, [0.0])["U"][0]
    fired, expected = [], np.zeros(len(spikes))
    for k in range(len(spikes)):
        s, c = np.nonzero(spikes[: k + 1])
        expected[k] = np.sum(params.N0 * weights[c] * (params.gamma_m ** (k - s) - params.gamma_s ** (k - s)))
        expected[k] -= sum(params.v_thr * params.gamma_m ** (k - f - 1) for f in fired)
        if expected[k] > params.v_thr:
            fired.append(k)
    assert fired
    np.testing.assert_allclose(U, expected, atol=1e-12)


def test_bad_alpha_is_refused_before_any_work(tmp_path):
    with pytest.raises(SystemExit):
        study.main(["--alpha", "0", "--out-dir", str(tmp_path)])
    assert not (tmp_path / "results.json").exists()
