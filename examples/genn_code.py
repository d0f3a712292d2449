"""GeNN code for a VR-C-LIF network, and what GeNN will compute, checked on the CPU first.

1. ``vr_brian.genn.generate(directory, weights=..., spikes=..., params=...)`` writes the GeNN
   project of the network through brian2genn (which needs its own environment: ``make
   genn-env``; with ``GENN_PATH`` naming a GeNN 4.x checkout it also builds and runs it). In the
   main environment this step says so and is skipped.
2. GeNN runs every step in its own order (synapses first), so its R(t) comes from U(t) instead of
   U(t-1). ``vr_brian.genn.run_genn_schedule`` runs that schedule in plain Brian2; the figure
   compares it with the iterative model: identical at alpha = 0, slightly different at 0.3.

    python examples/genn_code.py [--quick] [--out-dir DIR] [--project-dir DIR]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np

from vr_brian import VRParams, simulate
from vr_brian.genn import generate, run_genn_schedule

FIGURES = Path(__file__).resolve().parents[1] / "figures"
ALPHAS = (0.0, 0.3)


def network(quick: bool = False):
    """A 40-30-5 network (weights N(0.03, 0.08) V scaled by fan-in), 10%-dense input spikes."""
    sizes, steps = ((20, 12, 3), 60) if quick else ((40, 30, 5), 200)
    rng = np.random.default_rng(1)
    weights = [rng.normal(0.03, 0.08, (sizes[n + 1], sizes[n])) * np.sqrt(40 / sizes[n]) for n in range(2)]
    return weights, rng.random((1, steps, sizes[0])) < 0.1


def generate_code(directory: Path, quick: bool = False, alpha: float = 0.3):
    """Step 1: the GeNN project of the network in ``directory``; None (saying why) without brian2genn."""
    weights, spikes = network(quick)
    try:
        import brian2genn  # noqa: F401
    except ImportError:
        print(
            "brian2genn is not installed in this environment (it needs brian2 2.5: make genn-env); "
            "code generation skipped"
        )
        return None
    project = generate(str(directory), weights=weights, spikes=spikes, params=VRParams(alpha=alpha), build=None)
    print(
        f"GeNN project of {project.neurons} neurons and {sum(project.synapses)} synapses in {project.directory}"
        + (" (built and run)" if project.built else " (code only: set GENN_PATH to build and run it)")
    )
    return project


def compare_schedules(quick: bool = False) -> dict:
    """Step 2: per alpha, the iterative model (vr_brian.simulate) and GeNN's schedule (in plain Brian2)."""
    weights, spikes = network(quick)
    result = {"spikes": spikes, "alphas": ALPHAS, "model": [], "genn": []}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for alpha in ALPHAS:
            params = VRParams(alpha=alpha)
            result["model"].append(simulate(weights, spikes, params))
            result["genn"].append(run_genn_schedule(weights, spikes, params))
    result["max_abs_dU"] = [
        max(float(np.abs(a - b).max()) for a, b in zip(m.U, g.U, strict=True))
        for m, g in zip(result["model"], result["genn"], strict=True)
    ]
    result["spikes_shared"] = [
        int(np.sum(m.P[0] & g.P[0])) for m, g in zip(result["model"], result["genn"], strict=True)
    ]
    result["hidden_spikes"] = [
        (int(m.P[0].sum()), int(g.P[0].sum())) for m, g in zip(result["model"], result["genn"], strict=True)
    ]
    return result


def plot(result: dict, path) -> Path:
    from matplotlib.figure import Figure

    from vr_brian.io import save_figure

    fig = Figure(figsize=(12, 6.5), constrained_layout=True)
    axes = fig.subplots(2, len(ALPHAS), sharex=True)
    for a, alpha in enumerate(ALPHAS):
        model, genn = result["model"][a], result["genn"][a]
        t = model.t * 1e3
        for traces, marker, colour, label in (
            (model, "o", "k", "iterative model"),
            (genn, "x", "tab:red", "GeNN's schedule"),
        ):
            step, unit = np.nonzero(traces.P[0][0])
            axes[0, a].plot(t[step], unit, marker, color=colour, ms=4, mfc="none", label=label)
            axes[1, a].plot(
                t,
                traces.output[0, :, 0],
                color=colour,
                lw=1.2 if colour == "k" else 0.9,
                ls="-" if colour == "k" else "--",
                label=f"{label}, output neuron 0",
            )
        counts = result["hidden_spikes"][a]
        axes[0, a].set_ylabel("hidden neuron")
        axes[0, a].set_title(
            f"alpha = {alpha:g}: hidden spikes {counts[0]} (model), {counts[1]} (GeNN), "
            f"{result['spikes_shared'][a]} in the same step\n"
            f"max |dU| = {result['max_abs_dU'][a]:.1e} V (any layer)",
            fontsize=9,
        )
        axes[0, a].legend(fontsize=7, loc="upper right")
        axes[1, a].set(xlabel="time (ms)", ylabel="U (V)")
        axes[1, a].legend(fontsize=7, loc="upper right")
    fig.suptitle("What GeNN computes (its schedule run in plain Brian2) against the iterative model", fontsize=10)
    return save_figure(fig, path)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smaller network (for the tests)")
    parser.add_argument("--out-dir", type=Path, default=FIGURES, help="where the figure goes")
    parser.add_argument(
        "--project-dir",
        type=Path,
        default=None,
        help="where the GeNN project goes (default: a temporary folder, deleted at the end)",
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="vr_brian_genn_") as scratch:
        project = generate_code(args.project_dir or Path(scratch) / "genn_project", args.quick)
    result = compare_schedules(args.quick)
    result["project"] = project
    result["figure"] = plot(result, args.out_dir / "example_genn_code.png")
    print(
        f"GeNN's schedule against the model: max |dU| {result['max_abs_dU'][0]:.1e} V at alpha 0, "
        f"{result['max_abs_dU'][1]:.2f} V at alpha 0.3\nfigure: {result['figure']}"
    )
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
