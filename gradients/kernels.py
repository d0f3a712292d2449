r"""Compiled, event-driven kernels of the training step: one layer's forward pass, one layer's adjoint sweep.

They compute what the numpy path of :mod:`gradients.forward` and :mod:`gradients.bptt`
computes, and are held to it (and, through it, to torch autograd) by the tests. What they
do differently is where the time goes at the paper's size (384-700-10, 300 steps, sparse
spikes):

- Nothing of size (steps, batch, units) is kept but the voltages and spikes themselves:
  a layer's input current :math:`I(t) = N_0 W P_{below}(t)` is formed step by step from
  the spikes that arrived (one weight row added per spike, event driven), in the forward
  pass and again in the backward pass, where :math:`c(t+1) = -\partial T(t+1)/\partial U(t)`
  needs it.
- The backward pass visits the spikes too: the weight gradient adds
  :math:`\bar I(t)` to one row per presynaptic spike, and the sensitivity of a hidden
  layer's spikes to the layer above, :math:`N_0 W_{n+1}^\top \bar I_{n+1}(t)`, adds one
  row of :math:`W_{n+1}` per unit above whose adjoint is nonzero, over all units at once
  (a vectorised loop: cheaper than picking out the units inside the surrogate's window).
- The samples of a minibatch run in parallel (numba ``prange``). The weight gradient is
  summed per chunk of samples (:data:`GRADIENT_CHUNKS` contiguous chunks, whatever the
  number of threads), then over chunks in order: the result does not depend on the number
  of threads or their timing.

The floating-point contract: ``fastmath`` is limited to reassociation, contraction (FMA)
and signed zeros, so that reductions vectorise; NaN and infinity propagate as usual, so a
diverging voltage still shows as a non-finite loss or gradient. The numbers therefore
agree with the numpy path to rounding, not bit for bit; each path is deterministic.

Array layout is time-major, (steps, batch, units), as in :class:`gradients.forward.Recording`;
spikes come as CSR rows ``t*batch + b`` (:attr:`gradients.forward.SpikeMatrix.csr`).
"""

from __future__ import annotations

import numba
import numpy as np

from vr_brian.params import VRParams

from .forward import SpikeMatrix, weight_parts

__all__ = ["layer_forward", "backward", "GRADIENT_CHUNKS", "LISTED_DENSITY", "MODES"]

#: The batch is split into at most this many contiguous chunks for the weight-gradient sums.
GRADIENT_CHUNKS = 4

#: The share of a sample's (step, unit) entries that the forward pass lists as spikes while it runs (the
#: CSR form of a layer's spikes for the layer above); a denser layer is scanned afterwards instead.
LISTED_DENSITY = 0.25

#: The resistance of each variant as the kernels' integer mode.
MODES = {"none": 0, "paper": 1, "bounded": 2, "split": 3}

_FASTMATH = {"reassoc", "contract", "nsz"}
_kernel = numba.njit(cache=True, nogil=True, parallel=True, fastmath=_FASTMATH)


def _mode(params: VRParams) -> int:
    return MODES[params.variant] if params.resistive else MODES["none"]


def _scaled_transposed(W: np.ndarray, params: VRParams) -> tuple:
    """(N0 W_part^T,) per part of :func:`~gradients.forward.weight_parts`, contiguous (n_pre, n_post),
    and an empty array standing in for the inhibitory part outside "split"."""
    N0 = W.dtype.type(params.N0)
    parts = [np.ascontiguousarray((part * N0).T) for part in weight_parts(W, params)]
    return parts[0], parts[1] if len(parts) > 1 else np.zeros((0, W.shape[0]), W.dtype)


