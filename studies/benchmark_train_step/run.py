r"""One training step (forward and backward) of a 384-700-10 VR-C-LIF network, timed.

Two cases (:data:`CASES`): ``dense``, 150 steps with 5 %-dense input (the first benchmark), and
``sparse``, 300 steps with 2 %-dense input (the paper's operating point: spikegram input,
1.5 s clips).

``gradients.loss_and_grad`` on a batch of input spike trains, float32 and float64,
against PyTorch autograd of the same network in float32 (straight-through spike
with the same rectangular surrogate), in the same process, on the same machine.
The methods are timed round-robin (one repeat of each in turn) so that a noisy
machine slows all of them alike; the figure is the median over repeats, per sample,
of the wall-clock time and of the process's CPU time (all its threads), which
an oversubscribed machine inflates less.

The arithmetic floor counts the multiply-adds of the weight products a dense
implementation needs (2 FLOP each):

* forward: input currents :math:`2 T n_{in} n_h`, output currents :math:`2 T n_h n_{out}`;
* backward: weight gradients :math:`2 T (n_{in} n_h + n_h n_{out})`, spike adjoints
  of the hidden layer :math:`2 T n_h n_{out}`;

i.e. 167.6 MFLOP per sample for 384-700-10 over 150 steps; the element-wise
updates (~20 per unit and step, 2 MFLOP) are left out. It is divided by the
matrix-product rate measured in the same run (a square GEMM of the same dtype),
giving the time a dense implementation could not beat. The event-driven floor
counts the input-layer products at the measured input density.

With ``--uncompiled`` the float32 step is also timed with the compiled (numba) loops
of :mod:`gradients.forward` switched off, i.e. on the numpy/scipy path alone.
"""

from __future__ import annotations

import os
import platform
import statistics
import time
import tracemalloc

import numpy as np

from studies.cli import output_paths, study_parser, write_json

NAME = "benchmark_train_step"


#: The benchmark cases: network sizes, steps, batch, input density, alpha, and the gain of the input
#: weights (which keeps the hidden layer firing in a few percent of its (step, unit) pairs).
CASES = {
    "dense": {"sizes": (384, 700, 10), "steps": 150, "batch": 32, "density": 0.05, "alpha": 0.3, "input_gain": 1.0},
    "sparse": {"sizes": (384, 700, 10), "steps": 300, "batch": 32, "density": 0.02, "alpha": 0.3, "input_gain": 2.0},
}
QUICK_CASES = {
    "dense": {"sizes": (24, 40, 10), "steps": 30, "batch": 4, "density": 0.05, "alpha": 0.3, "input_gain": 1.0},
    "sparse": {"sizes": (24, 40, 10), "steps": 60, "batch": 4, "density": 0.02, "alpha": 0.3, "input_gain": 2.0},
}


def make_problem(sizes, steps: int, batch: int, density: float, alpha: float, seed: int = 0, input_gain: float = 1.0):
    """Weights, input spikes, one-hot targets and params of the benchmark.

    The input weights ``input_gain`` x N(0.005, 0.03) V make ~9% of the hidden (step, unit) pairs
    spike at alpha = 0.3 and 5% input density (gain 1); the output weights N(0, 0.1) V.
    """
    from vr_brian import VRParams

    rng = np.random.default_rng(seed)
    n_in, n_hidden, n_out = sizes
    weights = [
        input_gain * rng.normal(0.005, 0.03, (n_hidden, n_in)) * np.sqrt(384 / n_in),
        rng.normal(0.0, 0.1, (n_out, n_hidden)) * np.sqrt(700 / n_hidden),
    ]
    spikes = rng.random((batch, steps, n_in)) < density
    targets = np.zeros((batch, n_out), bool)
    targets[np.arange(batch), rng.integers(0, n_out, batch)] = True
    return weights, spikes, targets, VRParams(alpha=alpha)


