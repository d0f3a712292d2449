"""``vr-brian fit``: fit a reduced neuron to a recording in a file and score it on the held-out rest.

Usage::

    vr-brian fit DATA.npz --model vrclif --out runs/fit1
    vr-brian fit DATA.csv --model adex --train-fraction 0.6 --v-rest=-65mV --out runs/fit2

``DATA`` holds the time, the input (an injected current or input spike times) and the
response (voltage and/or spike times, optionally repeated trials), in the formats of
:mod:`vr_brian.datafile`; the fit and its scores are :func:`vr_brian.fit_recording.fit_recording`'s.
The output folder receives ``results.json`` (the fitted parameters with units, the scores,
the time taken) and ``fit.png`` (input, voltages and spike rasters on the held-out part).
Quantities take Brian2 units ("-65mV", "0.1 ms"); a bare number is refused.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from brian2 import mV, second, volt

from vr_brian.datafile import load_recording
from vr_brian.fit_recording import FIGURE_NAME, RESULTS_NAME, fit_figure, fit_recording
from vr_brian.fitting import MODELS, TARGETS
from vr_brian.io import write_json
from vr_brian_app.arguments import quantity_arg

__all__ = ["main", "build_parser"]


def build_parser() -> argparse.ArgumentParser:
    def fraction(text):
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"train-fraction must be a number in (0, 1), got {text!r}") from None
        if not 0 < value < 1:
            raise argparse.ArgumentTypeError(f"train-fraction must lie in (0, 1), got {value}")
        return value

    def at_least(low, name, kind=int):
        def parse(text):
            try:
                value = kind(text)
            except ValueError:
                raise argparse.ArgumentTypeError(f"{name} must be a number >= {low}, got {text!r}") from None
            if not value >= low:
                raise argparse.ArgumentTypeError(f"{name} must be >= {low}, got {value}")
            return value

        return parse

    parser = argparse.ArgumentParser(
        prog="vr-brian fit",
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join(__doc__.split("Usage::")[1].splitlines()[1:]),
    )
    parser.add_argument("data", type=Path, help="recording, .npz or .csv (see vr_brian.datafile)")
    parser.add_argument("--model", choices=sorted(MODELS), default="vrclif")
    parser.add_argument("--out", type=Path, required=True, help="output folder (results.json, fit.png)")
    parser.add_argument("--train-fraction", type=fraction, default=0.5, help="share used for fitting, in (0, 1)")
    parser.add_argument("--hold", action="store_true", help="fit a holding input too (vrclif, clif)")
    parser.add_argument(
        "--v-rest",
        type=quantity_arg(volt, "v-rest", as_quantity=True),
        default=None,
        help="resting potential, e.g. --v-rest=-65mV (default: fitted to the voltage)",
    )
    parser.add_argument(
        "--spike-threshold",
        type=quantity_arg(volt, "spike-threshold", as_quantity=True),
        default=-20 * mV,
        help="voltage whose upward crossings are spikes, if the file has no spike times (-20mV)",
    )
    parser.add_argument(
        "--dt", type=quantity_arg(second, "dt", as_quantity=True), default=None, help="model step (default: the file's)"
    )
    parser.add_argument("--popsize", type=at_least(2, "popsize"), default=8, help="population per parameter")
    parser.add_argument("--maxiter", type=at_least(1, "maxiter"), default=30, help="generations")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--voltage-weight",
        type=at_least(0.0, "voltage-weight", float),
        default=0.02,
        help="loss weight per mV of subthreshold voltage error",
    )
    parser.add_argument("--target", choices=TARGETS, default="cpp_standalone", help="Brian2 code-generation target")
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        data = load_recording(args.data, spike_threshold=args.spike_threshold)
        results, recording, split = fit_recording(
            data,
            args.model,
            train_fraction=args.train_fraction,
            hold=args.hold,
            dt=args.dt,
            v_rest=args.v_rest,
            popsize=args.popsize,
            maxiter=args.maxiter,
            seed=args.seed,
            voltage_weight=args.voltage_weight,
            target=args.target,
            progress=lambda g, loss: print(f"generation {g}: best loss {loss:.4f}", flush=True),
        )
    except ValueError as error:
        print(f"vr-brian fit: {error}", file=sys.stderr)
        return 2
    results["file"] = str(args.data)
    write_json(args.out / RESULTS_NAME, results)
    fit_figure(data, recording, split, results, args.out / FIGURE_NAME)
    print(
        f"held-out Gamma {results['test_gamma']:.3f} (train {results['train_gamma']:.3f}); wrote "
        f"{args.out / RESULTS_NAME} and {args.out / FIGURE_NAME}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
