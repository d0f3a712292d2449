"""Parameters of the VR-C-LIF neuron, and the one converter from Brian2 quantities to SI floats."""

from __future__ import annotations

import dataclasses
import math
from numbers import Real

import numpy as np
from brian2 import Quantity, get_dimensions, second, volt

__all__ = ["VRParams", "to_si"]


def to_si(value, unit, name: str) -> float:
    """Return ``value`` as a plain float in the SI unit of ``unit``.

    A Brian2 quantity must have the dimensions of ``unit``; a plain number is
    taken to be in SI already (seconds, volts). ``unit`` is a Brian2 unit, or 1
    for a dimensionless value.

    Raises
    ------
    TypeError
        If ``value`` is neither a number nor a Brian2 quantity.
    ValueError
        If the dimensions do not match, naming ``name``.
    """
    if isinstance(value, Quantity):
        if value.shape not in ((), (1,)):
            raise ValueError(f"{name} must be a scalar, got an array of shape {value.shape}")
        if value.dim is not get_dimensions(unit):
            raise ValueError(
                f"{name} must be in units of {unit!r}, got {value!r} (dimension {value.dim})"
            )
        return float(np.asarray(value).reshape(()))
    if isinstance(value, Real) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, np.ndarray) and value.shape == () and np.issubdtype(value.dtype, np.number):
        return float(value)
    raise TypeError(f"{name} must be a number or a Brian2 quantity in {unit!r}, got {value!r}")


_UNITS = {"tau_m": second, "tau_s": second, "v_thr": volt, "alpha": 1, "dt": second}


@dataclasses.dataclass(frozen=True)
class VRParams:
    r"""Parameters of the VR-C-LIF neuron (immutable).

    Quantities go in as Brian2 quantities (``tau_m=20*ms``) or as floats in SI
    units; they are stored as SI floats. ``R0`` is fixed at 1 (scaling it is the
    same as scaling the weights).

    Parameters
    ----------
    tau_m : Quantity or float
        Membrane time constant, seconds; ``tau_m > tau_s``.
    tau_s : Quantity or float
        Synaptic time constant, seconds; ``tau_s > 0``.
    v_thr : Quantity or float
        Firing threshold, volts; ``v_thr > 0``.
    alpha : float
        Variable-resistance coefficient, :math:`R(t) = 1 - \alpha U(t-1)/v_{thr}`;
        ``alpha = 0`` is the plain C-LIF neuron.
    dt : Quantity or float
        Time step of the iterative model, seconds; ``dt > 0``.

    Notes
    -----
    Derived once, here:

    .. math::

        \gamma_m = e^{-dt/\tau_m},\quad \gamma_s = e^{-dt/\tau_s},\quad
        f = \tau_m/\tau_s,\quad N_0 = \frac{f^{f/(f-1)}}{f-1},

    so that the peak of :math:`N_0 (e^{-t/\tau_m} - e^{-t/\tau_s})` is 1 and a
    weight ``w`` is the peak PSP amplitude in volts when ``alpha = 0``.

    Examples
    --------
    >>> from brian2 import ms, volt
    >>> p = VRParams(tau_m=20*ms, tau_s=5*ms, v_thr=1*volt, alpha=0.3, dt=1*ms)
    >>> round(p.N0, 6)
    2.116535
    """

    tau_m: float = 20e-3
    tau_s: float = 5e-3
    v_thr: float = 1.0
    alpha: float = 0.0
    dt: float = 1e-3

    def __post_init__(self):
        for field in dataclasses.fields(self):
            object.__setattr__(self, field.name, to_si(getattr(self, field.name), _UNITS[field.name], field.name))
        for name in ("tau_m", "tau_s", "v_thr", "alpha", "dt"):
            if not math.isfinite(getattr(self, name)):
                raise ValueError(f"{name} must be finite, got {getattr(self, name)}")
        if not self.tau_s > 0:
            raise ValueError(f"tau_s must be > 0, got {self.tau_s * second!r}")
        if not self.tau_m > self.tau_s:
            raise ValueError(
                f"tau_m must be > tau_s ({self.tau_s * second!r}), got {self.tau_m * second!r}"
            )
        if not self.dt > 0:
            raise ValueError(f"dt must be > 0, got {self.dt * second!r}")
        if not self.v_thr > 0:
            raise ValueError(f"v_thr must be > 0, got {self.v_thr * volt!r}")

    @property
    def gamma_m(self) -> float:
        """Per-step decay of the membrane traces Dm and Re, exp(-dt/tau_m)."""
        return math.exp(-self.dt / self.tau_m)

    @property
    def gamma_s(self) -> float:
        """Per-step decay of the synaptic trace Ds, exp(-dt/tau_s)."""
        return math.exp(-self.dt / self.tau_s)

    @property
    def N0(self) -> float:
        """Normalisation making the peak of the alpha = 0 PSP kernel equal 1 (eq. 2)."""
        f = self.tau_m / self.tau_s
        return f ** (f / (f - 1)) / (f - 1)

    def replace(self, **changes) -> "VRParams":
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def as_quantities(self) -> dict:
        """The parameters as Brian2 quantities, keyed by name."""
        return {"tau_m": self.tau_m * second, "tau_s": self.tau_s * second,
                "v_thr": self.v_thr * volt, "alpha": self.alpha, "dt": self.dt * second}

    def __repr__(self) -> str:
        return (f"VRParams(tau_m={self.tau_m * 1e3:g}*ms, tau_s={self.tau_s * 1e3:g}*ms, "
                f"v_thr={self.v_thr:g}*volt, alpha={self.alpha:g}, dt={self.dt * 1e3:g}*ms)")
