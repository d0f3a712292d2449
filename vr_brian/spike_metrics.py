r"""How close a model's spikes and voltage are to a reference neuron's.

Two measures, pure functions over arrays in SI units (seconds, volts):

- :func:`gamma_factor`: the coincidence factor :math:`\Gamma` of Kistler, Gerstner and
  van Hemmen (1997) as used in the benchmark of Jolivet et al. (2008),

  .. math::

      \Gamma = \frac{N_{coinc} - \langle N_{coinc}\rangle}{\tfrac12 (N_{data} + N_{model})}
               \frac{1}{1 - 2\nu\Delta},\qquad \langle N_{coinc}\rangle = 2\nu\Delta N_{data},

  with :math:`\nu = N_{model}/T` the model's rate and :math:`\Delta` the precision
  (window, 2 ms by default). :math:`N_{coinc}` counts pairs (data spike, model spike) at
  most :math:`\Delta` apart, each spike used in one pair at most. :math:`\Gamma = 1` for
  identical trains, :math:`\Gamma \approx 0` for a Poisson train of the model's rate.
  :func:`normalised_gamma` divides the mean :math:`\Gamma` against repeated data trials by
  the data's intrinsic reliability (the mean :math:`\Gamma` between pairs of trials), so
  that a model as good as the data's own repeatability scores 1.
- :func:`subthreshold_voltage_error`: the root-mean-square difference of two voltage
  traces over the samples that are at least ``before`` ahead of and ``after`` behind every
  spike of either train (the action potentials and their after-hyperpolarisation are
  removed, where a reduced model cannot and should not follow the trace).
"""

from __future__ import annotations

import dataclasses
import itertools
import math

import numpy as np
from brian2 import ms, second

from .params import to_si

__all__ = [
    "Recording",
    "gamma_factor",
    "intrinsic_reliability",
    "normalised_gamma",
    "count_coincidences",
    "subthreshold_voltage_error",
    "subthreshold_mask",
]


@dataclasses.dataclass(frozen=True)
class Recording:
    """Voltage traces and spike times of ``n`` neurons on one time grid (SI floats).

    Attributes
    ----------
    dt : float
        Sampling step of ``v``, seconds; sample ``k`` is at time ``k*dt``.
    v : ndarray
        (n, steps) voltages in volts, relative to the neuron's resting potential.
    spikes : tuple of ndarray
        One sorted array of spike times (seconds) per neuron.
    duration : float
        Length of the recording, seconds.
    """

    dt: float
    v: np.ndarray
    spikes: tuple
    duration: float

    def __len__(self) -> int:
        return len(self.spikes)

    def rates(self) -> np.ndarray:
        """Mean firing rate of every neuron, Hz."""
        return np.array([len(s) for s in self.spikes]) / self.duration


def _times(spikes, name: str) -> np.ndarray:
    times = np.asarray(spikes / second if hasattr(spikes, "dim") else spikes, dtype=float).ravel()
    if not np.all(np.isfinite(times)):
        raise ValueError(f"{name} contains NaN or infinite spike times")
    return np.sort(times)


def count_coincidences(model, data, window) -> int:
    """Number of one-to-one pairs (model spike, data spike) with ``|t_model - t_data| <= window``.

    Greedy in time order, which is optimal for matching points on a line within a fixed
    distance: the earliest unmatched data spike takes the earliest model spike in reach.
    """
    model, data = _times(model, "model"), _times(data, "data")
    window = to_si(window, second, "window")
    n, i, j = 0, 0, 0
    while i < len(data) and j < len(model):
        if model[j] < data[i] - window:
            j += 1
        elif model[j] > data[i] + window:
            i += 1
        else:
            n, i, j = n + 1, i + 1, j + 1
    return n


