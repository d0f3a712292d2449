r"""Where the runaway of the paper's R(t) sets in, per neuron, and how to keep a layer away from it.

A neuron with input weights :math:`w_{ij}` whose presynaptic units fire with probability
:math:`p_j` per step has, at alpha = 0, the mean voltage :math:`a_i = N_0 S \sum_j w_{ij} p_j`
with :math:`S = \sum_{k \ge 0} (\gamma_m^k - \gamma_s^k)` (:func:`kernel_sum`), the sum of the
PSP kernel. With the variable resistance the mean voltage solves :math:`U = a_i (1 - \alpha U/v_{thr})`,

.. math::

    U^* = \frac{a_i}{1 + \alpha a_i / v_{thr}},

which exists only while the loop gain

.. math::

    G_i = -\alpha\, a_i / v_{thr} = -\alpha N_0 S \sum_j w_{ij} p_j / v_{thr}

stays below 1 (:func:`loop_gain`): net inhibition (:math:`a_i < 0`) at alpha > 0, net excitation
of a neuron that does not reset at alpha < 0. At :math:`G_i = 1/2` the mean voltage sits at
:math:`-v_{thr}/\alpha`, where R = 2. ``studies/runaway_stability`` maps the runaway against
the a-priori form of G for random weights (:func:`initial_gain`): with G < 0.5 in every layer
at most 1 of 16 seeds ran away.

:func:`project_to_bound` moves the rows of W onto :math:`|G_i| \le` a bound for the input of
every sample: the projection a trainer can apply after each update
(``TrainConfig.stability_bound``).
"""

from __future__ import annotations

import math

import numpy as np

from .params import VRParams

__all__ = ["kernel_sum", "loop_gain", "project_to_bound", "initial_gain", "stable_std_gain"]


def kernel_sum(params: VRParams) -> float:
    """S = sum_{k>=0} (gamma_m^k - gamma_s^k): the sum over steps of the PSP kernel (without N0)."""
    return params.gamma_m / (1 - params.gamma_m) - params.gamma_s / (1 - params.gamma_s)


def _gain_per_volt(params: VRParams) -> float:
    """-alpha N0 S / v_thr: G_i per volt of sum_j w_ij p_j."""
    return -params.alpha * params.N0 * kernel_sum(params) / params.v_thr


def loop_gain(W: np.ndarray, rates: np.ndarray, params: VRParams) -> np.ndarray:
    """G_i of every neuron of a layer (n_post,), given its (n_post, n_pre) weights and the firing
    probability per step of its presynaptic units, ``rates`` (n_pre,)."""
    return _gain_per_volt(params) * (np.asarray(W, float) @ np.asarray(rates, float))


def project_to_bound(W: np.ndarray, rates: np.ndarray, params: VRParams, bound: float, max_sweeps: int = 50) -> tuple:
    r"""Weights near ``W`` whose loop gains stay within ``[-bound, bound]`` for every rate vector.

    ``rates`` is one vector of presynaptic firing probabilities (n_pre,) or one per sample
    (n_samples, n_pre): each sample's input sets its own constraint
    :math:`|G_i(b)| \le \text{bound}`, a slab in the space of row :math:`w_i`. Both signs are
    bounded: :math:`G_i > 0` is the runaway of MODEL.md; a large :math:`-G_i` (strong
    excitation at alpha > 0) drives U past :math:`v_{thr}/\alpha`, where R < 0, the second route
    to it (``studies/runaway_stability``). Each sweep moves every violating row along the rate
    vector of its most violated sample onto that slab's face (the Euclidean projection onto
    one slab); sweeps repeat until no row violates (to a relative 1e-9) or ``max_sweeps``, which
    converges onto the intersection (alternating projections onto convex sets).

    Returns
    -------
    W : ndarray
        The projected weights, dtype of ``W`` (``W`` itself when nothing moved).
    moved : int
        The number of rows that moved.
    """
    if not bound > 0:
        raise ValueError(f"bound must be > 0, got {bound!r}")
    per_volt = _gain_per_volt(params)
    R = np.atleast_2d(np.asarray(rates, float))
    if R.shape[1] != W.shape[1]:
        raise ValueError(f"rates have {R.shape[1]} presynaptic units but W has n_pre={W.shape[1]}")
    norms = (R * R).sum(axis=1)
    if per_volt == 0 or not norms.any():
        return W, 0
    projected = np.array(W, dtype=float)
    moved = np.zeros(W.shape[0], bool)
    tolerance = 1e-9 * bound
    for _ in range(max_sweeps):
        G = per_volt * (projected @ R.T)  # (n_post, n_samples)
        worst = np.abs(G).argmax(axis=1)
        rows = np.flatnonzero(np.abs(G[np.arange(len(G)), worst]) > bound + tolerance)
        if not len(rows):
            break
        sample = worst[rows]
        gain = G[rows, sample]
        # G is linear in w: dG_i/dw_i = per_volt * r_b, so a step along r_b moves G_i onto +-bound
        step = (np.sign(gain) * bound - gain) / (per_volt * norms[sample])
        projected[rows] += step[:, None] * R[sample]
        moved[rows] = True
    if not moved.any():
        return W, 0
    return projected.astype(W.dtype), int(moved.sum())


def initial_gain(params: VRParams, rate: float, n_pre: int, n_post: int, mean: float, std: float) -> float:
    r"""The a-priori loop gain of a layer of weights :math:`\mathcal N(\mu, \sigma^2)`: that of its most
    driven neuron, :math:`|\alpha| p N_0 S (z \sigma \sqrt{n} - \mathrm{sign}(\alpha)\, n \mu)/v_{thr}`
    with :math:`z = \sqrt{2 \ln M}` (M = ``n_post`` neurons, n = ``n_pre`` inputs)."""
    z = math.sqrt(2 * math.log(max(n_post, 2)))
    drive = z * std * math.sqrt(n_pre) - math.copysign(1.0, params.alpha) * n_pre * mean
    return abs(params.alpha) * rate * params.N0 * kernel_sum(params) * drive / params.v_thr


def stable_std_gain(
    params: VRParams, rate: float, n_pre: int, n_post: int, mean_gain: float, std_gain: float, bound: float = 0.5
) -> float:
    r"""The largest :math:`g_\sigma \le` ``std_gain`` for which a layer of
    :math:`\mathcal N(g_\mu v_{thr}/n, (g_\sigma v_{thr}/\sqrt n)^2)` weights has :func:`initial_gain` <= ``bound``.

    In units of the initialisation, :math:`G = |\alpha| p N_0 S (z g_\sigma - \mathrm{sign}(\alpha) g_\mu)`.
    Returns 0 when even :math:`g_\sigma = 0` exceeds the bound (the mean alone runs away).
    """
    scale = abs(params.alpha) * rate * params.N0 * kernel_sum(params)
    if scale == 0:
        return std_gain
    z = math.sqrt(2 * math.log(max(n_post, 2)))
    largest = (bound / scale + math.copysign(1.0, params.alpha) * mean_gain) / z
    return float(min(std_gain, max(largest, 0.0)))
