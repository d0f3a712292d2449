"""Why wide VR-C-LIF networks diverge in training at alpha >= 0.2, and what keeps them stable.

Four parts, each a list of training jobs (one network per job, checkpointed, resumable), run in
worker processes (``--jobs``):

- ``select``: the candidates for the shared settings (learning rate, membrane time constant) at the
  paper's size, alpha 0 and 0.3, judged by validation F only; :data:`BASE` holds the choice;
- ``diagnose``: the paper's model with no remedy, across alpha, width, learning rate, initial
  gain and input density; each epoch's evaluation on the validation set counts, per layer, the
  entries of each route to the runaway (R > 10: net inhibition amplified; R < 0: U above
  v_thr/alpha) and the lowest voltage, so that the layer and the route that set it off can be read;
- ``remedies``: at the paper's size (one or two hidden layers of 700), every alpha, with no remedy,
  with each training-side remedy of :class:`gradients.train.TrainConfig` alone, with the defaults,
  and with the named variants of R(t) ("bounded", "split");
- ``width``: held-out F against width (64, 256, 700) at alpha 0 and 0.3 with the default remedies.

Every hyper-parameter was chosen on a validation split carved from the training data (20 %), which
is also what each epoch is evaluated on; the held-out test set is evaluated once, after the last
epoch (for a diverged run: the last finite epoch). Writes ``results.json`` (a list ``runs``), the
figures ``figures/training_stability_*.png``.
"""

from __future__ import annotations

import json
import math
import time
import warnings
from pathlib import Path

import numpy as np

from studies.cli import output_paths, save_figure, study_parser, write_json
from studies.sweeps import load_split_data, run_jobs, spread
from vr_brian_app.arguments import quantity_arg

NAME = "training_stability"
ALPHAS = (-0.1, 0.0, 0.1, 0.2, 0.3, 0.4)
PARTS = ("select", "diagnose", "remedies", "width")

#: The tasks: the data study whose train.npz / test.npz they read, the time step of those spike
#: arrays, the loss's positive weight (piano: 82-87 of 88 keys are silent in every chord) and, where it
#: differs from BASE, the learning rate (the piano's chosen in the select part: README).
TASKS = {
    "instruments": {"data": "instrument_recognition", "dt": 0.005, "positive_weight": 1.0},
    "piano": {"data": "piano_multipitch", "dt": 0.01, "positive_weight": 4.0, "lr": 0.001},
}

#: Settings shared by every job (chosen on the validation split: README, "How the settings were chosen").
BASE = {
    "epochs": 10,
    "batch_size": 32,
    "optimizer": "adam",
    "lr": 0.003,
    "margin": 0.3,
    "init_mean_gain": 0.5,
    "method": "bptt",
    "dtype": "float32",
}

#: Training-side remedies by name. "none" switches every remedy off; "default" is what TrainConfig does
#: unless told otherwise; the others add one remedy to "none".
REMEDIES = {
    "none": {
        "stability_bound": None,
        "recover": 0,
        "clip_grad_norm": None,
        "warmup_epochs": 0.0,
        "lr_decay": "none",
        "init": "gain",
        "lr_fan_in": None,
    },
    "clip": {"clip_grad_norm": 1.0},
    "schedule": {"warmup_epochs": 2.0, "lr_decay": "cosine"},
    "stable_init": {"init": "stable"},
    "fan_in_lr": {"lr_fan_in": 64},
    "projection": {"stability_bound": 0.5},
    "recover": {"recover": 3},
    "default": {},
}

#: The variants of R(t) the remedies part compares, as VRParams keyword arguments.
VARIANTS = {"paper": {}, "bounded": {"variant": "bounded"}, "split": {"variant": "split"}}


def task_lr(task: str) -> float:
    """The learning rate of a task's jobs that do not set their own: its own in :data:`TASKS`, else BASE's."""
    return TASKS.get(task, {}).get("lr", BASE["lr"])