def gamma_factor(model, data, duration, window=2 * ms) -> float:
    r"""The coincidence factor :math:`\Gamma` of ``model`` against ``data`` (see the module docstring).

    Parameters
    ----------
    model, data : array_like or Quantity
        Spike times, seconds.
    duration : Quantity or float
        Length T of the recording, seconds.
    window : Quantity or float
        Precision :math:`\Delta`, seconds (2 ms).

    Returns
    -------
    float
        :math:`\Gamma`; 0 when either train is empty (no coincidences, none expected),
        NaN when the model's rate makes :math:`2\nu\Delta \ge 1` (the measure is undefined).
    """
    duration, window = to_si(duration, second, "duration"), to_si(window, second, "window")
    if not duration > 0:
        raise ValueError(f"duration must be > 0 s, got {duration}")
    if not window > 0:
        raise ValueError(f"window must be > 0 s, got {window}")
    model, data = _times(model, "model"), _times(data, "data")
    if len(model) == 0 or len(data) == 0:
        return 0.0
    rate = len(model) / duration
    norm = 1.0 - 2.0 * rate * window
    if norm <= 0:
        return math.nan
    expected = 2.0 * rate * window * len(data)
    return (count_coincidences(model, data, window) - expected) / (0.5 * (len(data) + len(model))) / norm


def intrinsic_reliability(trials, duration, window=2 * ms) -> float:
    r"""Mean :math:`\Gamma` over all ordered pairs of distinct ``trials`` (1 for a single trial)."""
    trials = list(trials)
    if len(trials) < 2:
        return 1.0
    return float(np.mean([gamma_factor(a, b, duration, window) for a, b in itertools.permutations(trials, 2)]))


def normalised_gamma(model, trials, duration, window=2 * ms) -> float:
    r""":math:`\Gamma` of ``model`` averaged over the repeated data ``trials``, divided by their
    intrinsic reliability (Jolivet et al. 2008). A deterministic reference has one trial and
    reliability 1, so this is then plain :math:`\Gamma`."""
    trials = list(trials)
    if not trials:
        raise ValueError("trials must hold at least one data spike train")
    mean = float(np.mean([gamma_factor(model, trial, duration, window) for trial in trials]))
    return mean / intrinsic_reliability(trials, duration, window)


def subthreshold_mask(steps: int, dt, spike_trains, before=2 * ms, after=10 * ms) -> np.ndarray:
    """Boolean mask over ``steps`` samples (sample k at k*dt): True where no spike of any
    train in ``spike_trains`` lies within ``[t - after, t + before]``, i.e. the sample is
    neither in the ``before`` seconds ahead of a spike nor in the ``after`` seconds behind it."""
    dt = to_si(dt, second, "dt")
    before, after = to_si(before, second, "before"), to_si(after, second, "after")
    if before < 0 or after < 0:
        raise ValueError(f"before and after must be >= 0 s, got {before}, {after}")
    t = np.arange(steps) * dt
    keep = np.ones(steps, bool)
    for train in spike_trains:
        spikes = _times(train, "spike_trains")
        keep &= np.searchsorted(spikes, t + before, "right") == np.searchsorted(spikes, t - after, "left")
    return keep


def subthreshold_voltage_error(
    v_model, v_data, dt, spikes_model=(), spikes_data=(), before=2 * ms, after=10 * ms
) -> float:
    r"""RMS of ``v_model - v_data`` (volts) over the samples away from every spike.

    .. math::

        E_V = \sqrt{\frac{1}{|K|}\sum_{k \in K} (v^{model}_k - v^{data}_k)^2},\quad
        K = \{k : t_k \notin [t_s - \text{before},\ t_s + \text{after}]\ \forall t_s\},

    with :math:`t_s` running over the spikes of both trains and :math:`t_k = k\,dt`.

    Returns NaN when no sample is left.
    """
    v_model, v_data = np.asarray(v_model, float), np.asarray(v_data, float)
    if v_model.shape != v_data.shape or v_model.ndim != 1:
        raise ValueError(f"v_model and v_data must be 1-D of equal length, got {v_model.shape} and {v_data.shape}")
    keep = subthreshold_mask(len(v_data), dt, [spikes_model, spikes_data], before, after)
    if not keep.any():
        return math.nan
    return float(np.sqrt(np.mean((v_model[keep] - v_data[keep]) ** 2)))
