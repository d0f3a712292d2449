r"""Hodgkin-Huxley neurons in Brian2, driven by the synaptic input of the reduced models or by an
injected current.

Three conductance-based references, per unit membrane area (C = 1 uF/cm^2):

- :data:`SQUID`: the squid giant axon of Hodgkin and Huxley (1952) at 6.3 degC, in the
  modern sign convention (rest near -65 mV; Dayan and Abbott 2001, ch. 5.6; Gerstner et
  al., *Neuronal Dynamics* 2014, table 2.1): g_Na = 120, g_K = 36, g_L = 0.3 mS/cm^2,
  E_Na = 50, E_K = -77, E_L = -54.387 mV.
- :data:`TRAUB_MILES`: the cortical variant of Traub and Miles (1991) used by Brian2's
  COBAHH example and the benchmark of Brette et al. (2007): g_Na = 100, g_Kd = 30,
  g_L = 0.05 mS/cm^2, E_Na = 50, E_K = -90, E_L = -60 mV, V_T = -63 mV. With these
  parameters and no input the neuron has no resting state: its steady-state current is
  net inward (at least ~0.2 uA/cm^2) everywhere from -90 to -35 mV, and it fires tonically at
  ~14 Hz (in COBAHH the network's inhibitory conductance keeps it quiet). A holding
  current of -0.5 uA/cm^2, part of this model's definition here, gives it a stable rest
  at -70 mV (E_L + I_hold/g_L, the window currents being negligible there).
- :data:`WANG_BUZSAKI`: the hippocampal interneuron of Wang and Buzsaki (1996, J. Neurosci.
  16:6402), class I: g_Na = 35, g_K = 9, g_L = 0.1 mS/cm^2, E_Na = 55, E_K = -90, E_L = -65 mV,
  instantaneous sodium activation m = m_inf(v), h and n kinetics sped up by phi = 5.

An injected current (:class:`CurrentInput`, amperes) enters through a membrane of ``area``
(default 20000 um^2, the patch of Brian2's COBAHH example and of Brette et al. 2007).

Input is current-based, as in the reduced models: every presynaptic spike of weight
``w`` (dimensionless) adds ``w*J`` to an exponentially decaying current density,

.. math::

    \tau_{syn} \frac{dI_{syn}}{dt} = -I_{syn},\qquad I_{syn} \leftarrow I_{syn} + w J,

so that, through the membrane's own time constant, a PSP has the two-time-constant shape
:math:`e^{-t/\tau_m} - e^{-t/\tau_s}` of the VR-C-LIF kernel (``tau_syn`` plays ``tau_s``).
``J`` (A/m^2) is a per-neuron constant, so one group holds neurons with different drive.

The equations are integrated by rk4 (see :func:`hh_group`). Spikes are upward crossings of -20
mV (``threshold``, with ``refractory`` holding while the voltage stays above it). Voltages are
returned relative to the model's resting potential, the coordinate the reduced models use.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from brian2 import (
    Equations,
    Network,
    NeuronGroup,
    Quantity,
    SpikeGeneratorGroup,
    SpikeMonitor,
    StateMonitor,
    Synapses,
    TimedArray,
    amp,
    cm,
    meter,
    ms,
    msiemens,
    mV,
    second,
    uA,
    ufarad,
    umetre,
)

from .params import to_si
from .spike_metrics import Recording

__all__ = [
    "HHModel",
    "SQUID",
    "TRAUB_MILES",
    "WANG_BUZSAKI",
    "HH_MODELS",
    "SynapticInput",
    "CurrentInput",
    "poisson_input",
    "ou_current",
    "hh_group",
    "run_hh",
    "resting_potential",
    "steady_state_current",
    "input_resistance",
    "measure_input_resistance",
    "AREA",
]


@dataclasses.dataclass(frozen=True)
class HHModel:
    """A Hodgkin-Huxley model: ionic current, gating kinetics and constants (Brian2 syntax).

    Attributes
    ----------
    name : str
        Short name (``"squid"``, ``"traub_miles"``).
    ionic : str
        Equations of the gates and of ``I_ion`` (A/m^2, inward positive) in terms of ``v``.
    namespace : dict
        The constants the equations use, as Brian2 quantities.
    gates : tuple of str
        Names of the gating variables that are state variables (a gate whose rates are in
        ``namespace`` but which is not listed here is instantaneous, at its steady state).
    I_hold : Quantity
        Holding current density (A/m^2) always injected; part of the model's definition.
    description : str
        One line for tables and figures.
    """

    name: str
    ionic: str
    namespace: dict
    gates: tuple
    description: str
    I_hold: Quantity = dataclasses.field(default_factory=lambda: 0 * uA / cm**2)

    def steady_state(self, v) -> dict:
        """Steady-state values of every gate (m, h, n) at voltage(s) ``v`` (volts), from the rate functions."""
        v = np.asarray(v / mV if hasattr(v, "dim") else np.asarray(v) * 1e3, float)
        out = {}
        for gate in (g for g in "mhn" if f"_alpha_{g}" in self.namespace):
            a = self.namespace[f"_alpha_{gate}"](v)
            b = self.namespace[f"_beta_{gate}"](v)
            out[gate] = a / (a + b)
        return out


def _exprel(x):
    x = np.asarray(x, float)
    small = np.abs(x) < 1e-6
    return np.where(small, 1 + x / 2, np.expm1(np.where(small, 1.0, x)) / np.where(small, 1.0, x))


# Sodium, potassium and leak currents with m, h, n gates: shared by both variants, which differ in
# their rate functions and constants.
_GATED_CURRENTS = """
    I_ion = gNa*m**3*h*(ENa - v) + gK*n**4*(EK - v) + gL*(EL - v) : amp/meter**2
    dm/dt = alpha_m*(1 - m) - beta_m*m : 1
    dh/dt = alpha_h*(1 - h) - beta_h*h : 1
    dn/dt = alpha_n*(1 - n) - beta_n*n : 1
