r"""Where the negative-voltage runaway of alpha > 0 sets in, and a rule of thumb to avoid it.

Map: a 40-30-20-6 network over 200 steps of Bernoulli input spikes (probability
``p_in`` per input and step), weights drawn i.i.d. from N(mu, sigma) V, simulated with
the numpy reference :func:`vr_brian.forward` (all seeds of one cell at once, as one
block-diagonal network). A run has run away when R(t) = 1 - alpha U(t-1)/v_thr exceeds
:data:`vr_brian.traces.RUNAWAY_RESISTANCE` somewhere (the criterion of
:meth:`vr_brian.Traces.check_resistance`), i.e. U < -(R_max - 1) v_thr/alpha.

Rule of thumb (mean field). A neuron whose input weights sum to
:math:`\Sigma_i = \sum_j w_{ij}` and whose inputs fire with probability p per step has
the mean drive :math:`a_i = p N_0 S \Sigma_i`, with
:math:`S = \sum_j(\gamma_m^j - \gamma_s^j) \approx (\tau_m - \tau_s)/dt`. Its mean
voltage solves :math:`U = a_i (1 - \alpha U/v_{thr})`; when the drive is inhibitory the
loop gain of U -> R -> U is

.. math::  G_i = -\alpha\, p\, N_0\, S\, \Sigma_i / v_{thr},

and for :math:`G_i > 1` the fixed point :math:`U^* = a_i/(1 + \alpha a_i/v_{thr})`
disappears: U falls without bound. With weights N(mu, sigma) and fan-in n, the most
negative of M neurons has :math:`\Sigma \approx n\mu - z_M \sigma\sqrt{n}`,
:math:`z_M = \sqrt{2\ln M}`, so the a-priori index of a layer is

.. math::  G = \alpha\, p\, N_0\, S\, (z_M \sigma \sqrt{n} - n\mu) / v_{thr}.

Input fluctuations multiply U too, so runaway starts somewhat below G = 1; the map
says how far. p of the first layer is the input's; of deeper layers, the observed mean
firing probability of the layer below.

A second route starts on the positive side: a neuron driven hard enough (the output
layer, which does not reset) overshoots v_thr/alpha, where R < 0 turns excitation into
inhibition and the voltage is thrown far negative, after which the first route takes
over. The two-sided index :math:`G_2 = \alpha p N_0 S (n|\mu| + z_M\sigma\sqrt{n})/v_{thr}`
(the most strongly driven neuron of either sign) bounds both routes.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from studies.cli import output_paths, save_figure, study_parser, write_json

NAME = "runaway_stability"
SIZES = (40, 30, 20, 6)


def kernel_sum(params) -> float:
    """S = sum_{j>=0} (gamma_m^j - gamma_s^j)."""
    return params.gamma_m / (1 - params.gamma_m) - params.gamma_s / (1 - params.gamma_s)


def runaway_index(alpha, mu, sigma, p: float, params, fan_in: int = SIZES[0], n_neurons: int = SIZES[1]):
    """A-priori runaway index G of a layer: alpha p N0 S (z sigma sqrt(n) - n mu) / v_thr, z = sqrt(2 ln M)."""
    z = math.sqrt(2 * math.log(n_neurons))
    drive = z * np.asarray(sigma) * math.sqrt(fan_in) - fan_in * np.asarray(mu)
    return np.asarray(alpha) * p * params.N0 * kernel_sum(params) * drive / params.v_thr


def layer_indices(alpha, mu, sigma, rates, params) -> np.ndarray:
    """The index G of every layer, with ``rates`` the mean firing probability of each layer's inputs."""
    return np.array(
        [
            runaway_index(alpha, mu, sigma, p, params, fan_in=n_pre, n_neurons=n_post)
            for p, n_pre, n_post in zip(rates, SIZES[:-1], SIZES[1:], strict=True)
        ]
    )


