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
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import math
import os
import sys
import time

import numpy as np
from brian2 import (Hz, Network, NeuronGroup, PoissonGroup, SpikeGeneratorGroup, SpikeMonitor, StateMonitor,
                    Synapses, defaultclock, get_device, prefs, second, set_device, volt)
from brian2.devices import reinit_devices, reset_device
from brian2.stateupdaters.base import StateUpdateMethod

from .checks import check_spikes, check_weights
from .io import atomic_write, write_json
from .equations import RESET, THRESHOLD, neuron_model, set_parameters
from .params import VRParams
from .settings import codegen_target
from .traces import Traces, spike_array

__all__ = ["GENN_SCHEDULE", "EXACT_KEEPING_U_PREV", "FORMS", "Connection", "GeneratedConnection", "GeNNProject",
           "is_genn_device", "neuron_form", "dense_connection", "random_connection", "run_genn_schedule",
           "generate", "load_weights", "main"]

#: The order in which GeNN (and brian2genn) runs the operations of a step.
GENN_SCHEDULE = ("start", "synapses", "groups", "thresholds", "resets", "end")

#: Neuron forms: "x" is the GeNN-ready VR_CLIF_X; "standard" is VR_CLIF (Dm and Ds both jump);
#: "auto" is "x" on the GeNN device and "standard" elsewhere.
FORMS = ("auto", "x", "standard")

_GENN_PATH_HELP = (
    "To build and run the generated project, GeNN 4.x (4.2.1 or later; GeNN 5 is not supported by "
    "brian2genn) is needed: clone https://github.com/genn-team/genn, check out a 4.x tag (e.g. "
    "4.9.0), and set GENN_PATH to that directory. For the GPU also set CUDA_PATH (the CUDA toolkit); "
    "without a GPU pass --cpu (GeNN's single-threaded CPU backend). The Python side needs the "
    "environment of requirements-genn.txt (brian2genn 1.7.0 with brian2 2.5.x).")


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


def neuron_form(form: str = "auto", device=None, params: VRParams | None = None) -> tuple:
    """The (model equations, on_pre statement) of a neuron form, for the variant of ``params``.

    ``"auto"`` is ``"x"`` when the device is GeNN, else ``"standard"``. The paper's model
    keeps the per-neuron parameter ``alpha`` even at alpha = 0 (0 gives the C-LIF neuron).
    """
    if form not in FORMS:
        raise ValueError(f"form must be one of {FORMS}, got {form!r}")
    if form == "auto":
        form = "x" if is_genn_device(device) else "standard"
    return neuron_model(VRParams() if params is None else params, form, clif_at_alpha0=False)


@dataclasses.dataclass(frozen=True)
class Connection:
    """The synapses of one layer: presynaptic ``i``, postsynaptic ``j``, weight ``w`` (volts).

    Equivalent to the (n_post, n_pre) matrix W with W[j, i] += w for each synapse.
    """

    i: np.ndarray
    j: np.ndarray
    w: np.ndarray
    n_pre: int
    n_post: int

    def __len__(self) -> int:
        return len(self.w)

    def dense(self) -> np.ndarray:
        """The (n_post, n_pre) weight matrix (volts)."""
        W = np.zeros((self.n_post, self.n_pre))
        np.add.at(W, (self.j, self.i), self.w)
        return W


@dataclasses.dataclass(frozen=True)
class GeneratedConnection:
    """Random synapses drawn by the generated code itself (C++ on the host, for GeNN and
    cpp_standalone): each pair connected with probability ``fan_in / n_pre``, weights
    N(mean, std) volts. Nothing of size n_synapses passes through Python, so networks
    of 10^8 synapses are generated in seconds; the draw is not reproducible under GeNN
    (brian2genn does not support seed())."""

    n_pre: int
    n_post: int
    fan_in: int
    mean: float
    std: float

    def __len__(self) -> int:
        """Expected number of synapses."""
        return self.n_post * min(self.fan_in, self.n_pre)


