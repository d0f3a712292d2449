r"""Readouts of the maximal output voltage other than the tempotron-like loss: cross entropies.

Both read :math:`V_{max} = \max_t U_N(t)` of each output neuron (first argmax :math:`t^*`), as
the tempotron-like loss does, so the backward pass is the same; only
:math:`\partial L/\partial V_{max}` differs. With a scale :math:`s` (volts):

- ``bce``, the binary cross entropy of :math:`\sigma(z)`, :math:`z = (V_{max} - v_{thr})/s`, per output
  (multi-label; the maximal-membrane readout with a sigmoid of mlGeNN and snnTorch):

  .. math:: L = \frac1B \sum_{b,j} w_+ y\,\mathrm{softplus}(-z) + (1 - y)\,\mathrm{softplus}(z),
     \qquad \frac{\partial L}{\partial V_{max}} = \frac{(1-y)\sigma(z) - w_+ y\,\sigma(-z)}{s B};

  its answer :math:`\sigma(z) > 1/2` is :math:`V_{max} > v_{thr}`, the tempotron's.
- ``cross_entropy``, the softmax cross entropy of :math:`z = V_{max}/s` over the outputs (one label
  per sample; snnTorch's ``ce_max_membrane_loss``):

  .. math:: L = \frac1B \sum_b \Big(\log \sum_j e^{z_{bj}} - z_{b,y_b}\Big), \qquad
     \frac{\partial L}{\partial V_{max}} = \frac{\mathrm{softmax}(z) - y}{s B};

  its answer is the output of highest :math:`V_{max}`.
"""

from __future__ import annotations

import numpy as np

__all__ = ["bce_loss", "cross_entropy_loss"]


def _v_max(output_U: np.ndarray) -> tuple:
    t_star = output_U.argmax(axis=1)
    return np.take_along_axis(output_U, t_star[:, None, :], axis=1)[:, 0, :], t_star


def _softplus(z: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, z)


def bce_loss(output_U: np.ndarray, targets: np.ndarray, v_thr: float, scale: float, positive_weight: float = 1.0):
    """Binary cross entropy of the maximal voltage: (loss, dL/dV_max (batch, n_out), t*), as
    :func:`gradients.tempotron.tempotron_loss` returns them."""
    batch = output_U.shape[0]
    V_max, t_star = _v_max(output_U)
    z = (V_max.astype(float) - v_thr) / scale
    y = targets.astype(float)
    value = float((positive_weight * y * _softplus(-z) + (1 - y) * _softplus(z)).sum() / batch)
    sigma = 0.5 * (1 + np.tanh(z / 2))  # the logistic function, without overflow
    slope = ((1 - y) * sigma - positive_weight * y * (1 - sigma)) / (scale * batch)
    return value, slope.astype(output_U.dtype), t_star


def cross_entropy_loss(output_U: np.ndarray, targets: np.ndarray, scale: float):
    """Softmax cross entropy of the maximal voltages over the outputs (one target per sample)."""
    batch = output_U.shape[0]
    V_max, t_star = _v_max(output_U)
    z = V_max.astype(float) / scale
    z -= z.max(axis=1, keepdims=True)
    log_total = np.log(np.exp(z).sum(axis=1))
    y = targets.astype(float)
    value = float((log_total - (z * y).sum(axis=1)).sum() / batch)
    softmax = np.exp(z - log_total[:, None])
    return value, ((softmax - y) / (scale * batch)).astype(output_U.dtype), t_star
