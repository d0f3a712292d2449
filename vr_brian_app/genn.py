"""``vr-brian genn``: generate the GeNN project of a VR-C-LIF network (:func:`vr_brian.genn.generate`);
with GENN_PATH set to a GeNN 4.x checkout, also build and run it and save its traces.

The weights come from files (:func:`load_weights`: one .npz, or one .npy per layer) or are drawn
at random (``--sizes``); the input from a spike file or a Poisson rate.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

from vr_brian.io import atomic_write, write_json
from vr_brian.params import VRParams
from vr_brian_app.arguments import quantity_arg

__all__ = ["main", "load_weights"]


def load_weights(paths) -> list:
    """Weight matrices from files: several .npy (one per layer, in order) or one .npz.

    The arrays of an .npz are taken in the order of their names sorted by the number
    they end with (``W1, W2, ...`` or numpy's ``arr_0, arr_1, ...``).
    """
    paths = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    if len(paths) == 1 and str(paths[0]).endswith(".npz"):
        with np.load(paths[0]) as data:

            def number(name):
                digits = "".join(c for c in reversed(name) if c.isdigit())[::-1]
                return (int(digits) if digits else -1, name)

            return [np.asarray(data[name]) for name in sorted(data.files, key=number)]
    if not all(str(p).endswith(".npy") for p in paths):
        raise ValueError(f"weights must be one .npz file or .npy files (one per layer), got {paths}")
    return [np.load(p) for p in paths]


def _load_spikes(path: str) -> np.ndarray:
    with np.load(path) as data:
        if "spikes" not in data.files and len(data.files) != 1:
            raise ValueError(f"{path} must hold an array named 'spikes' (batch, steps, n_in), found {data.files}")
        return np.asarray(data["spikes" if "spikes" in data.files else data.files[0]])


def _sizes(text: str) -> list:
    """``--sizes``: comma-separated layer sizes, integers >= 1."""
    try:
        sizes = [int(n) for n in text.split(",")]
    except ValueError:
        sizes = []
    if len(sizes) < 2 or min(sizes) < 1:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated layer sizes >= 1, input first (e.g. 1000,100,10), got {text!r}"
        )
    return sizes


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vr-brian genn",
        description="Generate the GeNN project of a VR-C-LIF network (brian2genn); with GENN_PATH set to a "
        "GeNN 4.x checkout, also build and run it and save its traces.",
    )
    net = parser.add_mutually_exclusive_group(required=True)
    net.add_argument("--sizes", type=_sizes, help="layer sizes, input first, e.g. 1000,10000,10 (random weights)")
    net.add_argument("--weights", nargs="+", help="weight files: one .npz, or one .npy per layer (volts)")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--spikes", help=".npz with 'spikes' (batch, steps, n_in) or (steps, n_in), bool")
    source.add_argument(
        "--rate", type=quantity_arg("hertz", "--rate"), help="Poisson input rate, e.g. 20Hz (needs --steps)"
    )
    parser.add_argument("--steps", type=int, help="number of steps (with --rate)")
    parser.add_argument("--batch", type=int, default=1, help="copies of the network (with --rate)")
    parser.add_argument("--directory", "-o", required=True, help="project directory to write")
    parser.add_argument(
        "--mean", type=quantity_arg("volt", "--mean"), default="20mV", help="weight mean (with --sizes)"
    )
    parser.add_argument("--std", type=quantity_arg("volt", "--std"), default="50mV", help="weight std (with --sizes)")
    parser.add_argument("--fan-in", type=int, help="presynaptic partners per neuron (default: all to all)")
    parser.add_argument("--seed", type=int, default=0, help="seed of weights and connectivity")
    for name, default, unit in (("tau-m", "20ms", "second"), ("tau-s", "5ms", "second"), ("dt", "1ms", "second")):
        parser.add_argument(
            f"--{name}", type=quantity_arg(unit, f"--{name}"), default=default, help=f"with a unit, e.g. {default}"
        )
    parser.add_argument("--v-thr", type=quantity_arg("volt", "--v-thr"), default="1V", help="with a unit, e.g. 1V")
    parser.add_argument("--alpha", type=float, default=0.3, help="variable-resistance coefficient (default 0.3)")
    parser.add_argument("--no-record", action="store_true", help="do not record voltages (spikes only)")
    parser.add_argument("--cpu", action="store_true", help="GeNN's CPU backend instead of CUDA")
    parser.add_argument("--genn-path", help="GeNN 4.x checkout (default: $GENN_PATH)")
    parser.add_argument("--traces", help="with GeNN: save U and P here (.npz; default DIRECTORY/traces.npz)")
    return parser


def main(argv=None) -> int:
    """``vr-brian genn``: see ``vr-brian genn --help``."""
    from vr_brian.genn import GENN_PATH_HELP, generate

    args = _parser().parse_args(argv)
    if args.rate is not None and args.steps is None:
        _parser().error("--rate needs --steps")
    try:
        params = VRParams.from_si(tau_m=args.tau_m, tau_s=args.tau_s, dt=args.dt, v_thr=args.v_thr, alpha=args.alpha)
        sizes = args.sizes
        weights = load_weights(args.weights) if args.weights else None
        spikes = _load_spikes(args.spikes) if args.spikes else None
        project = generate(
            args.directory,
            sizes=sizes,
            weights=weights,
            spikes=spikes,
            rate=args.rate,
            steps=args.steps,
            batch=args.batch,
            params=params,
            mean=args.mean,
            std=args.std,
            fan_in=args.fan_in,
            seed=args.seed,
            record=not args.no_record,
            use_gpu=not args.cpu,
            genn_path=args.genn_path,
        )
    except (ValueError, TypeError, ImportError, OSError) as error:
        print(f"vr-brian genn: {error}", file=sys.stderr)
        return 2
    print(f"GeNN project: {project.directory}")
    print(f"  layers {list(project.sizes)} ({project.neurons} neurons), synapses {list(project.synapses)}")
    print(f"  {', '.join(f'{k} {v:.1f} s' for k, v in project.timings.items())}")
    if not project.built:
        print("Code generated only. " + GENN_PATH_HELP)
        return 0
    traces = project.traces
    for n, P in enumerate(traces.P, start=1):
        print(f"  layer {n}: {P.mean() / params.dt:.1f} Hz mean rate")
    if traces.U:
        print(f"  output: max U {traces.U[-1].max():.3g} V (v_thr {params.v_thr:g} V)")
    out = args.traces or os.path.join(project.directory, "traces.npz")
    arrays = {f"U_{n}": U for n, U in enumerate(project.traces.U, start=1)}
    arrays.update({f"P_{n}": P for n, P in enumerate(project.traces.P, start=1)})
    atomic_write(out, lambda file: np.savez_compressed(file, spikes=project.traces.spikes, **arrays))
    write_json(
        os.path.join(project.directory, "vr_brian_run.json"),
        {
            "sizes": list(project.sizes),
            "synapses": list(project.synapses),
            "timings": project.timings,
            "params": repr(params),
        },
    )
    print(f"traces: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
