"""Piano multi-pitch spike data (.npz) for `vr-brian train` and the alpha sweep.

Builds the chord clips (:func:`vr_brian.datasets.build_piano_chords`: 1 to 6 distinct keys over all
88, P1-P6, exact multi-hot targets, the test piano from a sound bank held out of training) and
excerpts of real polyphonic music from the music21 corpus played on the same held-out piano
(:func:`vr_brian.datasets.build_score_excerpts`), encodes them with the semitone filterbank rate
code and writes ``train.npz``, ``test.npz`` and ``scores.npz`` (targets: the keys sounding in each
excerpt) into ``--out-dir`` (default ``$VR_BRIAN_CACHE/piano_multipitch``)::

    vr-brian study piano_multipitch
    vr-brian study alpha_sweep --task piano

The encoder puts one gammatone channel on every key (A0 .. C8) and ten semitones above it (the
partials of the top keys, up to 7.5 kHz), each a semitone wide (constant Q, at least 5 Hz): an
ERB-wide channel spans several keys below 1 kHz, where a linear read-out of 32 ERB channels
reached F 0.27-0.33 only.
"""

from __future__ import annotations

import time

from studies.cli import output_paths, study_parser, write_json
from studies.instrument_recognition.run import encode_splits

NAME = "piano_multipitch"
#: 88 keys and 10 semitones above C8 (7.46 kHz, below the 8 kHz Nyquist frequency of 16 kHz audio)
N_CHANNELS = 98


def piano_encoder(dt: float):
    """Semitone-spaced, semitone-wide gammatone channels from A0; rate code from -50 dB to 0 dB."""
    from vr_brian.encoding import FilterbankEncoder

    return FilterbankEncoder(n_channels=N_CHANNELS, f_low=27.5, f_high=7900.0, spacing="semitone", bandwidth=1.0,
                             min_bandwidth=5.0, mode="rate", floor_db=-50.0, ceiling_db=0.0, max_rate=0.25, dt=dt)


def main(argv=None) -> int:
    from vr_brian.datasets import (
        PianoSettings,
        ScoreSettings,
        build_piano_chords,
        build_score_excerpts,
        default_cache_dir,
    )

    parser = study_parser(NAME, "Piano multi-pitch spike data (.npz) for vr-brian train")
    parser.add_argument("--dt", type=float, default=0.01, help="time step of the spike arrays, s (default 0.01)")
    parser.add_argument("--train-per-polyphony", type=int, default=500, help="training chords per level P1-P6")
    parser.add_argument("--test-per-polyphony", type=int, default=100, help="test chords per level P1-P6")
    parser.add_argument("--test-bank", default="musescore", help="sound bank whose piano is held out")
    parser.add_argument("--no-scores", action="store_true", help="skip the music21 score excerpts")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if not args.dt > 0:
        parser.error(f"--dt must be > 0 s, got {args.dt}")
    if args.train_per_polyphony < 1 or args.test_per_polyphony < 1:
        parser.error("--train-per-polyphony and --test-per-polyphony must be >= 1")
    results_path, _ = output_paths(NAME, args)
    out_dir = results_path.parent if (args.out_dir or args.quick) else default_cache_dir() / NAME
    cache_dir = out_dir / "cache" if args.quick else default_cache_dir()
    if args.quick:
        settings = PianoSettings(polyphonies=(1, 3), train_per_polyphony=2, test_per_polyphony=1,
                                 banks=("fluidr3", "timgm6mb"), test_bank="timgm6mb", seed=args.seed)
    else:
        settings = PianoSettings(train_per_polyphony=args.train_per_polyphony,
                                 test_per_polyphony=args.test_per_polyphony, test_bank=args.test_bank,
                                 seed=args.seed)
    start = time.perf_counter()
    chords = build_piano_chords(settings, cache_dir, progress=not args.quick)
    parts = {"train": chords.split("train"), "test": chords.split("test")}
    if not args.no_scores:
        scores = ScoreSettings(bank=settings.test_bank, **({"pieces": ("bach/bwv66.6",), "max_excerpts": 2}
                                                           if args.quick else {}))
        parts["scores"] = build_score_excerpts(scores, cache_dir, progress=not args.quick)
    render_seconds = time.perf_counter() - start
    encoder = piano_encoder(args.dt)
    start = time.perf_counter()
    written, counts = encode_splits(parts, encoder, out_dir, cache_dir, not args.quick)
    encode_seconds = time.perf_counter() - start
    write_json(results_path, {
        "purpose": "spike data for vr-brian train and the alpha sweep (--task piano); no claim of its own",
        "config": {"quick": args.quick, "dataset": chords.manifest["settings"], "dataset_hash": chords.manifest["hash"],
                   "encoder": encoder.settings()},
        "render_seconds": render_seconds, "encode_seconds": encode_seconds, "splits": counts,
        "files": {k: str(v) for k, v in written.items()},
    })
    print(f"{NAME}: " + ", ".join(f"{counts[k]['clips']} {k}" for k in counts) +
          f" clips ({render_seconds:.1f} s to build or load), encoded in {encode_seconds:.1f} s; "
          f"spikes {counts['train']['steps']} steps x {counts['train']['channels']} channels")
    print(f"  vr-brian train {written['train']} --test {written['test']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
