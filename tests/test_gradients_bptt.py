"""BPTT with the surrogate equals two independent derivations: forward-mode tangents (numpy) and torch autograd."""

import numpy as np
import pytest

from gradients import loss_and_grad
from gradients.bptt import loss_horizon
from vr_brian import forward

from .conftest import VARIANT_CASES, make_case, variant_case

Q = 0.5  # volts: wide enough that many hidden voltages fall inside the surrogate


def surrogate_case(alpha, seed=11, sizes=(16, 12, 10, 4), steps=80, batch=3):
    weights, spikes, params = make_case(alpha, seed=seed, batch=batch, steps=steps, sizes=sizes)
    targets = np.random.default_rng(seed).random((batch, sizes[-1])) < 0.5
    traces = forward(weights, spikes, params)
    inside = sum(int((np.abs(U - params.v_thr) < Q / 2).sum()) for U in traces.U[:-1])
    assert inside > 100 and all(P.any() for P in traces.P), "the surrogate and the resets must be active"
    return weights, spikes, targets, params


def directional_derivative(weights, spikes, targets, params, q, direction):
    """d L(W + h V)/dh at h = 0 by forward-mode tangents, one step and one layer at a time, with the
    surrogate g(U) as the spike's tangent factor: written from MODEL.md, sharing no code with gradients."""
    gm, gs, v, k, N0 = params.gamma_m, params.gamma_s, params.v_thr, params.alpha / params.v_thr, params.N0
    batch, steps, _ = spikes.shape
    shape = [(batch, W.shape[0]) for W in weights]
    state = [
        {name: np.zeros(s) for name in ("Dm", "Ds", "Re", "U", "P", "dDm", "dDs", "dRe", "dU", "dP")} for s in shape
    ]
    out, d_out = [], []
    for t in range(steps):
        x, dx = spikes[:, t].astype(float), np.zeros((batch, spikes.shape[2]))
        for n, (W, V) in enumerate(zip(weights, direction, strict=True)):
            s, hidden = state[n], n < len(weights) - 1
            I, dI = N0 * x @ W.T, N0 * (x @ V.T + dx @ W.T)
            R, dR = 1 - k * s["U"], -k * s["dU"]
            T, dT = I * R, dI * R + I * dR
            s["Dm"], s["dDm"] = gm * s["Dm"] + T, gm * s["dDm"] + dT
            s["Ds"], s["dDs"] = gs * s["Ds"] + T, gs * s["dDs"] + dT
            if hidden:
                s["Re"], s["dRe"] = gm * s["Re"] + v * s["P"], gm * s["dRe"] + v * s["dP"]
            s["U"], s["dU"] = s["Dm"] - s["Ds"] - s["Re"], s["dDm"] - s["dDs"] - s["dRe"]
            if hidden:
                s["P"] = (s["U"] > v).astype(float)
                s["dP"] = (np.abs(s["U"] - v) < q / 2) / q * s["dU"]
                x, dx = s["P"], s["dP"]
            else:
                out.append(s["U"])
                d_out.append(s["dU"])
    out, d_out = np.stack(out, 1), np.stack(d_out, 1)
    t_star = out.argmax(1)
    V_max = out.max(1)
    dV_max = np.take_along_axis(d_out, t_star[:, None], 1)[:, 0]
    slope = np.where(targets, -1.0 * (V_max < v), 1.0 * (V_max > v))
    return float((slope * dV_max).sum() / batch)


@pytest.mark.long
@pytest.mark.parametrize("alpha", [0.0, 0.3], ids=["alpha0", "alpha0.3"])
def test_equals_forward_mode_tangents(alpha):
    weights, spikes, targets, params = surrogate_case(alpha)
    _, grads = loss_and_grad(weights, spikes, targets, params, q=Q)
    assert all(np.abs(g).max() > 0 for g in grads)
    rng = np.random.default_rng(0)
    for _ in range(3):
        direction = [rng.normal(size=W.shape) for W in weights]
        expected = directional_derivative(weights, spikes, targets, params, Q, direction)
        got = sum(float((g * V).sum()) for g, V in zip(grads, direction, strict=True))
        assert got == pytest.approx(expected, rel=1e-10)
        # and one layer at a time, so that no layer's error can hide behind another's
        for n in range(len(weights)):
            only = [V if m == n else np.zeros_like(V) for m, V in enumerate(direction)]
            expected = directional_derivative(weights, spikes, targets, params, Q, only)
            assert float((grads[n] * direction[n]).sum()) == pytest.approx(expected, rel=1e-9, abs=1e-12)


