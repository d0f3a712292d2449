r"""Gammatone kernels on an ERB scale (Glasberg and Moore 1990; Patterson et al. 1992).

A gammatone of order :math:`n` centred at :math:`f_c` is

.. math::

    g(t) = t^{n-1} e^{-2\pi b\,\mathrm{ERB}(f_c)\,t} \cos(2\pi f_c t),\qquad
    \mathrm{ERB}(f) = 24.7\,(4.37 f/1000 + 1)\ \mathrm{Hz},

with :math:`n = 4`, :math:`b = 1.019`. Centre frequencies are spaced evenly on the ERB-rate
scale :math:`E(f) = 21.4 \log_{10}(4.37 f/1000 + 1)`. Kernels are sampled from :math:`t = 0`,
cut where the envelope has fallen below ``1e-3`` of its peak (after the peak at
:math:`t = (n-1)/(2\pi b\,\mathrm{ERB})`), padded with zeros to a common length and scaled to
unit Euclidean norm, as matching pursuit needs.
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np
from scipy.signal import fftconvolve

__all__ = [
    "erb",
    "erb_rate",
    "erb_rate_to_hz",
    "erb_space",
    "semitone_space",
    "constant_q_bandwidths",
    "gammatone_kernels",
    "GammatoneDictionary",
    "ORDER",
    "BANDWIDTH",
]

ORDER = 4
BANDWIDTH = 1.019


def erb(f):
    """Equivalent rectangular bandwidth at ``f`` Hz (Glasberg and Moore 1990), Hz."""
    return 24.7 * (4.37 * np.asarray(f, dtype=float) / 1000.0 + 1.0)


def erb_rate(f):
    """ERB-rate (number of ERBs below ``f`` Hz)."""
    return 21.4 * np.log10(4.37 * np.asarray(f, dtype=float) / 1000.0 + 1.0)


def erb_rate_to_hz(e):
    """Inverse of :func:`erb_rate`."""
    return (10.0 ** (np.asarray(e, dtype=float) / 21.4) - 1.0) * 1000.0 / 4.37


def erb_space(f_low: float, f_high: float, n: int) -> np.ndarray:
    """``n`` frequencies from ``f_low`` to ``f_high`` Hz, evenly spaced in ERB-rate."""
    if not 0 < f_low < f_high:
        raise ValueError(f"need 0 < f_low < f_high, got f_low={f_low}, f_high={f_high}")
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    if n == 1:
        return np.array([float(f_low)])
    return erb_rate_to_hz(np.linspace(erb_rate(f_low), erb_rate(f_high), n))


def semitone_space(f_low: float, n: int) -> np.ndarray:
    r"""``n`` frequencies a semitone apart from ``f_low`` Hz: :math:`f_k = f_\mathrm{low}\,2^{k/12}`.

    With ``f_low = 27.5`` the first 88 are the fundamentals of the piano keys A0 .. C8.
    """
    if not f_low > 0:
        raise ValueError(f"f_low must be > 0 Hz, got {f_low}")
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    return f_low * 2.0 ** (np.arange(n) / 12.0)


def constant_q_bandwidths(centres, semitones: float, min_bandwidth: float) -> np.ndarray:
    r"""Bandwidths of a constant-Q filterbank, Hz: :math:`\max(f_c (2^{s/12} - 1),\ B_\min)`.

    ``semitones`` = 1 gives each channel the width of the semitone above its centre, so
    neighbouring piano keys fall into neighbouring channels, where ERB-wide channels below
    1 kHz span several keys. ``min_bandwidth`` bounds the kernel length (about
    :math:`2 / B` s) and the response time at the lowest centres.
    """
    if not semitones > 0 or not min_bandwidth > 0:
        raise ValueError(f"semitones and min_bandwidth must be > 0, got {semitones}, {min_bandwidth}")
    return np.maximum(np.asarray(centres, dtype=float) * (2.0 ** (semitones / 12.0) - 1.0), min_bandwidth)


def gammatone_kernels(
    centres, sample_rate: float, complex_valued: bool = False, floor: float = 1e-3, bandwidths=None
) -> np.ndarray:
    """Unit-norm gammatone kernels, (len(centres), length) float (complex for the analytic form).

    The analytic kernel replaces the cosine by :math:`e^{i 2\\pi f_c t}`; its real part is the
    ordinary gammatone (up to the norm) and the magnitude of a signal filtered with it is the
    channel's envelope. ``bandwidths`` (Hz, one per centre) replaces :math:`\\mathrm{ERB}(f_c)`
    in the decay rate :math:`2\\pi b\\,\\mathrm{ERB}` (default: the ERB of each centre).
    """
    centres = np.asarray(centres, dtype=float)
    if np.any(centres <= 0) or np.any(centres >= sample_rate / 2):
        raise ValueError(
            f"centres must lie in (0, {sample_rate / 2}) Hz (Nyquist), got {centres.min():.1f} .. {centres.max():.1f}"
        )
    bandwidths = erb(centres) if bandwidths is None else np.broadcast_to(np.asarray(bandwidths, float), centres.shape)
    if not np.all(bandwidths > 0):
        raise ValueError("bandwidths must be > 0 Hz")
    decay = 2 * np.pi * BANDWIDTH * bandwidths  # 1/s
    # envelope t^(n-1) e^(-decay t) relative to its peak at (n-1)/decay, on a grid of peak times
    x = np.linspace(ORDER - 1, 60, 20000)
    relative = (x / (ORDER - 1)) ** (ORDER - 1) * np.exp(-(x - (ORDER - 1)))
    cut = x[np.argmax(relative < floor)]  # in units of 1/decay
    length = int(np.ceil(cut / decay.min() * sample_rate)) + 1
    t = np.arange(length) / sample_rate
    envelope = t ** (ORDER - 1) * np.exp(-decay[:, None] * t)
    envelope[t[None, :] > cut / decay[:, None]] = 0.0
    phase = 2 * np.pi * centres[:, None] * t
    kernels = envelope * (np.exp(1j * phase) if complex_valued else np.cos(phase))
    return kernels / np.linalg.norm(kernels, axis=1, keepdims=True)


@dataclasses.dataclass(frozen=True, eq=False)
class GammatoneDictionary:
    """Unit-norm gammatone kernels for matching pursuit, with their cross-correlations.

    Parameters
    ----------
    n_channels : int
    f_low, f_high : float
        Lowest and highest centre frequency, Hz (below Nyquist).
    sample_rate : float
        Hz.
    """

    n_channels: int = 32
    f_low: float = 100.0
    f_high: float = 6000.0
    sample_rate: float = 16000.0

    def __post_init__(self):
        if self.n_channels < 1:
            raise ValueError(f"n_channels must be >= 1, got {self.n_channels}")
        if not 0 < self.f_low < self.f_high < self.sample_rate / 2:
            raise ValueError(
                f"need 0 < f_low < f_high < sample_rate/2 = {self.sample_rate / 2} Hz, "
                f"got f_low={self.f_low}, f_high={self.f_high}"
            )

    @functools.cached_property
    def centres(self) -> np.ndarray:
        """Centre frequencies, Hz (ERB-spaced, ascending)."""
        return erb_space(self.f_low, self.f_high, self.n_channels)

    @functools.cached_property
    def kernels(self) -> np.ndarray:
        """(n_channels, length) unit-norm real kernels."""
        return gammatone_kernels(self.centres, self.sample_rate)

    @property
    def length(self) -> int:
        return self.kernels.shape[1]

    @functools.cached_property
    def cross_correlations(self) -> np.ndarray:
        r"""(n_channels, n_channels, 2 length - 1): ``X[c', c, d + length - 1]`` is
        :math:`\sum_u k_c[u]\,k_{c'}[u + d]`, the change of channel ``c``'s correlation at lag
        ``d`` from a unit atom of channel ``c'``."""
        k = self.kernels
        return np.stack([fftconvolve(k[j][None, :], k[:, ::-1], mode="full", axes=1) for j in range(len(k))])

    @functools.cached_property
    def supports(self) -> np.ndarray:
        """(n_channels,) int: the number of leading samples of each kernel that can be nonzero
        (the kernels are cut where their envelope falls below ``1e-3`` of its peak, and
        padded with zeros to the common :attr:`length`)."""
        k = self.kernels
        nonzero = k != 0
        return np.where(nonzero.any(axis=1), k.shape[1] - np.argmax(nonzero[:, ::-1], axis=1), 1)

    def support_cross_correlations(self, dtype="float64") -> tuple:
        r"""The cross-correlations restricted to the lags where they can be nonzero, packed flat.

        For a selected kernel :math:`s` and a channel :math:`c` with supports :math:`L_s, L_c`
        (:attr:`supports`), :math:`X_{s,c}(d) = \sum_u k_c[u]\,k_s[u + d]` vanishes outside
        :math:`-(L_c - 1) \le d \le L_s - 1`; those :math:`L_s + L_c - 1` values are stored at
        ``values[offsets[s, c] + d + L_c - 1]``. Nothing is dropped, and the storage is the mean
        support over ``length`` of the dense :attr:`cross_correlations` (0.29 for 128 channels
        from 20 Hz at 16 kHz), which is also what an update of matching pursuit then costs.

        Returns
        -------
        values : (total,) array of ``dtype``
        offsets : (n_channels, n_channels) int64
        """
        k, supports = self.kernels, self.supports
        n, length = k.shape
        sizes = supports[:, None] + supports[None, :] - 1  # (selected s, channel c)
        offsets = np.zeros((n, n), dtype=np.int64)
        offsets.flat[1:] = np.cumsum(sizes.ravel())[:-1]
        values = np.empty(int(sizes.sum()), dtype=dtype)
        reversed_kernels = k[:, ::-1]
        for s in range(n):
            # full[c, j] is X_{s,c}(d) at d = j - (length - 1)
            full = fftconvolve(k[s, : supports[s]][None, :], reversed_kernels, mode="full", axes=1)
            for c in range(n):
                start = length - supports[c]
                values[offsets[s, c] : offsets[s, c] + sizes[s, c]] = full[c, start : start + sizes[s, c]]
        return values, offsets

    def settings(self) -> dict:
        return dataclasses.asdict(self)
