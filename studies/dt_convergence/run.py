r"""Convergence of the iterative model to the continuous-time form as dt shrinks.

The continuous-time form (eqs. 1 and 3): Dm, Ds, Re decay exponentially with tau_m,
tau_s, tau_m; an input spike of weight w at time s adds
:math:`N_0 w (1 - \alpha U(s^-)/v_{thr})` to Dm and Ds, with :math:`U(s^-)` the voltage
just before it; when U crosses v_thr the neuron spikes and Re jumps by v_thr at once.
It is simulated in Brian2 (numpy target) at a fine step ``dt_ref``, the input spike
times lying on that grid, with the input, the synapses and the threshold in the same
step (slot ``thresholds``, in that order), so the reference's own error is O(dt_ref).

The iterative model (:func:`vr_brian.forward`) runs at coarser steps dt with the same
input spikes, each moved to the first step at or after its time (``ceil(s/dt)``).
Its differences from the continuous form are all first order in dt: R uses U of the
previous step, inputs within one step are lumped, and a spike is detected at the end
of its step and its reset felt one step later. The errors are measured at the
iterative model's step times, for a firing neuron and, separately, for a neuron
without threshold (the subthreshold error alone).
"""

from __future__ import annotations

import numpy as np

from studies.cli import output_paths, save_figure, study_parser, write_json

NAME = "dt_convergence"

CONTINUOUS_ON_PRE = """
jump = N0_post*w*(1 - alpha_post*U_post/v_thr_post)
Dm_post += jump
Ds_post += jump
"""


def continuous_reference(weights, spike_steps, spike_channels, params, alphas, steps: int) -> np.ndarray:
    """Simulate the continuous-time form in Brian2 at step ``params.dt``.

    Parameters
    ----------
    weights : ndarray
        (n_trials, n_in) input weights, volts.
    spike_steps, spike_channels : sequence of ndarray
        Per trial, the fine-grid step and the input channel of every input spike.
    params : VRParams
        ``dt`` is the reference step.
    alphas : sequence of float
        Every trial is simulated for every alpha, firing and not firing.
    steps : int
        Number of fine steps.

    Returns
    -------
    ndarray
        U before reset, (n_alpha, 2, n_trials, steps): axis 1 is (firing, without threshold).
    """
    from brian2 import Network, NeuronGroup, SpikeGeneratorGroup, StateMonitor, Synapses, prefs, second, volt

    from vr_brian import VR_CLIF

    weights = np.asarray(weights, float)
    n_trials, n_in = weights.shape
    n_alpha = len(alphas)
    dt = params.dt * second
    # inputs: trial t, channel c is source t*n_in + c; neurons: (alpha, firing, trial) in C order
    indices = np.concatenate([t * n_in + np.asarray(c) for t, c in enumerate(spike_channels)])
    times = np.concatenate([np.asarray(s) for s in spike_steps]) * dt
    n_neurons = n_alpha * 2 * n_trials
    alpha_of, firing_of, trial_of = np.unravel_index(np.arange(n_neurons), (n_alpha, 2, n_trials))
    previous = prefs.codegen.target
    prefs.codegen.target = "numpy"
    try:
        source = SpikeGeneratorGroup(n_trials * n_in, indices, times, dt=dt, name="ct_input")
        neurons = NeuronGroup(
            n_neurons,
            VR_CLIF + "fires : boolean (constant)",
            method="exact",
            dt=dt,
            threshold="fires and U > v_thr",
            reset="Re += v_thr",
            name="ct_neurons",
        )
        neurons.tau_m = params.tau_m * second
        neurons.tau_s = params.tau_s * second
        neurons.v_thr = params.v_thr * volt
        neurons.alpha = np.asarray(alphas, float)[alpha_of]
        neurons.fires = firing_of == 0
        synapses = Synapses(source, neurons, "w : volt", on_pre=CONTINUOUS_ON_PRE, dt=dt, name="ct_w")
        post, pre = np.meshgrid(np.arange(n_neurons), np.arange(n_in), indexing="ij")
        synapses.connect(i=(trial_of[:, None] * n_in + pre).ravel(), j=post.ravel())
        synapses.w = weights[trial_of][:, :].ravel() * volt
        # input, jump and threshold in the same step, in that order
        source.when, source.order = "thresholds", 0
        synapses.pre.when, synapses.pre.order = "thresholds", 1
        neurons.thresholder["spike"].when, neurons.thresholder["spike"].order = "thresholds", 2
        monitor = StateMonitor(neurons, "U", record=True, when="before_resets")
        Network(source, neurons, synapses, monitor).run(steps * dt, namespace={})
    finally:
        prefs.codegen.target = previous
    return np.asarray(monitor.U_).reshape(n_alpha, 2, n_trials, steps)


