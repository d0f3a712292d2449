r"""Fit VR-C-LIF, C-LIF and AdEx to Hodgkin-Huxley spike trains; score them on held-out input.

For each HH variant (squid axon, Traub-Miles) one training input and several held-out
inputs (independent Poisson seeds, 40 excitatory trains of weight 1 and 10 inhibitory of
weight -2, at 10 Hz each: few, large inputs, so that the voltage fluctuates strongly and
spike times follow the input) drive the HH neuron through an exponential synaptic current
(tau_syn = 5 ms). Each
reduced model is fitted once on the training input (differential evolution, every
generation one Brian2 run with one neuron per candidate; loss 1 - Gamma + 0.02 per mV of
subthreshold voltage error) and scored on every held-out input: coincidence factor Gamma
(window 2 ms), subthreshold voltage error, rate ratio, and Gamma at a 4 ms window (which
separates timing errors from missing or extra spikes).

Resumable: finished fits are kept in results.json and HH recordings in a cache beside it;
a rerun with the same configuration skips them.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from studies.cli import output_paths, save_figure, study_parser, write_json

NAME = "hh_comparison"
KINDS = ("vrclif", "clif", "adex")
LABELS = {"vrclif": "VR-C-LIF", "clif": "C-LIF", "adex": "AdEx"}
COLOURS = {"vrclif": "tab:red", "clif": "tab:blue", "adex": "tab:green"}
#: Synaptic current per unit weight (uA/cm^2), chosen so that the training input drives
#: each HH variant at 10-20 Hz.
DRIVE = {"squid": 1.0, "traub_miles": 0.45}

FULL = dict(duration=2.0, tests=3, dt_ms=0.2, popsize=10, maxiter=40, variants=("squid", "traub_miles"))
QUICK = dict(duration=0.15, tests=1, dt_ms=0.2, popsize=2, maxiter=1, variants=("squid",))


def _config(args) -> dict:
    config = dict(QUICK if args.quick else FULL)
    for key in ("duration", "tests", "popsize", "maxiter"):
        if getattr(args, key) is not None:
            config[key] = getattr(args, key)
    config["variants"] = list(config["variants"] if args.variants is None else args.variants.split(","))
    config["drive_uA_per_cm2"] = {v: DRIVE[v] for v in config["variants"]}
    config["inputs"] = {"n_exc": 40, "n_inh": 10, "rate_Hz": 10.0, "w_inh": 2.0}
    config["hh_dt_ms"] = 0.025
    config["tau_syn_ms"] = 5.0
    config["window_ms"] = 2.0
    config["voltage_weight_per_mV"] = 0.02
    return config


def _inputs(config):
    from brian2 import ms, second

    from vr_brian.hh import poisson_input

    spec = config["inputs"]
    return [poisson_input(spec["n_exc"], spec["n_inh"], spec["rate_Hz"], config["duration"] * second,
                          w_inh=spec["w_inh"], grid=config["dt_ms"] * ms, seed=seed)
            for seed in range(1 + config["tests"])]


def _hh_recording(variant: str, inputs, config, cache: Path):
    """HH response to every input (one Brian2 run), from the cache when it matches."""
    from brian2 import cm, ms, uA

    from vr_brian.hh import HH_MODELS, run_hh
    from vr_brian.spike_metrics import Recording

    key = repr(sorted((k, str(v)) for k, v in config.items() if k not in ("popsize", "maxiter")))
    if cache.exists():
        stored = np.load(cache, allow_pickle=False)
        if str(stored["key"]) == key:
            spikes = tuple(stored[f"spikes_{k}"] for k in range(len(inputs)))
            return Recording(dt=float(stored["dt"]), v=stored["v"], spikes=spikes, duration=float(stored["duration"]))
    recording = run_hh(HH_MODELS[variant], inputs, config["drive_uA_per_cm2"][variant] * uA / cm**2,
                       dt=config["hh_dt_ms"] * ms, record_dt=config["dt_ms"] * ms, tau_syn=config["tau_syn_ms"] * ms)
    cache.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=cache.parent, prefix=f".{cache.name}.", suffix=".npz")
    os.close(handle)
    np.savez(tmp, key=key, dt=recording.dt, v=recording.v, duration=recording.duration,
             **{f"spikes_{k}": s for k, s in enumerate(recording.spikes)})
    os.replace(tmp, cache)
    return recording


def _select(recording, k: int):
    from vr_brian.spike_metrics import Recording

    return Recording(dt=recording.dt, v=recording.v[k:k + 1], spikes=(recording.spikes[k],),
                     duration=recording.duration)


def _fit_and_score(kind, variant, inputs, hh, config) -> dict:
    from brian2 import ms

    from vr_brian.fitting import fit, score
    from vr_brian.spike_metrics import gamma_factor

    start = time.perf_counter()
    result = fit(kind, inputs[0], _select(hh, 0), dt=config["dt_ms"] * ms, tau_syn=config["tau_syn_ms"] * ms,
                 popsize=config["popsize"], maxiter=config["maxiter"], seed=0,
                 voltage_weight=config["voltage_weight_per_mV"],
                 progress=lambda g, loss: print(f"  {variant} {kind} generation {g}: best loss {loss:.4f}",
                                                flush=True))
    fit_seconds = time.perf_counter() - start
    tests = []
    for k in range(1, len(inputs)):
        reference = _select(hh, k)
        gamma, error, recording = score(kind, result.params, inputs[k], reference, dt=config["dt_ms"] * ms,
                                        tau_syn=config["tau_syn_ms"] * ms)
        tests.append({"seed": k, "gamma": gamma, "voltage_error_mV": error * 1e3,
                      "gamma_window_4ms": gamma_factor(recording.spikes[0], reference.spikes[0],
                                                       reference.duration, 4 * ms),
                      "rate_model_Hz": len(recording.spikes[0]) / reference.duration,
                      "rate_hh_Hz": len(reference.spikes[0]) / reference.duration})
    return {"kind": kind, "variant": variant, "params": result.params, "train_gamma": result.gamma,
            "train_voltage_error_mV": result.voltage_error * 1e3, "train_loss": result.loss,
            "history": list(result.history), "simulations": result.simulations, "candidates": result.candidates,
            "fit_seconds": fit_seconds, "tests": tests,
            "gamma_mean": float(np.mean([t["gamma"] for t in tests])),
            "gamma_sd": float(np.std([t["gamma"] for t in tests], ddof=1)) if len(tests) > 1 else 0.0,
            "voltage_error_mean_mV": float(np.mean([t["voltage_error_mV"] for t in tests])),
            "voltage_error_sd_mV": float(np.std([t["voltage_error_mV"] for t in tests], ddof=1))
            if len(tests) > 1 else 0.0}


def _post_spike_trough(recording, k: int, horizon: float = 30e-3) -> float:
    """Mean over neuron ``k``'s spikes of its lowest voltage (volts) within ``horizon`` after
    each (the depth of its after-hyperpolarisation, or of the reduced model's reset)."""
    steps = int(round(horizon / recording.dt))
    troughs = [recording.v[k, int(round(t / recording.dt)):int(round(t / recording.dt)) + steps].min()
               for t in recording.spikes[k] if int(round(t / recording.dt)) + 1 < recording.v.shape[1]]
    return float(np.mean(troughs)) if troughs else float("nan")


def _diagnostics(kind, inputs, hh, entry, config) -> dict:
    """Where the fitted model's errors lie, on the held-out inputs: the share of its spikes
    that match no HH spike (2 ms), the share of those that fall inside HH's
    after-hyperpolarisation (2-30 ms after an HH spike, where HH cannot fire), the share of
    HH spikes missed, and the mean post-spike trough of HH and of the model (mV)."""
    from brian2 import ms

    from vr_brian.fitting import simulate_candidates, theta_from_params

    unmatched, in_ahp, missed, troughs_model, troughs_hh = [], [], [], [], []
    for k in range(1, len(inputs)):
        recording = simulate_candidates(kind, theta_from_params(kind, entry["params"])[None, :], inputs[k],
                                        dt=config["dt_ms"] * ms, tau_syn=config["tau_syn_ms"] * ms)
        model, data = recording.spikes[0], hh.spikes[k]
        if len(model) and len(data):
            nearest = np.min(np.abs(model[:, None] - data[None, :]), axis=1)
            lonely = model[nearest > 2e-3]
            since = lonely[:, None] - data[None, :]
            ahp = np.any((since > 2e-3) & (since < 30e-3), axis=1)
            unmatched.append(len(lonely) / len(model))
            in_ahp.append(ahp.mean() if len(lonely) else 0.0)
            missed.append(np.mean(np.min(np.abs(data[:, None] - model[None, :]), axis=1) > 2e-3))
        troughs_model.append(_post_spike_trough(recording, 0))
        troughs_hh.append(_post_spike_trough(hh, k))
    return {"model_spikes_unmatched": float(np.mean(unmatched)) if unmatched else None,
            "unmatched_in_hh_ahp": float(np.mean(in_ahp)) if in_ahp else None,
            "hh_spikes_missed": float(np.mean(missed)) if missed else None,
            "post_spike_trough_model_mV": _finite_mean(troughs_model) * 1e3,
            "post_spike_trough_hh_mV": _finite_mean(troughs_hh) * 1e3}


def _finite_mean(values) -> float:
    values = np.asarray(values, float)
    return float(values[np.isfinite(values)].mean()) if np.isfinite(values).any() else float("nan")


def _trace_figure(variant, inputs, hh, fits, config, path):
    import matplotlib.pyplot as plt
    from brian2 import ms

    from vr_brian.fitting import simulate_candidates, theta_from_params
    from vr_brian.hh import HH_MODELS

    reference = _select(hh, 1)
    t = np.arange(reference.v.shape[1]) * reference.dt * 1e3
    shown = t <= min(500.0, t[-1])
    fig, axes = plt.subplots(len(KINDS) + 1, 1, figsize=(10, 2.2 * (len(KINDS) + 1)), sharex=True,
                             gridspec_kw={"height_ratios": [1.6] * len(KINDS) + [1]})
    recordings = {}
    for ax, kind in zip(axes, KINDS, strict=False):   # the last axes: the input
        entry = fits[kind]
        theta = theta_from_params(kind, entry["params"])[None, :]
        recording = recordings[kind] = simulate_candidates(kind, theta, inputs[1], dt=config["dt_ms"] * ms,
                                                           tau_syn=config["tau_syn_ms"] * ms)
        ax.plot(t[shown], reference.v[0, shown] * 1e3, color="0.3", lw=0.8, label=f"HH ({variant})")
        ax.plot(t[shown], recording.v[0, shown] * 1e3, color=COLOURS[kind], lw=0.9,
                label=f"{LABELS[kind]} (Gamma {entry['tests'][0]['gamma']:.2f})")
        if kind != "adex":
            ax.axhline(entry["params"]["v_thr"] * 1e3, color=COLOURS[kind], ls=":", lw=0.8)
        ax.set_ylim(-15, 45)
        ax.set_ylabel("V - V_rest (mV)")
        ax.legend(loc="upper right", fontsize=8, ncol=2)
    raster = axes[-1]
    raster.eventplot([reference.spikes[0] * 1e3], lineoffsets=3, colors="0.2", linelengths=0.8)
    for row, kind in enumerate(KINDS):
        raster.eventplot([recordings[kind].spikes[0] * 1e3], lineoffsets=2 - row, colors=COLOURS[kind],
                         linelengths=0.8)
    raster.set_yticks([3, 2, 1, 0], ["HH"] + [LABELS[k] for k in KINDS])
    raster.set_ylim(-0.6, 3.6)
    raster.set_xlim(0, t[shown][-1])
    raster.set_xlabel("time (ms), held-out input")
    fig.suptitle(f"{HH_MODELS[variant].description}: fitted reduced models on held-out input "
                 f"(HH spikes clipped at 45 mV above rest)", fontsize=10)
    save_figure(fig, path)


def _gamma_figure(results, config, path):
    import matplotlib.pyplot as plt

    variants = config["variants"]
    fig, ax = plt.subplots(figsize=(7, 3.6))
    width = 0.8 / len(KINDS)
    for j, kind in enumerate(KINDS):
        entries = [results["fits"][f"{v}/{kind}"] for v in variants]
        x = np.arange(len(variants)) + (j - 1) * width
        ax.bar(x, [e["gamma_mean"] for e in entries], width, yerr=[e["gamma_sd"] for e in entries], capsize=3,
               label=LABELS[kind], color=COLOURS[kind])
        for xi, e in zip(x, entries, strict=True):
            ax.plot([xi] * len(e["tests"]), [t["gamma"] for t in e["tests"]], "k.", ms=3)
    ax.axhline(0.8, color="k", ls="--", lw=0.8, label="target 0.8")
    ax.set_xticks(np.arange(len(variants)), variants)
    ax.set_ylabel("Gamma on held-out input (window 2 ms)")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=8, loc="upper right", ncol=2)
    ax.set_title("Coincidence factor: mean and sd over held-out input seeds (dots: seeds)", fontsize=9)
    save_figure(fig, path)


