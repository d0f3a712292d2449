"""The record every dataset builder and loader returns: audio clips with their targets."""

from __future__ import annotations

import dataclasses

import numpy as np

__all__ = ["ClipSet", "piano_roll", "PIANO_LOW", "N_KEYS", "key_frequency"]

#: MIDI number of the lowest piano key (A0); the 88 keys are PIANO_LOW .. PIANO_LOW + 87.
PIANO_LOW = 21
N_KEYS = 88


def key_frequency(key) -> np.ndarray:
    r"""Equal-tempered fundamental of MIDI ``key`` in Hz: :math:`f = 440 \cdot 2^{(k-69)/12}`."""
    return 440.0 * 2.0 ** ((np.asarray(key, dtype=float) - 69.0) / 12.0)


def piano_roll(notes, duration: float, frame: float) -> np.ndarray:
    """Which of the 88 keys sound in each frame: (n_frames, 88) bool.

    ``notes`` is an (n, 3) array of (onset s, offset s, MIDI key); a key sounds in frame ``f``
    when ``onset <= (f + 1/2) * frame < offset`` (the frame centre). Keys outside the piano
    are ignored.
    """
    if frame <= 0 or duration <= 0:
        raise ValueError(f"frame and duration must be > 0 s, got frame={frame}, duration={duration}")
    n_frames = int(round(duration / frame))
    roll = np.zeros((n_frames, N_KEYS), dtype=bool)
    notes = np.asarray(notes, dtype=float).reshape(-1, 3)
    if len(notes) == 0:
        return roll
    centres = (np.arange(n_frames) + 0.5) * frame
    keys = np.rint(notes[:, 2]).astype(int) - PIANO_LOW
    inside = (keys >= 0) & (keys < N_KEYS)
    on = (notes[inside, 0, None] <= centres) & (centres < notes[inside, 1, None])  # (notes, frames)
    for key, frames in zip(keys[inside], on, strict=True):
        roll[frames, key] = True
    return roll


@dataclasses.dataclass(frozen=True, eq=False)
class ClipSet:
    """Audio clips with targets, and where each clip came from.

    Attributes
    ----------
    audio : (n, samples) float32
        Mono clips, level-normalised by the builder.
    targets : (n, n_classes) uint8
        One-hot (instruments) or multi-hot (88 piano keys) clip targets.
    source : (n,) int
        Index into ``source_names``: the sound bank, MedleyDB track or MAPS piano of each clip.
    test : (n,) bool
        Whether a clip belongs to the test split (held-out bank, track or piano).
    sample_rate : float
        Hz.
    class_names : tuple of str
    source_names : tuple of str
    events : (n_events, 7) float64
        The notes played: clip index, MIDI key, velocity, onset s, offset s, program, drum flag
        (empty for loaded recordings without annotations).
    frame_targets : (n, n_frames, n_classes) bool or None
        Per-frame targets where the set has them (scores, MAPS music), frames of ``frame`` s.
    frame : float or None
    manifest : dict
        The cache manifest (settings, banks, hash) the clips were built or loaded under.
    """

    audio: np.ndarray
    targets: np.ndarray
    source: np.ndarray
    test: np.ndarray
    sample_rate: float
    class_names: tuple
    source_names: tuple
    events: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros((0, 7)))
    frame_targets: np.ndarray | None = None
    frame: float | None = None
    manifest: dict = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        n = len(self.audio)
        for name in ("targets", "source", "test"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"{name} has {len(getattr(self, name))} rows, audio has {n}")
        if self.targets.ndim != 2 or self.targets.shape[1] != len(self.class_names):
            raise ValueError(f"targets must be (n, {len(self.class_names)}), got {self.targets.shape}")

    def __len__(self):
        return len(self.audio)

    @classmethod
    def from_cache(cls, result, sample_rate: float, class_names, source_names, frame: float | None = None) -> ClipSet:
        """The clips of a :class:`~vr_brian.datasets.cache.CacheResult` (arrays named as :meth:`arrays`
        writes them), with the cache's manifest and whether the entry was reused."""
        a = result.arrays
        return cls(
            a["audio"],
            a["targets"],
            a["source"],
            a["test"],
            sample_rate,
            tuple(class_names),
            tuple(source_names),
            a["events"],
            a.get("frame_targets"),
            frame,
            manifest={**result.manifest, "reused": result.reused},
        )

    @property
    def labels(self) -> np.ndarray:
        """Class index of each clip (one-hot targets only)."""
        if not np.all(self.targets.sum(axis=1) == 1):
            raise ValueError("labels needs one-hot targets; these are multi-hot")
        return self.targets.argmax(axis=1)

    def arrays(self) -> dict:
        """The array fields, for saving."""
        out = {
            "audio": self.audio,
            "targets": self.targets,
            "source": self.source,
            "test": self.test,
            "events": self.events,
        }
        if self.frame_targets is not None:
            out["frame_targets"] = self.frame_targets
        return out

    def subset(self, index) -> ClipSet:
        """The clips selected by ``index`` (boolean mask or integer indices), events renumbered."""
        index = np.arange(len(self))[index]
        renumber = np.full(len(self), -1)
        renumber[index] = np.arange(len(index))
        events = self.events[np.isin(self.events[:, 0].astype(int), index)].copy() if len(self.events) else self.events
        if len(events):
            events[:, 0] = renumber[events[:, 0].astype(int)]
        return dataclasses.replace(
            self,
            audio=self.audio[index],
            targets=self.targets[index],
            source=self.source[index],
            test=self.test[index],
            events=events,
            frame_targets=None if self.frame_targets is None else self.frame_targets[index],
        )

    def split(self, which: str) -> ClipSet:
        """``'train'`` or ``'test'`` clips."""
        if which not in ("train", "test"):
            raise ValueError(f"which must be 'train' or 'test', got {which!r}")
        return self.subset(self.test if which == "test" else ~self.test)

    def clip_events(self, clip: int) -> np.ndarray:
        """The events of one clip (rows of :attr:`events`)."""
        return self.events[self.events[:, 0].astype(int) == clip]
