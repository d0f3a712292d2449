r"""Training a VR-C-LIF network with the tempotron-like loss: minibatches, evaluation, checkpoints.

:func:`train` is the whole loop as one function of (data, configuration,
parameters): initialise (or resume), then for every epoch shuffle the training
set, take one optimiser step per minibatch on the gradient of
:func:`gradients.loss_and_grad`, evaluate on the test set (:func:`evaluate`) and,
when given an output folder, write a checkpoint and ``metrics.json`` atomically.
A run interrupted at any point and resumed from its folder reaches the same
weights as an uninterrupted run: the checkpoint holds the weights, the optimiser
state, the epoch, the metrics history and the state of the random generator
that shuffles the data.

Weight initialisation (:func:`init_weights`): for a layer with ``n_pre`` inputs,

.. math::

    W_{ij} \sim \mathcal N\!\left(\mu, \sigma^2\right),\qquad
    \mu = g_\mu \frac{v_{thr}}{n_{pre}},\qquad
    \sigma = g_\sigma \frac{v_{thr}}{\sqrt{n_{pre}}},

drawn from the run's seeded generator, layer by layer, input layer first. A weight
is the peak PSP it causes at ``alpha = 0`` (volts), so :math:`\mu` makes all
inputs firing together reach :math:`g_\mu v_{thr}` and :math:`\sigma` scales the
spread of the summed input like :math:`v_{thr}` whatever the fan-in. The defaults
``g_mu = 2``, ``g_sigma = 1`` make the hidden layer fire sparsely on the built-in
task at the start of training without the negative-voltage runaway of
``alpha = 0.3`` (see MODEL.md).

With ``init="stable"`` the spread of each layer is lowered, where needed, until the
a-priori loop gain of the runaway (:func:`vr_brian.stability.initial_gain`) is at most
``stability_target``, given the firing rate of the layer's inputs measured on the training
data (and, for deeper layers, on the layers below as just drawn).

Remedies against the runaway of the paper's R(t) (MODEL.md), each an option of
:class:`TrainConfig` that leaves the model unchanged:

- ``clip_grad_norm``: the gradient's global L2 norm is bounded before each step;
- ``warmup_epochs`` and ``lr_decay``: a linear learning-rate warm-up, then a cosine decay
  (:func:`gradients.optim.learning_rate_factor`); ``lr_fan_in``: each layer's learning rate
  scaled by ``lr_fan_in / n_pre``, so that the summed change of a neuron's input per step
  does not grow with the width of the layer below;
- ``stability_bound``: after each step every layer is projected
  (:func:`vr_brian.stability.project_to_bound`) so that its loop gain lies within
  ``[-bound, bound]`` for the input of every sample of the minibatch;
- ``recover``: a minibatch with a non-finite loss or gradient does not end the run; the
  epoch restarts from its beginning (same shuffle) with the learning rate multiplied by
  ``recover_factor``, at most ``recover`` times in a run, each logged in the history. The
  learning-rate scale is part of the checkpoint, so that a resumed run reaches the same
  weights.

Forward passes come from the numpy reference (``forward="numpy"``) or from Brian2
(``forward="brian2"``): one :class:`vr_brian.BrianNetwork` with the
``cpp_standalone`` target, compiled once for the minibatch size and re-run with
new weights and spikes for every minibatch; its traces are replayed into
:func:`gradients.loss_and_grad`. A last, partial minibatch is padded with empty
samples whose traces are dropped before the loss.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from vr_brian.checks import check_integer
from vr_brian.io import atomic_write, check_output_dir, remove_temporaries
from vr_brian.params import VRParams
from vr_brian.stability import project_to_bound, stable_std_gain
from vr_brian.traces import Traces

from .checkpoint import (
    BEST_NAME,
    CHECKPOINT_NAME,
    METRICS_NAME,
    Checkpoint,
    CheckpointError,
    load_checkpoint,
    save_checkpoint,
    write_json,
)
from .data import SpikeData
from .forward import record_forward
from .metrics import classification_report
from .optim import LR_DECAYS, OPTIMIZERS, clip_by_global_norm, learning_rate_factor, make_optimizer
from .paper import check_variant
from .surrogate import check_width
from .tempotron import (
    LOSSES,
    METHODS,
    check_margin,
    check_positive_weight,
    check_readout,
    loss_and_grad,
    output_loss,
    predict,
)

__all__ = [
    "TrainConfig",
    "TrainResult",
    "TrainingDiverged",
    "init_weights",
    "initial_weights",
    "evaluate",
    "train",
    "best_epoch",
    "plot_history",
    "FORWARDS",
    "INITS",
    "DTYPES",
    "CHECKPOINT_NAME",
    "METRICS_NAME",
    "BEST_NAME",
]

#: Where the forward passes of training run (:class:`TrainConfig` ``forward``).
FORWARDS = ("numpy", "brian2")

#: Initialisations of :func:`initial_weights`.
INITS = ("gain", "stable")

#: Arithmetic of weights, gradients and optimiser.
DTYPES = ("float32", "float64")

#: The default bound of the projection: at |G| = 1/2 a neuron's mean voltage stays within
#: [-v_thr/alpha, 2/3 v_thr/alpha]; studies/training_stability measures it against no remedy.
DEFAULT_STABILITY_BOUND = 0.5


def _check_number(
    value, name: str, low: float, high: float = math.inf, low_closed: bool = True, optional: bool = False
):
    """``value`` as a float in the range, None when ``optional`` and None, or a ValueError naming it."""
    if value is None and optional:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    inside = (number >= low if low_closed else number > low) and number <= high
    if not (math.isfinite(number) and inside):
        interval = f"{'[' if low_closed else '('}{low:g}, {high:g}]"
        raise ValueError(f"{name} must lie in {interval}{' (or None)' if optional else ''}, got {value!r}")
    return number


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """How to train (immutable; validated on creation).

    Attributes
    ----------
    hidden : tuple of int
        Sizes of the hidden layers (the input and output sizes come from the data).
    epochs : int
        Number of passes over the training set.
    batch_size : int
        Samples per minibatch.
    optimizer : {"sgd", "adam"}
    lr : float
        Learning rate (per volt of loss gradient).
    momentum : float
        SGD momentum in [0, 1).
    weight_decay : float
        Decoupled weight decay :math:`\\lambda` (AdamW's rule, :mod:`gradients.optim`): each step
        multiplies the weights by :math:`1 - \\eta\\lambda` before its update; 0: none.
    method : {"bptt", "paper"}
        Gradient method of :func:`gradients.loss_and_grad`.
    q : Quantity, float or None
        Surrogate width, volts (None: the default of :mod:`gradients.surrogate`).
    margin : Quantity or float
        Loss margin, volts.
    positive_weight : float
        Weight of the errors of target outputs in the loss (:func:`gradients.loss_and_grad`);
        raise it for many-output multi-label data.
    loss : {"tempotron", "bce", "cross_entropy"}
        The loss of the maximal output voltage (:data:`gradients.tempotron.LOSSES`); with
        ``cross_entropy`` the evaluation answers with the output of highest V_max.
    readout_scale : Quantity, float or None
        The voltage scale of the cross entropies (None: v_thr).
    seed : int
        Seed of the initial weights and of the shuffling.
    dtype : {"float32", "float64"}
        Arithmetic of weights, gradients and optimiser.
    forward : {"numpy", "brian2"}
        Where the forward passes run.
    init_mean_gain, init_std_gain : float
        :math:`g_\\mu` and :math:`g_\\sigma` of :func:`init_weights`.
    init : {"gain", "stable"}
        "gain": :func:`init_weights` as given; "stable": each layer's :math:`g_\\sigma` lowered,
        where needed, to an a-priori loop gain of at most ``stability_target``.
    stability_target : float
        The loop gain ``init="stable"`` aims at (> 0).
    clip_grad_norm : float or None
        Bound of the gradient's global L2 norm (None: no clipping).
    warmup_epochs : float
        Length of the linear learning-rate warm-up, in epochs (0: none).
    lr_decay : {"none", "cosine"}
        Decay of the learning rate after the warm-up, to 0 at the last epoch.
    lr_fan_in : int or None
        Scale each layer's learning rate by ``lr_fan_in / n_pre`` (None: the same for all).
    stability_bound : float or None
        Project every layer after each step onto loop gains within ``[-bound, bound]`` for the
        input of every sample of the minibatch (None: no projection; default
        :data:`DEFAULT_STABILITY_BOUND`). It changes nothing at alpha = 0.
    recover : int
        How many non-finite minibatches a run may recover from (0: the first ends it; default 2).
    recover_factor : float
        Factor on the learning rate at each recovery, in (0, 1).
    """

    hidden: tuple = (32,)
    epochs: int = 10
    batch_size: int = 32
    optimizer: str = "adam"
    lr: float = 0.01
    momentum: float = 0.0
    weight_decay: float = 0.0
    method: str = "bptt"
    q: float | None = None
    margin: float = 0.0
    positive_weight: float = 1.0
    loss: str = "tempotron"
    readout_scale: float | None = None
    seed: int = 0
    dtype: str = "float32"
    forward: str = "numpy"
    init_mean_gain: float = 2.0
    init_std_gain: float = 1.0
    init: str = "gain"
    stability_target: float = 0.5
    clip_grad_norm: float | None = None
    warmup_epochs: float = 0.0
    lr_decay: str = "none"
    lr_fan_in: int | None = None
    stability_bound: float | None = DEFAULT_STABILITY_BOUND
    recover: int = 2
    recover_factor: float = 0.5

    def __post_init__(self):
        hidden = self.hidden
        if not isinstance(hidden, (list, tuple, np.ndarray)):
            hidden = (hidden,)
        try:
            hidden = tuple(check_integer(n, "hidden", 1) for n in hidden)
        except ValueError:
            raise ValueError(
                f"hidden must be a layer size or a sequence of layer sizes, integers >= 1, got {self.hidden!r}"
            ) from None
        object.__setattr__(self, "hidden", hidden)
        for name in ("epochs", "batch_size", "seed", "recover"):
            low = 0 if name in ("seed", "recover") else 1
            object.__setattr__(self, name, check_integer(getattr(self, name), name, low))
        choices = {
            "optimizer": OPTIMIZERS,
            "method": METHODS,
            "dtype": DTYPES,
            "forward": FORWARDS,
            "init": INITS,
            "lr_decay": LR_DECAYS,
            "loss": LOSSES,
        }
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {getattr(self, name)!r}")
        # quantities at the edge (q=0.5*volt), SI floats inside
        object.__setattr__(self, "q", check_width(self.q))
        object.__setattr__(self, "margin", check_margin(self.margin))
        object.__setattr__(self, "positive_weight", check_positive_weight(self.positive_weight))
        object.__setattr__(self, "readout_scale", check_readout(self.loss, self.readout_scale))
        if not (math.isfinite(self.init_std_gain) and self.init_std_gain >= 0 and math.isfinite(self.init_mean_gain)):
            raise ValueError(
                f"init_std_gain must be >= 0 and both gains finite, got {self.init_mean_gain!r}, {self.init_std_gain!r}"
            )
        numbers = {
            "stability_target": (0, math.inf, False, False),
            "clip_grad_norm": (0, math.inf, False, True),
            "warmup_epochs": (0, self.epochs, True, False),
            "stability_bound": (0, math.inf, False, True),
            "recover_factor": (0, 1, False, False),
        }
        for name, (low, high, closed, optional) in numbers.items():
            object.__setattr__(self, name, _check_number(getattr(self, name), name, low, high, closed, optional))
        if self.recover_factor == 1:
            raise ValueError("recover_factor must lie in (0, 1): a recovery lowers the learning rate")
        if self.lr_fan_in is not None:
            if int(self.lr_fan_in) != self.lr_fan_in or self.lr_fan_in < 1:
                raise ValueError(f"lr_fan_in must be an integer >= 1 (or None), got {self.lr_fan_in!r}")
            object.__setattr__(self, "lr_fan_in", int(self.lr_fan_in))
        if self.optimizer != "sgd" and self.momentum != 0:
            raise ValueError(
                f"momentum is a setting of optimizer='sgd' (--optimizer sgd); {self.optimizer!r} has none (Adam's "
                f"beta1 = 0.9 plays its part), got momentum={self.momentum!r}: leave it at 0 or choose 'sgd'"
            )
        object.__setattr__(self, "weight_decay", self.make_optimizer().weight_decay)  # validates lr and both

    def make_optimizer(self):
        return make_optimizer(self.optimizer, self.lr, momentum=self.momentum, weight_decay=self.weight_decay)

    def objective(self) -> dict:
        """The loss settings, as keyword arguments of :func:`gradients.loss_and_grad` and :func:`evaluate`."""
        return {
            "margin": self.margin,
            "positive_weight": self.positive_weight,
            "loss": self.loss,
            "readout_scale": self.readout_scale,
        }

    def layer_lr_scales(self, sizes) -> tuple:
        """The factor on the learning rate of each layer (``lr_fan_in / n_pre``, or 1)."""
        return tuple(1.0 if self.lr_fan_in is None else self.lr_fan_in / n_pre for n_pre in sizes[:-1])

    def replace(self, **changes) -> TrainConfig:
        return dataclasses.replace(self, **changes)

    def as_dict(self) -> dict:
        return {
            f.name: (list(v) if isinstance(v := getattr(self, f.name), tuple) else v) for f in dataclasses.fields(self)
        }


class TrainingDiverged(FloatingPointError):
    """The loss or a gradient of a minibatch was not finite; the last checkpoint is kept."""


@dataclasses.dataclass(frozen=True)
class TrainResult:
    """What :func:`train` returns.

    Attributes
    ----------
    weights : list of ndarray
        Final weights, volts.
    history : list of dict
        One record per epoch, epoch 0 being the untrained network (see :func:`train`).
    config : TrainConfig
    params : VRParams
    optimizer_state : SGDState or AdamState
    checkpoint : Path or None
        The checkpoint file, when an output folder was given.
    metrics : Path or None
        The metrics JSON, when an output folder was given.
    best_epoch : int
        The trained epoch (>= 1) of highest test F (:func:`best_epoch`).
    best_weights : list of ndarray or None
        The weights of ``best_epoch``, with ``keep_best``; None without it, or where a resumed
        run's folder held no ``best.npz`` of that epoch (a run begun without ``keep_best``).
    """

    weights: list
    history: list
    config: TrainConfig
    params: VRParams
    optimizer_state: object
    checkpoint: Path | None = None
    metrics: Path | None = None
    best_epoch: int = 0
    best_weights: list | None = None


def best_epoch(f_curve) -> int:
    """The epoch (>= 1; epoch 0 is the initial weights) of highest F in ``f_curve``, the earliest of ties."""
    if len(f_curve) < 2:
        raise ValueError(f"f_curve must hold epoch 0 and at least one trained epoch, got {len(f_curve)} value(s)")
    return 1 + int(np.argmax(f_curve[1:]))


def init_weights(
    sizes, params: VRParams, rng: np.random.Generator, dtype="float32", mean_gain: float = 2.0, std_gain: float = 1.0
) -> list:
    r"""Initial weights :math:`W_n \sim \mathcal N(g_\mu v_{thr}/n_{pre},\ (g_\sigma v_{thr}/\sqrt{n_{pre}})^2)`.

    Parameters
    ----------
    sizes : sequence of int
        Layer sizes, input first.
    params : VRParams
        Supplies ``v_thr``.
    rng : numpy.random.Generator
        Drawn from layer by layer, input layer first.
    dtype : str
        ``"float32"`` or ``"float64"``.
    mean_gain, std_gain : float
        :math:`g_\mu`, :math:`g_\sigma`.

    Returns
    -------
    list of ndarray
        (n_post, n_pre) per layer, volts.
    """
    weights = []
    for n_pre, n_post in zip(sizes[:-1], sizes[1:], strict=True):
        W = rng.normal(mean_gain * params.v_thr / n_pre, std_gain * params.v_thr / math.sqrt(n_pre), (n_post, n_pre))
        weights.append(W.astype(dtype))
    return weights


#: Training samples whose forward pass sets the hidden rates for ``init="stable"``.
STABLE_INIT_SAMPLES = 256


def initial_weights(
    config: TrainConfig, sizes, params: VRParams, rng: np.random.Generator, train_data: SpikeData
) -> list:
    """The weights a run starts from: :func:`init_weights`, or with ``config.init == "stable"`` layer by
    layer with :math:`g_\\sigma` lowered (:func:`vr_brian.stability.stable_std_gain`) to the
    ``stability_target`` for the firing rate of the layer's inputs on the first
    :data:`STABLE_INIT_SAMPLES` training samples. The generator is drawn from as by :func:`init_weights`."""
    if config.init == "gain":
        return init_weights(sizes, params, rng, config.dtype, config.init_mean_gain, config.init_std_gain)
    sample = np.asarray(train_data.spikes[:STABLE_INIT_SAMPLES], bool)
    weights, below = [], sample
    for n, (n_pre, n_post) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        std_gain = stable_std_gain(
            params,
            float(below.mean()),
            n_pre,
            n_post,
            config.init_mean_gain,
            config.init_std_gain,
            config.stability_target,
        )
        weights += init_weights((n_pre, n_post), params, rng, config.dtype, config.init_mean_gain, std_gain)
        if n < len(sizes) - 2:  # the spikes of the new layer drive the next one
            below = record_forward(weights + [np.zeros((1, n_post), config.dtype)], sample, params).traces.P[-1]
    return weights


# -- forward passes ------------------------------------------------------------------------------


class _NumpyForward:
    """Forward passes of :func:`gradients.forward.record_forward` (the event-driven kernels when
    compiled; equal to the numpy reference to rounding); the gradient simulates inside loss_and_grad."""

    def __init__(self, params: VRParams):
        self.params = params

    def traces(self, weights, spikes) -> Traces:
        return record_forward(weights, np.asarray(spikes, bool), self.params).traces

    def traces_for_grad(self, weights, spikes):
        return None

    def close(self):
        pass


class _BrianForward:
    """Forward passes with one compiled cpp_standalone network, re-run for every minibatch."""

    def __init__(self, sizes, params: VRParams, steps: int, batch: int):
        from vr_brian.brian import BrianNetwork

        self.params, self.batch = params, batch
        self.network = BrianNetwork(sizes, params, steps=steps, batch=batch, target="cpp_standalone")

    def _run_padded(self, weights, spikes) -> Traces:
        n = spikes.shape[0]
        padded = spikes
        if n < self.batch:  # empty samples fill the batch; their traces are dropped below
            padded = np.concatenate([spikes, np.zeros((self.batch - n,) + spikes.shape[1:], bool)])
        traces = self.network.run([np.asarray(W, float) for W in weights], padded)
        return Traces(
            U=tuple(u[:n] for u in traces.U),
            P=tuple(p[:n] for p in traces.P),
            spikes=spikes,
            params=self.params,
            weights=traces.weights,
        )

    def traces(self, weights, spikes) -> Traces:
        parts = [self._run_padded(weights, spikes[i : i + self.batch]) for i in range(0, len(spikes), self.batch)]
        if len(parts) == 1:
            return parts[0]
        return Traces(
            U=tuple(np.concatenate(layer) for layer in zip(*(p.U for p in parts), strict=True)),
            P=tuple(np.concatenate(layer) for layer in zip(*(p.P for p in parts), strict=True)),
            spikes=spikes,
            params=self.params,
            weights=parts[0].weights,
        )

    traces_for_grad = traces

    def close(self):
        self.network.close()


def _make_forward(config: TrainConfig, sizes, params: VRParams, steps: int):
    if config.forward == "brian2":
        return _BrianForward(sizes, params, steps, config.batch_size)
    return _NumpyForward(params)


# -- evaluation ----------------------------------------------------------------------------------


def evaluate(
    weights,
    data: SpikeData,
    params: VRParams,
    margin: float = 0.0,
    chunk: int = 256,
    runner=None,
    return_predictions: bool = False,
    positive_weight: float = 1.0,
    single_label: bool | None = None,
    loss: str = "tempotron",
    readout_scale=None,
) -> dict:
    """Loss and precision / recall / F-measure of ``weights`` on ``data``.

    Parameters
    ----------
    weights : sequence of ndarray
        (n_post, n_pre) per layer, volts.
    data : SpikeData
    params : VRParams
    margin : float
        Loss margin, volts.
    chunk : int
        Samples per forward pass (the network's batch size for a Brian2 runner).
    runner : optional
        The forward-pass runner of :func:`train` (default: the numpy reference).
    return_predictions : bool
        Also return the (n, n_classes) bool predictions under ``predictions``.
    positive_weight : float
        :math:`w_+` of the loss.
    single_label : bool, optional
        Score the one-label-per-sample answer (highest :math:`V_{max}`, see
        :func:`gradients.predict`) instead of :math:`V_{max} > v_{thr}`; default: with
        ``loss="cross_entropy"`` only.
    loss, readout_scale
        The loss reported (:func:`gradients.tempotron.output_loss`).

    Returns
    -------
    dict
        ``loss`` (``loss`` with ``margin`` and ``positive_weight``, mean over samples), ``micro``,
        ``macro``, ``per_class``, ``exact_match`` and ``chance_f`` as in
        :func:`gradients.metrics.classification_report`, ``hidden_rate`` (mean
        spikes per hidden neuron and step), the counts of negative-resistance
        and runaway entries (``negative_R``, ``runaway``) of
        :meth:`vr_brian.Traces.check_resistance`, and ``by_layer``: those counts and the lowest and
        highest voltage (V, NaN if any was) of each layer.
    """
    run = runner or _NumpyForward(params)
    chunk = getattr(run, "batch", chunk)
    single_label = loss == "cross_entropy" if single_label is None else single_label
    total_loss, predictions, spikes_fired, hidden_steps = 0.0, [], 0, 0
    n_layers = None
    for start in range(0, len(data), chunk):
        spikes, targets = data.spikes[start : start + chunk], data.targets[start : start + chunk].astype(bool)
        traces = run.traces(weights, spikes)
        value = output_loss(traces.output, targets, params.v_thr, loss, margin, positive_weight, readout_scale)[0]
        total_loss += value * len(spikes)
        predictions.append(predict(traces, params.v_thr, single_label))
        if n_layers is None:
            n_layers = len(traces.U)
            negative, runaway = [0] * n_layers, [0] * n_layers
            lowest, highest = [math.inf] * n_layers, [-math.inf] * n_layers
        counts = traces.check_resistance(stacklevel=4)
        for layer, U in enumerate(traces.U):
            negative[layer] += counts["negative"].get(layer + 1, 0)
            runaway[layer] += counts["runaway"].get(layer + 1, 0)
            lowest[layer] = float(np.min([lowest[layer], np.min(U)]))  # NaN, where there is one, stays
            highest[layer] = float(np.max([highest[layer], np.max(U)]))
        spikes_fired += sum(int(p.sum()) for p in traces.P)
        hidden_steps += sum(p.size for p in traces.P)
    report = classification_report(np.concatenate(predictions), data.targets)
    report.update(
        loss=total_loss / len(data),
        negative_R=sum(negative),
        runaway=sum(runaway),
        hidden_rate=spikes_fired / hidden_steps if hidden_steps else 0.0,
        by_layer={"negative_R": negative, "runaway": runaway, "lowest_U": lowest, "highest_U": highest},
    )
    if return_predictions:
        report["predictions"] = np.concatenate(predictions)
    return report


# -- the loop ------------------------------------------------------------------------------------


def _fingerprint(data: SpikeData) -> str:
    digest = hashlib.sha256()
    for array in (data.spikes, data.targets):
        digest.update(str(array.shape).encode())
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()[:16]


def _check_resume(checkpoint: Checkpoint, config: TrainConfig, params: VRParams, fingerprint: dict, path: Path):
    saved = dict(checkpoint.config)
    saved_fingerprint = saved.pop("data", None)
    current = config.as_dict()
    # a setting added after the checkpoint was written had its default value then
    saved = {**TrainConfig().as_dict(), **saved}
    different = sorted(k for k in current if k != "epochs" and saved.get(k) != current[k])
    if different:
        raise ValueError(
            f"cannot resume from {str(path)!r}: it was made with a different configuration "
            f"({', '.join(f'{k}: {saved.get(k)!r} there, {current[k]!r} now' for k in different)})"
        )
    if checkpoint.params != params:
        raise ValueError(f"cannot resume from {str(path)!r}: it was made with {checkpoint.params!r}, not {params!r}")
    if checkpoint.epoch > config.epochs:
        raise ValueError(
            f"cannot resume from {str(path)!r} with epochs={config.epochs}: the run has trained "
            f"{checkpoint.epoch} epochs already; give epochs >= {checkpoint.epoch} (--epochs {checkpoint.epoch} "
            f"leaves it as it is)"
        )
    if saved_fingerprint != fingerprint:
        raise ValueError(
            f"cannot resume from {str(path)!r}: it was made with other data "
            f"({saved_fingerprint} there, {fingerprint} now)"
        )


@dataclasses.dataclass(frozen=True)
class _RunState:
    """Where a run stands at the end of an epoch: what a checkpoint holds."""

    weights: list
    optimizer_state: object
    epoch: int
    history: list
    rng_state: Mapping[str, Any]
    lr_scale: float = 1.0  # the product of the recoveries' factors


@dataclasses.dataclass(frozen=True)
class _Best:
    """The epoch of highest test F so far and, where known, its weights."""

    epoch: int = 0
    f: float = -math.inf
    weights: list | None = None


@dataclasses.dataclass(frozen=True)
class _Paths:
    checkpoint: Path | None
    metrics: Path | None
    best: Path | None

    @classmethod
    def of(cls, out_dir):
        if out_dir is None:
            return cls(None, None, None)
        out_dir = Path(out_dir)
        return cls(out_dir / CHECKPOINT_NAME, out_dir / METRICS_NAME, out_dir / BEST_NAME)


def _checkpoint(state: _RunState, config: TrainConfig, params: VRParams, fingerprint: dict) -> Checkpoint:
    return Checkpoint(
        weights=tuple(state.weights),
        optimizer_state=state.optimizer_state,
        epoch=state.epoch,
        config=dict(config.as_dict(), data=fingerprint, lr_scale=state.lr_scale),
        params=params,
        history=state.history,
        rng_state=state.rng_state,
    )


def _save(
    paths: _Paths, state: _RunState, config: TrainConfig, params: VRParams, fingerprint: dict, sizes, class_names
) -> None:
    if paths.checkpoint is None:
        return
    save_checkpoint(paths.checkpoint, _checkpoint(state, config, params, fingerprint))
    _write_metrics(paths, state, config, params, sizes, class_names)


def _kept_best(path: Path | None, state: _RunState) -> _Best:
    """The best epoch of a run at ``state`` and its weights where ``path`` holds them (a ``best.npz`` written
    by this run at that epoch: the same history up to it); a missing, damaged or stale file gives no weights."""
    if state.epoch == 0:
        return _Best()
    curve = [r["test"]["micro"]["f"] for r in state.history]
    epoch = best_epoch(curve)
    weights = None
    if path is not None and path.exists():
        try:
            kept = load_checkpoint(path)
        except CheckpointError:
            kept = None  # rewritten at the next better epoch
        if kept is not None and kept.epoch == epoch and list(kept.history) == list(state.history[: epoch + 1]):
            weights = [np.asarray(W) for W in kept.weights]
    return _Best(epoch, curve[epoch], weights)


def _write_metrics(paths: _Paths, state: _RunState, config: TrainConfig, params: VRParams, sizes, class_names):
    """``metrics.json`` of the run at ``state`` (written after the checkpoint, and again on resume)."""
    if paths.metrics is None:
        return
    write_json(
        paths.metrics,
        {
            "config": config.as_dict(),
            "params": repr(params),
            "sizes": list(sizes),
            "class_names": list(class_names),
            "history": state.history,
        },
    )


def _evaluation_record(epoch: int, train_loss: float, weights, test_data, params, config, forward, started) -> dict:
    return {
        "epoch": epoch,
        "train_loss": train_loss,
        "test": evaluate(weights, test_data, params, runner=forward, **config.objective()),
        "seconds": time.perf_counter() - started,
    }


def _input_rates(spikes: np.ndarray, traces: Traces) -> list:
    """Per layer, the firing probability per step of each presynaptic unit in each sample (batch, n_pre)."""
    return [np.count_nonzero(below, axis=1) / below.shape[1] for below in (spikes,) + tuple(traces.P)]


def _train_epoch(
    state: _RunState,
    train_data: SpikeData,
    config: TrainConfig,
    params: VRParams,
    optimizer,
    forward,
    layer_scales: tuple,
    bar,
) -> tuple | _NonFinite:
    """One pass over the shuffled training set from ``state``: (weights, optimizer state, rng state, mean loss,
    remedy counts), or a :class:`_NonFinite` naming the minibatch whose loss or gradient was not finite."""
    rng = np.random.default_rng()
    rng.bit_generator.state = state.rng_state
    n = len(train_data)
    batches = math.ceil(n / config.batch_size)
    total_steps = batches * config.epochs
    warmup_steps = round(config.warmup_epochs * batches)
    order = rng.permutation(n)
    weights, optimizer_state = state.weights, state.optimizer_state
    loss_sum, clipped, projected = 0.0, 0, 0
    for b in range(batches):
        index = np.sort(order[b * config.batch_size : (b + 1) * config.batch_size])
        spikes, targets = train_data.spikes[index], train_data.targets[index]
        value, grads, traces = loss_and_grad(
            weights,
            spikes,
            targets,
            params,
            q=config.q,
            traces=forward.traces_for_grad(weights, spikes),
            method=config.method,
            return_traces=True,
            **config.objective(),
        )
        if not (math.isfinite(value) and all(np.isfinite(g).all() for g in grads)):
            return _NonFinite(epoch=state.epoch + 1, minibatch=b + 1, batches=batches)
        if config.clip_grad_norm is not None:
            grads, norm = clip_by_global_norm(grads, config.clip_grad_norm)
            clipped += norm > config.clip_grad_norm
        step = state.epoch * batches + b
        factor = state.lr_scale * learning_rate_factor(step, total_steps, warmup_steps, config.lr_decay)
        weights, optimizer_state = optimizer.step(
            weights, grads, optimizer_state, scale=[factor * s for s in layer_scales]
        )
        if config.stability_bound is not None:
            for layer, rates in enumerate(_input_rates(np.asarray(spikes, bool), traces)):
                weights[layer], moved = project_to_bound(weights[layer], rates, params, config.stability_bound)
                projected += moved
        loss_sum += value * len(index)
        bar.update(1)
        bar.set_postfix(epoch=state.epoch + 1, loss=f"{value:.3f}")
    remedies = {"clipped_minibatches": int(clipped), "projected_rows": int(projected)}
    return weights, optimizer_state, rng.bit_generator.state, loss_sum / n, remedies


@dataclasses.dataclass(frozen=True)
class _NonFinite:
    epoch: int
    minibatch: int
    batches: int


def train(
    train_data: SpikeData,
    test_data: SpikeData,
    config: TrainConfig,
    params: VRParams,
    *,
    out_dir=None,
    resume: bool = False,
    progress: bool = True,
    on_epoch=None,
    keep_best: bool = False,
) -> TrainResult:
    """Train a network and evaluate it after every epoch.

    Parameters
    ----------
    train_data, test_data : SpikeData
        Same steps, inputs and classes.
    config : TrainConfig
    params : VRParams
        Neuron parameters of every layer.
    out_dir : path, optional
        Folder for ``checkpoint.npz`` and ``metrics.json``, both rewritten
        atomically after every epoch. Without it nothing is written.
    resume : bool
        Continue from the checkpoint in ``out_dir`` (its configuration, parameters
        and data must match, ``epochs`` may grow); with no checkpoint there, start
        a new run. Without ``resume`` an existing checkpoint there is an error, so
        that no run is overwritten by accident.
    progress : bool
        Show a tqdm progress bar (on stderr).
    on_epoch : callable, optional
        ``on_epoch(record)`` after every epoch's checkpoint is written.
    keep_best : bool
        Keep the weights of the epoch of highest test F (``best_weights`` of the result): with
        ``out_dir`` as ``best.npz``, a checkpoint rewritten atomically before the epoch's own
        whenever an epoch beats every earlier one, so that a resumed run keeps them too. It
        does not change training (use a validation set as ``test_data`` for early stopping).

    Returns
    -------
    TrainResult
        ``history[0]`` evaluates the initial weights; record ``e`` holds ``epoch``,
        ``train_loss`` (mean minibatch loss of the epoch; for epoch 0 the loss of the
        initial weights on the training set), ``test`` (:func:`evaluate` on the test
        set), ``seconds`` (wall time of the epoch, retries included), ``remedies`` (minibatches
        whose gradient was clipped, rows moved by the projection) and ``recoveries`` (one
        entry per restart of the epoch after a non-finite minibatch: minibatch and the new
        learning-rate scale).

    Raises
    ------
    TrainingDiverged
        When a minibatch's loss or gradient is not finite and no recovery is left; the last
        checkpoint is kept.
    """
    from tqdm.auto import tqdm

    _check_train_inputs(train_data, test_data, config, params)
    sizes = (train_data.n_in,) + config.hidden + (train_data.n_classes,)
    fingerprint = {"train": _fingerprint(train_data), "test": _fingerprint(test_data)}
    paths = _Paths.of(out_dir)
    if resume and paths.checkpoint is None:
        raise ValueError("resume=True needs out_dir, the folder of the run to resume")
    saved = None
    if paths.checkpoint is not None:  # everything about the folder is checked before any work
        check_output_dir(out_dir, "out_dir")
        remove_temporaries(out_dir, (CHECKPOINT_NAME, METRICS_NAME, BEST_NAME))
        if paths.checkpoint.exists():
            if not resume:
                raise FileExistsError(
                    f"{str(paths.checkpoint)!r} exists: resume it (resume=True, --resume) or choose another "
                    f"output folder"
                )
            saved = load_checkpoint(paths.checkpoint)
            _check_resume(saved, config, params, fingerprint, paths.checkpoint)
    run = _Run(
        train_data,
        test_data,
        config,
        params,
        config.make_optimizer(),
        _make_forward(config, sizes, params, train_data.steps),
        sizes,
        fingerprint,
        paths,
    )
    try:
        state = run.first_state(saved)
        best = _kept_best(paths.best if keep_best else None, state)
        layer_scales = config.layer_lr_scales(sizes)
        batches = math.ceil(len(train_data) / config.batch_size)
        recoveries_used = sum(len(r.get("recoveries", ())) for r in state.history)
        with tqdm(
            total=batches * max(0, config.epochs - state.epoch),
            disable=not progress,
            desc="training",
            unit="batch",
            dynamic_ncols=True,
        ) as bar:
            while state.epoch < config.epochs:
                state, record, recoveries_used = run.next_epoch(state, layer_scales, bar, recoveries_used)
                if record["test"]["micro"]["f"] > best.f:
                    kept = [np.array(W) for W in state.weights] if keep_best else None
                    best = _Best(state.epoch, record["test"]["micro"]["f"], kept)
                    if keep_best:
                        run.save_best(state)  # before the epoch's checkpoint: see _kept_best
                bar.set_postfix(
                    epoch=state.epoch, loss=f"{record['train_loss']:.3f}", test_F=f"{record['test']['micro']['f']:.3f}"
                )
                run.save(state)
                if on_epoch is not None:
                    on_epoch(record)
    finally:
        run.forward.close()
    return TrainResult(
        weights=[np.asarray(W) for W in state.weights],
        history=state.history,
        config=config,
        params=params,
        optimizer_state=state.optimizer_state,
        checkpoint=paths.checkpoint,
        metrics=paths.metrics,
        best_epoch=best.epoch,
        best_weights=best.weights,
    )


def _check_train_inputs(train_data, test_data, config: TrainConfig, params) -> None:
    """The arguments of :func:`train` that no dataclass validates, or an error naming the fault."""
    if not isinstance(params, VRParams):
        raise TypeError(f"params must be a VRParams, got {type(params).__name__}")
    if not isinstance(train_data, SpikeData) or not isinstance(test_data, SpikeData):
        raise TypeError("train_data and test_data must be gradients.data.SpikeData")
    if (train_data.steps, train_data.n_in, train_data.n_classes) != (
        test_data.steps,
        test_data.n_in,
        test_data.n_classes,
    ):
        raise ValueError(
            f"train and test data differ in (steps, n_in, n_classes): "
            f"{(train_data.steps, train_data.n_in, train_data.n_classes)} vs "
            f"{(test_data.steps, test_data.n_in, test_data.n_classes)}"
        )
    if config.method == "paper":
        check_variant(params)
    check_readout(config.loss, config.readout_scale, train_data.targets)


@dataclasses.dataclass(frozen=True)
class _Run:
    """What stays fixed while :func:`train` runs: data, settings, the forward passes, where it is written."""

    train_data: SpikeData
    test_data: SpikeData
    config: TrainConfig
    params: VRParams
    optimizer: Any
    forward: Any
    sizes: tuple
    fingerprint: dict
    paths: _Paths

    def save(self, state: _RunState) -> None:
        _save(self.paths, state, self.config, self.params, self.fingerprint, self.sizes, self.train_data.class_names)

    def save_best(self, state: _RunState) -> None:
        if self.paths.best is not None:
            save_checkpoint(self.paths.best, _checkpoint(state, self.config, self.params, self.fingerprint))

    def first_state(self, saved: Checkpoint | None) -> _RunState:
        """The run resumed from its (checked) checkpoint, with ``metrics.json`` brought up to date with it, or a
        new one: initial weights, evaluated and saved as epoch 0."""
        config, params = self.config, self.params
        if saved is not None:
            state = _resumed_state(saved, config)
            _write_metrics(self.paths, state, config, params, self.sizes, self.train_data.class_names)
            return state
        rng = np.random.default_rng(config.seed)
        weights = initial_weights(config, self.sizes, params, rng, self.train_data)
        started = time.perf_counter()
        train_loss = evaluate(weights, self.train_data, params, runner=self.forward, **config.objective())["loss"]
        initial = _evaluation_record(0, train_loss, weights, self.test_data, params, config, self.forward, started)
        state = _RunState(
            weights=weights,
            optimizer_state=self.optimizer.init(weights),
            epoch=0,
            history=[initial],
            rng_state=rng.bit_generator.state,
        )
        self.save(state)
        return state

    def next_epoch(self, state: _RunState, layer_scales: tuple, bar, recoveries_used: int) -> tuple:
        """(state, record, recoveries used) after one epoch from ``state``, restarted with a lower learning rate
        after a non-finite minibatch while recoveries are left (:class:`TrainingDiverged` when none is)."""
        config, params = self.config, self.params
        started, recoveries = time.perf_counter(), []
        while True:
            outcome = _train_epoch(
                state, self.train_data, config, params, self.optimizer, self.forward, layer_scales, bar
            )
            if not isinstance(outcome, _NonFinite):
                break
            if recoveries_used >= config.recover:
                raise TrainingDiverged(
                    f"epoch {outcome.epoch}, minibatch {outcome.minibatch}/{outcome.batches}: the loss or its "
                    f"gradient is not finite (alpha={params.alpha:g}: a voltage ran away through R(t), see "
                    f"MODEL.md), after {recoveries_used} recoveries of {config.recover} allowed; the "
                    f"checkpoint of epoch {state.epoch} is kept. Try a smaller lr, smaller alpha, sparser "
                    f"input, a stability_bound or a bounded variant of R(t)"
                )
            recoveries_used += 1
            state = dataclasses.replace(state, lr_scale=state.lr_scale * config.recover_factor)
            recoveries.append({"minibatch": outcome.minibatch, "lr_scale": state.lr_scale})
            bar.total += outcome.minibatch - 1  # the restarted epoch's minibatches come again
            bar.refresh()
        weights, optimizer_state, rng_state, train_loss, remedies = outcome
        record = _evaluation_record(
            state.epoch + 1, train_loss, weights, self.test_data, params, config, self.forward, started
        )
        record.update(remedies=remedies, recoveries=recoveries, lr_scale=state.lr_scale)
        state = _RunState(
            weights=weights,
            optimizer_state=optimizer_state,
            epoch=state.epoch + 1,
            history=state.history + [record],
            rng_state=rng_state,
            lr_scale=state.lr_scale,
        )
        return state, record, recoveries_used


def _resumed_state(saved: Checkpoint, config: TrainConfig):
    return _RunState(
        weights=[np.asarray(W, config.dtype) for W in saved.weights],
        optimizer_state=saved.optimizer_state,
        epoch=saved.epoch,
        history=list(saved.history),
        rng_state=saved.rng_state,
        lr_scale=float(saved.config.get("lr_scale", 1.0)),
    )


def plot_history(history, path, title: str = "") -> Path:
    """Learning curves (training and test loss; test micro and macro F with chance) as a PNG, atomically."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    epochs = [r["epoch"] for r in history]
    fig = Figure(figsize=(9, 3.4), constrained_layout=True)
    ax_loss, ax_f = fig.subplots(1, 2)
    for ax in (ax_loss, ax_f):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax_loss.plot(epochs, [r["train_loss"] for r in history], "o-", label="training (mean over minibatches)")
    ax_loss.plot(epochs, [r["test"]["loss"] for r in history], "s-", label="test")
    ax_loss.set(xlabel="epoch", ylabel="loss (V per sample)", title="tempotron loss")
    ax_loss.legend(fontsize=8)
    ax_f.plot(epochs, [r["test"]["micro"]["f"] for r in history], "o-", label="micro F")
    ax_f.plot(epochs, [r["test"]["macro"]["f"] for r in history], "s-", label="macro F")
    ax_f.axhline(history[-1]["test"]["chance_f"], color="gray", ls="--", label="chance (every label on)")
    ax_f.set(xlabel="epoch", ylabel="F-measure (test set)", ylim=(0, 1.02), title="test F-measure")
    ax_f.legend(fontsize=8, loc="lower right")
    if title:
        fig.suptitle(title, fontsize=10)
    return atomic_write(path, lambda file: fig.savefig(file, format="png", dpi=120))
