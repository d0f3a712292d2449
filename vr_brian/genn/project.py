"""The GeNN project of a VR-C-LIF network, through brian2genn: :func:`generate`.

The network is :func:`vr_brian.genn.build_genn_network` on the GeNN device: the X form of the
neuron (the device chooses it), GeNN's schedule (:mod:`vr_brian.genn`). brian2genn changes
global preferences while it works; :func:`generate` puts them back.
"""

from __future__ import annotations

import dataclasses
import math
import os
import time

import numpy as np
from brian2 import prefs, second, set_device
from brian2.devices import reinit_devices, reset_device

from ..brian import layer_traces
from ..checks import check_spikes, check_weights
from ..connections import dense_connection, random_connection
from ..params import VRParams
from ..traces import Traces
from .device import default_dt
from .network import build_genn_network

__all__ = ["GeNNProject", "generate", "GENN_PATH_HELP"]

#: What building and running a generated project needs.
GENN_PATH_HELP = (
    "To build and run the generated project, GeNN 4.x (4.2.1 or later; GeNN 5 is not supported by "
    "brian2genn) is needed: clone https://github.com/genn-team/genn, check out a 4.x tag (e.g. "
    "4.9.0), and set GENN_PATH to that directory. For the GPU also set CUDA_PATH (the CUDA toolkit); "
    "without a GPU pass --cpu (GeNN's single-threaded CPU backend). The Python side needs the "
    "environment of requirements-genn.txt (brian2genn 1.7.0 with brian2 2.5.x)."
)


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


def generate(
    directory: str,
    *,
    sizes=None,
    weights=None,
    spikes=None,
    rate: float | None = None,
    steps: int | None = None,
    batch: int = 1,
    params: VRParams | None = None,
    mean: float = 0.02,
    std: float = 0.05,
    fan_in: int | None = None,
    seed: int = 0,
    record: bool = True,
    use_gpu: bool = True,
    genn_path: str | None = None,
    build: bool | None = None,
    check_resistance: bool = True,
) -> GeNNProject:
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
        connections = [
            random_connection(sizes[n], sizes[n + 1], fan_in=fan_in, mean=mean, std=std, rng=rng)
            for n in range(len(sizes) - 1)
        ]
    if spikes is not None:
        spikes = np.asarray(spikes)
        spikes = check_spikes(spikes[None] if spikes.ndim == 2 else spikes, connections[0].n_pre)
        batch, steps = spikes.shape[:2]
    elif int(batch) < 1:
        raise ValueError(f"batch must be >= 1, got {batch}")
    assert steps is not None  # taken from spikes, or checked with rate above
    batch, steps = int(batch), int(steps)
    genn_path = genn_path or os.environ.get("GENN_PATH") or None
    build = genn_path is not None if build is None else bool(build)
    if build and genn_path is None:
        raise ValueError("build=True needs genn_path or GENN_PATH: a GeNN 4.x checkout")
    if build and not (genn_path and os.path.isfile(os.path.join(genn_path, "bin", "genn-buildmodel.sh"))):
        raise ValueError(
            f"genn_path (or GENN_PATH) must be a GeNN 4.x checkout with bin/genn-buildmodel.sh, got {genn_path!r}"
        )
    try:
        import brian2genn  # noqa: F401  (registers the 'genn' device)
    except ImportError as error:
        raise ImportError(
            "generate() needs brian2genn 1.7.0, which needs brian2 2.5.x and numpy < 2: install "
            "requirements-genn.txt in its own environment (make genn-env)"
        ) from error
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
        with default_dt(params.dt):
            objects = build_genn_network(
                connections, params, spikes=spikes, rate=rate, batch=batch, form="auto", record=record
            )
            objects["network"].run(steps * params.dt * second, namespace={})
    finally:
        reset_device()
        for name, value in previous.items():
            prefs[name] = value
    elapsed = time.perf_counter() - started
    timings = {"genn_build_and_run": elapsed} if build else {"brian2_codegen": elapsed}
    traces = layer_traces(objects, params, batch, steps, spikes) if build else None
    if traces is not None and record and check_resistance:
        traces.check_resistance(stacklevel=3)
    return GeNNProject(
        directory=directory,
        sizes=tuple(objects["sizes"]),
        synapses=tuple(len(S) for S in objects["synapses"]),
        built=build,
        traces=traces,
        timings=timings,
    )
