"""Loaders for the real datasets of the paper, for users who have them: MedleyDB and MAPS.

MedleyDB (Bittner et al. 2014) lays out one folder per track::

    <root>/Audio/<Track>/<Track>_METADATA.yaml
    <root>/Audio/<Track>/<Track>_MIX.wav
    <root>/Audio/<Track>/<Track>_STEMS/<Track>_STEM_01.wav ...

(the metadata may instead sit in ``<root>/Metadata/<Track>_METADATA.yaml``). The YAML names
every stem's file and instrument under ``stems: {S01: {filename:, instrument:}, ...}``, with
``stem_dir`` naming the stems folder.

MAPS (Emiya et al. 2010) has one folder per piano (``AkPnBcht``, ``ENSTDkCl``, ...) with
subsets ``ISOL`` (isolated notes), ``RAND`` (random chords, ``P1``..``P7`` polyphony),
``UCHO`` (usual chords) and ``MUS`` (pieces); every ``MAPS_*.wav`` has a ``.txt`` beside it
with a header line and rows ``OnsetTime OffsetTime MidiPitch`` (seconds, seconds, key).
"""

from __future__ import annotations

import dataclasses
import re
from math import gcd
from pathlib import Path

import numpy as np
from scipy.io import wavfile
from scipy.signal import resample_poly

from .clips import N_KEYS, PIANO_LOW, ClipSet, piano_roll
from .piano import KEY_NAMES
from .render import normalise_rms

__all__ = [
    "read_audio",
    "MedleyStem",
    "scan_medleydb",
    "medleydb_clips",
    "MapsRecording",
    "read_maps_notes",
    "scan_maps",
    "maps_chord_clips",
    "maps_music_clips",
    "MAPS_SUBSETS",
]

MAPS_SUBSETS = ("ISOL", "RAND", "UCHO", "MUS")