def torch_step(torch):
    """A function (weights, spikes, targets, params, q) -> (loss, grads) using torch autograd, float32."""

    class Spike(torch.autograd.Function):
        @staticmethod
        def forward(ctx, U, v_thr, q):
            ctx.save_for_backward(U)
            ctx.v_thr, ctx.q = v_thr, q
            return (U > v_thr).to(U.dtype)

        @staticmethod
        def backward(ctx, grad):
            (U,) = ctx.saved_tensors
            return grad * ((U - ctx.v_thr).abs() < ctx.q / 2).to(U.dtype) * (1 / ctx.q), None, None

    def step(weights, spikes, targets, params, q):
        W_in, W_out = (torch.tensor(w, requires_grad=True) for w in weights)
        x = torch.from_numpy(spikes).to(W_in.dtype)
        batch, steps, _ = spikes.shape
        gm, gs, v, k, N0 = params.gamma_m, params.gamma_s, params.v_thr, params.alpha / params.v_thr, params.N0
        I_in = N0 * x @ W_in.T  # all steps at once, as the numpy code does
        zeros = torch.zeros(batch, W_in.shape[0], dtype=W_in.dtype)
        Dm, Ds, Re, U, P = zeros, zeros, zeros, zeros, zeros
        hidden_spikes = []
        for t in range(steps):
            T = I_in[:, t] * (1 - k * U)
            Dm, Ds, Re = gm * Dm + T, gs * Ds + T, gm * Re + v * P
            U = Dm - Ds - Re
            P = Spike.apply(U, v, q)
            hidden_spikes.append(P)
        I_out = N0 * torch.stack(hidden_spikes, 1) @ W_out.T
        Dm = Ds = U = torch.zeros(batch, W_out.shape[0], dtype=W_in.dtype)
        out = []
        for t in range(steps):
            T = I_out[:, t] * (1 - k * U)
            Dm, Ds = gm * Dm + T, gs * Ds + T
            U = Dm - Ds
            out.append(U)
        V_max = torch.stack(out, 1).max(1).values
        y = torch.from_numpy(targets).to(W_in.dtype)
        loss = (y * torch.relu(v - V_max) + (1 - y) * torch.relu(V_max - v)).sum() / batch
        loss.backward()
        return loss.item(), [W_in.grad.numpy(), W_out.grad.numpy()]

    return step


#: Name of the method that runs ``loss_and_grad`` with the compiled (numba) loops switched off.
UNCOMPILED = "numpy+scipy only"


def numba_version():
    """numba's version when installed, else None."""
    try:
        import numba
    except ImportError:
        return None
    return numba.__version__


def gemm_rate(dtype, n: int = 1024, repeats: int = 5) -> float:
    """Measured FLOP/s of a square matrix product of ``dtype`` (median of repeats)."""
    a = np.random.default_rng(1).random((n, n)).astype(dtype)
    b = a.T.copy()
    a @ b
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - start)
    return 2 * n**3 / statistics.median(times)


def dense_flop(sizes, steps: int) -> float:
    """FLOP per sample of the weight products of one training step (see the module docstring)."""
    n_in, n_hidden, n_out = sizes
    return 2.0 * steps * (2 * n_in * n_hidden + 3 * n_hidden * n_out)


def trace_bytes(recording) -> tuple:
    """(bytes held by the recording the backward pass uses, the minimum: float32 voltages, 1-byte spikes).

    Held: voltages, spikes, input currents (where kept), the input spikes (time-major copy) and the
    spike index arrays of every layer's input. The minimum counts the voltages and hidden spikes.
    """
    held = sum(a.nbytes for a in recording.U) + sum(a.nbytes for a in recording.P)
    held += sum(a.nbytes for currents in recording.I for a in currents)
    held += recording.spikes_tm.nbytes + sum(array.nbytes for m in recording.inputs for array in m.csr)
    minimum = sum(U.size * 4 for U in recording.U) + sum(P.size for P in recording.P)
    return held, minimum


