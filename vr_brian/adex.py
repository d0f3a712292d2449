r"""The adaptive exponential integrate-and-fire neuron (AdEx; Brette and Gerstner 2005) in Brian2.

Written in voltage units relative to rest (E_L = 0; a current I is replaced by R*I, the
adaptation current w by R*w), the form in which it takes the same synaptic input as the
reduced models:

.. math::

    \tau_m \frac{dV}{dt} = -V + \Delta_T e^{(V - V_T)/\Delta_T} - w + W_s\,s(t) + I_{ext},\qquad
    \tau_w \frac{dw}{dt} = a V - w,\qquad \tau_{syn}\frac{ds}{dt} = -s,

a spike when :math:`V > V_T + 5\Delta_T` (the cut of Brian2's AdEx examples), then
:math:`V \leftarrow V_r`, :math:`w \leftarrow w + b`. A presynaptic spike of weight ``w_i``
(dimensionless) adds ``w_i`` to s; ``W_s`` (volts) is the per-neuron weight scale.
``a`` is the subthreshold adaptation conductance relative to g_L (dimensionless), ``b``
the spike-triggered jump times R (volts).

For a constant input I (volts) and :math:`a < \tau_m/\tau_w` (the saddle-node case,
Touboul 2008), repetitive firing sets in at the rheobase

.. math::

    I_{rh} = (1 + a)\,\bigl(V_T - \Delta_T + \Delta_T \ln(1 + a)\bigr),

the input at which the steady-state curve :math:`(1+a)V - \Delta_T e^{(V-V_T)/\Delta_T}`
reaches its maximum.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from brian2 import NeuronGroup, ms, second, volt

from .params import to_si

__all__ = ["AdExParams", "BRETTE_GERSTNER_2005", "ADEX_EQUATIONS", "PARAMETER_UNITS", "adex_group", "rheobase"]

ADEX_EQUATIONS = """
dV/dt = (-V + DeltaT*exp(clip((V - VT)/DeltaT, -inf, 30)) - w + weight_scale*s + I_ext)/tau_m : volt
dw/dt = (a*V - w)/tau_w : volt
ds/dt = -s/tau_syn : 1
tau_m : second (constant)
tau_w : second (constant)
tau_syn : second (constant)
a : 1 (constant)
b : volt (constant)
VT : volt (constant)
DeltaT : volt (constant)
V_reset : volt (constant)
weight_scale : volt (constant)
I_ext : volt (constant)
"""
# clip: the exponential is evaluated only below the cut V_T + 5 Delta_T, so it never binds
# there; it keeps a candidate whose reset lies above its cut from overflowing.

THRESHOLD = "V > VT + 5*DeltaT"
RESET = "V = V_reset; w += b"

#: The unit of every AdEx parameter (1: dimensionless).
PARAMETER_UNITS = {
    "tau_m": second,
    "tau_w": second,
    "a": 1,
    "b": volt,
    "VT": volt,
    "DeltaT": volt,
    "V_reset": volt,
    "weight_scale": volt,
}


@dataclasses.dataclass(frozen=True)
class AdExParams:
    """AdEx parameters as SI floats (Brian2 quantities accepted), voltages relative to rest.

    Attributes
    ----------
    tau_m, tau_w : float
        Membrane (C/g_L) and adaptation time constants, seconds, > 0.
    a : float
        Subthreshold adaptation a/g_L, dimensionless.
    b : float
        Spike-triggered adaptation b/g_L, volts.
    VT, DeltaT : float
        Threshold slope factor's centre and width, volts; DeltaT > 0.
    V_reset : float
        Reset voltage, volts.
    weight_scale : float
        Volts per unit of synaptic current s (R times the current per unit weight).
    """

    tau_m: float = 9.37e-3
    tau_w: float = 144e-3
    a: float = 4.0 / 30.0
    b: float = 80.5e-12 / 30e-9
    VT: float = 20.2e-3
    DeltaT: float = 2e-3
    V_reset: float = 0.0
    weight_scale: float = 1e-3

    def __post_init__(self):
        for field in dataclasses.fields(self):
            value = to_si(getattr(self, field.name), PARAMETER_UNITS[field.name], field.name)
            if not math.isfinite(value):
                raise ValueError(f"{field.name} must be finite, got {value}")
            object.__setattr__(self, field.name, value)
        for name in ("tau_m", "tau_w", "DeltaT"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")

    def replace(self, **changes) -> AdExParams:
        return dataclasses.replace(self, **changes)


#: Brette and Gerstner (2005), their fit to a detailed conductance-based model: C = 281 pF,
#: g_L = 30 nS, E_L = -70.6 mV, V_T = -50.4 mV, Delta_T = 2 mV, tau_w = 144 ms, a = 4 nS,
#: b = 0.0805 nA, V_r = E_L; here relative to E_L and divided by g_L.
BRETTE_GERSTNER_2005 = AdExParams()


def rheobase(params: AdExParams) -> float:
    """Rheobase (volts of R*I) of the saddle-node case a < tau_m/tau_w; see the module docstring."""
    if not params.a < params.tau_m / params.tau_w:
        raise ValueError(
            f"the rheobase formula needs a < tau_m/tau_w = {params.tau_m / params.tau_w:g}, "
            f"got a = {params.a:g} (Hopf case)"
        )
    a, VT, DT = params.a, params.VT, params.DeltaT
    return (1 + a) * (VT - DT + DT * math.log(1 + a))


def adex_group(
    n: int, params: AdExParams, *, dt=0.05 * ms, tau_syn=5 * ms, I_ext=0 * volt, name: str = "adex*"
) -> NeuronGroup:
    """A NeuronGroup of ``n`` AdEx neurons at rest (V = w = s = 0), all with ``params``
    (per-neuron constants: set e.g. ``group.a`` to vary them). Forward Euler at ``dt``."""
    if int(n) < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    group = NeuronGroup(
        int(n),
        ADEX_EQUATIONS,
        threshold=THRESHOLD,
        reset=RESET,
        method="euler",
        dt=dt,
        name=name,
        namespace={"inf": np.inf},
    )
    for field in dataclasses.fields(params):
        setattr(group, field.name, getattr(params, field.name) * PARAMETER_UNITS[field.name])
    group.tau_syn = tau_syn
    group.I_ext = I_ext
    return group
