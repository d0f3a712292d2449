"""Training data as spike arrays with multi-hot targets: a built-in task and ``.npz`` files.

A data set is a :class:`SpikeData`: ``spikes`` (n, steps, n_in) bool and
``targets`` (n, n_classes) 0/1 (one label per sample for single-label data, any
number for multi-label data).

The built-in task (:func:`builtin_task`) is a precise-timing task: every class is
a set of spatio-temporal spike patterns in which *every input channel fires exactly
once*, at a time of its own. All classes therefore have the same spike count on
every channel, so only the timing of the spikes tells the classes apart. Samples
are jittered copies of the patterns with spikes deleted and noise spikes added; in
the multi-label variant a sample is the superposition of 1..``max_labels`` patterns
of different classes.

Any other data go through an ``.npz`` file holding ``spikes`` and ``targets``
(:func:`load_npz`, :func:`save_npz`).
"""

from __future__ import annotations

import dataclasses
import math
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from vr_brian.checks import check_spikes, check_targets
from vr_brian.io import atomic_write

__all__ = ["SpikeData", "builtin_task", "load_npz", "save_npz"]


@dataclasses.dataclass(frozen=True)
class SpikeData:
    """Input spike trains with their multi-hot targets (validated on creation).

    Attributes
    ----------
    spikes : ndarray
        (n, steps, n_in) bool.
    targets : ndarray
        (n, n_classes) uint8, 0/1.
    class_names : tuple of str
        One name per class (``"class 0"``, ... when not given).
    """

    spikes: np.ndarray
    targets: np.ndarray
    class_names: tuple = ()

    def __post_init__(self):
        spikes = check_spikes(self.spikes)
        targets = check_targets(self.targets, spikes.shape[0]).astype(np.uint8)
        names = tuple(str(n) for n in self.class_names) or tuple(f"class {k}" for k in range(targets.shape[1]))
        if len(names) != targets.shape[1]:
            raise ValueError(f"class_names has {len(names)} names but targets has {targets.shape[1]} classes")
        object.__setattr__(self, "spikes", spikes)
        object.__setattr__(self, "targets", targets)
        object.__setattr__(self, "class_names", names)

    def __len__(self) -> int:
        return self.spikes.shape[0]

    @property
    def steps(self) -> int:
        return self.spikes.shape[1]

    @property
    def n_in(self) -> int:
        return self.spikes.shape[2]

    @property
    def n_classes(self) -> int:
        return self.targets.shape[1]

    @property
    def multilabel(self) -> bool:
        """Whether any sample has a number of labels other than one."""
        return bool(np.any(self.targets.sum(axis=1) != 1))

    def subset(self, index) -> SpikeData:
        return SpikeData(self.spikes[index], self.targets[index], self.class_names)

    def split(self, test_fraction: float, seed: int = 0) -> tuple:
        """(train, test): a random split with ``round(test_fraction * n)`` test samples, at least one each."""
        if not 0 < test_fraction < 1:
            raise ValueError(f"test_fraction must lie in (0, 1), got {test_fraction!r}")
        n = len(self)
        n_test = min(max(1, round(test_fraction * n)), n - 1)
        if n < 2:
            raise ValueError(f"a data set of {n} sample cannot be split into train and test")
        order = np.random.default_rng(seed).permutation(n)
        return self.subset(np.sort(order[n_test:])), self.subset(np.sort(order[:n_test]))


def _patterns(rng, n_classes: int, patterns_per_class: int, n_in: int, pattern_steps: int) -> np.ndarray:
    """Spike time of every channel in every pattern: (n_classes, patterns_per_class, n_in) ints."""
    return rng.integers(0, pattern_steps, size=(n_classes, patterns_per_class, n_in))


def _render(rng, times: np.ndarray, steps: int, jitter: float, dropout: float) -> np.ndarray:
    """One jittered copy of a pattern (n_in spike times) as a (steps, n_in) bool array."""
    n_in = times.shape[0]
    jittered = np.clip(np.rint(times + rng.normal(0.0, jitter, n_in)).astype(int), 0, steps - 1) if jitter else times
    kept = rng.random(n_in) >= dropout
    out = np.zeros((steps, n_in), bool)
    out[jittered[kept], np.flatnonzero(kept)] = True
    return out


