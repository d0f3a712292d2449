r"""Optimisers as pure functions over lists of arrays and immutable state records.

An optimiser is an immutable hyper-parameter record (:class:`SGD`, :class:`Adam`)
with two pure methods:

- ``init(params) -> state``: the state record for a list of parameter arrays;
- ``step(params, grads, state) -> (new_params, new_state)``: one update; nothing
  passed in is modified.

State records are frozen dataclasses of tuples of arrays, written to and read from
checkpoints by :func:`state_to_arrays` and :func:`state_from_arrays`. Updates are
computed in the dtype of each parameter array. ``step`` takes an optional ``scale``, a
factor on the learning rate (one number, or one per parameter array), through which
:func:`learning_rate_factor` (warm-up and decay) and per-layer scalings act.

:func:`clip_by_global_norm` bounds the gradient before a step, as
``torch.nn.utils.clip_grad_norm_`` does. Both optimisers take a decoupled weight decay
(``weight_decay`` :math:`\lambda`, Loshchilov and Hutter 2019, ``torch.optim.AdamW``'s rule): each
step first shrinks every parameter, :math:`\theta \leftarrow (1 - \eta\lambda)\,\theta`, with the
step's learning rate :math:`\eta`, then applies the update.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

__all__ = [
    "SGD",
    "Adam",
    "SGDState",
    "AdamState",
    "make_optimizer",
    "state_to_arrays",
    "state_from_arrays",
    "OPTIMIZERS",
    "LR_DECAYS",
    "clip_by_global_norm",
    "learning_rate_factor",
]

OPTIMIZERS = ("sgd", "adam")

#: Learning-rate decays of :func:`learning_rate_factor`.
LR_DECAYS = ("none", "cosine")


def _check_range(value, name: str, low: float, high: float = math.inf, low_closed: bool = False) -> float:
    """``value`` as a float, or a ValueError naming ``name`` and the accepted range."""
    interval = f"{'[' if low_closed else '('}{low:g}, {high:g})"
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number in {interval}, got {value!r}") from None
    inside = (value >= low if low_closed else value > low) and value < high
    if not (math.isfinite(value) and inside):
        raise ValueError(f"{name} must lie in {interval}, got {value!r}")
    return value


def _arrays(params, name: str) -> tuple:
    arrays = tuple(np.asarray(p) for p in params)
    for k, p in enumerate(arrays):
        if not np.issubdtype(p.dtype, np.floating):
            raise TypeError(f"{name}[{k}] must be a floating-point array, got dtype {p.dtype}")
    return arrays


def _scales(scale, n: int) -> tuple:
    """``scale`` as one float per parameter array."""
    scales = tuple(float(s) for s in scale) if np.ndim(scale) else (float(scale),) * n
    if len(scales) != n:
        raise ValueError(f"scale has {len(scales)} entries but there are {n} parameter arrays")
    return scales


def clip_by_global_norm(grads, max_norm: float) -> tuple:
    r"""``grads`` scaled by :math:`\min(1, c/\|g\|)`, :math:`\|g\|` the L2 norm of all arrays together.

    Returns
    -------
    grads : list of ndarray
        The clipped gradients (the same arrays when no clipping was needed), dtypes kept.
    norm : float
        :math:`\|g\|` before clipping.
    """
    norm = math.sqrt(sum(float(np.dot(g.ravel().astype(float), g.ravel().astype(float))) for g in grads))
    if not norm > max_norm:  # also leaves non-finite gradients to the caller's check
        return list(grads), norm
    factor = max_norm / norm
    return [g * g.dtype.type(factor) for g in grads], norm


def learning_rate_factor(step: int, total_steps: int, warmup_steps: int = 0, decay: str = "none") -> float:
    r"""The factor on the learning rate at optimiser step ``step`` (0-based) of ``total_steps``.

    A linear warm-up :math:`(k+1)/K_w` over the first ``warmup_steps`` steps, then ``decay``:
    ``"none"`` (1) or ``"cosine"``, :math:`\tfrac12 (1 + \cos(\pi\, k'/K'))` over the remaining
    :math:`K'` steps (:math:`k'` counted from the end of the warm-up), which reaches 0 after the
    last step.
    """
    if decay not in LR_DECAYS:
        raise ValueError(f"decay must be one of {LR_DECAYS}, got {decay!r}")
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    if decay == "none":
        return 1.0
    remaining = max(total_steps - warmup_steps, 1)
    return 0.5 * (1 + math.cos(math.pi * min(step - warmup_steps, remaining) / remaining))


def _decayed(p: np.ndarray, lr: float, weight_decay: float) -> np.ndarray:
    """``p`` shrunk by the decoupled weight decay of a step with learning rate ``lr``."""
    return p * p.dtype.type(1 - lr * weight_decay) if weight_decay else p


def _check_grads(params: tuple, grads) -> tuple:
    grads = tuple(np.asarray(g) for g in grads)
    if len(grads) != len(params):
        raise ValueError(f"grads has {len(grads)} arrays but params has {len(params)}")
    for k, (p, g) in enumerate(zip(params, grads, strict=True)):
        if g.shape != p.shape:
            raise ValueError(f"grads[{k}] has shape {g.shape}, params[{k}] has shape {p.shape}")
    return grads


@dataclasses.dataclass(frozen=True)
class SGDState:
    """State of :class:`SGD`: the velocity of every parameter array (zeros without momentum)."""

    velocity: tuple


@dataclasses.dataclass(frozen=True)
class AdamState:
    """State of :class:`Adam`: step count and the first and second moment estimates."""

    count: int
    m: tuple
    v: tuple


@dataclasses.dataclass(frozen=True)
class SGD:
    r"""Stochastic gradient descent with optional (heavy-ball) momentum.

    .. math::

        v_{k+1} = \mu v_k + g_k,\qquad \theta_{k+1} = (1 - \eta\lambda)\,\theta_k - \eta\, v_{k+1}

    with learning rate :math:`\eta` = ``lr``, momentum :math:`\mu` = ``momentum`` and decoupled
    weight decay :math:`\lambda` = ``weight_decay`` (:math:`\mu = \lambda = 0` is plain SGD,
    :math:`\theta_{k+1} = \theta_k - \eta g_k`).
    """

    lr: float = 0.01
    momentum: float = 0.0
    weight_decay: float = 0.0
    name = "sgd"

    def __post_init__(self):
        object.__setattr__(self, "lr", _check_range(self.lr, "lr", 0.0))
        object.__setattr__(self, "momentum", _check_range(self.momentum, "momentum", 0.0, 1.0, low_closed=True))
        _check_decay(self)

    def init(self, params) -> SGDState:
        return SGDState(velocity=tuple(np.zeros_like(p) for p in _arrays(params, "params")))

    def step(self, params, grads, state: SGDState, scale=1.0) -> tuple:
        """One update with learning rate ``lr * scale`` (``scale``: a number or one per array)."""
        params = _arrays(params, "params")
        grads = _check_grads(params, grads)
        new_params, velocity = [], []
        for p, g, v, s in zip(params, grads, state.velocity, _scales(scale, len(params)), strict=True):
            g = g.astype(p.dtype, copy=False)
            v_new = p.dtype.type(self.momentum) * v + g if self.momentum else g.copy()
            velocity.append(v_new)
            new_params.append(_decayed(p, self.lr * s, self.weight_decay) - p.dtype.type(self.lr * s) * v_new)
        return new_params, SGDState(velocity=tuple(velocity))


@dataclasses.dataclass(frozen=True)
class Adam:
    r"""Adam (Kingma and Ba, 2015), with bias-corrected moments.

    For step :math:`k = 1, 2, \ldots` and gradient :math:`g_k`:

    .. math::

        m_k = \beta_1 m_{k-1} + (1-\beta_1) g_k,\qquad
        v_k = \beta_2 v_{k-1} + (1-\beta_2) g_k^2 \\
        \hat m_k = m_k / (1-\beta_1^k),\qquad \hat v_k = v_k / (1-\beta_2^k) \\
        \theta_k = (1 - \eta\lambda)\,\theta_{k-1} - \eta\, \hat m_k / (\sqrt{\hat v_k} + \epsilon)

    with decoupled weight decay :math:`\lambda` = ``weight_decay`` (AdamW; 0: Adam).
    """

    lr: float = 1e-3
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    weight_decay: float = 0.0
    name = "adam"

    def __post_init__(self):
        object.__setattr__(self, "lr", _check_range(self.lr, "lr", 0.0))
        object.__setattr__(self, "beta1", _check_range(self.beta1, "beta1", 0.0, 1.0, low_closed=True))
        object.__setattr__(self, "beta2", _check_range(self.beta2, "beta2", 0.0, 1.0, low_closed=True))
        object.__setattr__(self, "eps", _check_range(self.eps, "eps", 0.0))
        _check_decay(self)

    def init(self, params) -> AdamState:
        params = _arrays(params, "params")
        return AdamState(count=0, m=tuple(np.zeros_like(p) for p in params), v=tuple(np.zeros_like(p) for p in params))

    def step(self, params, grads, state: AdamState, scale=1.0) -> tuple:
        """One update with learning rate ``lr * scale`` (``scale``: a number or one per array)."""
        params = _arrays(params, "params")
        grads = _check_grads(params, grads)
        count = state.count + 1
        new_params, ms, vs = [], [], []
        for p, g, m, v, s in zip(params, grads, state.m, state.v, _scales(scale, len(params)), strict=True):
            f = p.dtype.type
            g = g.astype(p.dtype, copy=False)
            m = f(self.beta1) * m + f(1 - self.beta1) * g
            v = f(self.beta2) * v + f(1 - self.beta2) * (g * g)
            m_hat = m / f(1 - self.beta1**count)
            v_hat = v / f(1 - self.beta2**count)
            new_params.append(
                _decayed(p, self.lr * s, self.weight_decay) - f(self.lr * s) * m_hat / (np.sqrt(v_hat) + f(self.eps))
            )
            ms.append(m)
            vs.append(v)
        return new_params, AdamState(count=count, m=tuple(ms), v=tuple(vs))


def _check_decay(optimizer) -> None:
    """Validate ``optimizer.weight_decay``: 0 <= lr * weight_decay < 1, so that a step shrinks, never flips."""
    decay = _check_range(optimizer.weight_decay, "weight_decay", 0.0, low_closed=True)
    if optimizer.lr * decay >= 1:
        raise ValueError(
            f"lr * weight_decay must be < 1 (a step multiplies the weights by 1 - lr * weight_decay), "
            f"got lr={optimizer.lr!r}, weight_decay={decay!r}"
        )
    object.__setattr__(optimizer, "weight_decay", decay)


def make_optimizer(
    name: str,
    lr: float,
    momentum: float = 0.0,
    beta1: float = 0.9,
    beta2: float = 0.999,
    eps: float = 1e-8,
    weight_decay: float = 0.0,
):
    """The optimiser record named ``name`` ("sgd" or "adam")."""
    if name == "sgd":
        return SGD(lr=lr, momentum=momentum, weight_decay=weight_decay)
    if name == "adam":
        return Adam(lr=lr, beta1=beta1, beta2=beta2, eps=eps, weight_decay=weight_decay)
    raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {name!r}")


def state_to_arrays(state) -> dict:
    """A flat {name: array} view of an optimiser state, for :func:`numpy.savez`."""
    out = {}
    for field in dataclasses.fields(state):
        value = getattr(state, field.name)
        if isinstance(value, tuple):
            for k, array in enumerate(value):
                out[f"{field.name}_{k}"] = np.asarray(array)
        else:
            out[field.name] = np.asarray(value)
    return out


_STATE_RECORDS = {cls.__name__: cls for cls in (SGDState, AdamState)}


def state_from_arrays(kind: str, arrays: dict):
    """Rebuild a state record of class name ``kind`` from :func:`state_to_arrays` output."""
    if kind not in _STATE_RECORDS:
        raise ValueError(f"unknown optimiser state {kind!r}; known: {sorted(_STATE_RECORDS)}")
    cls = _STATE_RECORDS[kind]
    values: dict[str, Any] = {}
    for field in dataclasses.fields(cls):
        if field.name in arrays:
            values[field.name] = int(arrays[field.name])
        else:
            count = 0
            while f"{field.name}_{count}" in arrays:
                count += 1
            values[field.name] = tuple(np.array(arrays[f"{field.name}_{k}"]) for k in range(count))
    return cls(**values)