def remedy_config(name: str) -> dict:
    """The TrainConfig settings of a named remedy (:data:`REMEDIES`)."""
    from gradients.train import TrainConfig

    if name == "default":
        defaults = TrainConfig()
        return {key: getattr(defaults, key) for key in REMEDIES["none"]}
    return {**REMEDIES["none"], **REMEDIES[name]}


def run_job(job: dict) -> dict:
    """Train one network of a sweep and summarise it (plain data in, plain data out)."""
    from gradients.checkpoint import load_checkpoint
    from gradients.train import CHECKPOINT_NAME, TrainConfig, TrainingDiverged, evaluate, train
    from vr_brian.params import VRParams

    sets = load_split_data(job["data"])
    config = TrainConfig(**job["config"])
    neuron = job["neuron"]
    # SI floats (no Brian2 in a worker: its import needs the main thread, which a Dask task is not on)
    params = VRParams.from_si(
        dt=neuron["dt"], tau_m=neuron["tau_m"], tau_s=neuron["tau_s"], alpha=job["alpha"], **VARIANTS[job["variant"]]
    )
    started = time.perf_counter()
    diverged_at = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the counts are kept per epoch by evaluate()
        try:
            result = train(
                sets["train"], sets["validation"], config, params, out_dir=job["run_dir"], resume=True, progress=False
            )
            weights, history = result.weights, result.history
        except TrainingDiverged as error:
            diverged_at = str(error).split(":")[0]  # "epoch E, minibatch B/N"
            saved = load_checkpoint(Path(job["run_dir"]) / CHECKPOINT_NAME)
            weights, history = saved.weights, saved.history
        test = evaluate(weights, sets["test"], params, **config.objective())
    validation = sets["validation"]
    # (sample, step, neuron) entries of each layer in one validation pass
    entries = [len(validation) * validation.steps * units for units in config.hidden + (validation.n_classes,)]
    return {
        "task": job["task"],
        "alpha": job["alpha"],
        "hidden": list(config.hidden),
        "remedy": job["remedy"],
        "variant": job["variant"],
        "seed": config.seed,
        "lr": config.lr,
        "init_mean_gain": config.init_mean_gain,
        "tau_m": neuron["tau_m"],
        "input_density": job["data"].get("input_density", 1.0),
        "part": job["part"],
        "diverged": diverged_at is not None,
        "diverged_at": diverged_at,
        "epochs": history[-1]["epoch"],
        "config_epochs": config.epochs,
        "test_f": test["micro"]["f"],
        "test": test,
        "val_f": history[-1]["test"]["micro"]["f"],
        "curve_val_f": [r["test"]["micro"]["f"] for r in history],
        "monitor": [
            {
                "epoch": r["epoch"],
                "hidden_rate": r["test"]["hidden_rate"],
                **r["test"]["by_layer"],
                "entries": entries,
                "remedies": r.get("remedies", {}),
                "recoveries": r.get("recoveries", []),
            }
            for r in history
        ],
        "seconds": time.perf_counter() - started,
        "train_seconds": float(sum(r["seconds"] for r in history[1:])),
        "run_dir": job["run_dir"],
    }


