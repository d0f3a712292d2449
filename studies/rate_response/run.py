r"""Output rate against input rate (f-I style) for alpha from -0.1 to 0.4, and the rheobase shift.

One firing neuron receives ``n_in`` excitatory Poisson inputs of equal weight w. For each
alpha, input rate and seed the iterative model (:func:`vr_brian.forward`, the numpy
reference that the Brian2 network equals step for step) gives the output spikes. The
same uniform numbers are thresholded at every input rate of one seed (common random
numbers), so a higher rate adds input spikes to those of a lower one.

Mean-field prediction of the rheobase: with :math:`\lambda` input spikes per step on
average, the mean drive settles at :math:`U^* = a R(U^*)` with
:math:`a = \lambda N_0 w S`, :math:`S = \sum_j (\gamma_m^j - \gamma_s^j)
= \gamma_m/(1-\gamma_m) - \gamma_s/(1-\gamma_s)`, i.e. :math:`U^* = a/(1 + \alpha a/v_{thr})`.
:math:`U^*` reaches :math:`v_{thr}` at :math:`a = v_{thr}/(1-\alpha)`, so the rheobase
input rate scales as :math:`1/(1-\alpha)`:

.. math::  r_{rh}(\alpha) = \frac{v_{thr}}{(1-\alpha)\, N_0\, S\, w\, n_{in}\, dt}.

Fluctuations of the Poisson input make the neuron fire somewhat below it.
"""

from __future__ import annotations

import numpy as np

from studies.cli import output_paths, save_figure, study_parser, write_json

NAME = "rate_response"


def kernel_sum(params) -> float:
    """S = sum_{j>=0} (gamma_m^j - gamma_s^j)."""
    return params.gamma_m / (1 - params.gamma_m) - params.gamma_s / (1 - params.gamma_s)


def mean_field_rheobase(params, alpha, w: float, n_in: int):
    """Input rate (Hz) at which the mean-field voltage reaches v_thr: v_thr / ((1-alpha) N0 S w n_in dt)."""
    return params.v_thr / ((1 - np.asarray(alpha)) * params.N0 * kernel_sum(params) * w * n_in * params.dt)


def output_rates(
    params, alpha: float, input_rates, *, w: float, n_in: int, steps: int, warmup: int, seed: int
) -> np.ndarray:
    """Output rate (Hz) of one neuron for each input rate, one seed, counted after ``warmup`` steps."""
    from vr_brian import forward

    rng = np.random.default_rng(seed)
    uniform = rng.random((steps, n_in))
    spikes = uniform[None] < (np.asarray(input_rates, float) * params.dt)[:, None, None]
    traces = forward([np.full((1, n_in), w), np.zeros((1, 1))], spikes, params.replace(alpha=alpha))
    counts = traces.P[0][:, warmup:, 0].sum(axis=1)
    return counts / ((steps - warmup) * params.dt)


def rheobase(input_rates: np.ndarray, rates: np.ndarray, criterion: float) -> float:
    """Smallest input rate at which the output rate reaches ``criterion`` Hz (linear interpolation).

    NaN if it is never reached.
    """
    above = np.flatnonzero(rates >= criterion)
    if above.size == 0:
        return float("nan")
    k = above[0]
    if k == 0:
        return float(input_rates[0])
    r0, r1 = rates[k - 1], rates[k]
    return float(input_rates[k - 1] + (criterion - r0) / (r1 - r0) * (input_rates[k] - input_rates[k - 1]))


