r"""Hodgkin-Huxley neurons in Brian2, driven by the synaptic input of the reduced models.

Two conductance-based references, per unit membrane area (C = 1 uF/cm^2):

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

Input is current-based, as in the reduced models: every presynaptic spike of weight
``w`` (dimensionless) adds ``w*J`` to an exponentially decaying current density,

.. math::

    \tau_{syn} \frac{dI_{syn}}{dt} = -I_{syn},\qquad I_{syn} \leftarrow I_{syn} + w J,

so that, through the membrane's own time constant, a PSP has the two-time-constant shape
:math:`e^{-t/\tau_m} - e^{-t/\tau_s}` of the VR-C-LIF kernel (``tau_syn`` plays ``tau_s``).
``J`` (A/m^2) is a per-neuron constant, so one group holds neurons with different drive.

Spikes are upward crossings of -20 mV (``threshold``, with ``refractory`` holding while
the voltage stays above it). Voltages are returned relative to the model's resting
potential, the coordinate the reduced models use.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from brian2 import (
    Equations,
    Network,
    NeuronGroup,
    SpikeGeneratorGroup,
    SpikeMonitor,
    StateMonitor,
    Synapses,
    cm,
    ms,
    msiemens,
    mV,
    second,
    uA,
    ufarad,
)

from .params import to_si
from .spike_metrics import Recording

__all__ = ["HHModel", "SQUID", "TRAUB_MILES", "HH_MODELS", "SynapticInput", "poisson_input", "hh_group",
           "run_hh", "resting_potential"]


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
        Names of the gating variables.
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
    I_hold: object = dataclasses.field(default_factory=lambda: 0 * uA / cm**2)

    def steady_state(self, v) -> dict:
        """Steady-state gate values at voltage(s) ``v`` (volts), from the rate functions."""
        v = np.asarray(v / mV if hasattr(v, "dim") else np.asarray(v) * 1e3, float)
        out = {}
        for gate in self.gates:
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
    ionic=_GATED_CURRENTS + """
    alpha_m = 1/exprel(-(v/mV + 40)/10)/ms : Hz
    beta_m = 4*exp(-(v/mV + 65)/18)/ms : Hz
    alpha_h = 0.07*exp(-(v/mV + 65)/20)/ms : Hz
    beta_h = 1/(1 + exp(-(v/mV + 35)/10))/ms : Hz
    alpha_n = 0.1/exprel(-(v/mV + 55)/10)/ms : Hz
    beta_n = 0.125*exp(-(v/mV + 65)/80)/ms : Hz
    """,
    namespace={
        "Cm": 1 * ufarad / cm**2, "gNa": 120 * msiemens / cm**2, "gK": 36 * msiemens / cm**2,
        "gL": 0.3 * msiemens / cm**2, "ENa": 50 * mV, "EK": -77 * mV, "EL": -54.387 * mV,
        "_alpha_m": lambda v: 1 / _exprel(-(v + 40) / 10), "_beta_m": lambda v: 4 * np.exp(-(v + 65) / 18),
        "_alpha_h": lambda v: 0.07 * np.exp(-(v + 65) / 20), "_beta_h": lambda v: 1 / (1 + np.exp(-(v + 35) / 10)),
        "_alpha_n": lambda v: 0.1 / _exprel(-(v + 55) / 10), "_beta_n": lambda v: 0.125 * np.exp(-(v + 65) / 80),
    },
    gates=("m", "h", "n"),
    description="Hodgkin-Huxley 1952 squid axon, 6.3 degC",
)

TRAUB_MILES = HHModel(
    name="traub_miles",
    ionic=_GATED_CURRENTS + """
    alpha_m = 1.28/exprel((13*mV - v + VT)/(4*mV))/ms : Hz
    beta_m = 1.4/exprel((v - VT - 40*mV)/(5*mV))/ms : Hz
    alpha_h = 0.128*exp((17*mV - v + VT)/(18*mV))/ms : Hz
    beta_h = 4/(1 + exp((40*mV - v + VT)/(5*mV)))/ms : Hz
    alpha_n = 0.16/exprel((15*mV - v + VT)/(5*mV))/ms : Hz
    beta_n = 0.5*exp((10*mV - v + VT)/(40*mV))/ms : Hz
    """,
    namespace={
        "Cm": 1 * ufarad / cm**2, "gNa": 100 * msiemens / cm**2, "gK": 30 * msiemens / cm**2,
        "gL": 0.05 * msiemens / cm**2, "ENa": 50 * mV, "EK": -90 * mV, "EL": -60 * mV, "VT": -63 * mV,
        "_alpha_m": lambda v: 1.28 / _exprel((13 - v - 63) / 4), "_beta_m": lambda v: 1.4 / _exprel((v + 63 - 40) / 5),
        "_alpha_h": lambda v: 0.128 * np.exp((17 - v - 63) / 18),
        "_beta_h": lambda v: 4 / (1 + np.exp((40 - v - 63) / 5)),
        "_alpha_n": lambda v: 0.16 / _exprel((15 - v - 63) / 5), "_beta_n": lambda v: 0.5 * np.exp((10 - v - 63) / 40),
    },
    gates=("m", "h", "n"),
    description="Traub-Miles cortical HH (Brian2 COBAHH), -0.5 uA/cm^2 holding current",
    I_hold=-0.5 * uA / cm**2,
)

HH_MODELS = {model.name: model for model in (SQUID, TRAUB_MILES)}

_MEMBRANE = """
dv/dt = (I_ion + I_syn + I_ext)/Cm : volt
dI_syn/dt = -I_syn/tau_syn : amp/meter**2
I_ext : amp/meter**2 (constant)
J : amp/meter**2 (constant)
tau_syn : second (constant)
"""

THRESHOLD = "v > -20*mV"
REFRACTORY = "v > -20*mV"


def resting_potential(model: HHModel) -> float:
    """Resting potential (volts): the lowest stable zero of the steady-state current
    I_ion(v, gates_inf(v)) + I_hold (numpy, independent of the Brian2 equations' solver)."""
    from scipy.optimize import brentq

    ns = {k: (float(v) if hasattr(v, "dim") else v) for k, v in model.namespace.items()}  # SI floats
    g_k = ns["gK"]

    def current(v_mV):
        s = model.steady_state(v_mV * 1e-3)
        v = v_mV * 1e-3
        return float(ns["gNa"] * s["m"] ** 3 * s["h"] * (ns["ENa"] - v) + g_k * s["n"] ** 4 * (ns["EK"] - v)
                     + ns["gL"] * (ns["EL"] - v) + float(model.I_hold))

    grid = np.arange(-100.0, -30.0, 0.25)
    values = np.array([current(v) for v in grid])
    # a stable rest is a zero where the inward current falls as v rises (restoring)
    stable = np.nonzero((values[:-1] > 0) & (values[1:] <= 0))[0]
    if not len(stable):
        raise ValueError(f"{model.name}: no stable resting state between -100 and -30 mV")
    k = stable[0]
    return brentq(current, grid[k], grid[k + 1], xtol=1e-9) * 1e-3


def hh_group(n: int, model: HHModel, *, dt=0.025 * ms, tau_syn=5 * ms, J=0 * uA / cm**2, I_ext=0 * uA / cm**2,
             name: str = "hh*") -> NeuronGroup:
    """A NeuronGroup of ``n`` HH neurons of ``model`` with exponential synaptic current, starting
    at :func:`resting_potential` with every gate at its steady state there.

    Parameters
    ----------
    n : int
        Number of neurons.
    model : HHModel
        :data:`SQUID` or :data:`TRAUB_MILES`.
    dt : Quantity
        Integration step of the exponential Euler method.
    tau_syn : Quantity
        Decay of the synaptic current.
    J, I_ext : Quantity or array
        Synaptic current density per unit weight, and a constant injected current density
        (A/m^2, per neuron or scalar) added to the model's holding current.
    """
    if int(n) < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    if not isinstance(model, HHModel):
        raise TypeError(f"model must be an HHModel (e.g. SQUID, TRAUB_MILES), got {model!r}")
    namespace = {k: v for k, v in model.namespace.items() if not k.startswith("_")}
    group = NeuronGroup(int(n), Equations(_MEMBRANE) + Equations(model.ionic), threshold=THRESHOLD,
                        refractory=REFRACTORY, method="exponential_euler", dt=dt, namespace=namespace, name=name)
    v_rest = resting_potential(model)
    group.v = v_rest * 1e3 * mV
    for gate, value in model.steady_state(v_rest).items():
        setattr(group, gate, float(value))
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
        return SpikeGeneratorGroup(self.n_inputs, self.indices, self.times * second,
                                   dt=(self.grid * second if dt is None else dt), name=name)


def poisson_input(n_exc: int = 160, n_inh: int = 40, rate=10.0, duration=2 * second, *, w_inh: float = 2.0,
                  grid=0.1 * ms, seed: int = 0) -> SynapticInput:
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
    return SynapticInput(indices=index.astype(np.int64), times=step * grid, weights=weights,
                         duration=steps * grid, grid=grid)


def run_hh(model: HHModel, inputs, J, *, dt=0.025 * ms, record_dt=0.1 * ms, tau_syn=5 * ms) -> Recording:
    """Simulate one HH neuron per input in ``inputs`` (one Brian2 run), each driven by its own trains.

    Parameters
    ----------
    model : HHModel
    inputs : SynapticInput or sequence of SynapticInput
        All of the same duration and input count.
    J : Quantity
        Synaptic current density per unit weight (A/m^2).
    dt, record_dt : Quantity
        Integration step, and the sampling step of the returned voltage (a multiple of dt).
    tau_syn : Quantity
        Synaptic current decay.

    Returns
    -------
    Recording
        Voltages relative to the resting potential, sampled every ``record_dt``; spike times.
    """
    inputs = [inputs] if isinstance(inputs, SynapticInput) else list(inputs)
    if not inputs or any(x.n_inputs != inputs[0].n_inputs or x.duration != inputs[0].duration for x in inputs):
        raise ValueError("inputs must be one or more SynapticInput of equal n_inputs and duration")
    dt_s, record_s = to_si(dt, second, "dt"), to_si(record_dt, second, "record_dt")
    ratio = record_s / dt_s
    if abs(ratio - round(ratio)) > 1e-9 or round(ratio) < 1:
        raise ValueError(f"record_dt must be a multiple of dt, got {record_dt} and {dt}")
    n, n_in = len(inputs), inputs[0].n_inputs
    group = hh_group(n, model, dt=dt, tau_syn=tau_syn, J=J)
    source = SpikeGeneratorGroup(n * n_in, np.concatenate([x.indices + b * n_in for b, x in enumerate(inputs)]),
                                 np.concatenate([x.times for x in inputs]) * second, dt=dt, name="hh_inputs*")
    synapses = Synapses(source, group, "w : 1", on_pre="I_syn_post += w*J_post", dt=dt, name="hh_synapses*")
    synapses.connect(i=np.arange(n * n_in), j=np.repeat(np.arange(n), n_in))
    synapses.w = np.concatenate([x.weights for x in inputs])
    voltage = StateMonitor(group, "v", record=True, dt=record_dt)
    spikes = SpikeMonitor(group)
    Network(group, source, synapses, voltage, spikes).run(inputs[0].duration * second, namespace={})
    v_rest = resting_potential(model)
    trains = spikes.spike_trains()
    return Recording(dt=record_s, v=np.asarray(voltage.v_) - v_rest,
                     spikes=tuple(np.asarray(trains[k] / second) for k in range(n)), duration=inputs[0].duration)