def _job(
    part,
    task,
    data,
    neuron,
    alpha,
    hidden,
    remedy,
    variant,
    seed,
    runs_dir,
    epochs,
    input_density=1.0,
    tau_m=None,
    **config_overrides,
) -> dict:
    config = {
        **BASE,
        "epochs": epochs,
        **remedy_config(remedy),
        "hidden": list(hidden),
        "seed": seed,
        "positive_weight": TASKS.get(task, {}).get("positive_weight", 1.0),
        **config_overrides,
    }
    if input_density != 1.0:
        data = dict(data, input_density=input_density, density_seed=seed)
    if tau_m is not None:  # tau_s = tau_m / 4, as in the STCA code
        neuron = dict(neuron, tau_m=tau_m, tau_s=tau_m / 4)
    extras = dict(
        config_overrides,
        **({"density": input_density} if input_density != 1.0 else {}),
        **({"tau_m": tau_m} if tau_m is not None else {}),
    )
    name = "_".join(
        [part, task, f"a{alpha:+.2f}", "x".join(map(str, hidden)), remedy, variant, f"s{seed}"]
        + [f"{k}{v}" for k, v in sorted(extras.items())]
    )
    return {
        "part": part,
        "task": task,
        "data": data,
        "neuron": neuron,
        "alpha": alpha,
        "remedy": remedy,
        "variant": variant,
        "config": config,
        "run_dir": str(Path(runs_dir) / name),
    }


def plan(parts, tasks: dict, seeds: int, epochs: int, runs_dir, quick: bool) -> list:
    """Every job of the chosen parts; ``tasks`` maps a task name to (data source, neuron time base)."""
    jobs = []
    big = (16,) if quick else (700,)
    for task, (data, neuron) in tasks.items():

        def add(
            part,
            alpha,
            hidden,
            remedy="none",
            variant="paper",
            seed_list=range(seeds),
            task=task,
            data=data,
            neuron=neuron,
            **overrides,
        ):
            job_epochs = overrides.pop("epochs", epochs)
            if task_lr(task) != BASE["lr"]:  # named in the run's folder, beside the runs at BASE's rate
                overrides.setdefault("lr", task_lr(task))
            jobs.extend(
                _job(
                    part,
                    task,
                    data,
                    neuron,
                    alpha,
                    hidden,
                    remedy,
                    variant,
                    s,
                    runs_dir,
                    job_epochs,
                    **overrides,
                )
                for s in seed_list
            )

        if "select" in parts and task == "piano" and not quick:
            # the piano's own learning rate (TASKS): 0.001 against the instruments' 0.003 at every alpha
            # (at 0.003 the defaults let the hidden rate climb at alpha -0.1 and 0.1)
            for alpha in ALPHAS:
                for lr in (0.001, BASE["lr"]):
                    add("select", alpha, big, "default", lr=lr, seed_list=range(1))
        elif "select" in parts:
            for alpha in (0.0, 0.3):
                for lr in (0.001, 0.003, 0.01):
                    add("select", alpha, big, "default", lr=lr, seed_list=range(1))
                add("select", alpha, big, "default", tau_m=neuron["tau_m"] * 2 / 3, seed_list=range(1))
        if "diagnose" in parts:
            widths = (8, 16) if quick else (64, 256, 700)
            for alpha in (0.3,) if quick else (0.1, 0.2, 0.3, 0.4):
                for hidden in widths:
                    add("diagnose", alpha, (hidden,), lr=0.01, seed_list=range(1))
            middle = (widths[1],)
            add("diagnose", 0.3, middle, lr=0.003, seed_list=range(1))
            add("diagnose", 0.3, middle, lr=0.01, init_mean_gain=2.0, seed_list=range(1))
            for density in (0.5, 0.25):
                add("diagnose", 0.3, middle, lr=0.01, input_density=density, seed_list=range(1))
        # the comparisons of single remedies and the width part run on the instruments only, for computing time
        main_task = quick or task == "instruments"
        if "remedies" in parts:  # in the order of what the claims need first
            alphas = (0.0, 0.3) if quick else ALPHAS
            one = range(min(seeds, 1))
            # the remedies at the chosen settings, every alpha; without them where the paper's model runs away
            # (alpha >= 0.2), one seed; two hidden layers at every alpha
            for alpha in alphas:
                add("remedies", alpha, big, "default")
            for alpha in alphas if quick else (0.2, 0.3, 0.4):
                add("remedies", alpha, big, "none", seed_list=one)
            if not main_task:
                continue
            for alpha in alphas:
                add("remedies", alpha, big + big, "default")
            # each remedy alone, and each variant of R without remedies, where the paper's model diverges
            # within a few epochs (lr 0.01, found by the diagnosis)
            stress = {"lr": 0.01, "epochs": min(epochs, 5)}
            for remedy in (
                "none",
                "default",
                "clip",
                "schedule",
                "stable_init",
                "fan_in_lr",
                "projection",
                "recover",
            ):
                add("remedies", 0.3, big, remedy, seed_list=one, **stress)
            for variant in ("bounded", "split"):
                add("remedies", 0.3, big, "none", variant, seed_list=one, **stress)
        if "width" in parts and main_task:
            for alpha in (0.0, 0.3):
                for hidden in (4, 8) if quick else (64, 256):  # 700 is in the remedies part
                    add("width", alpha, (hidden,), "default")
    return jobs


