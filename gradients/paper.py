r"""The paper's literal gradient: eq. 14's forward-mode term on top of the backward recursion.

The paper writes (eq. 14) the derivative of the transmitted current with respect
to the weights as a total derivative,

.. math::

    \frac{dT_n(t)}{dW_n} = N_0 P_{n-1}(t) R_n(t) - k\, I_n(t)\, \frac{dU_n(t-1)}{dW_n},
    \qquad k = \alpha / v_{thr},

and combines it with the adjoint :math:`\bar T_n(t)` of eqs. 15-19, whose
recursion already carries :math:`U_n(t-1) \to T_n(t)` backwards (eqs. 18-19).
Read literally, every path through a resistance edge :math:`U_n(t-1) \to T_n(t)` is
then counted once more. ``method="paper"`` computes exactly that reading:

.. math::

    \left.\frac{\partial L}{\partial W_n}\right|_{paper}
    = \left.\frac{\partial L}{\partial W_n}\right|_{bptt}
    - k \sum_{b,t} \bar T_n(t)\, I_n(t)\, \frac{dU_n(t-1)}{dW_n},

where :math:`\bar T_n` is the exact adjoint (with the corrections MODEL.md lists:
eqs. 18-19 with :math:`P^{t+1}`, and the spike-to-next-layer term eq. 20, without
which no hidden layer would learn) and :math:`dU_n(t-1)/dW_n` is the exact total
derivative of the layer's own voltage with respect to its own weights (through its
resistance, its reset and the surrogate; the layers below do not depend on
:math:`W_n`). The lower layers receive the exact adjoint, so the extra term
changes each layer's own gradient only. At :math:`\alpha = 0` it vanishes and the
two methods agree.

How far it is from the exact gradient (relative norm, median over 5 seeds, 60 steps,
q = 0.5 v_thr, weights of the tests' ``make_case``): a 12-3 network, 15% at alpha = 0.1
and 44% at alpha = 0.3; a 40-30-20-6 network over 200 steps at alpha = 0.3, 24%, 21% and
47% for the three layers (10%, 9% and 47% with q = v_thr).

The forward-mode term is a linear functional of :math:`dU_n/dW_n`, so it is
evaluated in reverse: it is the gradient, through layer n alone, of the
pseudo-loss :math:`\sum_t c(t) U_n(t-1)` with the constant
:math:`c(t) = -k I_n(t) \bar T_n(t)`. That costs one more adjoint sweep per layer
instead of a (batch, n_post, n_pre) sensitivity per step.
"""

from __future__ import annotations

import numpy as np

from vr_brian.params import VRParams

from .bptt import current_adjoints, resistance_slope, sweep_layer
from .forward import Recording

__all__ = ["paper_correction", "check_variant"]


def check_variant(params: VRParams) -> None:
    """The literal reading exists for the paper's R(t) only: an error naming the variant otherwise."""
    if params.variant != "paper":
        raise ValueError(
            f"method='paper' is the literal reading of the paper's equations for the paper's R(t); "
            f"variant={params.variant!r} has the exact gradient only (method='bptt')"
        )


def paper_correction(weights, recording: Recording, adjoints, params: VRParams, q: float) -> list:
    r"""The literal reading's extra term :math:`-k \sum \bar T_n(t) I_n(t)\, dU_n(t-1)/dW_n`, per layer.

    Parameters
    ----------
    weights : list of ndarray
        (n_post, n_pre).
    recording : Recording
        The forward pass.
    adjoints : list of ndarray
        :math:`\bar T_n(t)`, t = 0..t_end, from :func:`gradients.bptt.backward`.
    params : VRParams
        Neuron parameters.
    q : float
        Surrogate width, volts.

    Returns
    -------
    list of ndarray
        To be added to the BPTT gradients (zeros when alpha = 0 or the loss is flat).
    """
    check_variant(params)
    corrections = [np.zeros_like(W) for W in weights]
    if not params.alpha:
        return corrections
    for n, dT in enumerate(adjoints):
        t_end = dT.shape[0] - 1
        if t_end < 1:
            continue
        # c(t) multiplies dU(t-1)/dW: a voltage source at step t-1
        slope = resistance_slope(recording.currents(n, weights, params), recording.U[n], params)
        assert slope is not None  # alpha != 0: the resistance varies
        source = np.zeros_like(dT)
        source[:-1] = -slope[1 : t_end + 1] * dT[1:]
        fires = n < len(weights) - 1
        dT_extra = sweep_layer(recording.U[n], slope, params, q, fires, t_end, voltage_source=source)
        (dI,) = current_adjoints(dT_extra, recording.U[n], params)
        corrections[n] = recording.inputs[n].weight_gradient(dI, params.N0)
    return corrections
