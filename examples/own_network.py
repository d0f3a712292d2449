"""The VR-C-LIF neuron in a Brian2 network of one's own: Poisson input, sparse random synapses, magic run().

Written as a Brian2 user writes a network: a PoissonGroup at dt = 0.1 ms, a hidden layer of
VR-C-LIF neurons behind synapses connected at random with weights in mV (``vr_synapses``, then
``connect`` and ``w`` as for any Synapses), an all-to-all readout (``connect_layers``), monitors
in the ``before_resets`` slot, and Brian2's magic ``run()``. The recorded input spikes are then
put through the numpy reference of the iterative model with the weights read back from Brian2:
the two agree to rounding.

    python examples/own_network.py [--quick] [--out-dir DIR]      # writes example_own_network.png
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from brian2 import Hz, PoissonGroup, SpikeMonitor, StateMonitor, ms, mV, prefs, run, second, seed, start_scope, volt

from vr_brian import VRParams, connect_layers, forward, vr_neuron_group, vr_synapses
from vr_brian.io import save_figure
from vr_brian.traces import spike_array

FIGURES = Path(__file__).resolve().parents[1] / "figures"


def run_network(quick: bool = False) -> dict:
    start_scope()
    prefs.codegen.target = "numpy"
    seed(4)
    n_in, n_hidden, n_out = (100, 30, 3) if quick else (100, 80, 5)
    duration = (100 if quick else 300) * ms
    params = VRParams(tau_m=20 * ms, tau_s=5 * ms, v_thr=1 * volt, alpha=0.3, dt=0.1 * ms)

    inputs = PoissonGroup(n_in, rates=15 * Hz, dt=params.dt * second)
    hidden = vr_neuron_group(n_hidden, params, name="hidden")
    output = vr_neuron_group(n_out, params, fires=False, name="output")
    into_hidden = vr_synapses(inputs, hidden)
    into_hidden.connect(p=0.5)
    into_hidden.w = "(60 + 80*randn())*mV"
    readout = connect_layers(hidden, output, np.random.default_rng(4).normal(40, 30, (n_out, n_hidden)) * mV)
    input_spikes, hidden_spikes = SpikeMonitor(inputs), SpikeMonitor(hidden)
    hidden_U = StateMonitor(hidden, "U", record=True, when="before_resets")
    output_U = StateMonitor(output, "U", record=True, when="before_resets")
    run(duration)

    # the same input through the numpy reference, weights read back from Brian2
    steps = int(round(duration / (params.dt * second)))
    W = np.zeros((n_hidden, n_in))
    np.add.at(W, (np.asarray(into_hidden.j), np.asarray(into_hidden.i)), np.asarray(into_hidden.w_))
    readout_W = np.zeros((n_out, n_hidden))
    readout_W[np.asarray(readout.j), np.asarray(readout.i)] = np.asarray(readout.w_)
    spikes = spike_array(input_spikes, 1, steps, n_in, params.dt)
    reference = forward([W, readout_W], spikes, params, check=True)
    fired = spike_array(hidden_spikes, 1, steps, n_hidden, params.dt)
    return {
        "params": params,
        "t": np.asarray(hidden_U.t_),
        "input": (np.asarray(input_spikes.t_), np.asarray(input_spikes.i)),
        "hidden": (np.asarray(hidden_spikes.t_), np.asarray(hidden_spikes.i)),
        "hidden_U": np.asarray(hidden_U.U_),
        "output_U": np.asarray(output_U.U_),
        "hidden_spike_count": int(hidden_spikes.num_spikes),
        "reference_spike_count": int(reference.P[0].sum()),
        "spikes_equal_reference": bool(np.array_equal(fired, reference.P[0])),
        "max_abs_dU_vs_reference": max(
            float(np.abs(hidden_U.U_.T - reference.U[0][0]).max()),
            float(np.abs(output_U.U_.T - reference.U[1][0]).max()),
        ),
    }


def plot(result: dict, path) -> Path:
    from matplotlib.figure import Figure

    t = result["t"] * 1e3
    fig = Figure(figsize=(9, 9), constrained_layout=True)
    axes = fig.subplots(4, 1, sharex=True, gridspec_kw=dict(height_ratios=[1, 1.2, 1.2, 1]))
    for ax, (times, index), title in (
        (axes[0], result["input"], "input: PoissonGroup, 15 Hz"),
        (axes[1], result["hidden"], "hidden layer: VR-C-LIF, alpha = 0.3"),
    ):
        ax.plot(times * 1e3, index, "|", color="0.2", ms=3)
        ax.set(ylabel="neuron", title=title)
    for j, colour in zip(range(3), ("tab:blue", "tab:orange", "tab:green"), strict=True):
        axes[2].plot(t, result["hidden_U"][j], color=colour, lw=0.8, label=f"hidden neuron {j}")
    axes[2].axhline(result["params"].v_thr, color="k", ls="--", lw=0.7, label="v_thr")
    axes[2].set(ylabel="U (V)", title="hidden voltage U, recorded in before_resets (before the reset)")
    axes[2].legend(fontsize=7, loc="upper right", ncol=4)
    for j, U in enumerate(result["output_U"]):
        axes[3].plot(t, U, lw=0.8, label=f"output {j}")
    axes[3].set(xlabel="time (ms)", ylabel="U (V)", title="readout layer (connect_layers; it neither fires nor resets)")
    axes[3].legend(fontsize=7, loc="upper right", ncol=5)
    fig.suptitle(
        f"Brian2 {result['hidden_spike_count']} hidden spikes, numpy reference "
        f"{result['reference_spike_count']}; max |dU| = {result['max_abs_dU_vs_reference']:.1e} V",
        fontsize=10,
    )
    return save_figure(fig, path)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smaller network and a shorter run (for the tests)")
    parser.add_argument("--out-dir", type=Path, default=FIGURES, help="where the figure goes")
    args = parser.parse_args(argv)
    previous = prefs.codegen.target
    try:
        result = run_network(args.quick)
    finally:
        prefs.codegen.target = previous
    result["figure"] = plot(result, args.out_dir / "example_own_network.png")
    print(
        f"hidden spikes: Brian2 {result['hidden_spike_count']}, reference {result['reference_spike_count']} "
        f"(identical: {result['spikes_equal_reference']}); max |dU| {result['max_abs_dU_vs_reference']:.1e} V\n"
        f"figure: {result['figure']}"
    )
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
