r"""Effective PSP amplitude against the voltage at which the input arrives, for several alpha.

A spike of weight w arriving at step k adds :math:`N_0 w R(k)` to Dm and Ds, with
:math:`R(k) = 1 - \alpha U(k-1)/v_{thr}`. With no further input the PSP is that jump
times the kernel :math:`N_0(\gamma_m^j - \gamma_s^j)`, so its peak is

.. math::  A(U) = w\,\kappa\,(1 - \alpha U / v_{thr}),\qquad
           \kappa = \max_j N_0(\gamma_m^j - \gamma_s^j)

(:math:`\kappa \to 1` as dt -> 0; N0 normalises the continuous kernel's peak).

Measurement, in Brian2 (numpy target): one non-firing neuron per (alpha, U) pair and
a twin without the test input. A conditioning spike at step 0, of the weight that
brings U to the chosen value at step k0 - 1, sets the voltage; the test spike arrives
at step k0. The PSP is the difference between the twins' traces; its amplitude is the
signed extreme of that difference.
"""

from __future__ import annotations

import numpy as np

from studies.cli import output_paths, save_figure, study_parser, write_json
from vr_brian_app.arguments import quantity_arg

NAME = "psp_amplitude"


def kernel(params, steps: int) -> np.ndarray:
    """The discrete PSP kernel N0 (gamma_m^j - gamma_s^j), j = 0..steps-1, of a unit jump at j = 0."""
    j = np.arange(steps)
    return params.N0 * (params.gamma_m**j - params.gamma_s**j)


def analytic_amplitude(w: float, U, alpha, params, steps: int = 200):
    """A = w * kappa * (1 - alpha U / v_thr), kappa the peak of the discrete kernel."""
    kappa = kernel(params, steps).max()
    return w * kappa * (1 - np.asarray(alpha) * np.asarray(U) / params.v_thr)


def measure(params, alphas, voltages, w: float, after: int = 80) -> dict:
    """Measure the PSP amplitude for every (alpha, arrival voltage) in one Brian2 run.

    Returns
    -------
    dict
        ``amplitude`` (n_alpha, n_U) signed extreme of the PSP in volts, ``arrival_U``
        (n_alpha, n_U) the voltage U(k0-1) the test input saw, and ``k0``.
    """
    from brian2 import Network, SpikeGeneratorGroup, StateMonitor, prefs, second

    from vr_brian import VR_CLIF, connect_layers, vr_neuron_group

    k = kernel(params, 1000)
    k0 = int(np.argmax(k)) + 1  # test input one step after the conditioning PSP peaks
    alphas, voltages = np.asarray(alphas, float), np.asarray(voltages, float)
    A, V = np.meshgrid(alphas, voltages, indexing="ij")
    n = A.size
    # neurons 0..n-1 receive the test spike, n..2n-1 are their twins without it
    W = np.zeros((2 * n, 2))
    W[:, 0] = np.tile(V.ravel() / k[k0 - 1], 2)
    W[:n, 1] = w
    steps = k0 + after
    previous = prefs.codegen.target
    prefs.codegen.target = "numpy"
    try:
        source = SpikeGeneratorGroup(
            2, [0, 1], np.array([0, k0]) * params.dt * second, dt=params.dt * second, name="psp_input"
        )
        neurons = vr_neuron_group(2 * n, params, fires=False, model=VR_CLIF, name="psp_neurons")
        neurons.alpha = np.tile(A.ravel(), 2)
        synapses = connect_layers(source, neurons, W, name="psp_w")
        monitor = StateMonitor(neurons, "U", record=True, when="before_resets")
        Network(source, neurons, synapses, monitor).run(steps * params.dt * second, namespace={})
    finally:
        prefs.codegen.target = previous
    U = np.asarray(monitor.U_)
    psp = U[:n, k0:] - U[n:, k0:]
    extreme = psp[np.arange(n), np.argmax(np.abs(psp), axis=1)]
    return {"amplitude": extreme.reshape(A.shape), "arrival_U": U[:n, k0 - 1].reshape(A.shape), "k0": k0}


