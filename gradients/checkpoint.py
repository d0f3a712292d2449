"""Training checkpoints: everything needed to resume a run exactly, written atomically.

A checkpoint is one ``.npz`` file (no pickle) holding the weights
(``weights_<k>``), the optimiser state (``optimizer_<field>[_<k>]``) and one JSON
document (``meta``) with the epoch, the training configuration, the neuron
parameters, the metrics history and the state of the random generator.

Every file is written to a temporary file in the destination folder and moved
into place with :func:`os.replace`, so a crash leaves either the previous
checkpoint or the new one, never a partial file.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from vr_brian.io import atomic_write, plain, write_json
from vr_brian.params import VRParams

from .optim import state_from_arrays, state_to_arrays

__all__ = [
    "Checkpoint",
    "save_checkpoint",
    "load_checkpoint",
    "atomic_write",
    "write_json",
    "FORMAT_VERSION",
    "CHECKPOINT_NAME",
    "METRICS_NAME",
]

FORMAT_VERSION = 1

#: The checkpoint of a training run, in its output folder.
CHECKPOINT_NAME = "checkpoint.npz"
#: The metrics of every epoch of a training run, in its output folder.
METRICS_NAME = "metrics.json"


@dataclasses.dataclass(frozen=True)
class Checkpoint:
    """The state of a training run at the end of an epoch.

    Attributes
    ----------
    weights : tuple of ndarray
        (n_post, n_pre) per layer, volts.
    optimizer_state : SGDState or AdamState
    epoch : int
        Number of completed epochs.
    config : dict
        The training configuration (JSON-ready).
    params : VRParams
    history : list of dict
        One metrics record per completed epoch.
    rng_state : dict
        ``numpy.random.Generator.bit_generator.state`` after the epoch.
    """

    weights: tuple
    optimizer_state: object
    epoch: int
    config: dict
    params: VRParams
    history: list
    rng_state: Mapping[str, Any]


def save_checkpoint(path, checkpoint: Checkpoint) -> Path:
    """Write ``checkpoint`` to ``path`` atomically; return the path."""
    arrays: dict[str, Any] = {f"weights_{k}": np.asarray(W) for k, W in enumerate(checkpoint.weights)}
    arrays.update({f"optimizer_{name}": a for name, a in state_to_arrays(checkpoint.optimizer_state).items()})
    meta = {
        "format": FORMAT_VERSION,
        "epoch": int(checkpoint.epoch),
        "config": checkpoint.config,
        "params": {f.name: getattr(checkpoint.params, f.name) for f in dataclasses.fields(VRParams)},
        "history": checkpoint.history,
        "rng_state": checkpoint.rng_state,
        "optimizer_state": type(checkpoint.optimizer_state).__name__,
        "n_layers": len(checkpoint.weights),
    }
    arrays["meta"] = np.array(json.dumps(plain(meta)))
    return atomic_write(path, lambda file: np.savez(file, **arrays))


def load_checkpoint(path) -> Checkpoint:
    """Read a checkpoint written by :func:`save_checkpoint`."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {str(path)!r} does not exist")
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
        meta = json.loads(str(arrays.pop("meta")))
    except (KeyError, ValueError, OSError) as error:
        raise ValueError(f"{str(path)!r} is not a vr_brian checkpoint: {error}") from None
    if meta.get("format") != FORMAT_VERSION:
        raise ValueError(
            f"{str(path)!r} has checkpoint format {meta.get('format')!r}; this version reads format {FORMAT_VERSION}"
        )
    weights = tuple(arrays[f"weights_{k}"] for k in range(meta["n_layers"]))
    optimizer = {name[len("optimizer_") :]: a for name, a in arrays.items() if name.startswith("optimizer_")}
    return Checkpoint(
        weights=weights,
        optimizer_state=state_from_arrays(meta["optimizer_state"], optimizer),
        epoch=int(meta["epoch"]),
        config=meta["config"],
        params=VRParams(**meta["params"]),
        history=meta["history"],
        rng_state=meta["rng_state"],
    )
