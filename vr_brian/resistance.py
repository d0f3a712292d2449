r"""The variable resistance R(t) of every variant, from the voltage of the previous step.

With :math:`k_{exc} = \alpha / v_{thr}` (:attr:`VRParams.k_exc`):

- ``"paper"``: :math:`R(t) = 1 - k_{exc} U(t-1)` for every input (eq. 3);
- ``"bounded"``: :math:`R(t) = \mathrm{clip}(1 - k_{exc} U(t-1), 0, r_{max})`;
- ``"split"``: excitatory input (w > 0) sees :math:`R(t) = 1 - k_{exc} U(t-1)`, inhibitory
  input (w < 0) :math:`R_{inh}(t) = 1 - U(t-1)/e_{inh}`.

The transmitted current is :math:`T(t) = I(t) R(t)`, or in ``"split"``
:math:`T(t) = I_{exc}(t) R(t) + I_{inh}(t) R_{inh}(t)` with
:math:`I_{exc} = N_0 W^+ P`, :math:`I_{inh} = N_0 W^- P` (:func:`split_weights`).
"""

from __future__ import annotations

import numpy as np

from .params import VRParams

__all__ = ["resistance_factor", "resistance", "inhibitory_resistance", "split_weights"]


def resistance_factor(U_prev: np.ndarray, k: float, r_max: float | None = None) -> np.ndarray:
    """:math:`1 - k U(t-1)`, clipped to [0, r_max] when ``r_max`` is given, in the dtype of ``U_prev``."""
    dtype = U_prev.dtype if np.issubdtype(U_prev.dtype, np.floating) else np.dtype(float)
    R = dtype.type(1) - dtype.type(k) * U_prev
    if r_max is not None:
        np.clip(R, dtype.type(0), dtype.type(r_max), out=R)
    return R


def _previous(U: np.ndarray) -> np.ndarray:
    """U(t-1) for a trace (batch, steps, units), with U(-1) = 0."""
    U_prev = np.zeros_like(U)
    U_prev[:, 1:] = U[:, :-1]
    return U_prev


def resistance(U: np.ndarray, params: VRParams) -> np.ndarray:
    """R(t) of excitatory input (of every input but in "split") for a voltage trace (batch, steps, units).

    The first step sees U(-1) = 0, so R = 1 there.
    """
    return resistance_factor(_previous(U), params.k_exc, params.r_max)


def inhibitory_resistance(U: np.ndarray, params: VRParams) -> np.ndarray:
    """R(t) of inhibitory input for a voltage trace (batch, steps, units): :func:`resistance` but in "split"."""
    if params.variant != "split":
        return resistance(U, params)
    return resistance_factor(_previous(U), params.k_inh)


def split_weights(W: np.ndarray) -> tuple:
    """(W+, W-): the excitatory and the inhibitory part of ``W``, W = W+ + W-."""
    zero = W.dtype.type(0)
    return np.maximum(W, zero), np.minimum(W, zero)