def benchmark_case(case: dict, repeats: int, use_torch: bool, uncompiled: bool) -> dict:
    """Time every method on one case (round-robin); the results of that case."""
    from gradients import forward, loss_and_grad
    from gradients.forward import record_forward

    sizes, steps, batch, density, alpha = (case[k] for k in ("sizes", "steps", "batch", "density", "alpha"))
    weights, spikes, targets, params = make_problem(sizes, steps, batch, density, alpha, input_gain=case["input_gain"])
    q = params.v_thr
    methods = {}
    for dtype in (np.float32, np.float64):
        typed = [w.astype(dtype) for w in weights]
        methods[f"numpy {np.dtype(dtype).name}"] = lambda typed=typed: loss_and_grad(
            typed, spikes, targets, params, q=q
        )
    if uncompiled and forward.COMPILED:
        # the same step without the compiled loops (numpy array operations and scipy products)
        typed = [w.astype(np.float32) for w in weights]
        methods[f"{UNCOMPILED} float32"] = lambda: loss_and_grad(typed, spikes, targets, params, q=q, compiled=False)
    if use_torch:
        import torch

        torch.set_num_threads(os.cpu_count() or 1)
        step = torch_step(torch)
        typed = [w.astype(np.float32) for w in weights]
        methods["torch float32 autograd"] = lambda: step(typed, spikes, targets, params, q)

    load_before = list(os.getloadavg())
    # agreement first: the torch gradients are the same numbers (float32 rounding); this also
    # compiles the numba loops (or loads them from the cache) before any timing
    reference_loss, reference = methods["numpy float64"]()
    agreement = {}
    for name, run in methods.items():
        value, grads = run()
        agreement[name] = {
            "loss_rel": abs(value - reference_loss) / max(abs(reference_loss), 1e-30),
            "grad_rel": [
                float(np.linalg.norm(g - r) / max(np.linalg.norm(r), 1e-30))
                for g, r in zip(grads, reference, strict=True)
            ],
        }
    times = {name: [] for name in methods}
    cpu_times = {name: [] for name in methods}
    for _ in range(repeats):
        for name, run in methods.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            run()
            times[name].append(time.perf_counter() - start)
            cpu_times[name].append(time.process_time() - start_cpu)
    ms_per_sample = {name: 1e3 * statistics.median(t) / batch for name, t in times.items()}
    cpu_ms_per_sample = {name: 1e3 * statistics.median(t) / batch for name, t in cpu_times.items()}

    flop = dense_flop(sizes, steps)
    rates = {"float32": gemm_rate(np.float32), "float64": gemm_rate(np.float64)}
    input_density = float(spikes.mean())
    n_in, n_hidden, n_out = sizes
    event_flop = flop - 2.0 * steps * 2 * n_in * n_hidden * (1 - input_density)
    recording = record_forward([w.astype(np.float32) for w in weights], spikes, params)
    held, minimum = trace_bytes(recording)
    typed = [w.astype(np.float32) for w in weights]
    tracemalloc.start()
    loss_and_grad(typed, spikes, targets, params, q=q)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    results = {
        "setup": {
            "sizes": sizes,
            "steps": steps,
            "batch": batch,
            "input_density": input_density,
            "alpha": alpha,
            "input_gain": case["input_gain"],
            "q_volt": q,
            "repeats": repeats,
            "hidden_spike_fraction": float(recording.P[0].mean()),
        },
        "load_average_before": load_before,
        "load_average": list(os.getloadavg()),
        "ms_per_sample": ms_per_sample,
        "cpu_ms_per_sample": cpu_ms_per_sample,
        "all_ms_per_sample": {name: [1e3 * x / batch for x in t] for name, t in times.items()},
        "agreement_with_numpy_float64": agreement,
        "floor": {
            "dense_MFLOP_per_sample": flop / 1e6,
            "event_driven_MFLOP_per_sample": event_flop / 1e6,
            "gemm_GFLOPs": {k: v / 1e9 for k, v in rates.items()},
            "dense_floor_ms_per_sample": {k: 1e3 * flop / v for k, v in rates.items()},
            "event_driven_floor_ms_per_sample": {k: 1e3 * event_flop / v for k, v in rates.items()},
        },
        "memory_per_sample_bytes": {
            "recording_float32": held / batch,
            "minimum_float32": minimum / batch,
            "ratio_to_minimum": held / minimum,
            "peak_allocated_during_step_float32": peak / batch,
        },
    }
    if "torch float32 autograd" in ms_per_sample:
        results["speedup_float32_vs_torch"] = ms_per_sample["torch float32 autograd"] / ms_per_sample["numpy float32"]
    if f"{UNCOMPILED} float32" in ms_per_sample:
        results["speedup_compiled_loops_float32"] = {
            "wall": ms_per_sample[f"{UNCOMPILED} float32"] / ms_per_sample["numpy float32"],
            "cpu": cpu_ms_per_sample[f"{UNCOMPILED} float32"] / cpu_ms_per_sample["numpy float32"],
        }
    return results


