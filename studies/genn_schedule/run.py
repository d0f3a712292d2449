r"""How far a run under GeNN's forced schedule is from the iterative reference, at dt 1 ms and 0.1 ms.

GeNN (through brian2genn) runs each step as synapses -> groups -> thresholds -> resets
(:data:`vr_brian.genn.GENN_SCHEDULE`): a spike reaches the next layer one step after it is
fired, and is decayed once before it is seen. Step for step this is the iterative model
with R(t) computed from U(t) instead of U(t-1) (see :mod:`vr_brian.genn`): identical when
alpha = 0, different by O(dt) in R otherwise. Brian2 under that same schedule computes what
GeNN computes, so :func:`vr_brian.genn.run_genn_schedule` (numpy target) stands for GeNN here.

The same input (Poisson spike times on a 1 ms grid, identical at both dt) drives a
40-30-20-6 network under both models, at alpha = 0 and 0.3:

- spike trains of the hidden layers: the coincidence factor Gamma (window 2 ms) of the GeNN
  schedule's train against the reference's, averaged over the (sample, neuron) pairs whose
  reference train has spikes;
- voltages: RMS of U_genn - U_ref over all steps, relative to v_thr, per layer;
- output: mean |V_max difference| / v_thr, and the share of (sample, output) predictions
  (V_max > v_thr) that agree.
"""

from __future__ import annotations

import math

import numpy as np

from studies.cli import output_paths, study_parser, write_json

NAME = "genn_schedule"
SIZES = (40, 30, 20, 6)


def make_input(rng, batch: int, duration_ms: int, n_in: int, rate_hz: float) -> np.ndarray:
    """Poisson input on a 1 ms grid: (batch, duration_ms, n_in) bool; entry k is the spike at (k+1) ms."""
    return rng.random((batch, duration_ms, n_in)) < rate_hz * 1e-3


def on_grid(spikes_ms: np.ndarray, per_ms: int) -> np.ndarray:
    """The same spikes at step dt = 1 ms / per_ms: step k stands for time (k+1)*dt, so (k+1) ms -> per_ms*(k+1) - 1."""
    batch, steps, n_in = spikes_ms.shape
    fine = np.zeros((batch, steps * per_ms, n_in), bool)
    fine[:, per_ms - 1 :: per_ms] = spikes_ms
    return fine


def compare(genn, reference, dt: float) -> dict:
    """The metrics of the module docstring for one pair of Traces."""
    from vr_brian.spike_metrics import gamma_factor

    params = reference.params
    steps = reference.spikes.shape[1]
    duration = steps * dt
    t = reference.t
    out = {"layers": []}
    for n, (U_g, U_r) in enumerate(zip(genn.U, reference.U, strict=True), start=1):
        layer = {
            "layer": n,
            "rms_dU": float(np.sqrt(np.mean((U_g - U_r) ** 2)) / params.v_thr),
            "max_abs_dU": float(np.abs(U_g - U_r).max() / params.v_thr),
        }
        if n < len(reference.U):
            P_g, P_r = genn.P[n - 1], reference.P[n - 1]
            gammas = []
            for b in range(P_r.shape[0]):
                for j in range(P_r.shape[2]):
                    data = t[P_r[b, :, j]]
                    if len(data) == 0:
                        continue
                    gammas.append(gamma_factor(t[P_g[b, :, j]], data, duration))
            # Gamma is undefined (NaN) for a train above 1/(2 * 2 ms) = 250 Hz: left out of the mean
            layer.update(
                gamma=float(np.nanmean(gammas)) if gammas else math.nan,
                gamma_undefined=int(np.isnan(gammas).sum()),
                identical_trains=float(
                    np.mean(
                        [
                            (P_g[b, :, j] == P_r[b, :, j]).all()
                            for b in range(P_r.shape[0])
                            for j in range(P_r.shape[2])
                            if P_r[b, :, j].any()
                        ]
                    )
                )
                if gammas
                else math.nan,
                trains=len(gammas),
                rate_ref_hz=float(P_r.mean() / dt),
                rate_genn_hz=float(P_g.mean() / dt),
            )
        else:
            vmax_g, vmax_r = U_g.max(axis=1), U_r.max(axis=1)
            layer.update(
                mean_abs_dVmax=float(np.mean(np.abs(vmax_g - vmax_r)) / params.v_thr),
                prediction_agreement=float(np.mean((vmax_g > params.v_thr) == (vmax_r > params.v_thr))),
                predicted_true_ref=float(np.mean(vmax_r > params.v_thr)),
            )
        out["layers"].append(layer)
    return out


