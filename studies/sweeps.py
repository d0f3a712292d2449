"""What the training sweeps share: running jobs (in-process, a process pool or a Dask cluster), loading
their data, and summarising a metric over seeds.

A job is a plain dict (everything a worker needs, picklable); a job function takes one and returns a
plain dict. :func:`run_jobs` returns the results in the order of the jobs.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor

import numpy as np

__all__ = ["run_jobs", "dask_client_class", "spread", "load_split_data"]


def run_jobs(function, jobs: list, n_jobs: int = 1, dask_scheduler: str | None = None) -> list:
    """``function`` over ``jobs``: in this process (``n_jobs`` 1), a process pool (> 1) or a Dask cluster."""
    if dask_scheduler:
        client_class = dask_client_class()
        with client_class(dask_scheduler) as client:
            return client.gather(client.map(function, jobs, pure=False))
    if n_jobs == 1:
        return [function(job) for job in jobs]
    # workers start from a fresh server process, not forked from this one: a process whose compiled
    # kernels have started their thread pool (OpenMP) cannot be forked safely
    threads = max(1, (os.cpu_count() or 1) // n_jobs)
    with ProcessPoolExecutor(
        max_workers=n_jobs,
        mp_context=multiprocessing.get_context("forkserver"),
        initializer=_share_cores,
        initargs=(threads,),
    ) as pool:
        return list(pool.map(function, jobs))


def _share_cores(threads: int) -> None:
    """In a worker: the compiled kernels use ``threads`` threads, so that the workers share the cores."""
    try:
        import numba
    except ImportError:
        return
    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))


def dask_client_class():
    """:class:`dask.distributed.Client`, or a clear error when dask.distributed is not installed."""
    try:
        from dask.distributed import Client
    except ImportError as error:
        raise RuntimeError(
            "--dask-scheduler needs dask.distributed, which is not installed: "
            "pip install 'dask[distributed]' (on this machine and on every worker), "
            "or run without --dask-scheduler (local processes, --jobs N)"
        ) from error
    return Client


def spread(values) -> dict:
    """Mean, standard deviation (ddof 1; 0 for one value), min, max and the values themselves."""
    values = np.asarray(values, dtype=float)
    return {
        "mean": float(values.mean()),
        "std": float(values.std(ddof=1)) if len(values) > 1 else 0.0,
        "min": float(values.min()),
        "max": float(values.max()),
        "values": values.tolist(),
    }


def load_split_data(source: dict) -> dict:
    """The data sets of a job, by name: ``train``, ``test`` and, with ``validation_fraction``, ``validation``.

    ``source``: ``{"kind": "builtin", "options": {...}}`` (:func:`gradients.data.builtin_task`) or
    ``{"kind": "npz", "train": path, "test": path}``, with optional ``train_clips`` (a random subset of
    the training set, seed ``subset_seed``), ``validation_fraction`` (carved at random from the training
    set with ``validation_seed``: what hyper-parameters are chosen on) and ``input_density`` (each input
    spike kept with this probability, seed ``density_seed``: thinner input at the same rates' shape).
    """
    from gradients.data import SpikeData, builtin_task, load_npz

    if source["kind"] == "builtin":
        train, test = builtin_task(**source["options"])
    else:
        train, test = load_npz(source["train"]), load_npz(source["test"])
    if source.get("train_clips"):
        index = np.sort(
            np.random.default_rng(source.get("subset_seed", 0)).permutation(len(train))[: source["train_clips"]]
        )
        train = train.subset(index)
    sets = {"train": train, "test": test}
    if source.get("validation_fraction"):
        sets["train"], sets["validation"] = train.split(
            source["validation_fraction"], seed=source.get("validation_seed", 0)
        )
    density = source.get("input_density", 1.0)
    if density < 1.0:
        rng = np.random.default_rng(source.get("density_seed", 0))
        sets = {
            name: SpikeData(data.spikes & (rng.random(data.spikes.shape) < density), data.targets, data.class_names)
            for name, data in sets.items()
        }
    return sets
