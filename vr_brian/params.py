"""Parameters of the VR-C-LIF neuron, and the one converter from Brian2 quantities to SI floats.

Nothing here imports Brian2 at import time: :func:`to_si` imports it only when it is handed a
Brian2 quantity (which means Brian2 is loaded already), so that the numeric code
(:mod:`gradients`) runs on plain arrays without loading Brian2.
"""

from __future__ import annotations

import dataclasses
import math
import re
import sys
from numbers import Real

import numpy as np

__all__ = ["VRParams", "to_si", "parse_quantity", "is_quantity", "VARIANTS", "DEFAULT_R_MAX"]


def is_quantity(value) -> bool:
    """Whether ``value`` is a Brian2 quantity (without importing Brian2: none exists before it is loaded)."""
    units = sys.modules.get("brian2.units.fundamentalunits")
    return units is not None and isinstance(value, units.Quantity)


def _unit(unit):
    """A Brian2 unit from a unit or its name (``"volt"``, ``"second"``); 1 stays 1 (dimensionless)."""
    if isinstance(unit, str):
        from brian2 import units

        return getattr(units, unit)
    return unit


def _dimensionless(unit) -> bool:
    return isinstance(unit, Real) or (not isinstance(unit, str) and unit.dim.is_dimensionless)


def _unit_name(unit) -> str:
    return unit if isinstance(unit, str) else repr(unit)


def to_si(value, unit, name: str, *, bare: bool = True, hint: str = "") -> float:
    """Return ``value`` as a plain float in the SI unit of ``unit``.

    A Brian2 quantity must have the dimensions of ``unit``; a plain number is
    taken to be in SI already (seconds, volts), unless ``bare`` is False and ``unit``
    has a dimension: then it is refused, naming the unit expected. ``unit`` is a Brian2
    unit, the name of one (``"volt"``, ``"second"``: no Brian2 import unless ``value`` is
    a quantity or a bare number is refused), or 1 for a dimensionless value. ``hint`` is added
    to the message refusing a bare number.

    Raises
    ------
    TypeError
        If ``value`` is neither a number nor a Brian2 quantity.
    ValueError
        If the dimensions do not match, naming ``name``.

    Examples
    --------
    >>> to_si(0.5, "volt", "q")
    0.5
    >>> from brian2 import mV
    >>> to_si(500*mV, "volt", "q")
    0.5
    """
    if is_quantity(value):
        from brian2 import get_dimensions

        if value.shape not in ((), (1,)):
            raise ValueError(f"{name} must be a scalar, got an array of shape {value.shape}")
        if value.dim is not get_dimensions(_unit(unit)):
            raise ValueError(f"{name} must be in units of {_unit_name(unit)}, got {value!r} (dimension {value.dim})")
        return float(np.asarray(value).reshape(()))
    number = (isinstance(value, Real) and not isinstance(value, bool)) or (
        isinstance(value, np.ndarray) and value.shape == () and np.issubdtype(value.dtype, np.number)
    )
    if number and not bare and not _dimensionless(unit):
        shown = _unit_name(unit)
        raise TypeError(
            f"{name} needs a Brian2 unit of {shown} (e.g. {float(value)!r}*{shown}), got the bare number {value!r}"
            + hint
        )
    if number:
        return float(value)
    raise TypeError(f"{name} must be a number or a Brian2 quantity in {_unit_name(unit)}, got {value!r}")


