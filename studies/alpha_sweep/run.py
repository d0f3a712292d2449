r"""Alpha sweep: VR-C-LIF networks trained on the music tasks for a range of alpha and seeds.

Every job trains one network (one ``alpha``, one seed) with :func:`gradients.train.train` on the
spike data of ``studies/instrument_recognition`` (``--task instruments``) or
``studies/piano_multipitch`` (``--task piano``): ``train.npz`` / ``test.npz``, the test set from
the held-out sound bank, and for the piano ``scores.npz`` (music21 excerpts) as a further test
set. It reports the test precision, recall and F-measure after the last epoch, and the
F-measure per number of labels of a sample (the polyphony P1-P6 of a chord). A run whose
voltages run away (non-finite loss, :class:`gradients.train.TrainingDiverged`) is reported as
diverged, with the numbers of its last finite epoch.
The jobs run in parallel processes (``--jobs N``, :class:`concurrent.futures.ProcessPoolExecutor`)
or on a Dask cluster (``--dask-scheduler ADDRESS``, :class:`dask.distributed.Client`). Each job
trains into its own folder with checkpoints, so an interrupted sweep resumes where it stopped.

A non-spiking baseline of similar parameter count is trained on the same spikes: a
one-hidden-layer MLP (L2-penalised) on the spike counts per channel and time bin,
:math:`x_{c,b} = \log(1 + \#\text{spikes of channel } c \text{ in bin } b)`, standardised with
the training statistics: softmax output and cross-entropy, prediction the argmax class, for
single-label data; sigmoid outputs and binary cross-entropy, prediction :math:`p > 1/2` per
label, for multi-label data (the piano).

``--quick`` runs the whole pipeline in seconds on the built-in synthetic timing task
(:func:`gradients.data.builtin_task`), into a temporary folder.
"""

from __future__ import annotations

import json
import math
import os
import time
import warnings
from pathlib import Path

import numpy as np

from studies.alpha_sweep.baselines import f_by_label_count, is_multi_label, train_baseline
from studies.cli import output_paths, save_figure, study_parser, write_json
from studies.sweeps import dask_client_class, load_split_data, run_jobs, spread

NAME = "alpha_sweep"
DEFAULT_ALPHAS = (-0.1, 0.0, 0.1, 0.2, 0.3, 0.4)
#: per task: data study, time step of its spikes (s), suffix of results file and figures, loss weight of
#: target outputs (piano: 82-87 of 88 outputs are silent targets in every sample)
TASKS = {"instruments": {"data": "instrument_recognition", "dt": 0.005, "suffix": "", "positive_weight": 1.0},
         "piano": {"data": "piano_multipitch", "dt": 0.01, "suffix": "_piano", "positive_weight": 4.0}}


# -- one sweep job -----------------------------------------------------------------------------------

def run_job(job: dict) -> dict:
    """Train one network (``job``: alpha, seed, data, config, dt, run_dir) and summarise its last epoch.

    Runs in a worker process (or a Dask worker): everything it needs is in ``job``, plain data only.
    """
    from brian2 import second

    from gradients.checkpoint import load_checkpoint
    from gradients.data import load_npz
    from gradients.train import CHECKPOINT_NAME, TrainConfig, TrainingDiverged, evaluate, train
    from vr_brian.params import VRParams

    warnings.simplefilter("ignore")  # negative-R counts are kept per epoch by evaluate()
    sets = load_split_data(job["data"])
    train_data, test_data = sets["train"], sets["test"]
    config = TrainConfig(**dict(job["config"], seed=job["seed"]))
    params = VRParams(dt=job["dt"] * second, alpha=job["alpha"])
    start = time.perf_counter()
    diverged = None
    try:
        result = train(train_data, test_data, config, params, out_dir=job["run_dir"], resume=True, progress=False)
        weights, history = result.weights, result.history
    except TrainingDiverged as error:
        # the checkpoint of the last finite epoch is kept; a rerun would diverge at the same step
        diverged = str(error)
        saved = load_checkpoint(Path(job["run_dir"]) / CHECKPOINT_NAME)
        weights, history = saved.weights, saved.history
    last = history[-1]
    extra = {name: evaluate(weights, load_npz(path), params, config.margin)["micro"]
             for name, path in job["data"].get("extra_tests", {}).items()}
    predictions = evaluate(weights, test_data, params, config.margin, return_predictions=True)["predictions"]
    # single-label data: also the answer "the output with the highest V_max", the baseline's argmax rule
    argmax = (None if is_multi_label(train_data)
              else evaluate(weights, test_data, params, config.margin, single_label=True)["micro"])
    return {"alpha": job["alpha"], "seed": job["seed"], "run_dir": str(job["run_dir"]),
            "seconds": time.perf_counter() - start,
            "train_seconds": float(sum(r["seconds"] for r in history[1:])),
            "epochs": last["epoch"], "diverged": diverged, "test": last["test"], "train_loss": last["train_loss"],
            "train_micro": evaluate(weights, train_data, params, config.margin)["micro"],
            "f_by_label_count": f_by_label_count(predictions, test_data.targets), "extra_tests": extra,
            "test_argmax": argmax,
            "curve_f": [r["test"]["micro"]["f"] for r in history]}


