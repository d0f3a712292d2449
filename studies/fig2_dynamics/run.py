r"""The paper's Fig. 2: the same input spike trains into a C-LIF and a VR-C-LIF neuron.

Both neurons sit in one Brian2 NeuronGroup (per-neuron ``alpha``: 0 and ``--alpha``), each
fed by its own copy of the same input spike trains through the same weights. Recorded
per step: the input current after the resistance, :math:`T(t) = D_m(t) - \gamma_m D_m(t-1)`,
:math:`D_m - D_s`, the output spikes and the membrane voltage U (before reset). The
Brian2 run is checked against the numpy iterative reference :func:`vr_brian.forward`.
"""

from __future__ import annotations

import numpy as np

from studies.cli import output_paths, save_figure, study_parser, write_json

NAME = "fig2_dynamics"


def simulate_pair(weights: np.ndarray, spikes: np.ndarray, params, alphas) -> dict:
    """Run one firing neuron per alpha in Brian2 (numpy target) on the same input.

    Parameters
    ----------
    weights : ndarray
        (n_in,) input weights in volts, shared by every neuron.
    spikes : ndarray
        (steps, n_in) bool input spike trains.
    params : VRParams
        Shared parameters (``alpha`` is replaced per neuron by ``alphas``).
    alphas : sequence of float
        One neuron per value.

    Returns
    -------
    dict
        ``U``, ``Dm``, ``Ds``, ``Re`` as (n_neurons, steps) arrays in volts, recorded
        before the reset, and ``spikes`` (n_neurons, steps) bool.
    """
    from brian2 import Network, SpikeGeneratorGroup, SpikeMonitor, StateMonitor, prefs, second

    from vr_brian import VR_CLIF, connect_layers, vr_neuron_group

    steps, n_in = spikes.shape
    n = len(alphas)
    step_index, channel = np.nonzero(spikes)
    # copy b of the input drives neuron b: channel c of copy b is source neuron b*n_in + c
    indices = (np.arange(n)[:, None] * n_in + channel[None, :]).ravel()
    times = np.tile(step_index, n) * params.dt * second
    previous = prefs.codegen.target
    prefs.codegen.target = "numpy"
    try:
        source = SpikeGeneratorGroup(n * n_in, indices, times, dt=params.dt * second, name="fig2_input")
        neurons = vr_neuron_group(n, params, model=VR_CLIF, name="fig2_neurons")
        neurons.alpha = np.asarray(alphas, dtype=float)
        synapses = connect_layers(source, neurons, np.asarray(weights, float)[None, :], batch=n, name="fig2_w")
        state = StateMonitor(neurons, ["U", "Dm", "Ds", "Re"], record=True, when="before_resets")
        fired = SpikeMonitor(neurons)
        Network(source, neurons, synapses, state, fired).run(steps * params.dt * second, namespace={})
    finally:
        prefs.codegen.target = previous
    out = {key: np.asarray(getattr(state, key + "_")) for key in ("U", "Dm", "Ds", "Re")}
    out["spikes"] = np.zeros((n, steps), bool)
    out["spikes"][np.asarray(fired.i_), np.rint(np.asarray(fired.t_) / params.dt).astype(int)] = True
    return out


def reference_pair(weights, spikes, params, alphas) -> dict:
    """The same neurons through the numpy iterative model (a hidden, firing layer of one neuron)."""
    from vr_brian import forward

    U, P = [], []
    for alpha in alphas:
        traces = forward(
            [np.asarray(weights, float)[None, :], np.zeros((1, 1))], spikes[None], params.replace(alpha=alpha)
        )
        U.append(traces.U[0][0, :, 0])
        P.append(traces.P[0][0, :, 0])
    return {"U": np.array(U), "spikes": np.array(P)}


def input_current(Dm: np.ndarray, params) -> np.ndarray:
    """T(t) = Dm(t) - gamma_m Dm(t-1), recovered from the recorded Dm (every state is 0 before step 0)."""
    T = Dm.copy()
    T[:, 1:] -= params.gamma_m * Dm[:, :-1]
    return T


