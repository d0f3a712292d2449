"""The tempotron loss, the public ``loss_and_grad``: central finite differences, Brian2 replay, bad input."""

import numpy as np
import pytest
from brian2 import ms, mV, volt

from gradients import loss, loss_and_grad, predict, tempotron_loss
from vr_brian import BrianNetwork, forward

from .conftest import make_case

FD_SIZES = (12, 10, 3)
FD_Q = 2e-3  # volts: a narrow surrogate, so that no hidden voltage falls inside it
FD_EPS = 1e-6  # volts: central-difference step


def test_loss_by_hand():
    """Two samples, three output neurons, voltages chosen so each case of eq. 10 occurs."""
    U = np.zeros((2, 4, 3))
    U[0, :, 0] = [0.1, 0.7, 0.5, 0.7]  # target, V_max 0.7 < 1 at first argmax 1: L = 0.3
    U[0, :, 1] = [0.0, 1.4, 0.2, 0.0]  # non-target, 1.4 > 1: L = 0.4
    U[0, :, 2] = [0.0, 0.2, 0.9, 0.0]  # non-target below: L = 0
    U[1, :, 0] = [0.0, 0.0, 0.0, 1.2]  # target above: L = 0
    U[1, :, 1] = [0.0, 0.9, 0.0, 0.0]  # non-target below: 0
    U[1, :, 2] = [0.0, 0.0, 0.0, 0.0]  # target, V_max 0 at step 0: L = 1
    y = np.array([[1, 0, 0], [1, 0, 1]], bool)
    value, dV, t_star = tempotron_loss(U, y, 1.0)
    assert value == pytest.approx((0.3 + 0.4 + 1.0) / 2)
    np.testing.assert_array_equal(dV, np.array([[-1, 1, 0], [0, 0, -1]]) / 2)
    np.testing.assert_array_equal(t_star, [[1, 1, 2], [3, 1, 0]])
    # the margin moves both thresholds by m: now 0.9 (non-target) and 1.2 (target) count as well
    value, dV, _ = tempotron_loss(U, y, 1.0, margin=0.2)
    assert value == pytest.approx((0.5 + 0.6 + 0.1 + 0.0 + 0.1 + 1.2) / 2)
    np.testing.assert_array_equal(dV, np.array([[-1, 1, 1], [0, 1, -1]]) / 2)
    np.testing.assert_array_equal(predict(U, 1 * volt), [[False, True, False], [True, False, False]])
    # one label per sample: the highest V_max (0.7, 1.4, 0.9 and 1.2, 0.9, 0.0)
    np.testing.assert_array_equal(predict(U, 1 * volt, single_label=True), [[False, True, False], [True, False, False]])
    U[1, :, 2] = 1.5
    np.testing.assert_array_equal(predict(U, 1 * volt, single_label=True)[1], [False, False, True])
    U[1, :, 2] = 0.0
    # a positive weight of 3 scales the errors of target neurons only (0.3 and 1.0 above)
    value, dV, _ = tempotron_loss(U, y, 1.0, positive_weight=3.0)
    assert value == pytest.approx((3 * 0.3 + 0.4 + 3 * 1.0) / 2)
    np.testing.assert_array_equal(dV, np.array([[-3, 1, 0], [0, 0, -3]]) / 2)


def fd_case(alpha: float, seed: int):
    weights, spikes, params = make_case(alpha, seed=seed, batch=2, steps=60, sizes=FD_SIZES)
    targets = np.random.default_rng(seed).random((2, FD_SIZES[-1])) < 0.5
    return weights, spikes, targets, params


@pytest.mark.parametrize("alpha, seed", [(0.0, 5), (0.3, 9)], ids=["alpha0", "alpha0.3"])
def test_central_differences(alpha, seed):
    """Where no hidden voltage is within q/2 of threshold the surrogate network is the true network
    locally, so central differences of the loss must equal the gradient: float64 tightly, float32 looser.

    Hidden weights then act only through spikes, which no small change flips: their gradient is 0 in
    both; the output weights see the hidden spikes and resets, the resistance (alpha) and t*."""
    weights, spikes, targets, params = fd_case(alpha, seed)
    traces = forward(weights, spikes, params)
    assert all(P.any() for P in traces.P), "hidden layers must fire (reset path present)"
    distance = min(np.abs(U - params.v_thr).min() for U in traces.U[:-1])
    assert distance > FD_Q / 2, f"a hidden voltage is {distance:g} V from threshold: the check would not hold"
    value, grads = loss_and_grad(weights, spikes, targets, params, q=FD_Q)
    assert value > 0 and np.abs(grads[-1]).max() > 0
    numeric = [np.zeros_like(W) for W in weights]
    for n, W in enumerate(weights):
        for index in np.ndindex(W.shape):
            shifted = []
            for sign in (1, -1):
                changed = [w.copy() for w in weights]
                changed[n][index] += sign * FD_EPS
                shifted.append(loss(changed, spikes, targets, params))
            numeric[n][index] = (shifted[0] - shifted[1]) / (2 * FD_EPS)
    for g, fd in zip(grads, numeric, strict=True):
        np.testing.assert_allclose(g, fd, rtol=0, atol=1e-7 * np.abs(numeric[-1]).max())
    np.testing.assert_allclose(grads[-1], numeric[-1], rtol=1e-6, atol=1e-9)
    value32, grads32 = loss_and_grad([W.astype(np.float32) for W in weights], spikes, targets, params, q=FD_Q)
    assert all(g.dtype == np.float32 and g.shape == W.shape for g, W in zip(grads32, weights, strict=True))
    assert value32 == pytest.approx(value, rel=1e-5)
    for g, fd in zip(grads32, numeric, strict=True):
        np.testing.assert_allclose(g, fd, rtol=0, atol=1e-4 * np.abs(numeric[-1]).max())


