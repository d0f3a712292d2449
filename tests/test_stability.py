"""The runaway index and the projection against the iterative model and against their geometry."""

import numpy as np
import pytest

from vr_brian import VRParams, forward
from vr_brian.stability import initial_gain, kernel_sum, loop_gain, project_to_bound, stable_std_gain


def test_kernel_sum_is_the_sum_of_the_psp():
    params = VRParams.from_si(dt=5e-3)
    spikes = np.zeros((1, 400, 1), bool)
    spikes[0, 0, 0] = True
    U = forward([np.array([[0.5]])], spikes, params).U[0]
    assert kernel_sum(params) == pytest.approx(U.sum() / (params.N0 * 0.5), rel=1e-9)


@pytest.mark.parametrize("w, runs_away", [(-0.2, False), (-0.4, False), (-0.6, True)])
def test_loop_gain_gives_the_steady_voltage_and_the_runaway(w, runs_away):
    """An input spike every step into one output neuron: U* = a/(1 + alpha a/v_thr), a = N0 S w, exists
    while G = -alpha a/v_thr < 1; beyond, the voltage runs away."""
    params = VRParams.from_si(alpha=0.3, dt=5e-3)
    U = forward([np.array([[w]])], np.ones((1, 1000, 1), bool), params).U[0][0, :, 0]
    G = float(loop_gain(np.array([[w]]), np.ones(1), params)[0])
    a = params.N0 * kernel_sum(params) * w
    assert G == pytest.approx(-params.alpha * a / params.v_thr)
    assert (G > 1) == runs_away
    if runs_away:
        assert U[-1] < -1e6
    else:
        assert U[-1] == pytest.approx(a / (1 + params.alpha * a / params.v_thr), rel=1e-9)


@pytest.mark.parametrize("alpha", [0.3, -0.2])
def test_projection_bounds_every_sample_and_moves_only_what_violates(alpha):
    params = VRParams.from_si(alpha=alpha, dt=5e-3)
    rng = np.random.default_rng(0)
    W = rng.normal(0.0, 0.25, (50, 20)).astype(np.float32)
    rates = rng.random((16, 20)) * 0.3
    G = loop_gain(W, rates.T, params)
    violating = (np.abs(G) > 0.5).any(axis=1)
    assert 0 < violating.sum() < 50
    projected, moved = project_to_bound(W, rates, params, 0.5)
    assert projected.dtype == np.float32 and moved == violating.sum()
    assert np.abs(loop_gain(projected, rates.T, params)).max() <= 0.5 * (1 + 1e-5)
    np.testing.assert_array_equal(projected[~violating], W[~violating])


def test_projection_onto_one_slab_is_the_euclidean_one():
    """With one rate vector r the nearest row with G = bound is w + (bound - G)/(dG/dw . r) r: any other
    row on that face is farther from w."""
    params = VRParams(alpha=0.3)
    rng = np.random.default_rng(1)
    w, r = rng.normal(-0.2, 0.05, (1, 8)), rng.random(8) * 0.2
    projected, moved = project_to_bound(w, r, params, 0.5)
    assert moved == 1 and float(loop_gain(projected, r, params)[0]) == pytest.approx(0.5)
    step = projected - w
    np.testing.assert_allclose(step / np.linalg.norm(step), r[None] / np.linalg.norm(r), rtol=1e-9)
    per_volt = float(loop_gain(np.ones((1, 1)), np.ones(1), params)[0])
    for _ in range(20):  # other points of the face: w' = projected + v with v orthogonal to r
        v = rng.normal(size=8)
        v -= (v @ r) / (r @ r) * r
        other = projected + 0.01 * v
        assert float(loop_gain(other, r, params)[0]) == pytest.approx(0.5)
        assert np.linalg.norm(other - w) > np.linalg.norm(step)
    assert per_volt < 0
    with pytest.raises(ValueError, match="bound"):
        project_to_bound(w, r, params, 0.0)


def test_stable_std_gain_meets_the_target():
    params = VRParams.from_si(alpha=0.3, dt=5e-3)
    gain = stable_std_gain(params, 0.1, 64, 700, mean_gain=0.5, std_gain=1.0, bound=0.5)
    assert 0 < gain < 1.0
    n = 64
    assert initial_gain(params, 0.1, n, 700, 0.5 / n, gain / np.sqrt(n)) == pytest.approx(0.5)
    assert stable_std_gain(params, 0.001, 64, 700, 0.5, 1.0) == 1.0  # already stable
    assert stable_std_gain(VRParams(alpha=0.0), 0.1, 64, 700, 0.5, 1.0) == 1.0