@_kernel
def _forward_kernel(
    cols, indptr, Wt_exc, Wt_inh, U, P, counts, fired, full, gamma_m, gamma_s, v_thr, k_exc, k_inh, r_max, mode, fires
):  # pragma: no cover (compiled)
    steps, batch, units = U.shape
    capacity = fired.shape[1]
    zero = v_thr - v_thr  # constants in the arrays' dtype
    one = v_thr / v_thr
    # every loop over units is branch free inside, so that it vectorises; the branches on the
    # (loop-invariant) mode and layer kind stay outside
    for b in numba.prange(batch):
        M = np.zeros(units, U.dtype)  # Dm - Re
        Ds = np.zeros(units, U.dtype)
        U_prev = np.zeros(units, U.dtype)
        reset = np.zeros(units, U.dtype)  # v_thr P(t-1)
        I = np.empty(units, U.dtype)
        I_inh = np.empty(units, U.dtype)
        T = np.empty(units, U.dtype)
        written = 0
        for t in range(steps):
            row = t * batch + b
            I[:] = zero
            if mode == 3:
                I_inh[:] = zero
            for s in range(indptr[row], indptr[row + 1]):
                j = cols[s]
                source = Wt_exc[j]
                for e in range(units):
                    I[e] += source[e]
                if mode == 3:
                    source = Wt_inh[j]
                    for e in range(units):
                        I_inh[e] += source[e]
            if mode == 0:
                for e in range(units):
                    T[e] = I[e]
            elif mode == 1:
                for e in range(units):
                    T[e] = I[e] * (one - k_exc * U_prev[e])
            elif mode == 2:
                for e in range(units):
                    T[e] = I[e] * min(max(one - k_exc * U_prev[e], zero), r_max)
            else:
                for e in range(units):
                    T[e] = I[e] * (one - k_exc * U_prev[e]) + I_inh[e] * (one - k_inh * U_prev[e])
            U_t = U[t, b]
            for e in range(units):
                m = M[e] * gamma_m + T[e] - reset[e]
                ds = Ds[e] * gamma_s + T[e]
                M[e] = m
                Ds[e] = ds
                U_t[e] = m - ds
                U_prev[e] = m - ds
            if fires:
                P_t = P[t, b]
                for e in range(units):
                    spike = U_t[e] > v_thr
                    P_t[e] = spike
                    reset[e] = v_thr if spike else zero
                # the units that fired, in order, after those of the steps before (for the CSR form),
                # while the sample's list has room for a whole step more
                if written + units <= capacity:
                    n = 0
                    for e in range(units):
                        fired[b, written + n] = e
                        n += P_t[e]
                    counts[t, b] = n
                    written += n
                else:
                    full[b] = True


def layer_forward(inputs: SpikeMatrix, W: np.ndarray, params: VRParams, fires: bool) -> tuple:
    """One layer over all steps: (U, P, csr) time-major, U in the dtype of ``W``, P bool, and the CSR form
    of P as :attr:`SpikeMatrix.csr` (None where a sample is denser than :data:`LISTED_DENSITY`);
    P and csr are None if not ``fires``."""
    steps, batch, _ = inputs.shape
    dtype = W.dtype
    units = W.shape[0]
    Wt_exc, Wt_inh = _scaled_transposed(W, params)
    U = np.empty((steps, batch, units), dtype)
    P = np.empty((steps, batch, units), bool) if fires else np.empty((0, 0, 0), bool)
    counts = np.empty((steps, batch) if fires else (0, 0), np.int32)
    # each sample's fired units in order, room for the spikes of sparse layers (a denser sample
    # marks itself full, and the CSR form then comes from a scan of P)
    capacity = int(LISTED_DENSITY * steps * units) + units
    fired = np.empty((batch, capacity) if fires else (0, 0), np.int32)
    full = np.zeros(batch, bool)
    f = dtype.type
    _forward_kernel(
        *inputs.csr,
        Wt_exc,
        Wt_inh,
        U,
        P,
        counts,
        fired,
        full,
        f(params.gamma_m),
        f(params.gamma_s),
        f(params.v_thr),
        f(params.k_exc),
        f(params.k_inh),
        f(params.r_max or 0),
        _mode(params),
        fires,
    )
    if not fires:
        return U, None, None
    if full.any():
        return U, P, None
    indptr = np.zeros(steps * batch + 1, np.int32)
    np.cumsum(counts.reshape(-1), out=indptr[1:])
    cols = np.empty(indptr[-1], np.int32)
    _gather_rows(fired, counts, indptr, cols)
    return U, P, (cols, indptr)


@numba.njit(cache=True, nogil=True)
def _gather_rows(fired, counts, indptr, cols):  # pragma: no cover (compiled)
    """CSR column indices (rows t*batch + b) from each sample's fired units, listed step after step."""
    steps, batch = counts.shape
    start = np.zeros(batch, np.int64)  # where each sample's next step begins in its list
    i = 0
    for t in range(steps):
        for b in range(batch):
            source = fired[b]
            first = start[b]
            for k in range(counts[t, b]):
                cols[i] = source[first + k]
                i += 1
            start[b] = first + counts[t, b]