def plot(input_rates, alphas, rates, rheo, path):
    import matplotlib
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 4.5))
    ax, bx = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.6, 1]})
    colors = matplotlib.colormaps["coolwarm"](np.linspace(0, 1, len(alphas)))
    for a, alpha in enumerate(alphas):
        mean, sd = rates[a].mean(axis=0), rates[a].std(axis=0)
        ax.plot(input_rates, mean, color=colors[a], lw=1.5, label=f"alpha = {alpha:g}")
        ax.fill_between(input_rates, mean - sd, mean + sd, color=colors[a], alpha=0.25, lw=0)
    ax.set_xlabel("input rate per input neuron (Hz)")
    ax.set_ylabel("output rate (Hz)")
    ax.set_title(f"f-I curves (mean +- sd over {rates.shape[1]} seeds)", fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    base = np.nanmean(rheo[list(alphas).index(0.0)]) if 0.0 in list(alphas) else 1.0
    bx.errorbar(
        alphas,
        np.nanmean(rheo, axis=1) / base,
        yerr=np.nanstd(rheo, axis=1) / base,
        fmt="o",
        color="k",
        capsize=3,
        label="measured (2 Hz criterion)",
    )
    fine = np.linspace(min(alphas), max(alphas), 100)
    bx.plot(fine, 1 / (1 - fine), color="tab:red", label="mean field 1/(1 - alpha)")
    bx.set_xlabel("alpha")
    bx.set_ylabel("rheobase / rheobase at alpha = 0")
    bx.set_title("Rheobase shift", fontsize=10)
    bx.legend(fontsize=8)
    bx.grid(alpha=0.3)
    fig.tight_layout()
    return save_figure(fig, path)


def main(argv=None) -> int:
    from vr_brian import VRParams

    parser = study_parser(NAME, "Output rate against input rate for alpha from -0.1 to 0.4, with the rheobase shift")
    parser.add_argument("--seeds", type=int, default=None, help="number of seeds (default 5, quick 2)")
    args = parser.parse_args(argv)
    seeds = args.seeds or (2 if args.quick else 5)
    if seeds < 1:
        parser.error(f"--seeds must be >= 1, got {seeds}")
    results_path, figures_dir = output_paths(NAME, args)

    params = VRParams(alpha=0.0)
    n_in, w, criterion = 100, 0.02, 2.0  # inputs, volts, Hz
    if args.quick:
        alphas, input_rates, steps = [0.0, 0.4], np.arange(0.0, 61.0, 4.0), 600
    else:
        alphas, input_rates, steps = [-0.1, 0.0, 0.1, 0.2, 0.3, 0.4], np.arange(0.0, 81.0, 1.0), 2100
    warmup = 100
    rates = np.array(
        [
            [
                output_rates(params, alpha, input_rates, w=w, n_in=n_in, steps=steps, warmup=warmup, seed=seed)
                for seed in range(seeds)
            ]
            for alpha in alphas
        ]
    )
    rheo = np.array([[rheobase(input_rates, rates[a, s], criterion) for s in range(seeds)] for a in range(len(alphas))])
    predicted = mean_field_rheobase(params, np.array(alphas), w, n_in)
    figure = plot(input_rates, np.array(alphas), rates, rheo, figures_dir / f"{NAME}_f_I.png")
    index0 = alphas.index(0.0)
    table = []
    for a, alpha in enumerate(alphas):
        mean = rates[a].mean(axis=0)
        table.append(
            {
                "alpha": alpha,
                "rheobase_Hz_mean": float(np.nanmean(rheo[a])),
                "rheobase_Hz_sd": float(np.nanstd(rheo[a])),
                "rheobase_ratio_to_alpha0": float(np.nanmean(rheo[a]) / np.nanmean(rheo[index0])),
                "mean_field_rheobase_Hz": float(predicted[a]),
                "mean_field_ratio_to_alpha0": float(1 / (1 - alpha)),
                "output_Hz_at_max_input": float(mean[-1]),
                "output_Hz_at_2x_rheobase0": float(np.interp(2 * np.nanmean(rheo[index0]), input_rates, mean)),
                "monotone_violations": int(np.count_nonzero(np.diff(mean) < 0)),
            }
        )
    results = {
        "claim": "alpha > 0 raises the rheobase (about as 1/(1-alpha)) and lowers the gain; alpha < 0 does the reverse",
        "config": {
            "quick": args.quick,
            "seeds": seeds,
            "n_in": n_in,
            "weight_V": w,
            "steps": steps,
            "warmup_steps": warmup,
            "rheobase_criterion_Hz": criterion,
            "params": repr(params),
            "alphas": alphas,
            "input_rates_Hz": input_rates,
            "backend": "numpy reference (vr_brian.forward)",
        },
        "kernel_sum_S": kernel_sum(params),
        "table": table,
        "rheobase_Hz": rheo,
        "output_rates_Hz": rates,
        "figures": [figure.name],
    }
    write_json(results_path, results)
    print(f"{NAME}: {seeds} seeds, {len(input_rates)} input rates -> {results_path}, {figure}")
    for row in table:
        print(
            f"  alpha {row['alpha']:5.2f}: rheobase {row['rheobase_Hz_mean']:6.2f} +- {row['rheobase_Hz_sd']:.2f} Hz "
            f"(x{row['rheobase_ratio_to_alpha0']:.3f}; mean field {row['mean_field_rheobase_Hz']:.2f} Hz, "
            f"x{row['mean_field_ratio_to_alpha0']:.3f}), out at max input {row['output_Hz_at_max_input']:.1f} Hz"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
