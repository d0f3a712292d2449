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

from . import forward as _forward
from .forward import Recording, _njit

__all__ = ["backward", "sweep_layer", "current_adjoint", "loss_horizon"]


def sweep_layer(U: np.ndarray, I: np.ndarray, params: VRParams, q: float, fires: bool, t_end: int,
                voltage_source: np.ndarray | None = None, spike_source: np.ndarray | None = None) -> np.ndarray:
    r"""Run one layer's adjoint recursion from step ``t_end`` down to 0.

    Parameters
    ----------
    U, I : ndarray
        The layer's voltage and input current (steps, batch, units), time-major.
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
    return _sweep(U, I, params, q, fires, t_end, voltage_source, spike_source, currents=False)


def _sweep(U, I, params, q, fires, t_end, voltage_source, spike_source, currents: bool) -> np.ndarray:
    r""":func:`sweep_layer`; with ``currents`` it returns :math:`\bar I(t)` instead of :math:`\bar T(t)`.

    Everything runs one step at a time on (batch, units) buffers that stay in
    cache: the surrogate window, the resistance terms and (with ``currents``) the
    conversion :math:`\bar I(t+1) = \bar T(t+1) - k U(t) \bar T(t+1)`, done as
    soon as :math:`\bar T(t+1)` is no longer needed. The operations and their
    order are those of the whole-array form (:func:`gradients.surrogate.surrogate`,
    :func:`current_adjoint`), so the results are the same to the last bit.
    """
    dtype = U.dtype
    _, batch, units = U.shape
    gamma_m, gamma_s = dtype.type(params.gamma_m), dtype.type(params.gamma_s)
    k = dtype.type(params.alpha / params.v_thr)
    steps_used = t_end + 1
    dT = np.empty((steps_used + 1, batch, units), dtype)   # one zero step past the end
    dT[steps_used] = 0
    dDm = np.zeros((batch, units), dtype)
    scratch = np.empty((batch, units), dtype)
    # dDs(t+1) = dT(t+1) - dDm(t+1), hence dT(t) = (gamma_m - gamma_s) dDm(t+1) + gamma_s dT(t+1)
    gamma_diff = dtype.type(params.gamma_m - params.gamma_s)
    # dDm(t) = dU(t) + gamma_m dDm(t+1), where dU(t) holds -v_thr g(U(t)) dDm(t+1) (the reset at t+1):
    # one factor, decay(t) = gamma_m - v_thr g(U(t)), carries dDm(t+1) into dDm(t)
    if _forward.COMPILED:
        empty = np.zeros((0, 1), dtype)
        _sweep_kernel(dT.reshape(steps_used + 1, -1), _flat(U, steps_used), _flat(I, steps_used + 1),
                      empty if voltage_source is None else _flat(voltage_source, steps_used),
                      empty if spike_source is None else _flat(spike_source, steps_used),
                      gamma_m, gamma_s, gamma_diff, k, dtype.type(params.v_thr), dtype.type(q / 2),
                      dtype.type(1 / q), fires, voltage_source is not None, spike_source is not None, currents)
        return dT[:steps_used]
    if fires:
        v_thr, minus_v_thr = dtype.type(params.v_thr), -dtype.type(params.v_thr)
        half_q, inv_q = dtype.type(q / 2), dtype.type(1 / q)
        g = np.empty((batch, units), dtype)
        window = np.empty((batch, units), bool)
        decay = np.empty((batch, units), dtype)
        source = np.empty((batch, units), dtype)
    for t in range(t_end, -1, -1):
        dT_t, dT_next = dT[t], dT[t + 1]
        np.multiply(dDm, gamma_diff, out=dT_t)
        np.multiply(dT_next, gamma_s, out=scratch)
        dT_t += scratch
        if fires:
            np.subtract(U[t], v_thr, out=g)                      # g(U(t)), eq. 12
            np.abs(g, out=g)
            np.less(g, half_q, out=window)
            np.multiply(window, inv_q, out=g)
            np.multiply(g, minus_v_thr, out=decay)
            decay += gamma_m
            dDm *= decay
            if spike_source is not None:
                np.multiply(g, spike_source[t], out=source)      # g(U(t)) times the layer above at t
                if voltage_source is not None:
                    source += voltage_source[t]
                dDm += source
            elif voltage_source is not None:
                dDm += voltage_source[t]
        else:
            dDm *= gamma_m
            if voltage_source is not None:
                dDm += voltage_source[t]
        if k and t < t_end:
            np.multiply(I[t + 1], k, out=scratch)                 # the resistance R(t+1)
            scratch *= dT_next
            dDm -= scratch
            if currents:                                          # dT(t+1) is final: dI(t+1) = dT(t+1) R(t+1)
                np.multiply(U[t], k, out=scratch)
                scratch *= dT_next
                dT_next -= scratch
    return dT[:steps_used]


def _flat(array: np.ndarray, steps: int) -> np.ndarray:
    """The first ``steps`` steps of a (steps, batch, units) array as a contiguous (steps, batch*units) one."""
    steps = min(steps, array.shape[0])
    return np.ascontiguousarray(array[:steps]).reshape(steps, -1)


if _njit is not None:
    @_njit
    def _sweep_kernel(dT, U, I, voltage_source, spike_source, gamma_m, gamma_s, gamma_diff, k, v_thr, half_q,
                      inv_q, fires, has_voltage_source, has_spike_source, currents):  # pragma: no cover (compiled)
        """:func:`_sweep` on (steps, batch*units) arrays, one element at a time, same operations."""
        t_end = dT.shape[0] - 2
        width = dT.shape[1]
        dDm = np.zeros(width, dT.dtype)
        minus_v_thr = -v_thr
        zero = inv_q - inv_q                  # in the arrays' dtype: a literal 0 would promote to float64
        for t in range(t_end, -1, -1):
            for e in range(width):
                dT[t, e] = dDm[e] * gamma_diff + dT[t + 1, e] * gamma_s
                d = dDm[e]
                if fires:
                    g = inv_q if abs(U[t, e] - v_thr) < half_q else zero
                    d = d * (g * minus_v_thr + gamma_m)
                    if has_spike_source:
                        source = g * spike_source[t, e]
                        if has_voltage_source:
                            source = source + voltage_source[t, e]
                        d = d + source
                    elif has_voltage_source:
                        d = d + voltage_source[t, e]
                else:
                    d = d * gamma_m
                    if has_voltage_source:
                        d = d + voltage_source[t, e]
                if k != 0 and t < t_end:
                    d = d - I[t + 1, e] * k * dT[t + 1, e]
                    if currents:
                        dT[t + 1, e] = dT[t + 1, e] - U[t, e] * k * dT[t + 1, e]
                dDm[e] = d


def current_adjoint(dT: np.ndarray, U: np.ndarray, params: VRParams) -> np.ndarray:
    r""":math:`\bar I(t) = \bar T(t) R(t)` with :math:`R(t) = 1 - \alpha U(t-1)/v_{thr}`, in place on ``dT``."""
    if params.alpha:
        k = dT.dtype.type(params.alpha / params.v_thr)
        kU_dT = np.multiply(U[:dT.shape[0] - 1], k)
        kU_dT *= dT[1:]
        dT[1:] -= kU_dT
    return dT


def loss_horizon(dL_dVmax: np.ndarray, t_star: np.ndarray) -> int:
    """The last step that can influence the loss, or -1 if the loss is flat."""
    active = dL_dVmax != 0
    return int(t_star[active].max()) if active.any() else -1


def backward(weights, recording: Recording, dL_dVmax: np.ndarray, t_star: np.ndarray, params: VRParams, q: float,
             keep_adjoints: bool = True):
    r"""Gradients of the loss with respect to every weight matrix.

    Parameters
    ----------
    weights : list of ndarray
        (n_post, n_pre), one dtype.
    recording : Recording
        The forward pass (time-major voltages, spikes and currents).
    dL_dVmax, t_star : ndarray
        From :func:`gradients.tempotron.tempotron_loss`, (batch, n_out).
    params : VRParams
        Neuron parameters.
    q : float
        Surrogate width, volts.
    keep_adjoints : bool
        Return the adjoints :math:`\bar T_n` (else their memory is reused).

    Returns
    -------
    grads : list of ndarray
        :math:`\partial L/\partial W_n`, shapes and dtype of ``weights``.
    adjoints : list of ndarray
        :math:`\bar T_n(t)` for t = 0..t_end per layer (what the ``paper`` method reuses);
        with ``keep_adjoints=False`` and alpha != 0 they hold :math:`\bar I_n(t)` instead.
    """
    dtype = weights[0].dtype
    t_end = loss_horizon(dL_dVmax, t_star)
    grads = [np.zeros_like(W) for W in weights]
    adjoints = [np.zeros((0,) + U.shape[1:], dtype) for U in recording.U]
    if t_end < 0:
        return grads, adjoints
    batch, n_out = dL_dVmax.shape
    source = np.zeros((t_end + 1, batch, n_out), dtype)
    b, j = np.nonzero(dL_dVmax)
    source[t_star[b, j], b, j] = dL_dVmax[b, j]
    spike_source = None
    for n in range(len(weights) - 1, -1, -1):
        fires = n < len(weights) - 1
        if keep_adjoints:
            dT = sweep_layer(recording.U[n], recording.I[n], params, q, fires, t_end,
                             voltage_source=None if fires else source, spike_source=spike_source)
            adjoints[n] = dT.copy() if params.alpha else dT
            dI = current_adjoint(dT, recording.U[n], params)
        else:
            dI = adjoints[n] = _sweep(recording.U[n], recording.I[n], params, q, fires, t_end,
                                      None if fires else source, spike_source, currents=True)
        grads[n] = recording.inputs[n].weight_gradient(dI, params.N0)
        if n > 0:
            spike_source = dI @ weights[n]
            spike_source *= dtype.type(params.N0)
    return grads, adjoints
