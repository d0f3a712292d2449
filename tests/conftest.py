"""Shared fixtures: a standard 3-layer network case and an independent loop implementation of MODEL.md."""

import math

import numpy as np
import pytest
from brian2 import prefs

from vr_brian import VRParams

SIZES = (40, 30, 20, 6)


def make_case(alpha: float, seed: int = 7, batch: int = 2, steps: int = 200, sizes=SIZES):
    """Weights N(0.03, 0.08) V scaled by sqrt(40/fan-in) and 10%-dense input: every hidden layer fires
    (~10% of steps) and no voltage runs away, so traces are comparable to rounding."""
    rng = np.random.default_rng(seed)
    weights = [
        rng.normal(0.03, 0.08, (sizes[n + 1], sizes[n])) * math.sqrt(40 / sizes[n]) for n in range(len(sizes) - 1)
    ]
    spikes = rng.random((batch, steps, sizes[0])) < 0.1
    return weights, spikes, VRParams(alpha=alpha)


def iterative_model_loops(weights, spikes, tau_m, tau_s, v_thr, alpha, dt, variant="paper", r_max=2.0, e_inh=None):
    """MODEL.md's equations written out with scalar loops, one sample, as plainly as possible.

    ``variant``: "paper"; "bounded" (R clipped to [0, r_max]); "split" (a weight w < 0 sees
    1 - U/e_inh, e_inh = -v_thr/alpha by default).
    Returns (U, P): lists over layers of [step][neuron] nested lists.
    """
    if e_inh is None:
        e_inh = -v_thr / alpha if alpha else -math.inf

    def resistance(w, u):
        if variant == "split" and w < 0:
            return 1 - u / e_inh
        r = 1 - alpha * u / v_thr
        return min(max(r, 0.0), r_max) if variant == "bounded" else r

    gm, gs = math.exp(-dt / tau_m), math.exp(-dt / tau_s)
    f = tau_m / tau_s
    N0 = 1 / (f - 1) * f ** (f / (f - 1))
    steps = len(spikes)
    n_layers = len(weights)
    sizes = [len(W) for W in weights]
    Dm = [[0.0] * n for n in sizes]
    Ds = [[0.0] * n for n in sizes]
    Re = [[0.0] * n for n in sizes]
    U_last = [[0.0] * n for n in sizes]
    P_last = [[0] * n for n in sizes]
    U_all = [[] for _ in sizes]
    P_all = [[] for _ in sizes[:-1]]
    for t in range(steps):
        below = [int(s) for s in spikes[t]]
        for n in range(n_layers):
            U_now, P_now = [], []
            for j in range(sizes[n]):
                T = N0 * sum(
                    weights[n][j][i] * below[i] * resistance(weights[n][j][i], U_last[n][j]) for i in range(len(below))
                )
                Dm[n][j] = gm * Dm[n][j] + T
                Ds[n][j] = gs * Ds[n][j] + T
                if n < n_layers - 1:
                    Re[n][j] = gm * Re[n][j] + v_thr * P_last[n][j]
                    u = Dm[n][j] - Ds[n][j] - Re[n][j]
                    P_now.append(1 if u > v_thr else 0)
                else:
                    u = Dm[n][j] - Ds[n][j]
                U_now.append(u)
            U_last[n], U_all[n] = U_now, U_all[n] + [U_now]
            if n < n_layers - 1:
                P_last[n] = P_now
                P_all[n].append(P_now)
                below = P_now
    return U_all, P_all


@pytest.fixture
def numpy_target():
    """Brian2's default target compiles (cython); tests of Brian2 objects built outside BrianNetwork use numpy."""
    previous, prefs.codegen.target = prefs.codegen.target, "numpy"
    yield
    prefs.codegen.target = previous


@pytest.fixture(params=[0.0, 0.3], ids=["alpha0", "alpha0.3"])
def alpha(request):
    return request.param


#: Each variant of R(t) with the settings the tests use: (VRParams keyword arguments, id).
VARIANT_CASES = [
    pytest.param({"alpha": 0.3}, id="paper"),
    pytest.param({"alpha": 0.3, "variant": "bounded", "r_max": 1.3}, id="bounded"),
    pytest.param({"alpha": 0.3, "variant": "split"}, id="split"),
    pytest.param({"alpha": 0.1, "variant": "split", "e_inh": -1.5}, id="split-e_inh"),
]


def variant_case(params_kwargs, seed=7, batch=2, steps=200, sizes=SIZES, gain=2.5):
    """:func:`make_case` with its weights scaled by ``gain``, so that R(t) leaves [0, r_max] and the
    variants differ from the paper's model, and params of ``params_kwargs``."""
    weights, spikes, _ = make_case(0.0, seed=seed, batch=batch, steps=steps, sizes=sizes)
    return [gain * W for W in weights], spikes, VRParams.from_si(**params_kwargs)