def two_sided_indices(alpha, mu, sigma, rates, params) -> np.ndarray:
    """Per layer, alpha p N0 S (n |mu| + z sigma sqrt(n)) / v_thr: the drive of the most strongly driven
    neuron of either sign, which bounds both routes to the runaway (G > 1, and U above v_thr/alpha)."""
    out = []
    for p, n_pre, n_post in zip(rates, SIZES[:-1], SIZES[1:], strict=True):
        z = math.sqrt(2 * math.log(n_post))
        out.append(
            alpha * p * params.N0 * kernel_sum(params) * (n_pre * abs(mu) + z * sigma * math.sqrt(n_pre)) / params.v_thr
        )
    return np.array(out)


def critical_sigma(alpha, mu, p: float, params, fan_in: int = SIZES[0], n_neurons: int = SIZES[1], G: float = 1.0):
    """The sigma at which the a-priori index reaches G."""
    z = math.sqrt(2 * math.log(n_neurons))
    return (G * params.v_thr / (np.asarray(alpha) * p * params.N0 * kernel_sum(params)) + fan_in * np.asarray(mu)) / (
        z * math.sqrt(fan_in)
    )


def block_diagonal(blocks) -> np.ndarray:
    """Stack (n_post, n_pre) blocks along the diagonal of one matrix."""
    rows, cols = sum(b.shape[0] for b in blocks), sum(b.shape[1] for b in blocks)
    out = np.zeros((rows, cols))
    r = c = 0
    for b in blocks:
        out[r : r + b.shape[0], c : c + b.shape[1]] = b
        r, c = r + b.shape[0], c + b.shape[1]
    return out


def run_cell(alpha: float, mu: float, sigma: float, seeds, *, p_in: float, steps: int, params) -> dict:
    """Simulate one (alpha, mu, sigma) cell for every seed; per seed: runaway, lowest U, measured index.

    The measured index is max over neurons of -alpha N0 S sum_j w_ij p_j / v_thr, with p_j
    the firing probability of presynaptic neuron j observed in the same run.
    """
    from vr_brian import forward
    from vr_brian.traces import RUNAWAY_RESISTANCE

    weights, spikes = [], []
    for seed in seeds:
        rng = np.random.default_rng(seed)
        weights.append(
            [rng.normal(mu, sigma, (n_post, n_pre)) for n_pre, n_post in zip(SIZES[:-1], SIZES[1:], strict=True)]
        )
        spikes.append(rng.random((steps, SIZES[0])) < p_in)
    network = [block_diagonal([w[layer] for w in weights]) for layer in range(len(SIZES) - 1)]
    with warnings.catch_warnings(), np.errstate(over="ignore", invalid="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        traces = forward(network, np.concatenate(spikes, axis=1)[None], params.replace(alpha=alpha))
    S, n = kernel_sum(params), len(seeds)
    out = {"runaway": [], "lowest_U_V": [], "highest_U_V": [], "measured_index": [], "presynaptic_rate": []}
    for s in range(n):
        lowest, highest, index, layer_rates = np.inf, -np.inf, -np.inf, []
        for layer, U in enumerate(traces.U):
            units = SIZES[layer + 1]
            u = U[0, :, s * units : (s + 1) * units]
            lowest = min(lowest, float(np.nanmin(u)) if np.isfinite(u).any() else -np.inf)
            if np.isnan(u).any():
                lowest = -np.inf
            # highest U before this layer's runaway began: did R(t) turn negative first?
            ran_away = (u < -(RUNAWAY_RESISTANCE - 1) * params.v_thr / alpha).any(axis=1)
            onset = int(np.argmax(ran_away)) if ran_away.any() else u.shape[0]
            if onset:
                highest = max(highest, float(np.nanmax(u[:onset])))
            presynaptic = (
                spikes[s] if layer == 0 else traces.P[layer - 1][0, :, s * SIZES[layer] : (s + 1) * SIZES[layer]]
            )
            rates = presynaptic.mean(axis=0)
            layer_rates.append(float(rates.mean()))
            index = max(index, float(np.max(-alpha * params.N0 * S * (weights[s][layer] @ rates) / params.v_thr)))
        threshold = -(RUNAWAY_RESISTANCE - 1) * params.v_thr / alpha
        out["runaway"].append(bool(lowest < threshold))
        out["lowest_U_V"].append(lowest)
        out["highest_U_V"].append(highest)
        out["measured_index"].append(index)
        out["presynaptic_rate"].append(layer_rates)
    return out


def plot_map(alphas, mus, sigmas, fraction, G_layers, path):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(3.6 * len(mus) + 1.2, 3.8))
    axes = fig.subplots(1, len(mus), sharey=True, squeeze=False)
    axes = axes[0]
    a_step = np.diff(alphas).min() if len(alphas) > 1 else 0.1
    s_step = np.diff(sigmas).min() if len(sigmas) > 1 else 0.05
    extent = [alphas[0] - a_step / 2, alphas[-1] + a_step / 2, sigmas[0] - s_step / 2, sigmas[-1] + s_step / 2]
    G_max = G_layers.max(axis=-1)
    for m, (ax, mu) in enumerate(zip(axes, mus, strict=True)):
        image = ax.imshow(
            fraction[:, m, :].T, origin="lower", aspect="auto", extent=extent, cmap="Reds", vmin=0, vmax=1
        )
        if len(alphas) > 1 and len(sigmas) > 1:
            contours = ax.contour(
                alphas, sigmas, G_max[:, m, :].T, levels=[0.5, 1.0], colors="k", linestyles=["--", "-"], linewidths=1.2
            )
            ax.clabel(contours, fmt={0.5: "G=0.5", 1.0: "G=1"}, fontsize=7)
        ax.set_ylim(extent[2], extent[3])
        ax.set_xlim(extent[0], extent[1])
        ax.set_title(f"mu = {mu:g} V", fontsize=10)
        ax.set_xlabel("alpha")
    axes[0].set_ylabel("sigma of the weights (V)")
    fig.colorbar(image, ax=list(axes), label="fraction of seeds that ran away", shrink=0.9)
    fig.suptitle(
        "Negative-voltage runaway, 40-30-20-6 network, 200 steps; lines: rule-of-thumb index G (max over layers)",
        fontsize=10,
    )
    return save_figure(fig, path)


