"""Benchmark: one 1.5 s run of a 384-700-10 VR-C-LIF network at dt = 1 ms, all voltages recorded, per backend.

Prints its setup and a table (median of repeats, ratio to the numpy reference timed in the same
process) and writes results.json beside this file. The standalone rows re-run one compiled binary
with new weights through run_args; its build is timed apart.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from vr_brian import BrianNetwork, VRParams, forward
from vr_brian.io import write_json
from vr_brian_app.checkout import checkout_folder

HERE = os.path.dirname(os.path.abspath(__file__))


def make_weights(sizes, rng):
    """Weights N(0.05, 0.5^2)/sqrt(fan-in) V into hidden layers, N(0, 0.3^2)/sqrt(fan-in) V into the output:
    hidden neurons fire on a few percent of steps, and no voltage runs away over 1500 steps."""
    last = len(sizes) - 2
    return [
        rng.normal(0.0 if n == last else 0.05, 0.3 if n == last else 0.5, (sizes[n + 1], sizes[n])) / np.sqrt(sizes[n])
        for n in range(len(sizes) - 1)
    ]


def timed(function, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), times


def measure(args, sizes, params, spikes, weight_sets) -> tuple:
    """(rows, reference time): the numpy reference and every Brian2 target, timed."""
    rows = []
    counter = iter(range(10**6))
    ref_time, _ = timed(lambda: forward(weight_sets[next(counter) % len(weight_sets)], spikes, params), args.repeats)
    reference = forward(weight_sets[0], spikes, params)
    rows.append(dict(backend="numpy reference", median_s=ref_time, build_s=0.0))
    print(
        f"hidden firing: {reference.P[0].mean():.3f} spikes per neuron per step; "
        f"R(t) diagnostics of the first weight set: {reference.check_resistance()}"
    )

    for target in args.targets.split(","):
        network = BrianNetwork(sizes, params, steps=args.steps, target=target)
        start = time.perf_counter()
        first = network.run(weight_sets[0], spikes)  # the build (standalone: generate + compile) and one run
        build = time.perf_counter() - start
        error = max(float(np.abs(a - b).max()) for a, b in zip(first.U, reference.U, strict=True))
        counter = iter(range(1, 10**6))
        median, _ = timed(
            lambda: network.run(weight_sets[next(counter) % len(weight_sets)], spikes),  # noqa: B023 (timed now)
            args.repeats,
        )
        network.close()
        rows.append(dict(backend=f"brian2 {target}", median_s=median, build_s=build, max_abs_dU_V=error))
    return rows, ref_time


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="384,700,10", help="layer sizes, input first")
    parser.add_argument("--steps", type=int, default=1500, help="time steps (dt = 1 ms)")
    parser.add_argument("--density", type=float, default=0.05, help="input spike probability per step")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--targets", default="numpy,cython,cpp_standalone", help="Brian2 targets to time")
    parser.add_argument("--out", default=None, help="results file (default: this study's results.json)")
    args = parser.parse_args(argv)
    if args.out is None:
        try:
            checkout_folder("studies", "--out", root=Path(HERE).parent.parent)
        except ValueError as error:
            parser.error(str(error))
        args.out = os.path.join(HERE, "results.json")
    sizes = [int(n) for n in args.sizes.split(",")]
    params = VRParams(alpha=0.3)
    rng = np.random.default_rng(0)
    spikes = rng.random((1, args.steps, sizes[0])) < args.density
    weight_sets = [make_weights(sizes, rng) for _ in range(args.repeats + 1)]
    print(
        f"network {'-'.join(map(str, sizes))}, {args.steps} steps at dt = 1 ms, input density {args.density}, "
        f"all voltages recorded; median of {args.repeats} runs with new weights each"
    )
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"numpy {np.__version__}"
    )
    with warnings.catch_warnings():  # R(t) warnings of random weights: counted once, not repeated per run
        warnings.simplefilter("ignore")
        rows, ref_time = measure(args, sizes, params, spikes, weight_sets)

    print(f"\n{'backend':<24}{'median run (s)':>16}{'x reference':>14}{'first run incl. build (s)':>28}")
    for row in rows:
        row["ratio_to_reference"] = row["median_s"] / ref_time
        print(f"{row['backend']:<24}{row['median_s']:>16.3f}{row['ratio_to_reference']:>14.1f}{row['build_s']:>28.1f}")
    write_json(
        args.out,
        dict(
            setup=dict(
                sizes=sizes,
                steps=args.steps,
                dt_ms=1.0,
                density=args.density,
                repeats=args.repeats,
                machine=f"{platform.machine()}, {os.cpu_count()} cores",
                python=platform.python_version(),
                numpy=np.__version__,
                command=" ".join(sys.argv),
            ),
            rows=rows,
        ),
    )
    print(f"\nresults: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