"""

# Rate functions in 1/ms of v in mV, once in Brian2 syntax and once in numpy (for the steady
# state used by initial conditions and resting_potential). x/(1-exp(-x/k)) is written with
# exprel, which is finite at the removable singularity.

SQUID = HHModel(
    name="squid",
    ionic=_GATED_CURRENTS
    + """
    alpha_m = 1/exprel(-(v/mV + 40)/10)/ms : Hz
    beta_m = 4*exp(-(v/mV + 65)/18)/ms : Hz
    alpha_h = 0.07*exp(-(v/mV + 65)/20)/ms : Hz
    beta_h = 1/(1 + exp(-(v/mV + 35)/10))/ms : Hz
    alpha_n = 0.1/exprel(-(v/mV + 55)/10)/ms : Hz
    beta_n = 0.125*exp(-(v/mV + 65)/80)/ms : Hz
    """,
    namespace={
        "Cm": 1 * ufarad / cm**2,
        "gNa": 120 * msiemens / cm**2,
        "gK": 36 * msiemens / cm**2,
        "gL": 0.3 * msiemens / cm**2,
        "ENa": 50 * mV,
        "EK": -77 * mV,
        "EL": -54.387 * mV,
        "_alpha_m": lambda v: 1 / _exprel(-(v + 40) / 10),
        "_beta_m": lambda v: 4 * np.exp(-(v + 65) / 18),
        "_alpha_h": lambda v: 0.07 * np.exp(-(v + 65) / 20),
        "_beta_h": lambda v: 1 / (1 + np.exp(-(v + 35) / 10)),
        "_alpha_n": lambda v: 0.1 / _exprel(-(v + 55) / 10),
        "_beta_n": lambda v: 0.125 * np.exp(-(v + 65) / 80),
    },
    gates=("m", "h", "n"),
    description="Hodgkin-Huxley 1952 squid axon, 6.3 degC",
)

TRAUB_MILES = HHModel(
    name="traub_miles",
    ionic=_GATED_CURRENTS
    + """
    alpha_m = 1.28/exprel((13*mV - v + VT)/(4*mV))/ms : Hz
    beta_m = 1.4/exprel((v - VT - 40*mV)/(5*mV))/ms : Hz
    alpha_h = 0.128*exp((17*mV - v + VT)/(18*mV))/ms : Hz
    beta_h = 4/(1 + exp((40*mV - v + VT)/(5*mV)))/ms : Hz
    alpha_n = 0.16/exprel((15*mV - v + VT)/(5*mV))/ms : Hz
    beta_n = 0.5*exp((10*mV - v + VT)/(40*mV))/ms : Hz
    """,
    namespace={
        "Cm": 1 * ufarad / cm**2,
        "gNa": 100 * msiemens / cm**2,
        "gK": 30 * msiemens / cm**2,
        "gL": 0.05 * msiemens / cm**2,
        "ENa": 50 * mV,
        "EK": -90 * mV,
        "EL": -60 * mV,
        "VT": -63 * mV,
        "_alpha_m": lambda v: 1.28 / _exprel((13 - v - 63) / 4),
        "_beta_m": lambda v: 1.4 / _exprel((v + 63 - 40) / 5),
        "_alpha_h": lambda v: 0.128 * np.exp((17 - v - 63) / 18),
        "_beta_h": lambda v: 4 / (1 + np.exp((40 - v - 63) / 5)),
        "_alpha_n": lambda v: 0.16 / _exprel((15 - v - 63) / 5),
        "_beta_n": lambda v: 0.5 * np.exp((10 - v - 63) / 40),
    },
    gates=("m", "h", "n"),
    description="Traub-Miles cortical HH (Brian2 COBAHH), -0.5 uA/cm^2 holding current",
    I_hold=-0.5 * uA / cm**2,
)

_PHI = 5.0  # Wang-Buzsaki's speed-up of the h and n kinetics


def _instantaneous(currents: str, gate: str) -> str:
    """``currents`` with the kinetic equation of ``gate`` replaced by its steady state."""
    kinetic = f"d{gate}/dt = alpha_{gate}*(1 - {gate}) - beta_{gate}*{gate} : 1"
    if kinetic not in currents:
        raise ValueError(f"no kinetic equation of {gate} in the currents")
    return currents.replace(kinetic, f"{gate} = alpha_{gate}/(alpha_{gate} + beta_{gate}) : 1")


WANG_BUZSAKI = HHModel(
    name="wang_buzsaki",
    ionic=_instantaneous(_GATED_CURRENTS, "m")
    + """
    alpha_m = 1/exprel(-(v/mV + 35)/10)/ms : Hz
    beta_m = 4*exp(-(v/mV + 60)/18)/ms : Hz
    alpha_h = phi*0.07*exp(-(v/mV + 58)/20)/ms : Hz
    beta_h = phi/(1 + exp(-(v/mV + 28)/10))/ms : Hz
    alpha_n = phi*0.1/exprel(-(v/mV + 34)/10)/ms : Hz
    beta_n = phi*0.125*exp(-(v/mV + 44)/80)/ms : Hz
    """,
    namespace={
        "Cm": 1 * ufarad / cm**2,
        "gNa": 35 * msiemens / cm**2,
        "gK": 9 * msiemens / cm**2,
        "gL": 0.1 * msiemens / cm**2,
        "ENa": 55 * mV,
        "EK": -90 * mV,
        "EL": -65 * mV,
        "phi": _PHI,
        "_alpha_m": lambda v: 1 / _exprel(-(v + 35) / 10),
        "_beta_m": lambda v: 4 * np.exp(-(v + 60) / 18),
        "_alpha_h": lambda v: _PHI * 0.07 * np.exp(-(v + 58) / 20),
        "_beta_h": lambda v: _PHI / (1 + np.exp(-(v + 28) / 10)),
        "_alpha_n": lambda v: _PHI * 0.1 / _exprel(-(v + 34) / 10),
        "_beta_n": lambda v: _PHI * 0.125 * np.exp(-(v + 44) / 80),
    },
    gates=("h", "n"),
    description="Wang-Buzsaki 1996 hippocampal interneuron",
)

HH_MODELS = {model.name: model for model in (SQUID, TRAUB_MILES, WANG_BUZSAKI)}

#: Membrane area through which an injected current (amperes) enters: 20000 um^2, as in Brian2's
#: COBAHH example (Brette et al. 2007).
AREA = 20000 * umetre**2

_MEMBRANE = """
dv/dt = (I_ion + I_syn + I_ext + I_inj)/Cm : volt
dI_syn/dt = -I_syn/tau_syn : amp/meter**2
I_ext : amp/meter**2 (constant)
J : amp/meter**2 (constant)
tau_syn : second (constant)
"""

THRESHOLD = "v > -20*mV"
REFRACTORY = "v > -20*mV"


def steady_state_current(model: HHModel, v) -> np.ndarray:
    """Inward steady-state current density (A/m^2) at voltage(s) ``v`` (volts): I_ion with every
    gate at its steady state, plus the holding current. An injected current -I holds the
    neuron at v (numpy, from the rate functions, independent of the Brian2 equations)."""
    ns = {k: (float(x) if hasattr(x, "dim") else x) for k, x in model.namespace.items()}  # SI floats
    v = np.asarray(v, float)
    s = model.steady_state(v)
    return (
        ns["gNa"] * s["m"] ** 3 * s["h"] * (ns["ENa"] - v)
        + ns["gK"] * s["n"] ** 4 * (ns["EK"] - v)
        + ns["gL"] * (ns["EL"] - v)
        + float(model.I_hold)
    )


def input_resistance(model: HHModel, v, area=None) -> np.ndarray:
    """Steady-state input resistance (ohm, or ohm*m^2 without ``area``) at holding voltage(s) ``v``
    (volts): the inverse slope of the steady-state I-V curve, 1/(d I_injected/dv), by central
    differences of :func:`steady_state_current` (step 1 uV). Negative where the slope is negative
    (no stable state there), infinite at a saddle-node."""
    h = 1e-6
    v = np.asarray(v, float)
    slope = -(steady_state_current(model, v + h) - steady_state_current(model, v - h)) / (2 * h)  # S/m^2
    area_m2 = 1.0 if area is None else to_si(area, meter**2, "area")
    with np.errstate(divide="ignore"):
        return 1.0 / (slope * area_m2)


def resting_potential(model: HHModel) -> float:
    """Resting potential (volts): the lowest stable zero of the steady-state current
    :func:`steady_state_current` (numpy, independent of the Brian2 equations' solver)."""
    from scipy.optimize import brentq

    def current(v_mV):
        return float(steady_state_current(model, v_mV * 1e-3))

    grid = np.arange(-100.0, -30.0, 0.25)
    values = steady_state_current(model, grid * 1e-3)
    # a stable rest is a zero where the inward current falls as v rises (restoring)
    stable = np.nonzero((values[:-1] > 0) & (values[1:] <= 0))[0]
    if not len(stable):
        raise ValueError(f"{model.name}: no stable resting state between -100 and -30 mV")
    k = stable[0]
    return brentq(current, grid[k], grid[k + 1], xtol=1e-9) * 1e-3


def hh_group(
    n: int,
    model: HHModel,
    *,
    dt=0.025 * ms,
    tau_syn=5 * ms,
    J=0 * uA / cm**2,
    I_ext=0 * uA / cm**2,
    injected=None,
    name: str = "hh*",
) -> NeuronGroup:
    """A NeuronGroup of ``n`` HH neurons of ``model`` with exponential synaptic current, starting
    at :func:`resting_potential` with every gate at its steady state there.

    Parameters
    ----------
    n : int
        Number of neurons.
    model : HHModel
        One of :data:`HH_MODELS`.
    dt : Quantity
        Integration step of the classical Runge-Kutta method (rk4). At 0.025 ms it is converged
        (spike times within 0.02 ms of rk4 at 0.005 ms over 100 ms of tonic firing, all three
        models); exponential Euler at the same step drifts by 1-5 ms over that time, most for
        Wang-Buzsaki, whose instantaneous m_inf(v) makes the voltage equation nonlinear in v.
    tau_syn : Quantity
        Decay of the synaptic current.
    J, I_ext : Quantity or array
        Synaptic current density per unit weight, and a constant injected current density
        (A/m^2, per neuron or scalar) added to the model's holding current.
    injected : TimedArray, optional
        A time-varying injected current density (A/m^2), values (steps, n): neuron ``i``
        receives ``injected(t, i)``.
    """
    if int(n) < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    if not isinstance(model, HHModel):
        raise TypeError(f"model must be an HHModel (one of {sorted(HH_MODELS)}), got {model!r}")
    namespace = {k: v for k, v in model.namespace.items() if not k.startswith("_")}
    if injected is None:
        injection = Equations("I_inj = 0*amp/meter**2 : amp/meter**2")
    else:
        injection = Equations("I_inj = injected(t, i) : amp/meter**2")
        namespace["injected"] = injected
    group = NeuronGroup(
        int(n),
        Equations(_MEMBRANE) + Equations(model.ionic) + injection,
        threshold=THRESHOLD,
        refractory=REFRACTORY,
        method="rk4",
        dt=dt,
        namespace=namespace,
        name=name,
    )
    v_rest = resting_potential(model)
    group.v = v_rest * 1e3 * mV
    steady = model.steady_state(v_rest)
    for gate in model.gates:
        setattr(group, gate, float(steady[gate]))
    group.tau_syn = tau_syn
    group.J = J
    group.I_ext = I_ext + model.I_hold
    return group


@dataclasses.dataclass(frozen=True)
class SynapticInput:
    """Presynaptic spike trains and their weights, shared by every model of a comparison.

    Attributes
    ----------
    indices, times : ndarray
        Spike ``k`` is fired by input ``indices[k]`` at ``times[k]`` seconds; times lie on a
        grid of step ``grid`` (so every model's time step that divides it sees them exactly).
    weights : ndarray
        (n_inputs,) dimensionless weights; a model scales them by its own per-neuron factor.
    duration : float
        Seconds.
    grid : float
        Step of the time grid, seconds.
    """

    indices: np.ndarray
    times: np.ndarray
    weights: np.ndarray
    duration: float
    grid: float

    @property
    def n_inputs(self) -> int:
        return len(self.weights)

    def generator(self, dt=None, name: str = "inputs*") -> SpikeGeneratorGroup:
        """A SpikeGeneratorGroup firing these trains, with clock step ``dt`` (default: the grid)."""
        return SpikeGeneratorGroup(
            self.n_inputs, self.indices, self.times * second, dt=(self.grid * second if dt is None else dt), name=name
        )


def poisson_input(
    n_exc: int = 160,
    n_inh: int = 40,
    rate=10.0,
    duration=2 * second,
    *,
    w_inh: float = 2.0,
    grid=0.1 * ms,
    seed: int = 0,
) -> SynapticInput:
    """Independent Poisson trains on a time grid: ``n_exc`` excitatory inputs of weight 1 and
    ``n_inh`` inhibitory inputs of weight ``-w_inh``, at ``rate`` Hz each (at most one spike
    per input per grid step; the probability per step is rate*grid)."""
    rate = to_si(rate, 1 / second, "rate")
    duration, grid = to_si(duration, second, "duration"), to_si(grid, second, "grid")
    if n_exc < 0 or n_inh < 0 or n_exc + n_inh < 1:
        raise ValueError(f"n_exc and n_inh must be >= 0 with at least one input, got {n_exc}, {n_inh}")
    if not 0 <= rate * grid < 1:
        raise ValueError(f"rate*grid must lie in [0, 1), got {rate * grid}")
    if not duration > 0 or not grid > 0:
        raise ValueError(f"duration and grid must be > 0 s, got {duration}, {grid}")
    rng = np.random.default_rng(seed)
    steps = int(round(duration / grid))
    fired = rng.random((steps, n_exc + n_inh)) < rate * grid
    step, index = np.nonzero(fired)
    weights = np.concatenate([np.ones(n_exc), -w_inh * np.ones(n_inh)])
    return SynapticInput(
        indices=index.astype(np.int64), times=step * grid, weights=weights, duration=steps * grid, grid=grid
    )


@dataclasses.dataclass(frozen=True)
class CurrentInput:
    """An injected current on a time grid, piecewise constant: sample ``k`` (amperes) holds on
    [k*grid, (k+1)*grid).

    Attributes
    ----------
    current : ndarray
        (steps,) amperes.
    grid : float
        Step of the time grid, seconds.
    """

    current: np.ndarray
    grid: float

    def __post_init__(self):
        current = np.asarray(self.current, float)
        if current.ndim != 1 or len(current) < 1:
            raise ValueError(f"current must be a non-empty 1-D array, got shape {current.shape}")
        if not np.all(np.isfinite(current)):
            raise ValueError("current contains NaN or infinite values")
        if not float(self.grid) > 0:
            raise ValueError(f"grid must be > 0 s, got {self.grid}")
        object.__setattr__(self, "current", current)
        object.__setattr__(self, "grid", float(self.grid))

    @property
    def duration(self) -> float:
        return len(self.current) * self.grid

    def window(self, start: int, stop: int) -> CurrentInput:
        """Samples ``start`` to ``stop`` (indices of the grid)."""
        return CurrentInput(self.current[start:stop], self.grid)


def ou_current(mean, sd, tau=5 * ms, duration=1 * second, *, grid=0.1 * ms, seed: int = 0) -> CurrentInput:
    """An Ornstein-Uhlenbeck current: mean ``mean``, stationary standard deviation ``sd``,
    correlation time ``tau``, sampled every ``grid`` by its exact update
    x_{k+1} = mean + (x_k - mean) e^{-grid/tau} + sd sqrt(1 - e^{-2 grid/tau}) xi_k, starting
    from its stationary distribution. ``mean`` and ``sd`` need units of current."""
    mean, sd = to_si(mean, amp, "mean", bare=False), to_si(sd, amp, "sd", bare=False)
    tau, duration = to_si(tau, second, "tau", bare=False), to_si(duration, second, "duration", bare=False)
    grid = to_si(grid, second, "grid", bare=False)
    if not sd >= 0:
        raise ValueError(f"sd must be >= 0 A, got {sd}")
    if not (tau > 0 and duration > 0 and grid > 0):
        raise ValueError(f"tau, duration and grid must be > 0 s, got {tau}, {duration}, {grid}")
    steps = int(round(duration / grid))
    if steps < 1:
        raise ValueError(f"duration ({duration} s) must hold at least one grid step ({grid} s)")
    rng = np.random.default_rng(seed)
    decay = np.exp(-grid / tau)
    kicks = sd * np.sqrt(1 - decay**2) * rng.standard_normal(steps)
    kicks[0] = sd * rng.standard_normal()
    from scipy.signal import lfilter

    return CurrentInput(mean + lfilter([1.0], [1.0, -decay], kicks), grid)


def run_hh(
    model: HHModel,
    inputs,
    J=None,
    *,
    dt=0.025 * ms,
    record_dt=0.1 * ms,
    tau_syn=5 * ms,
    area=AREA,
    target: str = "numpy",
) -> Recording:
    """Simulate one HH neuron per input in ``inputs`` (one Brian2 run), each driven by its own input.

    Parameters
    ----------
    model : HHModel
    inputs : SynapticInput, CurrentInput or a sequence of either kind
        All of the same duration (and input count).
    J : Quantity
        Synaptic current density per unit weight (A/m^2); SynapticInput only.
    dt, record_dt : Quantity
        Integration step, and the sampling step of the returned voltage (a multiple of dt). A
        CurrentInput's grid must be a multiple of dt.
    tau_syn : Quantity
        Synaptic current decay.
    area : Quantity
        Membrane area through which a CurrentInput enters.
    target : {"numpy", "cython", "cpp_standalone"}
        Brian2 code-generation target.

    Returns
    -------
    Recording
        Voltages relative to the resting potential, sampled every ``record_dt``; spike times.
    """
    from .standalone import run_network

    inputs = [inputs] if isinstance(inputs, (SynapticInput, CurrentInput)) else list(inputs)
    kind = type(inputs[0]) if inputs else None
    if kind not in (SynapticInput, CurrentInput) or any(type(x) is not kind for x in inputs):
        raise ValueError("inputs must be one or more SynapticInput, or one or more CurrentInput")
    if any(abs(x.duration - inputs[0].duration) > 1e-12 for x in inputs) or (
        kind is SynapticInput and any(x.n_inputs != inputs[0].n_inputs for x in inputs)
    ):
        raise ValueError("inputs must share their duration (and number of input trains)")
    dt_s, record_s = to_si(dt, second, "dt"), to_si(record_dt, second, "record_dt")
    ratio = record_s / dt_s
    if abs(ratio - round(ratio)) > 1e-9 or round(ratio) < 1:
        raise ValueError(f"record_dt must be a multiple of dt, got {record_dt} and {dt}")
    if kind is SynapticInput and J is None:
        raise ValueError("J (synaptic current density per unit weight, A/m^2) is needed for SynapticInput")
    if kind is CurrentInput and any(abs(x.grid / dt_s - round(x.grid / dt_s)) > 1e-9 for x in inputs):
        raise ValueError(f"the current's grid must be a multiple of dt ({dt_s * 1e3:g} ms)")
    n = len(inputs)
    area_m2 = to_si(area, meter**2, "area")

    def build():
        if kind is CurrentInput:
            density = np.stack([x.current for x in inputs], axis=1) / area_m2
            injected = TimedArray(density * amp / meter**2, dt=inputs[0].grid * second, name="hh_injected*")
            group = hh_group(n, model, dt=dt, tau_syn=tau_syn, injected=injected)
            drive = []
        else:
            n_in = inputs[0].n_inputs
            group = hh_group(n, model, dt=dt, tau_syn=tau_syn, J=J)
            source = SpikeGeneratorGroup(
                n * n_in,
                np.concatenate([x.indices + b * n_in for b, x in enumerate(inputs)]),
                np.concatenate([x.times for x in inputs]) * second,
                dt=dt,
                name="hh_inputs*",
            )
            synapses = Synapses(source, group, "w : 1", on_pre="I_syn_post += w*J_post", dt=dt, name="hh_synapses*")
            synapses.connect(i=np.arange(n * n_in), j=np.repeat(np.arange(n), n_in))
            synapses.w = np.concatenate([x.weights for x in inputs])
            drive = [source, synapses]
        voltage = StateMonitor(group, "v", record=True, dt=record_dt, name="hh_voltage*")
        spikes = SpikeMonitor(group, name="hh_spikes*")
        return {"network": Network(group, voltage, spikes, *drive), "voltage": voltage, "spikes": spikes}

    def read(objects):
        trains = objects["spikes"].spike_trains()
        return np.array(objects["voltage"].v_), tuple(np.asarray(trains[k] / second) for k in range(n))

    v, spikes = run_network(build, inputs[0].duration * second, read, target)
    if not np.all(np.isfinite(v)):
        raise ValueError(
            f"the HH integration diverged (non-finite voltage) at dt = {dt_s * 1e3:g} ms: use a "
            f"smaller dt (0.025 ms is converged)"
        )
    return Recording(dt=record_s, v=v - resting_potential(model), spikes=spikes, duration=inputs[0].duration)


def measure_input_resistance(
    model: HHModel, v_hold, *, step=0.01 * uA / cm**2, settle=300 * ms, area=AREA, dt=0.025 * ms, target: str = "numpy"
) -> dict:
    """Input resistance of ``model`` measured in Brian2 by small current steps at several holding currents.

    Neuron ``k`` is held at ``v_hold[k]`` (volts) by the current that :func:`steady_state_current`
    says holds it there, for ``settle``; then the current rises by ``step`` for another ``settle``.
    The resistance is the change of the final voltage over the step (a chord over ``step``, which
    is small). Returns the holding currents (A), the voltages reached before and after the step (V)
    and the resistances (ohm), as arrays; a neuron that fired during the step (so that its
    resistance is not a small-signal one: near a saddle-node the step crosses it) is marked in
    ``fired``."""
    v_hold = np.atleast_1d(np.asarray(v_hold, float))
    step_density = to_si(step, amp / meter**2, "step", bare=False)
    settle_s = to_si(settle, second, "settle", bare=False)
    area_m2 = to_si(area, meter**2, "area")
    holding = -steady_state_current(model, v_hold)  # A/m^2 that hold the neuron at v_hold
    steps = int(round(settle_s / to_si(dt, second, "dt")))
    density = np.concatenate([np.tile(holding, (steps, 1)), np.tile(holding + step_density, (steps, 1))])
    # start from the resting state's gates; settle is long against every gate's time constant
    traces = run_hh(
        model,
        [CurrentInput(d * area_m2, float(dt / second)) for d in density.T],
        dt=dt,
        record_dt=dt,
        area=area,
        target=target,
    )
    v_rest = resting_potential(model)
    before, after = traces.v[:, steps - 1] + v_rest, traces.v[:, -1] + v_rest
    return {
        "v_hold": v_hold,
        "holding_current": holding * area_m2,
        "v_before": before,
        "v_after": after,
        "resistance": (after - before) / (step_density * area_m2),
        "fired": np.array([np.any(s >= settle_s) for s in traces.spikes]),
    }
