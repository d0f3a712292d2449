"""The synapses of one layer, as :func:`vr_brian.connect_layers` takes them besides a weight matrix.

- :class:`Connection`: explicit synapses (presynaptic ``i``, postsynaptic ``j``, weight ``w``),
  from a matrix (:func:`full_connection`: every pair; :func:`dense_connection`: the nonzero entries)
  or drawn at random (:func:`random_connection`, a fixed fan-in);
- :class:`GeneratedConnection`: random synapses drawn by the generated code itself, for networks
  too large to pass through Python.
"""

from __future__ import annotations

import dataclasses

import numpy as np

__all__ = ["Connection", "GeneratedConnection", "full_connection", "dense_connection", "random_connection"]


@dataclasses.dataclass(frozen=True)
class Connection:
    """The synapses of one layer: presynaptic ``i``, postsynaptic ``j``, weight ``w`` (volts).

    Equivalent to the (n_post, n_pre) matrix W with W[j, i] += w for each synapse.
    """

    i: np.ndarray
    j: np.ndarray
    w: np.ndarray
    n_pre: int
    n_post: int

    def __len__(self) -> int:
        return len(self.w)

    @property
    def shape(self) -> tuple:
        """(n_post, n_pre), the shape of the weight matrix."""
        return (self.n_post, self.n_pre)

    def dense(self) -> np.ndarray:
        """The (n_post, n_pre) weight matrix (volts)."""
        W = np.zeros((self.n_post, self.n_pre))
        np.add.at(W, (self.j, self.i), self.w)
        return W


@dataclasses.dataclass(frozen=True)
class GeneratedConnection:
    """Random synapses drawn by the generated code itself (C++ on the host, for GeNN and
    cpp_standalone): each pair connected with probability ``fan_in / n_pre``, weights
    N(mean, std) volts. Nothing of size n_synapses passes through Python, so networks
    of 10^8 synapses are generated in seconds; the draw is not reproducible under GeNN
    (brian2genn does not support seed())."""

    n_pre: int
    n_post: int
    fan_in: int
    mean: float
    std: float

    def __len__(self) -> int:
        """Expected number of synapses."""
        return self.n_post * min(self.fan_in, self.n_pre)

    @property
    def shape(self) -> tuple:
        """(n_post, n_pre), the shape of the weight matrix."""
        return (self.n_post, self.n_pre)


def full_connection(W) -> Connection:
    """Every pair of an (n_post, n_pre) weight matrix, zeros included, in the order (pre, post).

    This is how :func:`vr_brian.connect_layers` connects a matrix, so that new weights can be passed
    to a compiled network as ``W.T.ravel()``.
    """
    W = np.asarray(W, dtype=float)
    n_post, n_pre = W.shape
    pre, post = np.meshgrid(np.arange(n_pre), np.arange(n_post), indexing="ij")
    return Connection(pre.ravel(), post.ravel(), W.T.ravel(), n_pre, n_post)


def dense_connection(W) -> Connection:
    """The synapses of an (n_post, n_pre) weight matrix: one per nonzero entry.

    A zero weight adds nothing, so leaving it out changes no result.
    """
    W = np.asarray(W, dtype=float)
    i, j = np.nonzero(W.T)
    return Connection(i.astype(np.int32), j.astype(np.int32), W[j, i], W.shape[1], W.shape[0])


def random_connection(
    n_pre: int, n_post: int, *, fan_in: int | None, mean: float, std: float, rng: np.random.Generator
) -> Connection:
    """``fan_in`` distinct random presynaptic partners per neuron, weights N(mean, std) volts.

    ``fan_in=None`` (or ``>= n_pre``) connects all to all.
    """
    if fan_in is None or fan_in >= n_pre:
        return dense_connection(rng.normal(mean, std, (n_post, n_pre)))
    if fan_in < 1:
        raise ValueError(f"fan_in must be >= 1, got {fan_in}")
    pre = np.sort(rng.integers(0, n_pre, (n_post, fan_in), dtype=np.int32), axis=1)
    for _ in range(100):  # redraw repeated partners until every row is distinct
        repeated = np.zeros(pre.shape, bool)
        repeated[:, 1:] = pre[:, 1:] == pre[:, :-1]
        if not repeated.any():
            break
        pre[repeated] = rng.integers(0, n_pre, int(repeated.sum()), dtype=np.int32)
        pre.sort(axis=1)
    else:
        for row in np.flatnonzero((pre[:, 1:] == pre[:, :-1]).any(axis=1)):
            pre[row] = np.sort(rng.choice(n_pre, fan_in, replace=False))
    post = np.repeat(np.arange(n_post, dtype=np.int32), fan_in)
    return Connection(pre.ravel(), post, rng.normal(mean, std, pre.size), n_pre, n_post)
