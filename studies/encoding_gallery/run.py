r"""Each encoder's spikes for a few real rendered clips, drawn so a person can check them.

For one clip of several instruments (held-out bank) and one piano chord, the study renders the
audio, computes its gammatone levels (cochleagram), and encodes it twice:

- spikegram: matching pursuit over a 32-channel gammatone dictionary (Smith and Lewicki 2005),
  until 20 dB SNR or ``max_atoms``; its reconstruction SNR is recomputed here from the atoms
  (:func:`vr_brian.encoding.reconstruct`), independently of the pursuit's own bookkeeping;
- level crossing: 32 gammatone envelopes, a spike per 3 dB rise above -30 dB.

It records render and encode times per clip, spike counts and rates, and writes one figure per
clip, ``figures/encoding_gallery_<clip>.png``: waveform, levels, and both rasters on one time axis.

It also encodes every clip with the 384-input spikegram of the music data studies
(:func:`studies.instrument_recognition.run.spikegram_encoder`: 2000 atoms per 1.5 s, dt = 3 ms) under
each mapping of atoms to neurons (``levels``: 128 kernels x 3 amplitude levels, fitted on these
clips' atoms; ``delays``: 128 kernels x 3 copies shifted by 0, 15, 30 ms; ``channels``: 384
kernels), times the pursuit (CPU seconds per clip, compiled loop against the numpy loop, which
select the same atoms; the run fails if they do not), and draws the three rasters of one
instrument clip and the chord in ``figures/encoding_gallery_spikegram384.png``.
"""

from __future__ import annotations

import time

import numpy as np

from studies.cli import output_paths, save_figure, study_parser, write_json

NAME = "encoding_gallery"
CLASSES = ("flute", "cello", "drum kit", "choir")


def render_examples(quick: bool, cache_dir):
    """(name, audio, sample rate) of one clip per class and one three-key chord, and seconds taken."""
    from vr_brian.datasets import InstrumentSettings, PianoSettings, build_instruments, build_piano_chords

    banks = ("fluidr3", "timgm6mb") if quick else ("fluidr3", "musescore", "timgm6mb")
    test_bank = "timgm6mb" if quick else "musescore"
    classes = CLASSES[:2] if quick else CLASSES
    start = time.perf_counter()
    instruments = build_instruments(
        InstrumentSettings(
            classes=classes, train_per_class=0, test_per_class=1, banks=banks, test_bank=test_bank, seed=1
        ),
        cache_dir,
    )
    chords = build_piano_chords(
        PianoSettings(
            polyphonies=(3,),
            train_per_polyphony=0,
            test_per_polyphony=1,
            banks=banks,
            test_bank=test_bank,
            seed=1,
            duration=1.5,
            hold=1.2,
        ),
        cache_dir,
    )
    seconds = time.perf_counter() - start
    examples = [(name, clip, instruments.sample_rate) for name, clip in zip(classes, instruments.audio, strict=True)]
    keys = "+".join(chords.class_names[k] for k in np.flatnonzero(chords.targets[0]))
    examples.append((f"piano chord {keys}", chords.audio[0], chords.sample_rate))
    return (
        examples,
        seconds,
        {
            "banks": banks,
            "test_bank": test_bank,
            "built": not (instruments.manifest["reused"] and chords.manifest["reused"]),
        },
    )