@pytest.mark.parametrize("alpha", [0.0, 0.3], ids=["alpha0", "alpha0.3"])
def test_replaying_brian2_traces_gives_the_same_gradients(alpha):
    weights, spikes, params = make_case(alpha, seed=5, batch=2, steps=60, sizes=FD_SIZES)
    targets = np.array([[1, 0, 0], [0, 1, 1]], bool)
    brian = BrianNetwork((12, 10, 3), params, steps=60, batch=2, target="numpy").run(weights, spikes)
    assert all(P.any() for P in brian.P)
    for method in ("bptt", "paper"):
        value, grads = loss_and_grad(weights, spikes, targets, params, q=0.5, method=method)
        replayed_value, replayed = loss_and_grad(weights, spikes, targets, params, q=0.5, traces=brian, method=method)
        assert replayed_value == pytest.approx(value, rel=1e-9)
        assert np.abs(grads[0]).max() > 0, "the surrogate must be active for the comparison to mean anything"
        for g, r in zip(grads, replayed, strict=True):
            assert np.linalg.norm(g - r) <= 1e-9 * np.linalg.norm(g)


def test_quantities_and_defaults():
    weights, spikes, targets, params = fd_case(0.3, 3)
    value, grads = loss_and_grad(weights, spikes, targets, params, q=500 * mV, margin=300 * mV)
    same_value, same = loss_and_grad(weights, spikes, targets, params, q=0.5, margin=0.3)
    assert value == same_value and all(np.array_equal(a, b) for a, b in zip(grads, same, strict=True))
    default_value, default = loss_and_grad(weights, spikes, targets, params)  # q = v_thr
    explicit_value, explicit = loss_and_grad(weights, spikes, targets, params, q=params.v_thr)
    assert all(np.array_equal(a, b) for a, b in zip(default, explicit, strict=True))


def test_bad_input_is_rejected_with_a_clear_error():
    weights, spikes, targets, params = fd_case(0.3, 3)
    with pytest.raises(ValueError, match=r"targets must have shape \(batch, n_out\) = \(2, 3\)"):
        loss_and_grad(weights, spikes, targets[:, :2], params)
    with pytest.raises(ValueError, match="targets must be multi-hot"):
        loss_and_grad(weights, spikes, targets * 2, params)
    for q in (0.0, -1e-3, float("nan")):
        with pytest.raises(ValueError, match="q .surrogate width. must be a finite voltage > 0"):
            loss_and_grad(weights, spikes, targets, params, q=q)
    with pytest.raises(ValueError, match="q must be in units of"):
        loss_and_grad(weights, spikes, targets, params, q=5 * ms)
    with pytest.raises(ValueError, match="method must be one of"):
        loss_and_grad(weights, spikes, targets, params, method="adjoint")
    with pytest.raises(ValueError, match="margin must be a finite voltage >= 0"):
        loss_and_grad(weights, spikes, targets, params, margin=-0.1)
    with pytest.raises(ValueError, match="positive_weight must be a finite number > 0"):
        loss_and_grad(weights, spikes, targets, params, positive_weight=0.0)
    with pytest.raises(TypeError, match=r"weights\[0\] \(layer 1\) must be float32 or float64"):
        loss_and_grad([W.astype(np.float16) for W in weights], spikes, targets, params)
    with pytest.raises(TypeError, match="params must be a VRParams"):
        loss_and_grad(weights, spikes, targets, {"alpha": 0.3})
    traces = forward(weights, spikes, params)
    with pytest.raises(ValueError, match="traces were made with"):
        loss_and_grad(weights, spikes, targets, params.replace(alpha=0.1), traces=traces)
    with pytest.raises(ValueError, match="traces.spikes differ"):
        loss_and_grad(weights, ~spikes, targets, params, traces=traces)
    with pytest.raises(ValueError, match=r"traces.U\[1\] has shape"):
        short = forward([weights[0], weights[1][:2]], spikes, params)
        loss_and_grad(weights, spikes, targets, params, traces=short)
    with pytest.raises(ValueError, match="traces hold 2 voltage"):
        loss_and_grad(weights + [np.ones((2, 3))], spikes, targets[:, :2], params, traces=traces)
    with pytest.raises(TypeError, match="traces must be a vr_brian.Traces"):
        loss_and_grad(weights, spikes, targets, params, traces=traces.U)


def test_readout_settings_are_checked():
    from gradients import loss_and_grad
    from vr_brian import VRParams

    rng = np.random.default_rng(0)
    weights = [rng.normal(0.05, 0.2, (6, 8)), rng.normal(0.1, 0.3, (3, 6))]
    spikes = rng.random((2, 30, 8)) < 0.1
    multi = np.array([[1, 1, 0], [0, 1, 0]], bool)
    with pytest.raises(ValueError, match="exactly one target per sample"):
        loss_and_grad(weights, spikes, multi, VRParams(), loss="cross_entropy")
    with pytest.raises(ValueError, match="readout_scale"):
        loss_and_grad(weights, spikes, multi, VRParams(), loss="bce", readout_scale=0.0)
    with pytest.raises(ValueError, match="loss must be one of"):
        loss_and_grad(weights, spikes, multi, VRParams(), loss="hinge")
