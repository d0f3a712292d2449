r"""Alpha sweep: VR-C-LIF networks of the paper's size trained on the music tasks for a range of alpha.

Per task (``--task instruments|piano``) and protocol (``--protocol paper|heldout``, the data of
``studies/instrument_recognition`` / ``studies/piano_multipitch``), two stages:

- ``--stage select``: candidate settings (learning rate, loss, and for the piano the readout and
  size) trained at alpha = 0 on the training data less a validation split carved from it (20 %,
  seed 0), judged by validation F alone; the best, with its epoch count, is written to
  ``selection_<task>_<protocol>.json`` beside this script, with every candidate's numbers (with
  ``--select-alphas``, also the best at each of those alphas, which the sweep then uses there);
- ``--stage sweep`` (default): one network per (alpha, seed) with the selected settings, trained on
  the same training part for the selected epochs; the test set is evaluated with the weights of
  the epoch of best validation F (early stopping: the run trained again to that epoch), and with
  the last epoch's. Non-spiking baselines on the same inputs, each chosen on the same validation
  split: the count-feature MLP, a logistic regression and an LSTM
  (:mod:`studies.alpha_sweep.baselines`). Writes
  ``results_<task>_<protocol>.json``: every run, ``summary`` keyed by alpha
  (``summary["0.3"]["f"]["mean"]``), the tables of the paper (Table I: precision, recall, F of
  alpha 0, the best alpha by validation F and the baselines; Table II: F per polyphony), and the
  verdicts on the paper's two claims with Welch's t-test over seeds; the figures
  ``figures/alpha_sweep_<task>_*.png`` (F against alpha with both protocols when both are there).

Each job trains into its own checkpoint folder, so an interrupted sweep resumes. A run whose loss
became non-finite even after the trainer's recoveries is reported as diverged, with the numbers of
its last finite epoch. ``--quick`` runs both stages in seconds on the built-in synthetic task.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
import warnings
from pathlib import Path

import numpy as np

from gradients.train import best_epoch
from studies.alpha_sweep.baselines import f_by_label_count, is_multi_label, train_baseline, train_lstm
from studies.cli import output_paths, save_figure, study_parser, write_json
from studies.sweeps import dask_client_class, load_split_data, run_jobs, spread
from vr_brian_app.arguments import quantity_arg

NAME = "alpha_sweep"
DEFAULT_ALPHAS = (-0.1, 0.0, 0.1, 0.2, 0.3, 0.4)
PROTOCOLS = ("paper", "heldout")
STAGES = ("select", "sweep")
VALIDATION = {"validation_fraction": 0.2, "validation_seed": 0}

#: Per task: its data study, the title of its results, and the candidates of the select stage (each a
#: set of TrainConfig settings over the shared ones).
TASKS = {
    "instruments": {
        "data": "instrument_recognition",
        "title": "instruments",
        "candidates": [
            {"lr": 0.003, "loss": "tempotron"},
            {"lr": 0.003, "loss": "cross_entropy"},
            {"lr": 0.001, "loss": "cross_entropy"},
        ],
    },
    "piano": {
        "data": "piano_multipitch",
        "title": "piano chords P1-P6",
        "candidates": [
            {"lr": lr, "loss": loss, "positive_weight": weight}
            for lr in (0.001, 0.003)
            for loss, weight in (("tempotron", 4.0), ("bce", 4.0), ("bce", 1.0))
        ]
        + [
            {"lr": 0.003, "loss": "bce", "positive_weight": 4.0, "hidden": [700, 700]},
            {"lr": 0.003, "loss": "bce", "positive_weight": 4.0, "hidden": [1400]},
        ]
        # against the overfitting of the first selection (training F 0.99, validation 0.56-0.62)
        + [
            {"lr": 0.001, "loss": "tempotron", "positive_weight": 4.0, "weight_decay": decay}
            for decay in (0.1, 0.3, 1.0)
        ],
    },
}

#: Settings every job shares (the paper's network, STCA's margin; the trainer's default remedies).
SHARED = {
    "hidden": [700],
    "epochs": 30,
    "batch_size": 32,
    "optimizer": "adam",
    "margin": 0.3,
    "init_mean_gain": 0.5,
    "dtype": "float32",
}
QUICK = {"hidden": [16], "epochs": 2}


# -- jobs --------------------------------------------------------------------------------------------


def run_job(job: dict) -> dict:
    """Train one network (``job``: alpha, seed, data, config, neuron, run_dir) and summarise it.

    Runs in a worker process (or a Dask worker): everything it needs is in ``job``, plain data only.
    """
    from gradients.checkpoint import load_checkpoint
    from gradients.data import load_npz
    from gradients.train import CHECKPOINT_NAME, TrainConfig, TrainingDiverged, evaluate, train
    from vr_brian.params import VRParams

    sets = load_split_data(job["data"])
    config = TrainConfig(**job["config"])
    neuron = job["neuron"]
    # SI floats (no Brian2 in a worker: its import needs the main thread, which a Dask task is not on)
    params = VRParams.from_si(dt=neuron["dt"], tau_m=neuron["tau_m"], tau_s=neuron["tau_s"], alpha=job["alpha"])
    started = time.perf_counter()
    diverged = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # negative-R counts are kept per epoch by evaluate()
        try:
            result = train(
                sets["train"],
                sets["validation"],
                config,
                params,
                out_dir=job["run_dir"],
                resume=True,
                progress=False,
                keep_best=True,
            )
            weights, history, best_weights = result.weights, result.history, result.best_weights
        except TrainingDiverged as error:
            # the checkpoint of the last finite epoch is kept; a rerun would diverge at the same step
            diverged = str(error)
            saved = load_checkpoint(Path(job["run_dir"]) / CHECKPOINT_NAME)
            weights, history, best_weights = saved.weights, saved.history, None
        objective = config.objective()
        curve = [r["test"]["micro"]["f"] for r in history]
        out = {
            "alpha": job["alpha"],
            "seed": config.seed,
            "stage": job["stage"],
            "candidate": job.get("candidate"),
            "run_dir": str(job["run_dir"]),
            "epochs": history[-1]["epoch"],
            "diverged": diverged,
            "curve_validation_f": curve,
            "validation": history[-1]["test"],
            "train_seconds": float(sum(r["seconds"] for r in history[1:])),
        }
        if job["stage"] == "sweep":  # the test set is looked at once, by the sweep only
            last_weights = weights
            # early stopping: the weights of the epoch of best validation F, kept while training; a run begun
            # before they were kept (or one that diverged) is trained again to that epoch count (the same
            # weights where the code is the same: training is deterministic; runs made with an earlier version
            # of the kernels differ by their rounding, so the replay's own validation is reported)
            best = best_epoch(curve)
            out["best_epoch"] = best
            out["validation"] = history[best]["test"]
            if best < history[-1]["epoch"]:
                if best_weights is not None:
                    weights = best_weights
                else:
                    replay = train(
                        sets["train"],
                        sets["validation"],
                        dataclasses.replace(config, epochs=best),
                        params,
                        out_dir=f"{job['run_dir']}_epoch_{best}",
                        resume=True,
                        progress=False,
                    )
                    weights = replay.weights
                    out["validation"] = replay.history[-1]["test"]
            report = evaluate(weights, sets["test"], params, return_predictions=True, **objective)
            out["test"] = {k: v for k, v in report.items() if k != "predictions"}
            out["test_last_epoch"] = (
                report["micro"]
                if weights is last_weights
                else evaluate(last_weights, sets["test"], params, **objective)["micro"]
            )
            out["f_by_label_count"] = f_by_label_count(report["predictions"], sets["test"].targets)
            if not is_multi_label(sets["train"]):  # also the answer "the most excited output"
                out["test_argmax"] = evaluate(weights, sets["test"], params, single_label=True, **objective)["micro"]
            out["extra_tests"] = {
                name: evaluate(weights, load_npz(path), params, **objective)["micro"]
                for name, path in job["data"].get("extra_tests", {}).items()
            }
        out["train_micro"] = evaluate(weights, sets["train"], params, **objective)["micro"]
    out["seconds"] = time.perf_counter() - started
    return out


def _job(stage, alpha, seed, data, neuron, config: dict, runs_dir, candidate=None) -> dict:
    name = f"{stage}_alpha_{alpha:+.3f}_seed_{seed}" + ("" if candidate is None else f"_candidate_{candidate}")
    return {
        "stage": stage,
        "alpha": alpha,
        "data": data,
        "neuron": neuron,
        "candidate": candidate,
        "config": dict(config, seed=seed),
        "run_dir": str(Path(runs_dir) / name),
    }


# -- selection ---------------------------------------------------------------------------------------


def choose(runs: list, candidates: list) -> dict:
    """The candidate of highest validation F at its best epoch, and that epoch (at least 5) as the epoch count."""
    scored = [
        {
            "candidate": run.get("candidate", k),
            "settings": candidates[k],
            "validation_f_best": max(run["curve_validation_f"]),
            "best_epoch": best_epoch(run["curve_validation_f"]),
            "validation_f_last": run["validation"]["micro"]["f"],
            "train_f_last": run["train_micro"]["f"],
            "diverged": run["diverged"] is not None,
        }
        for k, run in enumerate(runs)
    ]
    best = max(scored, key=lambda s: s["validation_f_best"])
    return {
        "candidates": scored,
        "chosen": best["candidate"],
        "settings": dict(best["settings"], epochs=max(5, best["best_epoch"])),
    }


# -- summary, verdict, figures ----------------------------------------------------------------------


def summarise(runs: list, alphas) -> dict:
    """Per alpha (float keys): spread over seeds of the test micro P, R, F and more."""
    table = {}
    for alpha in alphas:
        mine = [r for r in runs if r["alpha"] == alpha]
        row = {"seeds": [r["seed"] for r in mine], "diverged": sum(r["diverged"] is not None for r in mine)}
        for key in ("precision", "recall", "f"):
            row[key] = spread([r["test"]["micro"][key] for r in mine])
        row["f_last_epoch"] = spread([r["test_last_epoch"]["f"] for r in mine])
        row["best_epochs"] = [r["best_epoch"] for r in mine]
        row["validation_f"] = spread([r["validation"]["micro"]["f"] for r in mine])
        row["train_f"] = spread([r["train_micro"]["f"] for r in mine])
        row["macro_f_mean"] = float(np.mean([r["test"]["macro"]["f"] for r in mine]))
        row["per_class_f_mean"] = np.mean([r["test"]["per_class"]["f"] for r in mine], axis=0).tolist()
        curves = np.full((len(mine), max(len(r["curve_validation_f"]) for r in mine)), np.nan)
        for k, r in enumerate(mine):  # a diverged run's curve stops early
            curves[k, : len(r["curve_validation_f"])] = r["curve_validation_f"]
        row["curve_validation_f_mean"] = np.nanmean(curves, axis=0).tolist()
        row["hidden_rate_mean"] = float(np.mean([r["test"]["hidden_rate"] for r in mine]))
        row["negative_R_mean"] = float(np.mean([r["test"]["negative_R"] for r in mine]))
        row["runaway_mean"] = float(np.mean([r["test"]["runaway"] for r in mine]))
        if "test_argmax" in mine[0]:
            row["argmax_f"] = spread([r["test_argmax"]["f"] for r in mine])
        row["f_by_label_count"] = {
            k: spread([r["f_by_label_count"][k] for r in mine]) for k in mine[0]["f_by_label_count"]
        }
        row["extra_tests_f"] = {k: spread([r["extra_tests"][k]["f"] for r in mine]) for k in mine[0]["extra_tests"]}
        table[alpha] = row
    return table


def welch(a, b) -> dict:
    """Welch's t-test of mean(a) > mean(b) (one-sided) and two-sided, over seeds."""
    from scipy import stats

    a, b = np.asarray(a, float), np.asarray(b, float)
    if len(a) < 2 or len(b) < 2 or (a.std() == 0 and b.std() == 0):
        return {"difference": float(a.mean() - b.mean()), "t": None, "p_two_sided": None, "p_greater": None}
    result = stats.ttest_ind(a, b, equal_var=False)
    p_greater = result.pvalue / 2 if result.statistic > 0 else 1 - result.pvalue / 2
    return {
        "difference": float(a.mean() - b.mean()),
        "t": float(result.statistic),
        "p_two_sided": float(result.pvalue),
        "p_greater": float(p_greater),
    }