def main(argv=None) -> int:
    from vr_brian.datasets import default_cache_dir
    from vr_brian.encoding import FilterbankEncoder, SpikegramEncoder, reconstruct, spike_raster
    from vr_brian.encoding.plot import plot_encodings

    parser = study_parser(NAME, "Each encoder's spikes for a few real rendered clips, drawn for checking")
    parser.add_argument("--max-atoms", type=int, default=None, help="atoms per clip at most (default 1500; 200 quick)")
    args = parser.parse_args(argv)
    results_path, figures_dir = output_paths(NAME, args)
    max_atoms = args.max_atoms or (200 if args.quick else 1500)
    if max_atoms < 1:
        parser.error(f"--max-atoms must be >= 1, got {max_atoms}")
    cache_dir = results_path.parent / "cache" if args.quick else default_cache_dir()

    examples, render_seconds, render_info = render_examples(args.quick, cache_dir)
    spikegram = SpikegramEncoder(max_atoms=max_atoms, snr_db=20.0)
    crossing = FilterbankEncoder(mode="crossing")
    rows, figures = [], []
    for name, audio, rate in examples:
        start = time.perf_counter()
        atoms = spikegram.decompose(audio)
        spikegram_seconds = time.perf_counter() - start
        raster_mp = spike_raster(
            atoms, spikegram.n_channels, rate, spikegram.dt, int(np.ceil(len(audio) / (spikegram.dt * rate)))
        )
        residual = audio - reconstruct(atoms, spikegram.dictionary)
        snr = 10 * np.log10(np.sum(audio.astype(float) ** 2) / np.sum(residual**2))
        start = time.perf_counter()
        levels = crossing.levels(audio[None])[0]
        raster_lc = crossing.encode(audio[None])[0]
        crossing_seconds = time.perf_counter() - start
        duration = len(audio) / rate
        rows.append(
            {
                "clip": name,
                "duration_s": duration,
                "spikegram_atoms": len(atoms),
                "spikegram_snr_db": float(snr),
                "spikegram_snr_db_pursuit": float(atoms.snr_db[-1]),
                "spikegram_spikes": int(raster_mp.sum()),
                "spikegram_seconds": spikegram_seconds,
                "crossing_spikes": int(raster_lc.sum()),
                "crossing_seconds": crossing_seconds,
                "spikegram_rate_hz_per_channel": float(raster_mp.sum() / duration / spikegram.n_channels),
                "crossing_rate_hz_per_channel": float(raster_lc.sum() / duration / crossing.n_channels),
            }
        )
        figure = plot_encodings(
            audio,
            rate,
            levels,
            {
                f"spikegram ({len(atoms)} atoms, {snr:.1f} dB SNR)": raster_mp,
                "level crossing (3 dB rises above -30 dB)": raster_lc,
            },
            crossing.dt,
            crossing.centres,
            title=f"{name} ({render_info['test_bank']} bank, {duration:.1f} s at {rate / 1000:.0f} kHz)",
        )
        slug = name.split(" ")[0] if name.startswith("piano") else name.replace(" ", "_")
        figures.append(save_figure(figure, figures_dir / f"{NAME}_{slug}.png").name)
    expansions, same_atoms = paper_spikegrams(examples, args.quick)
    chosen = [examples[1], examples[-1]]
    figures.append(
        save_figure(
            plot_expansions([(name, expansions["rasters"][name]) for name, _, _ in chosen], expansions["dt"]),
            figures_dir / f"{NAME}_spikegram384.png",
        ).name
    )
    results = {
        "claim": "both encoders give sparse (steps, channels) spike arrays that follow the sound; "
        "the spikegram reconstructs each clip to the SNR it reports; the compiled pursuit "
        "selects the atoms of the numpy pursuit",
        "config": {
            "quick": args.quick,
            "spikegram": spikegram.settings(),
            "crossing": crossing.settings(),
            **render_info,
        },
        "render_seconds": render_seconds,
        "clips": rows,
        "figures": figures,
        "spikegram_384": {k: v for k, v in expansions.items() if k != "rasters"},
    }
    write_json(results_path, results)
    print(
        f"{NAME}: rendered {len(examples)} clips in {render_seconds:.2f} s "
        f"({'built' if render_info['built'] else 'from cache'}) -> {results_path}"
    )
    for row in rows:
        print(
            f"  {row['clip']:<22} spikegram {row['spikegram_atoms']:5d} atoms {row['spikegram_snr_db']:5.1f} dB "
            f"in {row['spikegram_seconds']:.2f} s | crossing {row['crossing_spikes']:5d} spikes "
            f"in {row['crossing_seconds']:.2f} s"
        )
    for row in expansions["clips"]:
        print(
            f"  {row['clip']:<22} 384-input spikegram: pursuit {row['compiled_cpu_seconds']['levels']:.2f} s "
            f"compiled / {row['numpy_cpu_seconds']:.2f} s numpy (128 kernels), "
            f"{row['compiled_cpu_seconds']['channels']:.2f} s (384 kernels); spikes "
            + ", ".join(f"{m} {n}" for m, n in row["spikes"].items())
        )
    worst = max(abs(r["spikegram_snr_db"] - r["spikegram_snr_db_pursuit"]) for r in rows)
    return 0 if worst < 1.0 and same_atoms else 1