_NUMBER_UNIT = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*\*?\s*([A-Za-zµ0-9^/*]*)\s*$")


def unit_by_name(text: str, name: str):
    """The Brian2 unit written ``text`` ("mV", "nA", "Mohm", "um2"; "µ" as "u"), or raise naming ``name``."""
    from brian2.units.allunits import all_units

    text = text.strip().replace("µ", "u")
    for unit in all_units:
        if text in (unit.name, unit.dispname):
            return unit
    raise ValueError(f"{name}: unknown unit {text!r} (use Brian2's names, e.g. s, ms, V, mV, A, nA, ohm, Mohm)")


#: Base units :func:`parse_quantity` reads without Brian2 (symbol and name, as Brian2 writes them).
_LIGHT_BASES = {"s": "second", "second": "second", "V": "volt", "volt": "volt", "Hz": "hertz", "hertz": "hertz"}
#: SI prefixes of Brian2's unit names ("ms", "msecond", "uV"; "µ" is read as "u").
_LIGHT_PREFIXES = {"": 1.0, "k": 1e3, "m": 1e-3, "u": 1e-6, "n": 1e-9, "p": 1e-12}


def _light_unit(text: str, unit):
    """(SI factor, dimension name) of ``text`` when both it and ``unit`` are simple (``unit`` a name
    such as "second", ``text`` e.g. "ms" or "mvolt"), else None (then Brian2 reads it)."""
    if not text or not isinstance(unit, str) or unit not in _LIGHT_BASES.values():
        return None
    text = text.replace("µ", "u")
    for prefix, factor in _LIGHT_PREFIXES.items():
        base = text[len(prefix) :] if text.startswith(prefix) else None
        if base in _LIGHT_BASES and (prefix or base == text):
            return factor, _LIGHT_BASES[base]
    return None


#: How a number with a unit is written, for the messages of :func:`parse_quantity`.
_EXAMPLES = {
    "second": " (ms or s: '20ms', '0.02s')",
    "volt": " (V or mV: '1V', '500mV')",
    "hertz": " (Hz: '20Hz')",
    "amp": " (A, nA, pA: '0.5nA')",
}


def parse_quantity(text: str, unit, name: str, *, bare: bool = True) -> float:
    """Parse ``"20ms"``, ``"1 V"``, ``"-65*mV"`` or (if ``bare``) a bare SI number into an SI float.

    Parameters
    ----------
    text : str
    unit : brian2 Unit
        The expected dimension (``second``, ``volt``).
    name : str
        Named in errors.
    bare : bool
        Whether a number without a unit is accepted (as SI); if not, it is refused naming ``unit``.
    """
    match = _NUMBER_UNIT.match(str(text))
    if not match:
        raise ValueError(f"{name}: cannot read {text!r}; write a number with a unit, e.g. '20ms' or '-65 mV'")
    value, unit_name = float(match.group(1)), match.group(2)
    light = _light_unit(unit_name, unit)
    if light is not None:  # a common unit of a dimension named by a string: no need to load Brian2
        factor, dimension = light
        if dimension != unit:
            raise ValueError(f"{name} must be in units of {unit}, got {str(text).strip()!r} (a unit of {dimension})")
        return value * factor
    if not unit_name:
        if not bare and not _dimensionless(unit):
            examples = _EXAMPLES.get(_unit_name(unit), "")
            raise ValueError(
                f"{name} needs a Brian2 unit of {_unit_name(unit)}{examples}, got the bare number {str(text).strip()!r}"
            )
        return to_si(value, unit, name, bare=bare)
    return to_si(value * unit_by_name(unit_name, name), unit, name)


def _shown(value: float, unit: str) -> str:
    """``value`` (SI) as Brian2 shows it in that unit (``5. * msecond``), for the messages of errors."""
    return repr(value * _unit(unit))


class _SI(float):
    """A float known to be in SI units (the defaults, :meth:`VRParams.from_si`): taken without a unit."""

    __slots__ = ()


_UNITS = {
    "tau_m": "second",
    "tau_s": "second",
    "v_thr": "volt",
    "alpha": 1,
    "dt": "second",
    "r_max": 1,
    "e_inh": "volt",
}

#: Forms of the variable resistance. "paper" is the paper's model, R(t) = 1 - alpha U(t-1)/v_thr for
#: every input; the others are named, opt-in variants that bound the runaway (MODEL.md):
#: "bounded" clips R(t) to [0, r_max]; "split" gives inhibitory input (w < 0) its own reversal
#: potential e_inh, R_inh(t) = 1 - U(t-1)/e_inh, so that inhibition saturates there.
VARIANTS = ("paper", "bounded", "split")

#: r_max of the "bounded" variant when none is given: inhibition is amplified at most twice, the
#: value R reaches at U = -v_thr/alpha, the mirror image of where it reaches 0.
DEFAULT_R_MAX = 2.0


@dataclasses.dataclass(frozen=True)
class VRParams:
    r"""Parameters of the VR-C-LIF neuron (immutable).

    Dimensional parameters go in as Brian2 quantities (``tau_m=20*ms``); a bare number is
    refused with the unit it needs (``tau_m=20`` would be ambiguous: 20 s or 20 ms). Code that
    holds plain SI floats (seconds, volts: checkpoints, array code without Brian2) says so with
    :meth:`from_si`. The values are stored as SI floats. ``R0`` is fixed at 1 (scaling it is the
    same as scaling the weights).

    Parameters
    ----------
    tau_m : Quantity
        Membrane time constant (time); ``tau_m > tau_s``.
    tau_s : Quantity
        Synaptic time constant (time); ``tau_s > 0``.
    v_thr : Quantity
        Firing threshold (voltage); ``v_thr > 0``.
    alpha : float
        Variable-resistance coefficient, :math:`R(t) = 1 - \alpha U(t-1)/v_{thr}`;
        ``alpha = 0`` is the plain C-LIF neuron.
    dt : Quantity
        Time step of the iterative model (time); ``dt > 0``.
    variant : {"paper", "bounded", "split"}
        Form of the variable resistance (:data:`VARIANTS`). ``"paper"`` (default) is the
        paper's model. ``"bounded"``: :math:`R(t) = \mathrm{clip}(1 - \alpha U(t-1)/v_{thr}, 0, r_{max})`.
        ``"split"``: excitatory input (w > 0) sees the paper's R, inhibitory input (w < 0)
        :math:`R_{inh}(t) = 1 - U(t-1)/e_{inh}`, a reversal potential of its own.
    r_max : float, optional
        Upper bound of R for ``variant="bounded"`` (>= 1; default :data:`DEFAULT_R_MAX`); only
        with that variant.
    e_inh : Quantity, optional
        Reversal potential of inhibitory input for ``variant="split"`` (voltage), < 0; default
        ``-v_thr/alpha`` (which needs alpha >= 0; at alpha = 0 inhibition is then current-based
        like excitation). Only with that variant.

    Notes
    -----
    Derived once, here:

    .. math::

        \gamma_m = e^{-dt/\tau_m},\quad \gamma_s = e^{-dt/\tau_s},\quad
        f = \tau_m/\tau_s,\quad N_0 = \frac{f^{f/(f-1)}}{f-1},

    so that the peak of :math:`N_0 (e^{-t/\tau_m} - e^{-t/\tau_s})` is 1 and a
    weight ``w`` is the peak PSP amplitude in volts when ``alpha = 0``.

    Read as a conductance, :math:`R = (E - U)/E` with :math:`E = v_{thr}/\alpha`: every input
    has the one reversal potential :math:`E`, and an inhibitory weight is a negative conductance
    whose driving force grows without bound as U falls (the runaway of MODEL.md). The
    ``"split"`` variant gives inhibition the reversal :math:`e_{inh}` instead, with a positive
    conductance :math:`|w|`; ``"bounded"`` caps the driving force.

    Examples
    --------
    >>> from brian2 import ms, volt
    >>> p = VRParams(tau_m=20*ms, tau_s=5*ms, v_thr=1*volt, alpha=0.3, dt=1*ms)
    >>> round(p.N0, 6)
    2.116535
    >>> VRParams.from_si(tau_m=0.02, dt=1e-3) == VRParams(tau_m=20*ms, dt=1*ms)
    True
    """

    tau_m: float = _SI(20e-3)
    tau_s: float = _SI(5e-3)
    v_thr: float = _SI(1.0)
    alpha: float = 0.0
    dt: float = _SI(1e-3)
    variant: str = "paper"
    r_max: float | None = None
    e_inh: float | None = None

    def __post_init__(self):
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if field.name in _UNITS and value is not None:
                si = isinstance(value, _SI)
                hint = f"; for a value in SI units use VRParams.from_si({field.name}={value!r})"
                object.__setattr__(self, field.name, to_si(value, _UNITS[field.name], field.name, bare=si, hint=hint))
        for name in ("tau_m", "tau_s", "v_thr", "alpha", "dt"):
            if not math.isfinite(getattr(self, name)):
                raise ValueError(f"{name} must be finite, got {getattr(self, name)}")
        self._check_variant()
        if not self.tau_s > 0:
            raise ValueError(f"tau_s must be > 0, got {_shown(self.tau_s, 'second')}")
        if not self.tau_m > self.tau_s:
            raise ValueError(
                f"tau_m must be > tau_s ({_shown(self.tau_s, 'second')}), got {_shown(self.tau_m, 'second')}"
            )
        if not self.dt > 0:
            raise ValueError(f"dt must be > 0, got {_shown(self.dt, 'second')}")
        if not self.v_thr > 0:
            raise ValueError(f"v_thr must be > 0, got {_shown(self.v_thr, 'volt')}")

    def _check_variant(self):
        if self.variant not in VARIANTS:
            raise ValueError(f"variant must be one of {VARIANTS}, got {self.variant!r}")
        if self.r_max is not None and self.variant != "bounded":
            raise ValueError(
                f"r_max bounds R in variant='bounded' only, got r_max={self.r_max!r} with variant={self.variant!r}"
            )
        if self.e_inh is not None and self.variant != "split":
            raise ValueError(
                f"e_inh is the inhibitory reversal of variant='split' only, got e_inh={self.e_inh!r} V "
                f"with variant={self.variant!r}"
            )
        if self.variant == "bounded":
            if self.r_max is None:
                object.__setattr__(self, "r_max", DEFAULT_R_MAX)
            if not (math.isfinite(self.r_max) and self.r_max >= 1):
                raise ValueError(f"r_max must be a finite number >= 1 (R is 1 at rest), got {self.r_max!r}")
        if self.variant == "split":
            if self.e_inh is None and self.alpha < 0:
                raise ValueError(
                    f"variant='split' with alpha={self.alpha:g} < 0 needs an explicit e_inh < 0 (the "
                    f"default -v_thr/alpha would lie above rest)"
                )
            if self.e_inh is not None and not (self.e_inh < 0 and not math.isnan(self.e_inh)):
                raise ValueError(f"e_inh must be a voltage < 0 (below rest), got {self.e_inh!r} V")

    @property
    def k_exc(self) -> float:
        """alpha / v_thr (1/V): R(t) = 1 - k_exc U(t-1) for excitatory input (every input, but in "split")."""
        return self.alpha / self.v_thr

    @property
    def k_inh(self) -> float:
        """The slope of R for inhibitory input (1/V): k_exc, but 1/e_inh in variant "split"."""
        if self.variant != "split":
            return self.k_exc
        return 1.0 / self.inhibitory_reversal

    @property
    def inhibitory_reversal(self) -> float:
        """e_inh of variant "split" in volts (-v_thr/alpha by default; -inf at alpha = 0)."""
        if self.e_inh is not None:
            return self.e_inh
        return -self.v_thr / self.alpha if self.alpha > 0 else -math.inf

    @property
    def resistive(self) -> bool:
        """Whether R(t) differs from 1 anywhere (alpha != 0, or a split reversal of its own)."""
        return self.k_exc != 0 or self.k_inh != 0

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

    @classmethod
    def from_si(cls, **values) -> VRParams:
        """The parameters from plain floats in SI units (seconds, volts), as arrays and files hold them.

        Takes the keyword arguments of :class:`VRParams`; a Brian2 quantity is checked as there.
        """
        return cls(**{name: _mark_si(value) if name in _UNITS else value for name, value in values.items()})

    def replace(self, **changes) -> VRParams:
        """A copy with some fields changed (validated again; dimensional ones need their unit)."""
        kept = {f.name: _mark_si(getattr(self, f.name)) for f in dataclasses.fields(self) if f.name not in changes}
        return VRParams(**kept, **changes)

    def as_quantities(self) -> dict:
        """The parameters as Brian2 quantities, keyed by name (the variant's own ones if it has any)."""
        from brian2 import second, volt

        quantities = {
            "tau_m": self.tau_m * second,
            "tau_s": self.tau_s * second,
            "v_thr": self.v_thr * volt,
            "alpha": self.alpha,
            "dt": self.dt * second,
        }
        if self.variant != "paper":
            quantities["variant"] = self.variant
        if self.r_max is not None:
            quantities["r_max"] = self.r_max
        if self.e_inh is not None:
            quantities["e_inh"] = self.e_inh * volt
        return quantities

    def __repr__(self) -> str:
        variant = "" if self.variant == "paper" else f", variant={self.variant!r}"
        if self.r_max is not None:
            variant += f", r_max={self.r_max:g}"
        if self.e_inh is not None:
            variant += f", e_inh={self.e_inh:g}*volt"
        return (
            f"VRParams(tau_m={self.tau_m * 1e3:g}*ms, tau_s={self.tau_s * 1e3:g}*ms, "
            f"v_thr={self.v_thr:g}*volt, alpha={self.alpha:g}, dt={self.dt * 1e3:g}*ms{variant})"
        )


def _mark_si(value):
    """``value`` marked as SI if it is a plain real number (anything else is checked as given)."""
    if isinstance(value, Real) and not isinstance(value, bool) and not is_quantity(value):
        return _SI(value)
    return value