def iterative(weights, spike_times, spike_channels, params, steps: int) -> tuple:
    """The iterative model at ``params.dt``: (U firing, spikes, U without threshold), each (n_trials, steps)."""
    from vr_brian import forward

    weights = np.asarray(weights, float)
    n_trials, n_in = weights.shape
    U_fire, P, U_free = [], [], []
    for trial in range(n_trials):
        spikes = np.zeros((1, steps, n_in), bool)
        k = np.ceil(np.asarray(spike_times[trial]) / params.dt - 1e-9).astype(int)
        keep = k < steps
        spikes[0, k[keep], np.asarray(spike_channels[trial])[keep]] = True
        W = weights[trial][None, :]
        firing = forward([W, np.zeros((1, 1))], spikes, params, check=False)
        U_fire.append(firing.U[0][0, :, 0])
        P.append(firing.P[0][0, :, 0])
        U_free.append(forward([W], spikes, params, check=False).U[0][0, :, 0])
    return np.array(U_fire), np.array(P), np.array(U_free)


def spike_time_distance(a: np.ndarray, b: np.ndarray, horizon: float) -> float:
    """Mean distance from each spike of either train to the nearest spike of the other (s).

    A train with no spike is ``horizon`` away from every spike; two empty trains are 0 apart.
    """
    if a.size == 0 and b.size == 0:
        return 0.0
    if a.size == 0 or b.size == 0:
        return horizon
    d_ab = np.abs(a[:, None] - b[None, :]).min(axis=1)
    d_ba = np.abs(b[:, None] - a[None, :]).min(axis=1)
    return float(np.concatenate([d_ab, d_ba]).mean())


def observed_order(dts, errors) -> float:
    """Slope of log(error) against log(dt), least squares."""
    return float(np.polyfit(np.log(dts), np.log(errors), 1)[0])


def plot(dts, errors, alphas, path):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(13, 4))
    axes = fig.subplots(1, 3)
    dts_ms = np.asarray(dts) * 1e3
    panels = [
        ("free_mean_abs_U_V", "no threshold: mean |dU| over time (V)"),
        ("fire_mean_abs_U_V", "firing: mean |dU| over time (V)"),
        ("fire_spike_time_s", "firing: mean spike-time distance (ms)"),
    ]
    for ax, (key, title) in zip(axes, panels, strict=True):
        for a, alpha in enumerate(alphas):
            scale = 1e3 if key.endswith("_s") else 1.0
            values = np.array([errors[a][k][key] for k in range(len(dts))]) * scale
            trials = np.array([errors[a][k][key + "_trials"] for k in range(len(dts))]) * scale
            (line,) = ax.plot(
                dts_ms,
                values,
                marker="o",
                label=f"alpha = {alpha:g}: mean over trials (order {observed_order(dts, values):.2f})",
            )
            for trial in trials.T:
                ax.plot(dts_ms * (1.04 if a else 0.96), trial, ".", color=line.get_color(), alpha=0.35, ms=4)
        ref = np.array([errors[-1][k][key] for k in range(len(dts))]) * (1e3 if key.endswith("_s") else 1.0)
        ax.plot(dts_ms, ref[0] * dts_ms / dts_ms[0], "k--", lw=0.8, label="slope 1")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("dt of the iterative model (ms)")
        ax.set_title(title, fontsize=10)
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3, which="both")
    fig.suptitle(
        "Iterative model vs continuous-time form (Brian2 at fine dt): error against dt "
        "(dots: single trials, a zero error is not drawn)",
        fontsize=11,
    )
    fig.tight_layout()
    return save_figure(fig, path)


