"""Instrument recognition from real sampled instruments: random monophonic phrases, 10 classes.

A stand-in for the MedleyDB task of the paper, rendered offline: every clip is one instrument
playing a random phrase (random keys within the instrument's range, random note lengths, rests
and velocities). The training clips come from some sound banks and the test clips from another
bank the network never heard, so the test measures recognition of the instrument, not of one
set of recordings.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .cache import ArrayCache
from .clips import ClipSet
from .render import NoteEvent, render_clips, require_banks

__all__ = ["Instrument", "INSTRUMENTS", "InstrumentSettings", "instrument_phrase", "build_instruments"]


@dataclasses.dataclass(frozen=True)
class Instrument:
    """A class: General MIDI ``program`` over keys ``low..high``, or percussion ``drum_keys``."""

    name: str
    program: int = 0
    low: int = 0
    high: int = 127
    drum_keys: tuple = ()

    @property
    def keys(self) -> np.ndarray:
        return np.array(self.drum_keys) if self.drum_keys else np.arange(self.low, self.high + 1)


#: Ten timbres that stay distinct in all three banks (violin and fiddle do not: one class only).
#: Ranges are the instruments' usual sounding ranges (MIDI keys).
INSTRUMENTS = {
    "acoustic guitar": Instrument("acoustic guitar", 24, 40, 83),
    "cello": Instrument("cello", 42, 36, 76),
    "contrabass": Instrument("contrabass", 43, 28, 55),
    "violin": Instrument("violin", 40, 55, 93),
    "flute": Instrument("flute", 73, 60, 96),
    "choir": Instrument("choir", 52, 48, 79),
    "tuba": Instrument("tuba", 58, 29, 58),
    "piano": Instrument("piano", 0, 21, 108),
    # bass drums, snares, side stick, clap, toms, hi-hats: the kit without its cymbals
    "drum kit": Instrument("drum kit", drum_keys=(35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 50)),
    "cymbal": Instrument("cymbal", drum_keys=(49, 51, 52, 53, 55, 57, 59)),
}


@dataclasses.dataclass(frozen=True)
class InstrumentSettings:
    """Everything that determines the instrument clips (the cache key).

    Parameters
    ----------
    classes : tuple of str
        Keys of :data:`INSTRUMENTS`.
    train_per_class, test_per_class : int
        Clips per class; training clips cycle through the training banks.
    banks : tuple of str
        Sound banks used (:data:`vr_brian.datasets.render.BANK_FILES`).
    test_bank : str
        The bank held out: test clips only.
    duration : float
        Clip length, s.
    note_length : (float, float)
        Range of note lengths, s (log-uniform).
    velocity : (int, int)
        Range of MIDI velocities (uniform).
    rest_probability : float
        Chance that a rest of one note length follows a note.
    sample_rate : float
        Hz.
    target_rms : float
        RMS of every clip after normalisation.
    seed : int
    """

    classes: tuple = tuple(INSTRUMENTS)
    train_per_class: int = 100
    test_per_class: int = 50
    banks: tuple = ("fluidr3", "musescore", "timgm6mb")
    test_bank: str = "musescore"
    duration: float = 1.5
    note_length: tuple = (0.08, 0.6)
    velocity: tuple = (50, 120)
    rest_probability: float = 0.15
    sample_rate: float = 16000.0
    target_rms: float = 0.05
    seed: int = 0

    def __post_init__(self):
        unknown = [c for c in self.classes if c not in INSTRUMENTS]
        if unknown or len(set(self.classes)) != len(self.classes) or not self.classes:
            raise ValueError(f"classes must be distinct names from {list(INSTRUMENTS)}, got {self.classes}")
        if self.test_bank not in self.banks or len(self.banks) < 2:
            raise ValueError(f"test_bank must be one of banks (at least two), got {self.test_bank!r} and {self.banks}")
        if self.train_per_class < 0 or self.test_per_class < 0:
            raise ValueError("train_per_class and test_per_class must be >= 0")
        if not 0 < self.note_length[0] <= self.note_length[1]:
            raise ValueError(f"note_length must be 0 < min <= max s, got {self.note_length}")
        if not 1 <= self.velocity[0] <= self.velocity[1] <= 127:
            raise ValueError(f"velocity must be 1 <= min <= max <= 127, got {self.velocity}")
        if not 0 <= self.rest_probability < 1:
            raise ValueError(f"rest_probability must be in [0, 1), got {self.rest_probability}")
        if self.duration <= 0:
            raise ValueError(f"duration must be > 0 s, got {self.duration}")

    @property
    def train_banks(self) -> tuple:
        return tuple(b for b in self.banks if b != self.test_bank)


def instrument_phrase(
    instrument: Instrument, rng: np.random.Generator, settings: InstrumentSettings
) -> list[NoteEvent]:
    """A random monophonic phrase filling ``settings.duration``.

    Notes follow each other without overlap; the first starts within the first 0.1 s. Keys are
    uniform over the instrument's keys, lengths log-uniform over ``note_length``, velocities
    uniform over ``velocity``.
    """
    keys = instrument.keys
    low, high = np.log(settings.note_length)
    time = rng.uniform(0.0, 0.1)
    events: list = []
    while time < settings.duration - 0.05 or not events:
        length = float(np.exp(rng.uniform(low, high)))
        events.append(
            NoteEvent(
                int(rng.choice(keys)),
                int(rng.integers(settings.velocity[0], settings.velocity[1] + 1)),
                round(time, 6),
                round(time + length, 6),
                program=instrument.program,
                drum=bool(instrument.drum_keys),
            )
        )
        time += length
        if rng.random() < settings.rest_probability:
            time += float(np.exp(rng.uniform(low, high)))
    return events


def _plan(settings: InstrumentSettings):
    rng = np.random.default_rng(settings.seed)
    plan, labels, test = [], [], []
    for split, per_class, banks in (
        ("train", settings.train_per_class, settings.train_banks),
        ("test", settings.test_per_class, (settings.test_bank,)),
    ):
        for label, name in enumerate(settings.classes):
            for i in range(per_class):
                plan.append((banks[i % len(banks)], instrument_phrase(INSTRUMENTS[name], rng, settings)))
                labels.append(label)
                test.append(split == "test")
    return plan, np.array(labels, dtype=int), np.array(test, dtype=bool)


def build_instruments(
    settings: InstrumentSettings = InstrumentSettings(), cache_dir=None, progress: bool = False
) -> ClipSet:
    """Render (or read back from the cache) the instrument clips for ``settings``.

    Returns a :class:`ClipSet` with one-hot targets over ``settings.classes``; ``source`` is
    the index of the bank in ``settings.banks``; ``test`` marks the held-out bank's clips.
    """
    banks = require_banks(settings.banks)
    key = {
        "dataset": "instruments",
        **dataclasses.asdict(settings),
        "bank_files": [banks[b].identity() for b in settings.banks],
    }

    def build():
        plan, labels, test = _plan(settings)
        audio, events = render_clips(
            plan, banks, settings.duration, settings.sample_rate, settings.target_rms, progress
        )
        targets = np.eye(len(settings.classes), dtype=np.uint8)[labels]
        source = np.array([settings.banks.index(bank) for bank, _ in plan], dtype=int)
        return {"audio": audio, "targets": targets, "source": source, "test": test, "events": events}

    result = ArrayCache(cache_dir).load_or_build("instruments", key, build)
    return ClipSet.from_cache(result, settings.sample_rate, settings.classes, settings.banks)