def _print_case(name: str, results: dict):
    setup = results["setup"]
    sizes = setup["sizes"]
    print(
        f"[{name}] {sizes[0]}-{sizes[1]}-{sizes[2]}, T={setup['steps']}, batch {setup['batch']}, input density "
        f"{setup['input_density']:.3f}, hidden spikes {setup['hidden_spike_fraction']:.3f}, alpha={setup['alpha']}, "
        f"{setup['repeats']} repeats, load {results['load_average'][0]:.1f}"
    )
    print(f"{'method':<26} {'ms/sample':>10} {'CPU ms/sample':>14} {'dense floor':>12} {'grad rel. to f64':>18}")
    for method, value in results["ms_per_sample"].items():
        dtype = "float64" if "float64" in method else "float32"
        print(
            f"{method:<26} {value:>10.3f} {results['cpu_ms_per_sample'][method]:>14.3f} "
            f"{results['floor']['dense_floor_ms_per_sample'][dtype]:>12.3f} "
            f"{max(results['agreement_with_numpy_float64'][method]['grad_rel']):>18.2e}"
        )
    if "speedup_compiled_loops_float32" in results:
        print(
            f"compiled loops: {results['speedup_compiled_loops_float32']['cpu']:.2f}x less CPU time than "
            f"numpy+scipy only"
        )
    if "speedup_float32_vs_torch" in results:
        print(f"numpy float32 is {results['speedup_float32_vs_torch']:.1f}x faster than torch autograd")
    memory = results["memory_per_sample_bytes"]
    print(
        f"recording {memory['recording_float32'] / 1e3:.0f} kB per sample (minimum {memory['minimum_float32'] / 1e3:.0f}"
        f" kB, x{memory['ratio_to_minimum']:.2f}); peak allocation during a step "
        f"{memory['peak_allocated_during_step_float32'] / 1e3:.0f} kB per sample"
    )


def main(argv=None) -> int:
    from gradients import forward

    parser = study_parser(NAME, "One training step of a 384-700-10 network: ms per sample against torch autograd")
    parser.add_argument("--repeats", type=int, default=None, help="timed repeats per method (default 9, quick 2)")
    parser.add_argument("--cases", default=",".join(CASES), help=f"comma-separated cases of {tuple(CASES)}")
    parser.add_argument("--no-torch", action="store_true", help="skip the PyTorch reference")
    parser.add_argument(
        "--uncompiled",
        action="store_true",
        help=f"also time float32 with the compiled (numba) loops switched off ('{UNCOMPILED}')",
    )
    args = parser.parse_args(argv)
    repeats = args.repeats or (2 if args.quick else 9)
    if repeats < 1:
        parser.error(f"--repeats must be >= 1, got {repeats}")
    names = [c for c in args.cases.split(",") if c]
    if not names or set(names) - set(CASES):
        parser.error(f"--cases must list some of {tuple(CASES)}, got {args.cases!r}")
    results_path, _ = output_paths(NAME, args)
    torch_version = None
    if not args.no_torch:
        try:
            import torch

            torch_version = torch.__version__
        except ImportError:
            pass
    cases = QUICK_CASES if args.quick else CASES
    results = {
        "claim": "one training step (forward + backward) of 384-700-10 in ms per sample, two cases",
        "machine": {
            "cpus": os.cpu_count(),
            "processor": platform.processor() or platform.machine(),
            "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
            "numpy": np.__version__,
            "torch": torch_version,
            "numba": numba_version(),
            "compiled_loops": forward.COMPILED,
        },
        "cases": {},
    }
    for name in names:
        results["cases"][name] = benchmark_case(cases[name], repeats, torch_version is not None, args.uncompiled)
        _print_case(name, results["cases"][name])
    write_json(results_path, results)
    print(f"wrote {results_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
