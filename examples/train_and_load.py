"""Train on the built-in task with ``vr-brian train``, load the result into Brian2, plot its spikes.

1. ``vr-brian train builtin --out RUN ...``: a 32-32-4 VR-C-LIF network learns the built-in
   spike-timing task (every class fires every input channel once; only the timing differs). The
   run folder gets the checkpoint, the metrics and ``data.json``, the recipe of its data.
2. ``gradients.load_network(RUN)``: weights, parameters and the data, rebuilt.
3. The trained layers behind a SpikeGeneratorGroup of one's own (``trained.build(source, batch=4)``,
   the first test sample of each class side by side), in a plain Brian2 Network with one's own
   monitors.
4. The whole test set in Brian2 (``trained.simulate``): its F-measure equals the one training
   measured with the numpy reference.

    python examples/train_and_load.py [--quick] [--out-dir DIR] [--run-dir DIR]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
from brian2 import Network, SpikeGeneratorGroup, SpikeMonitor, StateMonitor, prefs, second

import gradients
from vr_brian.io import save_figure
from vr_brian.traces import spike_array

FIGURES = Path(__file__).resolve().parents[1] / "figures"
SHOWN = 4  # test samples drawn: one per class of the built-in task


def train(run_dir: Path, quick: bool) -> None:
    """The command line, called from Python: ``vr-brian train builtin --out RUN_DIR ...``."""
    from vr_brian_app.train import main as vr_brian_train

    argv = ["builtin", "--out", str(run_dir), "--no-progress", "--epochs", "4" if quick else "20"]
    if quick:
        argv += ["--train-samples", "64", "--test-samples", "32"]
    if (run_dir / "checkpoint.npz").exists():
        argv.append("--resume")  # a finished run resumes without training again
    if vr_brian_train(argv) != 0:
        raise RuntimeError("vr-brian train failed (see the message above)")


def micro_f(predicted: np.ndarray, targets: np.ndarray) -> float:
    tp = np.sum(predicted & targets)
    return float(2 * tp / (2 * tp + np.sum(predicted & ~targets) + np.sum(~predicted & targets)))


def run(run_dir: Path, quick: bool = False) -> dict:
    train(run_dir, quick)
    trained = gradients.load_network(run_dir)
    _, test = trained.data()
    params, (n_in, n_hidden, n_out) = trained.params, trained.sizes
    dt = params.dt * second

    # the first test sample of each class (four classes), side by side: neuron b*n + j of every layer
    # is unit j of sample b
    shown = [int(np.flatnonzero(test.targets[:, k])[0]) for k in range(SHOWN)]
    spikes = test.spikes[shown]
    sample, step, channel = np.nonzero(spikes)
    source = SpikeGeneratorGroup(SHOWN * n_in, sample * n_in + channel, step * dt, dt=dt)
    layers = trained.build(source, batch=SHOWN)
    hidden_spikes = SpikeMonitor(layers.hidden[0])
    output_U = StateMonitor(layers.output, "U", record=True, when="before_resets")
    previous, prefs.codegen.target = prefs.codegen.target, "numpy"
    try:
        Network(source, *layers, hidden_spikes, output_U).run(test.steps * dt, namespace={})
    finally:
        prefs.codegen.target = previous

    with warnings.catch_warnings():  # the counts of negative R are in the metrics already
        warnings.simplefilter("ignore", RuntimeWarning)
        traces = trained.simulate(test.spikes, backend="brian2")
    predicted = traces.output.max(axis=1) > params.v_thr
    return {
        "params": params,
        "class_names": trained.class_names,
        "spikes": spikes,
        "shown": shown,
        "targets": test.targets[shown].astype(bool),
        "predicted": predicted[shown],
        "hidden": spike_array(hidden_spikes, SHOWN, test.steps, n_hidden, params.dt),
        "output_U": output_U.U_.reshape(SHOWN, n_out, test.steps),
        "brian2_test_f": micro_f(predicted, test.targets.astype(bool)),
        "training_test_f": trained.history[-1]["test"]["micro"]["f"],
        "epochs": trained.epoch,
        "chance_f": trained.history[-1]["test"]["chance_f"],
    }


def plot(result: dict, path) -> Path:
    from matplotlib.figure import Figure

    names, params = result["class_names"], result["params"]
    steps = result["spikes"].shape[1]
    t = np.arange(1, steps + 1) * params.dt * 1e3
    fig = Figure(figsize=(3.2 * SHOWN, 7), constrained_layout=True)
    axes = fig.subplots(3, SHOWN, sharex=True, sharey="row")
    for b in range(SHOWN):
        label = ", ".join(n for n, on in zip(names, result["targets"][b], strict=True) if on)
        answer = ", ".join(n for n, on in zip(names, result["predicted"][b], strict=True) if on) or "none"
        step, channel = np.nonzero(result["spikes"][b])
        axes[0, b].plot(t[step], channel, "|", color="0.2", ms=4)
        axes[0, b].set_title(f"test sample {result['shown'][b]}: {label}\nnetwork says: {answer}", fontsize=9)
        step, unit = np.nonzero(result["hidden"][b])
        axes[1, b].plot(t[step], unit, "|", color="tab:red", ms=4)
        for k, name in enumerate(names):
            axes[2, b].plot(t, result["output_U"][b, k], lw=1, label=name)
        axes[2, b].axhline(params.v_thr, color="k", ls="--", lw=0.7)
        axes[2, b].set_xlabel("time (ms)")
    axes[0, 0].set_ylabel("input channel")
    axes[1, 0].set_ylabel("hidden neuron")
    axes[2, 0].set_ylabel("output U (V)")
    axes[2, -1].legend(fontsize=7, loc="upper left")
    fig.suptitle(
        f"trained {result['epochs']} epochs with vr-brian train, loaded into Brian2: test F "
        f"{result['brian2_test_f']:.3f} in Brian2, {result['training_test_f']:.3f} measured in training "
        f"(chance {result['chance_f']:.2f})",
        fontsize=10,
    )
    return save_figure(fig, path)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="4 epochs on a smaller set (for the tests)")
    parser.add_argument("--out-dir", type=Path, default=FIGURES, help="where the figure goes")
    parser.add_argument(
        "--run-dir",
        type=Path,
        default=None,
        help="the training run's folder (default: a temporary one); an existing run resumes",
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="vr_brian_example_run_") as scratch:
        run_dir = args.run_dir or Path(scratch) / "run"
        result = run(run_dir, args.quick)
    result["figure"] = plot(result, args.out_dir / "example_train_and_load.png")
    print(
        f"test F: {result['brian2_test_f']:.3f} in Brian2, {result['training_test_f']:.3f} in training\n"
        f"figure: {result['figure']}"
    )
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
