"""Instrument recognition data for the trainer: rendered clips, split by a named protocol, encoded, saved as .npz.

Builds the 10-instrument clips (:func:`vr_brian.datasets.build_instruments`), splits them by
``--protocol``:

- ``paper``: the paper's MedleyDB protocol, ``--train-per-class`` (160) training and
  ``--test-per-class`` (80) test clips per class drawn at random (``--split-seed``) from one pool
  of clips of all three sound banks, a third of the pool from each
  (:func:`vr_brian.datasets.per_class_split`);
- ``heldout``: training clips from two banks, test clips from the bank held out (``--test-bank``),

encodes them (``--encoder``; atoms and spikes cached on disk) and writes ``train.npz`` and
``test.npz`` with ``spikes`` (n, steps, inputs) bool, ``targets`` (n, 10) one-hot and
``class_names``, the format ``vr-brian train`` reads, into ``--out-dir`` (default
``$VR_BRIAN_CACHE/instrument_recognition/<protocol>-<encoder>/``) with a ``manifest.json``, and
the same manifest under ``builds["<protocol>-<encoder>"]`` of this study's ``results.json``::

    vr-brian study instrument_recognition --protocol paper
    vr-brian train <out>/train.npz --test <out>/test.npz ...

Encoders: ``spikegram`` (default): matching pursuit over 128 gammatone kernels from 20 Hz
(:func:`spikegram_encoder`), 384 input neurons by ``--mapping``; ``rate``: the filterbank rate
code; ``crossing``: filterbank level crossings. :func:`encode_parts` is the step the piano data
(``studies/piano_multipitch``) shares.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np

from studies.cli import output_paths, study_parser, write_json
from vr_brian_app.arguments import quantity_arg

NAME = "instrument_recognition"
ENCODERS = ("spikegram", "rate", "crossing")
PROTOCOLS = ("paper", "heldout")
#: spikegram: input neurons, kernels from F_LOW Hz (STCA's lowest kernel) to F_HIGH Hz (below the
#: 8 kHz Nyquist frequency), and the mapping of atoms to neurons (see the README for why levels)
SPIKEGRAM_INPUTS = 384
SPIKEGRAM_F_LOW, SPIKEGRAM_F_HIGH = 20.0, 7000.0
DEFAULT_MAPPING = "levels"
#: atoms per second of audio (2000 per 1.5 s clip): about 1 % of the (step, input) pairs of the
#: levels mapping spike at dt = 3 ms, 3 % of the delays mapping
ATOMS_PER_SECOND = 4000 / 3
#: shift between the copies of the delays mapping, s
DELAY = 0.015
#: filterbank codes: the highest rate of the rate code, spikes per second (0.25 per 5 ms step)
RATE_MAX_HZ = 50.0
#: the paper's protocol: clips per class (MedleyDB: 160 training and 80 test pieces per instrument)
PAPER_TRAIN_PER_CLASS, PAPER_TEST_PER_CLASS = 160, 80


def spikegram_encoder(
    dt: float,
    duration: float,
    mapping: str = DEFAULT_MAPPING,
    n_inputs: int = SPIKEGRAM_INPUTS,
    atoms_per_second: float = ATOMS_PER_SECOND,
    delay: float = DELAY,
    copies: int = 3,
):
    """The spikegram of both music tasks: ``n_inputs`` neurons from ERB-spaced gammatone kernels.

    ``'channels'`` uses ``n_inputs`` kernels, ``'levels'`` and ``'delays'`` ``n_inputs / copies``
    kernels with ``copies`` neurons each; ``round(atoms_per_second * duration)`` atoms per clip
    (no SNR stop, as STCA's ``temporalMP`` takes ``rate * duration`` atoms), float32 pursuit.
    """
    from vr_brian.encoding import SpikegramEncoder

    if mapping != "channels" and n_inputs % copies:
        raise ValueError(f"n_inputs={n_inputs} must be a multiple of copies={copies} for mapping {mapping!r}")
    if not atoms_per_second > 0 or not duration > 0:
        raise ValueError(f"atoms_per_second and duration must be > 0, got {atoms_per_second}, {duration}")
    return SpikegramEncoder(
        n_channels=n_inputs if mapping == "channels" else n_inputs // copies,
        f_low=SPIKEGRAM_F_LOW,
        f_high=SPIKEGRAM_F_HIGH,
        sample_rate=16000.0,
        max_atoms=max(1, round(atoms_per_second * duration)),
        snr_db=None,
        dt=dt,
        mapping=mapping,
        copies=copies,
        delay=delay if mapping == "delays" else 0.0,
        precision="float32",
    )


def filterbank_encoder(name: str, dt: float, n_channels: int):
    """The filterbank codes of the instrument task: 50 Hz - 7 kHz gammatone channels.

    ``rate``: spike rates follow each channel's level from -50 dB (silent) to 0 dB
    (:data:`RATE_MAX_HZ`), so held notes keep their spectrum; ``crossing``: rises of the level only
    (onsets).
    """
    from vr_brian.encoding import FilterbankEncoder

    return FilterbankEncoder(
        n_channels=n_channels,
        f_low=50.0,
        f_high=7000.0,
        mode=name,
        dt=dt,
        floor_db=-50.0 if name == "rate" else -30.0,
        ceiling_db=0.0,
        max_rate=min(1.0, RATE_MAX_HZ * dt),
    )


def _summary(values) -> dict:
    values = np.asarray(values, dtype=float)
    return {
        "mean": float(values.mean()),
        "sd": float(values.std()),
        "min": float(values.min()),
        "max": float(values.max()),
    }


def encode_parts(pools: dict, parts: dict, encoder, out_dir, cache_dir, progress: bool, n_jobs: int = 1) -> dict:
    """Encode the clips of each part and write ``<out_dir>/<part>.npz``.

    Parameters
    ----------
    pools : dict of str to ClipSet
        The clip sets (each encoded once, cached).
    parts : dict of str to (pool name, index array)
        Which clips of which pool form each written part; the part ``'train'`` (if any) fixes the
        spikegram's amplitude levels (:meth:`~vr_brian.encoding.SpikegramEncoder.fit_levels`).
    encoder : SpikegramEncoder or FilterbankEncoder

    Returns
    -------
    dict
        ``encoder`` (the settings used, fitted level edges included), ``files``, ``parts``
        (clips, steps, inputs, spikes per clip and density per (step, input) of each part, and
        for the spikegram atoms and SNR per clip) and ``seconds`` (pursuit per pool with the
        cache's build time, expansion or encoding here).
    """
    from gradients.data import SpikeData, save_npz
    from vr_brian.encoding import atoms_cached, encode_cached

    spikegram = hasattr(encoder, "expand")
    seconds, pursuit, atoms, spikes = {}, {}, {}, {}
    start = time.perf_counter()
    for name, pool in pools.items():
        if spikegram:
            atoms[name] = atoms_cached(encoder, pool.audio, cache_dir, progress=progress, n_jobs=n_jobs)
            manifest = atoms[name].manifest
            pursuit[name] = {
                "clips": len(pool),
                "build_seconds": manifest["build_seconds"],
                "seconds_per_clip": manifest["build_seconds"] / len(pool),
                "reused": manifest["reused"],
                "created_utc": manifest["created_utc"],
                "n_jobs_now": n_jobs,
            }
        else:
            spikes[name] = encode_cached(encoder, pool.audio, cache_dir, progress=progress)
    seconds["pursuit_or_encode_here"] = time.perf_counter() - start
    start = time.perf_counter()
    if spikegram and encoder.mapping == "levels" and not encoder.level_edges:
        if "train" not in parts:
            raise ValueError("the levels mapping needs a 'train' part to fit its level edges on")
        pool_name, index = parts["train"]
        encoder = encoder.fit_levels(atoms[pool_name].subset(index))
    written, counts = {}, {}
    for part, (pool_name, index) in parts.items():
        pool = pools[pool_name]
        if spikegram:
            chosen = atoms[pool_name].subset(index)
            data = encoder.expand(chosen)
            extra = {"atoms_per_clip": _summary(chosen.counts), "snr_db": _summary(chosen.snr_db)}
        else:
            data, extra = spikes[pool_name][index], {}
        per_clip = data.sum(axis=(1, 2))
        written[part] = str(
            save_npz(Path(out_dir) / f"{part}.npz", SpikeData(data, pool.targets[index], pool.class_names))
        )
        counts[part] = {
            "clips": int(len(index)),
            "steps": int(data.shape[1]),
            "inputs": int(data.shape[2]),
            "spikes_per_clip": _summary(per_clip),
            "density": float(data.mean()),
            "class_counts": pool.targets[index].sum(axis=0).astype(int).tolist(),
            **extra,
        }
    seconds["expand_and_write"] = time.perf_counter() - start
    if spikegram:
        seconds["pursuit"] = pursuit
    return {"encoder": encoder.settings(), "files": written, "parts": counts, "seconds": seconds}


def record_build(results_path: Path, out_dir: Path, key: str, entry: dict, purpose: str):
    """Write ``entry`` as ``<out_dir>/manifest.json`` and under ``builds[key]`` of ``results_path``
    (other builds kept), both atomically."""
    write_json(Path(out_dir) / "manifest.json", entry)
    results = {}
    if results_path.is_file():
        try:
            results = json.loads(results_path.read_text())
        except ValueError:
            results = {}
    builds = results.get("builds", {}) if isinstance(results.get("builds"), dict) else {}
    builds[key] = entry
    write_json(results_path, {"purpose": purpose, "builds": dict(sorted(builds.items()))})


def add_encoder_arguments(parser, channels_default: int):
    """The encoder options both music data studies share."""
    from vr_brian.encoding import MAPPINGS

    parser.add_argument("--encoder", choices=ENCODERS, default="spikegram")
    parser.add_argument(
        "--mapping",
        choices=MAPPINGS,
        default=DEFAULT_MAPPING,
        help=f"spikegram: atoms to input neurons (default {DEFAULT_MAPPING})",
    )
    parser.add_argument("--inputs", type=int, default=SPIKEGRAM_INPUTS, help="spikegram input neurons (default 384)")
    parser.add_argument(
        "--atoms-per-second",
        type=float,
        default=None,
        help=f"spikegram atoms per second of audio (default {ATOMS_PER_SECOND:.0f}; 100 with --quick)",
    )
    parser.add_argument(
        "--delay",
        type=quantity_arg("second", "--delay"),
        default=DELAY,
        help=f"spikegram delays mapping: shift of the copies (default {DELAY * 1e3:g}ms)",
    )
    parser.add_argument(
        "--channels",
        type=int,
        default=channels_default,
        help=f"filterbank channels (rate, crossing; default {channels_default})",
    )
    parser.add_argument(
        "--dt", type=quantity_arg("second", "--dt"), default="3ms", help="time step of the spike arrays (default 3ms)"
    )
    parser.add_argument(
        "--protocol",
        choices=PROTOCOLS,
        default="paper",
        help="paper: random split of one pool of all banks; heldout: test on a held-out bank",
    )
    parser.add_argument("--split-seed", type=int, default=0, help="seed of the paper protocol's random split")
    parser.add_argument("--seed", type=int, default=0, help="seed of the rendered clips")
    parser.add_argument("--n-jobs", type=int, default=1, help="worker processes for the spikegram")


def check_encoder_arguments(parser, args):
    if not args.dt > 0:
        parser.error(f"--dt must be > 0 s, got {args.dt} s")
    if args.n_jobs < 1:
        parser.error(f"--n-jobs must be >= 1, got {args.n_jobs}")
    if args.channels < 1 or args.inputs < 1:
        parser.error("--channels and --inputs must be >= 1")
    if args.atoms_per_second is not None and not args.atoms_per_second > 0:
        parser.error(f"--atoms-per-second must be > 0, got {args.atoms_per_second}")
    if not args.delay > 0:
        parser.error(f"--delay must be > 0 s, got {args.delay} s")
    if args.encoder == "spikegram" and args.mapping != "channels" and args.inputs % 3:
        parser.error(f"--inputs must be a multiple of 3 for mapping {args.mapping!r}, got {args.inputs}")


def make_encoder(args, duration: float, filterbank):
    """The encoder named by the parsed arguments (``filterbank(name, dt, channels)`` for the filterbank codes)."""
    if args.encoder == "spikegram":
        rate = args.atoms_per_second or (100.0 if args.quick else ATOMS_PER_SECOND)
        return spikegram_encoder(args.dt, duration, args.mapping, args.inputs, rate, args.delay)
    return filterbank(args.encoder, args.dt, args.channels)


def data_folder(study: str, args, results_path: Path) -> Path:
    """``--out-dir`` (or the --quick folder) itself, else ``$VR_BRIAN_CACHE/<study>/<protocol>-<encoder>``."""
    from vr_brian.datasets import default_cache_dir

    if args.out_dir or args.quick:
        return results_path.parent
    return default_cache_dir() / study / build_key(args)


def build_key(args) -> str:
    return f"{args.protocol}-{args.encoder}"


def paper_pool_settings(train_per_class: int, test_per_class: int, banks, test_bank: str, seed: int, **options):
    """The paper protocol's pool: at least ``train_per_class + test_per_class`` clips per class with
    an equal share from every bank (``build_instruments`` cycles its training clips through the
    banks other than ``test_bank``, which gets one share)."""
    from vr_brian.datasets import InstrumentSettings

    per_bank = math.ceil((train_per_class + test_per_class) / len(banks))
    return InstrumentSettings(
        train_per_class=per_bank * (len(banks) - 1),
        test_per_class=per_bank,
        banks=banks,
        test_bank=test_bank,
        seed=seed,
        **options,
    )


def main(argv=None) -> int:
    from vr_brian.datasets import InstrumentSettings, build_instruments, default_cache_dir, per_class_split

    parser = study_parser(NAME, "Instrument recognition spike data (.npz) for vr-brian train")
    add_encoder_arguments(parser, channels_default=64)
    parser.add_argument(
        "--train-per-class",
        type=int,
        default=None,
        help=f"training clips per class (default: paper {PAPER_TRAIN_PER_CLASS}, heldout 100)",
    )
    parser.add_argument(
        "--test-per-class",
        type=int,
        default=None,
        help=f"test clips per class (default: paper {PAPER_TEST_PER_CLASS}, heldout 50)",
    )
    parser.add_argument("--test-bank", default="musescore", help="heldout: the sound bank held out for the test set")
    args = parser.parse_args(argv)
    check_encoder_arguments(parser, args)
    paper = args.protocol == "paper"
    train_per_class = args.train_per_class or (PAPER_TRAIN_PER_CLASS if paper else 100)
    test_per_class = args.test_per_class or (PAPER_TEST_PER_CLASS if paper else 50)
    if train_per_class < 1 or test_per_class < 1:
        parser.error("--train-per-class and --test-per-class must be >= 1")
    results_path, _ = output_paths(NAME, args)
    out_dir = data_folder(NAME, args, results_path)
    cache_dir = results_path.parent / "cache" if args.quick else default_cache_dir()
    banks = ("fluidr3", "timgm6mb") if args.quick else ("fluidr3", "musescore", "timgm6mb")
    test_bank = "timgm6mb" if args.quick else args.test_bank
    if args.quick:
        train_per_class = test_per_class = 1
    if paper:
        settings = paper_pool_settings(train_per_class, test_per_class, banks, test_bank, args.seed)
    else:
        settings = InstrumentSettings(
            train_per_class=train_per_class,
            test_per_class=test_per_class,
            banks=banks,
            test_bank=test_bank,
            seed=args.seed,
        )
    start = time.perf_counter()
    clips = build_instruments(settings, cache_dir, progress=not args.quick)
    render_seconds = time.perf_counter() - start
    if paper:
        train, test = per_class_split(clips.labels, train_per_class, test_per_class, args.split_seed)
    else:
        train, test = np.flatnonzero(~clips.test), np.flatnonzero(clips.test)
    encoder = make_encoder(args, settings.duration, filterbank_encoder)
    built = encode_parts(
        {"clips": clips},
        {"train": ("clips", train), "test": ("clips", test)},
        encoder,
        out_dir,
        cache_dir,
        not args.quick,
        args.n_jobs,
    )
    entry = {
        "protocol": args.protocol,
        "quick": args.quick,
        "dataset": clips.manifest["settings"],
        "dataset_hash": clips.manifest["hash"],
        "pool_clips": len(clips),
        "split": (
            {
                "kind": "per_class_split",
                "train_per_class": train_per_class,
                "test_per_class": test_per_class,
                "split_seed": args.split_seed,
            }
            if paper
            else {"kind": "held-out bank", "test_bank": test_bank}
        ),
        "render_seconds_here": render_seconds,
        "render_build_seconds": clips.manifest["build_seconds"],
        **built,
    }
    record_build(results_path, out_dir, build_key(args), entry, "spike data for vr-brian train; no claim of its own")
    parts = built["parts"]
    print(
        f"{NAME} ({args.protocol}): {parts['train']['clips']} train / {parts['test']['clips']} test clips, "
        f"{args.encoder}: {parts['train']['steps']} steps x {parts['train']['inputs']} inputs, "
        f"{parts['train']['spikes_per_clip']['mean']:.0f} spikes per clip (density {parts['train']['density']:.4f})"
    )
    print(f"  vr-brian train {built['files']['train']} --test {built['files']['test']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
