"""The record every backend returns: voltages and spikes per layer, plus health checks of R(t)."""

from __future__ import annotations

import dataclasses
import hashlib
import warnings

import numpy as np

from .params import VRParams

__all__ = [
    "Traces",
    "NegativeResistanceWarning",
    "RunawayWarning",
    "RUNAWAY_RESISTANCE",
    "spike_array",
    "weights_fingerprint",
]

#: R(t) above this marks the negative-voltage runaway: the voltage has fallen below
#: -(RUNAWAY_RESISTANCE - 1) * v_thr / alpha, where inhibition is amplified that many times.
RUNAWAY_RESISTANCE = 10.0


class NegativeResistanceWarning(RuntimeWarning):
    """R(t) = 1 - alpha*U(t-1)/v_thr became negative: excitation acts as inhibition there."""


class RunawayWarning(RuntimeWarning):
    """The negative-voltage runaway of alpha != 0 set in: R(t) far above 1."""


def weights_fingerprint(weights) -> str:
    """A digest of weight matrices (shapes and values as float64): what :attr:`Traces.weights` holds.

    The same values give the same fingerprint whatever their float dtype (float32 values are
    exact in float64), so traces of float32 weights are recognised by float64 copies of them.
    """
    digest = hashlib.blake2b(digest_size=16)
    for W in weights:
        W = np.ascontiguousarray(W, dtype=np.float64)
        digest.update(repr(W.shape).encode())
        digest.update(W.tobytes())
    return digest.hexdigest()