def selection(runs: list) -> list:
    """The select part by validation F only (best epoch and last epoch): what BASE was chosen from."""
    return [
        {key: run[key] for key in ("task", "alpha", "hidden", "lr", "tau_m", "diverged", "epochs")}
        | {
            "val_f_last": run["val_f"],
            "val_f_best": max(run["curve_val_f"]),
            "best_epoch": int(np.argmax(run["curve_val_f"])),
        }
        for run in runs
        if run["part"] == "select"
    ]


def _first_epoch(monitor: list, key: str, layer: int):
    """The first epoch whose validation pass had entries of ``key`` in ``layer`` (None if never)."""
    return next((m["epoch"] for m in monitor if m[key][layer] > 0), None)


def diagnosis(runs: list) -> list:
    """Per diagnose run: where the runaway began (the first epoch of each route in each layer) and how it ended."""
    rows = []
    for run in runs:
        monitor = run["monitor"]
        n_layers = len(monitor[0]["runaway"])
        onset = {
            route: [_first_epoch(monitor, route, layer) for layer in range(n_layers)]
            for route in ("runaway", "negative_R")
        }
        starts = [
            (epoch, route, layer)
            for route, epochs in onset.items()
            for layer, epoch in enumerate(epochs)
            if epoch is not None
        ]
        first = min(starts) if starts else None
        rows.append(
            {
                key: run[key]
                for key in (
                    "task",
                    "alpha",
                    "hidden",
                    "lr",
                    "init_mean_gain",
                    "input_density",
                    "seed",
                    "diverged",
                    "diverged_at",
                    "epochs",
                    "val_f",
                )
            }
            | {
                "onset_epoch": onset,
                "first": None
                if first is None
                else {
                    "epoch": first[0],
                    "route": first[1],
                    "layer": "output" if first[2] == n_layers - 1 else f"hidden {first[2] + 1}",
                },
                "lowest_U_last": monitor[-1]["lowest_U"],
            }
        )
    return rows


def _group(run: dict) -> tuple:
    """What a row of the table shares: task, alpha, widths, remedy, variant, learning rate, epochs."""
    return (
        run["task"],
        run["alpha"],
        tuple(run["hidden"]),
        run["remedy"],
        run["variant"],
        run["lr"],
        run["config_epochs"],
    )


def table(runs: list) -> list:
    """One row per (task, alpha, hidden, remedy, variant, lr, epochs): diverged of the seeds, final held-out F."""
    runs = [r for r in runs if r["part"] in ("remedies", "width")]
    rows = []
    for key in sorted({_group(r) for r in runs}):
        task, alpha, hidden, remedy, variant, lr, epochs = key
        mine = [r for r in runs if _group(r) == key]
        rows.append(
            {
                "task": task,
                "alpha": alpha,
                "hidden": list(hidden),
                "remedy": remedy,
                "variant": variant,
                "lr": lr,
                "epochs": epochs,
                "seeds": len(mine),
                "diverged": sum(r["diverged"] for r in mine),
                "test_f": spread([r["test_f"] for r in mine]),
                "val_f": spread([r["val_f"] for r in mine]),
                "runaway_entries_test": float(np.mean([r["test"]["runaway"] for r in mine])),
                "negative_R_entries_test": float(np.mean([r["test"]["negative_R"] for r in mine])),
            }
        )
    return rows


