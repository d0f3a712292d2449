"""A single VR-C-LIF neuron: the variable resistance R(t) and the PSP it scales.

Pairs of neurons get the same conditioning spike (weight c, from -1.2 V to 1.2 V, which moves U
up or down); one neuron of each pair also gets a probe spike of weight w = 0.2 V at the peak of
the conditioning PSP. Their difference is the probe's PSP alone: after the probe nothing else
arrives, so its amplitude is w * R at the probe's arrival, R = 1 - alpha*U(t-1)/v_thr. The
neurons are an output layer (no threshold), so U can pass v_thr; alpha is set per neuron, 0 for
C-LIF and 0.3 for VR-C-LIF, in one group.

    python examples/single_neuron.py [--quick] [--out-dir DIR]      # writes example_single_neuron.png
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from brian2 import Network, SpikeGeneratorGroup, StateMonitor, ms, prefs, second, volt

from vr_brian import VRParams, vr_neuron_group, vr_synapses
from vr_brian.io import save_figure

FIGURES = Path(__file__).resolve().parents[1] / "figures"
ALPHAS = (0.0, 0.3)
PROBE = 0.2  # volts


def run(quick: bool = False) -> dict:
    """Simulate every (alpha, conditioning weight, with or without probe) neuron; return traces and PSPs."""
    params = VRParams(tau_m=20 * ms, tau_s=5 * ms, v_thr=1 * volt, dt=0.1 * ms)
    conditioning = np.linspace(-1.2, 1.2, 4 if quick else 9)
    steps = 400 if quick else 800
    t_peak = params.tau_m * params.tau_s * np.log(params.tau_m / params.tau_s) / (params.tau_m - params.tau_s)
    t_cond, t_probe = 5e-3, 5e-3 + round(t_peak / params.dt) * params.dt
    # neuron index: (alpha, conditioning weight, probe 0/1) in C order
    shape = (len(ALPHAS), len(conditioning), 2)
    alpha_of, cond_of, probe_of = np.unravel_index(np.arange(np.prod(shape)), shape)
    neurons = vr_neuron_group(int(np.prod(shape)), params, fires=False, name="neurons")
    neurons.alpha = np.asarray(ALPHAS)[alpha_of]
    source = SpikeGeneratorGroup(2, [0, 1], [t_cond, t_probe] * second, dt=params.dt * second)
    synapses = vr_synapses(source, neurons)
    probed = np.flatnonzero(probe_of)
    synapses.connect(
        i=np.r_[np.zeros(len(neurons), int), np.ones(len(probed), int)], j=np.r_[np.arange(len(neurons)), probed]
    )
    synapses.w = np.r_[conditioning[cond_of], np.full(len(probed), PROBE)] * volt
    monitor = StateMonitor(neurons, ["U", "R"], record=True, when="before_resets")
    previous, prefs.codegen.target = prefs.codegen.target, "numpy"
    try:
        Network(source, neurons, synapses, monitor).run(steps * params.dt * second, namespace={})
    finally:
        prefs.codegen.target = previous
    U, R = monitor.U_.reshape(shape + (steps,)), monitor.R_.reshape(shape + (steps,))
    k_probe = int(round(t_probe / params.dt))
    psp = U[:, :, 1] - U[:, :, 0]
    # the PSP at rest at alpha = 0 is w times the unit kernel, sampled as every other PSP is
    kernel_peak = psp[0][np.argmin(np.abs(conditioning))].max() / PROBE
    return {
        "params": params,
        "conditioning": conditioning,
        "t": (np.arange(steps) + 1) * params.dt,
        "t_probe": t_probe,
        "U": U,
        "R": R,
        "U_at_probe": U[:, :, 0, k_probe - 1],
        "R_at_probe": R[:, :, 1, k_probe],
        "psp_amplitude": psp.max(axis=2) / kernel_peak,
    }


def plot(result: dict, path) -> Path:
    from matplotlib.figure import Figure

    params, t = result["params"], result["t"] * 1e3
    fig = Figure(figsize=(14, 3.8), constrained_layout=True)
    ax_u, ax_r, ax_psp = fig.subplots(1, 3)
    chosen = sorted({0, len(result["conditioning"]) // 2, len(result["conditioning"]) - 1})
    for k, colour in zip(chosen, ("tab:blue", "tab:gray", "tab:red"), strict=False):  # 1 to 3 chosen
        c = result["conditioning"][k]
        ax_u.plot(t, result["U"][1, k, 1], color=colour, label=f"c = {c:+.1f} V, with probe")
        ax_u.plot(t, result["U"][1, k, 0], color=colour, ls="--", lw=1, label=f"c = {c:+.1f} V, without")
        ax_r.plot(t, result["R"][1, k, 1], color=colour, label=f"c = {c:+.1f} V")
    for ax in (ax_u, ax_r):
        ax.axvline(result["t_probe"] * 1e3, color="k", lw=0.6, ls=":")
        ax.set_xlabel("time (ms)")
    ax_u.axhline(params.v_thr, color="k", lw=0.6, ls="--")
    ax_u.set(ylabel="U (V)", title="VR-C-LIF (alpha = 0.3): U before reset")
    ax_u.legend(fontsize=7)
    ax_r.set(ylabel="R(t)", title="R(t) = 1 - alpha U(t-1) / v_thr")
    ax_r.legend(fontsize=7)
    U_line = np.linspace(result["U_at_probe"].min(), result["U_at_probe"].max(), 50)
    for a, (alpha, colour) in enumerate(zip(ALPHAS, ("tab:blue", "tab:red"), strict=True)):
        ax_psp.plot(
            result["U_at_probe"][a],
            result["psp_amplitude"][a] / PROBE,
            "o",
            color=colour,
            label=f"measured, alpha = {alpha:g}",
        )
        ax_psp.plot(
            U_line, 1 - alpha * U_line / params.v_thr, "-", color=colour, lw=0.8, label=f"1 - {alpha:g} U / v_thr"
        )
    ax_psp.set(
        xlabel="U when the probe arrives (V)",
        ylabel="PSP amplitude / w",
        title=f"probe PSP (w = {PROBE:g} V) against the voltage it meets",
    )
    ax_psp.legend(fontsize=7)
    return save_figure(fig, path)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer neurons and steps (for the tests)")
    parser.add_argument("--out-dir", type=Path, default=FIGURES, help="where the figure goes")
    args = parser.parse_args(argv)
    result = run(args.quick)
    result["figure"] = plot(result, args.out_dir / "example_single_neuron.png")
    print(
        f"PSP amplitude / w at U from {result['U_at_probe'].min():+.2f} V to {result['U_at_probe'].max():+.2f} V: "
        f"{result['psp_amplitude'][1].min() / PROBE:.2f} .. {result['psp_amplitude'][1].max() / PROBE:.2f} "
        f"(alpha = 0.3), {result['psp_amplitude'][0].min() / PROBE:.2f} .. "
        f"{result['psp_amplitude'][0].max() / PROBE:.2f} (alpha = 0)\nfigure: {result['figure']}"
    )
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
