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
    p, state = opt.step(p, [np.array([1.0])], state)  # v = 1, p = -0.1
    p, state = opt.step(p, [np.array([2.0])], state)  # v = 0.9*1 + 2 = 2.9, p = -0.1 - 0.29
    assert state.velocity[0][0] == pytest.approx(2.9)
    assert p[0][0] == pytest.approx(-0.39)


@pytest.mark.parametrize(
    "b1, b2, eps, wd", [(0.8, 0.95, 1e-6, 0.0), (0.9, 0.999, 1e-8, 0.5)], ids=["adam", "weight-decay"]
)
def test_adam_matches_formula_over_steps(b1, b2, eps, wd):
    rng = np.random.default_rng(0)
    lr = 0.01
    opt = Adam(lr=lr, beta1=b1, beta2=b2, eps=eps, weight_decay=wd)
    p = [rng.normal(size=3)]
    state = opt.init(p)
    ref_p, m, v = [float(x) for x in p[0]], [0.0] * 3, [0.0] * 3
    for k in range(1, 5):
        g = rng.normal(size=3)
        p, state = opt.step(p, [g], state)
        for i in range(3):
            m[i] = b1 * m[i] + (1 - b1) * g[i]
            v[i] = b2 * v[i] + (1 - b2) * g[i] ** 2
            ref_p[i] = ref_p[i] * (1 - lr * wd) - lr * (m[i] / (1 - b1**k)) / (math.sqrt(v[i] / (1 - b2**k)) + eps)
    assert state.count == 4
    np.testing.assert_allclose(p[0], ref_p, rtol=1e-13)


def test_sgd_weight_decay_by_hand():
    # decoupled: p(1 - lr*wd) - lr*g = 1.0*(1 - 0.5*0.2) - 0.5*0.1 = 0.85; momentum adds nothing on step 1
    new, _ = SGD(lr=0.5, momentum=0.9, weight_decay=0.2).step([np.array([1.0])], [np.array([0.1])], SGDState((0,)))
    assert new[0][0] == pytest.approx(0.85, rel=1e-15)


def test_adam_weight_decay_is_decoupled_from_the_moments():
    # a zero gradient leaves only the shrinkage: the moments never see the decay
    opt = Adam(lr=0.01, weight_decay=0.5)
    shrunk, _ = opt.step([np.array([2.0])], [np.array([0.0])], opt.init([np.zeros(1)]))
    assert shrunk[0][0] == pytest.approx(2.0 * (1 - 0.01 * 0.5), rel=1e-15)


def test_adam_weight_decay_equals_torch_adamw():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    start, grads = rng.normal(size=(2, 3)), rng.normal(size=(5, 2, 3))
    opt = Adam(lr=0.02, weight_decay=0.3)
    ours, state = [start], opt.init([start])
    theirs = torch.tensor(start, requires_grad=True)
    reference = torch.optim.AdamW([theirs], lr=0.02, weight_decay=0.3, eps=1e-8)
    for g in grads:
        ours, state = opt.step(ours, [g], state)
        theirs.grad = torch.tensor(g)
        reference.step()
    np.testing.assert_allclose(ours[0], theirs.detach().numpy(), rtol=1e-12)


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
    with pytest.raises(ValueError, match=r"weight_decay must lie in \[0, inf\)"):
        Adam(weight_decay=-0.1)
    with pytest.raises(ValueError, match="lr \\* weight_decay must be < 1"):
        SGD(lr=0.5, weight_decay=2.0)
    with pytest.raises(ValueError, match="optimizer"):
        make_optimizer("rmsprop", 0.1)
    with pytest.raises(ValueError, match="shape"):
        SGD(lr=0.1).step([np.zeros(2)], [np.zeros(3)], SGDState(velocity=(np.zeros(2),)))
    with pytest.raises(ValueError, match="unknown optimiser state"):
        state_from_arrays("Foo", {})
    assert isinstance(Adam().init([np.zeros(1)]), AdamState)


def test_clip_by_global_norm():
    from gradients.optim import clip_by_global_norm

    grads = [np.array([3.0, 0.0], np.float32), np.array([[4.0]], np.float32)]  # norm 5
    clipped, norm = clip_by_global_norm(grads, 2.0)
    assert norm == pytest.approx(5.0)
    assert math.sqrt(sum(float((g.astype(float) ** 2).sum()) for g in clipped)) == pytest.approx(2.0, rel=1e-6)
    np.testing.assert_allclose(clipped[0], [1.2, 0.0], rtol=1e-6)  # direction kept
    assert clipped[0].dtype == np.float32
    same, norm = clip_by_global_norm(grads, 10.0)
    assert norm == pytest.approx(5.0) and all(a is b for a, b in zip(same, grads, strict=True))
    nan = [np.array([np.nan])]
    assert clip_by_global_norm(nan, 1.0)[0][0] is nan[0]  # left to the caller's check


def test_learning_rate_factor():
    from gradients.optim import learning_rate_factor

    assert [learning_rate_factor(k, 10, warmup_steps=4) for k in range(5)] == [0.25, 0.5, 0.75, 1.0, 1.0]
    cosine = [learning_rate_factor(k, 10, warmup_steps=2, decay="cosine") for k in range(10)]
    assert cosine[:3] == [0.5, 1.0, 1.0]
    assert cosine[2 + 4] == pytest.approx(0.5)  # half-way through 8 steps
    assert cosine[-1] == pytest.approx(0.5 * (1 + math.cos(math.pi * 7 / 8)))
    assert learning_rate_factor(10, 10, decay="cosine") == pytest.approx(0.0)
    with pytest.raises(ValueError, match="decay"):
        learning_rate_factor(0, 10, decay="linear")


@pytest.mark.parametrize("opt", [Adam(lr=0.01), SGD(lr=0.1, momentum=0.5)], ids=["adam", "sgd"])
def test_scale_is_a_learning_rate_per_array(opt):
    import dataclasses

    params = [np.array([1.0, -2.0]), np.array([[0.5]])]
    grads = [np.array([0.1, 0.2]), np.array([[-1.0]])]
    scaled, _ = opt.step(params, grads, opt.init(params), scale=[0.5, 2.0])
    for k, s in enumerate((0.5, 2.0)):
        other = dataclasses.replace(opt, lr=opt.lr * s)
        np.testing.assert_allclose(scaled[k], other.step(params, grads, other.init(params))[0][k], rtol=1e-15)
    with pytest.raises(ValueError, match="scale has 3 entries"):
        opt.step(params, grads, opt.init(params), scale=[1.0, 1.0, 1.0])