def _finite(value) -> bool:
    return value is not None and math.isfinite(value)


def plot_routes(runs: list, path):
    """For the diagnose runs at alpha 0.3, lr 0.01: per layer and epoch, how low U went and the share of
    validation entries on each route (R > 10, R < 0), one row per task."""
    from matplotlib.figure import Figure

    chosen = [
        r
        for r in runs
        if r["part"] == "diagnose"
        and r["alpha"] == 0.3
        and r["lr"] == 0.01
        and r["init_mean_gain"] == 0.5
        and r["input_density"] == 1.0
    ]
    tasks = sorted({r["task"] for r in chosen})
    figure = Figure(figsize=(13, 3.3 * max(1, len(tasks))), constrained_layout=True)
    axes = figure.subplots(max(1, len(tasks)), 3, squeeze=False)
    for row, task in enumerate(tasks):
        for run in sorted((r for r in chosen if r["task"] == task), key=lambda r: r["hidden"]):
            epochs = [m["epoch"] for m in run["monitor"]]
            width = "x".join(map(str, run["hidden"]))
            color = None
            for layer, style in ((0, "-"), (len(run["monitor"][0]["runaway"]) - 1, "--")):
                label = f"{width}: {'hidden' if layer == 0 else 'output'}"
                # NaN (JSON null) or -inf: the voltage ran past the float range
                lowest = [
                    max(-m["lowest_U"][layer], 1e-3) if _finite(m["lowest_U"][layer]) else 3e38 for m in run["monitor"]
                ]
                line = axes[row, 0].semilogy(epochs, lowest, style, color=color, label=label)[0]
                color = line.get_color()
                for column, key in ((1, "runaway"), (2, "negative_R")):
                    share = [max(m[key][layer] / m["entries"][layer], 1e-7) for m in run["monitor"]]
                    axes[row, column].semilogy(epochs, share, style, color=color, label=label)
            if run["diverged"]:
                for ax in axes[row]:
                    ax.axvline(run["epochs"] + 1, color=color, lw=0.8, ls=":")
        axes[row, 0].axhline(9 / 0.3, color="gray", lw=0.8, label="U = -9 v_thr/alpha (R = 10)")
        axes[row, 0].set(
            xlabel="epoch", ylabel="-(lowest U) on validation (V)", title=f"{task}, alpha 0.3, lr 0.01, no remedy"
        )
        axes[row, 1].set(
            xlabel="epoch",
            ylabel="share of entries with R > 10",
            ylim=(5e-8, 1.5),
            title="route 1: net inhibition amplified",
        )
        axes[row, 2].set(
            xlabel="epoch", ylabel="share of entries with R < 0", ylim=(5e-8, 1.5), title="route 2: U above v_thr/alpha"
        )
        axes[row, 0].legend(fontsize=7)
    figure.suptitle("dotted: the epoch in which the run diverged (non-finite loss); 1e-7: none", fontsize=9)
    return save_figure(figure, path)


def _runaway_onset(run: dict, share: float = 1e-3):
    """The first epoch in which some layer had more than ``share`` of its validation entries at R > 10."""
    return next(
        (
            m["epoch"]
            for m in run["monitor"]
            if any(count > share * entries for count, entries in zip(m["runaway"], m["entries"], strict=True))
        ),
        None,
    )


