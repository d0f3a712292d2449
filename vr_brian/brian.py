"""VR-C-LIF networks in Brian2: groups, layer connections, and a compile-once runner.

The schedule that makes a Brian2 network equal the iterative model step for step:

- Dm, Ds and Re decay (``method='exact'``) in the ``groups`` slot;
- the input, every synaptic pathway and every hidden layer's thresholder run in the
  ``thresholds`` slot, interleaved by ``order`` (input 0, pathway 0->1 at 1, layer 1's
  thresholder at 2, pathway 1->2 at 3, ...), so a spike reaches the next layer in the
  step it is fired;
- each group copies U into ``U_prev`` in ``before_resets``, so every input of a step
  sees R(t) computed from U(t-1);
- the reset adds ``v_thr/gamma_m`` to Re, which the next step's decay turns into v_thr;
- monitors record U in ``before_resets``, i.e. before the reset.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile

import numpy as np
from brian2 import (Network, NeuronGroup, SpikeMonitor, StateMonitor, Synapses, TimedArray, get_device,
                    second, set_device, volt)
from brian2.devices import reinit_devices, reset_device

from .checks import check_network
from .equations import RESET, THRESHOLD, neuron_model, set_parameters, synaptic_statement
from .genn import EXACT_KEEPING_U_PREV, is_genn_device
from .params import VRParams
from .settings import codegen_target
from .traces import Traces, spike_array

__all__ = ["vr_neuron_group", "connect_layers", "BrianNetwork", "TARGETS"]

TARGETS = ("numpy", "cython", "cpp_standalone")


def vr_neuron_group(n: int, params: VRParams, *, fires: bool = True, model=None, name: str = "vrclif*",
                    **group_kwargs) -> NeuronGroup:
    """A NeuronGroup of ``n`` VR-C-LIF neurons with the parameters of ``params``.

    Parameters
    ----------
    n : int
        Number of neurons.
    params : VRParams
        Parameters (all neurons get the same; set ``group.alpha`` etc. to vary them).
    fires : bool
        False for an output layer, which neither fires nor resets (eq. 11).
    model : Equations, optional
        Default: the equations of ``params.variant`` (:func:`vr_brian.equations.neuron_model`):
        ``VR_CLIF``, or ``CLIF`` when ``params.alpha == 0`` (so generated code carries no dead
        alpha term), ``VR_CLIF_BOUNDED``, ``VR_CLIF_SPLIT``. On the GeNN device their X form,
        whose synapses write one variable, with ``U_prev`` kept by the state update (GeNN's
        schedule: see :mod:`vr_brian.genn`).
    name : str
        Brian2 name of the group.
    **group_kwargs
        Passed to NeuronGroup (``dt``, ``codeobj_class``, ...); ``dt`` defaults to ``params.dt``.

    Returns
    -------
    NeuronGroup
        With the variables of :data:`vr_brian.equations.VR_CLIF` (U, Dm, Ds, Re, R, ...),
        the ``U_prev`` update in the ``before_resets`` slot and, if ``fires``, the
        threshold and the reset.
    """
    genn = is_genn_device()
    if model is None:
        model = neuron_model(params, "x" if genn else "standard")[0]
    if not genn:  # GeNN allows one clock only: its groups keep the default clock
        group_kwargs.setdefault("dt", params.dt * second)
    group = NeuronGroup(n, model, method=EXACT_KEEPING_U_PREV if genn else "exact", name=name,
                        threshold=THRESHOLD if fires else None, reset=RESET if fires else None, **group_kwargs)
    set_parameters(group, params)
    if not genn:
        group.run_regularly("U_prev = U", when="before_resets", name=group.name + "_uprev")
    return group


def _spike_order(source) -> int:
    """The scheduling order at which ``source`` emits its spikes in the thresholds slot."""
    if isinstance(source, NeuronGroup):
        if "spike" not in source.thresholder:
            raise ValueError(f"source group {source.name!r} has no threshold: it cannot drive a layer")
        return source.thresholder["spike"].order
    return source.order


def connect_layers(source, target: NeuronGroup, weights, *, batch: int = 1, name: str = "synapses*") -> Synapses:
    """Connect ``source`` to the VR-C-LIF ``target`` all-to-all with a weight matrix.

    Parameters
    ----------
    source : NeuronGroup or SpikeGeneratorGroup
        Presynaptic group, of size ``batch * n_pre``.
    target : NeuronGroup
        A group made by :func:`vr_neuron_group`, of size ``batch * n_post``.
    weights : ndarray or Quantity
        (n_post, n_pre) matrix, volts (floats are taken as volts).
    batch : int
        Number of independent copies of the network held side by side: copy ``b``
        uses neurons ``b*n .. (b+1)*n - 1`` of both groups and the same weights.
    name : str
        Brian2 name of the Synapses.

    Notes
    -----
    The pathway runs in the ``thresholds`` slot right after the source emits its
    spikes, and the target's thresholder right after the pathway, so that a spike
    reaches the next layer in the same step. Connect layers in feed-forward order. The
    statement fits the target's equations (:func:`vr_brian.equations.synaptic_statement`:
    the split variant's inhibitory weights use R_inh; a target of the X form gets the
    one-variable statement). On the GeNN device the slots are GeNN's.
    Synapse ``s`` of copy ``b`` maps ``i = b*n_pre + pre``, ``j = b*n_post + post``
    in the order (b, pre, post); :meth:`BrianNetwork.run` relies on it.
    """
    W = np.asarray(weights / volt if hasattr(weights, "dim") else weights, dtype=float)
    n_post, n_pre = W.shape
    if len(source) != batch * n_pre or len(target) != batch * n_post:
        raise ValueError(f"weights of shape {W.shape} with batch={batch} need a source of {batch * n_pre} and a "
                         f"target of {batch * n_post} neurons, got {len(source)} and {len(target)}")
    if source.clock.dt_ != target.clock.dt_:
        raise ValueError(f"source {source.name!r} runs at dt = {source.clock.dt} but target {target.name!r} at "
                         f"{target.clock.dt}: the layers of the iterative model share one time step "
                         f"(give the source dt=params.dt*second)")
    synapses = Synapses(source, target, "w : volt", on_pre=synaptic_statement(target.equations), name=name,
                        clock=target.clock)
    pre, post = np.meshgrid(np.arange(n_pre), np.arange(n_post), indexing="ij")
    offsets = np.arange(batch)[:, None]
    synapses.connect(i=(offsets * n_pre + pre.ravel()).ravel(), j=(offsets * n_post + post.ravel()).ravel())
    synapses.w = np.tile(W.T.ravel(), batch) * volt
    if is_genn_device():  # GeNN forces its own schedule
        return synapses
    synapses.pre.when = "thresholds"
    synapses.pre.order = _spike_order(source) + 1
    if "spike" in target.thresholder:
        target.thresholder["spike"].order = synapses.pre.order + 1
    return synapses


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
        Project directory of the standalone build (a temporary one by default).
    record : bool
        Record U of every layer (needed for :class:`Traces`).

    Notes
    -----
    With ``cpp_standalone`` the project is generated and compiled on the first
    :meth:`run` and every later run re-executes the same binary with the new weights
    and input spikes passed as ``run_args``. Brian2 holds one standalone project per
    process: building a second one makes the first unusable. The runtime targets
    (numpy, cython) build the Brian2 objects on each run; cython caches its compiled
    code, so only the first run of a new model compiles.
    """

    _active_standalone = None

    def __init__(self, sizes, params: VRParams, *, steps: int, batch: int = 1, target: str = "numpy",
                 directory: str | None = None, record: bool = True):
        sizes = [int(n) for n in sizes]
        if len(sizes) < 2 or min(sizes) < 1:
            raise ValueError(f"sizes must list at least an input and an output layer, all >= 1, got {sizes}")
        if target not in TARGETS:
            raise ValueError(f"target must be one of {TARGETS}, got {target!r}")
        if int(steps) < 1 or int(batch) < 1:
            raise ValueError(f"steps and batch must be >= 1, got steps={steps}, batch={batch}")
        self.sizes, self.params, self.steps, self.batch = sizes, params, int(steps), int(batch)
        self.target, self.record = target, record
        self.directory = directory
        self._built = None

    # -- building -----------------------------------------------------------------------
    def _build(self, weights, stimulus: np.ndarray) -> dict:
        """Create the Brian2 objects for ``weights`` and the input ``stimulus`` (steps, batch*n_in)."""
        p, B = self.params, self.batch
        dt = p.dt * second
        stim = TimedArray(stimulus, dt=dt, name="input_spikes")
        source = NeuronGroup(B * self.sizes[0], "", threshold="input_spikes(t, i) > 0.5", reset="", dt=dt,
                             namespace={"input_spikes": stim}, name="layer0")
        objects = {"layers": [source], "synapses": [], "monitors": {}, "stimulus": stim}
        for n, W in enumerate(weights, start=1):
            fires = n < len(weights)
            layer = vr_neuron_group(B * self.sizes[n], p, fires=fires, name=f"layer{n}")
            objects["synapses"].append(connect_layers(objects["layers"][-1], layer, W, batch=B, name=f"weights{n}"))
            objects["layers"].append(layer)
            if self.record:
                objects["monitors"][f"U_{n}"] = StateMonitor(layer, "U", record=True, when="before_resets",
                                                             name=f"U_{n}")
        for n, layer in enumerate(objects["layers"][:-1]):
            objects["monitors"][f"spikes_{n}"] = SpikeMonitor(layer, name=f"spikes_{n}")
        objects["network"] = Network(objects["layers"], objects["synapses"], list(objects["monitors"].values()))
        return objects

    def _stimulus(self, spikes: np.ndarray) -> np.ndarray:
        """Input spikes (batch, steps, n_in) as TimedArray values (steps, batch*n_in)."""
        return np.ascontiguousarray(spikes.transpose(1, 0, 2).reshape(self.steps, -1), dtype=float)

    def _check(self, weights, spikes):
        weights, spikes = check_network(weights, spikes)
        sizes = [weights[0].shape[1]] + [W.shape[0] for W in weights]
        if sizes != self.sizes:
            raise ValueError(f"weights give layer sizes {sizes}, but this network was built for {self.sizes}")
        if spikes.shape[:2] != (self.batch, self.steps):
            raise ValueError(f"spikes must have batch={self.batch} and steps={self.steps}, "
                             f"got shape {spikes.shape} (batch, steps, n_in)")
        return weights, spikes

    # -- running ------------------------------------------------------------------------
    def run(self, weights, spikes) -> Traces:
        """Simulate ``spikes`` (batch, steps, n_in) through the network with ``weights``.

        Returns the :class:`Traces` of the run; ``traces.monitors`` holds the Brian2
        monitors (valid until the next run).
        """
        weights, spikes = self._check(weights, spikes)
        if self.target == "cpp_standalone":
            objects = self._run_standalone(weights, spikes)
        else:
            # connect() and variable assignments run generated code too: keep them on the target
            with codegen_target(self.target):
                objects = self._build(weights, self._stimulus(spikes))
                objects["network"].run(self.steps * self.params.dt * second, namespace={})
        return self._traces(objects, spikes)

    def _run_standalone(self, weights, spikes) -> dict:
        if self._built is None:
            self._compile(weights, spikes)
        elif BrianNetwork._active_standalone is not self:
            raise RuntimeError("another standalone network was built in this process since this one; "
                               "Brian2 holds one standalone project at a time: build this network again")
        objects, standalone = self._built
        run_args = {S.w: np.tile(W.T.ravel(), self.batch) * volt for S, W in zip(objects["synapses"], weights)}
        run_args[objects["stimulus"]] = self._stimulus(spikes)
        standalone.run(run_args=run_args, with_output=False)
        # run_args arrays are written into the project; they are needed by this run only.
        for fname in standalone.run_args_arrays:
            for path in (fname, fname + ".lock"):
                with contextlib.suppress(FileNotFoundError):
                    os.remove(os.path.join(standalone.project_dir, "static_arrays", path))
        return objects

    def _compile(self, weights, spikes):
        if self.directory is None:
            self.directory = tempfile.mkdtemp(prefix="vr_brian_standalone_")
        if BrianNetwork._active_standalone is not None:
            BrianNetwork._active_standalone._built = None
        reinit_devices()
        set_device("cpp_standalone", build_on_run=False, directory=self.directory)
        try:
            objects = self._build(weights, self._stimulus(spikes))
            objects["network"].run(self.steps * self.params.dt * second, namespace={})
            standalone = get_device()
            standalone.build(run=False, directory=self.directory)
        finally:
            reset_device()
        self._built = (objects, standalone)
        BrianNetwork._active_standalone = self

    def _traces(self, objects: dict, spikes: np.ndarray) -> Traces:
        B, steps, sizes = self.batch, self.steps, self.sizes
        U = tuple(np.asarray(objects["monitors"][f"U_{n}"].U_).reshape(B, sizes[n], steps).transpose(0, 2, 1)
                  for n in range(1, len(sizes))) if self.record else ()
        P = [spike_array(objects["monitors"][f"spikes_{n}"], B, steps, sizes[n], self.params.dt)
             for n in range(1, len(sizes) - 1)]
        return Traces(U=U, P=tuple(P), spikes=spikes, params=self.params, monitors=objects["monitors"])

    def close(self):
        """Delete the standalone project directory, if this network made it."""
        if self._built is not None and self.directory and os.path.basename(self.directory).startswith(
                "vr_brian_standalone_"):
            shutil.rmtree(self.directory, ignore_errors=True)
        self._built = None
        if BrianNetwork._active_standalone is self:
            BrianNetwork._active_standalone = None
