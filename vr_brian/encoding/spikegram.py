r"""Spikegrams: matching pursuit over a gammatone dictionary (Smith and Lewicki 2005).

A clip :math:`x` is approximated by a sparse sum of unit-norm kernels :math:`k_c` placed at
sample positions :math:`\tau`,

.. math:: x(t) \approx \sum_i a_i\, k_{c_i}(t - \tau_i),

chosen greedily: with residual :math:`r` (initially :math:`x`), take the atom of largest
:math:`|\langle r, k_c(\cdot - \tau)\rangle|`, set :math:`a` to that correlation and subtract
:math:`a\,k_c(\cdot-\tau)`, so :math:`\|r\|^2` falls by exactly :math:`a^2`. The spikes are the
selected (channel, position) pairs. The correlations of all channels and positions are computed
once by FFT; after each selection only the positions within one kernel length of it change, by
:math:`-a` times the precomputed kernel cross-correlations, so each step costs
O(channels x kernel length) instead of a new full correlation.

The residual is padded with ``length - 1`` zeros at the end so atoms may start anywhere in the
clip; the SNR is measured over that padded residual, on which it is non-decreasing.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy.signal import fftconvolve

from .gammatone import GammatoneDictionary

__all__ = ["Spikegram", "matching_pursuit", "reconstruct", "spike_raster", "SpikegramEncoder"]


@dataclasses.dataclass(frozen=True, eq=False)
class Spikegram:
    """Atoms selected by :func:`matching_pursuit`, in selection order.

    Attributes
    ----------
    channel, position : (k,) int
        Kernel index and start sample of each atom.
    amplitude : (k,) float
        Coefficient :math:`a_i`.
    snr_db : (k,) float
        Signal-to-residual ratio after each atom, dB.
    n_samples : int
        Length of the clip.
    """

    channel: np.ndarray
    position: np.ndarray
    amplitude: np.ndarray
    snr_db: np.ndarray
    n_samples: int

    def __len__(self):
        return len(self.channel)


def matching_pursuit(signal, dictionary: GammatoneDictionary, max_atoms: int = 500,
                     snr_db: float | None = None) -> Spikegram:
    """Greedy decomposition of ``signal`` (1-D) until ``max_atoms`` or ``snr_db`` is reached.

    Parameters
    ----------
    signal : (n_samples,) array
    dictionary : GammatoneDictionary
    max_atoms : int
        Upper bound on the number of atoms (>= 1).
    snr_db : float, optional
        Stop once :math:`10\\log_{10}(\\|x\\|^2/\\|r\\|^2)` reaches this.
    """
    x = np.asarray(signal, dtype=np.float64)
    if x.ndim != 1 or len(x) == 0:
        raise ValueError(f"signal must be a non-empty 1-D array, got shape {x.shape}")
    if max_atoms < 1:
        raise ValueError(f"max_atoms must be >= 1, got {max_atoms}")
    kernels = dictionary.kernels
    n_channels, length = kernels.shape
    n = len(x)
    residual = np.concatenate([x, np.zeros(length - 1)])
    correlation = fftconvolve(residual[None, :], kernels[:, ::-1], mode="valid", axes=1)   # (C, n)
    cross = dictionary.cross_correlations
    block = length
    n_blocks = -(-n // block)
    padded = np.zeros((n_channels, n_blocks * block))
    padded[:, :n] = correlation
    correlation = padded                    # positions >= n stay 0 and are never selected
    block_max = np.abs(correlation.reshape(n_channels, n_blocks, block)).max(axis=(0, 2))
    energy = float(x @ x)
    remaining = energy
    channels, positions, amplitudes, snrs = [], [], [], []
    if energy == 0.0:
        return Spikegram(np.zeros(0, int), np.zeros(0, int), np.zeros(0, float), np.zeros(0, float), n)
    for _ in range(max_atoms):
        b = int(np.argmax(block_max))
        window = correlation[:, b * block:(b + 1) * block]
        c, offset = np.unravel_index(np.argmax(np.abs(window)), window.shape)
        tau = b * block + int(offset)
        a = float(correlation[c, tau])
        if a == 0.0:
            break
        residual[tau:tau + length] -= a * kernels[c]
        lo, hi = max(tau - length + 1, 0), min(tau + length, n)
        correlation[:, lo:hi] -= a * cross[c][:, lo - tau + length - 1:hi - tau + length - 1]
        first, last = lo // block, (hi - 1) // block
        block_max[first:last + 1] = np.abs(
            correlation[:, first * block:(last + 1) * block]).reshape(
                n_channels, last - first + 1, block).max(axis=(0, 2))
        remaining -= a * a
        channels.append(c)
        positions.append(tau)
        amplitudes.append(a)
        snrs.append(10 * np.log10(energy / max(remaining, energy * 1e-30)))
        if snr_db is not None and snrs[-1] >= snr_db:
            break
    return Spikegram(np.array(channels, dtype=int), np.array(positions, dtype=int),
                     np.array(amplitudes), np.array(snrs), n)


def reconstruct(spikegram: Spikegram, dictionary: GammatoneDictionary) -> np.ndarray:
    r""":math:`\sum_i a_i k_{c_i}(t - \tau_i)` over the clip's ``n_samples``."""
    kernels = dictionary.kernels
    length = kernels.shape[1]
    out = np.zeros(spikegram.n_samples + length - 1)
    for c, tau, a in zip(spikegram.channel, spikegram.position, spikegram.amplitude, strict=True):
        out[tau:tau + length] += a * kernels[c]
    return out[:spikegram.n_samples]