def table(results: list) -> str:
    """Markdown table of the results."""
    lines = [
        "| dt (ms) | alpha | layer | rate ref / GeNN (Hz) | Gamma (2 ms) | identical trains | RMS dU / v_thr "
        "| max abs dU / v_thr | output: mean abs dVmax / v_thr | output: predictions agreeing |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for run in results:
        for layer in run["layers"]:
            hidden = "gamma" in layer
            lines.append(
                f"| {run['dt_ms']:g} | {run['alpha']:g} | {layer['layer']}{'' if hidden else ' (output)'} | "
                + (
                    f"{layer['rate_ref_hz']:.1f} / {layer['rate_genn_hz']:.1f} | {layer['gamma']:.4f} | "
                    f"{100 * layer['identical_trains']:.0f}% | "
                    if hidden
                    else "- | - | - | "
                )
                + f"{layer['rms_dU']:.2e} | {layer['max_abs_dU']:.2e} | "
                + (
                    "- | - |"
                    if hidden
                    else f"{layer['mean_abs_dVmax']:.2e} | {100 * layer['prediction_agreement']:.1f}% |"
                )
            )
    return "\n".join(lines)


def main(argv=None) -> int:
    from vr_brian import VRParams, forward
    from vr_brian.genn import GENN_SCHEDULE, run_genn_schedule

    parser = study_parser(NAME, "Distance of GeNN's forced schedule from the iterative reference at dt 1 and 0.1 ms")
    parser.add_argument("--batch", type=int, default=None, help="input samples (default 8, quick 2)")
    parser.add_argument("--duration", type=int, default=None, help="ms per sample (default 300, quick 40)")
    args = parser.parse_args(argv)
    batch = args.batch or (2 if args.quick else 8)
    duration_ms = args.duration or (40 if args.quick else 300)
    if batch < 1 or duration_ms < 2:
        parser.error(f"--batch must be >= 1 and --duration >= 2, got {batch}, {duration_ms}")
    results_path, _ = output_paths(NAME, args)

    rng = np.random.default_rng(11)
    # conftest-like weights: N(0.03, 0.08) V scaled by sqrt(40/fan-in); every hidden layer fires at dt = 1 ms
    weights = [
        rng.normal(0.03, 0.08, (SIZES[n + 1], SIZES[n])) * math.sqrt(40 / SIZES[n]) for n in range(len(SIZES) - 1)
    ]
    rate_hz = 40.0
    spikes_ms = make_input(rng, batch, duration_ms, SIZES[0], rate_hz)
    results = []
    for alpha in (0.0, 0.3):
        for per_ms in (1, 10):
            params = VRParams.from_si(alpha=alpha, dt=1e-3 / per_ms)
            spikes = on_grid(spikes_ms, per_ms)
            reference = forward(weights, spikes, params, check=False)
            genn = run_genn_schedule(weights, spikes, params, form="x", target="numpy")
            run = {"dt_ms": 1.0 / per_ms, "alpha": alpha, **compare(genn, reference, params.dt)}
            results.append(run)
            print(
                f"dt={1 / per_ms:g} ms alpha={alpha:g}: "
                + "; ".join(
                    f"L{l['layer']} rms dU {l['rms_dU']:.2e}" + (f" Gamma {l['gamma']:.4f}" if "gamma" in l else "")
                    for l in run["layers"]
                ),
                flush=True,
            )
    print(table(results))
    write_json(
        results_path,
        {
            "claim": "distance of a run under GeNN's forced schedule from the iterative reference",
            "setup": {
                "sizes": SIZES,
                "batch": batch,
                "duration_ms": duration_ms,
                "input_rate_hz": rate_hz,
                "weights": "N(0.03, 0.08) V * sqrt(40/fan_in), seed 11",
                "tau_m_ms": 20,
                "tau_s_ms": 5,
                "v_thr": 1.0,
                "gamma_window_ms": 2.0,
                "quick": bool(args.quick),
                "genn_stand_in": f"Brian2 numpy target with the schedule {list(GENN_SCHEDULE)}",
            },
            "results": results,
            "table_markdown": table(results),
        },
    )
    print(f"results: {results_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
