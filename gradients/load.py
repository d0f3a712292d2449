"""A network trained by ``vr-brian train`` back in Brian2, in one call: :func:`load_network`.

::

    trained = load_network("runs/demo")                   # weights, parameters, class names, metrics
    train, test = trained.data()                          # the run's data, rebuilt from data.json
    traces = trained.simulate(test.spikes[:8])            # in Brian2, as vr_brian.simulate
    layers = trained.build(source)                        # or as groups of your own network:
    Network(source, *layers, StateMonitor(layers.output, "U", record=True, when="before_resets"))

The checkpoint is read by :func:`gradients.checkpoint.load_checkpoint`; Brian2 is imported when a
network is built or simulated, not when this module is (the trainer stands on the library,
:mod:`vr_brian`, which knows nothing of it).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from vr_brian.params import VRParams
from vr_brian.traces import Traces

from .checkpoint import CHECKPOINT_NAME, METRICS_NAME, load_checkpoint
from .recipe import load_run_data

__all__ = ["load_network", "TrainedNetwork", "TrainedLayers"]


@dataclasses.dataclass(frozen=True)
class TrainedLayers:
    """The Brian2 objects of a trained network behind a source of your own (:meth:`TrainedNetwork.build`).

    Iterating gives every group and every Synapses, so ``Network(source, *layers, monitors...)``
    holds the whole network.

    Attributes
    ----------
    groups : tuple of VRNeuronGroup
        Hidden layers, then the output layer (which neither fires nor resets).
    synapses : tuple of Synapses
        Layer ``n``'s input is ``synapses[n]``.
    """

    groups: tuple
    synapses: tuple

    @property
    def hidden(self) -> tuple:
        return self.groups[:-1]

    @property
    def output(self):
        return self.groups[-1]

    def __iter__(self):
        return iter(self.groups + self.synapses)


@dataclasses.dataclass(frozen=True)
class TrainedNetwork:
    """A trained VR-C-LIF network, as :func:`load_network` reads it from a run folder.

    Attributes
    ----------
    weights : tuple of ndarray
        (n_post, n_pre) per layer, volts, in the dtype they were trained in.
    params : VRParams
        The neuron parameters of the run.
    class_names : tuple of str
        One name per output neuron.
    epoch : int
        Number of training epochs behind the weights.
    history : list of dict
        The metrics of every epoch (``history[-1]["test"]["micro"]["f"]``: the final test F).
    run_dir : Path
        The run folder.
    """

    weights: tuple
    params: VRParams
    class_names: tuple
    epoch: int
    history: list
    run_dir: Path

    @property
    def sizes(self) -> tuple:
        """Layer sizes, input first."""
        return (self.weights[0].shape[1],) + tuple(W.shape[0] for W in self.weights)

    def data(self) -> tuple:
        """The (train, test) :class:`gradients.data.SpikeData` of the run, rebuilt from its ``data.json``
        (see :func:`gradients.recipe.load_run_data`)."""
        return load_run_data(self.run_dir)

    def simulate(self, spikes, backend: str = "brian2", **kwargs) -> Traces:
        """:func:`vr_brian.simulate` of the trained network on ``spikes`` (batch, steps, n_in)."""
        from vr_brian.simulation import simulate

        return simulate(self.weights, spikes, self.params, backend, **kwargs)

    def build(self, source, *, batch: int = 1) -> TrainedLayers:
        """The trained layers as Brian2 groups, driven by ``source``.

        Parameters
        ----------
        source : NeuronGroup, SpikeGeneratorGroup or PoissonGroup
            ``batch * n_in`` input neurons on the run's time step (``dt=trained.params.dt*second``).
        batch : int
            Copies of the network side by side (neuron ``b*n + j`` of a layer is unit ``j`` of copy ``b``).

        Returns
        -------
        TrainedLayers
            Every group and Synapses, to put into a Network with ``source`` and your monitors.
        """
        from vr_brian.brian import connect_layers, vr_neuron_group

        groups, synapses, below = [], [], source
        for n, W in enumerate(self.weights, start=1):
            group = vr_neuron_group(
                batch * W.shape[0], self.params, fires=n < len(self.weights), name=f"trained_layer{n}*"
            )
            synapses.append(connect_layers(below, group, W, batch=batch, name=f"trained_weights{n}*"))
            groups.append(group)
            below = group
        return TrainedLayers(groups=tuple(groups), synapses=tuple(synapses))


def load_network(run_dir) -> TrainedNetwork:
    """Load the trained network of a ``vr-brian train`` run (its folder, or a checkpoint file in it).

    Parameters
    ----------
    run_dir : str or Path
        The ``--out`` folder of the run (its last epoch), or a checkpoint file in it: ``checkpoint.npz``,
        or ``best.npz`` (the epoch of highest test F, with ``--keep-best``).

    Returns
    -------
    TrainedNetwork
        Weights, parameters and metrics; :meth:`~TrainedNetwork.build` makes the Brian2 groups,
        :meth:`~TrainedNetwork.simulate` runs them, :meth:`~TrainedNetwork.data` rebuilds the data.

    Raises
    ------
    FileNotFoundError
        If there is no checkpoint.
    ValueError
        If the file is not a checkpoint of this version.
    """
    path = Path(run_dir)
    if path.is_dir():
        path = path / CHECKPOINT_NAME
    checkpoint = load_checkpoint(path)
    metrics_path = path.parent / METRICS_NAME
    metrics = json.loads(metrics_path.read_text()) if metrics_path.is_file() else {}
    n_out = checkpoint.weights[-1].shape[0]
    class_names = tuple(metrics.get("class_names") or (f"class {k}" for k in range(n_out)))
    return TrainedNetwork(
        weights=tuple(checkpoint.weights),
        params=checkpoint.params,
        class_names=class_names,
        epoch=checkpoint.epoch,
        history=list(checkpoint.history),
        run_dir=path.parent,
    )