def read_audio(path, sample_rate: float) -> np.ndarray:
    """A WAV file as mono float64 in [-1, 1] at ``sample_rate`` (polyphase resampling)."""
    rate, data = wavfile.read(path)
    if np.issubdtype(data.dtype, np.integer):
        data = data / float(np.iinfo(data.dtype).max + 1)
    data = np.asarray(data, dtype=np.float64)
    if data.ndim == 2:
        data = data.mean(axis=1)
    if rate != sample_rate:
        if float(sample_rate) != int(sample_rate):
            raise ValueError(f"sample_rate must be a whole number of Hz, got {sample_rate}")
        common = gcd(int(rate), int(sample_rate))
        data = resample_poly(data, int(sample_rate) // common, int(rate) // common)
    return data


# ---------------------------------------------------------------------------------- MedleyDB


@dataclasses.dataclass(frozen=True)
class MedleyStem:
    """One stem: its track, stem id (``S01``), instrument label(s) and WAV path."""

    track: str
    stem: str
    instruments: tuple
    path: Path


def scan_medleydb(root) -> list[MedleyStem]:
    """Every stem listed in the metadata YAML files under ``root`` whose WAV exists.

    Raises FileNotFoundError when ``root`` has no ``*_METADATA.yaml`` at all.
    """
    try:
        import yaml
    except ImportError as error:
        raise RuntimeError("reading MedleyDB metadata needs PyYAML: pip install pyyaml") from error
    root = Path(root)
    metadata = sorted(
        set(root.glob("Audio/*/*_METADATA.yaml"))
        | set(root.glob("Metadata/*_METADATA.yaml"))
        | set(root.glob("*/*_METADATA.yaml"))
    )
    if not metadata:
        raise FileNotFoundError(
            f"no MedleyDB metadata (*_METADATA.yaml) under {root}/Audio/<track>/ or {root}/Metadata/"
        )
    stems = []
    for path in metadata:
        track = path.name[: -len("_METADATA.yaml")]
        info = yaml.safe_load(path.read_text()) or {}
        folder = path.parent if path.parent.name == track else root / "Audio" / track
        stem_dir = folder / (info.get("stem_dir") or f"{track}_STEMS")
        for stem_id, stem in sorted((info.get("stems") or {}).items()):
            labels = stem.get("instrument")
            labels = tuple(labels) if isinstance(labels, list) else (labels,)
            wav = stem_dir / stem["filename"]
            if wav.is_file():
                stems.append(MedleyStem(track, stem_id, labels, wav))
    return stems


def medleydb_clips(
    root,
    classes,
    duration: float = 1.5,
    sample_rate: float = 16000.0,
    min_rms: float = 0.005,
    max_clips_per_stem: int | None = 20,
    test_fraction: float = 0.2,
    target_rms: float = 0.05,
    seed: int = 0,
) -> ClipSet:
    """Non-silent clips of single-instrument stems, labelled with ``classes``.

    Parameters
    ----------
    classes : dict of str to sequence of str, or sequence of str
        Class name to the MedleyDB instrument labels it takes (``{'violin': ['violin',
        'violin section']}``), or the labels themselves as class names. A stem is used when
        exactly one class matches its label(s).
    duration : float
        Clip length, s: consecutive non-overlapping windows of each stem.
    min_rms : float
        Windows quieter than this (before normalisation) are silence and dropped.
    max_clips_per_stem : int or None
        At most this many windows per stem, spread evenly over the non-silent ones.
    test_fraction : float
        Fraction of tracks (not clips) in the test split, drawn with ``seed``: no track is in both.
    """
    if not isinstance(classes, dict):
        classes = {name: [name] for name in classes}
    if not classes:
        raise ValueError("classes must name at least one class")
    if not 0 <= test_fraction < 1:
        raise ValueError(f"test_fraction must be in [0, 1), got {test_fraction}")
    names = tuple(classes)
    wanted = {label: i for i, name in enumerate(names) for label in classes[name]}
    stems = [s for s in scan_medleydb(root) if len({wanted[label] for label in s.instruments if label in wanted}) == 1]
    tracks = sorted({s.track for s in stems})
    rng = np.random.default_rng(seed)
    test_tracks = set(rng.permutation(tracks)[: int(round(test_fraction * len(tracks)))].tolist())
    window = int(round(duration * sample_rate))
    audio: list = []
    labels, source = [], []
    for stem in stems:
        data = read_audio(stem.path, sample_rate)
        n = len(data) // window
        if n == 0:
            continue
        windows = data[: n * window].reshape(n, window)
        loud = np.flatnonzero(np.sqrt(np.mean(windows**2, axis=1)) >= min_rms)
        if max_clips_per_stem is not None and len(loud) > max_clips_per_stem:
            loud = loud[np.linspace(0, len(loud) - 1, max_clips_per_stem).round().astype(int)]
        audio.extend(windows[loud])
        labels.extend([next(wanted[label] for label in stem.instruments if label in wanted)] * len(loud))
        source.extend([tracks.index(stem.track)] * len(loud))
    if not audio:
        raise ValueError(f"no non-silent clips of classes {names} under {root}")
    source = np.array(source, dtype=int)
    return ClipSet(
        normalise_rms(np.stack(audio), target_rms),
        np.eye(len(names), dtype=np.uint8)[labels],
        source,
        np.isin(np.array(tracks)[source], list(test_tracks)),
        float(sample_rate),
        names,
        tuple(tracks),
        manifest={
            "dataset": "medleydb",
            "root": str(root),
            "duration": duration,
            "min_rms": min_rms,
            "test_tracks": sorted(test_tracks),
            "seed": seed,
        },
    )


# -------------------------------------------------------------------------------------- MAPS


@dataclasses.dataclass(frozen=True)
class MapsRecording:
    """One MAPS recording: WAV and annotation paths, piano, subset and (for RAND) polyphony."""

    wav: Path
    txt: Path
    piano: str
    subset: str
    polyphony: int | None


def read_maps_notes(path) -> np.ndarray:
    """A MAPS ``.txt`` annotation: (n, 3) float array of onset s, offset s, MIDI key."""
    rows = []
    for line in Path(path).read_text().splitlines():
        fields = line.split()
        if len(fields) < 3:
            continue
        try:
            rows.append((float(fields[0]), float(fields[1]), float(fields[2])))
        except ValueError:
            continue  # the header line
    return np.array(rows, dtype=float).reshape(-1, 3)


_MAPS_NAME = re.compile(r"^MAPS_(ISOL|RAND|UCHO|MUS)[-_].*_([A-Za-z0-9]+)$")


def scan_maps(root, subsets=MAPS_SUBSETS, pianos=None) -> list[MapsRecording]:
    """Every ``MAPS_*.wav`` with its ``.txt`` under ``root``, filtered by subset and piano."""
    unknown = [s for s in subsets if s not in MAPS_SUBSETS]
    if unknown:
        raise ValueError(f"unknown MAPS subsets {unknown}; choose from {MAPS_SUBSETS}")
    found = []
    for wav in sorted(Path(root).rglob("MAPS_*.wav")):
        match = _MAPS_NAME.match(wav.stem)
        txt = wav.with_suffix(".txt")
        if not match or not txt.is_file():
            continue
        subset, piano = match.groups()
        if subset not in subsets or (pianos is not None and piano not in pianos):
            continue
        level = re.search(r"_P(\d)_", wav.stem)
        found.append(
            MapsRecording(wav, txt, piano, subset, int(level.group(1)) if subset == "RAND" and level else None)
        )
    if not found:
        raise FileNotFoundError(f"no MAPS recordings (MAPS_*.wav with .txt) of subsets {list(subsets)} under {root}")
    return found


def _onset_groups(notes: np.ndarray, tolerance: float) -> list[np.ndarray]:
    order = np.argsort(notes[:, 0], kind="stable")
    notes = notes[order]
    groups, start = [], 0
    for i in range(1, len(notes) + 1):
        if i == len(notes) or notes[i, 0] - notes[start, 0] > tolerance:
            groups.append(notes[start:i])
            start = i
    return groups


def maps_chord_clips(
    root,
    subsets=("ISOL", "RAND", "UCHO"),
    pianos=None,
    test_pianos=(),
    duration: float = 1.0,
    sample_rate: float = 16000.0,
    onset_tolerance: float = 0.05,
    target_rms: float = 0.05,
) -> ClipSet:
    """One clip per chord (notes whose onsets lie within ``onset_tolerance`` s of the first).

    A clip starts at the chord's onset and lasts ``duration`` s; if the next chord starts
    earlier the clip is silenced from there, so its target is exactly the chord's keys.
    ``source`` indexes the piano; clips of ``test_pianos`` form the test split.
    """
    recordings = scan_maps(root, subsets, pianos)
    piano_names = tuple(sorted({r.piano for r in recordings}))
    window = int(round(duration * sample_rate))
    audio, targets, source = [], [], []
    for recording in recordings:
        data = read_audio(recording.wav, sample_rate)
        groups = _onset_groups(read_maps_notes(recording.txt), onset_tolerance)
        for i, group in enumerate(groups):
            start = int(round(group[0, 0] * sample_rate))
            stop = start + window
            if i + 1 < len(groups):
                stop = min(stop, int(round(groups[i + 1][0, 0] * sample_rate)))
            clip = np.zeros(window)
            piece = data[start:stop]
            clip[: len(piece)] = piece
            keys = np.rint(group[:, 2]).astype(int) - PIANO_LOW
            target = np.zeros(N_KEYS, dtype=np.uint8)
            target[keys[(keys >= 0) & (keys < N_KEYS)]] = 1
            audio.append(clip)
            targets.append(target)
            source.append(piano_names.index(recording.piano))
    source = np.array(source, dtype=int)
    return ClipSet(
        normalise_rms(np.stack(audio), target_rms),
        np.stack(targets),
        source,
        np.isin(np.array(piano_names)[source], list(test_pianos)),
        float(sample_rate),
        KEY_NAMES,
        piano_names,
        manifest={
            "dataset": "maps_chords",
            "root": str(root),
            "subsets": list(subsets),
            "test_pianos": list(test_pianos),
            "duration": duration,
        },
    )


def maps_music_clips(
    root,
    pianos=None,
    test_pianos=(),
    duration: float = 1.0,
    frame: float = 0.05,
    sample_rate: float = 16000.0,
    target_rms: float = 0.05,
) -> ClipSet:
    """Consecutive ``duration`` s excerpts of the MUS pieces with per-frame targets.

    ``frame_targets`` are the keys sounding at each frame centre (:func:`piano_roll`),
    ``targets`` the keys sounding in any frame of the excerpt.
    """
    recordings = scan_maps(root, ("MUS",), pianos)
    piano_names = tuple(sorted({r.piano for r in recordings}))
    window = int(round(duration * sample_rate))
    audio, frames, source = [], [], []
    for recording in recordings:
        data = read_audio(recording.wav, sample_rate)
        notes = read_maps_notes(recording.txt)
        for e in range(len(data) // window):
            shifted = notes - np.array([e * duration, e * duration, 0.0])
            audio.append(data[e * window : (e + 1) * window])
            frames.append(piano_roll(shifted, duration, frame))
            source.append(piano_names.index(recording.piano))
    frames = np.stack(frames)
    source = np.array(source, dtype=int)
    return ClipSet(
        normalise_rms(np.stack(audio), target_rms),
        np.asarray(frames.any(axis=1), np.uint8),
        source,
        np.isin(np.array(piano_names)[source], list(test_pianos)),
        float(sample_rate),
        KEY_NAMES,
        piano_names,
        frame_targets=frames,
        frame=frame,
        manifest={
            "dataset": "maps_music",
            "root": str(root),
            "duration": duration,
            "frame": frame,
            "test_pianos": list(test_pianos),
        },
    )