def plot(alphas, voltages, measured, params, w, path):
    import matplotlib
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 4.8))
    ax = fig.subplots()
    colors = matplotlib.colormaps["viridis"](np.linspace(0, 0.9, len(alphas)))
    fine = np.linspace(voltages.min(), voltages.max(), 200)
    for a, alpha in enumerate(alphas):
        ax.plot(fine, analytic_amplitude(w, fine, alpha, params) / w, color=colors[a], lw=1.2)
        ax.plot(voltages, measured[a] / w, "o", ms=4, color=colors[a], label=f"alpha = {alpha:g}")
    ax.axhline(0, color="k", lw=0.6)
    ax.axvline(params.v_thr, color="k", ls="--", lw=0.8)
    ax.text(params.v_thr, ax.get_ylim()[1], " v_thr", va="top", fontsize=8)
    ax.set_xlabel("voltage U at which the input arrives (V)")
    ax.set_ylabel("PSP amplitude / w")
    ax.set_title(
        f"Effective PSP amplitude (w = {w:g} V): Brian2 (dots) vs w kappa (1 - alpha U / v_thr) (lines)", fontsize=9
    )
    ax.legend(fontsize=8, ncol=2)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return save_figure(fig, path)


def main(argv=None) -> int:
    from vr_brian import VRParams

    parser = study_parser(NAME, "Effective PSP amplitude against the voltage at arrival, for several alpha")
    parser.add_argument(
        "--weight",
        type=quantity_arg("volt", "--weight"),
        default="0.1V",
        help="weight of the test input (default 0.1V)",
    )
    args = parser.parse_args(argv)
    if not args.weight > 0:
        parser.error(f"--weight must be > 0 V, got {args.weight} V")
    results_path, figures_dir = output_paths(NAME, args)

    params = VRParams(alpha=0.0)
    if args.quick:
        alphas, voltages = np.array([0.0, 0.3]), np.linspace(-2.0, 2.0, 5)
    else:
        alphas, voltages = np.array([-0.1, 0.0, 0.1, 0.2, 0.3, 0.4]), np.linspace(-3.0, 3.0, 25)
    result = measure(params, alphas, voltages, args.weight)
    analytic = analytic_amplitude(args.weight, voltages[None, :], alphas[:, None], params)
    error = np.abs(result["amplitude"] - analytic)
    arrival_error = float(np.max(np.abs(result["arrival_U"] - voltages[None, :])))
    kappa = float(kernel(params, 1000).max())
    slopes = np.polyfit(voltages, (result["amplitude"] / args.weight).T, 1)[0]  # d(A/w)/dU per alpha
    figure = plot(alphas, voltages, result["amplitude"], params, args.weight, figures_dir / f"{NAME}_vs_voltage.png")
    table = [
        {
            "alpha": float(alpha),
            "slope_measured_per_V": float(slopes[a]),
            "slope_analytic_per_V": float(-kappa * alpha / params.v_thr),
            "A_over_w_at_-2V": float(np.interp(-2.0, voltages, result["amplitude"][a] / args.weight)),
            "A_over_w_at_0V": float(np.interp(0.0, voltages, result["amplitude"][a] / args.weight)),
            "A_over_w_at_v_thr": float(np.interp(params.v_thr, voltages, result["amplitude"][a] / args.weight)),
        }
        for a, alpha in enumerate(alphas)
    ]
    results = {
        "claim": "the PSP amplitude is w*kappa*(1 - alpha*U/v_thr): linear in the arrival voltage, slope -alpha",
        "config": {
            "quick": args.quick,
            "weight_V": args.weight,
            "params": repr(params),
            "alphas": alphas,
            "arrival_voltages_V": voltages,
            "test_input_step": result["k0"],
            "brian2_target": "numpy",
        },
        "kappa": kappa,
        "max_abs_error_V": float(error.max()),
        "max_abs_arrival_voltage_error_V": arrival_error,
        "measured_amplitude_V": result["amplitude"],
        "analytic_amplitude_V": analytic,
        "table": table,
        "figures": [figure.name],
    }
    write_json(results_path, results)
    print(
        f"{NAME}: kappa = {kappa:.5f}; max |measured - analytic| = {error.max():.2e} V over "
        f"{error.size} (alpha, U) pairs -> {results_path}, {figure}"
    )
    for row in table:
        print(
            f"  alpha {row['alpha']:5.2f}: slope {row['slope_measured_per_V']:+.4f}/V "
            f"(analytic {row['slope_analytic_per_V']:+.4f}), A/w at U=v_thr {row['A_over_w_at_v_thr']:.4f}"
        )
    return 0 if error.max() < 1e-9 * max(1.0, args.weight) else 1


if __name__ == "__main__":
    raise SystemExit(main())
