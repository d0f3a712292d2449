r"""The tempotron-like loss (MODEL.md eq. 10), the prediction, and ``loss_and_grad``.

For output neuron :math:`j` of sample :math:`b`, with :math:`V_{max} = \max_t U_N(t)`
and binary target :math:`y`,

.. math::

    L_{bj} = \begin{cases}
        w_+ \big((v_{thr} + m) - V_{max}\big) & y = 1,\ V_{max} < v_{thr} + m \\
        V_{max} - (v_{thr} - m) & y = 0,\ V_{max} > v_{thr} - m \\
        0 & \text{otherwise}
    \end{cases}
    \qquad
    L = \frac{1}{B} \sum_{b=1}^{B} \sum_j L_{bj}

with margin :math:`m \ge 0` and positive weight :math:`w_+ > 0`; :math:`m = 0`, :math:`w_+ = 1`
is eq. 10 exactly. A margin asks a
target neuron to rise ``m`` above the threshold and a non-target neuron to stay
``m`` below it, as the multilayer tempotron of the STCA code does (``m = 0.3
theta``). The prediction is :math:`V_{max} > v_{thr}` whatever the margin.

:math:`w_+` weighs the errors of target neurons against those of non-target neurons, as
``pos_weight`` does in a binary cross-entropy: with 88 piano keys and 1-6 played, 82-87 outputs
per sample must stay silent, and with :math:`w_+ = 1` their errors silence the hidden layer early
in training (measured in ``studies/alpha_sweep``).
"""

from __future__ import annotations

import math

import numpy as np

from vr_brian.checks import check_spikes, check_targets, check_weights
from vr_brian.params import VRParams, to_si
from vr_brian.traces import Traces, weights_fingerprint

from .bptt import backward
from .forward import record_forward, replay
from .paper import check_variant, paper_correction
from .readouts import bce_loss, cross_entropy_loss
from .surrogate import surrogate_width

__all__ = [
    "METHODS",
    "LOSSES",
    "tempotron_loss",
    "output_loss",
    "loss",
    "loss_and_grad",
    "predict",
    "check_margin",
    "check_positive_weight",
    "check_readout",
]

#: Gradient methods of :func:`loss_and_grad`.
METHODS = ("bptt", "paper")

#: Losses of the maximal output voltage: eq. 10 (default), and the cross entropies of
#: :mod:`gradients.readouts`.
LOSSES = ("tempotron", "bce", "cross_entropy")


def _output_voltage(traces_or_output_U) -> np.ndarray:
    if isinstance(traces_or_output_U, Traces):
        return traces_or_output_U.output
    U = np.asarray(traces_or_output_U)
    if U.ndim != 3:
        raise ValueError(f"output voltage must be (batch, steps, n_out), got shape {U.shape}")
    return U


def predict(traces_or_output_U, v_thr, single_label: bool = False) -> np.ndarray:
    r"""The network's answer: :math:`V_{max} > v_{thr}` for every output neuron.

    Parameters
    ----------
    traces_or_output_U : Traces or ndarray
        Traces of a run, or the output layer's voltage (batch, steps, n_out), volts.
    v_thr : Quantity or float
        Threshold, volts.
    single_label : bool
        Instead, exactly one label per sample: the output with the highest :math:`V_{max}`
        (for single-label data, the rule a softmax classifier uses).

    Returns
    -------
    ndarray
        bool (batch, n_out).
    """
    v_thr = to_si(v_thr, "volt", "v_thr")
    V_max = _output_voltage(traces_or_output_U).max(axis=1)
    if single_label:
        return np.eye(V_max.shape[1], dtype=bool)[V_max.argmax(axis=1)]
    return V_max > v_thr


def check_margin(margin) -> float:
    """The loss margin in volts (a Brian2 quantity or an SI float), or an error naming its range [0, inf)."""
    margin = to_si(margin, "volt", "margin")
    if not (math.isfinite(margin) and margin >= 0):
        raise ValueError(f"margin must be a finite voltage >= 0, got {margin!r} V")
    return margin


