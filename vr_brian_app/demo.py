"""``make demo``: a small built-in VR-C-LIF network simulated end to end, then trained.

1. The same input spike trains go through a 3-layer network in Brian2 and in the numpy
   reference, for C-LIF (alpha = 0) and VR-C-LIF (alpha = 0.3); the figure shows the input,
   the hidden spikes and voltages, and the output voltages; the numbers (firing rates, the
   largest Brian2-reference difference) go into a JSON file beside it.
2. A 32-32-4 VR-C-LIF network is trained with spatio-temporal backpropagation on the built-in
   spike-timing task (:func:`vr_brian_app.train.demo`): checkpoint, metrics and learning curve.

By default the figure goes into the checkout's ``figures/`` and the run into ``runs/``.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

from vr_brian.brian import BrianNetwork
from vr_brian.io import save_figure, write_json
from vr_brian.params import VRParams
from vr_brian.reference import forward

from .checkout import checkout_folder


def built_in_network(seed: int = 1, steps: int = 200, sizes=(60, 40, 5)):
    """Input: three repeating spatio-temporal bursts over Poisson background; fan-in scaled weights."""
    rng = np.random.default_rng(seed)
    spikes = rng.random((1, steps, sizes[0])) < 0.03
    for start, channels in ((20, slice(0, 20)), (90, slice(20, 40)), (150, slice(40, 60))):
        spikes[0, start : start + 8, channels] |= rng.random((8, 20)) < 0.5
    weights = [rng.normal(0.03, 0.12, (sizes[n + 1], sizes[n])) * np.sqrt(40 / sizes[n]) for n in range(len(sizes) - 1)]
    return weights, spikes


def plot(results: dict, spikes: np.ndarray, path: str) -> None:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 10))
    axes = fig.subplots(4, 1, sharex=True, gridspec_kw=dict(height_ratios=[1.2, 1.2, 1.4, 1.4]))
    t = np.arange(1, spikes.shape[1] + 1)
    step, channel = np.nonzero(spikes[0])
    axes[0].plot(t[step], channel, "|", color="0.3", ms=3)
    axes[0].set(ylabel="input channel", title="input spikes")
    colours = {"C-LIF (alpha = 0)": "tab:blue", "VR-C-LIF (alpha = 0.3)": "tab:red"}
    for offset, (label, traces) in enumerate(results.items()):
        step, unit = np.nonzero(traces.P[0][0])
        axes[1].plot(t[step], unit + 0.3 * offset, "|", color=colours[label], ms=3, label=label)
        axes[2].plot(t, traces.U[0][0, :, 0], color=colours[label], label=f"{label}, hidden neuron 0")
        axes[3].plot(t, traces.U[1][0, :, 0], color=colours[label], label=f"{label}, output neuron 0")
    axes[1].set(ylabel="hidden neuron", title="hidden-layer spikes (Brian2)")
    axes[1].legend(loc="upper right", fontsize=8, markerscale=3)
    v_thr = next(iter(results.values())).params.v_thr
    for ax, title in ((axes[2], "hidden voltage U (before reset)"), (axes[3], "output voltage U (no reset)")):
        ax.axhline(v_thr, color="k", ls="--", lw=0.8, label="v_thr")
        ax.set(ylabel="U (V)", title=title)
        ax.legend(loc="upper right", fontsize=8)
    axes[3].set_xlabel("time step (dt = 1 ms)")
    fig.tight_layout()
    save_figure(fig, path, dpi=110)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="vr-brian demo", description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", default=None, help="where the figure and numbers go (default: figures/)")
    parser.add_argument(
        "--train-dir",
        default=None,
        help="where the training run goes (default: runs/demo_training; an existing run resumes)",
    )
    parser.add_argument("--quick", action="store_true", help="a 3-epoch training run on a smaller set")
    args = parser.parse_args(argv)
    try:
        out_dir = args.out_dir or str(checkout_folder("figures", "--out-dir"))
        train_dir = args.train_dir or str(checkout_folder(os.path.join("runs", "demo_training"), "--train-dir"))
    except ValueError as error:
        parser.error(str(error))
    weights, spikes = built_in_network()
    results, numbers = {}, {}
    for label, alpha in (("C-LIF (alpha = 0)", 0.0), ("VR-C-LIF (alpha = 0.3)", 0.3)):
        params = VRParams(alpha=alpha)
        print(f"simulating {label} in Brian2 (numpy target) and in the numpy reference ...", flush=True)
        brian = BrianNetwork([spikes.shape[2]] + [W.shape[0] for W in weights], params, steps=spikes.shape[1])
        results[label] = traces = brian.run(weights, spikes)
        reference = forward(weights, spikes, params)
        numbers[label] = dict(
            alpha=alpha,
            hidden_rate_per_step=float(traces.P[0].mean()),
            output_peak_V=[float(v) for v in traces.U[1][0].max(axis=0)],
            max_abs_difference_brian2_vs_reference_V=max(
                float(np.abs(a - b).max()) for a, b in zip(traces.U, reference.U, strict=True)
            ),
        )
    figure = os.path.join(out_dir, "demo_network.png")
    numbers_path = os.path.join(out_dir, "demo_network.json")
    plot(results, spikes, figure)
    write_json(numbers_path, numbers)
    for label, values in numbers.items():
        print(
            f"  {label}: hidden rate {values['hidden_rate_per_step']:.3f}/step, "
            f"Brian2 vs reference max |dU| = {values['max_abs_difference_brian2_vs_reference_V']:.1e} V"
        )
    print(f"figure:  {figure}\nnumbers: {numbers_path}")

    from gradients.train import TrainingDiverged

    from .failures import EXPECTED, FAILED, USAGE, fail
    from .train import demo as training_demo

    print("training a 32-32-4 VR-C-LIF network on the built-in spike-timing task ...", flush=True)
    try:
        trained = training_demo(train_dir, quick=args.quick)
    except TrainingDiverged as error:
        return fail("vr-brian demo", error, FAILED, False, hint=" (training diverged)")
    except EXPECTED as error:  # e.g. a damaged checkpoint in --train-dir
        return fail("vr-brian demo", error, USAGE, False)
    except OSError as error:
        return fail("vr-brian demo", error, FAILED, False)
    print(
        f"  {trained['epochs']} epochs: test loss {trained['initial_test_loss']:.3f} -> {trained['test_loss']:.3f} V, "
        f"test micro F {trained['test_f']:.3f} (chance {trained['chance_f']:.3f})"
    )
    print(
        f"learning curve: {trained['learning_curve']}\nmetrics:        {trained['metrics']}\n"
        f"checkpoint:     {trained['checkpoint']}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
