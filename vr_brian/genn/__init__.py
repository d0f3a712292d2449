r"""VR-C-LIF networks for GeNN (through brian2genn), and the schedule GeNN imposes.

GeNN runs every time step in one fixed order, which brian2genn imposes on any Brian2
network it translates::

    GENN_SCHEDULE = ('start', 'synapses', 'groups', 'thresholds', 'resets', 'end')

Synaptic propagation comes *first*: a spike fired in step t reaches its targets in step
t+1, where it is added *before* that step's decay. Written as the iterative model of a
layer n (compare with MODEL.md; P_0 are the input spikes)::

    T_n(t)  = N0 * W_n @ P_{n-1}(t-1) * (1 - alpha * U_n(t-1) / v_thr)
    Dm_n(t) = gamma_m * (Dm_n(t-1) + T_n(t))
    Ds_n(t) = gamma_s * (Ds_n(t-1) + T_n(t))
    Re_n(t) = gamma_m * Re_n(t-1) + v_thr * P_n(t-1)
    U_n(t)  = Dm_n(t) - Ds_n(t) - Re_n(t),    P_n(t) = U_n(t) > v_thr

The extra step of latency costs nothing: Dm and Ds jump together, so in the iterative
model an input does not move U in its own step either (T(t) cancels in Dm(t) - Ds(t)), and
``gamma_m (Dm(t-1) + T) - gamma_s (Ds(t-1) + T)`` is exactly the iterative U one step after
the spike. What differs is R alone: step for step (same step index, no shift), GeNN's
schedule *is* the iterative model with

    R(t) = 1 - alpha * U(t) / v_thr       instead of   1 - alpha * U(t-1) / v_thr,

where U(t) = gamma_m Dm(t-1) - gamma_s Ds(t-1) - Re(t) is known before T(t) is: the input of
a step sees the voltage of that same step, one step fresher than the paper's model. With
alpha = 0 the two are identical (to rounding); with alpha != 0 they differ by O(dt) per
step in R, measured in ``studies/genn_schedule`` at dt = 1 ms and 0.1 ms.

What this module does to fit brian2genn's other limits (one postsynaptic variable
written per synapse with ``+=``, no subexpression in a synaptic statement,
``run_regularly`` only in the ``start`` slot and run on the host, one clock):

- the neuron is :data:`vr_brian.equations.VR_CLIF_X` (X = Dm - Ds, so a spike writes Dm
  alone) with :data:`~vr_brian.equations.ON_PRE_X` (R written out);
- ``U_prev`` is set inside the neuron's own state update, after the exact integration
  step (:data:`EXACT_KEEPING_U_PREV`): it holds the voltage of the step before the reset,
  which is what the next step's synapses read for R;
- the voltage is recorded as ``U_prev`` in the ``end`` slot: U of the step, pre-reset.

Under :data:`GENN_SCHEDULE` a plain Brian2 run of this network computes what GeNN
computes; :func:`run_genn_schedule` does that run on any Brian2 target, and
:func:`generate` writes (and, given a GeNN 4.x checkout, builds and runs) the GeNN project.

The parts:

- :mod:`vr_brian.genn.device`: what GeNN imposes: :data:`GENN_SCHEDULE`, the state update that
  keeps ``U_prev`` (:data:`EXACT_KEEPING_U_PREV`), one clock (:func:`default_dt`), and
  :func:`is_genn_device`;
- :mod:`vr_brian.genn.forms`: which form of the neuron a device gets (:func:`neuron_form`);
- :mod:`vr_brian.genn.network`: the network under GeNN's schedule, built by the same
  :func:`vr_brian.brian.build_layers` as every Brian2 network of this package
  (``schedule="genn"``), and :func:`run_genn_schedule`;
- :mod:`vr_brian.genn.project`: the GeNN project (:func:`generate`, :class:`GeNNProject`).

The connection types (:class:`~vr_brian.connections.Connection`, ...) are those of
:mod:`vr_brian.connections`; the command ``vr-brian genn`` is the app's
(:mod:`vr_brian_app.genn`). The names below are imported on first use.
"""

from .._lazy import lazy_attributes

_LAZY = {
    "GENN_SCHEDULE": "device",
    "EXACT_KEEPING_U_PREV": "device",
    "is_genn_device": "device",
    "default_dt": "device",
    "FORMS": "forms",
    "neuron_form": "forms",
    "build_genn_network": "network",
    "run_genn_schedule": "network",
    "GeNNProject": "project",
    "generate": "project",
    "GENN_PATH_HELP": "project",
    "Connection": "..connections",
    "GeneratedConnection": "..connections",
    "dense_connection": "..connections",
    "random_connection": "..connections",
}

__all__ = list(_LAZY)

__getattr__, __dir__ = lazy_attributes(__name__, _LAZY)
