"""Fit a reduced neuron to a recording and score it on the held-out rest (``vr-brian fit``,
:mod:`vr_brian_app.fit`, is its command line).

The recording holds the time, the input (an injected current or input spike times) and the
response (voltage and/or spike times, optionally repeated trials); the formats are those of
:mod:`vr_brian.datafile`. The model (``vrclif``, ``clif`` or ``adex``; ``--hold`` adds a
fitted holding input to the first two) is fitted on the first ``--train-fraction`` of the
recording by :func:`vr_brian.fitting.fit` and scored on the rest: the coincidence factor
Gamma (2 ms, mean over trials), the normalised Gamma where trials repeat, and the
subthreshold voltage error. The results hold the fitted parameters with units, the scores and the time taken;
:func:`fit_figure` draws input, voltages and spike rasters on the held-out part. Quantities
take Brian2 units; a bare number is refused.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from brian2 import second, volt

from .datafile import TraceData
from .fitting import MODELS, TARGETS, CandidateSimulator, fit, model_parameters, simulate_candidates, theta_from_params
from .hh import CurrentInput, SynapticInput
from .io import save_figure
from .params import to_si
from .spike_metrics import Recording, gamma_factor, intrinsic_reliability, subthreshold_mask

__all__ = ["fit_recording", "fit_figure", "FIGURE_NAME", "RESULTS_NAME"]

FIGURE_NAME, RESULTS_NAME = "fit.png", "results.json"
_WINDOW = 2e-3  # Gamma's precision, seconds


def _window(data: TraceData, start: int, stop: int, v_rest: float) -> tuple:
    """(input, reference Recording relative to v_rest) for samples [start, stop)."""
    t0, t1 = start * data.dt, stop * data.dt
    if isinstance(data.inputs, CurrentInput):
        inputs = data.inputs.window(start, stop)
    else:
        keep = (data.inputs.times >= t0 - 1e-12) & (data.inputs.times < t1 - 1e-12)
        inputs = SynapticInput(
            indices=data.inputs.indices[keep],
            times=data.inputs.times[keep] - t0,
            weights=data.inputs.weights,
            duration=t1 - t0,
            grid=data.inputs.grid,
        )
    v = None if data.voltage is None else data.voltage[:, start:stop] - v_rest
    spikes = tuple(s[(s >= t0) & (s < t1)] - t0 for s in data.spikes)
    # a reference without voltage has v=None, which fitting.evaluate handles; Recording.v is annotated ndarray
    return inputs, Recording(dt=data.dt, v=v, spikes=spikes, duration=t1 - t0)  # type: ignore[arg-type]


def _resting_guess(data: TraceData, stop: int) -> float:
    """Median voltage of the first ``stop`` samples away from spikes (the start of a fitted rest)."""
    assert data.voltage is not None  # called only for a recording with voltage
    keep = subthreshold_mask(stop, data.dt, [s[s < stop * data.dt] for s in data.spikes])
    v = data.voltage[:, :stop].mean(axis=0)
    return float(np.median(v[keep] if keep.any() else v))


def _formatted(kind: str, form: str, hold: bool, params: dict) -> dict:
    spec = {p.name: p for p in model_parameters(kind, form, hold)}
    units = {"tau_s": ("ms", 1e-3), "u_rest": ("mV", 1e-3), "alpha": ("", 1.0)}
    out = {}
    for name, value in params.items():
        unit, scale = (spec[name].unit, spec[name].scale) if name in spec else units.get(name, ("", 1.0))
        out[name] = {"value": value / scale, "unit": unit}
    return out


def fit_recording(
    data: TraceData,
    model: str = "vrclif",
    *,
    train_fraction: float = 0.5,
    hold: bool = False,
    dt=None,
    v_rest=None,
    popsize: int = 8,
    maxiter: int = 30,
    seed: int = 0,
    voltage_weight: float = 0.02,
    target: str = "cpp_standalone",
    progress=None,
) -> tuple:
    """Fit ``model`` to the first ``train_fraction`` of ``data``; score it on the rest.

    Parameters
    ----------
    data : TraceData
        From :func:`vr_brian.datafile.load_recording`.
    model : {"vrclif", "clif", "adex"}
    train_fraction : float
        Share of the recording, from its start, used for fitting; in (0, 1).
    hold : bool
        Fit a holding input too (vrclif, clif; :func:`vr_brian.fitting.model_parameters`).
    dt : Quantity, optional
        Step of the reduced model; it must divide the recording's step (default: that step).
    v_rest : Quantity, optional
        The neuron's resting potential; by default each candidate's rest is fitted to the
        voltage (:func:`vr_brian.fitting.evaluate`'s ``fit_offset``).
    popsize, maxiter, seed, voltage_weight, target :
        As in :func:`vr_brian.fitting.fit`.

    Returns
    -------
    (dict, Recording, int)
        The results (JSON-ready), the fitted model on the whole recording, and the first
        held-out sample.
    """
    if model not in MODELS:
        raise ValueError(f"model must be one of {sorted(MODELS)}, got {model!r}")
    if not 0 < float(train_fraction) < 1:
        raise ValueError(f"train_fraction must lie in (0, 1), got {train_fraction}")
    if target not in TARGETS:
        raise ValueError(f"target must be one of {TARGETS}, got {target!r}")
    form = "current" if isinstance(data.inputs, CurrentInput) else "synaptic"
    model_parameters(model, form, hold)  # refuses hold for adex before any work
    dt_s = data.dt if dt is None else to_si(dt, second, "dt", bare=False)
    if abs(data.dt / dt_s - round(data.dt / dt_s)) > 1e-6 or round(data.dt / dt_s) < 1:
        raise ValueError(f"dt must divide the recording's step ({data.dt * 1e3:g} ms), got {dt_s * 1e3:g} ms")
    split = int(round(float(train_fraction) * data.steps))
    for name, (a, b) in {"training": (0, split), "held-out": (split, data.steps)}.items():
        if not any(np.any((s >= a * data.dt) & (s < b * data.dt)) for s in data.spikes):
            raise ValueError(
                f"the {name} part ({a * data.dt:g}-{b * data.dt:g} s) holds no spike: "
                f"choose another train_fraction (now {train_fraction})"
            )
    if data.voltage is None:
        v_zero, fit_offset = 0.0, False
    elif v_rest is None:
        v_zero, fit_offset = _resting_guess(data, split), True
    else:
        v_zero, fit_offset = to_si(v_rest, volt, "v_rest", bare=False), False

    train_inputs, train_reference = _window(data, 0, split, v_zero)
    record_every = max(1, int(round(1e-3 / data.dt)))  # voltage compared every ~1 ms
    n = int(popsize) * len(model_parameters(model, form, hold))
    simulator = CandidateSimulator(
        model,
        n,
        int(round(split * data.dt / dt_s)),
        form,
        hold=hold,
        dt=dt_s * second,
        record_dt=record_every * data.dt * second,
        target=target,
    )
    try:
        result = fit(
            model,
            train_inputs,
            train_reference,
            dt=dt_s * second,
            popsize=popsize,
            maxiter=maxiter,
            seed=seed,
            voltage_weight=voltage_weight,
            hold=hold,
            fit_offset=fit_offset,
            simulator=simulator,
            progress=progress,
        )
    finally:
        simulator.close()
    start = time.perf_counter()
    whole = simulate_candidates(
        model, theta_from_params(model, result.params, form)[None, :], data.inputs, dt=dt_s * second, target=target
    )
    score_seconds = time.perf_counter() - start
    offset = result.voltage_offset

    t_split = split * data.dt
    test_duration = data.duration - t_split
    model_test = whole.spikes[0][whole.spikes[0] >= t_split - 1e-12] - t_split
    data_test = [s[s >= t_split] - t_split for s in data.spikes]
    gammas = [gamma_factor(model_test, trial, test_duration, _WINDOW) for trial in data_test]
    reliability = intrinsic_reliability(data_test, test_duration, _WINDOW)
    voltage_error = None
    if data.voltage is not None:
        every = int(round(data.dt / dt_s))
        v_model = whole.v[0, ::every][split : data.steps] + offset
        v_data = data.voltage[:, split:].mean(axis=0) - v_zero
        keep = subthreshold_mask(len(v_data), data.dt, data_test + [model_test])
        voltage_error = float(np.sqrt(np.mean((v_model[keep] - v_data[keep]) ** 2))) * 1e3 if keep.any() else None
    results = {
        "model": model,
        "hold": hold,
        "input": form,
        "dt_ms": dt_s * 1e3,
        "recording_dt_ms": data.dt * 1e3,
        "trials": data.trials,
        "train_s": [0.0, t_split],
        "test_s": [t_split, data.duration],
        "params": _formatted(model, form, hold, result.params),
        "params_si": result.params,
        "v_rest_mV": (v_zero + offset) * 1e3 if data.voltage is not None else None,
        "v_rest_fitted": fit_offset,
        "train_gamma": result.gamma,
        "train_voltage_error_mV": result.voltage_error * 1e3 if data.voltage is not None else None,
        "test_gamma": float(np.mean(gammas)),
        "test_gamma_per_trial": gammas,
        "test_normalised_gamma": float(np.mean(gammas)) / reliability if data.trials > 1 else None,
        "intrinsic_reliability": reliability if data.trials > 1 else None,
        "test_voltage_error_mV": voltage_error,
        "test_rate_model_Hz": len(model_test) / test_duration,
        "test_rate_data_Hz": float(np.mean([len(s) for s in data_test])) / test_duration,
        "fit_seconds": result.seconds,
        "compile_seconds": result.compile_seconds,
        "score_seconds": score_seconds,
        "simulations": result.simulations,
        "candidates": result.candidates,
        "history": list(result.history),
        "config": {
            "train_fraction": float(train_fraction),
            "popsize": int(popsize),
            "maxiter": int(maxiter),
            "seed": int(seed),
            "voltage_weight_per_mV": float(voltage_weight),
            "target": target,
        },
    }
    shifted = Recording(dt=whole.dt, v=whole.v + offset + v_zero, spikes=whole.spikes, duration=whole.duration)
    return results, shifted, split


def fit_figure(data: TraceData, model_recording: Recording, split: int, results: dict, path: Path):
    import matplotlib.pyplot as plt

    start = split * data.dt
    stop = min(data.duration, start + 1.0)
    t = np.arange(data.steps) * data.dt
    shown = (t >= start) & (t < stop)
    rows = 3 if data.voltage is not None else 2
    fig, axes = plt.subplots(
        rows, 1, figsize=(10, 2.0 * rows + 1), sharex=True, gridspec_kw={"height_ratios": [1] + [2] * (rows - 2) + [1]}
    )
    if isinstance(data.inputs, CurrentInput):
        axes[0].plot(t[shown], data.inputs.current[shown] * 1e9, color="0.3", lw=0.6)
        axes[0].set_ylabel("current (nA)")
    else:
        axes[0].eventplot(
            [data.inputs.times[(data.inputs.times >= start) & (data.inputs.times < stop)]],
            colors="0.3",
            linelengths=0.8,
        )
        axes[0].set_ylabel("input spikes")
        axes[0].set_yticks([])
    if data.voltage is not None:
        every = max(1, int(round(data.dt / model_recording.dt)))
        axes[1].plot(t[shown], data.voltage[0, shown] * 1e3, color="0.2", lw=0.7, label="data (trial 1)")
        axes[1].plot(
            t[shown],
            model_recording.v[0, ::every][: data.steps][shown] * 1e3,
            color="tab:red",
            lw=0.8,
            label=f"{results['model']} (fitted)",
        )
        axes[1].set_ylabel("voltage (mV)")
        axes[1].legend(fontsize=8, loc="upper right")
        low = np.percentile(data.voltage[0, shown] * 1e3, 0.5)
        axes[1].set_ylim(low - 5, max(np.percentile(data.voltage[0, shown] * 1e3, 99.5), low + 10) + 10)
    raster = axes[-1]
    trains = [s[(s >= start) & (s < stop)] for s in data.spikes]
    model_train = model_recording.spikes[0]
    raster.eventplot(
        trains + [model_train[(model_train >= start) & (model_train < stop)]],
        colors=["0.2"] * len(trains) + ["tab:red"],
        linelengths=0.8,
    )
    raster.set_yticks(range(len(trains) + 1), [f"trial {k + 1}" for k in range(len(trains))] + ["model"])
    raster.set_xlabel("time (s), start of the held-out part")
    raster.set_xlim(start, stop)
    gamma = results["test_gamma"]
    error = results["test_voltage_error_mV"]
    fig.suptitle(
        f"{results['model']}{' + holding input' if results['hold'] else ''} on held-out data: Gamma "
        f"{gamma:.2f}" + (f", subthreshold voltage error {error:.1f} mV" if error is not None else ""),
        fontsize=10,
    )
    return save_figure(fig, path)