def main(argv=None) -> int:
    from brian2 import second

    from vr_brian import VRParams

    parser = study_parser(NAME, "Convergence of the iterative model to the continuous-time form as dt shrinks")
    parser.add_argument("--trials", type=int, default=None, help="independent input draws (default 6, quick 2)")
    args = parser.parse_args(argv)
    trials = args.trials or (2 if args.quick else 6)
    if trials < 1:
        parser.error(f"--trials must be >= 1, got {trials}")
    results_path, figures_dir = output_paths(NAME, args)

    base = VRParams(alpha=0.0)
    alphas = [0.0, 0.3]
    if args.quick:
        fine_per_ms, dts_in_fine, duration_ms = 40, [40, 20, 10], 60
    else:
        fine_per_ms, dts_in_fine, duration_ms = 160, [160, 80, 40, 20, 10], 200
    dt_ref = 1e-3 / fine_per_ms
    fine_steps = duration_ms * fine_per_ms
    n_in, rate = 12, 40.0
    rng = np.random.default_rng(7)
    weights = rng.normal(0.2, 0.25, (trials, n_in))
    spike_steps, spike_channels = [], []
    for _ in range(trials):
        count = rng.poisson(rate * n_in * duration_ms * 1e-3)
        # distinct fine steps, so no two inputs of a trial arrive together in the continuous form
        steps_ = np.sort(rng.choice(np.arange(1, fine_steps), size=count, replace=False))
        spike_steps.append(steps_)
        spike_channels.append(rng.integers(0, n_in, count))
    reference = continuous_reference(
        weights, spike_steps, spike_channels, base.replace(dt=dt_ref * second), alphas, fine_steps
    )
    spike_times = [s * dt_ref for s in spike_steps]

    errors, reference_spikes = [], []
    for a, alpha in enumerate(alphas):
        U_ref_fire, U_ref_free = reference[a, 0], reference[a, 1]
        ref_spike_times = [np.flatnonzero(u > base.v_thr) * dt_ref for u in U_ref_fire]
        reference_spikes.append([int(s.size) for s in ref_spike_times])
        per_dt = []
        for m in dts_in_fine:
            params = base.replace(alpha=alpha, dt=m * dt_ref * second)
            steps = fine_steps // m
            U_fire, P, U_free = iterative(weights, spike_times, spike_channels, params, steps)
            grid = np.arange(steps) * m
            free_max = np.abs(U_free - U_ref_free[:, grid]).max(axis=1)
            free_mean = np.abs(U_free - U_ref_free[:, grid]).mean(axis=1)
            fire_mean = np.abs(U_fire - U_ref_fire[:, grid]).mean(axis=1)
            timing = np.array(
                [
                    spike_time_distance(np.flatnonzero(P[t]) * params.dt, ref_spike_times[t], duration_ms * 1e-3)
                    for t in range(trials)
                ]
            )
            count_diff = np.array([abs(int(P[t].sum()) - ref_spike_times[t].size) for t in range(trials)])
            per_dt.append(
                {
                    "dt_s": params.dt,
                    "free_max_abs_U_V": free_max.mean(),
                    "free_max_abs_U_V_sd": free_max.std(),
                    "free_max_abs_U_V_trials": free_max,
                    "free_mean_abs_U_V_trials": free_mean,
                    "fire_mean_abs_U_V_trials": fire_mean,
                    "fire_spike_time_s_trials": timing,
                    "free_mean_abs_U_V": free_mean.mean(),
                    "free_mean_abs_U_V_sd": free_mean.std(),
                    "fire_mean_abs_U_V": fire_mean.mean(),
                    "fire_mean_abs_U_V_sd": fire_mean.std(),
                    "fire_spike_time_s": timing.mean(),
                    "fire_spike_time_s_sd": timing.std(),
                    "spike_count_difference_mean": count_diff.mean(),
                }
            )
        errors.append(per_dt)
    dts = [m * dt_ref for m in dts_in_fine]
    orders = {
        f"alpha={alpha:g}": {
            key: observed_order(dts, [row[key] for row in errors[a]])
            for key in ("free_mean_abs_U_V", "free_max_abs_U_V", "fire_mean_abs_U_V", "fire_spike_time_s")
        }
        for a, alpha in enumerate(alphas)
    }
    figure = plot(dts, errors, alphas, figures_dir / f"{NAME}_error_vs_dt.png")
    results = {
        "claim": "the iterative model converges to the continuous-time form with first order in dt",
        "config": {
            "quick": args.quick,
            "trials": trials,
            "dt_ref_s": dt_ref,
            "dts_s": dts,
            "duration_s": duration_ms * 1e-3,
            "n_in": n_in,
            "input_rate_Hz": rate,
            "weights": "N(0.2, 0.25) V",
            "params": repr(base),
            "alphas": alphas,
            "brian2_target": "numpy",
            "input_binning": "ceil(s/dt)",
        },
        "reference_spike_counts": reference_spikes,
        "errors": [{"alpha": alpha, "per_dt": errors[a]} for a, alpha in enumerate(alphas)],
        "observed_order": orders,
        "figures": [figure.name],
    }
    write_json(results_path, results)
    print(
        f"{NAME}: reference dt {dt_ref * 1e6:.2f} us, {trials} trials; reference spikes {reference_spikes} "
        f"-> {results_path}, {figure}"
    )
    for a, alpha in enumerate(alphas):
        for row in errors[a]:
            print(
                f"  alpha {alpha:.1f} dt {row['dt_s'] * 1e3:7.4f} ms: free mean|dU| {row['free_mean_abs_U_V']:.3e} V "
                f"(max {row['free_max_abs_U_V']:.3e} V), "
                f"fire mean|dU| {row['fire_mean_abs_U_V']:.3e} V, spike dist {row['fire_spike_time_s'] * 1e3:.4f} ms, "
                f"count diff {row['spike_count_difference_mean']:.2f}"
            )
        print(f"  alpha {alpha:.1f} observed orders: {orders[f'alpha={alpha:g}']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