def verdict(summary: dict) -> dict:
    """The paper's two claims: a moderate positive alpha (the best positive one by validation F) beats
    alpha = 0 on the test set; alpha = 0.4 does worse than alpha = 0."""
    out = {}
    positive = [a for a in summary if 0 < a < 0.4]
    if 0.0 in summary and positive:
        best = max(positive, key=lambda a: summary[a]["validation_f"]["mean"])
        test = welch(summary[best]["f"]["values"], summary[0.0]["f"]["values"])
        out["moderate_positive_alpha_beats_zero"] = {
            "alpha": best,
            **test,
            "holds": bool(test["p_greater"] is not None and test["p_greater"] < 0.05),
        }
    if 0.0 in summary and 0.4 in summary:
        test = welch(summary[0.0]["f"]["values"], summary[0.4]["f"]["values"])
        out["alpha_0.4_hurts"] = {**test, "holds": bool(test["p_greater"] is not None and test["p_greater"] < 0.05)}
    return out


def tables(summary: dict, baselines: dict) -> dict:
    """Table I (P, R, F of alpha 0, the best alpha by validation F, the baselines) and Table II (F per
    polyphony and all, every alpha and the baselines)."""
    best = max(summary, key=lambda a: summary[a]["validation_f"]["mean"])
    rows = {"alpha = 0 (C-LIF)": summary[0.0]} if 0.0 in summary else {}
    if best != 0.0:
        rows[f"alpha = {best:g} (best by validation F)"] = summary[best]
    table_1 = {
        label: {m: {"mean": row[m]["mean"], "std": row[m]["std"]} for m in ("precision", "recall", "f")}
        for label, row in rows.items()
    }
    for name, runs in baselines.items():
        table_1[name] = {
            m: {k: spread([r["test"]["micro"][m] for r in runs])[k] for k in ("mean", "std")}
            for m in ("precision", "recall", "f")
        }
    table_2 = {
        f"alpha = {alpha:g}": {
            **{f"P{k}": v["mean"] for k, v in row["f_by_label_count"].items()},
            "all": row["f"]["mean"],
            "all_std": row["f"]["std"],
        }
        for alpha, row in summary.items()
    }
    for name, runs in baselines.items():
        table_2[name] = {
            **{f"P{k}": float(np.mean([r["f_by_label_count"][k] for r in runs])) for k in runs[0]["f_by_label_count"]},
            "all": float(np.mean([r["test"]["micro"]["f"] for r in runs])),
        }
    return {"best_alpha_by_validation": best, "table_1": table_1, "table_2": table_2}