def check_positive_weight(positive_weight) -> float:
    """``positive_weight`` as a float, or an error naming it and its range (0, inf)."""
    try:
        value = float(positive_weight)
    except (TypeError, ValueError):
        raise ValueError(f"positive_weight must be a finite number > 0, got {positive_weight!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"positive_weight must be a finite number > 0, got {positive_weight!r}")
    return value


def tempotron_loss(
    output_U: np.ndarray, targets: np.ndarray, v_thr: float, margin: float = 0.0, positive_weight: float = 1.0
):
    r"""Loss of eq. 10 and its derivative with respect to each :math:`V_{max}`.

    Parameters
    ----------
    output_U : ndarray
        Output voltage (batch, steps, n_out), volts.
    targets : ndarray
        bool (batch, n_out).
    v_thr, margin : float
        Threshold and margin, volts.
    positive_weight : float
        :math:`w_+`, the weight of a target neuron's error.

    Returns
    -------
    loss : float
        :math:`L`, summed over output neurons and averaged over the batch.
    dL_dVmax : ndarray
        :math:`\partial L / \partial V_{max}` (batch, n_out), dtype of ``output_U``:
        :math:`-w_+/B` for a target neuron below :math:`v_{thr}+m`, :math:`+1/B` for a
        non-target neuron above :math:`v_{thr}-m`, else 0.
    t_star : ndarray
        int (batch, n_out): the first step at which :math:`V_{max}` is reached.
    """
    batch = output_U.shape[0]
    t_star = output_U.argmax(axis=1)
    V_max = np.take_along_axis(output_U, t_star[:, None, :], axis=1)[:, 0, :]
    too_low = targets & (V_max < v_thr + margin)
    too_high = ~targets & (V_max > v_thr - margin)
    per_neuron = positive_weight * np.where(too_low, (v_thr + margin) - V_max, 0.0) + np.where(
        too_high, V_max - (v_thr - margin), 0.0
    )
    dtype = output_U.dtype
    dL_dVmax = (too_high.astype(dtype) - dtype.type(positive_weight) * too_low.astype(dtype)) / dtype.type(batch)
    return float(per_neuron.sum(dtype=float) / batch), dL_dVmax, t_star


def output_loss(
    output_U: np.ndarray,
    targets: np.ndarray,
    v_thr: float,
    loss: str = "tempotron",
    margin: float = 0.0,
    positive_weight: float = 1.0,
    scale: float | None = None,
):
    """The loss named ``loss`` of the output voltage (batch, steps, n_out): (value, dL/dV_max, t*).

    ``margin`` is the tempotron's, ``positive_weight`` that of the tempotron and of ``bce``,
    ``scale`` (volts, default ``v_thr``) that of the cross entropies (:mod:`gradients.readouts`).
    """
    scale = v_thr if scale is None else scale
    if loss == "tempotron":
        return tempotron_loss(output_U, targets, v_thr, margin, positive_weight)
    if loss == "bce":
        return bce_loss(output_U, targets, v_thr, scale, positive_weight)
    if loss == "cross_entropy":
        return cross_entropy_loss(output_U, targets, scale)
    raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")


def check_readout(loss: str, scale, targets=None):
    """The readout scale in volts (None stays None: v_thr), or an error naming the fault; with
    ``targets``, also that ``cross_entropy`` has exactly one target per sample."""
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
    if scale is not None:
        scale = to_si(scale, "volt", "readout_scale")
        if not (math.isfinite(scale) and scale > 0):
            raise ValueError(f"readout_scale must be a finite voltage > 0 (or None: v_thr), got {scale!r} V")
    if targets is not None and loss == "cross_entropy" and not np.all(np.asarray(targets).sum(axis=1) == 1):
        raise ValueError(
            "loss='cross_entropy' needs exactly one target per sample (single-label data); "
            "use 'bce' or 'tempotron' for multi-label targets"
        )
    return scale


def _validate(weights, spikes, targets, params, q, traces, method, margin):
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if not isinstance(params, VRParams):
        raise TypeError(f"params must be a VRParams, got {type(params).__name__}")
    if method == "paper":
        check_variant(params)
    weights = check_weights(weights)
    dtype = np.result_type(*weights)
    if dtype not in (np.float32, np.float64):
        raise TypeError(f"weights must be float32 or float64 arrays (the computation uses their dtype), got {dtype}")
    weights = [np.ascontiguousarray(W, dtype=dtype) for W in weights]
    spikes = check_spikes(spikes, weights[0].shape[1])
    targets = check_targets(targets, spikes.shape[0], weights[-1].shape[0], axes="batch, n_out")
    q = surrogate_width(q, params)
    margin = check_margin(margin)
    if traces is not None:
        _check_traces(traces, weights, spikes, params)
    return weights, spikes, targets, q, margin


def _check_traces(traces, weights, spikes, params):
    if not isinstance(traces, Traces):
        raise TypeError(f"traces must be a vr_brian.Traces, got {type(traces).__name__}")
    if traces.params != params:
        raise ValueError(f"traces were made with {traces.params!r}, not with params={params!r}")
    if len(traces.U) != len(weights) or len(traces.P) != len(weights) - 1:
        raise ValueError(
            f"traces hold {len(traces.U)} voltage and {len(traces.P)} spike records, but weights "
            f"describe {len(weights)} layers ({len(weights) - 1} hidden)"
        )
    batch, steps, _ = spikes.shape
    for n, W in enumerate(weights):
        expected = (batch, steps, W.shape[0])
        if traces.U[n].shape != expected:
            raise ValueError(
                f"traces.U[{n}] has shape {traces.U[n].shape}, expected {expected} (batch, steps, "
                f"units of layer {n + 1})"
            )
        if n < len(weights) - 1 and traces.P[n].shape != expected:
            raise ValueError(f"traces.P[{n}] has shape {traces.P[n].shape}, expected {expected}")
    if traces.spikes.shape != spikes.shape or not np.array_equal(traces.spikes, spikes):
        raise ValueError("traces.spikes differ from spikes: the traces are of another input")
    if traces.weights is not None and traces.weights != weights_fingerprint(weights):
        raise ValueError(
            "traces were recorded with other weights than these: a replay would give the loss and gradient of "
            "another network; record traces of these weights (vr_brian.simulate) or pass traces=None"
        )


def _recording(weights, spikes, params: VRParams, traces: Traces | None, compiled: bool | None, handed_out=False):
    """The forward pass: the traces replayed, or a new simulation (whose traces carry the weights'
    fingerprint only if they are ``handed_out``)."""
    if traces is not None:
        return replay(weights, traces, compiled)
    return record_forward(weights, spikes, params, compiled, fingerprint=handed_out)


def loss(
    weights,
    spikes,
    targets,
    params: VRParams,
    traces: Traces | None = None,
    margin=0.0,
    positive_weight: float = 1.0,
    loss: str = "tempotron",
    readout_scale=None,
    compiled: bool | None = None,
) -> float:
    """The batch loss alone (no gradient); arguments as :func:`loss_and_grad`."""
    weights, spikes, targets, _, margin = _validate(weights, spikes, targets, params, None, traces, "bptt", margin)
    positive_weight = check_positive_weight(positive_weight)
    scale = check_readout(loss, readout_scale, targets)
    recording = _recording(weights, spikes, params, traces, compiled)
    output = recording.U[-1].transpose(1, 0, 2)
    return output_loss(output, targets, params.v_thr, loss, margin, positive_weight, scale)[0]


def loss_and_grad(
    weights,
    spikes,
    targets,
    params: VRParams,
    q=None,
    traces: Traces | None = None,
    method: str = "bptt",
    margin=0.0,
    positive_weight: float = 1.0,
    return_traces: bool = False,
    loss: str = "tempotron",
    readout_scale=None,
    compiled: bool | None = None,
):
    r"""The tempotron-like loss of a batch and its gradient with respect to every weight matrix.

    Parameters
    ----------
    weights : sequence of ndarray
        One (n_post, n_pre) matrix per layer, volts, all float32 or all float64:
        the whole computation runs in that dtype.
    spikes : ndarray
        Input spikes, (batch, steps, n_in), bool or 0/1.
    targets : ndarray
        Multi-hot targets, (batch, n_out), bool or 0/1.
    params : VRParams
        Neuron parameters.
    q : Quantity or float, optional
        Width of the rectangular surrogate (volts, > 0); default
        ``DEFAULT_Q_OVER_V_THR * v_thr`` (= v_thr), see :mod:`gradients.surrogate`.
    traces : Traces, optional
        Recorded traces of these weights and spikes (e.g. from
        :class:`vr_brian.BrianNetwork`): replayed instead of simulating again.
        Their shapes, input spikes and params must match.
    method : {"bptt", "paper"}
        ``"bptt"``: the exact reverse-mode gradient of the network with the
        surrogate in place of dP/dU (:func:`gradients.bptt.backward`).
        ``"paper"``: the literal reading of the paper's eqs. 13-19 / Algorithm 1,
        which counts the path through the resistance twice
        (:func:`gradients.paper.paper_correction`).
    margin : Quantity or float
        Margin ``m >= 0`` of the loss, volts (0: eq. 10 exactly).
    positive_weight : float
        :math:`w_+ > 0`, the weight of the errors of target neurons (1: eq. 10 exactly).
    return_traces : bool
        Also return the :class:`~vr_brian.Traces` of the forward pass.
    loss : {"tempotron", "bce", "cross_entropy"}
        The loss of the maximal output voltage: eq. 10 (with ``margin`` and ``positive_weight``),
        or a cross entropy of :mod:`gradients.readouts` (``bce`` with ``positive_weight``).
    readout_scale : Quantity or float, optional
        The cross entropies' voltage scale (volts, > 0; default ``v_thr``).
    compiled : bool, optional
        Forward and backward pass as compiled (numba) kernels or on the numpy/scipy path
        (default :data:`gradients.forward.COMPILED`: compiled where numba is installed); the
        numbers agree to rounding.

    Returns
    -------
    loss : float
        :math:`L` (volts), summed over output neurons, averaged over the batch.
    grads : list of ndarray
        :math:`\partial L / \partial W_n`, same shapes and dtype as ``weights``.
    traces : Traces
        With ``return_traces`` only.

    Notes
    -----
    :math:`V_{max}` depends on the network only through :math:`U_N(t^*)` at its
    first argmax :math:`t^*`, so the output contributes at :math:`t \le t^*` only.
    Without ``traces`` the forward pass is :func:`gradients.forward.record_forward`
    (equal to :func:`vr_brian.forward` to rounding). R(t) is not checked here
    (a training loop would warn every step): call ``Traces.check_resistance()`` on
    the traces of a run to be told about negative resistance or the runaway.

    Examples
    --------
    >>> import numpy as np
    >>> from brian2 import mV
    >>> from vr_brian import VRParams
    >>> rng = np.random.default_rng(0)
    >>> weights = [rng.normal(0.05, 0.2, (8, 12)), rng.normal(0.1, 0.3, (3, 8))]
    >>> spikes = rng.random((4, 50, 12)) < 0.1
    >>> targets = np.eye(3, dtype=bool)[[0, 1, 2, 0]]
    >>> value, grads = loss_and_grad(weights, spikes, targets, VRParams(alpha=0.3), q=500*mV)
    >>> [g.shape for g in grads]
    [(8, 12), (3, 8)]
    """
    weights, spikes, targets, q, margin = _validate(weights, spikes, targets, params, q, traces, method, margin)
    positive_weight = check_positive_weight(positive_weight)
    scale = check_readout(loss, readout_scale, targets)
    recording = _recording(weights, spikes, params, traces, compiled, handed_out=return_traces)
    output = recording.U[-1].transpose(1, 0, 2)
    value, dL_dVmax, t_star = output_loss(output, targets, params.v_thr, loss, margin, positive_weight, scale)
    grads, adjoints = backward(weights, recording, dL_dVmax, t_star, params, q, keep_adjoints=method == "paper")
    if method == "paper":
        for n, correction in enumerate(paper_correction(weights, recording, adjoints, params, q)):
            grads[n] += correction
    if return_traces:
        return value, grads, recording.traces
    return value, grads
