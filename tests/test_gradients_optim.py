"""Optimisers against steps computed by hand and against the Adam formula written out in plain floats."""

import math

import numpy as np
import pytest

from gradients.optim import SGD, Adam, AdamState, SGDState, make_optimizer, state_from_arrays, state_to_arrays


def test_sgd_plain_step_by_hand():
    params = [np.array([1.0, -2.0]), np.array([[0.5]])]
    grads = [np.array([0.1, 0.2]), np.array([[-1.0]])]
    opt = SGD(lr=0.5)
    new, state = opt.step(params, grads, opt.init(params))
    np.testing.assert_array_equal(new[0], [0.95, -2.1])
    np.testing.assert_array_equal(new[1], [[1.0]])
    np.testing.assert_array_equal(params[0], [1.0, -2.0])  # inputs untouched


def test_sgd_momentum_two_steps_by_hand():
    opt = SGD(lr=0.1, momentum=0.9)
    p = [np.array([0.0])]
    state = opt.init(p)
    p, state = opt.step(p, [np.array([1.0])], state)      # v = 1, p = -0.1
    p, state = opt.step(p, [np.array([2.0])], state)      # v = 0.9*1 + 2 = 2.9, p = -0.1 - 0.29
    assert state.velocity[0][0] == pytest.approx(2.9)
    assert p[0][0] == pytest.approx(-0.39)


def test_adam_matches_formula_over_steps():
    rng = np.random.default_rng(0)
    lr, b1, b2, eps = 0.01, 0.8, 0.95, 1e-6
    opt = Adam(lr=lr, beta1=b1, beta2=b2, eps=eps)
    p = [rng.normal(size=3)]
    state = opt.init(p)
    ref_p, m, v = [float(x) for x in p[0]], [0.0] * 3, [0.0] * 3
    for k in range(1, 5):
        g = rng.normal(size=3)
        p, state = opt.step(p, [g], state)
        for i in range(3):
            m[i] = b1 * m[i] + (1 - b1) * g[i]
            v[i] = b2 * v[i] + (1 - b2) * g[i] ** 2
            ref_p[i] -= lr * (m[i] / (1 - b1 ** k)) / (math.sqrt(v[i] / (1 - b2 ** k)) + eps)
    assert state.count == 4
    np.testing.assert_allclose(p[0], ref_p, rtol=1e-13)


def test_adam_first_step_is_lr_times_sign():
    # m_hat = g and v_hat = g^2 after one step, so the step is lr * g / (|g| + eps)
    opt = Adam(lr=0.1)
    new, _ = opt.step([np.zeros(3)], [np.array([2.0, -0.5, 1e-3])], opt.init([np.zeros(3)]))
    np.testing.assert_allclose(new[0], [-0.1, 0.1, -0.1 * 1e-3 / (1e-3 + 1e-8)])


@pytest.mark.parametrize("opt", [SGD(lr=0.1, momentum=0.5), Adam(lr=0.1)], ids=["sgd", "adam"])
def test_float32_stays_float32_and_state_round_trips(opt):
    p = [np.ones((2, 3), np.float32)]
    new, state = opt.step(p, [np.full((2, 3), 0.5, np.float64)], opt.init(p))
    assert new[0].dtype == np.float32
    rebuilt = state_from_arrays(type(state).__name__, state_to_arrays(state))
    assert type(rebuilt) is type(state)
    a, b = opt.step(new, [np.ones((2, 3))], state), opt.step(new, [np.ones((2, 3))], rebuilt)
    np.testing.assert_array_equal(a[0][0], b[0][0])


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="lr"):
        SGD(lr=0)
    with pytest.raises(ValueError, match="momentum"):
        SGD(lr=0.1, momentum=1.0)
    with pytest.raises(ValueError, match="beta2"):
        Adam(beta2=1.5)
    with pytest.raises(ValueError, match="optimizer"):
        make_optimizer("rmsprop", 0.1)
    with pytest.raises(ValueError, match="shape"):
        SGD(lr=0.1).step([np.zeros(2)], [np.zeros(3)], SGDState(velocity=(np.zeros(2),)))
    with pytest.raises(ValueError, match="unknown optimiser state"):
        state_from_arrays("Foo", {})
    assert isinstance(Adam().init([np.zeros(1)]), AdamState)