def plot_f_vs_alpha(results: dict, path, title: str):
    """Test F against alpha, one line per protocol (mean ± s.d. over seeds, each seed a dot), with the
    baselines of each protocol as horizontal lines; right: mean validation F against epoch per alpha."""
    from matplotlib import colormaps
    from matplotlib.figure import Figure

    figure = Figure(figsize=(11, 3.9), constrained_layout=True)
    ax, ax_curve = figure.subplots(1, 2)
    styles = {"paper": ("tab:blue", "-"), "heldout": ("tab:red", "--")}
    for protocol, result in results.items():
        color, style = styles.get(protocol, ("tab:gray", ":"))
        summary = {float(a): row for a, row in result["summary"].items()}
        alphas = sorted(summary)
        for alpha in alphas:
            values = summary[alpha]["f"]["values"]
            ax.scatter([alpha] * len(values), values, color=color, alpha=0.4, s=14)
        ax.errorbar(
            alphas,
            [summary[a]["f"]["mean"] for a in alphas],
            yerr=[summary[a]["f"]["std"] for a in alphas],
            fmt="o" + style,
            color=color,
            capsize=3,
            label=f"VR-C-LIF, {protocol} protocol",
        )
        for (name, runs), dash in zip(result["baselines"].items(), ("-.", ":", (0, (5, 1))), strict=False):
            ax.axhline(
                float(np.mean([r["test"]["micro"]["f"] for r in runs])),
                color=color,
                ls=dash,
                lw=0.9,
                label=f"{name} ({protocol})",
            )
        if protocol == "paper" or len(results) == 1:
            colors = colormaps["coolwarm"](np.linspace(0, 1, len(alphas)))
            for c, alpha in zip(colors, alphas, strict=True):
                curve = summary[alpha]["curve_validation_f_mean"]
                ax_curve.plot(range(len(curve)), curve, color=c, label=f"alpha = {alpha:g}")
            ax_curve.set(title=f"validation F, {protocol} protocol (mean over seeds)")
    ax.axvline(0.0, color="black", lw=0.6, alpha=0.4)
    ax.set(xlabel="alpha", ylabel="test micro F (epoch of best validation F)", ylim=(0, 1.02), title=title)
    ax.legend(fontsize=6, loc="lower left")
    ax_curve.set(xlabel="epoch", ylabel="validation micro F", ylim=(0, 1.02))
    ax_curve.legend(fontsize=7, loc="lower right", ncol=2)
    return save_figure(figure, path)


