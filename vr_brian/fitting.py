r"""Fit reduced neurons (VR-C-LIF, C-LIF, AdEx) to a reference neuron's spikes and voltage.

A fit minimises, over a box of parameters,

.. math::

    L(\theta) = 1 - \Gamma(\theta) + \lambda\, E_V(\theta)/\mathrm{mV},

with :math:`\Gamma` the coincidence factor (window 2 ms; its mean over the reference's
trials where they repeat) and :math:`E_V` the subthreshold voltage error
(:mod:`vr_brian.spike_metrics`) on the training input, by differential evolution
(``scipy.optimize.differential_evolution``, vectorised): every generation's candidates
run as ONE Brian2 simulation, one neuron per candidate, with per-neuron constant
parameters (:class:`CandidateSimulator`). On the cpp_standalone target the simulation is
generated and compiled once per fit and every generation re-runs the same binary with the
candidates' parameters as ``run_args``. The small voltage term (``voltage_weight`` =
:math:`\lambda`) ranks candidates that do not fire yet and keeps the voltage scale
physical; :math:`\Gamma` dominates once a candidate fires near the reference spikes.

Two input forms, the same for every model:

- :class:`~vr_brian.hh.SynapticInput`: spike trains with dimensionless weights, multiplied
  by a per-neuron ``weight_scale`` (volts; for the VR-C-LIF the peak PSP at alpha = 0).
- :class:`~vr_brian.hh.CurrentInput`: an injected current (amperes) through a per-neuron
  input resistance ``R_in`` (ohms; the VR-C-LIF's current form
  :data:`vr_brian.equations.VR_CLIF_CURRENT`, whose effective resistance is
  R_in*(1 - alpha*U/v_thr); AdEx's R*I term).

Both reach a neuron as one input value per time step (the summed weights of the step's
spikes, or the step's mean current), held in a TimedArray and added in the 'thresholds'
slot, where synapses deliver spikes: for the VR-C-LIF exactly the iterative model
(MODEL.md), T(t) = N0*I(t)*R(t). Since every input of a candidate shares one scale, this
equals a synapse per input train.

Voltages are relative to the reference's rest, so the VR-C-LIF's U (in volts) is the
depolarisation and ``v_thr`` the threshold's distance from rest. Where the rest is not
known, ``fit_offset`` places each candidate's rest where its subthreshold voltage best
matches the reference's (the mean difference, a closed form).

Time step: the reduced models run at ``dt`` (0.1 ms by default); spike times then have
0.1 ms resolution, far inside Gamma's 2 ms window, and the iterative VR-C-LIF (exact
decay, R(t) from U(t-1), threshold tested on the grid) is within O(dt) of its
continuous-time form.

Models (``MODELS``, synaptic form; the current form has ``R_in`` in place of
``weight_scale``): ``"vrclif"`` (alpha, weight_scale, tau_m, tau_s/tau_m, v_thr), ``"clif"``
(the same with alpha fixed at 0) and ``"adex"`` (tau_m, weight_scale, VT, DeltaT, a, tau_w,
b, V_reset). tau_s is fitted as the ratio tau_s/tau_m in (0, 1) so that every candidate
satisfies tau_m > tau_s; R_in is searched on a log scale.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np
from brian2 import Equations, Network, NeuronGroup, SpikeMonitor, StateMonitor, TimedArray, amp, ms, ohm, second, volt
from scipy.optimize import differential_evolution

from .adex import ADEX_EQUATIONS
from .adex import PARAMETER_UNITS as ADEX_PARAMETER_UNITS
from .adex import RESET as ADEX_RESET
from .adex import THRESHOLD as ADEX_THRESHOLD
from .equations import ON_STEP, RESET, THRESHOLD, VR_CLIF, VR_CLIF_CURRENT
from .hh import CurrentInput, SynapticInput
from .params import to_si
from .settings import codegen_target
from .spike_metrics import Recording, gamma_factor, subthreshold_mask
from .standalone import CompiledNetwork

__all__ = [
    "Parameter",
    "MODELS",
    "R_IN",
    "model_parameters",
    "params_dict",
    "theta_from_params",
    "CandidateSimulator",
    "simulate_candidates",
    "evaluate",
    "fit",
    "score",
    "FitResult",
    "TARGETS",
]

TARGETS = ("numpy", "cython", "cpp_standalone")


@dataclasses.dataclass(frozen=True)
class Parameter:
    """One fitted parameter: name, bounds (SI), the unit used to print it, and whether the
    search runs over its logarithm (for a scale unknown to within decades)."""

    name: str
    low: float
    high: float
    unit: str = ""
    scale: float = 1.0  # printed value = SI value / scale
    log: bool = False


_MV, _MS = 1e-3, 1e-3

MODELS = {
    "vrclif": (
        Parameter("alpha", -3.0, 0.9),
        Parameter("weight_scale", 0.05 * _MV, 10 * _MV, "mV", _MV),
        Parameter("tau_m", 1 * _MS, 60 * _MS, "ms", _MS),
        Parameter("tau_s_ratio", 0.02, 0.9),
        Parameter("v_thr", 1 * _MV, 40 * _MV, "mV", _MV),
    ),
    "adex": (
        Parameter("tau_m", 1 * _MS, 60 * _MS, "ms", _MS),
        Parameter("weight_scale", 0.05 * _MV, 10 * _MV, "mV", _MV),
        Parameter("VT", 1 * _MV, 40 * _MV, "mV", _MV),
        Parameter("DeltaT", 0.3 * _MV, 6 * _MV, "mV", _MV),
        Parameter("a", 0.0, 1.0),
        Parameter("tau_w", 10 * _MS, 300 * _MS, "ms", _MS),
        Parameter("b", 0.0, 10 * _MV, "mV", _MV),
        Parameter("V_reset", -20 * _MV, 15 * _MV, "mV", _MV),
    ),
}
MODELS["clif"] = MODELS["vrclif"][1:]

#: The input resistance of the current form, in place of weight_scale: 1 MOhm to 10 GOhm, log scale.
R_IN = Parameter("R_in", 1e6, 1e10, "Mohm", 1e6, log=True)

#: The VR-C-LIF's (and C-LIF's) rest under a fitted holding current, as a fraction of v_thr (see
#: :func:`model_parameters`); below 0.95, so that rest lies below threshold and R(rest) >= 0.145.
REST_RATIO = Parameter("rest_ratio", 0.0, 0.95)


def _check_kind(kind: str):
    if kind not in MODELS:
        raise ValueError(f"kind must be one of {sorted(MODELS)}, got {kind!r}")


def _form(inputs) -> str:
    if isinstance(inputs, CurrentInput):
        return "current"
    if isinstance(inputs, SynapticInput):
        return "synaptic"
    raise TypeError(f"inputs must be a SynapticInput or a CurrentInput, got {type(inputs).__name__}")


def model_parameters(kind: str, form: str = "synaptic", hold: bool = False) -> tuple:
    """The fitted parameters of ``kind`` for input ``form`` ("synaptic" or "current").

    ``hold`` (VR-C-LIF and C-LIF) adds a constant holding input, fitted through the rest it
    holds the neuron at, ``u_rest = rest_ratio*v_thr``: the neuron's reset (U falls by v_thr
    from threshold, to about 0) then lies u_rest below its rest, an after-hyperpolarisation
    that the model without it lacks, and R = 1 - alpha*U/v_thr is 1 at the reset point.
    Voltages are reported relative to the rest, U - u_rest.
    """
    _check_kind(kind)
    if form not in ("synaptic", "current"):
        raise ValueError(f"form must be 'synaptic' or 'current', got {form!r}")
    if hold and kind == "adex":
        raise ValueError("hold applies to 'vrclif' and 'clif' (AdEx has its own reset, V_reset)")
    spec = MODELS[kind] if form == "synaptic" else tuple(R_IN if p.name == "weight_scale" else p for p in MODELS[kind])
    return spec + (REST_RATIO,) if hold else spec


def _columns(kind: str, spec, theta: np.ndarray) -> dict:
    """Per-neuron parameter arrays of the candidates ``theta`` (n, n_params)."""
    columns = {p.name: theta[:, k] for k, p in enumerate(spec)}
    if kind in ("vrclif", "clif"):
        columns["tau_s"] = columns["tau_m"] * columns["tau_s_ratio"]
        columns.setdefault("alpha", np.zeros(len(theta)))
        columns["u_rest"] = columns.get("rest_ratio", np.zeros(len(theta))) * columns["v_thr"]
    return columns


def holding_input(columns: dict, dt: float, form: str) -> dict:
    """What holds VR-C-LIF candidates at their rest u_rest: the input per step and the state there.

    At a steady state of the iterative model U = N0*I*R(U)*S with S = 1/(1 - gamma_m) -
    1/(1 - gamma_s), so the step's input I_h = u_rest/(N0*R(u_rest)*S) (volts), Dm = T/(1 - gamma_m)
    and Ds = T/(1 - gamma_s) with T = N0*I_h*R(u_rest). For current input it is returned as the
    current whose charge per step is that weight, I_h*N0*(tau_m - tau_s)/(R_in*dt) (amperes)."""
    tau_m, tau_s, u = columns["tau_m"], columns["tau_s"], columns["u_rest"]
    gamma_m, gamma_s = np.exp(-dt / tau_m), np.exp(-dt / tau_s)
    f = tau_m / tau_s
    n0 = f ** (f / (f - 1)) / (f - 1)
    resistance = 1 - columns["alpha"] * u / columns["v_thr"]
    weight = u / (n0 * resistance * (1 / (1 - gamma_m) - 1 / (1 - gamma_s)))
    step = n0 * weight * resistance
    hold = weight * n0 * (tau_m - tau_s) / (columns["R_in"] * dt) if form == "current" else weight
    return {"I_hold": hold, "Dm": step / (1 - gamma_m), "Ds": step / (1 - gamma_s), "U_prev": u}


def params_dict(kind: str, theta, form: str = "synaptic") -> dict:
    """The parameters of one candidate ``theta`` (n_params,) by name, SI floats (tau_s and, with a
    holding input, u_rest included); a holding input is recognised by its extra parameter."""
    theta = np.atleast_2d(np.asarray(theta, float))
    spec = model_parameters(kind, form, hold=kind != "adex" and theta.size == len(model_parameters(kind, form)) + 1)
    return {k: float(v[0]) for k, v in _columns(kind, spec, theta).items()}


def theta_from_params(kind: str, params: dict, form: str = "synaptic") -> np.ndarray:
    """The inverse of :func:`params_dict`: a parameter vector from a dict (tau_s accepted
    in place of tau_s_ratio); a ``rest_ratio`` entry marks a holding input."""
    spec = model_parameters(kind, form, hold="rest_ratio" in params)
    params = dict(params)
    if "tau_s_ratio" not in params and "tau_s" in params:
        params["tau_s_ratio"] = params["tau_s"] / params["tau_m"]
    missing = [p.name for p in spec if p.name not in params]
    if missing:
        raise ValueError(f"params for {kind!r} ({form} input) lack {missing}")
    return np.array([params[p.name] for p in spec], float)


def _steps_ratio(a: float, b: float) -> int | None:
    """a/b when it is a whole number >= 1, else None."""
    ratio = a / b
    return int(round(ratio)) if abs(ratio - round(ratio)) < 1e-9 and round(ratio) >= 1 else None


def input_drive(inputs, dt: float) -> np.ndarray:
    """The input of every step of length ``dt`` (seconds): the summed weights of a SynapticInput's
    spikes in the step (``dt`` must divide its grid), or a CurrentInput's mean current over the
    step (amperes; ``dt`` a multiple of its grid, or dividing it)."""
    form = _form(inputs)
    if form == "synaptic":
        if _steps_ratio(inputs.grid, dt) is None:
            raise ValueError(f"dt must divide the input grid ({inputs.grid * 1e3:g} ms), got {dt * 1e3:g} ms")
        drive = np.zeros(int(round(inputs.duration / dt)))
        np.add.at(drive, np.rint(inputs.times / dt).astype(int), inputs.weights[inputs.indices])
        return drive
    coarse, fine = _steps_ratio(dt, inputs.grid), _steps_ratio(inputs.grid, dt)
    if coarse is not None:
        steps = len(inputs.current) // coarse
        return inputs.current[: steps * coarse].reshape(steps, coarse).mean(axis=1)
    if fine is not None:
        return np.repeat(inputs.current, fine)
    raise ValueError(
        f"dt ({dt * 1e3:g} ms) must be a multiple or a divisor of the current's grid ({inputs.grid * 1e3:g} ms)"
    )


def _adex_equations(form: str) -> Equations:
    """AdEx with its input term R*I_ext driven by the step's input: R_in*I(t) for a current;
    for spikes the synaptic variable s jumps by the step's summed weights instead (I_ext = 0)."""
    base = Equations([eq for name, eq in Equations(ADEX_EQUATIONS).items() if name != "I_ext"])
    if form == "current":
        return base + Equations("I_ext = R_in*drive(t) : volt\nR_in : ohm (constant)")
    return base + Equations("I_ext = 0*volt : volt")


