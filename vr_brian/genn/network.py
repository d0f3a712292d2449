"""The VR-C-LIF network under GeNN's schedule: the same builder as every Brian2 network of the package.

:func:`build_genn_network` puts an input (recorded spikes or Poisson) in front of
:func:`vr_brian.brian.build_layers` with ``schedule="genn"``: the neurons keep ``U_prev`` in
their state update, every object runs on the default clock, the Network runs
:data:`~vr_brian.genn.GENN_SCHEDULE`, and U is recorded as ``U_prev`` in the ``end`` slot (U of
the step, before its reset). On the GeNN device that is the GeNN project
(:func:`vr_brian.genn.generate`); on any other, :func:`run_genn_schedule` runs what GeNN computes.
"""

from __future__ import annotations

import numpy as np
from brian2 import Hz, PoissonGroup, SpikeGeneratorGroup, second

from ..brian import build_layers, layer_traces
from ..checks import check_spikes, check_weights
from ..connections import dense_connection
from ..params import VRParams
from ..settings import codegen_target
from ..traces import Traces
from .device import default_dt, is_genn_device

__all__ = ["build_genn_network", "run_genn_schedule"]


def build_genn_network(
    connections, params: VRParams, *, spikes=None, rate=None, batch: int = 1, form: str = "auto", record: bool = True
) -> dict:
    """The Brian2 objects of a network under GENN_SCHEDULE, on whatever device is set.

    Parameters
    ----------
    connections : sequence of Connection or GeneratedConnection
        One per layer (:mod:`vr_brian.connections`).
    params : VRParams
        Neuron parameters.
    spikes : ndarray, optional
        Input spikes (batch, steps, n_in), bool: a SpikeGeneratorGroup named ``layer0``.
    rate : float, optional
        Instead: Poisson input at this rate (Hz).
    batch : int
        Copies of the network side by side.
    form : {"auto", "x", "standard"}
        The neuron form (:func:`vr_brian.genn.neuron_form`).
    record : bool
        Record U of every layer; spikes are always recorded.

    Returns
    -------
    dict
        As :func:`vr_brian.brian.build_layers`. Build it inside :func:`vr_brian.genn.default_dt`
        (``params.dt``): GeNN allows one clock.
    """
    n_in = connections[0].n_pre
    if spikes is not None:
        sample, step, channel = np.nonzero(spikes)
        source = SpikeGeneratorGroup(batch * n_in, sample * n_in + channel, step * params.dt * second, name="layer0")
    else:
        source = PoissonGroup(batch * n_in, rates=rate * Hz, name="layer0")
    return build_layers(source, connections, params, batch=batch, schedule="genn", form=form, record=record)


def run_genn_schedule(weights, spikes, params: VRParams, *, form: str = "x", target: str = "numpy") -> Traces:
    """Run a network under GeNN's schedule in plain Brian2: what GeNN computes, on the CPU.

    Parameters
    ----------
    weights : sequence of ndarray
        One (n_post, n_pre) matrix per layer, volts.
    spikes : ndarray
        Input spikes (batch, steps, n_in).
    params : VRParams
        Neuron parameters.
    form : {"x", "standard"}
        The neuron form: both compute the same network (up to rounding).
    target : {"numpy", "cython"}
        Brian2 runtime code-generation target.

    Returns
    -------
    Traces
        U per layer (pre-reset voltage of each step), P per hidden layer: the iterative
        model with R(t) taken from U(t) (:mod:`vr_brian.genn`), on the same step index.
    """
    if target not in ("numpy", "cython"):
        raise ValueError(f"target must be 'numpy' or 'cython', got {target!r}")
    if is_genn_device():
        raise RuntimeError("run_genn_schedule runs in plain Brian2; the GeNN device is active: use generate()")
    weights = check_weights(weights)
    spikes = check_spikes(spikes, weights[0].shape[1])
    batch, steps = spikes.shape[:2]
    with codegen_target(target), default_dt(params.dt):
        objects = build_genn_network(
            [dense_connection(W) for W in weights], params, spikes=spikes, batch=batch, form=form
        )
        objects["network"].run(steps * params.dt * second, namespace={})
    return layer_traces(objects, params, batch, steps, spikes)