class _Spike:
    """Straight-through spike for torch: Heaviside forward, rectangular surrogate backward."""

    @staticmethod
    def make(torch):
        class Spike(torch.autograd.Function):
            @staticmethod
            def forward(ctx, U, v_thr, q):
                ctx.save_for_backward(U)
                ctx.v_thr, ctx.q = v_thr, q
                return (U > v_thr).to(U.dtype)

            @staticmethod
            def backward(ctx, grad):
                (U,) = ctx.saved_tensors
                return grad * ((U - ctx.v_thr).abs() < ctx.q / 2).to(U.dtype) / ctx.q, None, None

        return Spike


def torch_v_max(torch, W, spikes, params, q):
    """MODEL.md's network, written step by step in torch: V_max of every output (batch, n_out). The
    variants of R(t): "bounded" clamps R to [0, r_max]; in "split" the weights w < 0 see R_inh = 1 - U/e_inh."""
    spike = _Spike.make(torch).apply
    x_all = torch.tensor(spikes, dtype=W[0].dtype)
    batch, steps, _ = spikes.shape
    gm, gs, v, k, N0 = params.gamma_m, params.gamma_s, params.v_thr, params.alpha / params.v_thr, params.N0
    e_inh = params.e_inh if params.e_inh is not None else (-v / params.alpha if params.alpha else -np.inf)

    def transmitted(x, w, U_prev):
        R = 1 - k * U_prev
        if params.variant == "bounded":
            R = torch.clamp(R, 0, params.r_max)
        if params.variant != "split":
            return N0 * x @ w.T * R
        excitatory, inhibitory = torch.where(w >= 0, w, 0), torch.where(w < 0, w, 0)
        return N0 * (x @ excitatory.T * R + x @ inhibitory.T * (1 - U_prev / e_inh))

    zeros = [torch.zeros(batch, w.shape[0], dtype=w.dtype) for w in W]
    Dm, Ds, Re, U, P = list(zeros), list(zeros), list(zeros), list(zeros), list(zeros)
    out = []
    for t in range(steps):
        x = x_all[:, t]
        for n, w in enumerate(W):
            T = transmitted(x, w, U[n])
            Dm[n], Ds[n] = gm * Dm[n] + T, gs * Ds[n] + T
            if n < len(W) - 1:
                Re[n] = gm * Re[n] + v * P[n]
                U[n] = Dm[n] - Ds[n] - Re[n]
                P[n] = x = spike(U[n], v, q)
            else:
                U[n] = Dm[n] - Ds[n]
                out.append(U[n])
    return torch.stack(out, 1).max(1).values


def torch_network_loss(torch, W, spikes, params, q, readout):
    """``readout(V_max)`` of the torch network and its gradient by autograd: (loss, grads)."""
    loss = readout(torch_v_max(torch, W, spikes, params, q))
    loss.backward()
    return loss.item(), [w.grad.numpy() for w in W]


def torch_loss_and_grad(torch, weights, spikes, targets, params, q, margin=0.0, positive_weight=1.0):
    """The tempotron-like loss of the torch network, and its gradient by autograd."""
    W = [torch.tensor(w, requires_grad=True) for w in weights]
    v = params.v_thr

    def tempotron(V_max):
        y = torch.tensor(targets, dtype=V_max.dtype)
        return (
            positive_weight * y * torch.relu(v + margin - V_max) + (1 - y) * torch.relu(V_max - (v - margin))
        ).sum() / len(V_max)

    return torch_network_loss(torch, W, spikes, params, q, tempotron)


@pytest.mark.parametrize("alpha", [0.0, 0.3], ids=["alpha0", "alpha0.3"])
@pytest.mark.parametrize(
    "margin, positive_weight", [(0.0, 1.0), (0.3, 1.0), (0.3, 4.0)], ids=["margin0", "margin0.3", "margin0.3-positive4"]
)
def test_equals_torch_autograd(alpha, margin, positive_weight):
    torch = pytest.importorskip("torch")
    weights, spikes, targets, params = surrogate_case(alpha, seed=12)
    expected_loss, expected = torch_loss_and_grad(torch, weights, spikes, targets, params, Q, margin, positive_weight)
    value, grads = loss_and_grad(weights, spikes, targets, params, q=Q, margin=margin, positive_weight=positive_weight)
    assert value == pytest.approx(expected_loss, rel=1e-12)
    for g, e in zip(grads, expected, strict=True):
        assert np.linalg.norm(e) > 0
        assert np.linalg.norm(g - e) <= 1e-12 * np.linalg.norm(e)
    # float32 against the same float64 reference
    value32, grads32 = loss_and_grad(
        [W.astype(np.float32) for W in weights],
        spikes,
        targets,
        params,
        q=Q,
        margin=margin,
        positive_weight=positive_weight,
    )
    assert value32 == pytest.approx(expected_loss, rel=1e-4)
    for g, e in zip(grads32, expected, strict=True):
        assert np.linalg.norm(g - e) <= 2e-3 * np.linalg.norm(e)