def spike_array(monitor, batch: int, steps: int, n: int, dt: float) -> np.ndarray:
    """The spikes of a Brian2 SpikeMonitor on ``batch`` side-by-side copies of ``n`` neurons,
    as a bool array (batch, steps, n); neuron ``b*n + j`` is unit j of sample b."""
    fired = np.zeros((batch, steps, n), bool)
    index = np.asarray(monitor.i_)
    step = np.rint(np.asarray(monitor.t_) / dt).astype(int)
    fired[index // n, step, index % n] = True
    return fired


def _outside(U_prev: np.ndarray, k: float, r_max: float | None) -> tuple:
    """Where R = 1 - k U(t-1) (clipped to [0, r_max] when given) is negative, and where it exceeds
    RUNAWAY_RESISTANCE, as bool arrays: U compared with the voltages where R crosses 0 and
    RUNAWAY_RESISTANCE, without forming R."""
    none = np.zeros(U_prev.shape, bool)
    if k == 0:
        return none, none
    # R < 0 <=> k U > 1;  R > RUNAWAY_RESISTANCE <=> k U < 1 - RUNAWAY_RESISTANCE
    zero_at, runaway_at = 1 / k, (1 - RUNAWAY_RESISTANCE) / k
    negative = (U_prev > zero_at if k > 0 else U_prev < zero_at) if r_max is None else none
    if r_max is not None and r_max <= RUNAWAY_RESISTANCE:
        return negative, none
    return negative, U_prev < runaway_at if k > 0 else U_prev > runaway_at


@dataclasses.dataclass(frozen=True)
class Traces:
    """State traces of a simulated VR-C-LIF network.

    Attributes
    ----------
    U : tuple of ndarray
        Membrane voltage of every layer in volts, each (batch, steps, units); the
        hidden layers' voltage before their reset.
    P : tuple of ndarray
        Output spikes (bool) of every hidden layer, each (batch, steps, units).
        The output layer does not fire.
    spikes : ndarray
        The input spikes, (batch, steps, n_in), bool.
    params : VRParams
        The parameters the traces were made with.
    weights : str or None
        :func:`weights_fingerprint` of the weights the traces were recorded with (set by every
        backend; None for traces put together by hand). A replay
        (:func:`gradients.loss_and_grad` with ``traces=``) with other weights is refused.
    monitors : dict
        For Brian2 runs, the monitors by name (``"spikes_<layer>"``: SpikeMonitor,
        ``"U_<layer>"``: StateMonitor, layer 0 is the input) for inspection; empty
        otherwise. The samples of the batch lie side by side in every layer: neuron
        ``b*n + j`` of a layer of ``n`` units is unit ``j`` of sample ``b`` (so
        ``monitors["U_1"].U[b*n + j]`` is ``U[0][b, :, j]``), and the monitors' time of step
        ``k`` is ``k*dt``, Brian2's start of the step, where :attr:`t` says ``(k+1)*dt``.
    """

    U: tuple
    P: tuple
    spikes: np.ndarray
    params: VRParams
    monitors: dict = dataclasses.field(default_factory=dict, repr=False, compare=False)
    weights: str | None = dataclasses.field(default=None, repr=False, compare=False)

    @property
    def t(self) -> np.ndarray:
        """Time of each step in seconds; step k stands for the paper's t = k + 1."""
        return np.arange(1, self.spikes.shape[1] + 1) * self.params.dt

    @property
    def output(self) -> np.ndarray:
        """Voltage of the output layer, (batch, steps, n_out)."""
        return self.U[-1]

    def spike_times(self, layer: int, sample: int = 0) -> list:
        """Spike times in seconds, one array per neuron, of hidden ``layer`` (1-based; 0 is the input)."""
        hidden = len(self.P)
        if isinstance(layer, bool) or not isinstance(layer, (int, np.integer)) or not 0 <= layer <= hidden:
            raise ValueError(
                f"layer must be 0 (the input) or a hidden layer 1..{hidden} (the output layer does not fire; its "
                f"voltage is traces.output), got {layer!r}"
            )
        batch = self.spikes.shape[0]
        if isinstance(sample, bool) or not isinstance(sample, (int, np.integer)) or not -batch <= sample < batch:
            raise ValueError(f"sample must be an integer in [0, {batch}) (the batch has {batch}), got {sample!r}")
        spikes = self.spikes if layer == 0 else self.P[layer - 1]
        return [self.t[np.flatnonzero(col)] for col in spikes[sample].T]

    def check_resistance(self, stacklevel: int = 3) -> dict:
        """Warn about negative R(t) and about the negative-voltage runaway; return the counts.

        Counts are of (sample, step, neuron) entries, per layer (1-based), of R(t) as the
        variant of ``params`` computes it (in "split", R of excitatory or of inhibitory input).
        Nothing is clipped: the traces are what the model computes.
        """
        counts: dict[str, dict[int, int]] = {"negative": {}, "runaway": {}}
        if not self.params.resistive:
            return counts
        split = self.params.variant == "split"
        for layer, U in enumerate(self.U, start=1):
            U_prev = U[:, :-1]  # R(t) comes from U(t-1); R = 1 at the first step
            negative, runaway = _outside(U_prev, self.params.k_exc, self.params.r_max)
            if split:
                negative_inh, runaway_inh = _outside(U_prev, self.params.k_inh, None)
                negative, runaway = negative | negative_inh, runaway | runaway_inh
            if negative.any():
                counts["negative"][layer] = int(np.count_nonzero(negative))
            if runaway.any():
                counts["runaway"][layer] = int(np.count_nonzero(runaway))
        rule = "R(t) of excitatory or inhibitory input" if split else "R(t) = 1 - alpha*U(t-1)/v_thr"
        if counts["negative"]:
            warnings.warn(
                f"{rule} was negative in {sum(counts['negative'].values())} "
                f"(sample, step, neuron) entries (per layer: {counts['negative']}); inputs there act "
                f"with reversed sign. {self.params!r}.",
                NegativeResistanceWarning,
                stacklevel=stacklevel,
            )
        if counts["runaway"]:
            lowest = min(float(U.min()) for U in self.U)
            warnings.warn(
                f"negative-voltage runaway: R(t) exceeded {RUNAWAY_RESISTANCE:g} in "
                f"{sum(counts['runaway'].values())} (sample, step, neuron) entries (per layer: "
                f"{counts['runaway']}); lowest voltage {lowest:.3g} V. Inhibitory input is amplified "
                f"by R, which lowers the voltage further: reduce alpha or the spread of the weights, "
                f"or bound R (variant='bounded' or 'split').",
                RunawayWarning,
                stacklevel=stacklevel,
            )
        return counts
