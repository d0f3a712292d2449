"""Datasets of real sampled sound for the paper's two music tasks, and loaders for the originals.

- :mod:`.render`: note events rendered offline with the Debian SoundFont banks (FluidSynth).
- :mod:`.instruments`: 10-instrument recognition from random phrases, one bank held out.
- :mod:`.piano`: 88-key multi-pitch chords P1-P6 (one piano held out) and music21 score excerpts.
- :mod:`.real`: MedleyDB stems and MAPS recordings, for users who have them.
- :mod:`.cache`: clips stored on disk with a manifest (settings, banks, hash).
- :mod:`.splits`: random splits of one pool (per class, or stratified by group) for the paper's protocol.

Every builder returns a :class:`ClipSet`.
"""

from .cache import ArrayCache, default_cache_dir
from .clips import N_KEYS, PIANO_LOW, ClipSet, key_frequency, piano_roll
from .instruments import INSTRUMENTS, InstrumentSettings, build_instruments
from .piano import KEY_NAMES, PianoSettings, ScoreSettings, build_piano_chords, build_score_excerpts
from .real import maps_chord_clips, maps_music_clips, medleydb_clips, scan_maps, scan_medleydb
from .render import NoteEvent, Renderer, find_banks, fluidsynth_missing_reason
from .splits import per_class_split, stratified_split

__all__ = [
    "ClipSet",
    "piano_roll",
    "key_frequency",
    "N_KEYS",
    "PIANO_LOW",
    "KEY_NAMES",
    "ArrayCache",
    "default_cache_dir",
    "INSTRUMENTS",
    "InstrumentSettings",
    "build_instruments",
    "PianoSettings",
    "ScoreSettings",
    "build_piano_chords",
    "build_score_excerpts",
    "scan_medleydb",
    "medleydb_clips",
    "scan_maps",
    "maps_chord_clips",
    "maps_music_clips",
    "NoteEvent",
    "Renderer",
    "find_banks",
    "fluidsynth_missing_reason",
    "per_class_split",
    "stratified_split",
]