def plot_bars(names, rows: dict, path, title: str):
    """Grouped bars: one group per class (or polyphony), one bar per row of ``rows``."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(max(6.0, 0.75 * len(names) + 2), 3.8), constrained_layout=True)
    ax = figure.subplots()
    width = 0.8 / len(rows)
    x = np.arange(len(names))
    for k, (label, values) in enumerate(rows.items()):
        ax.bar(x + (k - (len(rows) - 1) / 2) * width, values, width, label=label)
    ax.set_xticks(x, names, rotation=30, ha="right")
    ax.set(ylabel="test F (mean over seeds)", ylim=(0, 1.05), title=title)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return save_figure(figure, path)


# -- baselines ---------------------------------------------------------------------------------------


def run_baselines(sets: dict, seeds: int, quick: bool, positive_weight: float = 1.0) -> dict:
    """The three baselines, each chosen on the validation split (MLP and logistic regression: the number of
    time bins; LSTM: its best epoch, with the spiking networks' positive weight), then tested; one entry per
    seed."""
    train_part, validation, test = sets["train"], sets["validation"], sets["test"]
    out = {}
    for name, hidden in (("count-feature MLP", 64), ("logistic regression", 0)):
        bins_tried = (2,) if quick else (4, 8, 16)
        scored = {
            bins: train_baseline(
                train_part, validation, bins=bins, hidden=hidden, seed=0, max_iter=50 if quick else 500
            )["test"]["micro"]["f"]
            for bins in bins_tried
        }
        bins = max(scored, key=scored.get)
        runs = [
            train_baseline(train_part, test, bins=bins, hidden=hidden, seed=s, max_iter=50 if quick else 500)
            for s in range(seeds if hidden else 1)
        ]
        for run in runs:
            run["validation_f_by_bins"] = {str(b): f for b, f in scored.items()}
        out[name] = runs
    try:
        import torch  # noqa: F401
    except ImportError:
        return out
    bin_steps = max(1, train_part.steps // (5 if quick else 50))
    out["LSTM"] = [
        train_lstm(
            train_part,
            validation,
            test,
            hidden=8 if quick else 218,
            bin_steps=bin_steps,
            seed=s,
            epochs=2 if quick else 30,
            positive_weight=positive_weight,
        )
        for s in range(seeds)
    ]
    return out


def reused_baselines(results_path: Path, data: dict, seeds: int, config: dict) -> dict | None:
    """The baselines of an earlier results file made on the same data with as many seeds and, for
    multi-label data, the same positive weight of the LSTM's loss; None where there is no such file."""
    if not results_path.is_file():
        return None
    earlier = json.loads(results_path.read_text())
    baselines = earlier.get("baselines") or {}
    lstm_weight = {r.get("positive_weight") for r in baselines.get("LSTM", [])}
    multi_label = bool(baselines) and next(iter(baselines.values()))[0]["multi_label"]
    same = (
        earlier["config"]["data"] == data
        and earlier["config"]["seeds"] == seeds
        and lstm_weight <= {config["positive_weight"] if multi_label else None}
    )
    return baselines if same and baselines else None


# -- main ------------------------------------------------------------------------------------------


def _float_list(text: str) -> tuple:
    return tuple(float(x) for x in text.split(",") if x.strip())


def _data_source(args, default_cache_dir) -> tuple:
    """(data source, neuron time base, data folder or None) of the run."""
    if args.quick:
        options = {"n_classes": 4, "n_train": 64, "n_test": 32, "steps": 40, "seed": 0}
        return {"kind": "builtin", "options": options, **VALIDATION}, {"dt": 0.001, "tau_m": 0.02, "tau_s": 0.005}, None
    task = TASKS[args.task]
    folder = args.data_dir or default_cache_dir() / task["data"] / f"{args.protocol}-spikegram"
    data = {
        "kind": "npz",
        "train": str(folder / "train.npz"),
        "test": str(folder / "test.npz"),
        **VALIDATION,
        "train_clips": args.train_clips,
        "extra_tests": {p.stem: str(p) for p in sorted(folder.glob("*.npz")) if p.stem not in ("train", "test")},
    }
    for split in ("train", "test"):
        if not Path(data[split]).is_file():
            raise FileNotFoundError(
                f"{data[split]} not found: build it with `vr-brian study {task['data']} "
                f"--protocol {args.protocol}`, or give --data-dir"
            )
    dt = args.dt
    manifest = folder / "manifest.json"
    if dt is None and manifest.is_file():
        dt = json.loads(manifest.read_text()).get("encoder", {}).get("dt")
    if dt is None:
        raise FileNotFoundError(f"the time step of {folder} is unknown (no manifest.json with encoder.dt): give --dt")
    return data, {"dt": float(dt), "tau_m": args.tau_m, "tau_s": args.tau_m / 4}, folder


def main(argv=None) -> int:
    from gradients.train import TrainConfig
    from vr_brian.datasets import default_cache_dir

    parser = study_parser(NAME, "Alpha sweep of VR-C-LIF networks of the paper's size on the music tasks")
    parser.add_argument(
        "--task",
        choices=tuple(TASKS),
        default="instruments",
        help="instrument recognition (single-label) or piano multi-pitch (multi-label)",
    )
    parser.add_argument(
        "--protocol",
        choices=PROTOCOLS,
        default="paper",
        help="paper: one pool of all sound banks split at random; heldout: a sound bank held out",
    )
    parser.add_argument("--stage", choices=STAGES, default="sweep")
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="folder with train.npz and test.npz (default: the cache of the task's data study, <protocol>-spikegram)",
    )
    parser.add_argument(
        "--dt",
        type=quantity_arg("second", "--dt"),
        default=None,
        help="time step of the spikes, e.g. 3ms (default: the manifest's)",
    )
    parser.add_argument(
        "--tau-m",
        type=quantity_arg("second", "--tau-m"),
        default="30ms",
        help="membrane time constant (tau_s = tau_m/4)",
    )
    parser.add_argument("--alphas", type=_float_list, default=DEFAULT_ALPHAS, help="comma-separated alphas")
    parser.add_argument("--seeds", type=int, default=3, help="seeds per alpha (0..N-1)")
    parser.add_argument("--epochs", type=int, default=None, help="instead of the selected epoch count")
    parser.add_argument(
        "--train-clips",
        type=int,
        default=0,
        help="a random subset of the training set, before the validation split (0: all)",
    )
    parser.add_argument(
        "--candidates",
        default=None,
        help="select stage: comma-separated indices into the task's candidates (default: all)",
    )
    parser.add_argument(
        "--select-alphas",
        type=_float_list,
        default=(),
        help="select stage: also choose the candidate at each of these alphas (comma-separated; alpha 0 always)",
    )
    parser.add_argument("--no-baselines", action="store_true", help="skip the non-spiking baselines")
    parser.add_argument(
        "--reuse-baselines",
        action="store_true",
        help="take the baselines from the earlier results file of this task and protocol when it was made on the "
        "same data with as many seeds (otherwise train them)",
    )
    parser.add_argument("--jobs", type=int, default=1, help="parallel worker processes")
    parser.add_argument("--dask-scheduler", default=None, help="run the jobs on this Dask scheduler (tcp://host:port)")
    parser.add_argument("--runs-dir", type=Path, default=None, help="folder of the per-job checkpoints (resumed)")
    args = parser.parse_args(argv)
    if not args.alphas:
        parser.error("--alphas must list at least one value")
    for name in ("seeds", "jobs"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be >= 1, got {getattr(args, name)}")
    if args.train_clips < 0:
        parser.error(f"--train-clips must be >= 0, got {args.train_clips}")
    n_candidates = len(TASKS[args.task]["candidates"])
    try:
        picked = None if args.candidates is None else [int(k) for k in args.candidates.split(",")]
    except ValueError:
        parser.error(f"--candidates must be comma-separated integers, got {args.candidates!r}")
    if picked is not None and (not picked or not all(0 <= k < n_candidates for k in picked)):
        parser.error(f"--candidates must be indices in 0..{n_candidates - 1}, got {args.candidates!r}")
    if args.select_alphas and args.stage != "select":
        parser.error("--select-alphas chooses candidates: it belongs to the select stage (--stage select)")
    if args.epochs is not None and args.epochs < 1:
        parser.error(f"--epochs must be >= 1, got {args.epochs}")
    if not args.tau_m > 0 or (args.dt is not None and not args.dt > 0):
        parser.error("--tau-m and --dt must be > 0 s")
    if args.dask_scheduler:
        try:
            dask_client_class()
        except RuntimeError as error:
            parser.error(str(error))
    try:
        data, neuron, folder = _data_source(args, default_cache_dir)
    except FileNotFoundError as error:
        parser.error(str(error))
    results_path, figures_dir = output_paths(NAME, args)
    here = results_path.parent
    key = f"{args.task}_{args.protocol}"
    selection_path = here / f"selection_{key}.json"
    runs_dir = args.runs_dir or (
        here / "runs" if (args.quick or args.out_dir) else default_cache_dir() / NAME / f"runs_{key}"
    )
    shared = dict(SHARED, **(QUICK if args.quick else {}))
    # the candidates by their index in the task's list, which names their runs
    indices = picked if picked is not None else range(2 if args.quick else n_candidates)
    candidates = [TASKS[args.task]["candidates"][k] for k in indices]
    started = time.perf_counter()

    if args.stage == "select":
        select_alphas = sorted({0.0, *args.select_alphas})
        jobs = [
            _job("select", alpha, 0, data, neuron, TrainConfig(**{**shared, **c}).as_dict(), runs_dir, k)
            for alpha in select_alphas
            for k, c in zip(indices, candidates, strict=True)
        ]
        print(
            f"{NAME}: select {key}: {len(candidates)} candidates at alpha = "
            f"{', '.join(f'{a:g}' for a in select_alphas)} on the validation split",
            flush=True,
        )
        runs = run_jobs(run_job, jobs, args.jobs, args.dask_scheduler)
        by_alpha = {alpha: choose([r for r in runs if r["alpha"] == alpha], candidates) for alpha in select_alphas}
        chosen = by_alpha[0.0]
        # the epoch count (a budget: the sweep stops each run early on validation) is alpha 0's for every alpha
        for row in by_alpha.values():
            row["settings"]["epochs"] = chosen["settings"]["epochs"]
        write_json(
            selection_path,
            {
                "task": args.task,
                "protocol": args.protocol,
                "data": data,
                "neuron": neuron,
                "shared": shared,
                **chosen,
                "by_alpha": {f"{a:g}": row for a, row in by_alpha.items()},
                "seconds": time.perf_counter() - started,
                "runs": runs,
            },
        )
        for alpha, row in by_alpha.items():
            for candidate in row["candidates"]:
                print(
                    f"  alpha {alpha:g} {candidate['settings']}: validation F best "
                    f"{candidate['validation_f_best']:.3f} (epoch {candidate['best_epoch']}), "
                    f"last {candidate['validation_f_last']:.3f}, train {candidate['train_f_last']:.3f}"
                )
            print(f"  alpha {alpha:g} chosen: {row['settings']}")
        print(f"  written to {selection_path}")
        return 0

    if args.quick and not selection_path.is_file():
        main(["--quick", "--stage", "select", "--out-dir", str(here), "--jobs", str(args.jobs)])
    if not selection_path.is_file():
        parser.error(f"{selection_path} not found: run the select stage first (--stage select)")
    selected = json.loads(selection_path.read_text())
    epochs = {"epochs": args.epochs} if args.epochs else {}
    # the candidate chosen at each alpha where the select stage tried it there, else alpha 0's
    chosen_at = {alpha: selected.get("by_alpha", {}).get(f"{alpha:g}", selected) for alpha in args.alphas}
    configs = {
        alpha: TrainConfig(**dict(shared, **row["settings"], **epochs)).as_dict() for alpha, row in chosen_at.items()
    }
    config = TrainConfig(**dict(shared, **selected["settings"], **epochs)).as_dict()
    seeds = 1 if args.quick else args.seeds
    jobs = [
        _job("sweep", alpha, seed, data, neuron, configs[alpha], runs_dir, chosen_at[alpha]["chosen"])
        for alpha in args.alphas
        for seed in range(seeds)
    ]
    print(
        f"{NAME}: sweep {key}: {len(jobs)} jobs ({len(args.alphas)} alphas x {seeds} seeds), "
        f"{'dask ' + args.dask_scheduler if args.dask_scheduler else f'{args.jobs} process(es)'}",
        flush=True,
    )
    runs = run_jobs(run_job, jobs, args.jobs, args.dask_scheduler)
    sweep_seconds = time.perf_counter() - started
    started = time.perf_counter()
    sets = load_split_data(data)
    results_path = here / f"results_{key}.json"
    baselines = reused_baselines(results_path, data, seeds, config) if args.reuse_baselines else None
    if baselines is None:
        baselines = {} if args.no_baselines else run_baselines(sets, seeds, args.quick, config["positive_weight"])
    baseline_seconds = time.perf_counter() - started
    summary = summarise(runs, args.alphas)
    result = {
        "claim": "a moderate positive alpha beats alpha = 0, and alpha = 0.4 hurts (the paper's; tested)",
        "config": {
            "task": args.task,
            "protocol": args.protocol,
            "quick": args.quick,
            "data": data,
            "neuron": neuron,
            "alphas": list(args.alphas),
            "seeds": seeds,
            "train": config,
            "candidate_by_alpha": {f"{a:g}": row["chosen"] for a, row in chosen_at.items()},
            "train_by_alpha": {f"{a:g}": c for a, c in configs.items() if c != config},
            "selection": str(selection_path.name),
            "jobs": args.jobs,
            "dask_scheduler": args.dask_scheduler,
            "n_train": len(sets["train"]),
            "n_validation": len(sets["validation"]),
            "n_test": len(sets["test"]),
            "sizes": [sets["train"].n_in] + config["hidden"] + [sets["train"].n_classes],
        },
        "sweep_seconds": sweep_seconds,
        "baseline_seconds": baseline_seconds,
        "cpu_count": os.cpu_count(),
        "class_names": list(sets["train"].class_names),
        "chance_f": float(runs[0]["test"]["chance_f"]),
        "summary": {f"{a:g}": row for a, row in summary.items()},
        **tables(summary, baselines),
        "verdict": verdict(summary),
        "baselines": baselines,
        "runs": runs,
    }
    write_json(results_path, result)
    both = {
        p: json.loads((here / f"results_{args.task}_{p}.json").read_text())
        for p in PROTOCOLS
        if (here / f"results_{args.task}_{p}.json").is_file()
    }
    title = "synthetic task (--quick)" if args.quick else TASKS[args.task]["title"]
    figures = [
        plot_f_vs_alpha(
            both,
            figures_dir / f"{NAME}_{args.task}_f_vs_alpha.png",
            f"{title}: {seeds} seed{'s' if seeds > 1 else ''} per alpha",
        )
    ]
    best = result["best_alpha_by_validation"]
    chosen_rows = {f"alpha {a:g}": summary[a] for a in dict.fromkeys([0.0, best]) if a in summary}
    if is_multi_label(sets["train"]):
        names = [f"P{k}" for k in summary[args.alphas[0]]["f_by_label_count"]]
        rows = {label: [v["mean"] for v in row["f_by_label_count"].values()] for label, row in chosen_rows.items()}
        rows.update(
            {
                name: [float(np.mean([r["f_by_label_count"][k[1:]] for r in runs_])) for k in names]
                for name, runs_ in baselines.items()
            }
        )
        bars = ("per_polyphony", "test F per polyphony")
    else:
        names = list(sets["train"].class_names)
        rows = {label: row["per_class_f_mean"] for label, row in chosen_rows.items()}
        rows.update(
            {
                name: np.mean([r["test"]["per_class"]["f"] for r in runs_], axis=0).tolist()
                for name, runs_ in baselines.items()
            }
        )
        bars = ("per_class", "per-class test F")
    figures.append(
        plot_bars(
            names, rows, figures_dir / f"{NAME}_{key}_{bars[0]}.png", f"{bars[1]} ({title}, {args.protocol} protocol)"
        )
    )
    result["figures"] = [str(f) for f in figures]
    write_json(results_path, result)
    print(f"{NAME}: sweep {sweep_seconds:.0f} s, baselines {baseline_seconds:.0f} s; results in {results_path}")
    for label, row in result["table_1"].items():
        print(
            f"  {label:34s} "
            + " ".join(f"{m} {row[m]['mean']:.3f} ± {row[m]['std']:.3f}" for m in ("precision", "recall", "f"))
        )
    print(
        "  F by alpha: "
        + ", ".join(
            f"{a:g}: {row['f']['mean']:.3f} ± {row['f']['std']:.3f}"
            + (f" ({row['diverged']} diverged)" if row["diverged"] else "")
            for a, row in summary.items()
        )
    )
    for claim, test in result["verdict"].items():
        print(
            f"  {claim}: difference {test['difference']:+.3f}, one-sided p {test['p_greater']}, holds {test['holds']}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