def builtin_task(
    n_classes: int = 4,
    *,
    n_in: int = 32,
    steps: int = 60,
    n_train: int = 256,
    n_test: int = 128,
    patterns_per_class: int = 1,
    multilabel: bool = False,
    max_labels: int = 3,
    jitter: float = 1.0,
    dropout: float = 0.05,
    noise_rate: float = 0.005,
    seed: int = 0,
) -> tuple:
    """A precise-timing spike pattern task, deterministic from ``seed``.

    Parameters
    ----------
    n_classes : int
        Number of classes (>= 2).
    n_in : int
        Input channels.
    steps : int
        Time steps per sample; the patterns occupy the first ``steps - 10`` steps
        (or all, for ``steps <= 20``) so that late spikes can still move the output.
    n_train, n_test : int
        Number of samples of each set (drawn from the same patterns).
    patterns_per_class : int
        Number of different templates per class.
    multilabel : bool
        Superpose the patterns of 1..``max_labels`` distinct classes (the number
        drawn uniformly) in every sample.
    jitter : float
        Standard deviation of the Gaussian jitter of every spike, in steps.
    dropout : float
        Probability of deleting each pattern spike.
    noise_rate : float
        Probability of a noise spike per channel and step.
    seed : int
        Seed of everything random here (templates, jitter, labels, noise).

    Returns
    -------
    (train, test) : SpikeData, SpikeData
    """
    for name, value, low in (
        ("n_classes", n_classes, 2),
        ("n_in", n_in, 1),
        ("steps", steps, 2),
        ("n_train", n_train, 1),
        ("n_test", n_test, 1),
        ("patterns_per_class", patterns_per_class, 1),
        ("max_labels", max_labels, 1),
    ):
        if int(value) != value or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    if multilabel and max_labels > n_classes:
        raise ValueError(f"max_labels must be <= n_classes ({n_classes}), got {max_labels}")
    for name, value in (("dropout", dropout), ("noise_rate", noise_rate)):
        if not 0 <= value < 1:
            raise ValueError(f"{name} must lie in [0, 1), got {value!r}")
    if not (math.isfinite(jitter) and jitter >= 0):
        raise ValueError(f"jitter must be >= 0 (steps), got {jitter!r}")
    rng = np.random.default_rng(seed)
    pattern_steps = steps - 10 if steps > 20 else steps
    templates = _patterns(rng, n_classes, patterns_per_class, n_in, pattern_steps)

    def make(n: int) -> SpikeData:
        spikes = rng.random((n, steps, n_in)) < noise_rate
        targets = np.zeros((n, n_classes), np.uint8)
        for s in range(n):
            k = int(rng.integers(1, max_labels + 1)) if multilabel else 1
            for c in rng.choice(n_classes, size=k, replace=False):
                targets[s, c] = 1
                spikes[s] |= _render(rng, templates[c, rng.integers(patterns_per_class)], steps, jitter, dropout)
        return SpikeData(spikes, targets, tuple(f"pattern {c}" for c in range(n_classes)))

    return make(n_train), make(n_test)


def load_npz(path) -> SpikeData:
    """Load a data set from an ``.npz`` file with arrays ``spikes`` and ``targets``.

    ``spikes``: (n, steps, n_in), bool or 0/1; ``targets``: (n, n_classes), bool or
    0/1. An optional ``class_names`` array of strings names the classes.

    Raises
    ------
    FileNotFoundError, ValueError, TypeError
        Naming the file and what is wrong with it.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"data file {str(path)!r} does not exist")
    damaged = (
        f"data file {str(path)!r} is damaged or not an .npz archive (np.savez writes one, with arrays 'spikes' and "
        f"'targets')"
    )
    if not zipfile.is_zipfile(path):  # np.load would read it as a pickle or as raw bytes
        if path.stat().st_size == 0:
            raise ValueError(f"data file {str(path)!r} is empty")
        if path.read_bytes()[:6] != b"\x93NUMPY":
            raise ValueError(damaged)
    try:
        archive = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error):
        raise ValueError(damaged) from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ValueError(f"{str(path)!r} holds a single array; an .npz archive with 'spikes' and 'targets' is needed")
    with archive:
        missing = [key for key in ("spikes", "targets") if key not in archive.files]
        if missing:
            raise ValueError(
                f"{str(path)!r} lacks the array(s) {missing}; it holds {sorted(archive.files)}. "
                "Save spikes (n, steps, n_in) and targets (n, n_classes) under those names."
            )
        try:
            spikes, targets = archive["spikes"], archive["targets"]
            names = tuple(archive["class_names"].tolist()) if "class_names" in archive.files else ()
        except ValueError as error:  # object arrays need pickle, which is refused
            if "pickle" not in str(error):
                raise ValueError(f"{damaged}: {error}") from None
            raise ValueError(
                f"{str(path)!r}: its arrays must be plain bool, numeric or str arrays; it holds Python objects, "
                f"which are not read (save them as numpy arrays of those types)"
            ) from None
        except (OSError, EOFError, zipfile.BadZipFile, zlib.error) as error:
            raise ValueError(f"{damaged} ({type(error).__name__}: {error})") from None
    try:
        return SpikeData(spikes, targets, names)
    except (ValueError, TypeError) as error:
        raise type(error)(f"{str(path)!r}: {error}") from None


def save_npz(path, data: SpikeData) -> Path:
    """Write ``data`` to ``path`` (.npz, compressed) atomically; return the path."""
    arrays: dict[str, Any] = {
        "spikes": data.spikes,
        "targets": data.targets,
        "class_names": np.array(data.class_names, dtype=str),
    }
    return atomic_write(path, lambda file: np.savez_compressed(file, **arrays))
