"""Brian2 preferences set for the duration of a block, and restored after it."""

import contextlib

from brian2 import prefs

__all__ = ["codegen_target"]


@contextlib.contextmanager
def codegen_target(target: str):
    """Run the block with Brian2's code-generation target set to ``target`` (numpy, cython)."""
    previous = prefs.codegen.target
    prefs.codegen.target = target
    try:
        yield
    finally:
        prefs.codegen.target = previous