def plot_divergence(runs: list, path):
    """Per diagnose run against alpha: the epoch it diverged in (open marker: it did not), and the epoch
    from which more than 0.1 % of some layer's validation entries had R > 10 (open: never)."""
    from matplotlib.figure import Figure

    diagnose = [r for r in runs if r["part"] == "diagnose"]
    tasks = sorted({r["task"] for r in diagnose})
    figure = Figure(figsize=(10, 3.3 * max(1, len(tasks))), constrained_layout=True)
    axes = figure.subplots(max(1, len(tasks)), 2, squeeze=False)
    measures = (
        ("epoch of divergence", lambda r: (r["epochs"] + 1, True) if r["diverged"] else (r["epochs"], False)),
        (
            "runaway onset (> 0.1 % at R > 10)",
            lambda r: (_runaway_onset(r), True) if _runaway_onset(r) is not None else (r["epochs"], False),
        ),
    )
    for row, task in enumerate(tasks):
        mine = [r for r in diagnose if r["task"] == task]
        plain = [r for r in mine if r["lr"] == 0.01 and r["init_mean_gain"] == 0.5 and r["input_density"] == 1.0]
        others = [r for r in mine if r not in plain]
        for column, (label, measure) in enumerate(measures):
            ax = axes[row, column]
            for k, hidden in enumerate(sorted({r["hidden"][0] for r in plain})):
                rows = sorted((r for r in plain if r["hidden"][0] == hidden), key=lambda r: r["alpha"])
                x = [r["alpha"] + 0.008 * (k - 1) for r in rows]
                values = [measure(r) for r in rows]
                line = ax.plot(x, [v for v, _ in values], "-", lw=0.8, label=f"{hidden} hidden, lr 0.01")[0]
                for xi, (v, happened) in zip(x, values, strict=True):
                    ax.plot(xi, v, "o", color=line.get_color(), fillstyle="full" if happened else "none")
            for k, r in enumerate(others):
                what = (
                    f"lr {r['lr']:g}"
                    if r["lr"] != 0.01
                    else f"initial gain {r['init_mean_gain']:g}"
                    if r["init_mean_gain"] != 0.5
                    else f"input thinned to {r['input_density']:g}"
                )
                v, happened = measure(r)
                ax.plot(
                    r["alpha"] + 0.025 + 0.012 * k,
                    v,
                    "s^vD"[k % 4],
                    fillstyle="full" if happened else "none",
                    label=f"{r['hidden'][0]} hidden, {what}",
                )
            ax.set(xlabel="alpha", ylabel="epoch (open: never)", title=f"{task}: {label}")
            if column == 0:
                ax.legend(fontsize=6)
    figure.suptitle("paper's model, no remedy; open markers: the event did not happen within the run", fontsize=9)
    return save_figure(figure, path)


def plot_width(rows: list, path):
    """Held-out F against width at alpha 0 and 0.3 with the default remedies (one hidden layer), at each
    task's learning rate."""
    from matplotlib.figure import Figure

    tasks = sorted({r["task"] for r in rows})
    figure = Figure(figsize=(4.5 * max(1, len(tasks)), 3.4), constrained_layout=True)
    axes = figure.subplots(1, max(1, len(tasks)), squeeze=False)[0]
    for ax, task in zip(axes, tasks, strict=False):
        widths = set()
        for alpha, marker in ((0.0, "o"), (0.3, "s")):
            mine = sorted(
                (
                    r
                    for r in rows
                    if r["task"] == task
                    and r["alpha"] == alpha
                    and r["remedy"] == "default"
                    and r["lr"] == task_lr(task)
                    and r["variant"] == "paper"
                    and len(r["hidden"]) == 1
                ),
                key=lambda r: r["hidden"][0],
            )
            widths.update(r["hidden"][0] for r in mine)
            if mine:
                ax.errorbar(
                    [r["hidden"][0] for r in mine],
                    [r["test_f"]["mean"] for r in mine],
                    yerr=[r["test_f"]["std"] for r in mine],
                    marker=marker,
                    capsize=3,
                    label=f"alpha {alpha:g}",
                )
        ax.set_xscale("log")
        ax.set_xticks(sorted(widths), [str(w) for w in sorted(widths)])
        ax.set_xticks([], minor=True)
        ax.set(xlabel="hidden neurons (one layer)", ylabel="held-out test F", title=f"{task}: F against width")
        ax.legend(fontsize=8)
    return save_figure(figure, path)


