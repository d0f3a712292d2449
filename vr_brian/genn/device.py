"""What GeNN imposes on a network, and whether the GeNN device is the one in use.

- :data:`GENN_SCHEDULE`: the order of a step, which brian2genn forces on every network;
- :data:`EXACT_KEEPING_U_PREV`: the state update that keeps ``U_prev`` (brian2genn runs a
  ``run_regularly`` operation on the host in the ``start`` slot only);
- :func:`default_dt`: one clock (GeNN allows no other), set to the model's step;
- :func:`is_genn_device`.
"""

from __future__ import annotations

import contextlib

from brian2 import defaultclock, get_device, second
from brian2.stateupdaters.base import StateUpdateMethod

__all__ = ["GENN_SCHEDULE", "EXACT_KEEPING_U_PREV", "is_genn_device", "default_dt"]

#: The order in which GeNN (and brian2genn) runs the operations of a step.
GENN_SCHEDULE = ("start", "synapses", "groups", "thresholds", "resets", "end")


class _ExactKeepingUPrev(StateUpdateMethod):
    """Exact integration of a linear model, then ``U_prev = U``.

    Setting ``U_prev`` inside the state update (not by a ``run_regularly`` operation,
    which brian2genn runs on the host in the ``start`` slot only, copying the state
    between device and host every step) leaves U_prev holding U(t) before the reset
    of step t, which is what R of step t+1 needs.
    """

    def __call__(self, equations, variables=None, method_options=None):
        exact = StateUpdateMethod.stateupdaters["exact"](equations, variables, method_options)
        return exact + "\nU_prev = U"

    def __repr__(self):
        return "EXACT_KEEPING_U_PREV"


#: The state-update method of the GeNN-schedule neuron (see :class:`_ExactKeepingUPrev`).
EXACT_KEEPING_U_PREV = _ExactKeepingUPrev()


def is_genn_device(device=None) -> bool:
    """Whether ``device`` (default: Brian2's current device) is brian2genn's GeNN device."""
    device = get_device() if device is None else device
    return type(device).__name__ == "GeNNDevice"


@contextlib.contextmanager
def default_dt(dt: float):
    """The block with Brian2's default clock at ``dt`` (seconds), as before afterwards: GeNN allows one
    clock, so every object of a GeNN-schedule network runs on the default clock."""
    previous = defaultclock.dt
    defaultclock.dt = dt * second
    try:
        yield
    finally:
        defaultclock.dt = previous
