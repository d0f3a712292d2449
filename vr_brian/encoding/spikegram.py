r"""Spikegrams: matching pursuit over a gammatone dictionary (Smith and Lewicki 2005).

A clip :math:`x` is approximated by a sparse sum of unit-norm kernels :math:`k_c` placed at
sample positions :math:`\tau`,

.. math:: x(t) \approx \sum_i a_i\, k_{c_i}(t - \tau_i),

chosen greedily: with residual :math:`r` (initially :math:`x`), take the atom of largest
:math:`|\langle r, k_c(\cdot - \tau)\rangle|`, set :math:`a` to that correlation and subtract
:math:`a\,k_c(\cdot-\tau)`, so :math:`\|r\|^2` falls by exactly :math:`a^2`. The spikes are the
selected (channel, position, amplitude) triples, the atoms. The correlations of all channels
and positions are computed once by FFT (:func:`correlations`); after each selection only the
positions where the selected kernel overlaps another change, by :math:`-a` times the precomputed
kernel cross-correlations, so each step costs O(channels x kernel support) instead of a new full
correlation. The loop runs compiled (:mod:`vr_brian.encoding.pursuit`, numba) or in numpy; both
select the same atoms.

The residual is padded with ``length - 1`` zeros at the end so atoms may start anywhere in the
clip; the SNR is measured over that padded residual, on which it is non-decreasing.

:class:`SpikegramEncoder` keeps the atoms of many clips (:class:`AtomSet`, cached on disk by
:func:`vr_brian.encoding.atoms_cached`) and expands them into input neurons by a named mapping:
one neuron per kernel, per kernel and amplitude level, or per kernel and time shift.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from . import pursuit
from .gammatone import GammatoneDictionary

__all__ = [
    "Spikegram",
    "AtomSet",
    "matching_pursuit",
    "correlations",
    "reconstruct",
    "spike_raster",
    "SpikegramEncoder",
    "MAPPINGS",
    "PRECISIONS",
]


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


PRECISIONS = ("float64", "float32")


def matching_pursuit(
    signal,
    dictionary: GammatoneDictionary,
    max_atoms: int = 500,
    snr_db: float | None = None,
    precision: str = "float64",
    compiled: bool | None = None,
) -> Spikegram:
    """Greedy decomposition of ``signal`` (1-D) until ``max_atoms`` or ``snr_db`` is reached.

    Parameters
    ----------
    signal : (n_samples,) array
    dictionary : GammatoneDictionary
    max_atoms : int
        Upper bound on the number of atoms (>= 1).
    snr_db : float, optional
        Stop once :math:`10\\log_{10}(\\|x\\|^2/\\|r\\|^2)` reaches this.
    precision : {'float64', 'float32'}
        Arithmetic of the correlations and their updates (the energy bookkeeping is float64).
        float32 halves the memory traffic; its atoms differ from float64's only where two
        candidates are within rounding of each other.
    compiled : bool, optional
        Use the compiled kernel of :mod:`vr_brian.encoding.pursuit` (default: when numba is
        available) or the numpy path; both select the same atoms.
    """
    x = np.asarray(signal, dtype=np.float64)
    if x.ndim != 1 or len(x) == 0:
        raise ValueError(f"signal must be a non-empty 1-D array, got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("signal must be finite (it holds NaN or infinity)")
    if max_atoms < 1:
        raise ValueError(f"max_atoms must be >= 1, got {max_atoms}")
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    compiled = pursuit.COMPILED if compiled is None else bool(compiled)
    n = len(x)
    energy = float(x @ x)
    if energy == 0.0:
        return Spikegram(np.zeros(0, dtype=int), np.zeros(0, dtype=int), np.zeros(0), np.zeros(0), n)
    target = np.inf if snr_db is None else float(snr_db)
    if compiled:
        values, offsets = _support_tables(dictionary, precision)
        correlation = correlations(x, dictionary, precision, -(-n // pursuit.BLOCK) * pursuit.BLOCK)
        channels, positions, amplitudes, remaining = pursuit.pursue(
            correlation, n, dictionary.supports, values, offsets, max_atoms, energy, target
        )
    else:
        channels, positions, amplitudes, remaining = _pursue_numpy(
            correlations(x, dictionary, precision),
            dictionary.cross_correlations.astype(precision, copy=False),
            max_atoms,
            energy,
            target,
        )
    snrs = 10 * np.log10(energy / np.maximum(remaining, energy * 1e-30))
    return Spikegram(
        np.asarray(channels, dtype=int),
        np.asarray(positions, dtype=int),
        np.asarray(amplitudes, dtype=np.float64),
        snrs,
        n,
    )


def correlations(
    signal, dictionary: GammatoneDictionary, precision: str = "float64", columns: int | None = None
) -> np.ndarray:
    r"""Correlation of ``signal`` with every kernel at every start position, (n_channels, columns).

    :math:`C[c, p] = \sum_u x[p + u]\,k_c[u]` for :math:`0 \le p < n` (``x`` zero past its end),
    zero in the columns from ``n`` to ``columns`` (default ``n``). One real FFT of the signal, a
    product with the kernels' conjugate spectra (computed once per FFT length and precision) and
    one inverse FFT per kernel; the FFT length is at least :math:`n + \mathrm{length} - 1`, so the
    circular correlation equals the linear one at these positions.
    """
    import scipy.fft

    x = np.asarray(signal, dtype=precision)
    n = len(x)
    columns = n if columns is None else int(columns)
    size = scipy.fft.next_fast_len(n + dictionary.length - 1, real=True)
    spectra = _kernel_spectra(dictionary, size, precision)
    full = scipy.fft.irfft(scipy.fft.rfft(x, size)[None, :] * spectra, size, axis=1)
    out = np.zeros((len(spectra), columns), dtype=precision)
    out[:, :n] = full[:, :n]
    return out


_KERNEL_SPECTRA: dict = {}


def _kernel_spectra(dictionary: GammatoneDictionary, size: int, precision: str) -> np.ndarray:
    import scipy.fft

    key = (*_key(dictionary), size, precision)
    if key not in _KERNEL_SPECTRA:
        _KERNEL_SPECTRA[key] = np.conj(scipy.fft.rfft(dictionary.kernels.astype(precision), size, axis=1))
    return _KERNEL_SPECTRA[key]


def _pursue_numpy(correlation, cross, max_atoms: int, energy: float, snr_db: float) -> tuple:
    """The selection loop in numpy: correlations in blocks of one kernel length, the block
    maxima updated after each atom (the reference for :func:`vr_brian.encoding.pursuit.pursue`)."""
    n_channels, n = correlation.shape
    block = cross.shape[2] // 2 + 1  # one kernel length
    n_blocks = -(-n // block)
    padded = np.zeros((n_channels, n_blocks * block), dtype=correlation.dtype)
    padded[:, :n] = correlation
    correlation = padded  # positions >= n stay 0 and are never selected
    block_max = np.abs(correlation.reshape(n_channels, n_blocks, block)).max(axis=(0, 2))
    remaining = energy
    channels, positions, amplitudes, energies = [], [], [], []
    for _ in range(max_atoms):
        b = int(np.argmax(block_max))
        window = correlation[:, b * block : (b + 1) * block]
        c, offset = np.unravel_index(np.argmax(np.abs(window)), window.shape)
        tau = b * block + int(offset)
        a = correlation[c, tau]
        if a == 0.0:
            break
        lo, hi = max(tau - block + 1, 0), min(tau + block, n)
        correlation[:, lo:hi] -= a * cross[c][:, lo - tau + block - 1 : hi - tau + block - 1]
        first, last = lo // block, (hi - 1) // block
        block_max[first : last + 1] = (
            np.abs(correlation[:, first * block : (last + 1) * block])
            .reshape(n_channels, last - first + 1, block)
            .max(axis=(0, 2))
        )
        remaining -= float(a) * float(a)
        channels.append(c)
        positions.append(tau)
        amplitudes.append(a)
        energies.append(remaining)
        if 10 * np.log10(energy / max(remaining, energy * 1e-30)) >= snr_db:
            break
    return channels, positions, amplitudes, np.array(energies, dtype=np.float64)


_SUPPORT_TABLES: dict = {}


def _support_tables(dictionary: GammatoneDictionary, precision: str) -> tuple:
    key = (*_key(dictionary), precision)
    if key not in _SUPPORT_TABLES:  # seconds for hundreds of channels: once per process
        _SUPPORT_TABLES[key] = dictionary.support_cross_correlations(precision)
    return _SUPPORT_TABLES[key]


def reconstruct(spikegram: Spikegram, dictionary: GammatoneDictionary) -> np.ndarray:
    r""":math:`\sum_i a_i k_{c_i}(t - \tau_i)` over the clip's ``n_samples``."""
    kernels = dictionary.kernels
    length = kernels.shape[1]
    out = np.zeros(spikegram.n_samples + length - 1)
    for c, tau, a in zip(spikegram.channel, spikegram.position, spikegram.amplitude, strict=True):
        out[tau : tau + length] += a * kernels[c]
    return out[: spikegram.n_samples]


