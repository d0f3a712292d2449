"""The recipe of a training run's data: what rebuilds its training and test sets.

``vr-brian train`` writes it into the run's folder as ``data.json``
(:data:`DATA_RECIPE_NAME`) when training ends: the built-in task's arguments
(:func:`builtin_recipe`), or the ``.npz`` files by path and SHA-256 with the split
(:func:`npz_recipe`). :func:`load_run_data` rebuilds the data of a run from it, refusing a
file that has changed since.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from .data import builtin_task, load_npz

__all__ = ["DATA_RECIPE_NAME", "builtin_recipe", "npz_recipe", "data_from_recipe", "load_run_data"]

#: The recipe of a run's data, in its output folder.
DATA_RECIPE_NAME = "data.json"


def builtin_recipe(**task) -> dict:
    """The recipe of :func:`gradients.data.builtin_task` called with ``task``."""
    return {"source": "builtin", "builtin_task": dict(task)}


def _file_entry(path) -> dict:
    path = Path(path).resolve()
    if not path.is_file():
        raise FileNotFoundError(f"data file {str(path)!r} does not exist")
    return {"path": str(path), "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}


def npz_recipe(data, test=None, test_fraction: float = 0.25, seed: int = 0) -> dict:
    """The recipe of data from ``.npz`` files: the test set from ``test``, or a random split of ``data``."""
    recipe = {"source": "npz", "data": _file_entry(data)}
    if test is not None:
        recipe["test"] = _file_entry(test)
    else:
        recipe["split"] = {"test_fraction": test_fraction, "seed": seed}
    return recipe


def _load_recorded(entry: dict):
    path = Path(entry["path"])
    if not path.is_file():
        raise FileNotFoundError(f"the run's data file {str(path)!r} does not exist any more")
    if hashlib.sha256(path.read_bytes()).hexdigest() != entry["sha256"]:
        raise ValueError(f"the run's data file {str(path)!r} has changed since the run (its SHA-256 differs)")
    return load_npz(path)


def data_from_recipe(recipe: dict) -> tuple:
    """The (train, test) SpikeData that ``recipe`` (:func:`builtin_recipe`, :func:`npz_recipe`) describes."""
    if recipe["source"] == "builtin":
        return builtin_task(**recipe["builtin_task"])
    data = _load_recorded(recipe["data"])
    if "test" in recipe:
        return data, _load_recorded(recipe["test"])
    return data.split(**recipe["split"])


def load_run_data(run_dir) -> tuple:
    """The (train, test) SpikeData of a ``vr-brian train`` run, rebuilt from the recipe in ``run_dir``.

    Raises
    ------
    FileNotFoundError
        If ``run_dir`` holds no recipe (only finished runs of ``vr-brian train`` write one), or a
        data file it names is gone.
    ValueError
        If a data file it names has changed since the run.
    """
    path = Path(run_dir) / DATA_RECIPE_NAME
    if not path.is_file():
        raise FileNotFoundError(
            f"{str(path)!r} does not exist: runs of `vr-brian train` write it when training "
            f"ends; for a run trained otherwise, load its data yourself"
        )
    return data_from_recipe(json.loads(path.read_text()))