def _run_dir_name(alpha: float, seed: int) -> str:
    return f"alpha_{alpha:+.3f}_seed_{seed}"


# -- summary, figures ----------------------------------------------------------------------------------

def summarise(runs: list, alphas) -> dict:
    """Per alpha: mean, standard deviation (ddof 1), min and max over seeds of the test micro P, R, F."""
    table = {}
    for alpha in alphas:
        mine = [r for r in runs if r["alpha"] == alpha]
        row = {"seeds": [r["seed"] for r in mine]}
        for key in ("precision", "recall", "f"):
            row[key] = spread([r["test"]["micro"][key] for r in mine])
        row["train_f_mean"] = float(np.mean([r["train_micro"]["f"] for r in mine]))
        row["macro_f_mean"] = float(np.mean([r["test"]["macro"]["f"] for r in mine]))
        row["per_class_f_mean"] = np.mean([r["test"]["per_class"]["f"] for r in mine], axis=0).tolist()
        # a diverged run's curve stops early: average each epoch over the runs that reached it
        curves = np.full((len(mine), max(len(r["curve_f"]) for r in mine)), np.nan)
        for k, r in enumerate(mine):
            curves[k, :len(r["curve_f"])] = r["curve_f"]
        row["curve_f_mean"] = np.nanmean(curves, axis=0).tolist()
        row["hidden_rate_mean"] = float(np.mean([r["test"]["hidden_rate"] for r in mine]))
        row["negative_R_mean"] = float(np.mean([r["test"]["negative_R"] for r in mine]))
        row["diverged"] = sum(r["diverged"] is not None for r in mine)
        if mine[0]["test_argmax"] is not None:
            row["argmax_f"] = spread([r["test_argmax"]["f"] for r in mine])
        row["f_by_label_count_mean"] = {k: float(np.mean([r["f_by_label_count"][k] for r in mine]))
                                        for k in mine[0]["f_by_label_count"]}
        row["extra_tests_f_mean"] = {k: float(np.mean([r["extra_tests"][k]["f"] for r in mine]))
                                     for k in mine[0]["extra_tests"]}
        table[f"{alpha:g}"] = row
    return table