@pytest.mark.parametrize("params_kwargs", VARIANT_CASES)
def test_variants_equal_torch_autograd(params_kwargs):
    """Each variant of R(t): loss and gradient against torch autograd, with the surrogate active and R(t)
    outside [0, r_max] (bounded) or inhibition past its reversal (split) in the case."""
    torch = pytest.importorskip("torch")
    weights, spikes, params = variant_case(params_kwargs, seed=12, batch=3, steps=80, sizes=(16, 12, 10, 4), gain=2.0)
    targets = np.random.default_rng(12).random((3, 4)) < 0.5
    traces = forward(weights, spikes, params)
    assert sum(int((np.abs(U - params.v_thr) < Q / 2).sum()) for U in traces.U[:-1]) > 100
    expected_loss, expected = torch_loss_and_grad(torch, weights, spikes, targets, params, Q, 0.3, 2.0)
    value, grads = loss_and_grad(weights, spikes, targets, params, q=Q, margin=0.3, positive_weight=2.0)
    assert value == pytest.approx(expected_loss, rel=1e-12)
    for g, e in zip(grads, expected, strict=True):
        assert np.linalg.norm(e) > 0
        assert np.linalg.norm(g - e) <= 1e-12 * np.linalg.norm(e)
    if params.variant != "paper":  # the variant's own terms are exercised: its gradient is not the paper's
        _, paper = loss_and_grad(
            weights,
            spikes,
            targets,
            params.replace(variant="paper", r_max=None, e_inh=None),
            q=Q,
            margin=0.3,
            positive_weight=2.0,
        )
        assert np.linalg.norm(paper[0] - grads[0]) > 0.01 * np.linalg.norm(grads[0])


def test_flat_loss_gives_zero_gradient():
    """All outputs on the right side of the threshold: no output can move the loss."""
    weights, spikes, _, params = surrogate_case(0.3)
    targets = forward(weights, spikes, params).output.max(1) > params.v_thr
    value, grads = loss_and_grad(weights, spikes, targets, params, q=Q)
    assert value == 0 and all(not g.any() for g in grads)
    assert loss_horizon(np.zeros((2, 3)), np.ones((2, 3), int)) == -1
    assert loss_horizon(np.array([[0, 1.0], [1.0, 0]]), np.array([[9, 4], [6, 8]])) == 6


@pytest.mark.parametrize("loss, scale", [("bce", 0.5), ("cross_entropy", 0.7)])
def test_cross_entropy_readouts_equal_torch_autograd(loss, scale):
    """The max-membrane readouts (gradients.readouts) against torch's own losses on the same network."""
    torch = pytest.importorskip("torch")
    weights, spikes, targets, params = surrogate_case(0.3, seed=13)
    if loss == "cross_entropy":
        targets = np.eye(targets.shape[1], dtype=bool)[[0, 2, 1]]
    W = [torch.tensor(w, requires_grad=True) for w in weights]

    def torch_readout(V_max):
        y = torch.tensor(targets, dtype=V_max.dtype)
        if loss == "bce":
            z = (V_max - params.v_thr) / scale
            return torch.nn.functional.binary_cross_entropy_with_logits(
                z, y, pos_weight=torch.full_like(z[0], 3.0), reduction="sum"
            ) / len(z)
        return torch.nn.functional.cross_entropy(V_max / scale, y.argmax(1))

    expected_loss, expected = torch_network_loss(torch, W, spikes, params, Q, torch_readout)
    value, grads = loss_and_grad(
        weights, spikes, targets, params, q=Q, loss=loss, readout_scale=scale, positive_weight=3.0
    )
    assert value == pytest.approx(expected_loss, rel=1e-12)
    for g, e in zip(grads, expected, strict=True):
        assert np.linalg.norm(e) > 0
        assert np.linalg.norm(g - e) <= 1e-11 * np.linalg.norm(e)
