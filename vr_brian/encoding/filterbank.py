r"""A filterbank level-crossing encoder: gammatone envelopes to spikes.

Each clip is filtered by analytic (complex) gammatone kernels
(:func:`vr_brian.encoding.gammatone.gammatone_kernels`); the magnitude of each output is the
channel's envelope. Envelopes are averaged over time steps of ``dt``, smoothed by a causal
moving average of ``smoothing`` s, and put in decibels
relative to ``reference`` (an envelope of amplitude ``reference``; the dataset builders
normalise clips to RMS 0.05),

.. math:: L[t, c] = 20 \log_{10}\big(\bar e[t, c] / \mathrm{reference}\big).

``mode='crossing'`` (send-on-delta for rises): a channel spikes when its level has risen by
``step_db`` above the lowest level since its last spike, the first time on reaching
``floor_db`` (:func:`level_crossings`). Onsets and crescendi spike; steady sound, ripple
smaller than ``step_db`` included, stays silent.

``mode='threshold'``: a channel spikes at every step its envelope is above ``floor_db``
(a dense code of where the energy is).

``mode='rate'``: each channel is a non-leaky integrate-and-fire unit driven by its level,
mapped linearly from ``floor_db`` (rate 0) to ``ceiling_db`` (``max_rate`` spikes per step)
and clipped to that range (:func:`rate_code`). Steady sound spikes steadily, so the spike
counts carry the spectrum (the timbre of a held note), which the crossing code drops.

All three are vectorised over clips and channels. Channels are ERB-spaced with ERB-wide
kernels (``spacing='erb'``), or a semitone apart with constant-Q kernels (``spacing='semitone'``,
``bandwidth`` semitones wide) for pitch: below 1 kHz an ERB spans several piano keys.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy.signal import fftconvolve
from tqdm import tqdm

from .gammatone import constant_q_bandwidths, erb_space, gammatone_kernels, semitone_space

__all__ = [
    "gammatone_envelopes",
    "smooth_steps",
    "envelope_levels",
    "level_crossings",
    "rate_code",
    "FilterbankEncoder",
    "MODES",
    "SPACINGS",
]

MODES = ("crossing", "threshold", "rate")
SPACINGS = ("erb", "semitone")


def gammatone_envelopes(
    audio, centres, sample_rate: float, dt: float, chunk: int = 16, bandwidths=None, progress: bool = False
) -> np.ndarray:
    """Mean analytic-gammatone envelope per step: (n, steps, len(centres)) float.

    Each analytic kernel :math:`k_c` is scaled to gain 2 at its centre,
    :math:`|\\sum_t k_c[t] e^{-i 2\\pi f_c t / f_s}| = 2`, so a sinusoid of amplitude :math:`A` at
    :math:`f_c` (whose positive-frequency half has amplitude :math:`A/2`) has envelope :math:`A`
    once the kernel's onset has passed. ``bandwidths``: as for
    :func:`~vr_brian.encoding.gammatone.gammatone_kernels` (default ERB).
    """
    audio = np.atleast_2d(np.asarray(audio, dtype=np.float64))
    samples_per_step = dt * sample_rate
    if abs(samples_per_step - round(samples_per_step)) > 1e-9 or samples_per_step < 1:
        raise ValueError(f"dt * sample_rate must be a whole number of samples >= 1, got {samples_per_step}")
    samples_per_step = int(round(samples_per_step))
    kernels = gammatone_kernels(centres, sample_rate, complex_valued=True, bandwidths=bandwidths)
    t = np.arange(kernels.shape[1]) / sample_rate
    gain = np.abs(np.sum(kernels * np.exp(-2j * np.pi * np.asarray(centres)[:, None] * t), axis=1))
    kernels = kernels * (2.0 / gain)[:, None]
    n, n_samples = audio.shape
    n_steps = -(-n_samples // samples_per_step)
    out = np.empty((n, n_steps, len(kernels)))
    for start in tqdm(range(0, n, chunk), desc="filterbank", unit="chunk", disable=not progress):
        part = audio[start : start + chunk]
        filtered = fftconvolve(part[:, None, :], kernels[None, :, :], mode="full", axes=2)
        envelope = np.abs(filtered[:, :, :n_samples])
        padded = np.zeros(envelope.shape[:2] + (n_steps * samples_per_step,))
        padded[..., :n_samples] = envelope
        means = padded.reshape(len(part), len(kernels), n_steps, samples_per_step).mean(axis=3)
        out[start : start + chunk] = means.transpose(0, 2, 1)
    return out


def smooth_steps(envelopes, n_steps: int) -> np.ndarray:
    """Causal moving average over the last ``n_steps`` steps (axis -2); fewer at the start."""
    if n_steps <= 1:
        return np.asarray(envelopes)
    total = np.cumsum(envelopes, axis=-2)
    shifted = np.zeros_like(total)
    shifted[..., n_steps:, :] = total[..., :-n_steps, :]
    counts = np.minimum(np.arange(1, total.shape[-2] + 1), n_steps)[:, None]
    return (total - shifted) / counts


def envelope_levels(envelopes, reference: float) -> np.ndarray:
    """Envelopes in dB relative to ``reference`` (zeros map to -inf)."""
    with np.errstate(divide="ignore"):
        return 20.0 * np.log10(np.asarray(envelopes) / reference)


def level_crossings(levels_db, floor_db: float, step_db: float) -> np.ndarray:
    """Rises of ``step_db`` above the lowest level since the last spike, along axis -2 (time).

    With the reference :math:`R_{-1} = \\mathrm{floor} - \\mathrm{step}`, at each step

    .. math::

        s_t = [L_t - R_{t-1} \\ge \\mathrm{step}],\\qquad
        R_t = \\begin{cases} L_t & s_t \\\\
              \\max(\\min(R_{t-1}, L_t),\\ \\mathrm{floor} - \\mathrm{step}) & \\text{otherwise,}\\end{cases}

    so the first spike comes when the level reaches the floor, a steady level with ripple
    smaller than ``step_db`` stays silent, and every new rise of ``step_db`` spikes once.
    Vectorised over all leading axes and channels; one pass over time.
    """
    if step_db <= 0:
        raise ValueError(f"step_db must be > 0 dB, got {step_db}")
    levels = np.nan_to_num(np.asarray(levels_db, dtype=float), nan=-np.inf)
    lowest = floor_db - step_db
    reference = np.full(levels.shape[:-2] + levels.shape[-1:], lowest)
    spikes = np.zeros(levels.shape, dtype=bool)
    for t in range(levels.shape[-2]):
        level = levels[..., t, :]
        fired = level - reference >= step_db
        spikes[..., t, :] = fired
        reference = np.where(fired, level, np.maximum(np.minimum(reference, level), lowest))
    return spikes


def rate_code(levels_db, floor_db: float, ceiling_db: float, max_rate: float) -> np.ndarray:
    r"""Spikes of non-leaky integrate-and-fire units driven by levels, along axis -2 (time).

    .. math::

        x_t = r_\max \operatorname{clip}\Big(\frac{L_t - \mathrm{floor}}{\mathrm{ceiling} - \mathrm{floor}},
        0, 1\Big),\qquad s_t = \Big[\Big\lfloor \sum_{u \le t} x_u \Big\rfloor >
        \Big\lfloor \sum_{u < t} x_u \Big\rfloor\Big],

    so a unit starts at potential 0, fires when it reaches 1 and subtracts 1; over any
    stretch of steps the count is within one of :math:`\sum x_t`. ``max_rate`` <= 1: at most one spike per step.
    """
    if not ceiling_db > floor_db:
        raise ValueError(f"ceiling_db must be > floor_db, got ceiling_db={ceiling_db}, floor_db={floor_db}")
    if not 0 < max_rate <= 1:
        raise ValueError(f"max_rate must lie in (0, 1] spikes per step, got {max_rate}")
    levels = np.nan_to_num(np.asarray(levels_db, dtype=float), nan=-np.inf)
    drive = max_rate * np.clip((levels - floor_db) / (ceiling_db - floor_db), 0.0, 1.0)
    # float64 cumulative sums of at most one per step stay exact to far below one spike
    counts = np.floor(np.cumsum(drive, axis=-2))
    return np.diff(counts, axis=-2, prepend=0.0) > 0


@dataclasses.dataclass(frozen=True)
class FilterbankEncoder:
    """Audio clips to spike arrays through gammatone envelopes (immutable settings).

    Parameters
    ----------
    n_channels, f_low, f_high : int, float, float
        Analytic gammatone channels, Hz: ERB-spaced from ``f_low`` to ``f_high``, or ``n_channels``
        semitones up from ``f_low`` (the top one at most ``f_high``).
    sample_rate : float
    dt : float
        Time step, s (a whole number of samples).
    mode : {'crossing', 'threshold', 'rate'}
    floor_db : float
        Lowest level, dB relative to ``reference``.
    step_db : float
        Rise that makes a spike, dB (crossing mode).
    reference : float
        0 dB envelope value.
    smoothing : float
        Length of the causal moving average applied to the envelopes before the levels, s;
        it removes the ripple that partials beating within one channel put on the envelope
        (a few ms for low notes), which would otherwise make steady notes spike.
    ceiling_db, max_rate : float, float
        Rate mode: the level that drives ``max_rate`` spikes per step (in (0, 1]).
    spacing : {'erb', 'semitone'}
    bandwidth : float
        Semitone spacing: kernel bandwidth in semitones (constant Q), at least ``min_bandwidth`` Hz.
    min_bandwidth : float
        Hz.
    """

    n_channels: int = 32
    f_low: float = 100.0
    f_high: float = 6000.0
    sample_rate: float = 16000.0
    dt: float = 1e-3
    mode: str = "crossing"
    floor_db: float = -30.0
    step_db: float = 3.0
    reference: float = 0.05
    smoothing: float = 0.01
    ceiling_db: float = 0.0
    max_rate: float = 0.25
    spacing: str = "erb"
    bandwidth: float = 1.0
    min_bandwidth: float = 5.0

    def __post_init__(self):
        for name, allowed in (("mode", MODES), ("spacing", SPACINGS)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {getattr(self, name)!r}")
        if self.n_channels < 1:
            raise ValueError(f"n_channels must be >= 1, got {self.n_channels}")
        if not 0 < self.f_low < self.f_high < self.sample_rate / 2:
            raise ValueError(f"need 0 < f_low < f_high < sample_rate/2, got {self.f_low}, {self.f_high}")
        if self.spacing == "semitone" and self.centres[-1] > self.f_high:
            raise ValueError(
                f"n_channels={self.n_channels} semitones from f_low={self.f_low} Hz reach "
                f"{self.centres[-1]:.1f} Hz, above f_high={self.f_high} Hz"
            )
        if self.step_db <= 0 or self.reference <= 0 or self.dt <= 0 or self.smoothing < 0:
            raise ValueError("step_db, reference and dt must be > 0, smoothing >= 0")
        if self.mode == "rate":
            rate_code(np.zeros((1, 1)), self.floor_db, self.ceiling_db, self.max_rate)  # validates
        if self.spacing == "semitone":
            constant_q_bandwidths(self.f_low, self.bandwidth, self.min_bandwidth)  # validates

    @property
    def centres(self) -> np.ndarray:
        if self.spacing == "semitone":
            return semitone_space(self.f_low, self.n_channels)
        return erb_space(self.f_low, self.f_high, self.n_channels)

    @property
    def bandwidths(self) -> np.ndarray | None:
        """Kernel bandwidths, Hz (None: the ERB of each centre)."""
        if self.spacing == "semitone":
            return constant_q_bandwidths(self.centres, self.bandwidth, self.min_bandwidth)
        return None

    def levels(self, audio, progress: bool = False) -> np.ndarray:
        """(n, steps, channels) envelope levels, dB."""
        envelopes = gammatone_envelopes(
            audio, self.centres, self.sample_rate, self.dt, bandwidths=self.bandwidths, progress=progress
        )
        return envelope_levels(smooth_steps(envelopes, int(round(self.smoothing / self.dt))), self.reference)

    def encode(self, audio, progress: bool = False) -> np.ndarray:
        """(n, samples) clips to (n, steps, n_channels) bool spikes."""
        levels = self.levels(audio, progress)
        if self.mode == "threshold":
            return levels >= self.floor_db
        if self.mode == "rate":
            return rate_code(levels, self.floor_db, self.ceiling_db, self.max_rate)
        return level_crossings(levels, self.floor_db, self.step_db)

    def settings(self) -> dict:
        return {"encoder": "filterbank", **dataclasses.asdict(self)}
