r"""The exact reverse-mode gradient (BPTT) of the network with the surrogate spike derivative.

Notation of MODEL.md, one layer, :math:`k = \alpha / v_{thr}`, :math:`R(t) = 1 - k U(t-1)`,
:math:`g` the surrogate (eq. 12). Adjoints :math:`\bar x = \partial L / \partial x`
(total derivative through everything later in time or higher in the network)
run backwards from the last step that influences the loss. Because
:math:`U = D^m - D^s - R^e` and a spike's reset enters :math:`R^e`, which decays
like :math:`D^m`, :math:`\bar R^e = -\bar D^m` and two adjoints suffice:

.. math::

    \bar T(t) &= \gamma_m \bar D^m(t+1) + \gamma_s \bar D^s(t+1)
        && \text{(T(t) enters } D^m(t), D^s(t)\text{; } \bar U(t) \text{ cancels)} \\
    \bar P(t) &= -v_{thr} \bar D^m(t+1) + N_0 W_{n+1}^\top \bar I_{n+1}(t)
        && \text{(reset at } t+1\text{; layer above at } t\text{, eq. 20)} \\
    \bar U(t) &= e(t) + g(U(t))\,\bar P(t) - k\, I(t+1)\, \bar T(t+1)
        && \text{(loss; spike; resistance at } t+1\text{, eqs. 18-19)} \\
    \bar D^m(t) &= \bar U(t) + \gamma_m \bar D^m(t+1),\qquad
    \bar D^s(t) = \bar T(t) - \bar D^m(t) \\
    \bar I(t) &= \bar T(t)\, R(t),\qquad
    \frac{\partial L}{\partial W_n} = N_0 \sum_{b,t} \bar I_n(t)\, P_{n-1}(t)^\top

In the variants of R(t) (:mod:`vr_brian.resistance`), :math:`k I(t+1)` becomes the slope
:math:`c(t+1) = -\partial T(t+1)/\partial U(t)`: :math:`k I(t+1)` where
:math:`0 \le 1 - k U(t) \le r_{max}` and 0 elsewhere ("bounded"), :math:`k I_{exc}(t+1) + k_{inh}
I_{inh}(t+1)` ("split", whose two parts of W each get :math:`\bar I_{exc|inh} = \bar T R_{exc|inh}`).

The loss source :math:`e(t)` is nonzero only in the output layer, at :math:`t = t^*`:
:math:`e(t^*) = \partial L/\partial V_{max}`; the output layer has no spike term.
Every path from a weight to the loss is counted exactly once: W -> T(t) directly,
U(t-1) -> T(t) through R, P(t) -> R^e(t+1) and -> T_{n+1}(t), and the output
only at :math:`t \le t^*`. Nothing later than the latest :math:`t^*` with a nonzero
:math:`\partial L/\partial V_{max}` can influence the loss, so the sweep starts there.
"""

from __future__ import annotations

import numpy as np

from vr_brian.params import VRParams
from vr_brian.resistance import resistance_factor

from .forward import Recording, previous_voltage, use_compiled, weight_parts
from .surrogate import surrogate

__all__ = ["backward", "sweep_layer", "resistance_slope", "current_adjoints", "loss_horizon"]


def resistance_slope(currents: tuple, U: np.ndarray, params: VRParams) -> np.ndarray | None:
    r""":math:`c(t) = -\partial T(t)/\partial U(t-1)` for all steps (steps, batch, units), or None
    without resistance: :math:`k I(t)`, masked to where R is not clipped in "bounded",
    :math:`k I_{exc}(t) + k_{inh} I_{inh}(t)` in "split"."""
    if not params.resistive:
        return None
    dtype = currents[0].dtype
    if params.variant == "split":
        return dtype.type(params.k_exc) * currents[0] + dtype.type(params.k_inh) * currents[1]
    slope = dtype.type(params.k_exc) * currents[0]
    if params.variant == "bounded":
        R = resistance_factor(previous_voltage(U), params.k_exc)
        slope *= (R >= 0) & (R <= dtype.type(params.r_max))
    return slope


def sweep_layer(
    U: np.ndarray,
    slope: np.ndarray | None,
    params: VRParams,
    q: float,
    fires: bool,
    t_end: int,
    voltage_source: np.ndarray | None = None,
    spike_source: np.ndarray | None = None,
) -> np.ndarray:
    r"""Run one layer's adjoint recursion from step ``t_end`` down to 0.

    Parameters
    ----------
    U : ndarray
        The layer's voltage (steps, batch, units), time-major.
    slope : ndarray or None
        :func:`resistance_slope` of the layer (None without resistance).
    params : VRParams
        Neuron parameters.
    q : float
        Surrogate width, volts (used when ``fires``).
    fires : bool
        Hidden layer (spikes and resets) or output layer.
    t_end : int
        Last step whose adjoint can be nonzero.
    voltage_source : ndarray, optional
        :math:`e(t)`, direct loss sensitivity to :math:`U(t)`, (>= t_end+1, batch, units).
    spike_source : ndarray, optional
        :math:`N_0 W_{n+1}^\top \bar I_{n+1}(t)`, the sensitivity to this layer's spikes
        through the layer above, (>= t_end+1, batch, units).

    Returns
    -------
    ndarray
        :math:`\bar T(t)` for t = 0..t_end, (t_end+1, batch, units).
    """
    dtype = U.dtype
    _, batch, units = U.shape
    gamma_m, gamma_s = dtype.type(params.gamma_m), dtype.type(params.gamma_s)
    steps_used = t_end + 1
    dT = np.empty((steps_used + 1, batch, units), dtype)  # one zero step past the end
    dT[steps_used] = 0
    dDm = np.zeros((batch, units), dtype)
    scratch = np.empty((batch, units), dtype)
    # dDs(t+1) = dT(t+1) - dDm(t+1), hence dT(t) = (gamma_m - gamma_s) dDm(t+1) + gamma_s dT(t+1)
    gamma_diff = dtype.type(params.gamma_m - params.gamma_s)
    # dDm(t) = dU(t) + gamma_m dDm(t+1), where dU(t) holds -v_thr g(U(t)) dDm(t+1) (the reset at t+1):
    # one factor, decay(t) = gamma_m - v_thr g(U(t)), carries dDm(t+1) into dDm(t)
    if fires:
        minus_v_thr = -dtype.type(params.v_thr)
        g = np.empty((batch, units), dtype)
        decay = np.empty((batch, units), dtype)
        source = np.empty((batch, units), dtype)
    for t in range(t_end, -1, -1):
        dT_t, dT_next = dT[t], dT[t + 1]
        np.multiply(dDm, gamma_diff, out=dT_t)
        np.multiply(dT_next, gamma_s, out=scratch)
        dT_t += scratch
        if fires:
            surrogate(U[t], params.v_thr, q, out=g)  # g(U(t)), eq. 12
            np.multiply(g, minus_v_thr, out=decay)
            decay += gamma_m
            dDm *= decay
            if spike_source is not None:
                np.multiply(g, spike_source[t], out=source)  # g(U(t)) times the layer above at t
                dDm += source
        else:
            dDm *= gamma_m
        if voltage_source is not None:
            dDm += voltage_source[t]
        if slope is not None and t < t_end:
            np.multiply(slope[t + 1], dT_next, out=scratch)  # through R(t+1), eqs. 18-19
            dDm -= scratch
    return dT[:steps_used]