def main(argv=None) -> int:
    parser = study_parser(NAME, __doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=None, help="seconds per input (training and each test)")
    parser.add_argument("--tests", type=int, default=None, help="number of held-out input seeds")
    parser.add_argument("--popsize", type=int, default=None, help="differential evolution popsize multiplier")
    parser.add_argument("--maxiter", type=int, default=None, help="differential evolution generations")
    parser.add_argument("--variants", default=None, help="comma-separated HH variants (squid,traub_miles)")
    args = parser.parse_args(argv)
    from brian2 import prefs

    prefs.codegen.target = "numpy"  # no compiler needed; every run here is one group of candidates
    config = _config(args)
    unknown = set(config["variants"]) - set(DRIVE)
    if unknown:
        parser.error(f"unknown variants {sorted(unknown)}; choose from {sorted(DRIVE)}")
    results_path, figures_dir = output_paths(NAME, args)
    results = {"config": config, "fits": {}}
    if results_path.exists():
        import json

        previous = json.loads(results_path.read_text())
        if previous.get("config") == json.loads(__import__("json").dumps(config)):
            results = previous
    inputs = _inputs(config)
    for variant in config["variants"]:
        start = time.perf_counter()
        hh = _hh_recording(variant, inputs, config, results_path.parent / f".hh_cache_{variant}.npz")
        print(f"{variant}: HH rates {np.round([len(s) / hh.duration for s in hh.spikes], 1)} Hz "
              f"({time.perf_counter() - start:.0f} s)", flush=True)
        for kind in KINDS:
            key = f"{variant}/{kind}"
            if key in results["fits"]:
                continue
            results["fits"][key] = _fit_and_score(kind, variant, inputs, hh, config)
            entry = results["fits"][key]
            print(f"{key}: train Gamma {entry['train_gamma']:.3f}, held-out Gamma {entry['gamma_mean']:.3f} "
                  f"+- {entry['gamma_sd']:.3f}, V error {entry['voltage_error_mean_mV']:.2f} mV "
                  f"({entry['fit_seconds']:.0f} s)", flush=True)
            write_json(results_path, results)
        for kind in KINDS:
            entry = results["fits"][f"{variant}/{kind}"]
            if "diagnostics" not in entry:
                entry["diagnostics"] = _diagnostics(kind, inputs, hh, entry, config)
                write_json(results_path, results)
        _trace_figure(variant, inputs, hh, {k: results["fits"][f"{variant}/{k}"] for k in KINDS}, config,
                      figures_dir / f"{NAME}_traces_{variant}.png")
    _gamma_figure(results, config, figures_dir / f"{NAME}_gamma.png")
    results["summary"] = {key: {"gamma_mean": e["gamma_mean"], "gamma_sd": e["gamma_sd"],
                                "voltage_error_mean_mV": e["voltage_error_mean_mV"], "train_gamma": e["train_gamma"]}
                          for key, e in results["fits"].items()}
    write_json(results_path, results)
    print(f"wrote {results_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