class CandidateSimulator:
    """``n`` candidates of model ``kind`` on inputs of one form, at most ``steps`` steps long,
    simulated together in one Brian2 run per :meth:`run`.

    Parameters
    ----------
    kind : {"vrclif", "clif", "adex"}
    n : int
        Number of candidates per run.
    steps : int
        Steps of every run; shorter inputs are padded with zero input and their results cut.
    form : {"synaptic", "current"}
    hold : bool
        Fit a holding input (VR-C-LIF, C-LIF; see :func:`model_parameters`).
    dt, tau_syn : Quantity
        Step of the reduced models; decay of AdEx's synaptic current (the VR-C-LIF fits tau_s).
    record_dt : Quantity, optional
        Sampling step of the recorded voltage, a multiple of ``dt`` (default ``dt``): the
        subthreshold voltage changes over milliseconds, and a long run of many candidates
        otherwise writes and reads a sample per step.
    target : {"numpy", "cython", "cpp_standalone"}
        On cpp_standalone the project is compiled on the first run and re-run with run_args
        afterwards; the runtime targets build the objects on every run.
    """

    def __init__(
        self,
        kind: str,
        n: int,
        steps: int,
        form: str = "synaptic",
        *,
        hold: bool = False,
        dt=0.1 * ms,
        tau_syn=5 * ms,
        record_dt=None,
        target: str = "numpy",
    ):
        self.spec = model_parameters(kind, form, hold)
        self.hold = hold
        if target not in TARGETS:
            raise ValueError(f"target must be one of {TARGETS}, got {target!r}")
        if int(n) < 1 or int(steps) < 1:
            raise ValueError(f"n and steps must be >= 1, got {n} and {steps}")
        self.kind, self.n, self.steps, self.form, self.target = kind, int(n), int(steps), form, target
        self.dt = to_si(dt, second, "dt")
        self.tau_syn = to_si(tau_syn, second, "tau_syn")
        record_every = 1 if record_dt is None else _steps_ratio(to_si(record_dt, second, "record_dt"), self.dt)
        if record_every is None:
            raise ValueError(f"record_dt must be a multiple of dt ({self.dt * 1e3:g} ms), got {record_dt}")
        self.record_every = record_every
        self._compiled: CompiledNetwork | None = None
        self.compile_seconds = 0.0
        self.runs = 0

    # -- Brian2 objects ---------------------------------------------------------------------
    def _drive_units(self):
        return amp if self.form == "current" else 1

    def _values(self, columns: dict) -> dict:
        """Brian2 variable name -> per-neuron values with units."""
        if self.kind == "adex":
            units = {**ADEX_PARAMETER_UNITS, "R_in": ohm}
        else:
            columns = dict(columns, **holding_input(columns, self.dt, self.form))
            units = {
                "tau_m": second,
                "tau_s": second,
                "v_thr": volt,
                "alpha": 1,
                "weight_scale": volt,
                "R_in": ohm,
                "I_hold": self._drive_units() if self.form == "current" else volt,
                "Dm": volt,
                "Ds": volt,
                "U_prev": volt,
            }
        return {name: columns[name] * unit for name, unit in units.items() if name in columns}

    def _build(self, columns: dict, drive: np.ndarray) -> dict:
        dt = self.dt * second
        stimulus = TimedArray(drive * self._drive_units(), dt=dt, name="drive")
        namespace = {"drive": stimulus}
        if self.kind == "adex":
            group = NeuronGroup(
                self.n,
                _adex_equations(self.form),
                threshold=ADEX_THRESHOLD,
                reset=ADEX_RESET,
                method="euler",
                dt=dt,
                namespace=dict(namespace, inf=np.inf),
                name="candidates",
            )
            group.tau_syn = self.tau_syn * second
            if self.form == "synaptic":
                group.run_regularly("s += drive(t)", when="thresholds", order=-1, name="candidates_input")
            variable, when = "V", "start"
        else:
            if self.form == "current":
                model = VR_CLIF_CURRENT + Equations("I_inj = drive(t) + I_hold : amp\nI_hold : amp (constant)")
            else:
                model = VR_CLIF + Equations(
                    "I = weight_scale*drive(t) + I_hold : volt\n"
                    "weight_scale : volt (constant)\nI_hold : volt (constant)"
                )
            group = NeuronGroup(
                self.n,
                model,
                threshold=THRESHOLD,
                reset=RESET,
                method="exact",
                dt=dt,
                namespace=namespace,
                name="candidates",
            )
            group.run_regularly("U_prev = U", when="before_resets", name="candidates_uprev")
            group.run_regularly(ON_STEP, when="thresholds", order=-1, name="candidates_input")
            variable, when = "U", "before_resets"
        for name, value in self._values(columns).items():
            setattr(group, name, value)
        voltage = StateMonitor(
            group, variable, record=True, when=when, dt=self.record_every * dt, name="candidates_voltage"
        )
        spikes = SpikeMonitor(group, name="candidates_spikes")
        return {
            "network": Network(group, voltage, spikes),
            "group": group,
            "voltage": voltage,
            "spikes": spikes,
            "stimulus": stimulus,
            "variable": variable,
        }

    def _padded_drive(self, inputs) -> tuple:
        drive = input_drive(inputs, self.dt)
        if len(drive) > self.steps:
            raise ValueError(f"inputs of {len(drive)} steps exceed this simulator's {self.steps}")
        return np.concatenate([drive, np.zeros(self.steps - len(drive))]), len(drive)

    # -- running ----------------------------------------------------------------------------
    def run(self, theta, inputs) -> Recording:
        """Simulate one neuron per row of ``theta`` (n, n_params) on ``inputs``.

        Returns the voltages (relative to rest, volts, one sample per ``dt``; the VR-C-LIF's U
        before reset) and the spike times of all candidates over the input's duration.
        """
        theta = np.atleast_2d(np.asarray(theta, float))
        if theta.shape != (self.n, len(self.spec)):
            raise ValueError(
                f"theta must have shape ({self.n}, {len(self.spec)}) for {self.kind!r} "
                f"({[p.name for p in self.spec]}), got {theta.shape}"
            )
        if _form(inputs) != self.form:
            raise ValueError(f"this simulator takes {self.form} input, got {_form(inputs)} input")
        drive, steps = self._padded_drive(inputs)
        columns = _columns(self.kind, self.spec, theta)
        if self.target == "cpp_standalone":
            if self._compiled is None:
                start = time.perf_counter()
                self._compiled = CompiledNetwork(lambda: self._build(columns, drive), self.steps * self.dt * second)
                self.compile_seconds = time.perf_counter() - start
            objects = self._compiled.objects
            run_args = {getattr(objects["group"], name): value for name, value in self._values(columns).items()}
            run_args[objects["stimulus"]] = drive * self._drive_units()
            objects = self._compiled.run(run_args)
        else:
            with codegen_target(self.target):
                objects = self._build(columns, drive)
                objects["network"].run(self.steps * self.dt * second, namespace={})
        self.runs += 1
        samples = -(-steps // self.record_every)
        v = np.asarray(getattr(objects["voltage"], objects["variable"] + "_"))[:, :samples]
        if "u_rest" in columns:
            v = v - columns["u_rest"][:, None]
        duration = steps * self.dt
        trains = [np.asarray(train / second) for train in objects["spikes"].spike_trains().values()]
        spikes = tuple(train[train < duration - 1e-12] for train in trains)
        return Recording(dt=self.dt * self.record_every, v=v, spikes=spikes, duration=duration)

    def close(self):
        if self._compiled is not None:
            self._compiled.close()
            self._compiled = None


def simulate_candidates(kind: str, theta, inputs, *, dt=0.1 * ms, tau_syn=5 * ms, target: str = "numpy") -> Recording:
    """Simulate one neuron per row of ``theta`` (n, n_params) on ``inputs``, in one Brian2 run
    (see :meth:`CandidateSimulator.run`)."""
    _check_kind(kind)
    theta = np.atleast_2d(np.asarray(theta, float))
    dt_s = to_si(dt, second, "dt")
    form = _form(inputs)
    hold = kind != "adex" and theta.shape[1] == len(model_parameters(kind, form)) + 1
    simulator = CandidateSimulator(
        kind, len(theta), len(input_drive(inputs, dt_s)), form, hold=hold, dt=dt, tau_syn=tau_syn, target=target
    )
    try:
        return simulator.run(theta, inputs)
    finally:
        simulator.close()


def evaluate(
    candidates: Recording,
    reference: Recording,
    *,
    window=2 * ms,
    voltage_weight: float = 0.02,
    fit_offset: bool = False,
):
    """Gamma, subthreshold voltage error (volts), loss and voltage offset (volts) of every
    candidate against the reference.

    Gamma is the mean over the reference's trials (its neurons); the voltage error compares
    with their mean voltage, away from the spikes of the candidate and of every trial. A
    reference without voltage (``v`` None) gives NaN errors and the loss 1 - Gamma. With
    ``fit_offset`` each candidate's voltage is shifted by the constant that minimises its
    error (the mean difference), returned as the offset (0 otherwise). Candidates whose
    rate leaves Gamma undefined (2*rate*window >= 1) count as Gamma = -1 in the loss; those
    with no sample left for the voltage error as 50 mV. The reference's voltage may be sampled
    more finely than the candidates', by a whole factor: every k-th sample is compared.
    """
    every = _steps_ratio(candidates.dt, reference.dt)
    if every is None or abs(reference.duration - candidates.duration) > 1e-9:
        raise ValueError(
            f"candidates and reference must share the time grid: {candidates.duration} s of "
            f"{candidates.dt} s steps vs {reference.duration} s of {reference.dt} s"
        )
    gamma = np.array(
        [
            np.mean([gamma_factor(s, data, reference.duration, window) for data in reference.spikes])
            for s in candidates.spikes
        ]
    )
    error = np.full(len(candidates), np.nan)
    offset = np.zeros(len(candidates))
    if reference.v is not None:
        v_data = reference.v.mean(axis=0)[::every]
        if v_data.shape != candidates.v.shape[1:]:
            raise ValueError(f"reference voltage has {v_data.shape[0]} samples, candidates {candidates.v.shape[1]}")
        data_mask = subthreshold_mask(len(v_data), candidates.dt, reference.spikes)
        for k, (v, s) in enumerate(zip(candidates.v, candidates.spikes, strict=True)):
            keep = data_mask & subthreshold_mask(len(v_data), candidates.dt, [s])
            if keep.any():
                with np.errstate(over="ignore", invalid="ignore"):  # a runaway candidate's error is inf
                    difference = v[keep] - v_data[keep]
                    offset[k] = -difference.mean() if fit_offset else 0.0
                    error[k] = np.sqrt(np.mean((difference + offset[k]) ** 2))
    gamma_used = np.where(np.isnan(gamma), -1.0, gamma)
    error_used = np.where(np.isnan(error), 50e-3, error) if reference.v is not None else np.zeros(len(gamma))
    return gamma, error, 1.0 - gamma_used + voltage_weight * error_used / 1e-3, offset


@dataclasses.dataclass(frozen=True)
class FitResult:
    """Outcome of :func:`fit`: best parameters (SI, by name), its training scores, the best
    loss after each generation, the final population (parameters and losses), the number of
    simulations and candidates run, and the time taken (compiling included)."""

    kind: str
    form: str
    params: dict
    theta: np.ndarray
    loss: float
    gamma: float
    voltage_error: float
    voltage_offset: float
    history: tuple
    population: np.ndarray
    population_losses: np.ndarray
    simulations: int
    candidates: int
    seconds: float
    compile_seconds: float


def _to_search(spec, theta):
    return np.array([np.log10(x) if p.log else x for p, x in zip(spec, np.asarray(theta, float).T, strict=True)]).T


def _from_search(spec, u):
    return np.array([10.0**x if p.log else x for p, x in zip(spec, np.asarray(u, float).T, strict=True)]).T


def fit(
    kind: str,
    inputs,
    reference: Recording,
    *,
    dt=0.1 * ms,
    tau_syn=5 * ms,
    popsize: int = 8,
    maxiter: int = 30,
    seed: int = 0,
    voltage_weight: float = 0.02,
    bounds=None,
    target: str = "numpy",
    tol: float = 1e-3,
    hold: bool = False,
    fit_offset: bool = False,
    simulator: CandidateSimulator | None = None,
    progress=None,
) -> FitResult:
    """Fit model ``kind`` to ``reference`` (one neuron, or repeated trials of it) driven by ``inputs``.

    Parameters
    ----------
    kind : {"vrclif", "clif", "adex"}
    inputs : SynapticInput or CurrentInput
        Training input; ``reference`` must be the response to it, sampled every ``dt``.
    reference : Recording
        Spikes of each trial, and voltages relative to rest (or ``v`` None: spikes only).
    dt, tau_syn : Quantity
        Step of the reduced model; decay of the synaptic current (AdEx; the VR-C-LIF fits tau_s).
    popsize, maxiter, seed, tol :
        Passed to ``scipy.optimize.differential_evolution`` (population popsize * n_params).
    voltage_weight : float
        lambda of the loss, per mV of subthreshold error.
    bounds : dict, optional
        name -> (low, high) in SI, overriding the default bounds (:func:`model_parameters`).
    target : {"numpy", "cython", "cpp_standalone"}
        Brian2 code-generation target of the candidate simulations.
    hold : bool
        Fit a holding input too (VR-C-LIF, C-LIF; see :func:`model_parameters`).
    fit_offset : bool
        Fit the reduced model's rest against the reference's voltage (see :func:`evaluate`).
    simulator : CandidateSimulator, optional
        One made for this ``kind``, form and popsize * n_params candidates, to reuse a compiled
        project (e.g. for scoring afterwards); by default one is made and closed here.
    progress : callable, optional
        Called as ``progress(generation, best_loss)`` after every generation.
    """
    start = time.perf_counter()
    form = _form(inputs)
    spec = model_parameters(kind, form, hold)
    if int(popsize) < 2 or int(maxiter) < 1:
        raise ValueError(f"popsize must be >= 2 and maxiter >= 1, got {popsize}, {maxiter}")
    if not voltage_weight >= 0:
        raise ValueError(f"voltage_weight must be >= 0, got {voltage_weight}")
    bounds = dict(bounds or {})
    unknown = set(bounds) - {p.name for p in spec}
    if unknown:
        raise ValueError(
            f"bounds name parameters {sorted(unknown)} that {kind!r} ({form} input) does not have; "
            f"it has {[p.name for p in spec]}"
        )
    box = []
    for p in spec:
        low, high = bounds.get(p.name, (p.low, p.high))
        if not low < high or (p.log and not low > 0):
            raise ValueError(
                f"bounds of {p.name} must satisfy {'0 < ' if p.log else ''}low < high, got ({low}, {high})"
            )
        box.append((np.log10(low), np.log10(high)) if p.log else (low, high))
    n = int(popsize) * len(spec)
    own = simulator is None
    if simulator is None:
        simulator = CandidateSimulator(
            kind,
            n,
            len(input_drive(inputs, to_si(dt, second, "dt"))),
            form,
            hold=hold,
            dt=dt,
            tau_syn=tau_syn,
            target=target,
        )
    elif (simulator.kind, simulator.form, simulator.hold, simulator.n) != (kind, form, hold, n):
        raise ValueError(
            f"simulator is for {simulator.n} {simulator.kind} candidates on {simulator.form} input "
            f"(hold={simulator.hold}); this fit needs {n} {kind} on {form} input (hold={hold})"
        )
    counts = {"simulations": 0, "candidates": 0}
    history = []

    def objective(u):  # u: (n_params, S) in the search space, one column per candidate
        theta = _from_search(spec, u.T)
        recording = simulator.run(theta, inputs)
        counts["simulations"] += 1
        counts["candidates"] += len(theta)
        return evaluate(recording, reference, voltage_weight=voltage_weight, fit_offset=fit_offset)[2]

    def callback(intermediate_result):
        history.append(float(intermediate_result.fun))
        if progress is not None:
            progress(len(history), history[-1])

    try:
        result = differential_evolution(
            objective,
            box,
            popsize=int(popsize),
            maxiter=int(maxiter),
            seed=seed,
            vectorized=True,
            updating="deferred",
            polish=False,
            tol=tol,
            init="latinhypercube",
            callback=callback,
        )
        best_theta = _from_search(spec, result.x[None, :])[0]
        best = simulator.run(np.tile(best_theta, (n, 1)), inputs)
    finally:
        if own:
            simulator.close()
    gamma, error, loss, offset = evaluate(best, reference, voltage_weight=voltage_weight, fit_offset=fit_offset)
    return FitResult(
        kind=kind,
        form=form,
        params=params_dict(kind, best_theta, form),
        theta=best_theta,
        loss=float(loss[0]),
        gamma=float(gamma[0]),
        voltage_error=float(error[0]),
        voltage_offset=float(offset[0]),
        history=tuple(history),
        population=_from_search(spec, result.population),
        population_losses=result.population_energies,
        simulations=counts["simulations"],
        candidates=counts["candidates"],
        seconds=time.perf_counter() - start,
        compile_seconds=simulator.compile_seconds,
    )


def score(
    kind: str,
    params,
    inputs,
    reference: Recording,
    *,
    dt=0.1 * ms,
    tau_syn=5 * ms,
    target: str = "numpy",
    simulator: CandidateSimulator | None = None,
    fit_offset: bool = False,
):
    """Gamma and subthreshold voltage error (volts) of one parameter set (dict or vector) on
    ``inputs`` against ``reference``; returns (gamma, voltage_error, recording of that neuron).
    A ``simulator`` of several candidates runs them all with these parameters."""
    form = _form(inputs)
    theta = theta_from_params(kind, params, form) if isinstance(params, dict) else np.asarray(params, float)
    if simulator is None:
        recording = simulate_candidates(kind, theta[None, :], inputs, dt=dt, tau_syn=tau_syn, target=target)
    else:
        recording = simulator.run(np.tile(theta, (simulator.n, 1)), inputs)
        recording = Recording(recording.dt, recording.v[:1], recording.spikes[:1], recording.duration)
    gamma, error, _, _ = evaluate(recording, reference, fit_offset=fit_offset)
    return float(gamma[0]), float(error[0]), recording
