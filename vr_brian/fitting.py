r"""Fit reduced neurons (VR-C-LIF, C-LIF, AdEx) to a reference neuron's spikes and voltage.

A fit minimises, over a box of parameters,

.. math::

    L(\theta) = 1 - \Gamma(\theta) + \lambda\, E_V(\theta)/\mathrm{mV},

with :math:`\Gamma` the coincidence factor (window 2 ms) and :math:`E_V` the
subthreshold voltage error (:mod:`vr_brian.spike_metrics`) on the training input, by
differential evolution (``scipy.optimize.differential_evolution``, vectorised): every
generation's candidates run as ONE Brian2 simulation, one neuron per candidate, with
per-neuron constant parameters. The small voltage term (``voltage_weight`` =
:math:`\lambda`) ranks candidates that do not fire yet and keeps the voltage scale
physical; :math:`\Gamma` dominates once a candidate fires near the reference spikes.

Voltages are relative to the reference's rest, so the VR-C-LIF's U (in volts) is the
depolarisation, ``v_thr`` the threshold's distance from rest and a weight the peak PSP
in volts (at alpha = 0). The synaptic input is the reference's (one
:class:`~vr_brian.hh.SynapticInput`), its dimensionless weights multiplied by a
per-neuron ``weight_scale`` (volts).

Time step: the reduced models run at ``dt`` (0.1 ms by default), the grid of the input
spikes, which Hodgkin-Huxley integrates at a finer step (0.025 ms) and samples at the
same 0.1 ms. At that dt the iterative VR-C-LIF (:func:`vr_brian.vr_neuron_group`: exact
decay, R(t) from U(t-1), threshold tested on the grid) is within O(dt) of its
continuous-time form, and spike times have 0.1 ms resolution, far inside Gamma's 2 ms
window. At the paper's dt = 1 ms a spike time would already use half the window.

Models (``MODELS``): ``"vrclif"`` (alpha, weight_scale, tau_m, tau_s/tau_m, v_thr),
``"clif"`` (the same with alpha fixed at 0) and ``"adex"`` (tau_m, weight_scale, VT,
DeltaT, a, tau_w, b, V_reset). tau_s is fitted as the ratio tau_s/tau_m in (0, 1) so that
every candidate satisfies tau_m > tau_s.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from brian2 import Network, SpikeMonitor, StateMonitor, Synapses, ms, second, volt
from scipy.optimize import differential_evolution

from .adex import AdExParams, adex_group
from .brian import connect_layers, vr_neuron_group
from .equations import VR_CLIF
from .hh import SynapticInput
from .params import VRParams, to_si
from .settings import codegen_target
from .spike_metrics import Recording, gamma_factor, subthreshold_voltage_error

__all__ = ["Parameter", "MODELS", "simulate_candidates", "evaluate", "fit", "score", "FitResult"]


@dataclasses.dataclass(frozen=True)
class Parameter:
    """One fitted parameter: name, bounds (SI) and the unit used to print it."""

    name: str
    low: float
    high: float
    unit: str = ""
    scale: float = 1.0  # printed value = SI value / scale


_MV, _MS = 1e-3, 1e-3

MODELS = {
    "vrclif": (Parameter("alpha", -0.5, 0.9),
               Parameter("weight_scale", 0.05 * _MV, 10 * _MV, "mV", _MV),
               Parameter("tau_m", 1 * _MS, 60 * _MS, "ms", _MS),
               Parameter("tau_s_ratio", 0.02, 0.9),
               Parameter("v_thr", 1 * _MV, 40 * _MV, "mV", _MV)),
    "adex": (Parameter("tau_m", 1 * _MS, 60 * _MS, "ms", _MS),
             Parameter("weight_scale", 0.05 * _MV, 10 * _MV, "mV", _MV),
             Parameter("VT", 1 * _MV, 40 * _MV, "mV", _MV),
             Parameter("DeltaT", 0.3 * _MV, 6 * _MV, "mV", _MV),
             Parameter("a", 0.0, 1.0),
             Parameter("tau_w", 10 * _MS, 300 * _MS, "ms", _MS),
             Parameter("b", 0.0, 10 * _MV, "mV", _MV),
             Parameter("V_reset", -20 * _MV, 15 * _MV, "mV", _MV)),
}
MODELS["clif"] = MODELS["vrclif"][1:]


def _check_kind(kind: str):
    if kind not in MODELS:
        raise ValueError(f"kind must be one of {sorted(MODELS)}, got {kind!r}")


def _columns(kind: str, theta: np.ndarray) -> dict:
    """Per-neuron parameter arrays of the candidates ``theta`` (n, n_params)."""
    names = [p.name for p in MODELS[kind]]
    columns = {name: theta[:, k] for k, name in enumerate(names)}
    if kind in ("vrclif", "clif"):
        columns["tau_s"] = columns["tau_m"] * columns["tau_s_ratio"]
        columns.setdefault("alpha", np.zeros(len(theta)))
    return columns


def params_dict(kind: str, theta) -> dict:
    """The parameters of one candidate ``theta`` (n_params,) by name, SI floats (tau_s included)."""
    _check_kind(kind)
    return {k: float(v[0]) for k, v in _columns(kind, np.atleast_2d(np.asarray(theta, float))).items()}


def theta_from_params(kind: str, params: dict) -> np.ndarray:
    """The inverse of :func:`params_dict`: a parameter vector from a dict (tau_s accepted
    in place of tau_s_ratio)."""
    _check_kind(kind)
    params = dict(params)
    if "tau_s_ratio" not in params and "tau_s" in params:
        params["tau_s_ratio"] = params["tau_s"] / params["tau_m"]
    missing = [p.name for p in MODELS[kind] if p.name not in params]
    if missing:
        raise ValueError(f"params for {kind!r} lack {missing}")
    return np.array([params[p.name] for p in MODELS[kind]], float)


def simulate_candidates(kind: str, theta, inputs: SynapticInput, *, dt=0.1 * ms, tau_syn=5 * ms,
                        target: str = "numpy") -> Recording:
    """Simulate one neuron per row of ``theta`` (n, n_params) on ``inputs``, in one Brian2 run.

    Returns the voltages (relative to rest, volts, one sample per ``dt``; the VR-C-LIF's U
    before reset) and the spike times of all candidates.
    """
    _check_kind(kind)
    theta = np.atleast_2d(np.asarray(theta, float))
    if theta.shape[1] != len(MODELS[kind]):
        raise ValueError(f"theta must have {len(MODELS[kind])} columns for {kind!r} "
                         f"({[p.name for p in MODELS[kind]]}), got shape {theta.shape}")
    dt_s = to_si(dt, second, "dt")
    ratio = inputs.grid / dt_s
    if abs(ratio - round(ratio)) > 1e-9 or round(ratio) < 1:
        raise ValueError(f"dt must divide the input grid ({inputs.grid * 1e3:g} ms), got {dt_s * 1e3:g} ms")
    n, columns = len(theta), _columns(kind, theta)
    source = inputs.generator(dt=dt_s * second)
    if kind == "adex":
        group = adex_group(n, AdExParams(), dt=dt_s * second, tau_syn=tau_syn)
        for name in ("tau_m", "tau_w"):
            setattr(group, name, columns[name] * second)
        for name in ("weight_scale", "VT", "DeltaT", "b", "V_reset"):
            setattr(group, name, columns[name] * volt)
        group.a = columns["a"]
        synapses = Synapses(source, group, "weight : 1", on_pre="s_post += weight", dt=dt_s * second,
                            name="adex_inputs*")
        synapses.connect()
        synapses.weight = np.repeat(inputs.weights, n)  # connect() orders synapses by (pre, post)
        voltage = StateMonitor(group, "V", record=True)
        variable = "V"
    else:
        group = vr_neuron_group(n, VRParams(dt=dt_s), model=VR_CLIF, name="candidates*")
        group.tau_m = columns["tau_m"] * second
        group.tau_s = columns["tau_s"] * second
        group.v_thr = columns["v_thr"] * volt
        group.alpha = columns["alpha"]
        synapses = connect_layers(source, group, np.outer(columns["weight_scale"], inputs.weights),
                                  name="candidate_inputs*")
        voltage = StateMonitor(group, "U", record=True, when="before_resets")
        variable = "U"
    spikes = SpikeMonitor(group)
    with codegen_target(target):
        Network(source, group, synapses, voltage, spikes).run(inputs.duration * second, namespace={})
    trains = spikes.spike_trains()
    return Recording(dt=dt_s, v=np.asarray(getattr(voltage, variable + "_")),
                     spikes=tuple(np.asarray(trains[k] / second) for k in range(n)), duration=inputs.duration)


def evaluate(candidates: Recording, reference: Recording, *, window=2 * ms, voltage_weight: float = 0.02):
    """Gamma, subthreshold voltage error (volts) and loss of every candidate against the
    reference's first neuron. Candidates whose rate leaves Gamma undefined (2*rate*window
    >= 1) count as Gamma = -1; those with no sample left for the voltage error as 50 mV."""
    if reference.v.shape[1] != candidates.v.shape[1] or reference.dt != candidates.dt:
        raise ValueError(f"candidates and reference must share the time grid: {candidates.v.shape[1]} samples of "
                         f"{candidates.dt} s vs {reference.v.shape[1]} of {reference.dt} s")
    data, v_data = reference.spikes[0], reference.v[0]
    gamma = np.array([gamma_factor(s, data, reference.duration, window) for s in candidates.spikes])
    error = np.array([subthreshold_voltage_error(v, v_data, reference.dt, s, data)
                      for v, s in zip(candidates.v, candidates.spikes, strict=True)])
    gamma_used = np.where(np.isnan(gamma), -1.0, gamma)
    error_used = np.where(np.isnan(error), 50e-3, error)
    return gamma, error, 1.0 - gamma_used + voltage_weight * error_used / 1e-3


@dataclasses.dataclass(frozen=True)
class FitResult:
    """Outcome of :func:`fit`: best parameters (SI, by name), its training scores, the best
    loss after each generation, and the number of simulations and candidates run."""

    kind: str
    params: dict
    theta: np.ndarray
    loss: float
    gamma: float
    voltage_error: float
    history: tuple
    simulations: int
    candidates: int


def fit(kind: str, inputs: SynapticInput, reference: Recording, *, dt=0.1 * ms, tau_syn=5 * ms,
        popsize: int = 8, maxiter: int = 30, seed: int = 0, voltage_weight: float = 0.02, bounds=None,
        target: str = "numpy", tol: float = 1e-3, progress=None) -> FitResult:
    """Fit model ``kind`` to the reference neuron ``reference`` (one neuron) driven by ``inputs``.

    Parameters
    ----------
    kind : {"vrclif", "clif", "adex"}
    inputs : SynapticInput
        Training input; ``reference`` must be the response to it, sampled every ``dt``.
    dt, tau_syn : Quantity
        Step of the reduced model; decay of the synaptic current (AdEx; the VR-C-LIF fits tau_s).
    popsize, maxiter, seed, tol :
        Passed to ``scipy.optimize.differential_evolution`` (population popsize * n_params).
    voltage_weight : float
        lambda of the loss, per mV of subthreshold error.
    bounds : dict, optional
        name -> (low, high) in SI, overriding :data:`MODELS`' bounds.
    target : str
        Brian2 code-generation target of the candidate simulations.
    progress : callable, optional
        Called as ``progress(generation, best_loss)`` after every generation.
    """
    _check_kind(kind)
    if len(reference) != 1:
        raise ValueError(f"reference must hold one neuron, got {len(reference)}")
    if int(popsize) < 2 or int(maxiter) < 1:
        raise ValueError(f"popsize must be >= 2 and maxiter >= 1, got {popsize}, {maxiter}")
    spec = MODELS[kind]
    bounds = dict(bounds or {})
    unknown = set(bounds) - {p.name for p in spec}
    if unknown:
        raise ValueError(f"bounds name parameters {sorted(unknown)} that {kind!r} does not have")
    box = [bounds.get(p.name, (p.low, p.high)) for p in spec]
    counts = {"simulations": 0, "candidates": 0}
    history = []

    def objective(x):  # x: (n_params, S), one column per candidate
        recording = simulate_candidates(kind, x.T, inputs, dt=dt, tau_syn=tau_syn, target=target)
        counts["simulations"] += 1
        counts["candidates"] += x.shape[1]
        return evaluate(recording, reference, voltage_weight=voltage_weight)[2]

    def callback(intermediate_result):
        history.append(float(intermediate_result.fun))
        if progress is not None:
            progress(len(history), history[-1])

    result = differential_evolution(objective, box, popsize=int(popsize), maxiter=int(maxiter), seed=seed,
                                    vectorized=True, updating="deferred", polish=False, tol=tol,
                                    init="latinhypercube", callback=callback)
    best = simulate_candidates(kind, result.x[None, :], inputs, dt=dt, tau_syn=tau_syn, target=target)
    gamma, error, loss = evaluate(best, reference, voltage_weight=voltage_weight)
    return FitResult(kind=kind, params=params_dict(kind, result.x), theta=np.asarray(result.x), loss=float(loss[0]),
                     gamma=float(gamma[0]), voltage_error=float(error[0]), history=tuple(history),
                     simulations=counts["simulations"], candidates=counts["candidates"])


def score(kind: str, params, inputs: SynapticInput, reference: Recording, *, dt=0.1 * ms, tau_syn=5 * ms,
          target: str = "numpy"):
    """Gamma and subthreshold voltage error (volts) of one parameter set (dict or vector) on
    ``inputs`` against ``reference``; returns (gamma, voltage_error, recording)."""
    theta = theta_from_params(kind, params) if isinstance(params, dict) else np.asarray(params, float)
    recording = simulate_candidates(kind, theta[None, :], inputs, dt=dt, tau_syn=tau_syn, target=target)
    gamma, error, _ = evaluate(recording, reference)
    return float(gamma[0]), float(error[0]), recording
