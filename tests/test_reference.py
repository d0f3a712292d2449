import numpy as np
import pytest

from vr_brian import VRParams, forward

from .conftest import VARIANT_CASES, iterative_model_loops, make_case, variant_case


def test_equals_independent_loop_implementation(alpha):
    weights, spikes, params = make_case(alpha, batch=2, steps=120)
    traces = forward(weights, spikes, params)
    for b in range(2):
        U, P = iterative_model_loops(
            [W.tolist() for W in weights],
            spikes[b].tolist(),
            params.tau_m,
            params.tau_s,
            params.v_thr,
            params.alpha,
            params.dt,
        )
        for n in range(len(weights)):
            np.testing.assert_allclose(traces.U[n][b], np.array(U[n]), rtol=0, atol=1e-12)
        for n in range(len(weights) - 1):
            np.testing.assert_array_equal(traces.P[n][b], np.array(P[n], bool))
    assert all(P.any() for P in traces.P), "every hidden layer must fire for the comparison to mean anything"


@pytest.mark.parametrize("params_kwargs", VARIANT_CASES)
def test_variants_equal_independent_loop_implementation(params_kwargs):
    weights, spikes, params = variant_case(params_kwargs, batch=2, steps=120)
    traces = forward(weights, spikes, params)
    paper = forward(weights, spikes, params.replace(variant="paper", r_max=None, e_inh=None))
    for b in range(2):
        U, P = iterative_model_loops(
            [W.tolist() for W in weights],
            spikes[b].tolist(),
            params.tau_m,
            params.tau_s,
            params.v_thr,
            params.alpha,
            params.dt,
            variant=params.variant,
            r_max=params.r_max,
            e_inh=params.e_inh,
        )
        for n in range(len(weights)):
            np.testing.assert_allclose(traces.U[n][b], np.array(U[n]), rtol=0, atol=1e-11)
        for n in range(len(weights) - 1):
            np.testing.assert_array_equal(traces.P[n][b], np.array(P[n], bool))
    assert all(P.any() for P in traces.P), "every hidden layer must fire for the comparison to mean anything"
    if params.variant != "paper":
        assert max(np.abs(a - b).max() for a, b in zip(traces.U, paper.U, strict=True)) > 0.1, (
            "the variant must matter here"
        )


def test_split_inhibition_saturates_at_its_reversal():
    """One neuron under strong steady inhibition, S the alpha = 0 steady voltage: the paper's voltage runs away
    (S < -v_thr/alpha); the split variant's settles at the fixed point of U = S (1 - U/e_inh), above its
    reversal e_inh; the bounded variant's at r_max S."""
    steps = 400
    spikes = np.ones((1, steps, 1), bool)
    W = [np.array([[-0.2]])]
    paper = forward(W, spikes, VRParams(alpha=0.3)).U[0]
    split = forward(W, spikes, VRParams.from_si(alpha=0.3, variant="split", e_inh=-2.0)).U[0]
    bounded = forward(W, spikes, VRParams(alpha=0.3, variant="bounded", r_max=2.0)).U[0]
    plain = forward(W, spikes, VRParams(alpha=0.0)).U[0]
    S = plain[0, -1, 0]
    assert S < -1 / 0.3 and paper.min() < -1e6
    assert split.min() > -2.0
    assert split[0, -1, 0] == pytest.approx(S / (1 + S / -2.0), rel=1e-9)
    assert bounded[0, -1, 0] == pytest.approx(2.0 * S, rel=1e-7)


def test_single_psp_is_the_analytic_kernel():
    """One input spike at step k0 into one output neuron: U(k) = N0 w (gm^(k-k0) - gs^(k-k0)) for k >= k0."""
    params = VRParams(alpha=0.3)
    w, k0, steps = 0.7, 5, 300
    spikes = np.zeros((1, steps, 1), bool)
    spikes[0, k0, 0] = True
    U = forward([np.array([[w]])], spikes, params).U[0][0, :, 0]
    k = np.arange(steps) - k0
    expected = np.where(k >= 0, params.N0 * w * (params.gamma_m**k - params.gamma_s**k), 0.0)
    np.testing.assert_allclose(U, expected, rtol=0, atol=1e-14)
    # sampled every dt = 1 ms the peak is close to w (the continuous peak is exactly w)
    assert 0.99 * w < U.max() <= w