def _task_sources(args, default_cache_dir) -> dict:
    if args.quick:
        data = {
            "kind": "builtin",
            "options": {"n_classes": 4, "n_train": 64, "n_test": 32, "steps": 40, "seed": 0},
            "validation_fraction": 0.25,
        }
        return {"builtin": (data, {"dt": 0.001, "tau_m": 0.02, "tau_s": 0.005})}
    sources = {}
    for task in args.tasks:
        folder = Path(getattr(args, f"{task}_data") or default_cache_dir() / TASKS[task]["data"])
        data = {
            "kind": "npz",
            "train": str(folder / "train.npz"),
            "test": str(folder / "test.npz"),
            "validation_fraction": 0.2,
            "validation_seed": 0,
            "train_clips": getattr(args, f"{task}_train_clips"),
        }
        for split in ("train", "test"):
            if not Path(data[split]).is_file():
                raise FileNotFoundError(
                    f"{data[split]} not found: build it with `vr-brian study {TASKS[task]['data']}`"
                    f" or give --{task}-data"
                )
        tau_m = getattr(args, f"{task}_tau_m") or 0.02
        sources[task] = (
            data,
            {"dt": getattr(args, f"{task}_dt") or TASKS[task]["dt"], "tau_m": tau_m, "tau_s": tau_m / 4},
        )
    return sources


