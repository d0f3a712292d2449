"""Instrument recognition data for the trainer: rendered clips, encoded to spikes, saved as .npz.

Builds the 10-instrument clips (:func:`vr_brian.datasets.build_instruments`; one sound bank held
out for the test set), encodes them with the filterbank rate code (default), the level-crossing
filterbank or the spikegram (:mod:`vr_brian.encoding`, cached on disk), and writes ``train.npz`` and ``test.npz`` with
``spikes`` (n, steps, channels) bool, ``targets`` (n, 10) one-hot and ``class_names``, the format
``vr-brian train`` reads, into ``--out-dir`` (default ``$VR_BRIAN_CACHE/instrument_recognition``,
``~/.cache/vr_brian/instrument_recognition``)::

    vr-brian study instrument_recognition
    vr-brian train <out>/train.npz --test <out>/test.npz ...

The experiments (alpha sweep, tables) run on these files. :func:`encode_splits` is the step the
piano data (``studies/piano_multipitch``) shares.
"""

from __future__ import annotations

import time
from pathlib import Path

from studies.cli import output_paths, study_parser, write_json

NAME = "instrument_recognition"


ENCODERS = ("rate", "crossing", "spikegram")


def encoder_for(name: str, dt: float, max_atoms: int, n_channels: int):
    """The encoder of the instrument task: 50 Hz - 7 kHz gammatone channels.

    ``rate``: spike counts follow each channel's level from -50 dB (silent) to 0 dB (one spike
    every 4 steps), so held notes keep their spectrum; ``crossing``: rises of the level only
    (onsets); ``spikegram``: matching pursuit.
    """
    from vr_brian.encoding import FilterbankEncoder, SpikegramEncoder

    if name == "spikegram":
        return SpikegramEncoder(n_channels=n_channels, max_atoms=max_atoms, snr_db=20.0, dt=dt)
    return FilterbankEncoder(n_channels=n_channels, f_low=50.0, f_high=7000.0, mode=name, dt=dt,
                             floor_db=-50.0 if name == "rate" else -30.0, ceiling_db=0.0, max_rate=0.25)


def encode_splits(parts: dict, encoder, out_dir, cache_dir, progress: bool, n_jobs: int = 1) -> tuple:
    """Encode each :class:`~vr_brian.datasets.ClipSet` of ``parts`` (cached) into ``<out_dir>/<name>.npz``.

    Returns ``(written paths, counts)`` by name; counts hold clips, steps, channels and mean
    spikes per clip.
    """
    from gradients.data import SpikeData, save_npz
    from vr_brian.encoding import encode_cached

    options = {"n_jobs": n_jobs} if encoder.settings()["encoder"] == "spikegram" else {}
    written, counts = {}, {}
    for name, part in parts.items():
        spikes = encode_cached(encoder, part.audio, cache_dir, progress=progress, **options)
        written[name] = save_npz(Path(out_dir) / f"{name}.npz", SpikeData(spikes, part.targets, part.class_names))
        counts[name] = {"clips": len(part), "steps": spikes.shape[1], "channels": spikes.shape[2],
                        "spikes_per_clip": float(spikes.sum() / len(part))}
    return written, counts


def main(argv=None) -> int:
    from vr_brian.datasets import InstrumentSettings, build_instruments, default_cache_dir

    parser = study_parser(NAME, "Instrument recognition spike data (.npz) for vr-brian train")
    parser.add_argument("--encoder", choices=ENCODERS, default="rate")
    parser.add_argument("--channels", type=int, default=64, help="gammatone channels (default 64)")
    parser.add_argument("--dt", type=float, default=0.005, help="time step of the spike arrays, s (default 0.005)")
    parser.add_argument("--train-per-class", type=int, default=100)
    parser.add_argument("--test-per-class", type=int, default=50)
    parser.add_argument("--test-bank", default="musescore", help="sound bank held out for the test set")
    parser.add_argument("--max-atoms", type=int, default=600, help="spikegram atoms per clip at most")
    parser.add_argument("--n-jobs", type=int, default=1, help="worker processes for the spikegram")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if not args.dt > 0:
        parser.error(f"--dt must be > 0 s, got {args.dt}")
    if args.n_jobs < 1:
        parser.error(f"--n-jobs must be >= 1, got {args.n_jobs}")
    if args.train_per_class < 1 or args.test_per_class < 1 or args.channels < 1:
        parser.error("--train-per-class, --test-per-class and --channels must be >= 1")
    results_path, _ = output_paths(NAME, args)
    # the .npz files are data, not results: beside results.json only for --out-dir or --quick runs
    out_dir = results_path.parent if (args.out_dir or args.quick) else default_cache_dir() / NAME
    if args.quick:
        settings = InstrumentSettings(train_per_class=1, test_per_class=1, banks=("fluidr3", "timgm6mb"),
                                      test_bank="timgm6mb", seed=args.seed)
        cache_dir = out_dir / "cache"
    else:
        settings = InstrumentSettings(train_per_class=args.train_per_class, test_per_class=args.test_per_class,
                                      test_bank=args.test_bank, seed=args.seed)
        cache_dir = default_cache_dir()
    start = time.perf_counter()
    clips = build_instruments(settings, cache_dir, progress=not args.quick)
    render_seconds = time.perf_counter() - start
    encoder = encoder_for(args.encoder, args.dt, 50 if args.quick else args.max_atoms, args.channels)
    start = time.perf_counter()
    written, counts = encode_splits({split: clips.split(split) for split in ("train", "test")}, encoder, out_dir,
                                    cache_dir, not args.quick, args.n_jobs)
    encode_seconds = time.perf_counter() - start
    write_json(results_path, {
        "purpose": "spike data for vr-brian train; no claim of its own",
        "config": {"quick": args.quick, "dataset": {k: v for k, v in clips.manifest["settings"].items()},
                   "dataset_hash": clips.manifest["hash"], "encoder": encoder.settings()},
        "render_seconds": render_seconds, "encode_seconds": encode_seconds, "splits": counts,
        "files": {k: str(v) for k, v in written.items()},
    })
    print(f"{NAME}: {counts['train']['clips']} train / {counts['test']['clips']} test clips "
          f"({render_seconds:.1f} s to build or load), encoded with {args.encoder} in {encode_seconds:.1f} s; "
          f"spikes {counts['train']['steps']} steps x {counts['train']['channels']} channels")
    print(f"  vr-brian train {written['train']} --test {written['test']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