def dense_connection(W) -> Connection:
    """The synapses of an (n_post, n_pre) weight matrix: one per nonzero entry.

    A zero weight adds nothing, so leaving it out changes no result.
    """
    W = np.asarray(W, dtype=float)
    i, j = np.nonzero(W.T)
    return Connection(i.astype(np.int32), j.astype(np.int32), W[j, i], W.shape[1], W.shape[0])


def random_connection(n_pre: int, n_post: int, *, fan_in: int | None, mean: float, std: float,
                      rng: np.random.Generator) -> Connection:
    """``fan_in`` distinct random presynaptic partners per neuron, weights N(mean, std) volts.

    ``fan_in=None`` (or ``>= n_pre``) connects all to all.
    """
    if fan_in is None or fan_in >= n_pre:
        return dense_connection(rng.normal(mean, std, (n_post, n_pre)))
    if fan_in < 1:
        raise ValueError(f"fan_in must be >= 1, got {fan_in}")
    pre = np.sort(rng.integers(0, n_pre, (n_post, fan_in), dtype=np.int32), axis=1)
    for _ in range(100):  # redraw repeated partners until every row is distinct
        repeated = np.zeros(pre.shape, bool)
        repeated[:, 1:] = pre[:, 1:] == pre[:, :-1]
        if not repeated.any():
            break
        pre[repeated] = rng.integers(0, n_pre, int(repeated.sum()), dtype=np.int32)
        pre.sort(axis=1)
    else:
        for row in np.flatnonzero((pre[:, 1:] == pre[:, :-1]).any(axis=1)):
            pre[row] = np.sort(rng.choice(n_pre, fan_in, replace=False))
    post = np.repeat(np.arange(n_post, dtype=np.int32), fan_in)
    return Connection(pre.ravel(), post, rng.normal(mean, std, pre.size), n_pre, n_post)


@contextlib.contextmanager
def _default_dt(dt: float):
    """GeNN allows one clock: every object runs on defaultclock, set to the model's dt."""
    previous = defaultclock.dt
    defaultclock.dt = dt * second
    try:
        yield
    finally:
        defaultclock.dt = previous


def _build(connections, params: VRParams, *, spikes=None, rate=None, batch: int = 1, form: str = "auto",
           record: bool = True) -> dict:
    """The Brian2 objects of the network under GENN_SCHEDULE (device-independent)."""
    model, on_pre = neuron_form(form, params=params)
    sizes = [connections[0].n_pre] + [c.n_post for c in connections]
    if spikes is not None:
        sample, step, channel = np.nonzero(spikes)
        source = SpikeGeneratorGroup(batch * sizes[0], sample * sizes[0] + channel, step * params.dt * second,
                                     name="layer0")
    else:
        source = PoissonGroup(batch * sizes[0], rates=rate * Hz, name="layer0")
    objects = {"layers": [source], "synapses": [], "monitors": {}, "sizes": sizes}
    for n, connection in enumerate(connections, start=1):
        fires = n < len(connections)
        group = NeuronGroup(batch * sizes[n], model, method=EXACT_KEEPING_U_PREV, name=f"layer{n}",
                            threshold=THRESHOLD if fires else None, reset=RESET if fires else None)
        set_parameters(group, params)
        synapses = Synapses(objects["layers"][-1], group, "w : volt", on_pre=on_pre, name=f"weights{n}")
        if isinstance(connection, GeneratedConnection):
            if batch != 1:
                raise ValueError("a GeneratedConnection needs batch=1")
            synapses.connect(p=min(1.0, connection.fan_in / connection.n_pre))
            synapses.w = f"({connection.mean!r} + {connection.std!r}*randn())*volt"
        else:
            offsets = np.arange(batch, dtype=np.int32)[:, None]
            synapses.connect(i=(offsets * sizes[n - 1] + connection.i).ravel(),
                             j=(offsets * sizes[n] + connection.j).ravel())
            synapses.w = np.tile(connection.w, batch) * volt
        objects["layers"].append(group)
        objects["synapses"].append(synapses)
        if record:
            objects["monitors"][f"U_{n}"] = StateMonitor(group, "U_prev", record=True, when="end", name=f"U_{n}")
    for n, layer in enumerate(objects["layers"][:-1]):
        objects["monitors"][f"spikes_{n}"] = SpikeMonitor(layer, name=f"spikes_{n}")
    objects["network"] = Network(objects["layers"], objects["synapses"], list(objects["monitors"].values()))
    objects["network"].schedule = list(GENN_SCHEDULE)
    return objects


