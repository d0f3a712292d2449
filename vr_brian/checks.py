"""Validation of user input, done before any simulation work."""

from __future__ import annotations

import math
from numbers import Integral, Real

import numpy as np

from .params import is_quantity, to_si

__all__ = [
    "check_integer",
    "check_params",
    "check_weight_matrix",
    "check_weights",
    "check_quantity",
    "check_binary",
    "check_spikes",
    "check_targets",
    "check_network",
]


def check_integer(value, name: str, low: int = 1) -> int:
    """``value`` as an int >= ``low``, or a ValueError naming ``name`` (2.5 is refused, not truncated).

    Integers (Python or numpy) are accepted, and floats holding a whole number (``32.0``); booleans,
    strings and fractions are not.
    """
    whole = isinstance(value, Integral) or (
        isinstance(value, Real) and math.isfinite(value) and float(value).is_integer()
    )
    if isinstance(value, bool) or not whole or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


def check_params(params, name: str = "params"):
    """``params`` if it is a :class:`vr_brian.VRParams`, else a TypeError saying how to make one."""
    from .params import VRParams

    if not isinstance(params, VRParams):
        raise TypeError(
            f"{name} must be a VRParams (vr_brian.VRParams(tau_m=20*ms, dt=1*ms), say), got {type(params).__name__}"
            + (f" {params!r}" if isinstance(params, (dict, str, int, float)) else "")
        )
    return params


#: Float dtypes of weight matrices; others (float16, longdouble) are refused, not computed in.
WEIGHT_DTYPES = (np.float32, np.float64)