def spike_raster(
    spikegram: Spikegram, n_channels: int, sample_rate: float, dt: float, n_steps: int | None = None
) -> np.ndarray:
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


@dataclasses.dataclass(frozen=True, eq=False)
class AtomSet:
    """The atoms of many clips of one length, in selection order within each clip.

    Attributes
    ----------
    counts : (n_clips,) int32
        Atoms of each clip; clip ``i``'s atoms are the ``counts[i]`` entries after those of clips ``< i``.
    channel, position : (k,) int16, int32
        Kernel index and start sample of each atom.
    amplitude : (k,) float32
        Coefficient :math:`a_i` (float32: it feeds the amplitude levels and pictures only).
    snr_db : (n_clips,) float64
        Each clip's signal-to-residual ratio after its last atom, dB (0 for a silent clip).
    n_samples : int
        Samples per clip.
    manifest : dict
        The cache manifest when the atoms came through :func:`vr_brian.encoding.atoms_cached`.
    """

    counts: np.ndarray
    channel: np.ndarray
    position: np.ndarray
    amplitude: np.ndarray
    snr_db: np.ndarray
    n_samples: int
    manifest: dict = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        if not len(self.channel) == len(self.position) == len(self.amplitude) == int(np.sum(self.counts)):
            raise ValueError(
                f"counts sum to {int(np.sum(self.counts))} atoms, but channel, position and amplitude "
                f"have {len(self.channel)}, {len(self.position)} and {len(self.amplitude)}"
            )
        if len(self.snr_db) != len(self.counts):
            raise ValueError(f"snr_db has {len(self.snr_db)} clips, counts has {len(self.counts)}")

    def __len__(self):
        return len(self.counts)

    @property
    def clip(self) -> np.ndarray:
        """(k,) clip index of each atom."""
        return np.repeat(np.arange(len(self.counts)), self.counts)

    @classmethod
    def from_spikegrams(cls, spikegrams) -> AtomSet:
        spikegrams = list(spikegrams)
        if not spikegrams:
            raise ValueError("no spikegrams given")
        lengths = {g.n_samples for g in spikegrams}
        if len(lengths) != 1:
            raise ValueError(f"all clips must have the same number of samples, got {sorted(lengths)}")
        return cls(
            np.array([len(g) for g in spikegrams], dtype=np.int32),
            np.concatenate([g.channel for g in spikegrams]).astype(np.int16),
            np.concatenate([g.position for g in spikegrams]).astype(np.int32),
            np.concatenate([g.amplitude for g in spikegrams]).astype(np.float32),
            np.array([g.snr_db[-1] if len(g) else 0.0 for g in spikegrams]),
            lengths.pop(),
        )

    def arrays(self) -> dict:
        """The arrays, for saving (``n_samples`` as a 0-d array)."""
        return {
            "counts": self.counts,
            "channel": self.channel,
            "position": self.position,
            "amplitude": self.amplitude,
            "snr_db": self.snr_db,
            "n_samples": np.array(self.n_samples),
        }

    @classmethod
    def from_arrays(cls, arrays: dict, manifest: dict | None = None) -> AtomSet:
        return cls(
            arrays["counts"],
            arrays["channel"],
            arrays["position"],
            arrays["amplitude"],
            arrays["snr_db"],
            int(arrays["n_samples"]),
            dict(manifest or {}),
        )

    def spikegram(self, clip: int) -> Spikegram:
        """One clip's atoms as a :class:`Spikegram` (its ``snr_db``: the final value only)."""
        if not 0 <= clip < len(self):
            raise IndexError(f"clip must be in [0, {len(self)}), got {clip}")
        start = int(np.sum(self.counts[:clip]))
        part = slice(start, start + int(self.counts[clip]))
        return Spikegram(
            self.channel[part].astype(int),
            self.position[part].astype(int),
            self.amplitude[part].astype(np.float64),
            np.full(int(self.counts[clip]), self.snr_db[clip]),
            self.n_samples,
        )

    def subset(self, index) -> AtomSet:
        """The clips selected by ``index`` (boolean mask or integer indices), in that order."""
        index = np.arange(len(self))[index]
        starts = np.concatenate([[0], np.cumsum(self.counts)[:-1]])
        take = (
            np.concatenate([np.arange(starts[i], starts[i] + self.counts[i]) for i in index])
            if len(index)
            else np.zeros(0, dtype=int)
        )
        return AtomSet(
            self.counts[index],
            self.channel[take],
            self.position[take],
            self.amplitude[take],
            self.snr_db[index],
            self.n_samples,
            self.manifest,
        )


