"""Training checkpoints: everything needed to resume a run exactly, written atomically.

A checkpoint is one ``.npz`` file (no pickle) holding the weights
(``weights_<k>``), the optimiser state (``optimizer_<field>[_<k>]``) and one JSON
document (``meta``) with the epoch, the training configuration, the neuron
parameters, the metrics history and the state of the random generator.

Every file is written to a temporary file in the destination folder and moved
into place with :func:`os.replace`, so a crash leaves either the previous
checkpoint or the new one, never a partial file. ``meta`` also holds a SHA-256 digest of every
array, which :func:`load_checkpoint` verifies: a damaged file (truncated, emptied, overwritten)
is refused with :class:`CheckpointError`, never half read.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import zipfile
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from vr_brian.io import atomic_write, plain, write_json
from vr_brian.params import VRParams

from .optim import state_from_arrays, state_to_arrays

__all__ = [
    "Checkpoint",
    "CheckpointError",
    "save_checkpoint",
    "load_checkpoint",
    "atomic_write",
    "write_json",
    "FORMAT_VERSION",
    "CHECKPOINT_NAME",
    "METRICS_NAME",
    "BEST_NAME",
]

FORMAT_VERSION = 1

#: The checkpoint of a training run, in its output folder.
CHECKPOINT_NAME = "checkpoint.npz"
#: The metrics of every epoch of a training run, in its output folder.
METRICS_NAME = "metrics.json"
#: The checkpoint of the epoch of highest test F of a run trained with ``keep_best``.
BEST_NAME = "best.npz"


class CheckpointError(ValueError):
    """A checkpoint file that cannot be read back: damaged, not a checkpoint, or of another format."""


def _digest(arrays: Mapping[str, np.ndarray]) -> str:
    """SHA-256 over the names, dtypes, shapes and bytes of ``arrays`` (``meta`` excluded)."""
    digest = hashlib.sha256()
    for name in sorted(arrays):
        if name == "meta":
            continue
        array = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}|{array.dtype.str}|{array.shape}|".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


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
        "digest": _digest(arrays),
    }
    arrays["meta"] = np.array(json.dumps(plain(meta)))
    return atomic_write(path, lambda file: np.savez(file, **arrays))


def load_checkpoint(path) -> Checkpoint:
    """Read a checkpoint written by :func:`save_checkpoint`, verifying it.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    CheckpointError
        If the file is damaged (truncated, empty, a failing CRC or digest), is not a checkpoint, or
        is of another format; the message says what to do.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {str(path)!r} does not exist")

    def refuse(why: str) -> CheckpointError:
        return CheckpointError(
            f"checkpoint {str(path)!r} cannot be used: {why}. Nothing was changed; to start the run again "
            f"delete the file (or choose another output folder), or put back a copy of it"
        )

    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
        if "meta" not in arrays:
            raise refuse("it is an .npz archive but not a vr_brian checkpoint (it has no 'meta' record)")
        meta = json.loads(str(arrays["meta"]))
    except CheckpointError:
        raise
    except (KeyError, ValueError, OSError, EOFError, AttributeError, zipfile.BadZipFile, zlib.error) as error:
        if path.stat().st_size == 0:
            raise refuse("the file is empty") from None
        if "pickle" in str(error) or not zipfile.is_zipfile(path):
            raise refuse("the file is damaged or not a checkpoint (it is no .npz archive)") from None
        raise refuse(f"the file is damaged ({type(error).__name__}: {error})") from None
    if not isinstance(meta, dict):
        raise refuse("its 'meta' record is not a checkpoint's")
    if meta.get("format") != FORMAT_VERSION:
        raise refuse(f"it has checkpoint format {meta.get('format')!r}; this version reads format {FORMAT_VERSION}")
    if "digest" in meta and meta["digest"] != _digest(arrays):
        raise refuse("its arrays do not match the digest written with them (the file is damaged)")
    try:
        weights = tuple(arrays[f"weights_{k}"] for k in range(meta["n_layers"]))
        optimizer = {name[len("optimizer_") :]: a for name, a in arrays.items() if name.startswith("optimizer_")}
        return Checkpoint(
            weights=weights,
            optimizer_state=state_from_arrays(meta["optimizer_state"], optimizer),
            epoch=int(meta["epoch"]),
            config=meta["config"],
            params=VRParams.from_si(**meta["params"]),
            history=meta["history"],
            rng_state=meta["rng_state"],
        )
    except (KeyError, ValueError, TypeError) as error:
        raise refuse(f"it lacks part of a checkpoint ({type(error).__name__}: {error})") from None