def plot(result: dict, spikes: np.ndarray, params, alphas, path):
    from matplotlib.figure import Figure

    steps = spikes.shape[0]
    t = np.arange(steps) * params.dt * 1e3
    colors = ["tab:blue", "tab:red", "tab:green", "tab:purple"]
    labels = [("C-LIF" if a == 0 else "VR-C-LIF") + f" (alpha={a:g})" for a in alphas]
    fig = Figure(figsize=(9, 10))
    axes = fig.subplots(5, 1, sharex=True, gridspec_kw={"height_ratios": [1.2, 1.3, 1.3, 0.6, 1.6]})
    step_index, channel = np.nonzero(spikes)
    axes[0].plot(t[step_index], channel, "|", color="k", ms=5)
    axes[0].set_ylabel("input\nneuron")
    axes[0].yaxis.get_major_locator().set_params(integer=True)
    axes[0].set_title("The same input spike trains into C-LIF and VR-C-LIF (Brian2, numpy target)")
    T = input_current(result["Dm"], params)
    for b, label in enumerate(labels):
        axes[1].plot(t, T[b], color=colors[b], lw=1, label=label)
        axes[2].plot(t, result["Dm"][b] - result["Ds"][b], color=colors[b], lw=1.2, label=label)
        fire_t = t[result["spikes"][b]]
        axes[3].plot(fire_t, np.full(fire_t.shape, len(alphas) - 1 - b), "|", color=colors[b], ms=12, mew=2)
        axes[4].plot(t, result["U"][b], color=colors[b], lw=1.2, label=label)
    axes[1].set_ylabel("T(t) = I R (V)")
    axes[2].set_ylabel("Dm - Ds (V)")
    axes[3].set_yticks(range(len(alphas)))
    axes[3].set_yticklabels([("VR-C-LIF" if a else "C-LIF") for a in alphas][::-1])
    axes[3].set_ylim(-0.7, len(alphas) - 0.3)
    axes[3].set_ylabel("output\nspikes")
    axes[4].axhline(params.v_thr, color="k", ls="--", lw=0.8, label="v_thr")
    axes[4].set_ylabel("U (V), before reset")
    axes[4].set_xlabel("time (ms)")
    axes[1].legend(loc="upper right", fontsize=8)
    axes[4].legend(loc="upper center", bbox_to_anchor=(0.5, -0.25), ncol=3, fontsize=8)
    for ax in axes:
        ax.grid(alpha=0.3)
    fig.align_ylabels(axes)
    fig.tight_layout()
    return save_figure(fig, path)


def main(argv=None) -> int:
    from vr_brian import VRParams

    parser = study_parser(NAME, "Fig. 2 of the paper: C-LIF and VR-C-LIF driven by the same input spikes")
    parser.add_argument("--alpha", type=float, default=0.3, help="alpha of the VR-C-LIF neuron (default 0.3)")
    parser.add_argument("--seed", type=int, default=2, help="seed of the input spikes and weights")
    parser.add_argument("--steps", type=int, default=None, help="time steps (default 200, quick 60)")
    args = parser.parse_args(argv)
    if not -1 <= args.alpha <= 1 or args.alpha == 0:
        parser.error(f"--alpha must be in [-1, 1] and not 0, got {args.alpha}")
    steps = args.steps or (60 if args.quick else 200)
    if steps < 2:
        parser.error(f"--steps must be >= 2, got {steps}")
    results_path, figures_dir = output_paths(NAME, args)

    params = VRParams(alpha=0.0)  # tau_m 20 ms, tau_s 5 ms, v_thr 1 V, dt 1 ms
    alphas = [0.0, args.alpha]
    n_in, rate = 12, 40.0  # inputs, Hz
    rng = np.random.default_rng(args.seed)
    weights = rng.normal(0.12, 0.25, n_in)
    spikes = rng.random((steps, n_in)) < rate * params.dt

    brian = simulate_pair(weights, spikes, params, alphas)
    reference = reference_pair(weights, spikes, params, alphas)
    U_error = float(np.max(np.abs(brian["U"] - reference["U"])))
    spikes_equal = bool(np.array_equal(brian["spikes"], reference["spikes"]))
    # T(t) must equal I(t) * (1 - alpha U(t-1)/v_thr), with I(t) = N0 * w . P(t)
    T = input_current(brian["Dm"], params)
    I = params.N0 * spikes.astype(float) @ weights
    U_prev = np.zeros_like(brian["U"])
    U_prev[:, 1:] = brian["U"][:, :-1]
    T_expected = I[None, :] * (1 - np.asarray(alphas)[:, None] * U_prev / params.v_thr)
    T_error = float(np.max(np.abs(T - T_expected)))

    figure = plot(brian, spikes, params, alphas, figures_dir / f"{NAME}_traces.png")
    per_neuron = []
    for b, alpha in enumerate(alphas):
        fire = np.flatnonzero(brian["spikes"][b])
        per_neuron.append(
            {
                "alpha": alpha,
                "n_spikes": int(fire.size),
                "spike_times_ms": np.round(fire * params.dt * 1e3, 9).tolist(),
                "U_min_V": float(brian["U"][b].min()),
                "U_max_V": float(brian["U"][b].max()),
                "U_mean_V": float(brian["U"][b].mean()),
            }
        )
    results = {
        "claim": "C-LIF and VR-C-LIF differ only in T(t) = I(t) R(t); Brian2 equals the iterative model",
        "config": {
            "quick": args.quick,
            "seed": args.seed,
            "steps": steps,
            "n_in": n_in,
            "input_rate_Hz": rate,
            "weights_V": weights,
            "params": repr(params),
            "alphas": alphas,
            "brian2_target": "numpy",
        },
        "neurons": per_neuron,
        "check_against_forward": {"max_abs_U_error_V": U_error, "spikes_equal": spikes_equal},
        "check_T_equals_I_times_R": {"max_abs_error_V": T_error},
        "figures": [figure.name],
    }
    write_json(results_path, results)
    print(
        f"{NAME}: spikes C-LIF {per_neuron[0]['n_spikes']}, VR-C-LIF {per_neuron[1]['n_spikes']}; "
        f"Brian2 vs forward max|dU| = {U_error:.2e} V, spikes equal: {spikes_equal}; "
        f"max|T - I R| = {T_error:.2e} V -> {results_path}, {figure}"
    )
    return 0 if spikes_equal and U_error < 1e-9 and T_error < 1e-9 else 1


if __name__ == "__main__":
    raise SystemExit(main())
