"""Random splits of one pool of clips: a fixed number per class, or a fraction per group.

The paper's protocol draws its training and test clips at random from one pool (MedleyDB: 160
training and 80 test pieces per instrument; MAPS: chords of all pianos divided at random), where
the held-out protocol of :mod:`vr_brian.datasets.instruments` and :mod:`vr_brian.datasets.piano`
keeps a whole sound bank for testing. Both functions here return sorted, disjoint index arrays and
depend only on their arguments and ``seed`` (:class:`numpy.random.Generator`, PCG64).
"""

from __future__ import annotations

import numpy as np

__all__ = ["per_class_split", "stratified_split"]


def _groups(labels, name: str) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.ndim != 1 or len(labels) == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array, got shape {labels.shape}")
    return labels


def per_class_split(labels, train_per_class: int, test_per_class: int, seed: int = 0) -> tuple:
    """``train_per_class`` training and ``test_per_class`` test items of every class, drawn at random.

    Parameters
    ----------
    labels : (n,) array
        Class of each item.
    train_per_class, test_per_class : int
        Items per class (>= 1 each); every class needs at least their sum. Items beyond it are
        left out of both.
    seed : int

    Returns
    -------
    train, test : sorted int arrays of indices into ``labels``
        Disjoint; each holds exactly the requested number of every class.
    """
    labels = _groups(labels, "labels")
    for name, value in (("train_per_class", train_per_class), ("test_per_class", test_per_class)):
        if int(value) != value or value < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    classes, counts = np.unique(labels, return_counts=True)
    needed = int(train_per_class) + int(test_per_class)
    short = {str(c): int(k) for c, k in zip(classes, counts, strict=True) if k < needed}
    if short:
        raise ValueError(
            f"every class needs train_per_class + test_per_class = {needed} items; these have fewer: {short}"
        )
    rng = np.random.default_rng(seed)
    train, test = [], []
    for c in classes:
        members = rng.permutation(np.flatnonzero(labels == c))
        train.append(members[:train_per_class])
        test.append(members[train_per_class:needed])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


def stratified_split(groups, test_fraction: float, seed: int = 0) -> tuple:
    """A random split with ``round(test_fraction * n_g)`` (half to even) test items from every group ``g``.

    Stratifying keeps the groups' proportions (e.g. the polyphony levels P1-P6) equal in both
    parts; within a group the draw is uniform.

    Parameters
    ----------
    groups : (n,) array
        Group of each item.
    test_fraction : float
        In (0, 1).
    seed : int

    Returns
    -------
    train, test : sorted int arrays of indices into ``groups``, disjoint, together all of them
    """
    groups = _groups(groups, "groups")
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must lie in (0, 1), got {test_fraction!r}")
    rng = np.random.default_rng(seed)
    test = []
    for g in np.unique(groups):
        members = rng.permutation(np.flatnonzero(groups == g))
        test.append(members[: int(round(test_fraction * len(members)))])
    test = np.sort(np.concatenate(test))
    return np.setdiff1d(np.arange(len(groups)), test), test