def _traces(objects: dict, params: VRParams, steps: int, batch: int, spikes=None, record: bool = True) -> Traces:
    """The Traces of a finished run (layer n's U recorded as U_prev at the end of each step)."""
    sizes = objects["sizes"]

    def fired(n):
        return spike_array(objects["monitors"][f"spikes_{n}"], batch, steps, sizes[n], params.dt)

    U = tuple(np.asarray(objects["monitors"][f"U_{n}"].U_prev_).reshape(batch, sizes[n], steps).transpose(0, 2, 1)
              for n in range(1, len(sizes))) if record else ()
    P = tuple(fired(n) for n in range(1, len(sizes) - 1))
    return Traces(U=U, P=P, spikes=fired(0) if spikes is None else spikes, params=params,
                  monitors=objects["monitors"])


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
        model with R(t) taken from U(t) (module docstring), on the same step index.
    """
    if target not in ("numpy", "cython"):
        raise ValueError(f"target must be 'numpy' or 'cython', got {target!r}")
    if is_genn_device():
        raise RuntimeError("run_genn_schedule runs in plain Brian2; the GeNN device is active: use generate()")
    weights = check_weights(weights)
    spikes = check_spikes(spikes, weights[0].shape[1])
    batch, steps = spikes.shape[:2]
    with codegen_target(target), _default_dt(params.dt):
        objects = _build([dense_connection(W) for W in weights], params, spikes=spikes, batch=batch, form=form)
        objects["network"].run(steps * params.dt * second, namespace={})
    return _traces(objects, params, steps, batch, spikes=spikes)


@dataclasses.dataclass(frozen=True)
class GeNNProject:
    """A generated GeNN project.

    Attributes
    ----------
    directory : str
        The project directory (brian2genn's code, GeNN model ``magicnetwork_model.cpp``).
    sizes : tuple of int
        Layer sizes, input first.
    synapses : tuple of int
        Number of synapses of each layer (times the batch).
    built : bool
        Whether GeNN compiled and ran it (needs GENN_PATH).
    traces : Traces or None
        The run's traces (when built), as every other backend returns them; they follow
        GENN_SCHEDULE (R(t) from U(t), see the module docstring).
    timings : dict
        Seconds spent: ``"brian2_codegen"`` (Python side, building the network and writing
        the project) and, when built, ``"genn_build_and_run"``.
    """

    directory: str
    sizes: tuple
    synapses: tuple
    built: bool
    traces: Traces | None = None
    timings: dict = dataclasses.field(default_factory=dict)

    @property
    def neurons(self) -> int:
        """Number of neurons, input included."""
        return int(sum(self.sizes))


def _check_generate_args(sizes, weights, spikes, rate, steps):
    if (sizes is None) == (weights is None):
        raise ValueError("give either sizes (random weights) or weights (matrices), not both and not neither")
    if (spikes is None) == (rate is None):
        raise ValueError("give either spikes (batch, steps, n_in) or rate (Hz, Poisson input), not both")
    if rate is not None:
        if not (math.isfinite(rate) and rate >= 0):
            raise ValueError(f"rate must be a finite number of Hz >= 0, got {rate}")
        if steps is None or int(steps) < 1:
            raise ValueError(f"steps must be >= 1 with a Poisson rate input, got {steps}")


def generate(directory: str, *, sizes=None, weights=None, spikes=None, rate: float | None = None,
             steps: int | None = None, batch: int = 1, params: VRParams | None = None, mean: float = 0.02,
             std: float = 0.05, fan_in: int | None = None, seed: int = 0, record: bool = True,
             use_gpu: bool = True, genn_path: str | None = None, build: bool | None = None,
             check_resistance: bool = True) -> GeNNProject:
    """Write the GeNN project of a VR-C-LIF network into ``directory``; build and run it if GeNN is there.

    Parameters
    ----------
    directory : str
        Project directory (created; brian2genn overwrites its files).
    sizes : sequence of int, optional
        Layer sizes, input first, for random weights w ~ N(mean, std) volts drawn with ``seed``.
    weights : sequence of ndarray, optional
        One (n_post, n_pre) matrix per layer, volts (instead of ``sizes``); zero entries
        make no synapse.
    spikes : ndarray, optional
        Input spikes (batch, steps, n_in) or (steps, n_in).
    rate : float, optional
        Instead of ``spikes``: Poisson input at this rate (Hz) for ``steps`` steps.
    steps : int, optional
        Number of steps (with ``rate``; taken from ``spikes`` otherwise).
    batch : int
        With ``rate``: number of independent copies of the network (``spikes`` carries its own).
    params : VRParams, optional
        Neuron parameters (default ``VRParams()``).
    mean, std : float
        Weight distribution (volts) for ``sizes``.
    fan_in : int, optional
        For ``sizes``: presynaptic partners per neuron (distinct, random); all-to-all if None.
    seed : int
        Seed of the random weights and connectivity (GeNN's own Poisson input is not seeded).
    record : bool
        Record U of every layer (memory: 8 bytes x neurons x steps); spikes are always recorded.
    use_gpu : bool
        GeNN's CUDA backend (needs CUDA_PATH) or, if False, its CPU backend.
    genn_path : str, optional
        GeNN 4.x checkout; default the GENN_PATH environment variable.
    build : bool, optional
        Compile and run with GeNN; default: whenever a GeNN checkout is known. False
        generates the code only.
    check_resistance : bool
        After a run with ``record``, warn (with counts) when R(t) turned negative or the
        negative-voltage runaway set in, as :func:`vr_brian.simulate` does.

    Returns
    -------
    GeNNProject
        With ``traces`` (a :class:`vr_brian.Traces`) when GeNN built and ran the project.

    Notes
    -----
    The neuron is the GeNN-ready X form (:data:`vr_brian.equations.VR_CLIF_X`), chosen
    because the device is GeNN; the step follows :data:`GENN_SCHEDULE` (module docstring).
    """
    _check_generate_args(sizes, weights, spikes, rate, steps)
    params = VRParams() if params is None else params
    if not isinstance(params, VRParams):
        raise TypeError(f"params must be a VRParams, got {type(params).__name__}")
    if weights is not None:
        connections = [dense_connection(W) for W in check_weights(weights)]
    else:
        sizes = [int(n) for n in sizes]
        if len(sizes) < 2 or min(sizes) < 1:
            raise ValueError(f"sizes must list at least an input and an output layer, all >= 1, got {sizes}")
        if not (math.isfinite(mean) and math.isfinite(std) and std >= 0):
            raise ValueError(f"mean must be finite and std finite and >= 0, got mean={mean}, std={std}")
        rng = np.random.default_rng(seed)
        connections = [random_connection(sizes[n], sizes[n + 1], fan_in=fan_in, mean=mean, std=std, rng=rng)
                       for n in range(len(sizes) - 1)]
    if spikes is not None:
        spikes = np.asarray(spikes)
        spikes = check_spikes(spikes[None] if spikes.ndim == 2 else spikes, connections[0].n_pre)
        batch, steps = spikes.shape[:2]
    elif int(batch) < 1:
        raise ValueError(f"batch must be >= 1, got {batch}")
    batch, steps = int(batch), int(steps)
    genn_path = genn_path or os.environ.get("GENN_PATH") or None
    build = genn_path is not None if build is None else bool(build)
    if build and genn_path is None:
        raise ValueError("build=True needs genn_path or GENN_PATH: a GeNN 4.x checkout")
    if build and not os.path.isfile(os.path.join(genn_path, "bin", "genn-buildmodel.sh")):
        raise ValueError(f"genn_path (or GENN_PATH) must be a GeNN 4.x checkout with bin/genn-buildmodel.sh, "
                         f"got {genn_path!r}")
    try:
        import brian2genn  # noqa: F401  (registers the 'genn' device)
    except ImportError as error:
        raise ImportError("generate() needs brian2genn 1.7.0, which needs brian2 2.5.x and numpy < 2: install "
                          "requirements-genn.txt in its own environment (make genn-env)") from error
    directory = os.path.abspath(directory)
    os.makedirs(directory, exist_ok=True)
    # brian2genn changes these preferences for the whole process; put them back afterwards
    changed = ("core.network.default_schedule", "codegen.loop_invariant_optimisations", "devices.genn.path")
    previous = {name: prefs[name] for name in changed}
    if build:
        prefs.devices.genn.path = genn_path
    started = time.perf_counter()
    reinit_devices()
    set_device("genn", directory=directory, compile=build, run=build, use_GPU=use_gpu, with_output=False)
    try:
        with _default_dt(params.dt):
            objects = _build(connections, params, spikes=spikes, rate=rate, batch=batch, form="auto",
                             record=record)
            objects["network"].run(steps * params.dt * second, namespace={})
    finally:
        reset_device()
        for name, value in previous.items():
            prefs[name] = value
    elapsed = time.perf_counter() - started
    timings = {"genn_build_and_run": elapsed} if build else {"brian2_codegen": elapsed}
    traces = _traces(objects, params, steps, batch, spikes=spikes, record=record) if build else None
    if traces is not None and record and check_resistance:
        traces.check_resistance(stacklevel=3)
    return GeNNProject(directory=directory, sizes=tuple(objects["sizes"]),
                       synapses=tuple(len(S) for S in objects["synapses"]), built=build, traces=traces,
                       timings=timings)


def load_weights(paths) -> list:
    """Weight matrices from files: several .npy (one per layer, in order) or one .npz.

    The arrays of an .npz are taken in the order of their names sorted by the number
    they end with (``W1, W2, ...`` or numpy's ``arr_0, arr_1, ...``).
    """
    paths = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    if len(paths) == 1 and str(paths[0]).endswith(".npz"):
        with np.load(paths[0]) as data:
            def number(name):
                digits = "".join(c for c in reversed(name) if c.isdigit())[::-1]
                return (int(digits) if digits else -1, name)
            return [np.asarray(data[name]) for name in sorted(data.files, key=number)]
    if not all(str(p).endswith(".npy") for p in paths):
        raise ValueError(f"weights must be one .npz file or .npy files (one per layer), got {paths}")
    return [np.load(p) for p in paths]


def _load_spikes(path: str) -> np.ndarray:
    with np.load(path) as data:
        if "spikes" not in data.files and len(data.files) != 1:
            raise ValueError(f"{path} must hold an array named 'spikes' (batch, steps, n_in), found {data.files}")
        return np.asarray(data["spikes" if "spikes" in data.files else data.files[0]])


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vr-brian genn",
        description="Generate the GeNN project of a VR-C-LIF network (brian2genn); with GENN_PATH set to a "
                    "GeNN 4.x checkout, also build and run it and save its traces.")
    net = parser.add_mutually_exclusive_group(required=True)
    net.add_argument("--sizes", help="layer sizes, input first, e.g. 1000,10000,10 (random weights)")
    net.add_argument("--weights", nargs="+", help="weight files: one .npz, or one .npy per layer (volts)")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--spikes", help=".npz with 'spikes' (batch, steps, n_in) or (steps, n_in), bool")
    source.add_argument("--rate", type=float, help="Poisson input rate in Hz (needs --steps)")
    parser.add_argument("--steps", type=int, help="number of steps (with --rate)")
    parser.add_argument("--batch", type=int, default=1, help="copies of the network (with --rate)")
    parser.add_argument("--directory", "-o", required=True, help="project directory to write")
    parser.add_argument("--mean", type=float, default=0.02, help="weight mean, volts (with --sizes)")
    parser.add_argument("--std", type=float, default=0.05, help="weight std, volts (with --sizes)")
    parser.add_argument("--fan-in", type=int, help="presynaptic partners per neuron (default: all to all)")
    parser.add_argument("--seed", type=int, default=0, help="seed of weights and connectivity")
    for name, default, unit in (("tau-m", 20.0, "ms"), ("tau-s", 5.0, "ms"), ("dt", 1.0, "ms"),
                                ("v-thr", 1.0, "V"), ("alpha", 0.3, "")):
        parser.add_argument(f"--{name}", type=float, default=default, help=f"{unit} (default {default:g})")
    parser.add_argument("--no-record", action="store_true", help="do not record voltages (spikes only)")
    parser.add_argument("--cpu", action="store_true", help="GeNN's CPU backend instead of CUDA")
    parser.add_argument("--genn-path", help="GeNN 4.x checkout (default: $GENN_PATH)")
    parser.add_argument("--traces", help="with GeNN: save U and P here (.npz; default DIRECTORY/traces.npz)")
    return parser


def main(argv=None) -> int:
    """``vr-brian genn``: see ``vr-brian genn --help``."""
    args = _parser().parse_args(argv)
    if args.rate is not None and args.steps is None:
        _parser().error("--rate needs --steps")
    try:
        params = VRParams(tau_m=args.tau_m * 1e-3, tau_s=args.tau_s * 1e-3, dt=args.dt * 1e-3, v_thr=args.v_thr,
                          alpha=args.alpha)
        sizes = [int(n) for n in args.sizes.split(",")] if args.sizes else None
        weights = load_weights(args.weights) if args.weights else None
        spikes = _load_spikes(args.spikes) if args.spikes else None
        project = generate(args.directory, sizes=sizes, weights=weights, spikes=spikes, rate=args.rate,
                           steps=args.steps, batch=args.batch, params=params, mean=args.mean, std=args.std,
                           fan_in=args.fan_in, seed=args.seed, record=not args.no_record, use_gpu=not args.cpu,
                           genn_path=args.genn_path)
    except (ValueError, TypeError, ImportError, OSError) as error:
        print(f"vr-brian genn: {error}", file=sys.stderr)
        return 2
    print(f"GeNN project: {project.directory}")
    print(f"  layers {list(project.sizes)} ({project.neurons} neurons), synapses {list(project.synapses)}")
    print(f"  {', '.join(f'{k} {v:.1f} s' for k, v in project.timings.items())}")
    if not project.built:
        print("Code generated only. " + _GENN_PATH_HELP)
        return 0
    traces = project.traces
    for n, P in enumerate(traces.P, start=1):
        print(f"  layer {n}: {P.mean() / params.dt:.1f} Hz mean rate")
    if traces.U:
        print(f"  output: max U {traces.U[-1].max():.3g} V (v_thr {params.v_thr:g} V)")
    out = args.traces or os.path.join(project.directory, "traces.npz")
    arrays = {f"U_{n}": U for n, U in enumerate(project.traces.U, start=1)}
    arrays.update({f"P_{n}": P for n, P in enumerate(project.traces.P, start=1)})
    atomic_write(out, lambda file: np.savez_compressed(file, spikes=project.traces.spikes, **arrays))
    write_json(os.path.join(project.directory, "vr_brian_run.json"),
               {"sizes": list(project.sizes), "synapses": list(project.synapses), "timings": project.timings,
                "params": repr(params)})
    print(f"traces: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