def current_adjoints(dT: np.ndarray, U: np.ndarray, params: VRParams) -> tuple:
    r""":math:`\bar I(t) = \bar T(t) R(t)` per part of :func:`gradients.forward.weight_parts`
    (R of excitatory and of inhibitory input in "split"), for t = 0..len(dT)-1."""
    if not params.resistive:
        return (dT,)
    U_prev = previous_voltage(U[: dT.shape[0]])
    if params.variant == "split":
        return (dT * resistance_factor(U_prev, params.k_exc), dT * resistance_factor(U_prev, params.k_inh))
    return (dT * resistance_factor(U_prev, params.k_exc, params.r_max),)


def combine_parts(W: np.ndarray, per_part: tuple) -> np.ndarray:
    """One gradient of W from the gradient of each of its parts: the part W >= 0 (excitatory, in
    "split") takes the first, W < 0 the second."""
    if len(per_part) == 1:
        return per_part[0]
    return np.where(W >= 0, per_part[0], per_part[1])


def loss_horizon(dL_dVmax: np.ndarray, t_star: np.ndarray) -> int:
    """The last step that can influence the loss, or -1 if the loss is flat."""
    active = dL_dVmax != 0
    return int(t_star[active].max()) if active.any() else -1


def backward(
    weights,
    recording: Recording,
    dL_dVmax: np.ndarray,
    t_star: np.ndarray,
    params: VRParams,
    q: float,
    keep_adjoints: bool = False,
    compiled: bool | None = None,
):
    r"""Gradients of the loss with respect to every weight matrix.

    Parameters
    ----------
    weights : list of ndarray
        (n_post, n_pre), one dtype.
    recording : Recording
        The forward pass (time-major voltages and spikes).
    dL_dVmax, t_star : ndarray
        From :func:`gradients.tempotron.tempotron_loss`, (batch, n_out).
    params : VRParams
        Neuron parameters.
    q : float
        Surrogate width, volts.
    keep_adjoints : bool
        Also return the adjoints :math:`\bar T_n` (what the ``paper`` method reuses); they
        come from the numpy path.
    compiled : bool, optional
        Sweep with the compiled kernels (:mod:`gradients.kernels`) or the numpy path; default:
        as the recording was made (:attr:`gradients.forward.Recording.compiled`).

    Returns
    -------
    grads : list of ndarray
        :math:`\partial L/\partial W_n`, shapes and dtype of ``weights``.
    adjoints : list of ndarray
        With ``keep_adjoints``: :math:`\bar T_n(t)` for t = 0..t_end per layer; else empty.
    """
    t_end = loss_horizon(dL_dVmax, t_star)
    if t_end < 0:
        return [np.zeros_like(W) for W in weights], []
    if (recording.compiled if compiled is None else use_compiled(compiled)) and not keep_adjoints:
        from . import kernels

        return kernels.backward(weights, recording, dL_dVmax, t_star, params, q), []
    dtype = weights[0].dtype
    N0 = dtype.type(params.N0)
    batch, n_out = dL_dVmax.shape
    source = np.zeros((t_end + 1, batch, n_out), dtype)
    b, j = np.nonzero(dL_dVmax)
    source[t_star[b, j], b, j] = dL_dVmax[b, j]
    grads: list = [None] * len(weights)
    adjoints: list = [None] * len(weights)
    spike_source = None
    for n in range(len(weights) - 1, -1, -1):
        fires = n < len(weights) - 1
        U = recording.U[n]
        slope = resistance_slope(recording.currents(n, weights, params), U, params)
        dT = sweep_layer(
            U, slope, params, q, fires, t_end, voltage_source=None if fires else source, spike_source=spike_source
        )
        adjoints[n] = dT
        parts = current_adjoints(dT, U, params)
        grads[n] = combine_parts(weights[n], tuple(recording.inputs[n].weight_gradient(dI, params.N0) for dI in parts))
        if n > 0:
            spike_source = sum(dI @ W for dI, W in zip(parts, weight_parts(weights[n], params), strict=True))
            spike_source *= N0
    return grads, adjoints if keep_adjoints else []
