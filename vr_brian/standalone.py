"""A Brian2 network compiled once for the cpp_standalone device and re-run with new values.

``device.build(run=False)`` generates and compiles the project once; every
:meth:`CompiledNetwork.run` then executes the same binary with ``run_args``: new
per-neuron constants (``{group.tau_m: values}``) and new TimedArray contents
(``{timed_array: values}``), without generating or compiling anything (brian2 >= 2.6).
Brian2 holds one standalone project per process: building another one (here or in
:class:`vr_brian.BrianNetwork`) makes the previous one unusable, which :meth:`run` detects.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile

from brian2 import get_device, set_device
from brian2.devices import reinit_devices, reset_device

__all__ = ["CompiledNetwork", "run_network"]

_PREFIX = "vr_brian_compiled_"


class CompiledNetwork:
    """Build the objects of ``build()`` on cpp_standalone, run ``duration`` and compile, once.

    Parameters
    ----------
    build : callable
        Returns a dict of the Brian2 objects; its ``"network"`` entry is the Network to run.
        Called once, with the standalone device active.
    duration : Quantity
        Simulated time of every run.
    directory : str, optional
        Project directory (a temporary one, removed by :meth:`close`, by default).
    """

    def __init__(self, build, duration, directory: str | None = None):
        self.directory = directory or tempfile.mkdtemp(prefix=_PREFIX)
        # a BrianNetwork compiles on a CPPStandaloneDevice of its own, which reinit_devices leaves alone
        reinit_devices()
        set_device("cpp_standalone", build_on_run=False, directory=self.directory)
        try:
            self.objects = build()
            self.objects["network"].run(duration, namespace={})
            self.device = get_device()
            self.device.build(run=False, directory=self.directory)
        finally:
            reset_device()

    def run(self, run_args: dict | None = None) -> dict:
        """Execute the binary once with ``run_args``; returns the objects (monitors hold this run's data)."""
        if self.device is None or os.path.abspath(self.device.project_dir or "") != os.path.abspath(self.directory):
            raise RuntimeError(
                "another standalone project was built in this process since this one (Brian2 holds "
                "one at a time): build this network again"
            )
        self.device.run(run_args=dict(run_args or {}), with_output=False)
        # run_args arrays are written into the project under content names; only this run needs them
        for name in self.device.run_args_arrays:
            for path in (name, name + ".lock"):
                with contextlib.suppress(FileNotFoundError):
                    os.remove(os.path.join(self.device.project_dir, "static_arrays", path))
        return self.objects

    def close(self):
        """Delete the project directory if this object made it."""
        if os.path.basename(self.directory).startswith(_PREFIX):
            shutil.rmtree(self.directory, ignore_errors=True)
        if self.device is not None:  # Brian2's global standalone device, left as a fresh one
            self.device.reinit()
        self.device = None


def run_network(build, duration, read, target: str = "numpy"):
    """Build the objects of ``build()``, run them for ``duration`` on ``target`` and return
    ``read(objects)`` (read the monitors there: a standalone project is removed afterwards)."""
    from .settings import codegen_target

    if target == "cpp_standalone":
        compiled = CompiledNetwork(build, duration)
        try:
            return read(compiled.run())
        finally:
            compiled.close()
    with codegen_target(target):
        objects = build()
        objects["network"].run(duration, namespace={})
        return read(objects)
