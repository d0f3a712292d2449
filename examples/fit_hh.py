"""Fit a VR-C-LIF neuron to a Hodgkin-Huxley trace, then predict the HH spikes on held-out input.

1. A squid-axon HH neuron (``vr_brian.hh.SQUID``) is driven by 40 excitatory and 10 inhibitory
   Poisson trains through an exponential synaptic current; its voltage (relative to rest) and
   spikes are the data (``run_hh``, one Brian2 run for the training and the held-out input).
2. ``vr_brian.fitting.fit("vrclif", ...)``: differential evolution of alpha, the weight scale,
   tau_m, tau_s/tau_m and v_thr, every generation one Brian2 run with one neuron per candidate;
   the loss is 1 - Gamma (coincidence factor, 2 ms window) plus a small subthreshold-voltage term.
3. ``vr_brian.fitting.score``: Gamma of the fitted neuron on the held-out input.

The full study is ``vr-brian study hh_comparison`` (studies/hh_comparison).

    python examples/fit_hh.py [--quick] [--out-dir DIR]      # writes example_fit_hh.png
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from brian2 import cm, ms, prefs, second, uA

from vr_brian.fitting import fit, score
from vr_brian.hh import SQUID, poisson_input, run_hh
from vr_brian.io import save_figure
from vr_brian.spike_metrics import Recording

FIGURES = Path(__file__).resolve().parents[1] / "figures"
DT = 0.2 * ms  # the reduced model's step and the input grid


def _one(recording: Recording, k: int) -> Recording:
    return Recording(
        dt=recording.dt, v=recording.v[k : k + 1], spikes=(recording.spikes[k],), duration=recording.duration
    )


def run(quick: bool = False) -> dict:
    # quick: a coarser step of the HH integration too (exponential Euler at 0.05 ms still fires on time)
    duration, hh_dt, popsize, maxiter = (0.2 * second, 0.05 * ms, 2, 2) if quick else (1.5 * second, 0.025 * ms, 8, 20)
    training, held_out = (poisson_input(40, 10, 10.0, duration, w_inh=2.0, grid=DT, seed=seed) for seed in (0, 1))
    previous, prefs.codegen.target = prefs.codegen.target, "numpy"
    try:
        hh = run_hh(SQUID, [training, held_out], 1.0 * uA / cm**2, dt=hh_dt, record_dt=DT)
        result = fit(
            "vrclif",
            training,
            _one(hh, 0),
            dt=DT,
            popsize=popsize,
            maxiter=maxiter,
            seed=0,
            progress=lambda generation, loss: print(f"generation {generation}: best loss {loss:.3f}", flush=True),
        )
        gamma, voltage_error, recording = score("vrclif", result.params, held_out, _one(hh, 1), dt=DT)
    finally:
        prefs.codegen.target = previous
    return {
        "fit": result,
        "hh": _one(hh, 1),
        "model": recording,
        "held_out_gamma": gamma,
        "held_out_voltage_error": voltage_error,
    }


def plot(result: dict, path) -> Path:
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    hh, model, params = result["hh"], result["model"], result["fit"].params
    t = np.arange(hh.v.shape[1]) * hh.dt * 1e3
    shown = t <= min(600.0, t[-1])
    fig, (ax_v, ax_s, ax_loss) = plt.subplots(
        3, 1, figsize=(10, 7), gridspec_kw=dict(height_ratios=[2.2, 0.8, 1.2]), constrained_layout=True
    )
    ax_v.plot(t[shown], hh.v[0, shown] * 1e3, color="0.3", lw=0.8, label="Hodgkin-Huxley (squid axon)")
    ax_v.plot(t[shown], model.v[0, shown] * 1e3, color="tab:red", lw=0.9, label="fitted VR-C-LIF, U before reset")
    ax_v.axhline(params["v_thr"] * 1e3, color="tab:red", ls=":", lw=0.8, label="fitted v_thr")
    ax_v.set(
        ylim=(-15, 45),
        ylabel="V - V_rest (mV)",
        xlim=(0, t[shown][-1]),
        title=f"held-out input: Gamma {result['held_out_gamma']:.2f} (training {result['fit'].gamma:.2f}); "
        f"alpha {params['alpha']:.2f}, tau_m {params['tau_m'] * 1e3:.1f} ms, tau_s "
        f"{params['tau_s'] * 1e3:.1f} ms, v_thr {params['v_thr'] * 1e3:.1f} mV",
    )
    ax_v.legend(fontsize=8, loc="upper right")
    ax_s.eventplot(
        [hh.spikes[0] * 1e3, model.spikes[0] * 1e3], lineoffsets=[1, 0], colors=["0.3", "tab:red"], linelengths=0.8
    )
    ax_s.set(yticks=[1, 0], yticklabels=["HH", "VR-C-LIF"], xlim=(0, t[shown][-1]), xlabel="time (ms)")
    history = result["fit"].history
    ax_loss.plot(np.arange(1, len(history) + 1), history, "o-", color="tab:red")
    ax_loss.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax_loss.set(
        xlabel="generation of differential evolution",
        ylabel="best loss",
        title="1 - Gamma + 0.02 x subthreshold error (mV), on the training input",
    )
    return save_figure(fig, path)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="0.2 s of input, HH at 0.05 ms, a tiny search (for the tests)"
    )
    parser.add_argument("--out-dir", type=Path, default=FIGURES, help="where the figure goes")
    args = parser.parse_args(argv)
    result = run(args.quick)
    result["figure"] = plot(result, args.out_dir / "example_fit_hh.png")
    print(
        f"held-out Gamma {result['held_out_gamma']:.3f}, subthreshold error "
        f"{result['held_out_voltage_error'] * 1e3:.2f} mV; fitted {result['fit'].params}\nfigure: {result['figure']}"
    )
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