def check_weight_matrix(W, name: str) -> np.ndarray:
    """Return one (n_post, n_pre) weight matrix as a 2-D float array in volts, or raise naming ``name``.

    Plain numbers are taken as volts; a Brian2 quantity must be in volts (a current or a
    time would otherwise lose its unit silently); every entry must be finite.
    """
    if is_quantity(W):
        from brian2 import volt

        if W.dim is not volt.dim:
            raise ValueError(
                f"{name} must be in volts (a weight is the peak PSP it causes), got dimension "
                f"{W.dim}: multiply by volt or mV, not by {W.dim}"
            )
        W = np.asarray(W / volt)
    W = np.asarray(W)
    if W.ndim != 2:
        raise ValueError(f"{name} must be 2-D (n_post, n_pre), got shape {W.shape}")
    if 0 in W.shape:
        raise ValueError(f"{name} is empty: shape {W.shape}")
    if not (np.issubdtype(W.dtype, np.floating) or np.issubdtype(W.dtype, np.integer)):
        raise TypeError(f"{name} must hold real numbers (volts), got dtype {W.dtype}")
    if np.issubdtype(W.dtype, np.floating) and W.dtype not in WEIGHT_DTYPES:
        raise TypeError(f"{name} must be float32 or float64 (or integers), got dtype {W.dtype}: convert it first")
    if not np.all(np.isfinite(W)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return W if np.issubdtype(W.dtype, np.floating) else W.astype(float)


def check_weights(weights) -> list:
    """Return the weight matrices as a list of 2-D float arrays, or raise naming the fault.

    ``weights`` is a sequence of arrays of shape (n_post, n_pre), in volts (plain floats,
    or Brian2 quantities in volts), one per layer; consecutive layers must chain (n_pre of layer n+1 = n_post of layer n).
    """
    if isinstance(weights, np.ndarray) and weights.ndim == 2:
        weights = [weights]
    try:
        weights = list(weights)
    except TypeError:
        raise TypeError(f"weights must be a sequence of (n_post, n_pre) arrays, got {type(weights).__name__}") from None
    if not weights:
        raise ValueError("weights is empty: a network needs at least one layer")
    checked: list[np.ndarray] = []
    for n, W in enumerate(weights, start=1):
        W = check_weight_matrix(W, f"weights[{n - 1}] (layer {n})")
        if checked and W.shape[1] != checked[-1].shape[0]:
            raise ValueError(
                f"layer sizes do not chain: weights[{n - 1}] has n_pre={W.shape[1]} but "
                f"weights[{n - 2}] has n_post={checked[-1].shape[0]}"
            )
        checked.append(W)
    return checked


def check_quantity(value, unit, name: str) -> float:
    """Return ``value``, a finite Brian2 quantity > 0 in ``unit``, as an SI float, or raise naming ``name``.

    Unlike :func:`vr_brian.to_si`, a bare number is refused: this is for arguments that Brian2
    itself takes with units (``report_period=10*second``).
    """
    if not is_quantity(value):
        raise TypeError(f"{name} must be a Brian2 quantity in {unit!r} (e.g. 10*{unit!r}), got {value!r}")
    si = to_si(value, unit, name)
    if not (math.isfinite(si) and si > 0):
        raise ValueError(f"{name} must be finite and > 0, got {value!r}")
    return si


def check_binary(array, name: str, axes: str, kind: str = "binary", allow_empty: bool = False) -> np.ndarray:
    """Return ``array`` as a bool array with one dimension per name in ``axes``, or raise naming the fault.

    Accepts bool arrays and numeric arrays holding only 0 and 1. ``axes`` names the dimensions
    for the messages (``"batch, steps, n_in"``); ``kind`` says what the values are (binary,
    multi-hot).
    """
    array = np.asarray(array)
    ndim = len(axes.split(","))
    if array.ndim != ndim:
        raise ValueError(f"{name} must be a {ndim}-D array ({axes}), got shape {array.shape}")
    if 0 in array.shape and not allow_empty:
        raise ValueError(f"{name} is empty: shape {array.shape} ({axes})")
    if array.dtype == bool:
        return array
    if not np.issubdtype(array.dtype, np.number):
        raise TypeError(f"{name} must be bool or 0/1 numbers, got dtype {array.dtype}")
    if np.issubdtype(array.dtype, np.floating) and np.isnan(array).any():
        raise ValueError(f"{name} contains NaN: it must hold only 0 and 1")
    bad = ~np.isin(array, (0, 1))
    if bad.any():
        raise ValueError(f"{name} must be {kind} (only 0 and 1), found {array[bad].flat[0]!r}")
    return array.astype(bool)


def check_spikes(spikes, n_in: int | None = None) -> np.ndarray:
    """Return ``spikes`` as a bool array (batch, steps, n_in), or raise naming the fault."""
    spikes = check_binary(spikes, "spikes", "batch, steps, n_in")
    if n_in is not None and spikes.shape[2] != n_in:
        raise ValueError(f"spikes has {spikes.shape[2]} input channels but weights[0] expects n_pre={n_in}")
    return spikes


def check_targets(
    targets, n_samples: int | None = None, n_classes: int | None = None, axes: str = "n_samples, n_classes"
) -> np.ndarray:
    """Return multi-hot ``targets`` as a bool array (n_samples, n_classes), or raise naming the fault.

    ``n_samples`` (the samples of the spikes) and ``n_classes`` (the outputs of the network), when
    given, must match; ``axes`` names the dimensions for the messages.
    """
    targets = check_binary(targets, "targets", axes, kind="multi-hot")
    if n_samples is not None and targets.shape[0] != n_samples:
        raise ValueError(
            f"targets has {targets.shape[0]} samples but spikes has {n_samples}: "
            "they must have the same first dimension"
        )
    if n_classes is not None and targets.shape[1] != n_classes:
        raise ValueError(f"targets must have shape ({axes}) = ({targets.shape[0]}, {n_classes}), got {targets.shape}")
    return targets


def check_network(weights, spikes) -> tuple:
    """Both checks together: (weights, spikes) ready for a backend."""
    weights = check_weights(weights)
    return weights, check_spikes(spikes, weights[0].shape[1])
