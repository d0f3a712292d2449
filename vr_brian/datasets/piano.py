"""Piano multi-pitch estimation: random chords of 1 to 6 keys (P1-P6), and real scores.

A stand-in for the MAPS task of the paper. Chord clips: ``polyphony`` distinct keys drawn
uniformly from all 88, struck together with random velocities and held; the target is the exact
88-dim multi-hot vector of the keys played. Training clips come from the pianos of some sound
banks, test clips from the piano of a bank held out. Score clips: excerpts of real polyphonic
music (Bach chorales and more from the music21 corpus, shipped with music21) played on the
held-out piano, with per-frame and per-clip targets.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .cache import ArrayCache
from .clips import N_KEYS, PIANO_LOW, ClipSet, piano_roll
from .render import NoteEvent, render_clips, require_banks

__all__ = [
    "PianoSettings",
    "random_chord",
    "build_piano_chords",
    "ScoreSettings",
    "score_notes",
    "build_score_excerpts",
    "KEY_NAMES",
]

#: Names of the 88 keys, A0 .. C8.
KEY_NAMES = tuple(
    f"{'C C# D D# E F F# G G# A A# B'.split()[(k) % 12]}{k // 12 - 1}" for k in range(PIANO_LOW, PIANO_LOW + N_KEYS)
)


@dataclasses.dataclass(frozen=True)
class PianoSettings:
    """Everything that determines the chord clips (the cache key).

    Parameters
    ----------
    polyphonies : tuple of int
        Numbers of distinct keys per chord (1 to 6 for P1-P6).
    train_per_polyphony, test_per_polyphony : int
        Clips per polyphony level; training clips cycle through the training banks.
    banks, test_bank : tuple of str, str
        Sound banks, and the one whose piano is held out for the test clips.
    programs : tuple of int
        General MIDI piano programs used for training (0 acoustic grand, 1 bright acoustic);
        the test clips use program 0 of ``test_bank``.
    duration : float
        Clip length, s.
    hold : float
        Time the keys are held before release, s.
    velocity : (int, int)
        Range of MIDI velocities (uniform, per key).
    sample_rate, target_rms, seed
        As for the instruments.
    """

    polyphonies: tuple = (1, 2, 3, 4, 5, 6)
    train_per_polyphony: int = 200
    test_per_polyphony: int = 50
    banks: tuple = ("fluidr3", "musescore", "timgm6mb")
    test_bank: str = "musescore"
    programs: tuple = (0,)
    duration: float = 1.0
    hold: float = 0.8
    velocity: tuple = (50, 110)
    sample_rate: float = 16000.0
    target_rms: float = 0.05
    seed: int = 0

    def __post_init__(self):
        if not self.polyphonies or not all(1 <= p <= N_KEYS for p in self.polyphonies):
            raise ValueError(f"polyphonies must be in [1, {N_KEYS}], got {self.polyphonies}")
        if self.test_bank not in self.banks or len(self.banks) < 2:
            raise ValueError(f"test_bank must be one of banks (at least two), got {self.test_bank!r} and {self.banks}")
        if not all(0 <= p <= 7 for p in self.programs) or not self.programs:
            raise ValueError(f"programs must be General MIDI pianos 0-7, got {self.programs}")
        if not 0 < self.hold <= self.duration:
            raise ValueError(f"need 0 < hold <= duration, got hold={self.hold}, duration={self.duration}")
        if not 1 <= self.velocity[0] <= self.velocity[1] <= 127:
            raise ValueError(f"velocity must be 1 <= min <= max <= 127, got {self.velocity}")
        if self.train_per_polyphony < 0 or self.test_per_polyphony < 0:
            raise ValueError("train_per_polyphony and test_per_polyphony must be >= 0")

    @property
    def train_banks(self) -> tuple:
        return tuple(b for b in self.banks if b != self.test_bank)


def random_chord(
    polyphony: int, rng: np.random.Generator, settings: PianoSettings, program: int = 0
) -> list[NoteEvent]:
    """``polyphony`` distinct keys, uniform over the 88, struck at 0 s and released at ``hold``."""
    keys = np.sort(rng.choice(N_KEYS, size=polyphony, replace=False)) + PIANO_LOW
    velocities = rng.integers(settings.velocity[0], settings.velocity[1] + 1, size=polyphony)
    return [
        NoteEvent(int(k), int(v), 0.0, settings.hold, program=program) for k, v in zip(keys, velocities, strict=True)
    ]


def _chord_plan(settings: PianoSettings):
    rng = np.random.default_rng(settings.seed)
    train_sources = [(b, p) for b in settings.train_banks for p in settings.programs]
    plan, test = [], []
    for split, per_level, sources in (
        ("train", settings.train_per_polyphony, train_sources),
        ("test", settings.test_per_polyphony, [(settings.test_bank, 0)]),
    ):
        for polyphony in settings.polyphonies:
            for i in range(per_level):
                bank, program = sources[i % len(sources)]
                plan.append((bank, random_chord(polyphony, rng, settings, program)))
                test.append(split == "test")
    return plan, np.array(test, dtype=bool)


def _multi_hot(events: np.ndarray, n_clips: int) -> np.ndarray:
    targets = np.zeros((n_clips, N_KEYS), dtype=np.uint8)
    targets[events[:, 0].astype(int), events[:, 1].astype(int) - PIANO_LOW] = 1
    return targets


def build_piano_chords(settings: PianoSettings = PianoSettings(), cache_dir=None, progress: bool = False) -> ClipSet:
    """Render (or read back) the chord clips; targets are 88-dim multi-hot (A0 first).

    The targets are built from the events the synthesizer was given, so they are exactly the
    keys played; ``targets.sum(1)`` is each clip's polyphony.
    """
    banks = require_banks(settings.banks)
    key = {
        "dataset": "piano_chords",
        **dataclasses.asdict(settings),
        "bank_files": [banks[b].identity() for b in settings.banks],
    }

    def build():
        plan, test = _chord_plan(settings)
        audio, events = render_clips(
            plan, banks, settings.duration, settings.sample_rate, settings.target_rms, progress
        )
        source = np.array([settings.banks.index(bank) for bank, _ in plan], dtype=int)
        return {
            "audio": audio,
            "targets": _multi_hot(events, len(plan)),
            "source": source,
            "test": test,
            "events": events,
        }

    result = ArrayCache(cache_dir).load_or_build("piano_chords", key, build)
    return ClipSet.from_cache(result, settings.sample_rate, KEY_NAMES, settings.banks)


@dataclasses.dataclass(frozen=True)
class ScoreSettings:
    """Excerpts of music21 corpus scores played on one piano (the cache key).

    Parameters
    ----------
    pieces : tuple of str
        music21 corpus names (``corpus.parse`` arguments), e.g. ``'bach/bwv66.6'``.
    bank : str
        The piano's sound bank (the held-out one of the chord task, so both test sets share it).
    duration : float
        Excerpt length, s; consecutive excerpts, the last partial one dropped.
    max_excerpts : int
        At most this many excerpts per piece.
    bpm : float
        Tempo: quarter notes per minute.
    frame : float
        Frame length of the per-frame targets, s.
    velocity : int
    sample_rate, target_rms
    """

    pieces: tuple = ("bach/bwv66.6", "bach/bwv7.7", "bach/bwv10.7", "bach/bwv26.6", "bach/bwv40.8", "bach/bwv57.8")
    bank: str = "musescore"
    duration: float = 1.0
    max_excerpts: int = 20
    bpm: float = 80.0
    frame: float = 0.05
    velocity: int = 80
    sample_rate: float = 16000.0
    target_rms: float = 0.05

    def __post_init__(self):
        if not self.pieces:
            raise ValueError("pieces must name at least one music21 corpus score")
        for name in ("duration", "bpm", "frame"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        if self.max_excerpts < 1:
            raise ValueError(f"max_excerpts must be >= 1, got {self.max_excerpts}")


def score_notes(piece: str, bpm: float) -> np.ndarray:
    """The notes of a music21 corpus score: (n, 3) array of onset s, offset s, MIDI key.

    Tied notes are merged; chords contribute all their pitches; grace notes (no duration) and
    unpitched notes are dropped.
    """
    try:
        from music21 import corpus
    except ImportError as error:
        raise RuntimeError("music21 is needed for score excerpts: pip install music21") from error
    score = corpus.parse(piece).stripTies()
    seconds_per_quarter = 60.0 / bpm
    rows = []
    for element in score.flatten().notes:
        length = float(element.duration.quarterLength)
        if length <= 0:
            continue
        onset = float(element.getOffsetInHierarchy(score)) * seconds_per_quarter
        for pitch in element.pitches:
            rows.append((onset, onset + length * seconds_per_quarter, pitch.midi))
    notes = np.array(sorted(rows), dtype=float).reshape(-1, 3)
    return notes


def build_score_excerpts(settings: ScoreSettings = ScoreSettings(), cache_dir=None, progress: bool = False) -> ClipSet:
    """Render (or read back) score excerpts on ``settings.bank``'s piano; all clips are test clips.

    ``frame_targets`` (n, frames, 88) are the keys sounding at each frame centre; ``targets``
    marks every key that sounds in any frame of the excerpt. ``source`` indexes the piece.
    """
    banks = require_banks([settings.bank])
    key = {"dataset": "score_excerpts", **dataclasses.asdict(settings), "bank_files": [banks[settings.bank].identity()]}

    def build():
        plan, source = [], []
        for index, piece in enumerate(settings.pieces):
            notes = score_notes(piece, settings.bpm)
            n_excerpts = min(settings.max_excerpts, int(notes[:, 1].max() // settings.duration))
            for e in range(n_excerpts):
                start, stop = e * settings.duration, (e + 1) * settings.duration
                inside = notes[(notes[:, 0] < stop) & (notes[:, 1] > start)]
                if len(inside) == 0:
                    continue
                # notes already sounding at the cut are struck at its start
                plan.append(
                    (
                        settings.bank,
                        [
                            NoteEvent(int(k), settings.velocity, max(on - start, 0.0), min(off, stop) - start)
                            for on, off, k in inside
                        ],
                    )
                )
                source.append(index)
        audio, events = render_clips(
            plan, banks, settings.duration, settings.sample_rate, settings.target_rms, progress
        )
        frames = np.stack(
            [
                piano_roll(events[events[:, 0] == c][:, [3, 4, 1]], settings.duration, settings.frame)
                for c in range(len(plan))
            ]
        )
        targets = frames.any(axis=1).astype(np.uint8)
        return {
            "audio": audio,
            "targets": targets,
            "source": np.array(source, dtype=int),
            "test": np.ones(len(plan), dtype=bool),
            "events": events,
            "frame_targets": frames,
        }

    result = ArrayCache(cache_dir).load_or_build("score_excerpts", key, build)
    return ClipSet.from_cache(result, settings.sample_rate, KEY_NAMES, settings.pieces, settings.frame)
