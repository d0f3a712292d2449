r"""The iterative VR-C-LIF network in vectorised numpy: the reference every backend must match.

For each step t and layer n (eqs. 4-9 and 11; a spike of layer n-1 at step t
reaches layer n in the same step):

.. math::

    I_n(t) &= N_0 W_n P_{n-1}(t) \\
    T_n(t) &= I_n(t)\,R_n(t),\qquad R_n(t) = 1 - \alpha U_n(t-1)/v_{thr} \\
    D^m_n(t) &= \gamma_m D^m_n(t-1) + T_n(t),\qquad
    D^s_n(t) = \gamma_s D^s_n(t-1) + T_n(t) \\
    R^e_n(t) &= \gamma_m R^e_n(t-1) + v_{thr} P_n(t-1) \\
    U_n(t) &= D^m_n(t) - D^s_n(t) - R^e_n(t),\qquad P_n(t) = [U_n(t) > v_{thr}]

The output layer has no reset and does not fire. The variants of R(t) ("bounded", "split")
are those of :mod:`vr_brian.resistance`.
"""

from __future__ import annotations

import numpy as np

from .checks import check_network
from .params import VRParams
from .resistance import resistance_factor, split_weights
from .traces import Traces, weights_fingerprint

__all__ = ["forward"]


def forward(weights, spikes, params: VRParams, dtype=None, check: bool = True) -> Traces:
    """Simulate the iterative network for a batch of input spike trains.

    Parameters
    ----------
    weights : sequence of ndarray
        One (n_post, n_pre) matrix per layer, volts.
    spikes : ndarray
        Input spikes, (batch, steps, n_in), bool or 0/1.
    params : VRParams
        Neuron parameters, shared by all layers.
    dtype : numpy dtype, optional
        Arithmetic dtype; defaults to the dtype of the first weight matrix.
    check : bool
        Validate the inputs first (set False only for inputs already checked).

    Returns
    -------
    Traces
        ``U`` for every layer (batch, steps, units) and ``P`` for every hidden layer.
    """
    if check:
        weights, spikes = check_network(weights, spikes)
    dtype = np.dtype(dtype or weights[0].dtype)
    weights = [np.asarray(W, dtype=dtype) for W in weights]
    batch, steps, _ = spikes.shape
    gamma_m, gamma_s = dtype.type(params.gamma_m), dtype.type(params.gamma_s)
    N0, v_thr = dtype.type(params.N0), dtype.type(params.v_thr)
    split = params.variant == "split"
    # split: the excitatory and the inhibitory part of every matrix, each with its own R
    parts = [split_weights(N0 * W) if split else (N0 * W,) for W in weights]

    U = [np.empty((batch, steps, W.shape[0]), dtype) for W in weights]
    P = [np.empty((batch, steps, W.shape[0]), bool) for W in weights[:-1]]
    # The input layer's currents for all steps at once: one large product instead of `steps` small ones.
    flat_input = spikes.reshape(batch * steps, -1).astype(dtype)
    I_first = [(flat_input @ part.T).reshape(batch, steps, -1) for part in parts[0]]
    state = [
        dict(
            Dm=np.zeros((batch, W.shape[0]), dtype),
            Ds=np.zeros((batch, W.shape[0]), dtype),
            Re=np.zeros((batch, W.shape[0]), dtype),
            U=np.zeros((batch, W.shape[0]), dtype),
            P=np.zeros((batch, W.shape[0]), bool),
        )
        for W in weights
    ]
    last = len(weights) - 1
    for t in range(steps):
        for n, s in enumerate(state):
            I = (
                [current[:, t] for current in I_first]
                if n == 0
                else [P[n - 1][:, t].astype(dtype) @ part.T for part in parts[n]]
            )
            if split:
                T = I[0] * resistance_factor(s["U"], params.k_exc) + I[1] * resistance_factor(s["U"], params.k_inh)
            elif params.resistive:
                T = I[0] * resistance_factor(s["U"], params.k_exc, params.r_max)
            else:
                T = I[0]
            s["Dm"] *= gamma_m
            s["Dm"] += T
            s["Ds"] *= gamma_s
            s["Ds"] += T
            if n == last:
                s["U"] = s["Dm"] - s["Ds"]
            else:
                s["Re"] *= gamma_m
                s["Re"] += v_thr * s["P"]
                s["U"] = s["Dm"] - s["Ds"] - s["Re"]
                s["P"] = s["U"] > v_thr
                P[n][:, t] = s["P"]
            U[n][:, t] = s["U"]
    return Traces(U=tuple(U), P=tuple(P), spikes=spikes, params=params, weights=weights_fingerprint(weights))