def plot_f_vs_alpha(summary: dict, baseline: dict, chance: float, path, title: str):
    """Left: final test F against alpha (seeds and mean ± s.d.); right: mean test F against epoch per alpha."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    alphas = [float(a) for a in summary]
    fig, (ax, ax_curve) = plt.subplots(1, 2, figsize=(11, 3.9), constrained_layout=True)
    for alpha, row in zip(alphas, summary.values()):
        values = row["f"]["values"]
        ax.scatter([alpha] * len(values), values, color="tab:blue", alpha=0.45, s=18,
                   label="one seed" if alpha == alphas[0] else None)
    ax.errorbar(alphas, [r["f"]["mean"] for r in summary.values()], yerr=[r["f"]["std"] for r in summary.values()],
                fmt="o-", color="tab:blue", capsize=3, label="VR-C-LIF, mean ± s.d. over seeds")
    ax.axhline(baseline["f_mean"], color="tab:green", ls="-.",
               label=f"count-feature MLP ({baseline['parameters']} parameters)")
    ax.axhline(chance, color="gray", ls="--", label="chance (every label on)")
    ax.axvline(0.0, color="black", lw=0.6, alpha=0.4)
    ax.set(xlabel="alpha (resistance slope, 1/v_thr)", ylabel="test micro F-measure (last epoch)", ylim=(0, 1.02),
           title=title)
    ax.legend(fontsize=8, loc="lower left")
    colors = plt.cm.coolwarm(np.linspace(0, 1, len(alphas)))
    for color, (key, row) in zip(colors, summary.items()):
        curve = row["curve_f_mean"]
        ax_curve.plot(range(len(curve)), curve, color=color, label=f"alpha = {key}")
    ax_curve.axhline(chance, color="gray", ls="--")
    ax_curve.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax_curve.set(xlabel="epoch", ylabel="test micro F-measure (mean over seeds)", ylim=(0, 1.02),
                 title="learning curves")
    ax_curve.legend(fontsize=8, loc="lower right", ncol=2)
    return save_figure(fig, path)


def plot_per_class(names, rows: dict, path, title: str):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(max(6.0, 0.75 * len(names) + 2), 3.8), constrained_layout=True)
    width = 0.8 / len(rows)
    x = np.arange(len(names))
    for k, (label, values) in enumerate(rows.items()):
        ax.bar(x + (k - (len(rows) - 1) / 2) * width, values, width, label=label)
    ax.set_xticks(x, names, rotation=30, ha="right")
    ax.set(ylabel="test F-measure (mean over seeds)", ylim=(0, 1.05), title=title)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return save_figure(fig, path)


# -- main ------------------------------------------------------------------------------------------

def _float_list(text: str) -> tuple:
    return tuple(float(x) for x in text.split(",") if x.strip())


def main(argv=None) -> int:
    from gradients.train import TrainConfig
    from vr_brian.datasets import default_cache_dir

    parser = study_parser(NAME, "Alpha sweep of VR-C-LIF networks on the music tasks, with a non-spiking baseline")
    parser.add_argument("--task", choices=tuple(TASKS), default="instruments",
                        help="instrument recognition (single-label) or piano multi-pitch (multi-label)")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="folder with train.npz and test.npz (default: the cache of the task's data study)")
    parser.add_argument("--dt", type=float, default=None,
                        help="time step of the spike data, s (default: 0.005 instruments, 0.01 piano)")
    parser.add_argument("--alphas", type=_float_list, default=DEFAULT_ALPHAS, help="comma-separated alphas")
    parser.add_argument("--seeds", type=int, default=3, help="seeds per alpha (0..N-1)")
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--hidden", type=int, default=64, help="hidden VR-C-LIF neurons (one layer)")
    parser.add_argument("--margin", type=float, default=0.3, help="loss margin, volts (v_thr = 1 V)")
    parser.add_argument("--positive-weight", type=float, default=None,
                        help="weight of target outputs' errors in the loss (default: 1 instruments, 4 piano)")
    parser.add_argument("--lr", type=float, default=0.01, help="Adam learning rate")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--init-mean-gain", type=float, default=0.5, help="g_mu of gradients.train.init_weights")
    parser.add_argument("--train-clips", type=int, default=0, help="use a random subset of the training clips (0: all)")
    parser.add_argument("--bins", type=int, default=4, help="time bins of the baseline's count features")
    parser.add_argument("--jobs", type=int, default=1, help="parallel worker processes")
    parser.add_argument("--dask-scheduler", default=None, help="run the jobs on this Dask scheduler (tcp://host:port)")
    parser.add_argument("--runs-dir", type=Path, default=None,
                        help="folder of the per-job checkpoints (resumed when present)")
    args = parser.parse_args(argv)
    if not args.alphas:
        parser.error("--alphas must list at least one value")
    for name in ("seeds", "epochs", "hidden", "batch_size", "jobs"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1, got {getattr(args, name)}")
    task = TASKS[args.task]
    args.dt = task["dt"] if args.dt is None else args.dt
    if args.positive_weight is None:
        args.positive_weight = task["positive_weight"]
    if args.train_clips < 0 or args.bins < 1 or not args.dt > 0 or args.margin < 0:
        parser.error("--train-clips must be >= 0, --bins >= 1, --dt > 0 and --margin >= 0")
    if args.dask_scheduler:
        try:
            dask_client_class()
        except RuntimeError as error:
            parser.error(str(error))
    results_path, figures_dir = output_paths(NAME, args)
    results_path = results_path.with_name(f"results{task['suffix']}.json")
    prefix = f"{NAME}{task['suffix']}"
    if args.quick:
        data = {"kind": "builtin", "options": {"n_classes": 4, "n_train": 48, "n_test": 32, "steps": 40, "seed": 0}}
        dt, epochs, seeds = 0.001, 2, 1
    else:
        data_dir = args.data_dir or default_cache_dir() / task["data"]
        data = {"kind": "npz", "train": str(data_dir / "train.npz"), "test": str(data_dir / "test.npz"),
                "train_clips": args.train_clips,
                "extra_tests": {p.stem: str(p) for p in sorted(data_dir.glob("*.npz"))
                                if p.stem not in ("train", "test")}}
        for split in ("train", "test"):
            if not Path(data[split]).is_file():
                parser.error(f"--data-dir: {data[split]} not found; build it with `vr-brian study {task['data']}`")
        dt, epochs, seeds = args.dt, args.epochs, args.seeds
    config = TrainConfig(hidden=(args.hidden,), epochs=epochs, batch_size=args.batch_size, lr=args.lr,
                         init_mean_gain=args.init_mean_gain, margin=args.margin, positive_weight=args.positive_weight)
    runs_dir = args.runs_dir or (results_path.parent / "runs" if (args.quick or args.out_dir)
                                 else default_cache_dir() / NAME / f"runs{task['suffix']}")
    jobs = [{"alpha": alpha, "seed": seed, "data": data, "dt": dt,
             "config": {k: v for k, v in config.as_dict().items() if k != "seed"},
             "run_dir": str(Path(runs_dir) / _run_dir_name(alpha, seed))}
            for alpha in args.alphas for seed in range(seeds)]
    print(f"{NAME}: {len(jobs)} jobs ({len(args.alphas)} alphas x {seeds} seeds), "
          f"{'dask ' + args.dask_scheduler if args.dask_scheduler else f'{args.jobs} process(es)'}", flush=True)
    start = time.perf_counter()
    runs = run_jobs(run_job, jobs, args.jobs, args.dask_scheduler)
    sweep_seconds = time.perf_counter() - start

    sets = load_split_data(data)
    train_data, test_data = sets["train"], sets["test"]
    sizes = (train_data.n_in, args.hidden, train_data.n_classes)
    snn_parameters = sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))
    # the MLP's hidden width that brings its parameter count closest to the spiking network's
    n_features = train_data.n_in * args.bins
    mlp_hidden = max(1, round((snn_parameters - train_data.n_classes) / (n_features + 1 + train_data.n_classes)))
    start = time.perf_counter()
    baselines = [train_baseline(train_data, test_data, bins=args.bins, hidden=mlp_hidden, seed=s,
                                max_iter=50 if args.quick else 500) for s in range(seeds)]
    baseline_seconds = time.perf_counter() - start

    summary = summarise(runs, args.alphas)
    best_alpha = max(args.alphas, key=lambda a: summary[f"{a:g}"]["f"]["mean"])
    baseline = {"parameters": baselines[0]["parameters"], "hidden": mlp_hidden, "bins": args.bins,
                "f_mean": float(np.mean([b["test"]["micro"]["f"] for b in baselines])),
                "f_values": [b["test"]["micro"]["f"] for b in baselines],
                "per_class_f_mean": np.mean([b["test"]["per_class"]["f"] for b in baselines], axis=0).tolist(),
                "f_by_label_count_mean": {k: float(np.mean([b["f_by_label_count"][k] for b in baselines]))
                                          for k in baselines[0]["f_by_label_count"]},
                "train_f": [b["train_f"] for b in baselines], "seconds": baseline_seconds}
    positive = [a for a in args.alphas if a > 0]
    best_positive = max(positive, key=lambda a: summary[f"{a:g}"]["f"]["mean"]) if positive else None
    compared = {"alpha = 0 (C-LIF)": 0.0}
    if best_alpha != 0.0:
        compared[f"best alpha = {best_alpha:g}"] = best_alpha
    if best_positive is not None and best_positive != best_alpha:
        compared[f"best positive alpha = {best_positive:g}"] = best_positive
    compared = {label: alpha for label, alpha in compared.items() if alpha in args.alphas}
    table = {label: {m: {"mean": summary[f"{alpha:g}"][m]["mean"], "std": summary[f"{alpha:g}"][m]["std"]}
                     for m in ("precision", "recall", "f")} for label, alpha in compared.items()}
    for label, alpha in compared.items():
        table[label]["f_by_label_count"] = summary[f"{alpha:g}"]["f_by_label_count_mean"]
        if "argmax_f" in summary[f"{alpha:g}"]:
            table[label]["f_highest_vmax"] = {k: summary[f"{alpha:g}"]["argmax_f"][k] for k in ("mean", "std")}
    table["count-feature MLP"] = {m: {k: spread([b["test"]["micro"][m] for b in baselines])[k] for k in ("mean", "std")}
                                  for m in ("precision", "recall", "f")}
    table["count-feature MLP"]["f_by_label_count"] = baseline["f_by_label_count_mean"]
    chance = float(runs[0]["test"]["chance_f"])
    title = ("synthetic timing task (--quick)" if args.quick else
             {"instruments": "instruments", "piano": "piano chords P1-P6"}[args.task] + ", held-out sound bank")
    f_path = plot_f_vs_alpha(summary, baseline, chance, figures_dir / f"{prefix}_f_vs_alpha.png",
                             f"{title}: {seeds} seed{'s' if seeds > 1 else ''} per alpha")
    multi_label = baselines[0]["multi_label"]
    labels = {label.replace(" (C-LIF)", ""): f"{alpha:g}" for label, alpha in compared.items()}
    if multi_label:  # 88 keys are too many bars: F per polyphony instead
        names = [f"P{k}" for k in baseline["f_by_label_count_mean"]]
        rows = {label: list(summary[key]["f_by_label_count_mean"].values()) for label, key in labels.items()}
        rows["count-feature MLP"] = list(baseline["f_by_label_count_mean"].values())
        bars_name, bars_title = "per_polyphony", "test F per polyphony"
    else:
        names = list(train_data.class_names)
        rows = {label: summary[key]["per_class_f_mean"] for label, key in labels.items()}
        rows["count-feature MLP"] = baseline["per_class_f_mean"]
        bars_name, bars_title = "per_class", "per-class test F"
    class_path = plot_per_class(names, rows, figures_dir / f"{prefix}_{bars_name}.png", f"{bars_title} ({title})")
    write_json(results_path, {
        "claim": "a moderate positive alpha beats alpha = 0 and large alpha hurts (tested, see README)",
        "config": {"quick": args.quick, "task": args.task, "data": data, "dt": dt, "alphas": list(args.alphas),
                   "seeds": seeds,
                   "train": config.as_dict(), "sizes": list(sizes), "snn_parameters": snn_parameters,
                   "n_train": len(train_data), "n_test": len(test_data), "jobs": args.jobs,
                   "dask_scheduler": args.dask_scheduler},
        "sweep_seconds": sweep_seconds,
        "train_seconds_total": float(sum(r["train_seconds"] for r in runs)), "cpu_count": os.cpu_count(),
        "class_names": list(train_data.class_names), "chance_f": chance,
        "summary": summary, "best_alpha": best_alpha, "best_positive_alpha": best_positive, "table": table,
        "baseline": baseline,
        "baseline_runs": baselines, "runs": runs, "figures": [str(f_path), str(class_path)],
    })
    print(f"{NAME}: sweep {sweep_seconds:.1f} s, baseline {baseline_seconds:.1f} s; results in {results_path}")
    print(f"  {'':22s} {'precision':>16s} {'recall':>16s} {'F':>16s}")
    for label, row in table.items():
        print(f"  {label:22s} " + " ".join(f"{row[m]['mean']:.3f} ± {row[m]['std']:.3f}".rjust(16)
                                          for m in ("precision", "recall", "f")))
    for label, row in table.items():
        if "f_highest_vmax" in row:
            print(f"  {label:22s} F with one label per sample (highest V_max): "
                  f"{row['f_highest_vmax']['mean']:.3f} ± {row['f_highest_vmax']['std']:.3f}")
    print("  F by alpha: " + ", ".join(f"{k}: {v['f']['mean']:.3f} ± {v['f']['std']:.3f}"
                                       + (f" ({v['diverged']} diverged)" if v["diverged"] else "")
                                       for k, v in summary.items()))
    if multi_label:
        for label, row in table.items():
            print(f"  {label:22s} F per polyphony: " +
                  ", ".join(f"P{k} {f:.3f}" for k, f in row["f_by_label_count"].items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
