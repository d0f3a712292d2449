"""VR-C-LIF networks in Brian2: the building blocks of one's own network, and a compile-once runner.

The building blocks (for a network of your own, see the README):

- :func:`vr_neuron_group`: a :class:`VRNeuronGroup` of VR-C-LIF neurons (exact integration,
  threshold, reset and the ``U_prev`` update of :mod:`vr_brian.equations`);
- :func:`vr_synapses`: Synapses onto such a group with the model's ``on_pre``, to connect as
  you like; :func:`connect_layers`: the same, connected all-to-all from a weight matrix;
- :func:`add_u_prev_update`: the ``U_prev`` update for a NeuronGroup of the model's equations
  made by hand.

A :class:`VRNeuronGroup` checks before every run that each Synapses of the network that writes
its variables uses the model's statement, and that each StateMonitor of it records in
``before_resets``: anything else runs, but computes another model.

The schedule that makes a Brian2 network equal the iterative model step for step:

- Dm, Ds and Re decay (``method='exact'``) in the ``groups`` slot;
- each group copies U into ``U_prev`` in ``before_resets``, so every input of a step
  sees R(t) computed from U(t-1);
- the reset adds ``v_thr/gamma_m`` to Re, which the next step's decay turns into v_thr;
- monitors record U in ``before_resets``, i.e. after the step's input and before the reset;
- a spike reaches the next layer in the step it is fired. :func:`connect_layers` runs the input,
  every synaptic pathway and every hidden layer's thresholder in the ``thresholds`` slot,
  interleaved by ``order`` (input 0, pathway 0->1 at 1, layer 1's thresholder at 2, pathway
  1->2 at 3, ...). Brian2's default order (all thresholds, then all synapses) computes the same:
  Dm and Ds jump together, so an input does not move U in the step it arrives.

That is the ``"iterative"`` schedule (:data:`SCHEDULES`). The builders also make networks under
``"genn"``, the schedule GeNN imposes (:mod:`vr_brian.genn`): U_prev kept by the state update,
one clock, no slots of their own; it is the default on the GeNN device. :func:`build_layers`
makes the whole feed-forward network behind an input group, under either schedule, for
:class:`BrianNetwork` and for :mod:`vr_brian.genn` alike.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import shutil
import sys
import tempfile
import weakref
from typing import Any

import numpy as np
from brian2 import (
    Network,
    NeuronGroup,
    SpikeMonitor,
    StateMonitor,
    Synapses,
    TimedArray,
    get_device,
    second,
    set_device,
    volt,
)
from brian2.core.variables import ArrayVariable
from brian2.devices import reset_device
from brian2.devices.cpp_standalone.device import CPPStandaloneDevice
from brian2.devices.device import all_devices
from brian2.groups.subgroup import Subgroup
from brian2.parsing.statements import parse_statement
from brian2.parsing.sympytools import str_to_sympy
from brian2.synapses.synapses import SynapticPathway
from brian2.utils.stringtools import get_identifiers, word_substitute

from .checks import check_integer, check_network, check_params, check_quantity, check_weight_matrix
from .connections import Connection, GeneratedConnection, full_connection
from .equations import RESET, THRESHOLD, U_PREV_UPDATE, U_WHEN, set_parameters, synaptic_statement
from .genn.device import EXACT_KEEPING_U_PREV, GENN_SCHEDULE, is_genn_device
from .genn.forms import neuron_form
from .params import VRParams
from .settings import codegen_target
from .traces import Traces, spike_array, weights_fingerprint

__all__ = [
    "vr_neuron_group",
    "vr_synapses",
    "connect_layers",
    "add_u_prev_update",
    "build_layers",
    "layer_traces",
    "VRNeuronGroup",
    "BrianNetwork",
    "TARGETS",
    "REPORTS",
    "SCHEDULES",
]

TARGETS = ("numpy", "cython", "cpp_standalone")
#: Brian2's named progress reports (``run(report=...)``); the runtime targets also take a callable.
REPORTS = ("text", "stdout", "stderr")
#: Schedules of a network: "iterative" equals the iterative model step for step (the module
#: docstring); "genn" is GeNN's (:data:`vr_brian.genn.GENN_SCHEDULE`), forced on the GeNN device.
SCHEDULES = ("iterative", "genn")
#: Where each schedule holds U(t) of the step before its reset: (variable, slot) to record.
_VOLTAGE_RECORD = {"iterative": ("U", U_WHEN), "genn": ("U_prev", "end")}


def _schedule(schedule: str | None) -> str:
    """``schedule`` checked, None being the device's: "genn" on the GeNN device, else "iterative"."""
    if schedule is None:
        return "genn" if is_genn_device() else "iterative"
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of {SCHEDULES} (or None: the device's), got {schedule!r}")
    if schedule != "genn" and is_genn_device():
        raise ValueError("the GeNN device runs its own schedule: schedule must be 'genn' (or None) there")
    return schedule


#: Variables every VR-C-LIF group has, whatever its variant and form.
_MODEL_VARIABLES = ("Dm", "Re", "U", "U_prev", "R", "N0", "tau_m", "v_thr")
#: The state of the model, which a synapse may change by the model's statement only.
_MODEL_STATE = ("Dm", "Ds", "X", "Re", "U_prev")


def _whole(group):
    """The group itself, or the group a Subgroup is part of."""
    return group.source if isinstance(group, Subgroup) else group


def _same(a, b) -> bool:
    """Whether ``a`` and ``b`` are one Brian2 object (Brian2 often holds weak proxies, for which ``is`` fails)."""
    return a.id == b.id


def _code(text: str) -> str:
    """``text`` without white space, to compare one-line statements and conditions."""
    return re.sub(r"\s+", "", text)


class VRNeuronGroup(NeuronGroup):
    """A NeuronGroup of VR-C-LIF neurons, made by :func:`vr_neuron_group`.

    Before every run it checks what the network does to it, and refuses (ValueError, naming the
    object and the fix) what would compute another model without an error:

    - a Synapses writing its variables with another statement than the model's
      (:func:`vr_brian.equations.synaptic_statement`: N0*w*R(t) into both Dm and Ds), or on
      another time step;
    - a StateMonitor of it recording outside the ``before_resets`` slot, where it would see the
      previous step after its reset instead of U(t) (under GeNN's schedule, which is its own,
      slots are not checked).
    """

    def __init__(self, *args, schedule: str = "iterative", **kwargs):
        self._vr_schedule = schedule  # set before Brian2 closes the group to new attributes
        super().__init__(*args, **kwargs)

    @property
    def schedule(self) -> str:
        """The schedule the group was made for (:data:`SCHEDULES`)."""
        return self._vr_schedule

    def before_run(self, run_namespace=None):
        super().before_run(run_namespace)
        network = _network_being_prepared()
        if network is not None:
            _check_surroundings(self, network.sorted_objects)


def _network_being_prepared():
    """The Network whose ``before_run`` is calling: Brian2 tells an object nothing about the network it
    runs in, so it is found on the call stack (None if not there)."""
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_name == "before_run" and isinstance(frame.f_locals.get("self"), Network):
            return frame.f_locals["self"]
        frame = frame.f_back
    return None


def _statements(code: str, synapses=None, group=None) -> dict:
    """``{variable: (operator, sympy expression)}`` of the statements of ``code`` that change the model's
    state (:data:`_MODEL_STATE`) of ``group``; variables of one's own are left out.

    Without ``synapses``, ``code`` is a template whose postsynaptic names carry ``_post`` already;
    with it, every name that ``synapses`` resolves to a variable of ``group`` (``Dm`` as well as
    ``Dm_post``) is written ``<name>_post``, so that statements compare whatever their spelling.
    """
    renamed = {}
    if synapses is not None:
        for name in get_identifiers(code):
            variable = synapses.variables.get(name)
            owner = getattr(variable, "owner", None)
            if owner is not None and getattr(owner, "id", None) == group.id:
                renamed[name] = variable.name + "_post"
    written = {}
    for line in re.split(r"[;\n]", code):
        if not line.strip() or line.strip().startswith("#"):
            continue
        var, op, expr, _ = parse_statement(line)
        var = renamed.get(var, var)
        if var.endswith("_post") and var[: -len("_post")] in _MODEL_STATE:
            written[var] = (op, str_to_sympy(word_substitute(expr, renamed)))
    return written


def _check_surroundings(group: VRNeuronGroup, objects) -> None:
    """Refuse the Synapses and StateMonitors among ``objects`` that would silently change ``group``'s model."""
    model_statement = synaptic_statement(group.equations)
    expected = _statements(model_statement)
    for obj in objects:
        if isinstance(obj, Synapses) and _same(_whole(obj.target), group):
            _check_same_step(obj.source, group)
            for pathway in (p for p in obj.contained_objects if isinstance(p, SynapticPathway)):
                written = _statements(pathway.code, obj, group)
                if written and written != expected:
                    raise ValueError(
                        f"Synapses {obj.name!r} change the VR-C-LIF group {group.name!r} by {pathway.code.strip()!r}, "
                        f"but a VR-C-LIF synapse adds N0*w*R to Dm and Ds, R from the voltage of the previous "
                        f"step: make the synapses with vr_brian.vr_synapses(source, {group.name}) or give them "
                        f"on_pre=vr_brian.equations.synaptic_statement({group.name}.equations), here "
                        f"{'; '.join(line.strip() for line in model_statement.strip().splitlines())!r}"
                    )
        elif (
            isinstance(obj, StateMonitor)
            and _same(_whole(obj.source), group)
            and obj.when != U_WHEN
            and group.schedule == "iterative"
            and not is_genn_device()
        ):
            raise ValueError(
                f"StateMonitor {obj.name!r} records {', '.join(obj.record_variables)} of the VR-C-LIF group "
                f"{group.name!r} in the {obj.when!r} slot, where the group still holds the previous step after "
                f"its reset: U(t) of the model, and what vr_brian.simulate returns, is there in {U_WHEN!r} only. "
                f"Create it with StateMonitor(..., when={U_WHEN!r})."
            )


def add_u_prev_update(group) -> None:
    """Make ``group`` keep ``U_prev``, the voltage R(t) is computed from, once per step.

    For a NeuronGroup of the model's equations made by hand (:func:`vr_neuron_group` does this
    itself): without it ``U_prev`` stays 0 and R stays 1, with no error. Adds the
    :data:`~vr_brian.equations.U_PREV_UPDATE` operation in the
    :data:`~vr_brian.equations.U_WHEN` slot, at ``order=1``: after the monitors of that slot
    (order 0), so that a recorded R or U_prev is the one the step's input saw, whatever the
    names (Brian2 breaks ties of order by name).
    """
    if is_genn_device():
        raise RuntimeError(
            "on the GeNN device U_prev is kept by the state update: create the group with "
            "method=vr_brian.genn.EXACT_KEEPING_U_PREV (vr_neuron_group does)"
        )
    group.run_regularly(U_PREV_UPDATE, when=U_WHEN, order=1, name=group.name + "_uprev")


def _updates_u_prev(group) -> bool:
    if group.method_choice is EXACT_KEEPING_U_PREV:
        return True
    return any(
        getattr(obj, "when", None) == U_WHEN and _code(getattr(obj, "abstract_code", "") or "") == _code(U_PREV_UPDATE)
        for obj in group.contained_objects
    )


def _check_target(target) -> None:
    """Refuse a target group that would compute another model than the VR-C-LIF neuron, naming the fix."""
    group = _whole(target)
    fix = "make it with vr_brian.vr_neuron_group(n, params)"
    missing = [name for name in _MODEL_VARIABLES if name not in getattr(group, "variables", {})]
    if not isinstance(group, NeuronGroup) or missing:
        raise ValueError(f"target {group.name!r} is not a group of VR-C-LIF neurons (it lacks {missing}): {fix}")
    if not _updates_u_prev(group):
        raise ValueError(
            f"target {group.name!r} never updates U_prev, so R(t) = 1 - alpha*U(t-1)/v_thr would stay 1: "
            f"{fix}, or call vr_brian.add_u_prev_update({group.name})"
        )
    method = group.method_choice
    first = method[0] if isinstance(method, (list, tuple)) and method else method
    if first not in ("exact", "linear", EXACT_KEEPING_U_PREV):
        raise ValueError(
            f"target {group.name!r} integrates with method={method!r}; the iterative model decays Dm, Ds "
            f"and Re exactly: {fix}, or pass method='exact'"
        )
    if "spike" in group.events:
        threshold, reset = group.events["spike"], group.event_codes.get("spike") or ""
        if _code(threshold) != _code(THRESHOLD) or _code(reset) != _code(RESET):
            raise ValueError(
                f"target {group.name!r} fires with threshold={threshold!r}, reset={reset!r}; the model's "
                f"are threshold={THRESHOLD!r}, reset={RESET!r} (vr_brian.equations.THRESHOLD, RESET: "
                f"the reset counts v_thr undecayed at the next step): {fix}"
            )


def _check_same_step(source, target) -> None:
    if source.clock.dt_ != target.clock.dt_:
        raise ValueError(
            f"source {source.name!r} runs at dt = {source.clock.dt} but target {target.name!r} at "
            f"{target.clock.dt}: the layers of the iterative model share one time step "
            f"(give the source dt=params.dt*second)"
        )


def vr_neuron_group(
    n: int,
    params: VRParams,
    *,
    fires: bool = True,
    model=None,
    name: str = "vrclif*",
    schedule: str | None = None,
    form: str = "auto",
    **group_kwargs,
) -> VRNeuronGroup:
    """A NeuronGroup of ``n`` VR-C-LIF neurons with the parameters of ``params``.

    Parameters
    ----------
    n : int
        Number of neurons.
    params : VRParams
        Parameters (all neurons get the same; set ``group.alpha``, ``group.tau_m`` etc. to vary
        them per neuron: every parameter is a per-neuron constant, alpha included, also at
        ``params.alpha = 0``).
    fires : bool
        False for an output layer, which neither fires nor resets (eq. 11).
    model : Equations, optional
        Default: the equations of ``params.variant`` (:func:`vr_brian.equations.neuron_model`):
        ``VR_CLIF``, ``VR_CLIF_BOUNDED``, ``VR_CLIF_SPLIT``, in the form ``form``.
    name : str
        Brian2 name of the group.
    schedule : {"iterative", "genn"}, optional
        :data:`SCHEDULES`; default the device's ("genn" on the GeNN device). Under "genn" the
        group keeps the default clock (GeNN allows one) and ``U_prev`` is kept by the state
        update (:data:`vr_brian.genn.EXACT_KEEPING_U_PREV`); under "iterative" it runs at
        ``params.dt`` with the ``U_prev`` update in the ``before_resets`` slot.
    form : {"auto", "x", "standard"}
        The neuron's form (:func:`vr_brian.genn.neuron_form`): "auto" is the X form, whose
        synapses write one variable, on the GeNN device, and the standard form elsewhere.
    **group_kwargs
        Passed to NeuronGroup (``dt``, ``codeobj_class``, ...); ``dt`` defaults to ``params.dt``.

    Returns
    -------
    VRNeuronGroup
        A NeuronGroup with the variables of :data:`vr_brian.equations.VR_CLIF` (U, Dm, Ds, Re,
        R, ...), the ``U_prev`` update in the ``before_resets`` slot and, if ``fires``, the
        threshold and the reset. Connect it with :func:`vr_synapses` or :func:`connect_layers`
        and record it with ``StateMonitor(group, "U", record=True, when="before_resets")``.
    """
    n = check_integer(n, "n (the number of neurons)")
    check_params(params)
    schedule = _schedule(schedule)
    genn = schedule == "genn"
    if model is None:
        model = neuron_form(form, params=params)[0]
    if not genn:  # GeNN allows one clock only: its groups keep the default clock
        group_kwargs.setdefault("dt", params.dt * second)
    group = VRNeuronGroup(
        n,
        model,
        method=EXACT_KEEPING_U_PREV if genn else "exact",
        name=name,
        threshold=THRESHOLD if fires else None,
        reset=RESET if fires else None,
        schedule=schedule,
        **group_kwargs,
    )
    set_parameters(group, params)
    if not genn:
        add_u_prev_update(group)
    return group


def vr_synapses(source, target, model: str = "w : volt", *, name: str = "synapses*", **synapses_kwargs) -> Synapses:
    """Synapses from ``source`` onto VR-C-LIF neurons, with the model's ``on_pre``; connect them yourself.

    Parameters
    ----------
    source : NeuronGroup, SpikeGeneratorGroup, PoissonGroup or Subgroup
        Presynaptic neurons, on the target's time step.
    target : NeuronGroup or Subgroup
        VR-C-LIF neurons (:func:`vr_neuron_group`, or a NeuronGroup of the model's equations with
        the model's threshold and reset, ``method='exact'`` and :func:`add_u_prev_update`).
    model : str
        Synaptic model; it must define the weight ``w`` in volts (the peak PSP at alpha = 0).
    name : str
        Brian2 name of the Synapses.
    **synapses_kwargs
        Passed to Synapses (``delay``, ``on_post``, ...); the clock defaults to the target's.

    Returns
    -------
    Synapses
        Not connected yet: call ``connect(...)`` and set ``w`` (e.g. ``S.w = 'rand()*0.2*volt'``).

    Raises
    ------
    ValueError
        Before anything is created, if ``target`` would compute another model (no ``U_prev``
        update, another integration method, threshold or reset) or runs on another time step
        than ``source``.

    Notes
    -----
    The statement is :func:`vr_brian.equations.synaptic_statement` of the target's equations: a
    spike adds ``N0*w*R`` to Dm and Ds, R from the voltage of the previous step (``R_inh`` for
    inhibitory weights in variant "split"; Dm alone in the X form).
    """
    if "on_pre" in synapses_kwargs:
        raise TypeError(
            "vr_synapses writes the model's on_pre itself; for statements of your own, make a Synapses "
            "with on_pre=vr_brian.equations.synaptic_statement(target.equations) + your statements"
        )
    _check_target(target)
    _check_same_step(source, target)
    if "dt" not in synapses_kwargs:
        synapses_kwargs.setdefault("clock", target.clock)
    return Synapses(
        source, target, model, on_pre=synaptic_statement(_whole(target).equations), name=name, **synapses_kwargs
    )


def _spike_order(source) -> int:
    """The scheduling order at which ``source`` emits its spikes in the thresholds slot."""
    if isinstance(source, NeuronGroup):
        if "spike" not in source.thresholder:
            raise ValueError(f"source group {source.name!r} has no threshold: it cannot drive a layer")
        return source.thresholder["spike"].order
    return source.order


def connect_layers(
    source, target, weights, *, batch: int = 1, name: str = "synapses*", schedule: str | None = None
) -> Synapses:
    """Connect ``source`` to the VR-C-LIF ``target`` with a weight matrix (all-to-all) or a connection.

    Parameters
    ----------
    source : NeuronGroup, SpikeGeneratorGroup or PoissonGroup
        Presynaptic group, of size ``batch * n_pre``.
    target : NeuronGroup
        VR-C-LIF neurons (see :func:`vr_synapses`), ``batch * n_post`` of them.
    weights : ndarray, Quantity, Connection or GeneratedConnection
        (n_post, n_pre) matrix, volts (plain numbers are taken as volts, a quantity must be in
        volts; every entry finite), as :func:`vr_brian.simulate` takes them: every pair is
        connected. Or the synapses of :mod:`vr_brian.connections`: a :class:`Connection` (the
        pairs it lists) or a :class:`GeneratedConnection` (drawn by the generated code; ``batch=1``).
    batch : int
        Number of independent copies of the network held side by side: copy ``b``
        uses neurons ``b*n .. (b+1)*n - 1`` of both groups and the same weights.
    name : str
        Brian2 name of the Synapses.
    schedule : {"iterative", "genn"}, optional
        :data:`SCHEDULES`; default the target's (that of :func:`vr_neuron_group`), else the device's.

    Raises
    ------
    ValueError
        Before anything is created: weights not in volts or not finite, sizes that do not
        match, or a target that :func:`vr_synapses` refuses.

    Notes
    -----
    Under the "iterative" schedule the pathway runs in the ``thresholds`` slot right after the
    source emits its spikes, and the target's thresholder right after the pathway, so that a spike
    reaches the next layer in the same step. Connect layers in feed-forward order. The
    statement is that of :func:`vr_synapses`. Under GeNN's schedule the slots are GeNN's.
    Synapse ``s`` of copy ``b`` maps ``i = b*n_pre + pre``, ``j = b*n_post + post``
    in the order (b, pre, post) for a matrix (:func:`vr_brian.connections.full_connection`), in
    the connection's order otherwise; :meth:`BrianNetwork.run` relies on it.
    """
    if schedule is None:
        schedule = getattr(_whole(target), "schedule", None)
    schedule = _schedule(schedule)
    if int(batch) != batch or batch < 1:
        raise ValueError(f"batch must be an integer >= 1, got {batch!r}")
    if isinstance(weights, (Connection, GeneratedConnection)):
        connection = weights
    else:
        connection = full_connection(check_weight_matrix(weights, "weights"))
    n_post, n_pre = connection.shape
    if isinstance(connection, GeneratedConnection) and batch != 1:
        raise ValueError("a GeneratedConnection needs batch=1")
    if len(source) != batch * n_pre or len(target) != batch * n_post:
        raise ValueError(
            f"weights of shape {connection.shape} with batch={batch} need a source of {batch * n_pre} "
            f"and a target of {batch * n_post} neurons, got {len(source)} and {len(target)}"
        )
    synapses = vr_synapses(source, target, name=name)
    if isinstance(connection, GeneratedConnection):
        synapses.connect(p=min(1.0, connection.fan_in / connection.n_pre))
        synapses.w = f"({connection.mean!r} + {connection.std!r}*randn())*volt"
    else:
        offsets = np.arange(batch)[:, None]
        synapses.connect(i=(offsets * n_pre + connection.i).ravel(), j=(offsets * n_post + connection.j).ravel())
        synapses.w = np.tile(connection.w, batch) * volt
    if schedule == "genn":  # GeNN forces its own schedule
        return synapses
    synapses.pre.when = "thresholds"
    synapses.pre.order = _spike_order(source) + 1
    if "spike" in target.thresholder:
        target.thresholder["spike"].order = synapses.pre.order + 1
    return synapses


def build_layers(
    source,
    connections,
    params: VRParams,
    *,
    batch: int = 1,
    schedule: str | None = None,
    form: str = "auto",
    record: bool = True,
) -> dict:
    """The feed-forward VR-C-LIF network behind ``source``: its layers, synapses, monitors and Network.

    Parameters
    ----------
    source : NeuronGroup, SpikeGeneratorGroup or PoissonGroup
        The input, ``batch * n_in`` neurons, named ``layer0`` by convention.
    connections : sequence
        Per layer, what :func:`connect_layers` takes: a weight matrix or a connection.
    params : VRParams
        Neuron parameters of every layer.
    batch : int
        Copies of the network side by side.
    schedule : {"iterative", "genn"}, optional
        :data:`SCHEDULES`, default the device's; under "genn" the Network runs
        :data:`vr_brian.genn.GENN_SCHEDULE`.
    form : {"auto", "x", "standard"}
        The neurons' form (:func:`vr_neuron_group`).
    record : bool
        Record U of every layer before its reset (``U_<n>``); spikes are always recorded
        (``spikes_<n>``, layer 0 the input).

    Returns
    -------
    dict
        ``layers`` (the source, then groups ``layer1``, ...; the last does not fire), ``synapses``
        (``weights1``, ...), ``monitors`` (by name), ``sizes`` and ``network``; :func:`layer_traces`
        reads the run.
    """
    schedule = _schedule(schedule)
    shapes = [c.shape if isinstance(c, (Connection, GeneratedConnection)) else np.shape(c) for c in connections]
    sizes = [shapes[0][1]] + [shape[0] for shape in shapes]
    objects: dict = {"layers": [source], "synapses": [], "monitors": {}, "sizes": sizes}
    variable, when = _VOLTAGE_RECORD[schedule]
    for n, connection in enumerate(connections, start=1):
        group = vr_neuron_group(
            batch * sizes[n], params, fires=n < len(connections), name=f"layer{n}", schedule=schedule, form=form
        )
        objects["synapses"].append(
            connect_layers(objects["layers"][-1], group, connection, batch=batch, name=f"weights{n}", schedule=schedule)
        )
        objects["layers"].append(group)
        if record:
            objects["monitors"][f"U_{n}"] = StateMonitor(group, variable, record=True, when=when, name=f"U_{n}")
    for n, layer in enumerate(objects["layers"][:-1]):
        objects["monitors"][f"spikes_{n}"] = SpikeMonitor(layer, name=f"spikes_{n}")
    objects["network"] = Network(objects["layers"], objects["synapses"], list(objects["monitors"].values()))
    if schedule == "genn":
        objects["network"].schedule = list(GENN_SCHEDULE)
    return objects


def layer_traces(objects: dict, params: VRParams, batch: int, steps: int, spikes=None) -> Traces:
    """The :class:`Traces` of a finished run of :func:`build_layers`' ``objects`` (U empty without
    ``record``); the input spikes as given, else as the input's monitor saw them."""
    sizes, monitors = objects["sizes"], objects["monitors"]

    def fired(n):
        return spike_array(monitors[f"spikes_{n}"], batch, steps, sizes[n], params.dt)

    U = tuple(
        np.asarray(getattr(monitors[f"U_{n}"], monitors[f"U_{n}"].record_variables[0] + "_"))
        .reshape(batch, sizes[n], steps)
        .transpose(0, 2, 1)
        for n in range(1, len(sizes))
        if f"U_{n}" in monitors
    )
    P = tuple(fired(n) for n in range(1, len(sizes) - 1))
    return Traces(U=U, P=P, spikes=fired(0) if spikes is None else spikes, params=params, monitors=monitors)


@contextlib.contextmanager
def _on_device(device, **options):
    """Run the block on ``device``; then the device that was active before, with its build options, again."""
    set_device(device, **options)
    try:
        yield
    finally:
        reset_device()


def _runtime_device():
    """The block on Brian2's runtime device, whatever device the user has set."""
    runtime = all_devices["runtime"]
    return contextlib.nullcontext() if get_device() is runtime else _on_device(runtime)


def _check_report(report, report_period, target: str) -> None:
    if report is not None and not callable(report) and report not in REPORTS:
        raise ValueError(f"report must be None, one of {REPORTS} or a callable as for Brian2's run(), got {report!r}")
    if callable(report) and target == "cpp_standalone":
        raise ValueError(
            f"with target='cpp_standalone' the compiled program reports itself: report must be one of "
            f"{REPORTS}, got a callable"
        )
    check_quantity(report_period, second, "report_period")


def _keep_in_memory(monitors, device) -> None:
    """Read every recorded array of ``monitors`` into ``device``'s cache: a standalone device reads them from
    its project folder on every access, and that folder is about to be deleted."""
    for monitor in monitors:
        for variable in monitor.variables.values():
            owner = getattr(variable, "owner", None)
            if isinstance(variable, ArrayVariable) and getattr(owner, "id", None) == monitor.id:
                device.array_cache[variable] = device.get_value(variable)


class BrianNetwork:
    """A feed-forward VR-C-LIF network in Brian2, built once and run on many inputs.

    Parameters
    ----------
    sizes : sequence of int
        Layer sizes, input first: ``(384, 700, 10)``.
    params : VRParams
        Neuron parameters.
    steps : int
        Number of time steps per run.
    batch : int
        Number of samples simulated side by side in each run.
    target : {"numpy", "cython", "cpp_standalone"}
        Brian2 code-generation target.
    directory : str, optional
        Project directory of the standalone build (default: a temporary one, deleted by
        :meth:`close`, at the end of a ``with`` block, or when the network is garbage-collected).
    record : bool
        Record U of every layer (needed for :class:`Traces`).
    report : {None, "text", "stdout", "stderr"} or callable
        Progress report of every run, as Brian2's ``run(report=...)``; a callable (runtime
        targets only) is called as ``report(elapsed, completed, start, duration)``.
    report_period : Quantity
        Wall-clock time between reports (``10*second``).

    Notes
    -----
    With ``cpp_standalone`` the project is generated and compiled on the first
    :meth:`run` and every later run re-executes the same binary with the new weights
    and input spikes passed as ``run_args``. Each network compiles on a standalone
    device of its own, so the device you set (``set_device``) and other networks are
    left as they are. The runtime targets (numpy, cython) build the Brian2 objects on
    each run, on Brian2's runtime device whatever device is set; cython caches its
    compiled code, so only the first run of a new model compiles.

    Layout of the monitors (``traces.monitors``): the ``batch`` samples are side by side, so
    neuron ``b*n + j`` of a layer of ``n`` units is unit ``j`` of sample ``b``
    (:attr:`vr_brian.Traces.monitors`).
    """

    def __init__(
        self,
        sizes,
        params: VRParams,
        *,
        steps: int,
        batch: int = 1,
        target: str = "numpy",
        directory: str | None = None,
        record: bool = True,
        report=None,
        report_period=10 * second,
    ):
        sizes_given = sizes
        try:
            sizes = [check_integer(n, "sizes") for n in sizes]
        except (TypeError, ValueError):
            sizes = []
        if len(sizes) < 2:
            raise ValueError(
                f"sizes must list at least an input and an output layer, integers >= 1, got {sizes_given!r}"
            )
        check_params(params)
        if target not in TARGETS:
            raise ValueError(f"target must be one of {TARGETS}, got {target!r}")
        steps, batch = check_integer(steps, "steps"), check_integer(batch, "batch")
        _check_report(report, report_period, target)
        self.sizes, self.params, self.steps, self.batch = sizes, params, int(steps), int(batch)
        self.target, self.record = target, record
        self.report, self.report_period = report, report_period
        self.directory = directory
        self._built: Any = None  # (objects, standalone device) once compiled
        self._remove_directory = None

    def __enter__(self) -> BrianNetwork:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    # -- building -----------------------------------------------------------------------
    def _build(self, weights, stimulus: np.ndarray) -> dict:
        """Create the Brian2 objects for ``weights`` and the input ``stimulus`` (steps, batch*n_in)."""
        p, B = self.params, self.batch
        dt = p.dt * second
        stim = TimedArray(stimulus, dt=dt, name="input_spikes")
        source = NeuronGroup(
            B * self.sizes[0],
            "",
            threshold="input_spikes(t, i) > 0.5",
            reset="",
            dt=dt,
            namespace={"input_spikes": stim},
            name="layer0",
        )
        objects = build_layers(source, weights, p, batch=B, schedule="iterative", record=self.record)
        objects["stimulus"] = stim
        return objects

    def _run_objects(self, objects: dict) -> None:
        objects["network"].run(
            self.steps * self.params.dt * second, namespace={}, report=self.report, report_period=self.report_period
        )

    def _stimulus(self, spikes: np.ndarray) -> np.ndarray:
        """Input spikes (batch, steps, n_in) as TimedArray values (steps, batch*n_in)."""
        return np.ascontiguousarray(spikes.transpose(1, 0, 2).reshape(self.steps, -1), dtype=float)

    def _check(self, weights, spikes):
        weights, spikes = check_network(weights, spikes)
        sizes = [weights[0].shape[1]] + [W.shape[0] for W in weights]
        if sizes != self.sizes:
            raise ValueError(f"weights give layer sizes {sizes}, but this network was built for {self.sizes}")
        if spikes.shape[:2] != (self.batch, self.steps):
            raise ValueError(
                f"spikes must have batch={self.batch} and steps={self.steps}, "
                f"got shape {spikes.shape} (batch, steps, n_in)"
            )
        return weights, spikes

    # -- running ------------------------------------------------------------------------
    def run(self, weights, spikes) -> Traces:
        """Simulate ``spikes`` (batch, steps, n_in) through the network with ``weights``.

        Returns the :class:`Traces` of the run; ``traces.monitors`` holds the Brian2
        monitors (valid until the next run; after :meth:`close`, those of the last run).
        """
        weights, spikes = self._check(weights, spikes)
        if self.target == "cpp_standalone":
            objects = self._run_standalone(weights, spikes)
        else:
            # connect() and variable assignments run generated code too: keep them on the target
            with _runtime_device(), codegen_target(self.target):
                objects = self._build(weights, self._stimulus(spikes))
                self._run_objects(objects)
        return dataclasses.replace(self._traces(objects, spikes), weights=weights_fingerprint(weights))

    def _run_standalone(self, weights, spikes) -> dict:
        if self._built is None:
            self._compile(weights, spikes)
        objects, standalone = self._built
        run_args = {
            S.w: np.tile(W.T.ravel(), self.batch) * volt for S, W in zip(objects["synapses"], weights, strict=True)
        }
        run_args[objects["stimulus"]] = self._stimulus(spikes)
        standalone.run(run_args=run_args, with_output=self.report is not None)
        # run_args arrays are written into the project; they are needed by this run only.
        for fname in standalone.run_args_arrays:
            for path in (fname, fname + ".lock"):
                with contextlib.suppress(FileNotFoundError):
                    os.remove(os.path.join(standalone.project_dir, "static_arrays", path))
        return objects

    def _compile(self, weights, spikes):
        if self.directory is None:
            self.directory = tempfile.mkdtemp(prefix="vr_brian_standalone_")
            self._remove_directory = weakref.finalize(self, shutil.rmtree, self.directory, ignore_errors=True)
        standalone = CPPStandaloneDevice()
        with _on_device(standalone, build_on_run=False, directory=self.directory):
            objects = self._build(weights, self._stimulus(spikes))
            self._run_objects(objects)
            standalone.build(run=False, directory=self.directory)
        self._built = (objects, standalone)

    def _traces(self, objects: dict, spikes: np.ndarray) -> Traces:
        return layer_traces(objects, self.params, self.batch, self.steps, spikes)

    def close(self):
        """Delete the standalone project directory, if this network made it.

        The monitors of the last run stay readable (their arrays are read into memory first).
        """
        if self._built is not None:
            objects, standalone = self._built
            if standalone.has_been_run:
                _keep_in_memory(objects["monitors"].values(), standalone)
        if self._remove_directory is not None:
            self._remove_directory()
            self._remove_directory = None
            self.directory = None
        self._built = None
