"""Which mapping of spikegram atoms to 384 input neurons: measured on validation data carved from training clips.

The three candidates of :class:`vr_brian.encoding.SpikegramEncoder` (``channels``: 384 gammatone
kernels, one neuron each; ``levels``: 128 kernels x 3 amplitude levels; ``delays``: 128 kernels x 3
copies shifted by 0, d, 2d) are expanded from the same pursuit settings (2000 atoms per 1.5 s
clip, dt = 3 ms). The clips are the training part of the paper protocol's instrument split
(160 per class, split seed 0; its 80 test clips per class are never read here), carved once more
at random into 120 fitting and 40 validation clips per class (:func:`vr_brian.datasets.per_class_split`,
``--val-seed``); the amplitude levels are fitted on the fitting clips only. For every mapping and
seed a 384-``hidden``-10 VR-C-LIF network (alpha 0, STCA's time base: tau_m 30 ms, tau_s 7.5 ms,
dt 3 ms, v_thr 1 V) is trained with :func:`gradients.train.train` (Adam, tempotron loss with
margin 0.3 V) and scored on the validation clips after the last epoch: micro F of the tempotron
read-out (V_max > v_thr) and of the single-label answer (highest V_max).

Writes ``results_mapping.json`` beside this file (``--out`` elsewhere; ``--quick``: a tiny run into
a temporary folder)::

    python -m studies.instrument_recognition.mapping_choice
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from studies.cli import write_json
from vr_brian_app.arguments import quantity_arg

HERE = Path(__file__).resolve().parent
MAPPINGS = ("levels", "delays", "channels")


def _spread(values) -> dict:
    """Mean, standard deviation over seeds (ddof 1; 0 for one value) and the values."""
    values = np.asarray(values, dtype=float)
    return {
        "mean": float(values.mean()),
        "sd": float(values.std(ddof=1)) if len(values) > 1 else 0.0,
        "values": values.tolist(),
    }


def carve(labels, train_per_class: int, test_per_class: int, val_per_class: int, val_seed: int) -> tuple:
    """(fit, validation, test) indices into the pool: the paper split (seed 0) and its training part
    split again per class into ``train_per_class - val_per_class`` fitting and ``val_per_class``
    validation clips; disjoint, and the test part is the one the data study writes."""
    from vr_brian.datasets import per_class_split

    training, test = per_class_split(labels, train_per_class, test_per_class, seed=0)
    fit, val = per_class_split(np.asarray(labels)[training], train_per_class - val_per_class, val_per_class, val_seed)
    return training[fit], training[val], test


def main(argv=None) -> int:
    from brian2 import ms

    from gradients.checkpoint import load_checkpoint
    from gradients.data import SpikeData
    from gradients.train import CHECKPOINT_NAME, TrainConfig, TrainingDiverged, evaluate, train
    from studies.instrument_recognition.run import (
        PAPER_TEST_PER_CLASS,
        PAPER_TRAIN_PER_CLASS,
        paper_pool_settings,
        spikegram_encoder,
    )
    from vr_brian.datasets import build_instruments, default_cache_dir
    from vr_brian.encoding import atoms_cached
    from vr_brian.params import VRParams

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="tiny run for tests (2 classes, 48 inputs, 1 epoch), into a temporary folder",
    )
    parser.add_argument("--out", type=Path, default=None, help="results JSON (default results_mapping.json here)")
    parser.add_argument("--mappings", default=",".join(MAPPINGS), help="comma-separated mappings to compare")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--lr", type=float, default=0.003)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument(
        "--margin", type=quantity_arg("volt", "--margin"), default="0.3V", help="loss margin (v_thr = 1 V)"
    )
    parser.add_argument("--init-mean-gain", type=float, default=2.0, help="g_mu of gradients.train.init_weights")
    parser.add_argument("--init-std-gain", type=float, default=1.0, help="g_sigma of gradients.train.init_weights")
    parser.add_argument("--alpha", type=float, default=0.0, help="variable-resistance coefficient (default 0)")
    parser.add_argument("--val-per-class", type=int, default=40, help="validation clips per class, of the 160")
    parser.add_argument("--val-seed", type=int, default=1)
    parser.add_argument("--n-jobs", type=int, default=1, help="worker processes for matching pursuit")
    args = parser.parse_args(argv)
    mappings = tuple(m for m in args.mappings.split(",") if m)
    unknown = [m for m in mappings if m not in MAPPINGS]
    if unknown or not mappings:
        parser.error(f"--mappings must name some of {MAPPINGS}, got {args.mappings!r}")
    if args.seeds < 1 or args.epochs < 1 or args.hidden < 1 or not 0 < args.val_per_class < PAPER_TRAIN_PER_CLASS:
        parser.error("--seeds, --epochs, --hidden must be >= 1 and --val-per-class in [1, 159]")
    out = args.out or (
        Path(tempfile.mkdtemp(prefix="vr_brian_mapping_")) / "results_mapping.json"
        if args.quick
        else HERE / "results_mapping.json"
    )
    if args.quick:
        banks, test_bank, train_per_class, test_per_class, val_per_class = ("fluidr3", "timgm6mb"), "timgm6mb", 3, 1, 1
        cache_dir, atoms_per_second, epochs, hidden, seeds = out.parent / "cache", 100.0, 1, 8, 1
        classes, n_inputs = {"classes": ("flute", "drum kit")}, 48
    else:
        banks, test_bank = ("fluidr3", "musescore", "timgm6mb"), "musescore"
        train_per_class, test_per_class, val_per_class = PAPER_TRAIN_PER_CLASS, PAPER_TEST_PER_CLASS, args.val_per_class
        cache_dir, atoms_per_second, epochs, hidden, seeds = (
            default_cache_dir(),
            None,
            args.epochs,
            args.hidden,
            args.seeds,
        )
        classes, n_inputs = {}, 384
    settings = paper_pool_settings(train_per_class, test_per_class, banks, test_bank, seed=0, **classes)
    clips = build_instruments(settings, cache_dir)
    fit, val, _ = carve(clips.labels, train_per_class, test_per_class, val_per_class, args.val_seed)  # test: unused
    params = VRParams(tau_m=30 * ms, tau_s=7.5 * ms, dt=3 * ms, alpha=args.alpha)
    rows = {}
    for mapping in mappings:
        options = {"atoms_per_second": atoms_per_second} if atoms_per_second else {}
        encoder = spikegram_encoder(float(params.dt), settings.duration, mapping, n_inputs, **options)
        start = time.perf_counter()
        # the pool's atoms when the data study pursued them, else the fitting and validation clips' only
        atoms = atoms_cached(encoder, clips.audio, cache_dir, build=False)
        if atoms is None:
            used = np.concatenate([fit, val])
            atoms = atoms_cached(encoder, clips.audio[used], cache_dir, progress=not args.quick, n_jobs=args.n_jobs)
            position = np.full(len(clips), -1)
            position[used] = np.arange(len(used))
            fit_atoms, val_atoms = atoms.subset(position[fit]), atoms.subset(position[val])
        else:
            fit_atoms, val_atoms = atoms.subset(fit), atoms.subset(val)
        if mapping == "levels":
            encoder = encoder.fit_levels(fit_atoms)
        fit_data, val_data = (
            SpikeData(encoder.expand(part), clips.targets[index], clips.class_names)
            for part, index in ((fit_atoms, fit), (val_atoms, val))
        )
        encode_seconds = time.perf_counter() - start
        runs = []
        for seed in range(seeds):
            config = TrainConfig(
                hidden=(hidden,),
                epochs=epochs,
                batch_size=args.batch_size,
                optimizer="adam",
                lr=args.lr,
                margin=args.margin,
                positive_weight=1.0,
                seed=seed,
                init_mean_gain=args.init_mean_gain,
                init_std_gain=args.init_std_gain,
            )
            start = time.perf_counter()
            diverged = None
            with warnings.catch_warnings(), tempfile.TemporaryDirectory() as run_dir:
                warnings.simplefilter("ignore")  # negative-R counts are kept by evaluate()
                try:
                    result = train(fit_data, val_data, config, params, out_dir=run_dir, progress=False)
                    weights, history = result.weights, result.history
                except TrainingDiverged as error:  # the numbers of the last finite epoch
                    saved = load_checkpoint(Path(run_dir) / CHECKPOINT_NAME)
                    diverged, weights, history = str(error), saved.weights, saved.history
                argmax = evaluate(weights, val_data, params, config.margin, single_label=True)["micro"]
                fitted = evaluate(weights, fit_data, params, config.margin)["micro"]
            last = history[-1]["test"]
            runs.append(
                {
                    "seed": seed,
                    "val_f": last["micro"]["f"],
                    "val_argmax_f": argmax["f"],
                    "fit_f": fitted["f"],
                    "hidden_rate": last["hidden_rate"],
                    "initial_hidden_rate": history[0]["test"]["hidden_rate"],
                    "negative_R": last["negative_R"],
                    "runaway": last["runaway"],
                    "diverged": diverged,
                    "epochs": history[-1]["epoch"],
                    "curve_val_f": [r["test"]["micro"]["f"] for r in history],
                    "seconds": time.perf_counter() - start,
                }
            )
            print(
                f"{mapping:8s} seed {seed}: validation F {runs[-1]['val_f']:.3f} (argmax {argmax['f']:.3f}), "
                f"fit F {fitted['f']:.3f}, hidden rate {last['hidden_rate']:.3f}, {runs[-1]['seconds']:.0f} s",
                flush=True,
            )
        per_clip = fit_data.spikes.sum(axis=(1, 2))
        rows[mapping] = {
            "encoder": encoder.settings(),
            "val_f": _spread([r["val_f"] for r in runs]),
            "val_argmax_f": _spread([r["val_argmax_f"] for r in runs]),
            "fit_f": _spread([r["fit_f"] for r in runs]),
            "spikes_per_clip": float(per_clip.mean()),
            "density": float(fit_data.spikes.mean()),
            "pursuit_build_seconds": atoms.manifest["build_seconds"],
            "pursuit_seconds_per_clip": atoms.manifest["build_seconds"] / len(atoms),
            "expand_seconds": encode_seconds,
            "runs": runs,
        }
    best = max(rows, key=lambda m: rows[m]["val_f"]["mean"])
    write_json(
        out,
        {
            "claim": "the mapping with the highest mean validation F is the default of the music data studies",
            "config": {
                "quick": args.quick,
                "pool": clips.manifest["settings"],
                "paper_split_seed": 0,
                "val_seed": args.val_seed,
                "fit_clips": len(fit),
                "val_clips": len(val),
                "train": {
                    "hidden": hidden,
                    "epochs": epochs,
                    "batch_size": args.batch_size,
                    "lr": args.lr,
                    "optimizer": "adam",
                    "margin": args.margin,
                    "positive_weight": 1.0,
                    "init_mean_gain": args.init_mean_gain,
                    "init_std_gain": args.init_std_gain,
                    "seeds": list(range(seeds)),
                },
                "params": {
                    "tau_m": float(params.tau_m),
                    "tau_s": float(params.tau_s),
                    "dt": float(params.dt),
                    "v_thr": float(params.v_thr),
                    "alpha": float(params.alpha),
                },
            },
            "mappings": rows,
            "best": best,
        },
    )
    print(f"best mapping on validation: {best} -> {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
