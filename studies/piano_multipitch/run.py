"""Piano multi-pitch spike data (.npz) for `vr-brian train` and the alpha sweep.

Builds the chord clips (:func:`vr_brian.datasets.build_piano_chords`: 1 to 6 distinct keys over all
88, P1-P6, exact multi-hot targets) and excerpts of real polyphonic music from the music21 corpus
(:func:`vr_brian.datasets.build_score_excerpts`), splits the chords by ``--protocol``:

- ``paper``: like the paper's MAPS selection (P1-P6 chords of several pianos, 14,841 in all,
  divided at random): ``--chords-per-piano`` (822) chords per polyphony level on each of the three
  pianos, 14,796 in all, a quarter of every level drawn at random for the test set
  (:func:`vr_brian.datasets.stratified_split`, ``--split-seed``): 11,100 training and 3,696 test
  chords;
- ``heldout``: the same pool split by piano: the chords of two pianos for training (9,864), those
  of the piano of the bank held out (``--test-bank``) for the test set (4,932),

encodes them (``--encoder``, default the spikegram of ``studies/instrument_recognition``; ``rate``:
the semitone filterbank rate code) and writes ``train.npz``, ``test.npz`` and ``scores.npz``
(targets: the keys sounding in each excerpt, played on the ``--test-bank`` piano) into ``--out-dir``
(default ``$VR_BRIAN_CACHE/piano_multipitch/<protocol>-<encoder>/``), with a ``manifest.json``
there and under ``builds["<protocol>-<encoder>"]`` of this study's ``results.json``::

    vr-brian study piano_multipitch --protocol paper
    vr-brian study alpha_sweep --task piano --data-dir <out> ...

The rate code puts one gammatone channel on every key (A0 .. C8) and ten semitones above it (the
partials of the top keys, up to 7.5 kHz), each a semitone wide (constant Q, at least 5 Hz): an
ERB-wide channel spans several keys below 1 kHz, where a linear read-out of 32 ERB channels
reached F 0.27-0.33 only.
"""

from __future__ import annotations

import time

import numpy as np

from studies.cli import output_paths, study_parser
from studies.instrument_recognition.run import (
    add_encoder_arguments,
    build_key,
    check_encoder_arguments,
    data_folder,
    encode_parts,
    make_encoder,
    record_build,
)

NAME = "piano_multipitch"
#: 88 keys and 10 semitones above C8 (7.46 kHz, below the 8 kHz Nyquist frequency of 16 kHz audio)
N_CHANNELS = 98
#: the rate code's highest rate, spikes per second (0.25 per 10 ms step)
RATE_MAX_HZ = 25.0
#: the paper's protocol: chords per polyphony level and piano (x 6 levels x 3 pianos = 14,796,
#: close to the 14,841 of the paper's MAPS selection) and the share drawn for the test set
PAPER_CHORDS_PER_PIANO = 822
PAPER_TEST_FRACTION = 0.25


def piano_encoder(name: str, dt: float, n_channels: int = N_CHANNELS):
    """Semitone-spaced, semitone-wide gammatone channels from A0; ``rate``: from -50 dB (silent)
    to 0 dB (:data:`RATE_MAX_HZ`); ``crossing``: 3 dB rises above -30 dB."""
    from vr_brian.encoding import FilterbankEncoder

    return FilterbankEncoder(
        n_channels=n_channels,
        f_low=27.5,
        f_high=7900.0,
        spacing="semitone",
        bandwidth=1.0,
        min_bandwidth=5.0,
        mode=name,
        floor_db=-50.0 if name == "rate" else -30.0,
        ceiling_db=0.0,
        max_rate=min(1.0, RATE_MAX_HZ * dt),
        dt=dt,
    )