@_kernel
def _backward_kernel(
    U,
    cols,
    indptr,
    Wt_exc,
    Wt_inh,
    t_end,
    out_time,
    out_value,
    dI_above_exc,
    dI_above_inh,
    W_above_exc,
    W_above_inh,
    dI_exc,
    dI_inh,
    grad_exc,
    grad_inh,
    gamma_m,
    gamma_s,
    v_thr,
    half_q,
    inv_q,
    k_exc,
    k_inh,
    r_max,
    N0,
    mode,
    fires,
    keep,
):  # pragma: no cover (compiled)
    steps, batch, units = U.shape
    chunks = grad_exc.shape[0]
    zero = v_thr - v_thr
    one = v_thr / v_thr
    gamma_diff = gamma_m - gamma_s
    n_above = W_above_exc.shape[0]
    for c in numba.prange(chunks):
        g_exc, g_inh = grad_exc[c], grad_inh[c]
        g_exc[:] = zero
        if mode == 3:
            g_inh[:] = zero
        dDm = np.empty(units, U.dtype)  # dL/dM(t+1), M = Dm - Re
        dT_next = np.empty(units, U.dtype)  # dL/dT(t+1)
        dT = np.empty(units, U.dtype)
        g = np.empty(units, U.dtype)  # the surrogate g(U(t))
        from_above = np.empty(units, U.dtype)  # W_above^T dI_above(t)
        I_next = np.empty(units, U.dtype)  # I(t+1), recomputed from the spikes
        I_inh_next = np.empty(units, U.dtype)
        d_exc = np.empty(units, U.dtype)  # dL/dI(t) of each part
        d_inh = np.empty(units, U.dtype)
        U_zero = np.zeros(units, U.dtype)  # U(-1)
        for b in range(c * batch // chunks, (c + 1) * batch // chunks):
            dDm[:] = zero
            dT_next[:] = zero
            for t in range(t_end[b], -1, -1):
                U_t = U[t, b]
                U_before = U[t - 1, b] if t > 0 else U_zero
                for e in range(units):
                    dT[e] = dDm[e] * gamma_diff + dT_next[e] * gamma_s
                if fires:
                    for e in range(units):
                        g[e] = inv_q if abs(U_t[e] - v_thr) < half_q else zero
                        dDm[e] = dDm[e] * (gamma_m - v_thr * g[e])
                    if n_above > 0:
                        # the layer above at t, N0 W_above^T dI_above(t): one row of W_above per
                        # unit above with a nonzero adjoint, added over all units (vectorised)
                        for e in range(units):
                            from_above[e] = zero
                        for i in range(n_above):
                            a_i = dI_above_exc[t, b, i]
                            if a_i != zero:
                                row = W_above_exc[i]
                                for e in range(units):
                                    from_above[e] += row[e] * a_i
                            if mode == 3:
                                a_i = dI_above_inh[t, b, i]
                                if a_i != zero:
                                    row = W_above_inh[i]
                                    for e in range(units):
                                        from_above[e] += row[e] * a_i
                        for e in range(units):
                            dDm[e] += g[e] * N0 * from_above[e]
                else:
                    for e in range(units):
                        dDm[e] = dDm[e] * gamma_m
                    for e in range(units):
                        if out_time[b, e] == t:
                            dDm[e] += out_value[b, e]
                if t < t_end[b]:  # through R(t+1), which U(t) sets
                    if mode == 1:
                        for e in range(units):
                            dDm[e] -= k_exc * I_next[e] * dT_next[e]
                    elif mode == 2:
                        for e in range(units):
                            R = one - k_exc * U_t[e]
                            inside_bounds = (R >= zero) & (R <= r_max)
                            dDm[e] -= (k_exc * I_next[e] * dT_next[e]) if inside_bounds else zero
                    elif mode == 3:
                        for e in range(units):
                            dDm[e] -= (k_exc * I_next[e] + k_inh * I_inh_next[e]) * dT_next[e]
                # dI(t) = dT(t) R(t), R(t) from U(t-1)
                if mode == 0:
                    for e in range(units):
                        d_exc[e] = dT[e]
                elif mode == 1:
                    for e in range(units):
                        d_exc[e] = dT[e] * (one - k_exc * U_before[e])
                elif mode == 2:
                    for e in range(units):
                        d_exc[e] = dT[e] * min(max(one - k_exc * U_before[e], zero), r_max)
                else:
                    for e in range(units):
                        d_exc[e] = dT[e] * (one - k_exc * U_before[e])
                        d_inh[e] = dT[e] * (one - k_inh * U_before[e])
                if keep:
                    dI_exc[t, b] = d_exc
                    if mode == 3:
                        dI_inh[t, b] = d_inh
                if mode != 0:
                    I_next[:] = zero
                    if mode == 3:
                        I_inh_next[:] = zero
                row_index = t * batch + b
                for s in range(indptr[row_index], indptr[row_index + 1]):
                    j = cols[s]
                    target = g_exc[j]
                    for e in range(units):
                        target[e] += d_exc[e]
                    if mode != 0:
                        source = Wt_exc[j]
                        for e in range(units):
                            I_next[e] += source[e]
                    if mode == 3:
                        target = g_inh[j]
                        source = Wt_inh[j]
                        for e in range(units):
                            target[e] += d_inh[e]
                            I_inh_next[e] += source[e]
                for e in range(units):
                    dT_next[e] = dT[e]


def backward(weights, recording, dL_dVmax: np.ndarray, t_star: np.ndarray, params: VRParams, q: float) -> list:
    r""":math:`\partial L/\partial W_n` for every layer, the same quantity as :func:`gradients.bptt.backward`."""
    dtype = weights[0].dtype
    f = dtype.type
    batch, n_out = dL_dVmax.shape
    active = dL_dVmax != 0
    # the last step of each sample that reaches its loss (-1: none)
    t_end = np.where(active, t_star, -1).max(axis=1).astype(np.int64)
    out_time = np.where(active, t_star, -1).astype(np.int64)
    out_value = np.ascontiguousarray(dL_dVmax, dtype=dtype)
    mode = _mode(params)
    chunks = max(1, min(batch, GRADIENT_CHUNKS))
    constants = (
        f(params.gamma_m),
        f(params.gamma_s),
        f(params.v_thr),
        f(q / 2),
        f(1 / q),
        f(params.k_exc),
        f(params.k_inh),
        f(params.r_max or 0),
        f(params.N0),
        mode,
    )
    empty3 = np.zeros((0, 0, 0), dtype)
    above = (empty3, empty3, np.zeros((0, 0), dtype), np.zeros((0, 0), dtype))
    grads: list = [None] * len(weights)
    for n in range(len(weights) - 1, -1, -1):
        W = weights[n]
        U = recording.U[n]
        steps, _, units = U.shape
        fires = n < len(weights) - 1
        keep = n > 0
        Wt_exc, Wt_inh = _scaled_transposed(W, params)
        split = mode == MODES["split"]
        dI_exc = np.empty((steps, batch, units), dtype) if keep else empty3
        dI_inh = np.empty((steps, batch, units), dtype) if keep and split else empty3
        n_pre = W.shape[1]
        grad_exc = np.empty((chunks, n_pre, units), dtype)
        grad_inh = np.empty((chunks, n_pre, units), dtype) if split else np.zeros((chunks, 0, 0), dtype)
        _backward_kernel(
            U,
            *recording.inputs[n].csr,
            Wt_exc,
            Wt_inh,
            t_end,
            out_time if not fires else np.zeros((0, 0), np.int64),
            out_value if not fires else np.zeros((0, 0), dtype),
            *above,
            dI_exc,
            dI_inh,
            grad_exc,
            grad_inh,
            *constants,
            fires,
            keep,
        )
        parts = [grad_exc.sum(axis=0).T * f(params.N0)]
        if split:
            parts.append(grad_inh.sum(axis=0).T * f(params.N0))
        grads[n] = np.ascontiguousarray(parts[0] if not split else np.where(W >= 0, parts[0], parts[1]))
        if keep:
            # what the layer below needs: this layer's current adjoints and its weights, (n_post, n_pre)
            W_parts = weight_parts(W, params)
            above = (
                dI_exc,
                dI_inh,
                np.ascontiguousarray(W_parts[0]),
                np.ascontiguousarray(W_parts[1]) if split else np.zeros((0, 0), dtype),
            )
    return grads
