r"""A forward pass of the iterative network laid out for the backward pass.

It computes what :func:`vr_brian.forward` computes (MODEL.md eqs. 4-9 and 11),
layer by layer rather than step by step: a layer's input currents for all steps
come from one product with the spikes of the layer below, and only the neuron's
own recursion runs step by step. Because :math:`D^m` and :math:`R^e` decay with
the same :math:`\gamma_m`, it keeps their difference :math:`M = D^m - R^e`:

.. math::

    T(t) &= I(t)\,(1 - \alpha U(t-1)/v_{thr}),\qquad I(t) = N_0 W P_{below}(t) \\
    M(t) &= \gamma_m M(t-1) + T(t) - v_{thr} P(t-1),\qquad
    D^s(t) = \gamma_s D^s(t-1) + T(t) \\
    U(t) &= M(t) - D^s(t),\qquad P(t) = [U(t) > v_{thr}]

(the output layer has no reset term). The result equals :func:`vr_brian.forward`
to rounding (tested to 1e-12 V). Products with spikes are event driven when
the spikes are sparse (:class:`SpikeMatrix`). Arrays are kept time-major,
(steps, batch, units), so that each step touches contiguous memory; the
:class:`~vr_brian.Traces` it returns hold (batch, steps, units) views of them.

When numba is installed, the recursion over steps and the event-driven products
run as compiled loops (:data:`COMPILED`, or ``compiled=`` per call;
:mod:`gradients.kernels`, :mod:`gradients.csr_kernels`). numba is imported, and the
loops compiled or loaded from the cache beside their modules, on first use (about 5 s
of CPU once, then about 0.5 s per new process), not when this module is imported.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import os

import numpy as np

from vr_brian.params import VRParams
from vr_brian.resistance import resistance_factor, split_weights
from vr_brian.traces import Traces, weights_fingerprint

__all__ = [
    "Recording",
    "SpikeMatrix",
    "SPARSE_BELOW",
    "COMPILED",
    "use_compiled",
    "record_forward",
    "replay",
    "input_currents",
    "weight_parts",
    "layer_currents",
    "previous_voltage",
    "transmitted",
]


#: Whether numba is installed (known without importing it).
_NUMBA = importlib.util.find_spec("numba") is not None


#: Whether the loops over steps and spikes run as compiled (numba) kernels by default: with numba
#: installed and without the environment variable ``VR_BRIAN_NO_NUMBA=1`` (read at import). The
#: kernels are imported, and compiled or loaded from numba's cache, on first use. Otherwise the
#: same computation runs as numpy array operations and scipy sparse products, with identical
#: results. A call chooses for itself with ``compiled=`` (:func:`record_forward`,
#: :func:`gradients.loss_and_grad`); nothing changes this default at run time.
COMPILED = _NUMBA and os.environ.get("VR_BRIAN_NO_NUMBA", "0") in ("", "0")


def use_compiled(compiled: bool | None) -> bool:
    """The path a call takes: ``compiled`` as given, :data:`COMPILED` for None; True needs numba."""
    if compiled is None:
        return COMPILED
    if compiled and not _NUMBA:
        raise ImportError("compiled=True needs numba (pip install numba, or the 'fast' extra of vr-brian)")
    return bool(compiled)


@dataclasses.dataclass(frozen=True)
class Recording:
    """What the backward pass needs, time-major.

    Attributes
    ----------
    U : tuple of ndarray
        Voltage of every layer, (steps, batch, units), hidden layers before reset.
    P : tuple of ndarray
        Spikes (bool) of every hidden layer, (steps, batch, units).
    inputs : tuple of SpikeMatrix
        The spikes arriving at every layer (the input spikes, then each hidden
        layer's), ready for the current and weight-gradient products.
    spikes_tm : ndarray
        Input spikes, (steps, batch, n_in), bool.
    traces : Traces
        The same voltages and spikes as :class:`~vr_brian.Traces` (batch first).
    I : tuple
        Per layer, the input currents :func:`layer_currents` gives, when the forward pass kept
        them (the numpy path does; the compiled one recomputes them where needed).
    compiled : bool
        Whether the compiled kernels made it (and make its backward pass, by default).
    """

    U: tuple
    P: tuple
    inputs: tuple
    spikes_tm: np.ndarray
    traces: Traces
    I: tuple = ()
    compiled: bool = False

    def currents(self, n: int, weights, params: VRParams) -> tuple:
        """:func:`layer_currents` of layer ``n`` (kept, or recomputed from the spikes)."""
        return self.I[n] if self.I else layer_currents(self.inputs[n], weights[n], params)


#: Below this fraction of ones, products with a spike array go through a sparse (event-driven)
#: representation: the work is then proportional to the number of spikes, not of (step, sample, unit).
SPARSE_BELOW = 0.2


class SpikeMatrix:
    r"""Binary spikes (steps, batch, units) flattened to (steps*batch, units), for the two products
    a layer needs: input currents :math:`N_0 W P(t)` and the weight gradient
    :math:`N_0 \sum_{b,t} \bar I(t) P(t)^\top`.

    Sparse spikes (fewer than :data:`SPARSE_BELOW` ones) are held in CSR form, so
    that both products are event driven: the currents add one weight column per
    spike, the gradient one outer product per spike. Denser spikes use BLAS. With
    ``compiled`` (default :data:`COMPILED`) the CSR form and the sparse products are
    numba loops (:mod:`gradients.csr_kernels`), with the same numbers.
    """

    def __init__(self, spikes_tm: np.ndarray, compiled: bool | None = None, csr: tuple | None = None):
        steps, batch, units = spikes_tm.shape
        self.compiled = use_compiled(compiled)
        self.shape = (steps, batch, units)
        self._flat = flat = spikes_tm.reshape(steps * batch, units)
        ones = np.count_nonzero(flat) if csr is None else len(csr[0])
        self.sparse = ones < SPARSE_BELOW * flat.size
        self._csr: tuple | None = csr  # the caller's, when it has the CSR form already
        self._cache: dict = {}

    @property
    def csr(self) -> tuple:
        """(column indices, row pointers), int32, of the ones of the (steps*batch, units) matrix:
        row ``t*batch + b`` lists the units that spiked at step t in sample b."""
        if self._csr is None:
            flat = self._flat
            if self.compiled:
                from .csr_kernels import csr_structure

                self._csr = csr_structure(flat)
            else:
                indptr = np.zeros(flat.shape[0] + 1, np.int64)
                np.cumsum(np.count_nonzero(flat, axis=1), out=indptr[1:])
                self._csr = ((np.flatnonzero(flat) % flat.shape[1]).astype(np.int32), indptr.astype(np.int32))
        return self._csr

    def _as(self, dtype, rows: int | None = None):
        """The first ``rows`` rows (default all) as a matrix of ``dtype``: sparse CSR or dense."""
        total = self._flat.shape[0]
        rows = total if rows is None else rows
        if dtype not in self._cache:
            if self.sparse:
                cols, indptr = self.csr
                self._cache[dtype] = np.ones(cols.size, dtype)
            else:
                self._cache[dtype] = self._flat.view(np.uint8).astype(dtype)
        if not self.sparse:
            return self._cache[dtype][:rows]
        import scipy.sparse  # about 0.3 s to import: only when a sparse product is on the numpy path

        cols, indptr = self.csr
        end = indptr[rows]
        return scipy.sparse.csr_matrix(
            (self._cache[dtype][:end], cols[:end], indptr[: rows + 1]), shape=(rows, self._flat.shape[1])
        )

    def currents(self, W: np.ndarray, N0: float) -> np.ndarray:
        """:math:`N_0 W P(t)` for all steps, (steps, batch, n_post), dtype of ``W``."""
        scaled = np.ascontiguousarray(W.T * W.dtype.type(N0))
        if self.sparse and self.compiled:
            from .csr_kernels import csr_times_dense

            out = np.empty((self._flat.shape[0], W.shape[0]), W.dtype)
            csr_times_dense(*self.csr, scaled, out)
            return out.reshape(self.shape[:2] + (W.shape[0],))
        out = self._as(W.dtype) @ scaled
        return np.asarray(out).reshape(self.shape[:2] + (W.shape[0],))

    def weight_gradient(self, dI: np.ndarray, N0: float) -> np.ndarray:
        r""":math:`N_0 \sum_{b,t} \bar I(t) P(t)^\top` over the first ``len(dI)`` steps, (n_post, n_pre)."""
        steps_used, batch, n_post = dI.shape
        rows = steps_used * batch
        flat = dI.reshape(rows, n_post)
        if self.sparse and self.compiled:
            from .csr_kernels import csr_transposed_times_dense

            transposed = np.empty((self.shape[2], n_post), dI.dtype)
            csr_transposed_times_dense(*self.csr, np.ascontiguousarray(flat), transposed)
            return np.ascontiguousarray(transposed.T) * dI.dtype.type(N0)
        spikes = self._as(dI.dtype, rows)
        gradient = (spikes.T @ flat).T if self.sparse else flat.T @ spikes
        return np.ascontiguousarray(gradient) * dI.dtype.type(N0)


def input_currents(spikes_tm: np.ndarray, W: np.ndarray, N0: float, compiled: bool | None = None) -> np.ndarray:
    """:math:`N_0 W P(t)` for binary spikes (steps, batch, n_pre), all steps at once: (steps, batch, n_post)."""
    return SpikeMatrix(spikes_tm, compiled).currents(W, N0)


def weight_parts(W: np.ndarray, params: VRParams) -> tuple:
    """The parts of ``W`` that see one resistance each: (W,), or (W+, W-) in variant "split"."""
    return split_weights(W) if params.variant == "split" else (W,)


def layer_currents(inputs: SpikeMatrix, W: np.ndarray, params: VRParams) -> tuple:
    r"""A layer's input currents for all steps, one per part of :func:`weight_parts`:
    :math:`(N_0 W P(t),)`, or :math:`(N_0 W^+ P(t), N_0 W^- P(t))` in variant "split"."""
    return tuple(inputs.currents(part, params.N0) for part in weight_parts(W, params))


def previous_voltage(U: np.ndarray) -> np.ndarray:
    """U(t-1) for a time-major trace (steps, batch, units), with U(-1) = 0."""
    U_prev = np.empty_like(U)
    U_prev[0] = 0
    U_prev[1:] = U[:-1]
    return U_prev


def transmitted(currents: tuple, U_prev: np.ndarray, params: VRParams) -> np.ndarray:
    """T = I R, or I_exc R + I_inh R_inh in variant "split" (:mod:`vr_brian.resistance`), for any shape."""
    if params.variant == "split":
        return currents[0] * resistance_factor(U_prev, params.k_exc) + currents[1] * resistance_factor(
            U_prev, params.k_inh
        )
    if not params.resistive:
        return currents[0]
    return currents[0] * resistance_factor(U_prev, params.k_exc, params.r_max)


def _layer(currents: tuple, params: VRParams, fires: bool):
    """Run one layer's recursion over all steps given its input currents (steps, batch, units) each."""
    I = currents[0]
    dtype = I.dtype
    steps, batch, units = I.shape
    decay = np.array([params.gamma_m, params.gamma_s], dtype)[:, None, None]
    v_thr = dtype.type(params.v_thr)
    U = np.empty((steps, batch, units), dtype)
    P = np.empty((steps, batch, units), bool) if fires else np.empty((0, 0, 0), bool)
    state = np.zeros((2, batch, units), dtype)  # M = Dm - Re and Ds, decayed together
    M, Ds = state
    reset = np.zeros((batch, units), dtype)
    U_prev = np.zeros((batch, units), dtype)
    P_prev = None
    for t in range(steps):
        T = transmitted(tuple(current[t] for current in currents), U_prev, params)
        state *= decay
        state += T
        if fires and P_prev is not None:
            np.multiply(P_prev, v_thr, out=reset)
            M -= reset
        U_prev = U[t]
        np.subtract(M, Ds, out=U_prev)
        if fires:
            P_prev = P[t]
            np.greater(U_prev, v_thr, out=P_prev)
    return U, P


def _traces(U, P, spikes, params, weights) -> Traces:
    return Traces(
        U=tuple(u.transpose(1, 0, 2) for u in U),
        P=tuple(p.transpose(1, 0, 2) for p in P),
        spikes=spikes,
        params=params,
        weights=None if weights is None else weights_fingerprint(weights),
    )


def record_forward(
    weights, spikes: np.ndarray, params: VRParams, compiled: bool | None = None, fingerprint: bool = True
) -> Recording:
    """Simulate the network and keep what the backward pass needs.

    Parameters
    ----------
    weights : list of ndarray
        (n_post, n_pre) matrices of one float dtype, volts (already validated).
    spikes : ndarray
        Input spikes, (batch, steps, n_in), bool (already validated).
    params : VRParams
        Neuron parameters.
    compiled : bool, optional
        Run the compiled kernels (default :data:`COMPILED`) or the numpy/scipy path.
    fingerprint : bool
        Whether the traces carry :func:`~vr_brian.traces.weights_fingerprint` of ``weights``
        (for traces handed out; a training step that keeps them to itself skips the digest).

    Returns
    -------
    Recording
        With the compiled kernels, every layer runs as one event-driven kernel and the
        currents are not kept; otherwise they are.
    """
    compiled = use_compiled(compiled)
    spikes_tm = np.ascontiguousarray(spikes.transpose(1, 0, 2))
    inputs, below, below_csr = [], spikes_tm, None
    U, P, I = [], [], []
    for n, W in enumerate(weights):
        fires = n < len(weights) - 1
        inputs.append(SpikeMatrix(below, compiled, below_csr))
        if compiled:
            from . import kernels

            U_n, P_n, below_csr = kernels.layer_forward(inputs[-1], W, params, fires)
        else:
            currents = layer_currents(inputs[-1], W, params)
            U_n, P_n = _layer(currents, params, fires)
            I.append(currents)
        U.append(U_n)
        if fires:
            P.append(P_n)
            below = P_n
    return Recording(
        U=tuple(U),
        P=tuple(P),
        inputs=tuple(inputs),
        spikes_tm=spikes_tm,
        traces=_traces(U, P, spikes, params, weights if fingerprint else None),
        I=tuple(I),
        compiled=compiled,
    )


def replay(weights, traces: Traces, compiled: bool | None = None) -> Recording:
    """A :class:`Recording` built from recorded traces (e.g. a Brian2 run) instead of a new simulation.

    The voltages and spikes are taken as recorded (converted to the dtype of the
    weights); the input currents are recomputed from the recorded spikes where needed.
    The caller validates that ``traces`` fits ``weights``. ``compiled`` as for :func:`record_forward`.
    """
    compiled = use_compiled(compiled)
    dtype = weights[0].dtype
    U = tuple(np.ascontiguousarray(u.transpose(1, 0, 2), dtype=dtype) for u in traces.U)
    P = tuple(np.ascontiguousarray(p.transpose(1, 0, 2), dtype=bool) for p in traces.P)
    spikes_tm = np.ascontiguousarray(traces.spikes.transpose(1, 0, 2), dtype=bool)
    inputs = tuple(SpikeMatrix(b, compiled) for b in (spikes_tm,) + P)
    return Recording(U=U, P=P, inputs=inputs, spikes_tm=spikes_tm, traces=traces, compiled=compiled)
