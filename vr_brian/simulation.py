"""``simulate``: one entry point over every backend."""

from __future__ import annotations

from brian2 import second

from .brian import TARGETS, BrianNetwork, _check_report
from .checks import check_network, check_params
from .params import VRParams
from .reference import forward
from .traces import Traces

__all__ = ["simulate", "BACKENDS"]

BACKENDS = ("numpy", "brian2")


def simulate(
    weights,
    spikes,
    params: VRParams,
    backend: str = "numpy",
    *,
    target: str | None = None,
    directory: str | None = None,
    check_resistance: bool = True,
    report=None,
    report_period=10 * second,
) -> Traces:
    """Simulate a feed-forward VR-C-LIF network on a batch of input spike trains.

    Parameters
    ----------
    weights : sequence of ndarray
        One (n_post, n_pre) float matrix per layer, volts.
    spikes : ndarray
        Input spikes, (batch, steps, n_in), bool or 0/1.
    params : VRParams
        Neuron parameters.
    backend : {"numpy", "brian2"}
        ``"numpy"``: the vectorised iterative reference. ``"brian2"``: a Brian2
        network run with the code-generation ``target``.
    target : {"numpy", "cython", "cpp_standalone"}, optional
        Brian2 code-generation target (backend ``"brian2"`` only; default ``"numpy"``). With the
        numpy backend a target, a directory or a report is refused: it would be ignored.
    directory : str, optional
        Standalone project directory (target ``"cpp_standalone"`` only), kept after the run;
        by default a temporary one, deleted before ``simulate`` returns.
    check_resistance : bool
        Warn (with counts) when R(t) turns negative or the negative-voltage runaway sets in.
    report : {None, "text", "stdout", "stderr"} or callable
        Progress of the Brian2 run, as Brian2's ``run(report=...)`` (backend ``"brian2"``; a
        callable with the runtime targets only).
    report_period : Quantity
        Wall-clock time between reports.

    Returns
    -------
    Traces
        ``U`` per layer (batch, steps, units) in volts, ``P`` per hidden layer (bool);
        for Brian2, ``monitors`` holds the SpikeMonitors and StateMonitors (the samples of the
        batch side by side: neuron ``b*n + j`` of a layer of ``n`` is unit ``j`` of sample ``b``).

    Notes
    -----
    The Brian2 backend runs on a device of its own (the runtime device, or a standalone device
    made for the run), so a device set with ``set_device`` before is neither used nor changed.

    Examples
    --------
    >>> import numpy as np
    >>> from brian2 import ms, volt
    >>> params = VRParams(tau_m=20*ms, tau_s=5*ms, v_thr=1*volt, alpha=0.3, dt=1*ms)
    >>> rng = np.random.default_rng(0)
    >>> weights = [rng.normal(0.1, 0.3, (8, 4)), rng.normal(0.1, 0.3, (2, 8))]
    >>> spikes = rng.random((1, 50, 4)) < 0.2
    >>> simulate(weights, spikes, params).U[-1].shape
    (1, 50, 2)
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if backend == "numpy":
        given = {"target": target, "directory": directory, "report": report}
        ignored = [name for name, value in given.items() if value is not None]
        if ignored:
            raise ValueError(
                f"{', '.join(ignored)} {'is' if len(ignored) == 1 else 'are'} Brian2's: the numpy backend would ignore "
                f"{'it' if len(ignored) == 1 else 'them'}; pass backend='brian2' to run Brian2 (or leave them out)"
            )
    target = "numpy" if target is None else target
    if target not in TARGETS:
        raise ValueError(f"target must be one of {TARGETS}, got {target!r}")
    check_params(params)
    _check_report(report, report_period, target)
    weights, spikes = check_network(weights, spikes)
    if backend == "numpy":
        traces = forward(weights, spikes, params, check=False)
    else:
        sizes = [weights[0].shape[1]] + [W.shape[0] for W in weights]
        with BrianNetwork(
            sizes,
            params,
            steps=spikes.shape[1],
            batch=spikes.shape[0],
            target=target,
            directory=directory,
            report=report,
            report_period=report_period,
        ) as network:
            traces = network.run(weights, spikes)
    if check_resistance:
        traces.check_resistance(stacklevel=3)
    return traces