def main(argv=None) -> int:
    from vr_brian.datasets import (
        PianoSettings,
        ScoreSettings,
        build_piano_chords,
        build_score_excerpts,
        default_cache_dir,
        stratified_split,
    )

    parser = study_parser(NAME, "Piano multi-pitch spike data (.npz) for vr-brian train")
    add_encoder_arguments(parser, channels_default=N_CHANNELS)
    parser.add_argument(
        "--chords-per-piano",
        type=int,
        default=PAPER_CHORDS_PER_PIANO,
        help="chords per polyphony level on each piano (default 822)",
    )
    parser.add_argument(
        "--test-fraction",
        type=float,
        default=PAPER_TEST_FRACTION,
        help="paper: share of every polyphony level drawn for the test set (default 0.25)",
    )
    parser.add_argument("--test-bank", default="musescore", help="heldout: the bank whose piano is held out")
    parser.add_argument("--no-scores", action="store_true", help="skip the music21 score excerpts")
    args = parser.parse_args(argv)
    check_encoder_arguments(parser, args)
    if args.chords_per_piano < 1:
        parser.error(f"--chords-per-piano must be >= 1, got {args.chords_per_piano}")
    if not 0 < args.test_fraction < 1:
        parser.error(f"--test-fraction must lie in (0, 1), got {args.test_fraction}")
    paper = args.protocol == "paper"
    results_path, _ = output_paths(NAME, args)
    out_dir = data_folder(NAME, args, results_path)
    cache_dir = results_path.parent / "cache" if args.quick else default_cache_dir()
    banks = ("fluidr3", "timgm6mb") if args.quick else ("fluidr3", "musescore", "timgm6mb")
    test_bank = "timgm6mb" if args.quick else args.test_bank
    polyphonies = (1, 3) if args.quick else (1, 2, 3, 4, 5, 6)
    per_piano = 2 if args.quick else args.chords_per_piano
    # one pool for both protocols; build_piano_chords cycles its training chords through the banks
    # other than the test bank, one share each, and renders the test chords on the test bank
    settings = PianoSettings(
        polyphonies=polyphonies,
        train_per_polyphony=per_piano * (len(banks) - 1),
        test_per_polyphony=per_piano,
        banks=banks,
        test_bank=test_bank,
        seed=args.seed,
    )
    start = time.perf_counter()
    chords = build_piano_chords(settings, cache_dir, progress=not args.quick)
    pools = {"chords": chords}
    if paper:
        train, test = stratified_split(chords.targets.sum(axis=1), args.test_fraction, args.split_seed)
    else:
        train, test = np.flatnonzero(~chords.test), np.flatnonzero(chords.test)
    parts = {"train": ("chords", train), "test": ("chords", test)}
    if not args.no_scores:
        scores = ScoreSettings(
            bank=test_bank, **({"pieces": ("bach/bwv66.6",), "max_excerpts": 2} if args.quick else {})
        )
        pools["scores"] = build_score_excerpts(scores, cache_dir, progress=not args.quick)
        parts["scores"] = ("scores", np.arange(len(pools["scores"])))
    render_seconds = time.perf_counter() - start
    encoder = make_encoder(args, settings.duration, piano_encoder)
    built = encode_parts(pools, parts, encoder, out_dir, cache_dir, not args.quick, args.n_jobs)
    entry = {
        "protocol": args.protocol,
        "quick": args.quick,
        "dataset": chords.manifest["settings"],
        "dataset_hash": chords.manifest["hash"],
        "pool_clips": len(chords),
        "split": (
            {
                "kind": "stratified_split by polyphony",
                "test_fraction": args.test_fraction,
                "split_seed": args.split_seed,
            }
            if paper
            else {"kind": "held-out piano", "test_bank": test_bank}
        ),
        "polyphony_counts": {
            part: {
                int(p): int(k)
                for p, k in zip(*np.unique(chords.targets[index].sum(axis=1), return_counts=True), strict=True)
            }
            for part, (_, index) in list(parts.items())[:2]
        },
        "render_seconds_here": render_seconds,
        "render_build_seconds": chords.manifest["build_seconds"],
        **built,
    }
    record_build(
        results_path,
        out_dir,
        build_key(args),
        entry,
        "spike data for vr-brian train and the alpha sweep (--task piano); no claim of its own",
    )
    counts = built["parts"]
    print(
        f"{NAME} ({args.protocol}): "
        + ", ".join(f"{counts[k]['clips']} {k}" for k in counts)
        + f" clips, {args.encoder}: {counts['train']['steps']} steps x {counts['train']['inputs']} inputs, "
        f"{counts['train']['spikes_per_clip']['mean']:.0f} spikes per clip (density {counts['train']['density']:.4f})"
    )
    print(f"  vr-brian train {built['files']['train']} --test {built['files']['test']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
