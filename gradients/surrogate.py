r"""The rectangular surrogate of the spike derivative (eq. 12) and its width ``q``.

The spike :math:`P = [U > v_{thr}]` has no useful derivative; the backward pass
uses instead

.. math::

    g(U) = \frac{1}{q}\,\big[\,|U - v_{thr}| < q/2\,\big],

a box of width ``q`` (volts) and unit area centred on the threshold.
"""

from __future__ import annotations

import math

import numpy as np

from vr_brian.params import VRParams, to_si

__all__ = ["DEFAULT_Q_OVER_V_THR", "check_width", "surrogate_width", "surrogate"]

#: Default surrogate width as a fraction of the threshold: q = v_thr, i.e. the
#: surrogate is 1/v_thr for 0.5 v_thr < U < 1.5 v_thr. Through the reset path the
#: adjoint is multiplied by -v_thr/q at every step a voltage spends inside the
#: window, so q < v_thr amplifies the gradient geometrically back in time (at
#: q = v_thr/4 it explodes); the STCA code used q = 2.01 v_thr. On a small template
#: task q = v_thr trained best of 0.25, 0.5, 1 and 2.01 v_thr
#: (studies/surrogate_width/README.md).
DEFAULT_Q_OVER_V_THR = 1.0


def check_width(q) -> float | None:
    """The surrogate width ``q`` in volts (a Brian2 quantity or an SI float), validated; None stays None
    (the default, :data:`DEFAULT_Q_OVER_V_THR` times the threshold).

    Raises
    ------
    ValueError
        If ``q`` is not a finite voltage > 0.
    """
    if q is None:
        return None
    q = to_si(q, "volt", "q")
    if not (math.isfinite(q) and q > 0):
        raise ValueError(f"q (surrogate width) must be a finite voltage > 0, got {q!r} V")
    return q


def surrogate_width(q, params: VRParams) -> float:
    """The surrogate width in volts, validated (:func:`check_width`), ``None`` meaning
    ``DEFAULT_Q_OVER_V_THR * params.v_thr``.

    Examples
    --------
    >>> surrogate_width(None, VRParams.from_si(v_thr=2.0))
    2.0
    >>> surrogate_width(0.25, VRParams())
    0.25
    """
    q = check_width(q)
    return DEFAULT_Q_OVER_V_THR * params.v_thr if q is None else q


def surrogate(U: np.ndarray, v_thr: float, q: float, out: np.ndarray | None = None) -> np.ndarray:
    r"""g(U) = 1/q where :math:`|U - v_{thr}| < q/2`, else 0, in the dtype of ``U``.

    ``out``: an array of U's shape and dtype to write g into (the backward sweep reuses one per
    step). The compiled kernels of :mod:`gradients.kernels` compute the same, element by element.

    Examples
    --------
    >>> surrogate(np.array([0.4, 0.6, 1.0, 1.49, 1.5]), v_thr=1.0, q=1.0)
    array([0., 1., 1., 1., 0.])
    """
    dtype = U.dtype if np.issubdtype(U.dtype, np.floating) else np.dtype(float)
    g = np.subtract(U, dtype.type(v_thr), dtype=dtype, out=out)
    np.abs(g, out=g)
    window = np.less(g, dtype.type(q / 2))
    return np.multiply(window, dtype.type(1 / q), out=g)