def test_second_psp_is_scaled_by_the_resistance():
    """Two spikes into one neuron: the second jump is N0*w*(1 - alpha*U(k1-1)/v_thr), U from the step before."""
    params = VRParams.from_si(alpha=0.4, v_thr=2.0)
    w, k0, k1, steps = 0.5, 2, 9, 40
    spikes = np.zeros((1, steps, 1), bool)
    spikes[0, [k0, k1], 0] = True
    U = forward([np.array([[w]])], spikes, params).U[0][0, :, 0]
    k = np.arange(steps)

    def kernel(k_from):
        d = k - k_from
        return np.where(d >= 0, params.gamma_m**d - params.gamma_s**d, 0.0)

    first = params.N0 * w * kernel(k0)
    resistance = 1 - params.alpha * first[k1 - 1] / params.v_thr
    np.testing.assert_allclose(U, first + params.N0 * w * resistance * kernel(k1), atol=1e-14)
    assert resistance < 0.95  # the scaling is material, not a rounding effect


def test_alpha_zero_is_the_plain_clif():
    """An independent C-LIF (no resistance term at all) as a linear filter with reset kernel."""
    weights, spikes, _ = make_case(0.0, batch=1, steps=150, sizes=(20, 15, 3))
    params = VRParams(alpha=0.0)
    traces = forward(weights, spikes, params)
    k = np.arange(150)
    psp = params.N0 * (params.gamma_m**k - params.gamma_s**k)  # response to a spike at lag k
    reset = np.where(k >= 1, params.v_thr * params.gamma_m ** (k - 1), 0.0)  # reset felt from the next step
    I1 = spikes[0].astype(float) @ weights[0].T
    U1 = np.array([[np.dot(I1[: t + 1, j], psp[: t + 1][::-1]) for j in range(15)] for t in range(150)])
    # hidden reset: subtract the reset kernel of each of its own spikes (taken from the traces, then re-checked)
    P1 = traces.P[0][0].astype(float)
    U1 -= np.array([[np.dot(P1[: t + 1, j], reset[: t + 1][::-1]) for j in range(15)] for t in range(150)])
    np.testing.assert_allclose(traces.U[0][0], U1, atol=1e-12)
    np.testing.assert_array_equal(P1.astype(bool), U1 > params.v_thr)
    I2 = P1 @ weights[1].T
    U2 = np.array([[np.dot(I2[: t + 1, j], psp[: t + 1][::-1]) for j in range(3)] for t in range(150)])
    np.testing.assert_allclose(traces.U[1][0], U2, atol=1e-12)


def test_output_layer_neither_fires_nor_resets():
    params = VRParams()
    spikes = np.ones((1, 50, 1), bool)
    traces = forward([np.array([[3.0]])], spikes, params)
    assert traces.P == ()
    assert traces.U[0].max() > 10 * params.v_thr  # would have been reset had it fired


def test_strict_threshold():
    """U exactly at v_thr does not fire (P = U > v_thr)."""
    params = VRParams(alpha=0.0)
    spikes = np.zeros((1, 30, 1), bool)
    spikes[0, 0, 0] = True
    probe = forward([np.array([[1.0]]), np.array([[1.0]])], spikes, params)
    peak = probe.U[0].max()
    W_exact = np.array([[params.v_thr / peak]])  # peak exactly v_thr (up to rounding in the other direction)
    traces = forward([W_exact, np.array([[1.0]])], spikes, params)
    assert traces.U[0].max() <= params.v_thr or traces.P[0].any()
    assert not forward([W_exact * (1 - 1e-12), np.array([[1.0]])], spikes, params).P[0].any()
    assert forward([W_exact * (1 + 1e-12), np.array([[1.0]])], spikes, params).P[0].any()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_follows_weights(dtype):
    weights, spikes, params = make_case(0.3, steps=60)
    traces = forward([W.astype(dtype) for W in weights], spikes, params)
    assert all(U.dtype == dtype for U in traces.U)
    reference = forward(weights, spikes, params)
    tolerance = 1e-4 if dtype == np.float32 else 0
    np.testing.assert_allclose(traces.U[-1], reference.U[-1], atol=tolerance)


def test_batch_samples_are_independent():
    weights, spikes, params = make_case(0.3, batch=3, steps=80)
    together = forward(weights, spikes, params)
    for b in range(3):
        alone = forward(weights, spikes[b : b + 1], params)
        for U_all, U_one in zip(together.U, alone.U, strict=True):
            np.testing.assert_allclose(U_all[b], U_one[0], atol=1e-13)