def plot_collapse(G_max, mus, fraction, G_measured, runaway, path):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 4))
    ax, bx = fig.subplots(1, 2)
    for m, mu in enumerate(mus):
        ax.plot(G_max[:, m, :].ravel(), fraction[:, m, :].ravel(), "o", ms=4, alpha=0.6, label=f"mu = {mu:g} V")
    ax.axvline(1, color="k", lw=0.8)
    ax.axvline(0.5, color="k", lw=0.8, ls="--")
    ax.set_xlabel("G = max over layers of alpha p N0 S (z sigma sqrt(n) - n mu) / v_thr")
    ax.set_ylabel("fraction of seeds that ran away")
    ax.set_title("Every (alpha, mu, sigma) cell", fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    lo, hi = -1.0, 4.0
    bins = np.linspace(lo, hi, 26)
    shown = np.clip(G_measured, lo, hi - 1e-9)
    bx.hist(
        [shown[~runaway], shown[runaway]],
        bins=bins,
        stacked=True,
        label=["stayed", "ran away"],
        color=["tab:blue", "tab:red"],
    )
    bx.axvline(1, color="k", lw=0.8)
    bx.set_xlabel("per-neuron index max_i -alpha N0 S sum_j w_ij p_j / v_thr (clipped to [-1, 4])")
    bx.set_ylabel("runs")
    bx.set_title("Every run (seed), from its own weights and firing rates", fontsize=10)
    bx.legend(fontsize=8)
    bx.grid(alpha=0.3)
    fig.tight_layout()
    return save_figure(fig, path)


def band_table(index: np.ndarray, fraction: np.ndarray) -> list:
    """Runaway fraction of the cells whose index falls in each band."""
    bands = [(-np.inf, 0.25), (0.25, 0.5), (0.5, 0.75), (0.75, 1.0), (1.0, 1.5), (1.5, 3.0), (3.0, np.inf)]
    table = []
    for lo, hi in bands:
        mask = (index >= lo) & (index < hi)
        if mask.any():
            table.append(
                {
                    "G_from": lo,
                    "G_to": hi,
                    "cells": int(mask.sum()),
                    "runaway_fraction_mean": float(fraction[mask].mean()),
                    "runaway_fraction_max": float(fraction[mask].max()),
                }
            )
    return table


def main(argv=None) -> int:
    from vr_brian import VRParams

    parser = study_parser(NAME, "Where the negative-voltage runaway sets in, over alpha and the weight statistics")
    parser.add_argument("--seeds", type=int, default=None, help="seeds per cell (default 16)")
    parser.add_argument("--p-in", type=float, default=0.1, help="input spike probability per step (default 0.1)")
    args = parser.parse_args(argv)
    seeds = args.seeds or 16
    if seeds < 1:
        parser.error(f"--seeds must be >= 1, got {seeds}")
    if not 0 < args.p_in <= 1:
        parser.error(f"--p-in must be in (0, 1], got {args.p_in}")
    results_path, figures_dir = output_paths(NAME, args)

    params = VRParams(alpha=0.3)  # tau_m 20 ms, tau_s 5 ms, v_thr 1 V, dt 1 ms
    steps = 200
    if args.quick:
        alphas, mus, sigmas = np.array([0.1, 0.3]), np.array([0.05]), np.array([0.05, 0.15, 0.2])
    else:
        alphas = np.array([0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5])
        mus = np.array([0.0, 0.05, 0.1])
        sigmas = np.array([0.05, 0.075, 0.1, 0.125, 0.15, 0.175, 0.2, 0.25, 0.3])
    seed_list = list(range(seeds))
    shape = (len(alphas), len(mus), len(sigmas))
    fraction, lowest_median = np.zeros(shape), np.zeros(shape)
    G_layers = np.zeros(shape + (len(SIZES) - 1,))
    G_two_sided = np.zeros_like(G_layers)
    G_measured, runaway_flags, highest, cells = [], [], [], {}
    for a, alpha in enumerate(alphas):
        for m, mu in enumerate(mus):
            for s, sigma in enumerate(sigmas):
                cell = run_cell(alpha, mu, sigma, seed_list, p_in=args.p_in, steps=steps, params=params)
                fraction[a, m, s] = np.mean(cell["runaway"])
                lowest_median[a, m, s] = np.median(cell["lowest_U_V"])
                G_layers[a, m, s] = layer_indices(alpha, mu, sigma, np.mean(cell["presynaptic_rate"], axis=0), params)
                G_two_sided[a, m, s] = two_sided_indices(
                    alpha, mu, sigma, np.mean(cell["presynaptic_rate"], axis=0), params
                )
                G_measured += cell["measured_index"]
                runaway_flags += cell["runaway"]
                highest += [h * alpha / params.v_thr for h in cell["highest_U_V"]]
                cells[(float(alpha), float(mu), float(sigma))] = cell
    G_max = G_layers.max(axis=-1)
    G_measured, runaway_flags = np.array(G_measured), np.array(runaway_flags)
    negative_R_first = np.array(highest) > 1  # U exceeded v_thr/alpha before any runaway

    # MODEL.md's two data points: N(0.05, 0.2) at alpha 0.3 reached -6400 V; N(0.05, 0.15) stayed above -9 V
    data_points = {}
    for sigma, claim in ((0.2, "runs away (reached -6400 V)"), (0.15, "stays above -9 V")):
        cell = cells.get((0.3, 0.05, sigma)) or run_cell(
            0.3, 0.05, sigma, seed_list, p_in=args.p_in, steps=steps, params=params
        )
        lowest = np.array(cell["lowest_U_V"])
        data_points[f"N(0.05,{sigma})"] = {
            "MODEL.md": claim,
            "seeds": seeds,
            "runaway_fraction": float(np.mean(cell["runaway"])),
            "lowest_U_median_V": float(np.median(lowest)),
            "lowest_U_min_V": float(lowest.min()),
            "fraction_above_-9V": float(np.mean(lowest > -9)),
            "fraction_below_-1000V": float(np.mean(lowest < -1000)),
            "index_G_per_layer": layer_indices(0.3, 0.05, sigma, np.mean(cell["presynaptic_rate"], axis=0), params),
        }
    measured_rule = {
        "runs": int(runaway_flags.size),
        "runaway": int(runaway_flags.sum()),
        "runaway_with_index_below_0.5": int(np.count_nonzero(runaway_flags & (G_measured < 0.5))),
        "runaway_with_index_below_1": int(np.count_nonzero(runaway_flags & (G_measured < 1))),
        "stayed_with_index_at_least_1": int(np.count_nonzero(~runaway_flags & (G_measured >= 1))),
        "runs_with_index_below_0.5": int(np.count_nonzero(G_measured < 0.5)),
        "runs_with_index_at_least_1": int(np.count_nonzero(G_measured >= 1)),
        "accuracy_of_index_at_least_1": float(np.mean((G_measured >= 1) == runaway_flags)),
        "runaway_with_index_below_1_after_R_negative": int(
            np.count_nonzero(runaway_flags & (G_measured < 1) & negative_R_first)
        ),
        "runaway_with_index_at_least_1_after_R_negative": int(
            np.count_nonzero(runaway_flags & (G_measured >= 1) & negative_R_first)
        ),
    }
    map_figure = plot_map(alphas, mus, sigmas, fraction, G_layers, figures_dir / f"{NAME}_map.png")
    collapse_figure = plot_collapse(G_max, mus, fraction, G_measured, runaway_flags, figures_dir / f"{NAME}_rule.png")
    results = {
        "claim": "the runaway sets in where G = alpha p N0 S (z sigma sqrt(n) - n mu) / v_thr approaches 1 in some layer",
        "config": {
            "quick": args.quick,
            "seeds_per_cell": seeds,
            "p_in": args.p_in,
            "steps": steps,
            "sizes": SIZES,
            "params": repr(params),
            "alphas": alphas,
            "mus_V": mus,
            "sigmas_V": sigmas,
            "runaway_criterion": "R(t) > 10 somewhere, i.e. U < -9 v_thr / alpha",
            "N0": params.N0,
            "kernel_sum_S": kernel_sum(params),
            "layer_rates": "p of layer 1 is p_in; of deeper layers the mean observed firing probability "
            "of the presynaptic layer (mean over neurons and seeds)",
            "backend": "numpy reference (vr_brian.forward)",
        },
        "runaway_fraction": fraction,
        "lowest_U_median_V": lowest_median,
        "index_G_per_layer": G_layers,
        "rule_by_index_band": band_table(G_max, fraction),
        "rule_by_index_band_per_mu": {f"{mu:g}": band_table(G_max[:, m], fraction[:, m]) for m, mu in enumerate(mus)},
        "rule_by_layer1_index_band": band_table(G_layers[..., 0], fraction),
        "two_sided_index_per_layer": G_two_sided,
        "rule_by_two_sided_index_band": band_table(G_two_sided.max(axis=-1), fraction),
        "per_neuron_index_rule": measured_rule,
        "model_md_data_points": data_points,
        "figures": [map_figure.name, collapse_figure.name],
    }
    write_json(results_path, results)
    print(
        f"{NAME}: {fraction.size} cells x {seeds} seeds, p_in {args.p_in} -> {results_path}, {map_figure}, "
        f"{collapse_figure}"
    )
    for name, point in data_points.items():
        print(
            f"  {name} at alpha 0.3: MODEL.md says {point['MODEL.md']}; runaway in "
            f"{point['runaway_fraction']:.0%} of seeds, lowest U median {point['lowest_U_median_V']:.3g} V, "
            f"min {point['lowest_U_min_V']:.3g} V, above -9 V in {point['fraction_above_-9V']:.0%}, "
            f"G per layer {np.round(point['index_G_per_layer'], 2)}"
        )
    for label, key in (
        ("G (max over layers)", "rule_by_index_band"),
        ("G of layer 1", "rule_by_layer1_index_band"),
        ("two-sided G2 (max over layers)", "rule_by_two_sided_index_band"),
    ):
        for row in results[key]:
            print(
                f"  {label} in [{row['G_from']:g}, {row['G_to']:g}): {row['cells']} cells, runaway fraction mean "
                f"{row['runaway_fraction_mean']:.2f}, max {row['runaway_fraction_max']:.2f}"
            )
    print(f"  per-neuron index: {measured_rule}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