def spike_raster(spikegram: Spikegram, n_channels: int, sample_rate: float, dt: float,
                 n_steps: int | None = None) -> np.ndarray:
    """Atoms binned to time steps of ``dt`` s: (n_steps, n_channels) bool.

    An atom starting at sample ``tau`` spikes in step ``floor(tau / (dt * sample_rate))``;
    several atoms of one channel in one step make one spike. ``n_steps`` defaults to the
    clip length in steps (rounded up).
    """
    if dt <= 0:
        raise ValueError(f"dt must be > 0 s, got {dt}")
    samples_per_step = dt * sample_rate
    if n_steps is None:
        n_steps = int(np.ceil(spikegram.n_samples / samples_per_step - 1e-9))
    raster = np.zeros((n_steps, n_channels), dtype=bool)
    steps = np.floor(spikegram.position / samples_per_step + 1e-9).astype(int)
    keep = steps < n_steps
    raster[steps[keep], spikegram.channel[keep]] = True
    return raster


@dataclasses.dataclass(frozen=True)
class SpikegramEncoder:
    """Audio clips to spike arrays through matching pursuit (immutable settings).

    Parameters
    ----------
    n_channels, f_low, f_high, sample_rate
        The gammatone dictionary (:class:`GammatoneDictionary`).
    max_atoms : int
        Atoms per clip at most.
    snr_db : float or None
        Stop a clip earlier once its reconstruction reaches this SNR.
    dt : float
        Time step of the spike arrays, s.
    """

    n_channels: int = 32
    f_low: float = 100.0
    f_high: float = 6000.0
    sample_rate: float = 16000.0
    max_atoms: int = 600
    snr_db: float | None = 20.0
    dt: float = 1e-3

    def __post_init__(self):
        if self.dt <= 0:
            raise ValueError(f"dt must be > 0 s, got {self.dt}")
        if self.max_atoms < 1:
            raise ValueError(f"max_atoms must be >= 1, got {self.max_atoms}")

    @property
    def dictionary(self) -> GammatoneDictionary:
        return _dictionary(self.n_channels, self.f_low, self.f_high, self.sample_rate)

    @property
    def centres(self) -> np.ndarray:
        return self.dictionary.centres

    def decompose(self, clip) -> Spikegram:
        return matching_pursuit(clip, self.dictionary, self.max_atoms, self.snr_db)

    def encode(self, audio, progress: bool = False, n_jobs: int = 1) -> np.ndarray:
        """(n, samples) clips to (n, steps, n_channels) bool spikes.

        ``n_jobs`` > 1 decomposes clips in that many worker processes (each clip is independent;
        the result does not depend on ``n_jobs``).
        """
        from tqdm import tqdm

        audio = np.atleast_2d(np.asarray(audio))
        if n_jobs < 1:
            raise ValueError(f"n_jobs must be >= 1, got {n_jobs}")
        if n_jobs == 1:
            rasters = [self._raster(clip) for clip in
                       tqdm(audio, desc="spikegram", disable=not progress, unit="clip")]
        else:
            from concurrent.futures import ProcessPoolExecutor

            with ProcessPoolExecutor(n_jobs) as pool:
                rasters = list(tqdm(pool.map(self._raster, audio, chunksize=4), total=len(audio),
                                    desc="spikegram", disable=not progress, unit="clip"))
        return np.stack(rasters)

    def _raster(self, clip) -> np.ndarray:
        n_steps = int(np.ceil(len(clip) / (self.dt * self.sample_rate) - 1e-9))
        return spike_raster(self.decompose(clip), self.n_channels, self.sample_rate, self.dt, n_steps)

    def settings(self) -> dict:
        return {"encoder": "spikegram", **dataclasses.asdict(self)}


_DICTIONARIES: dict = {}


def _dictionary(n_channels, f_low, f_high, sample_rate) -> GammatoneDictionary:
    key = (n_channels, f_low, f_high, sample_rate)
    if key not in _DICTIONARIES:      # the cross-correlations take a moment: build them once
        _DICTIONARIES[key] = GammatoneDictionary(n_channels, f_low, f_high, sample_rate)
    return _DICTIONARIES[key]