#: How atoms become input neurons (:meth:`SpikegramEncoder.expand`).
MAPPINGS = ("channels", "levels", "delays")


@dataclasses.dataclass(frozen=True)
class SpikegramEncoder:
    r"""Audio clips to spike arrays through matching pursuit (immutable settings).

    Each clip is decomposed into atoms :math:`(c_i, \tau_i, a_i)` (:func:`matching_pursuit`,
    :meth:`atoms`); ``mapping`` turns every atom into spikes of input neurons at time step
    :math:`\lfloor \tau_i / (f_s\,dt) \rfloor` (:meth:`expand`); several spikes of one neuron in one
    step make one:

    - ``'channels'``: one neuron per kernel, ``n_inputs = n_channels``.
    - ``'levels'``: ``copies`` neurons per kernel, one per amplitude level: neuron
      :math:`c\,K + \ell` with :math:`\ell = \#\{e \in \text{level\_edges} : e \le \ln|a|\}`; the
      ``copies - 1`` edges are fixed from training atoms (:meth:`fit_levels`: quantiles of
      :math:`\ln|a|`, so each level holds an equal share of them).
    - ``'delays'``: ``copies`` neurons per kernel, copy :math:`k` spiking at
      :math:`\tau_i / f_s + k\,\text{delay}` (:math:`k = 0 .. K-1`); spikes past the clip's last
      step are dropped.

    Neurons are numbered kernel-major, :math:`c\,K + k` (as STCA's ``ptn_delay`` numbers the
    copies of its afferents), so ``n_inputs = n_channels * copies``.

    Parameters
    ----------
    n_channels, f_low, f_high, sample_rate
        The gammatone dictionary (:class:`GammatoneDictionary`): kernels, lowest and highest
        centre (Hz), sample rate (Hz).
    max_atoms : int
        Atoms per clip at most (>= 1).
    snr_db : float or None
        Stop a clip earlier once its reconstruction reaches this SNR (dB).
    dt : float
        Time step of the spike arrays, s (> 0).
    mapping : {'channels', 'levels', 'delays'}
    copies : int
        Neurons per kernel for ``'levels'`` and ``'delays'`` (>= 2); ignored for ``'channels'``.
    delay : float
        Shift between consecutive copies for ``'delays'``, s (> 0).
    level_edges : tuple of float
        ``copies - 1`` increasing boundaries of :math:`\ln|a|` for ``'levels'`` (empty until
        :meth:`fit_levels`).
    precision : {'float64', 'float32'}
        Arithmetic of the pursuit (:func:`matching_pursuit`).
    """

    n_channels: int = 32
    f_low: float = 100.0
    f_high: float = 6000.0
    sample_rate: float = 16000.0
    max_atoms: int = 600
    snr_db: float | None = 20.0
    dt: float = 1e-3
    mapping: str = "channels"
    copies: int = 3
    delay: float = 0.0
    level_edges: tuple = ()
    precision: str = "float64"

    def __post_init__(self):
        if not self.dt > 0:
            raise ValueError(f"dt must be > 0 s, got {self.dt}")
        if int(self.max_atoms) != self.max_atoms or self.max_atoms < 1:
            raise ValueError(f"max_atoms must be an integer >= 1, got {self.max_atoms}")
        if self.mapping not in MAPPINGS:
            raise ValueError(f"mapping must be one of {MAPPINGS}, got {self.mapping!r}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {self.precision!r}")
        if self.mapping != "channels" and (int(self.copies) != self.copies or self.copies < 2):
            raise ValueError(f"copies must be an integer >= 2 for mapping {self.mapping!r}, got {self.copies}")
        if self.mapping == "delays" and not self.delay > 0:
            raise ValueError(f"delay must be > 0 s for mapping 'delays', got {self.delay}")
        edges = tuple(float(e) for e in self.level_edges)
        object.__setattr__(self, "level_edges", edges)
        if edges and (
            self.mapping != "levels"
            or len(edges) != self.copies - 1
            or not np.all(np.isfinite(edges))
            or np.any(np.diff(edges) <= 0)
        ):
            raise ValueError(
                f"level_edges must be {self.copies - 1} finite increasing values of ln|a| for "
                f"mapping 'levels' (copies={self.copies}), got {edges} for mapping {self.mapping!r}"
            )
        GammatoneDictionary(self.n_channels, self.f_low, self.f_high, self.sample_rate)  # validates

    @property
    def dictionary(self) -> GammatoneDictionary:
        return _dictionary(self.n_channels, self.f_low, self.f_high, self.sample_rate)

    @property
    def centres(self) -> np.ndarray:
        return self.dictionary.centres

    @property
    def n_inputs(self) -> int:
        """Input neurons: ``n_channels``, or ``n_channels * copies`` for levels and delays."""
        return self.n_channels if self.mapping == "channels" else self.n_channels * self.copies

    def n_steps(self, n_samples: int) -> int:
        r"""Time steps of a clip of ``n_samples``: :math:`\lceil n / (f_s\,dt) \rceil`."""
        return int(np.ceil(n_samples / (self.dt * self.sample_rate) - 1e-9))

    def decompose(self, clip) -> Spikegram:
        return matching_pursuit(clip, self.dictionary, self.max_atoms, self.snr_db, self.precision)

    def atoms(self, audio, progress: bool = False, n_jobs: int = 1) -> AtomSet:
        """The atoms of (n, samples) clips.

        ``n_jobs`` > 1 decomposes clips in that many worker processes (each clip is independent;
        the result does not depend on ``n_jobs``).
        """
        from tqdm import tqdm

        audio = np.atleast_2d(np.asarray(audio))
        if int(n_jobs) != n_jobs or n_jobs < 1:
            raise ValueError(f"n_jobs must be an integer >= 1, got {n_jobs}")
        if n_jobs == 1:
            grams = [self.decompose(clip) for clip in tqdm(audio, desc="spikegram", disable=not progress, unit="clip")]
        else:
            from concurrent.futures import ProcessPoolExecutor

            with ProcessPoolExecutor(int(n_jobs)) as pool:
                grams = list(
                    tqdm(
                        pool.map(self.decompose, audio, chunksize=8),
                        total=len(audio),
                        desc="spikegram",
                        disable=not progress,
                        unit="clip",
                    )
                )
        return AtomSet.from_spikegrams(grams)

    def fit_levels(self, atoms: AtomSet) -> SpikegramEncoder:
        r"""This encoder with ``level_edges`` at the quantiles :math:`k / K` (:math:`k = 1 .. K-1`)
        of :math:`\ln|a|` over ``atoms`` (training clips only), so each level gets an equal share."""
        if self.mapping != "levels":
            raise ValueError(f"fit_levels needs mapping 'levels', this encoder has {self.mapping!r}")
        if len(atoms.amplitude) < self.copies:
            raise ValueError(f"fit_levels needs at least copies={self.copies} atoms, got {len(atoms.amplitude)}")
        logs = np.log(np.abs(atoms.amplitude.astype(np.float64)))
        edges = np.quantile(logs, np.arange(1, self.copies) / self.copies)
        return dataclasses.replace(self, level_edges=tuple(float(e) for e in edges))

    def neurons(self, atoms: AtomSet) -> tuple:
        """(clip, step, neuron) of every spike before merging, spikes past the last step dropped."""
        if self.mapping == "levels" and not self.level_edges:
            raise ValueError(
                "mapping 'levels' needs level_edges: fit them on training atoms first "
                "(encoder = encoder.fit_levels(encoder.atoms(train_audio)))"
            )
        clip, channel = atoms.clip, atoms.channel.astype(np.int64)
        samples_per_step = self.dt * self.sample_rate
        n_steps = self.n_steps(atoms.n_samples)
        if self.mapping == "delays":
            shifts = np.arange(self.copies) * self.delay * self.sample_rate
            clip = np.tile(clip, self.copies)
            neuron = (channel[None, :] * self.copies + np.arange(self.copies)[:, None]).ravel()
            samples = (atoms.position[None, :] + shifts[:, None]).ravel()
        else:
            samples = atoms.position.astype(np.float64)
            neuron = channel
            if self.mapping == "levels":
                level = np.searchsorted(
                    np.array(self.level_edges), np.log(np.abs(atoms.amplitude.astype(np.float64))), side="right"
                )
                neuron = channel * self.copies + level
        step = np.floor(samples / samples_per_step + 1e-9).astype(np.int64)
        keep = step < n_steps
        return clip[keep], step[keep], neuron[keep]

    def expand(self, atoms: AtomSet) -> np.ndarray:
        """Atoms to (n_clips, steps, n_inputs) bool spikes by ``mapping``."""
        spikes = np.zeros((len(atoms), self.n_steps(atoms.n_samples), self.n_inputs), dtype=bool)
        spikes[self.neurons(atoms)] = True
        return spikes

    def encode(self, audio, progress: bool = False, n_jobs: int = 1) -> np.ndarray:
        """(n, samples) clips to (n, steps, n_inputs) bool spikes: :meth:`expand` of :meth:`atoms`."""
        return self.expand(self.atoms(audio, progress, n_jobs))

    def pursuit_settings(self) -> dict:
        """The settings that determine the atoms (the key of cached atoms)."""
        return {
            "encoder": "spikegram_atoms",
            "n_channels": self.n_channels,
            "f_low": self.f_low,
            "f_high": self.f_high,
            "sample_rate": self.sample_rate,
            "max_atoms": self.max_atoms,
            "snr_db": self.snr_db,
            "precision": self.precision,
        }

    def settings(self) -> dict:
        return {"encoder": "spikegram", **dataclasses.asdict(self), "n_inputs": self.n_inputs}


def _key(dictionary: GammatoneDictionary) -> tuple:
    """What identifies a dictionary in the per-process stores of its derived arrays."""
    return dictionary.n_channels, dictionary.f_low, dictionary.f_high, dictionary.sample_rate


_DICTIONARIES: dict = {}


def _dictionary(n_channels, f_low, f_high, sample_rate) -> GammatoneDictionary:
    key = (n_channels, f_low, f_high, sample_rate)
    if key not in _DICTIONARIES:  # the cross-correlations take a moment: build them once
        _DICTIONARIES[key] = GammatoneDictionary(n_channels, f_low, f_high, sample_rate)
    return _DICTIONARIES[key]