def main(argv=None) -> int:
    from vr_brian.datasets import default_cache_dir

    parser = study_parser(NAME, "Why wide VR-C-LIF networks diverge at alpha >= 0.2, and the remedies")
    parser.add_argument("--parts", default=",".join(PARTS), help=f"comma-separated parts of {PARTS}")
    parser.add_argument("--tasks", default="instruments,piano", help="comma-separated tasks (instruments, piano)")
    for task in TASKS:
        parser.add_argument(
            f"--{task}-data", type=Path, default=None, help=f"folder with train.npz and test.npz of the {task} task"
        )
        parser.add_argument(
            f"--{task}-dt",
            type=quantity_arg("second", f"--{task}-dt"),
            default=None,
            help=f"time step of the {task} spikes, e.g. 3ms",
        )
        parser.add_argument(
            f"--{task}-train-clips",
            type=int,
            default=0,
            help=f"a random subset of the {task} training set, before the validation split (0: all)",
        )
        parser.add_argument(
            f"--{task}-tau-m",
            type=quantity_arg("second", f"--{task}-tau-m"),
            default=None,
            help=f"membrane time constant of the {task} networks, e.g. 30ms (tau_s = tau_m/4; default 20ms)",
        )
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=BASE["epochs"])
    parser.add_argument("--jobs", type=int, default=1, help="parallel worker processes")
    parser.add_argument("--runs-dir", type=Path, default=None, help="per-job checkpoints (resumed when present)")
    args = parser.parse_args(argv)
    args.parts = tuple(p for p in args.parts.split(",") if p)
    args.tasks = tuple(t for t in args.tasks.split(",") if t)
    if not args.parts or set(args.parts) - set(PARTS):
        parser.error(f"--parts must list some of {PARTS}, got {args.parts}")
    if not args.tasks or set(args.tasks) - set(TASKS):
        parser.error(f"--tasks must list some of {tuple(TASKS)}, got {args.tasks}")
    for name in ("seeds", "epochs", "jobs"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be >= 1, got {getattr(args, name)}")
    try:
        sources = _task_sources(args, default_cache_dir)
    except FileNotFoundError as error:
        parser.error(str(error))
    results_path, figures_dir = output_paths(NAME, args)
    runs_dir = args.runs_dir or (
        results_path.parent / "runs" if (args.quick or args.out_dir) else default_cache_dir() / NAME / "runs"
    )
    seeds, epochs = (1, 2) if args.quick else (args.seeds, args.epochs)
    jobs = plan(args.parts, sources, seeds, epochs, runs_dir, args.quick)
    print(f"{NAME}: {len(jobs)} jobs, {args.jobs} process(es); checkpoints in {runs_dir}", flush=True)
    started = time.perf_counter()
    runs = run_jobs(run_job, jobs, args.jobs)
    seconds = time.perf_counter() - started
    config = {
        "quick": args.quick,
        "tasks": {k: {"data": v[0], "neuron": v[1]} for k, v in sources.items()},
        "seeds": seeds,
        "epochs": epochs,
        "base": BASE,
        "remedies": {k: remedy_config(k) for k in REMEDIES},
        "variants": VARIANTS,
        "jobs": args.jobs,
        "seconds": seconds,
    }
    # each part keeps its own file (parts may run on different data); results.json is their union
    # a later invocation (another task, more jobs) adds to a part's file and replaces the runs it repeats
    for part in args.parts:
        path = results_path.with_name(f"results_{part}.json")
        mine = [r for r in runs if r["part"] == part]
        earlier = json.loads(path.read_text()) if path.is_file() and not args.quick else {"runs": [], "config": {}}
        repeated = {r["run_dir"] for r in mine}
        kept = [r for r in earlier["runs"] if r["run_dir"] not in repeated]
        tasks = {**earlier["config"].get("tasks", {}), **config["tasks"]}
        write_json(path, {"part": part, "config": dict(config, tasks=tasks), "runs": kept + mine})
    parts = {}
    for path in sorted(results_path.parent.glob("results_*.json")):
        document = json.loads(path.read_text())
        if document.get("part") in PARTS:
            parts[document["part"]] = document
    runs = [run for document in parts.values() for run in document["runs"]]
    rows = table(runs)
    diagnosed = diagnosis([r for r in runs if r["part"] == "diagnose"])
    figures = []
    if diagnosed:
        figures.append(str(plot_routes(runs, figures_dir / f"{NAME}_routes.png")))
        figures.append(str(plot_divergence(runs, figures_dir / f"{NAME}_divergence.png")))
    if any(r["part"] in ("width", "remedies") for r in runs):
        figures.append(str(plot_width(rows, figures_dir / f"{NAME}_width.png")))
    write_json(
        results_path,
        {
            "purpose": "where the runaway sets in during training and which remedies keep wide networks stable",
            "config": {part: document["config"] for part, document in parts.items()},
            "table": rows,
            "diagnosis": diagnosed,
            "selection": selection(runs),
            "runs": runs,
            "figures": figures,
        },
    )
    print(f"{NAME}: {len(runs)} runs in {seconds:.0f} s; results in {results_path}")
    for row in rows:
        print(
            f"  {row['task']:11s} alpha {row['alpha']:+.1f} {'x'.join(map(str, row['hidden'])):8s} "
            f"{row['remedy']:11s} {row['variant']:7s} diverged {row['diverged']}/{row['seeds']}  "
            f"test F {row['test_f']['mean']:.3f} ± {row['test_f']['std']:.3f}"
        )
    for row in selection(runs):
        print(
            f"  select {row['task']} alpha {row['alpha']:+.1f} lr {row['lr']:g} tau_m {row['tau_m'] * 1e3:g} ms: "
            f"validation F last {row['val_f_last']:.3f}, best {row['val_f_best']:.3f} (epoch {row['best_epoch']})"
        )
    for row in diagnosed:
        print(
            f"  diagnose {row['task']} alpha {row['alpha']:+.1f} {row['hidden']} lr {row['lr']} "
            f"gain {row['init_mean_gain']} density {row['input_density']}: diverged {row['diverged_at']}, "
            f"first {row['first']}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