def paper_spikegrams(examples, quick: bool) -> tuple:
    """Each clip under the three mappings of the data studies' 384-input spikegram, with pursuit times.

    Returns (results, whether the compiled and the numpy pursuit selected the same atoms for every clip).
    """
    import dataclasses

    from studies.instrument_recognition.run import spikegram_encoder
    from vr_brian.encoding import AtomSet
    from vr_brian.encoding.spikegram import matching_pursuit

    rate = 100.0 if quick else None
    encoders = {
        m: spikegram_encoder(0.003, 1.5, m, **({"atoms_per_second": rate} if rate else {}))
        for m in ("levels", "delays", "channels")
    }
    rows, grams, same = [], {}, True
    for mapping in ("levels", "channels"):  # delays share the atoms of levels
        encoder = encoders[mapping]
        encoder.decompose(examples[0][1][:1600])  # tables and compilation outside the timing
        for name, audio, _ in examples:
            start = time.process_time()
            grams[mapping, name] = encoder.decompose(audio)
            seconds = time.process_time() - start
            rows.append({"clip": name, "mapping": mapping, "seconds": seconds})
    numpy_seconds = {}
    encoder = encoders["levels"]
    matching_pursuit(examples[0][1][:1600], encoder.dictionary, 5, compiled=False)  # dense tables, untimed
    for name, audio, _ in examples:
        start = time.process_time()
        reference = matching_pursuit(
            audio, encoder.dictionary, encoder.max_atoms, encoder.snr_db, encoder.precision, compiled=False
        )
        numpy_seconds[name] = time.process_time() - start
        same &= bool(
            np.array_equal(reference.channel, grams["levels", name].channel)
            and np.array_equal(reference.position, grams["levels", name].position)
        )
    atoms = {
        m: AtomSet.from_spikegrams([grams[m if m == "channels" else "levels", name] for name, _, _ in examples])
        for m in encoders
    }
    # the levels are fitted on these few clips for the picture; the data studies fit them on training clips
    encoders["levels"] = encoders["levels"].fit_levels(atoms["levels"])
    rasters, clips = {}, []
    for k, (name, audio, _) in enumerate(examples):
        rasters[name] = {}
        for mapping, encoder in encoders.items():
            one = atoms[mapping].subset([k])
            if len(audio) != one.n_samples:
                raise ValueError("clips of different lengths")
            rasters[name][mapping] = encoder.expand(one)[0]
        clips.append(
            {
                "clip": name,
                "atoms": int(len(grams["levels", name])),
                "snr_db": {m: float(grams[m, name].snr_db[-1]) for m in ("levels", "channels")},
                "spikes": {m: int(r.sum()) for m, r in rasters[name].items()},
                "density": {m: float(r.mean()) for m, r in rasters[name].items()},
                "compiled_cpu_seconds": {r["mapping"]: r["seconds"] for r in rows if r["clip"] == name},
                "numpy_cpu_seconds": numpy_seconds[name],
            }
        )
    settings = {m: dataclasses.asdict(e) for m, e in encoders.items()}
    return {"encoders": settings, "dt": 0.003, "clips": clips, "rasters": rasters}, same


def plot_expansions(clips, dt: float):
    """One row per clip, one column per mapping: the 384 input neurons' spikes against time."""
    import matplotlib.pyplot as plt

    mappings = list(clips[0][1])
    figure, axes = plt.subplots(
        len(clips),
        len(mappings),
        figsize=(4.2 * len(mappings), 3.3 * len(clips)),
        sharex=True,
        sharey=True,
        squeeze=False,
        constrained_layout=True,
    )
    notes = {
        "levels": "128 kernels x 3 amplitude levels",
        "delays": "128 kernels x 3 copies (0, 15, 30 ms)",
        "channels": "384 kernels",
    }
    for row, (name, rasters) in zip(axes, clips, strict=True):
        for ax, mapping in zip(row, mappings, strict=True):
            raster = rasters[mapping]
            steps, neurons = np.nonzero(raster)
            ax.scatter((steps + 0.5) * dt, neurons, s=1.5, marker="|", color="tab:blue", linewidths=0.5)
            ax.set_title(
                f"{name}: {mapping} ({notes[mapping]})\n{len(steps)} spikes, density {raster.mean():.2%}",
                fontsize=8,
                loc="left",
            )
            ax.set_ylim(-0.5, raster.shape[1] - 0.5)
        row[0].set_ylabel("input neuron (kernel-major, low to high frequency)", fontsize=8)
    for ax in axes[-1]:
        ax.set_xlabel("time (s)")
    return figure


if __name__ == "__main__":
    raise SystemExit(main())
